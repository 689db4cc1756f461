"""AsyncResult.display_outputs: what the tasks wrote, engine by engine, as ipyparallel shows it."""

import sys


def display_outputs(self, stdout=None, stderr=None):
    """Prints each task's stdout and stderr (waiting for none: what has arrived), headed by the
    stream and its engine: ``[stdout:2] ...``; a text of several lines starts on a line of its own."""
    metadata = self.metadata
    if isinstance(metadata, dict):
        metadata = [metadata]
    streams = {"stdout": stdout or sys.stdout, "stderr": stderr or sys.stderr}
    for m in metadata:
        for name, stream in streams.items():
            text = m[name]
            if not text:
                continue
            head = "[%s:%d]" % (name, m["engine_id"])
            body = text if text.endswith("\n") else text + "\n"
            stream.write(head + ("\n" if body.count("\n") > 1 else " ") + body)
    for stream in streams.values():
        stream.flush()
