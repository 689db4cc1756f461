"""The LoadBalancedView: apply, map, flags and dependencies, abort, progress."""

import io

import numpy as np
import pytest

import crew


def test_apply_runs_once_somewhere(rc):
    lbv = rc.load_balanced_view()
    ar = lbv.apply_async("mul", 6, 7)
    assert ar.get(timeout=30) == 42.0  # one task: one value
    assert ar.engine_id in rc.ids and len(ar) == 1
    assert lbv.apply_sync("summary")["engine_id"] in rc.ids
    assert rc.load_balanced_view([1]).apply_sync("summary")["engine_id"] == 1
    assert rc.load_balanced_view([1]).targets == [1] and lbv.targets is None


def test_map_chunks_order_and_iteration(rc):
    lbv = rc.load_balanced_view()
    items = np.linspace(50, 150, 1000)
    amr = lbv.map("square", items, chunksize=100)
    assert isinstance(amr, crew.AsyncMapResult) and len(amr) == 1000 and amr.chunks == 10
    seen = list(amr)  # as the chunks arrive, in item order
    np.testing.assert_allclose(seen, items**2)
    assert amr.progress == 1000 and amr.successful()
    np.testing.assert_allclose(amr.get(timeout=30), items**2)
    assert len(amr.metadata) == 10 and {m["engine_id"] for m in amr.metadata} <= set(rc.ids)

    unordered = lbv.map("square", range(100), chunksize=7, ordered=False)
    assert sorted(unordered) == [float(i * i) for i in range(100)]
    assert lbv.map_sync("square", [3]) == pytest.approx([9.0])
    many = lbv.map("square", range(10**5))  # cut without building the list: a range stays a range
    assert many.get(timeout=60)[-1] == float((10**5 - 1) ** 2)


def test_map_of_lists_gives_lists(rc):
    lbv = rc.load_balanced_view()
    out = lbv.map_sync("echo", [[1, "a"], [2, "b"], [3, "c"]])
    assert out == [[1, "a"], [2, "b"], [3, "c"]]
    np.testing.assert_array_equal(lbv.map_sync("mul", range(1, 10), range(2, 11)), [i * (i + 1) for i in range(1, 10)])
    np.testing.assert_array_equal(rc[:].map_sync("mul", np.arange(6.0), [2] * 6), np.arange(6.0) * 2)
    with pytest.raises(crew.InputError) as raised:
        lbv.map("mul", [1, 2], [3, 4, 5])
    assert raised.value.code == "crew.input.bad_option" and "sequence 2 has 3 items, the first 2" in str(raised.value)


def test_temp_flags_after_and_restore(rc):
    lbv = rc.load_balanced_view()
    slow = lbv.apply_async("sleep", 0.5)
    with lbv.temp_flags(after=[slow], retries=2, timeout=30):
        assert lbv.retries == 2 and lbv.timeout == 30.0 and len(lbv.after) == 1
        later = lbv.apply_async("mul", 1, 2)
    assert lbv.retries == 0 and lbv.timeout == 0.0 and len(lbv.after) == 0
    assert later.get(timeout=30) == 2.0
    assert later.metadata["started"] >= slow.metadata["completed"]


def test_dependency_only_failure(rc):
    lbv = rc.load_balanced_view()
    ok = lbv.apply_async("mul", 1, 1)
    ok.get(timeout=30)
    lbv.set_flags(after=crew.Dependency([ok], success=False, failure=True))
    try:
        never = lbv.apply_async("mul", 2, 2)
    finally:
        lbv.set_flags(after=None)
    with pytest.raises(crew.DependencyError) as raised:
        never.get(timeout=30)
    assert raised.value.code in ("crew.remote.impossible_dependency", "crew.remote.dependency_failed")
    with pytest.raises(crew.InputError, match="no flag 'colour'"):
        lbv.set_flags(colour="blue")


def test_require_picks_engines(rc):
    lbv = rc.load_balanced_view()
    host = rc[0].apply_sync("summary")["host"]
    with lbv.temp_flags(require={"host": host}):
        assert lbv.apply_sync("mul", 2, 2) == 4.0
    with lbv.temp_flags(require={"host": "no-such-host"}):
        nowhere = lbv.apply_async("mul", 2, 2)
    with pytest.raises(crew.RemoteError) as raised:
        nowhere.get(timeout=30)
    assert raised.value.code == "crew.remote.no_matching_engine" and "no-such-host" in str(raised.value)


def test_abort_waiting_tasks(rc):
    lbv = rc.load_balanced_view()
    busy = [lbv.apply_async("sleep", 1.0) for _ in range(8)]  # every engine busy, some queued
    behind = lbv.apply_async("mul", 3, 3)
    report = lbv.abort(behind)
    assert report["aborted"] == behind.msg_ids
    with pytest.raises(crew.TaskAborted) as raised:
        behind.get(timeout=30)
    assert raised.value.code == "crew.remote.aborted"
    assert rc.wait(busy, timeout=60)


def test_wait_interactive_shows_progress(rc):
    amr = rc.load_balanced_view().map("square", range(200), chunksize=20)
    out = io.StringIO()
    assert amr.wait_interactive(interval=0.05, stream=out) is True
    assert out.getvalue().strip() == "200/200 items finished after %.0f s" % amr.elapsed
    ar = rc[:].apply_async("sleep", 0.3)
    out = io.StringIO()
    assert ar.wait_interactive(interval=0.05, timeout=0.05, stream=out) is False
    assert "tasks finished" in out.getvalue() and "still running" in out.getvalue()
    ar.get(timeout=30)


def test_flags_are_set_all_or_none(rc):
    lbv = rc.load_balanced_view()
    with pytest.raises(crew.InputError, match="timeout must be from 0 to 1e8 seconds"):
        with lbv.temp_flags(retries=2, timeout=-1):
            pass
    assert lbv.retries == 0 and lbv.timeout == 0.0
    with pytest.raises(crew.InputError):
        lbv.set_flags(retries=3, timeout=float("inf"))
    assert lbv.retries == 0
    lbv.timeout = 1.001  # milliseconds kept, as given
    assert lbv.timeout == 1.001
    with lbv.temp_flags(retries=1):
        pass
    assert lbv.timeout == 1.001 and lbv.retries == 0
    lbv.timeout = None
    assert lbv.timeout == 0.0


def test_flags_change_while_other_threads_submit(rc):
    import threading
    lbv = rc.load_balanced_view()
    stop = threading.Event()
    errors = []

    def submit():
        try:
            while not stop.is_set():
                assert lbv.apply_async("mul", 2, 3).get(timeout=30) == 6.0
        except Exception as e:
            errors.append(repr(e))

    threads = [threading.Thread(target=submit) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(300):
        lbv.set_flags(retries=i % 3, after=None)  # replaces the view the submitting threads read
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert errors == [] and not any(t.is_alive() for t in threads)
