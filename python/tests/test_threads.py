"""One Client from several Python threads at once: submissions, waits and gets interleave (the
waits release the GIL), and every result reaches the thread that asked for it."""

import threading

import numpy as np


def test_threads_share_one_client(rc):
    lbv = rc.load_balanced_view()
    dv = rc[:]
    failures = []
    results = {}

    def worker(k):
        try:
            ars = [lbv.apply_async("mul", k, i) for i in range(300)]
            got = [ar.get(timeout=60) for ar in ars]
            assert got == [float(k * i) for i in range(300)]
            amr = lbv.map("square", np.arange(k, k + 50, dtype="f8"), chunksize=5)
            np.testing.assert_array_equal(list(amr), np.arange(k, k + 50, dtype="f8") ** 2)
            name = "t%d" % k
            dv.push({name: k}, block=True)
            results[k] = dv.pull(name, block=True)
        except Exception as e:  # reported below, with the thread's k
            failures.append((k, repr(e)))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert failures == []
    assert results == {k: [k] * 4 for k in range(6)}


def test_a_wait_lets_other_threads_run(rc):
    ar = rc[0].apply_async("sleep", 0.5)
    counted = []

    def count():
        n = 0
        while not ar.ready():
            n += 1
        counted.append(n)

    t = threading.Thread(target=count)
    t.start()
    ar.get(timeout=30)  # holds no GIL while it waits: the counter runs meanwhile
    t.join(timeout=30)
    assert counted and counted[0] > 1000
