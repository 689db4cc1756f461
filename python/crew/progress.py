"""AsyncResult.wait_interactive: waiting while showing how far the tasks are.

In Jupyter the progress is a bar that updates in place; in a terminal a line rewritten in place
(``37/100 tasks finished after 3 s``); when output goes to a file, the last line only.
"""

import sys
import time


def _in_notebook():
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()
    except AttributeError:
        return False
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


class _Notebook:
    def __init__(self):
        from IPython.display import HTML, display

        self._html = HTML
        self._handle = display(HTML(""), display_id=True)

    def show(self, done, total, text, final):
        bar = '<progress value="%d" max="%d" style="width: 20em"></progress> ' % (done, max(total, 1))
        self._handle.update(self._html(bar + text))


class _Terminal:
    def __init__(self, stream):
        self._stream = stream
        self._live = stream.isatty() if hasattr(stream, "isatty") else False

    def show(self, done, total, text, final):
        if self._live:
            self._stream.write("\r" + text.ljust(60) + ("\n" if final else ""))
            self._stream.flush()
        elif final:
            self._stream.write(text + "\n")
            self._stream.flush()


def wait_interactive(self, interval=0.1, timeout=None, stream=None):
    """Waits for the result, showing its progress every `interval` seconds; at most `timeout`
    seconds (None: until done). Returns True if it is done. Ctrl-C ends the wait, not the tasks."""
    unit = "items" if hasattr(self, "chunks") else "tasks"
    total = len(self)
    view = _Notebook() if stream is None and _in_notebook() else _Terminal(stream or sys.stdout)
    start = time.monotonic()
    done = False
    try:
        while True:
            done = self.wait(interval)
            text = "%d/%d %s finished after %.0f s" % (self.progress, total, unit, self.elapsed)
            if done or (timeout is not None and time.monotonic() - start >= timeout):
                view.show(self.progress, total, text + ("" if done else " (still running)"), True)
                return done
            view.show(self.progress, total, text, False)
    except KeyboardInterrupt:
        view.show(self.progress, total, "%d/%d %s finished; interrupted (the tasks go on)" % (self.progress, total, unit), True)
        raise
