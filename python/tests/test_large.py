"""A 1 GiB NumPy array scattered and gathered without copies in the Python process: its peak
memory grows by the array once (made here), and by the gathered array once, never by a copy."""

import resource

import numpy as np

GiB = 1 << 30


def peak_rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB


def test_scatter_and_gather_one_gib_without_copies(rc):
    dv = rc[:]
    x = np.arange(GiB // 8, dtype="f8")  # 1 GiB, made and touched here
    before_scatter = peak_rss()
    dv.scatter("big", x, block=True)
    grown = peak_rss() - before_scatter
    assert grown < GiB // 4, f"scatter grew this process's peak memory by {grown / GiB:.2f} GiB: a copy"
    sizes = dv.apply_sync("crew.shape_of", "big", 0, 0, "")
    assert [s["shape"][0] for s in sizes] == [GiB // 32] * 4

    before_gather = peak_rss()  # x is still held: a copy of what arrives would raise the peak
    y = dv.gather("big", block=True)
    grown = peak_rss() - before_gather
    assert y.shape == (GiB // 8,) and y.dtype == np.float64
    assert y[0] == 0 and y[-1] == GiB // 8 - 1 and y[GiB // 16] == GiB // 16
    assert not y.flags.owndata  # a view of what was received
    np.testing.assert_array_equal(y[::4096], x[::4096])
    # One GiB arrives; a copy of it would make two.
    assert grown < GiB + GiB // 4, f"gather grew this process's peak memory by {grown / GiB:.2f} GiB: a copy"
    dv.clear(block=True)
