"""crew in a real Jupyter kernel (ipykernel, driven through jupyter_client as a notebook drives it):
a map's progress shows as a bar that updates in place, and the notebook's interrupt (the stop
button: SIGINT to the kernel) ends a get() while the task goes on."""

import os
import queue
import time

import jupyter_client
import pytest


def reply_to(kc, msg_id, timeout=60):
    """The shell reply to `msg_id` (start_new_kernel may leave extra kernel_info replies queued)."""
    while True:
        reply = kc.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply["content"]


def execute(kc, code, timeout=60):
    """Runs `code` in the kernel; returns (the reply's content, the iopub messages it caused)."""
    msg_id = kc.execute(code)
    messages = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, "the kernel did not finish: " + code
        try:
            msg = kc.get_iopub_msg(timeout=left)
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        messages.append(msg)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    return reply_to(kc, msg_id, timeout), messages


def html_of(messages):
    return [m["content"]["data"]["text/html"] for m in messages
            if m["msg_type"] in ("display_data", "update_display_data") and "text/html" in m["content"]["data"]]


@pytest.fixture
def kernel(cluster):
    env = dict(os.environ, PYDEVD_DISABLE_FILE_VALIDATION="1")  # quiets ipykernel's debugger at start
    km, kc = jupyter_client.manager.start_new_kernel(kernel_name="python3", env=env)
    try:
        reply, _ = execute(kc, "import crew; rc = crew.Client(profile=%r)" % cluster.profile)
        assert reply["status"] == "ok", reply
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_map_progress_is_a_bar_updated_in_place(kernel):
    km, kc = kernel
    reply, messages = execute(
        kc, "amr = rc.load_balanced_view().map('square', range(400), chunksize=10)\n"
            "amr.wait_interactive(interval=0.01)")
    assert reply["status"] == "ok", reply
    html = html_of(messages)
    assert html, [m["msg_type"] for m in messages]
    assert '<progress value="400" max="400"' in html[-1] and "400/400 items finished" in html[-1]
    shown = [m for m in messages if m["msg_type"] == "display_data"]
    assert len(shown) == 1  # one display, then updates of it


def test_interrupt_ends_a_get_and_the_task_goes_on(kernel):
    km, kc = kernel
    # stop_on_error=False: the kernel would drop the cells sent just after this one fails (as a
    # notebook's "run all" does)
    msg_id = kc.execute("ar = rc[0].apply_async('sleep', 5.0)\nprint('waiting', flush=True)\nar.get()",
                        stop_on_error=False)
    deadline = time.monotonic() + 30
    while True:  # the kernel printed "waiting": it is in get() (or a few instructions from it)
        msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
            assert msg["content"]["text"].startswith("waiting")
            break
    km.interrupt_kernel()
    reply = reply_to(kc, msg_id, timeout=30)
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt", reply
    reply, messages = execute(kc, "print(ar.ready(), ar.elapsed < 4.5, flush=True)")
    printed = "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream")
    assert printed.split() == ["False", "True"], (reply, messages)  # interrupted long before the 5 s task ended
    reply, messages = execute(kc, "print('value', ar.get(timeout=30), flush=True)")
    assert "value None" in "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream")
