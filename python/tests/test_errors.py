"""Errors as Python exceptions that keep crew's codes; timeouts; Ctrl-C during a get()."""

import subprocess
import sys
import textwrap
import time

import pytest

import crew


def test_one_engine_failure_is_a_remote_error(rc):
    with pytest.raises(crew.RemoteError) as raised:
        rc[2].apply_sync("price", -1.0, 0.2)
    e = raised.value
    assert type(e) is crew.RemoteError and e.code == "crew.remote.exception" and e.number > 0
    assert e.engine_id == 2 and e.remote_type == "std::invalid_argument" == e.ename
    assert "price needs spot > 0" in e.remote_message == e.evalue
    assert str(e).startswith("[crew.remote.exception]")


def test_many_engine_failures_are_a_composite_error(rc):
    ar = rc[:].apply_async("price", -1.0, 0.2)
    with pytest.raises(crew.CompositeError) as raised:
        ar.get(timeout=30)
    e = raised.value
    assert [one.engine_id for one in e.errors] == [0, 1, 2, 3] == [one.engine_id for one in e.elist]
    assert all(type(one) is crew.RemoteError for one in e.errors)
    with pytest.raises(crew.RemoteError) as first:
        e.raise_exception()
    assert first.value.engine_id == 0
    assert ar.ready() and not ar.successful() and ar.status == "failed"


def test_unknown_function_and_bad_arguments(rc):
    with pytest.raises(crew.RemoteError) as raised:
        rc[0].apply_sync("no_such_function")
    assert raised.value.code == "crew.remote.unknown_function"
    with pytest.raises(crew.RemoteError) as raised:
        rc[0].apply_sync("mul", "five", 6)
    assert raised.value.code == "crew.remote.bad_arguments"
    with pytest.raises(crew.InputError, match="positional arguments only"):
        rc[0].apply("mul", a=5, b=6)


def test_bad_targets(rc):
    ar = rc[[0, 99]].apply_async("mul", 1, 1)  # engine 0 runs it; there is no engine 99
    with pytest.raises(crew.CompositeError) as raised:
        ar.get(timeout=30)
    assert [e.code for e in raised.value.errors] == ["crew.input.unknown_target"]
    assert raised.value.errors[0].engine_id == 99 and "no such engine" in str(raised.value)
    assert ar[0] == 1.0
    with pytest.raises(crew.InputError, match="targets are an engine id"):
        rc[1.5]
    with pytest.raises(crew.InputError):
        rc[-10]


def test_timeout_leaves_the_task_running(rc):
    ar = rc[0].apply_async("sleep", 0.5)
    start = time.monotonic()
    with pytest.raises(crew.TimeoutError) as raised:
        ar.get(timeout=0.1)
    assert time.monotonic() - start < 0.45
    assert isinstance(raised.value, TimeoutError) and raised.value.code == "crew.timeout.wait"
    assert "0 of 1 results arrived within 0.1" in str(raised.value)
    assert not ar.wait(0) and ar.wait(30) and ar.get() is None


CTRL_C = textwrap.dedent("""
    import crew, os, signal, sys, threading
    rc = crew.Client(profile=sys.argv[1])
    ar = rc[0].apply_async("sleep", 3.0)
    # Ctrl-C from another thread 0.3 s into the wait: it runs only if get() lets go of the GIL,
    # and ends the wait only if get() runs Python's signal handlers while it waits.
    threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
    try:
        ar.get()
        print("not interrupted", flush=True)
    except KeyboardInterrupt:
        print("interrupted", round(ar.elapsed, 2), ar.ready(), flush=True)
    print("value", ar.get(timeout=30), flush=True)  # the task went on
""")


def test_ctrl_c_interrupts_get_and_the_task_goes_on(cluster):
    child = subprocess.run([sys.executable, "-c", CTRL_C, cluster.profile], capture_output=True, text=True,
                           timeout=60)
    lines = [line.split() for line in child.stdout.splitlines()]
    assert child.returncode == 0, child.stderr
    assert lines[0][0] == "interrupted", child.stdout
    assert float(lines[0][1]) < 2.5 and lines[0][2] == "False"  # long before the 3 s task ended
    assert lines[1] == ["value", "None"]


def test_exceptions_form_one_family():
    for name in ("ConnectionError", "TimeoutError", "InputError", "ProtocolError", "LaunchError", "MpiError",
                 "RemoteError", "EngineError", "TaskAborted", "TaskTimeout", "DependencyError", "CompositeError"):
        assert issubclass(getattr(crew, name), crew.Error)
    for name in ("EngineError", "TaskAborted", "TaskTimeout", "DependencyError", "CompositeError"):
        assert issubclass(getattr(crew, name), crew.RemoteError)
    assert issubclass(crew.TimeoutError, TimeoutError) and issubclass(crew.InputError, ValueError)
