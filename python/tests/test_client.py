"""The Client and its DirectViews against a real cluster: every call of the issue's list."""

import datetime
import io
import os

import numpy as np
import pytest

import crew


def test_ids_len_and_indexing(rc):
    assert rc.ids == [0, 1, 2, 3]
    assert len(rc) == 4
    assert rc[:].targets == [0, 1, 2, 3]
    assert rc[0].targets == 0  # one engine: one id, as in ipyparallel
    assert rc[::2].targets == [0, 2]
    assert rc[[0, 2]].targets == [0, 2]
    assert rc[-1].targets == 3
    assert rc.direct_view().targets == [0, 1, 2, 3]
    assert rc.direct_view([1, 3]).targets == [1, 3]
    assert len(rc[1:3]) == 2
    assert "DirectView" in repr(rc[1:3])


def test_apply_sync_async_and_block(rc):
    dv = rc[:]
    assert dv.apply_sync("mul", 5, 6) == [30.0] * 4
    assert rc[2].apply_sync("mul", 2, 4) == 8.0  # one engine: one value

    ar = dv.apply_async("summary")
    assert isinstance(ar, crew.AsyncResult)
    summaries = ar.get(timeout=30)
    assert [s["engine_id"] for s in summaries] == [0, 1, 2, 3]
    assert all(s["pid"] == os.getpid() or s["pid"] > 0 for s in summaries)
    assert ar.ready() and ar.successful() and ar.status == "succeeded"
    assert ar.progress == 4 and len(ar) == 4
    assert ar.get_dict() == {s["engine_id"]: s for s in summaries}
    assert list(ar) == summaries and ar[3] == summaries[3]
    assert ar.elapsed > 0

    assert isinstance(dv.apply("mul", 1, 1), crew.AsyncResult)  # block is False by default
    dv.block = True
    try:
        assert dv.apply("mul", 3, 3) == [9.0] * 4
        assert isinstance(dv.apply_async("mul", 3, 3), crew.AsyncResult)
    finally:
        dv.block = False


def test_metadata_and_output(rc):
    ar = rc[1].apply_async("print", "hello from engine 1")
    assert ar.get(timeout=30) is None
    md = ar.metadata  # one engine: one dict
    assert md["engine_id"] == 1 and md["function"] == "print" and md["status"] == "ok"
    assert md["stdout"] == "hello from engine 1\n" == ar.stdout
    assert ar.engine_id == 1
    for stamp in ("submitted", "started", "completed", "received"):
        assert isinstance(md[stamp], datetime.datetime) and md[stamp].tzinfo is not None
    assert md["submitted"] <= md["received"]
    many = rc[:].apply_async("print", "x")
    many.wait(30)
    assert [m["engine_id"] for m in many.metadata] == [0, 1, 2, 3]
    assert many.stdout == ["x\n"] * 4
    out, err = io.StringIO(), io.StringIO()
    many.display_outputs(stdout=out, stderr=err)
    assert out.getvalue() == "".join("[stdout:%d] x\n" % i for i in range(4)) and err.getvalue() == ""
    lines = rc[3].apply_async("countdown", 2)
    assert lines.get(timeout=30) == "liftoff"
    out = io.StringIO()
    lines.display_outputs(stdout=out, stderr=err)  # several lines: the header on its own
    assert out.getvalue() == "[stdout:3]\n2...\n1...\n"


def test_execute(rc):
    out = rc[:].execute("echo $((6 * 7))", block=True)
    assert [o["stdout"] for o in out] == ["42\n"] * 4
    assert all(o["status"] == 0 for o in out)
    failed = rc[0].execute("exit 3", block=True)
    assert failed["status"] == 3


def test_push_pull_dict_style_and_refs(rc):
    dv = rc[:]
    dv["a"] = {"k": 1, "nested": [1, 2.5, "three", None]}
    assert dv["a"] == [{"k": 1, "nested": [1, 2.5, "three", None]}] * 4
    dv.push({"b": 7, "c": "seven"}, block=True)
    assert dv.pull(["b", "c"], block=True) == [{"b": 7, "c": "seven"}] * 4
    assert rc[3].pull("b", block=True) == 7
    # crew.Ref: the engine's own value as an argument
    assert dv.apply_sync("mul", crew.Ref("b"), 2) == [14.0] * 4
    dv.clear(block=True)
    with pytest.raises(crew.RemoteError):
        rc[0].pull("b", block=True)


def test_scatter_gather_map(rc):
    dv = rc[:]
    x = np.arange(10, dtype="f8")
    dv.scatter("x", x, block=True)
    parts = dv.pull("x", block=True)
    assert [len(p) for p in parts] == [3, 3, 2, 2]  # contiguous parts, sizes differ by at most one
    back = dv.gather("x", block=True)
    assert isinstance(back, np.ndarray) and back.dtype == np.float64
    np.testing.assert_array_equal(back, x)
    squares = dv.map_sync("square", range(10))
    np.testing.assert_array_equal(squares, np.arange(10.0) ** 2)
    amr = dv.map("square", [1.5, 2.5])
    assert isinstance(amr, crew.AsyncMapResult)
    assert list(amr) == [2.25, 6.25]


def test_reduce(rc):
    dv = rc[:]
    dv.scatter("r", np.arange(8, dtype="i8").reshape(4, 2), block=True)  # one row per engine
    total = dv.reduce("r", "sum", block=True)
    np.testing.assert_array_equal(total, np.array([[0 + 2 + 4 + 6, 1 + 3 + 5 + 7]]))
    with pytest.raises(crew.InputError, match=r"\[crew.input.bad_option\].*no reduce operator 'avg'"):
        dv.reduce("r", "avg")


def test_results_by_id_history_and_purge(rc):
    ar = rc[0].apply_async("mul", 6, 7)
    ar.get(timeout=30)
    again = rc.get_result(ar.msg_ids[0])
    assert again.get(timeout=30) == 42.0
    assert rc.result_status(ar)["completed"] == ar.msg_ids
    listed = [t for t in rc.history(last=50) if t["msg_id"] == ar.msg_ids[0]]
    assert listed and listed[0]["function"] == "mul" and listed[0]["status"] == "ok"
    report = rc.purge_results(ar)
    assert report["purged"] == 1
    assert rc.result_status(ar.msg_ids)["unknown"] == ar.msg_ids


def test_queue_status_wait_and_stats(rc):
    ars = [rc.load_balanced_view().apply_async("sleep", 0.05) for _ in range(8)]
    assert rc.wait(ars, timeout=60)
    assert rc.wait(timeout=60) and rc.outstanding == 0
    q = rc.queue_status()
    assert set(rc.ids) <= set(k for k in q if isinstance(k, int))
    assert q[0]["state"] == "alive" and q["unassigned"] == 0
    assert isinstance(rc.controller_stats(), dict)
    engines = rc.engines()
    assert [e["id"] for e in engines] == [0, 1, 2, 3] and engines[0]["world_size"] == 4


def test_client_by_connection_file_and_close(cluster, rc):
    other = crew.Client(rc.connection_file)
    assert other.ids == rc.ids
    with other:
        assert other[0].apply_sync("mul", 1, 2) == 2.0
    with pytest.raises(crew.ConnectionError, match=r"crew.connection.client_closed"):
        other.ids


def test_no_controller_names_the_profile(crew_home):
    with pytest.raises(crew.ConnectionError) as raised:
        crew.Client(profile="nobody-started-this", timeout=1)
    assert raised.value.code == "crew.connection.no_profile"
    assert "nobody-started-this" in str(raised.value) and "crew cluster start" in str(raised.value)
    assert isinstance(raised.value, ConnectionError)  # Python's own too
    with pytest.raises(crew.InputError, match="not both"):
        crew.Client("x.json", profile="y")


def test_targets_as_numpy_ints_not_bools(rc):
    assert rc[np.int64(2)].targets == 2
    assert rc[np.array([0, 3])].targets == [0, 3]
    with pytest.raises(crew.InputError, match="not True"):
        rc[True]
    with pytest.raises(crew.InputError, match="this list has"):
        rc[[0, "1"]]


def test_negative_indexes_and_long_timeouts(rc):
    ar = rc[:].apply_async("mul", 2, 2)
    assert ar[-1] == 4.0 and ar[-4] == 4.0
    with pytest.raises(IndexError):
        ar[-5]
    assert ar.wait(1e10) is True and ar.get(timeout=1e300) == [4.0] * 4  # beyond 3 years: no limit
    with pytest.raises(crew.InputError, match="NaN"):
        ar.wait(float("nan"))
    with pytest.raises(crew.InputError, match="timeout is from 0 to 1e8 seconds"):
        crew.Client(rc.connection_file, timeout=-1)


def test_wait_on_results_asks_nothing_of_the_controller(rc):
    amr = rc.load_balanced_view().map("square", range(2000), chunksize=1)
    assert rc.wait(amr, timeout=60)
    # messages_in counts every message the controller took (engines' heartbeats too): asking for
    # each of the 2,000 tasks by id would add 4,000
    before = rc.controller_stats()["messages_in"]
    assert rc.wait([amr, amr], timeout=5)
    assert rc.controller_stats()["messages_in"] - before < 100
    before = rc.controller_stats()["messages_in"]
    assert rc.wait(amr.msg_ids[:500], timeout=30)  # msg ids: each fetched by its id
    assert rc.controller_stats()["messages_in"] - before >= 500


def test_close_while_another_thread_waits(cluster):
    import threading
    client = cluster.client()
    ar = client[0].apply_async("sleep", 1.0)
    outcome = []

    def waiter():
        try:
            outcome.append(client.wait(timeout=30))
        except crew.Error as e:
            outcome.append(e.code)

    t = threading.Thread(target=waiter)
    t.start()
    client.close()  # the waiter holds its own reference: no crash, it ends one way or the other
    t.join(timeout=60)
    assert not t.is_alive() and len(outcome) == 1
    with pytest.raises(crew.ConnectionError):
        client.ids
    ar.wait(0)  # the handle outlives its client: it answers, it does not crash
