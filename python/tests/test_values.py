"""Values both ways: Python's and NumPy's types through a real engine and back."""

import numpy as np
import pytest

import crew

DTYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64"]


def echo(rc, value):
    return rc[0].apply_sync("echo", value)


@pytest.mark.parametrize(
    "value",
    [None, True, False, 0, -(2**63), 2**63 - 1, 1.5, float("inf"), "", "ünïcødé ✓", b"", b"\x00\xffbytes",
     [], [1, "two", 3.0, None, [4, [5]]], {}, {"a": 1, "b": {"c": [True, None]}}],
    ids=repr)
def test_scalars_and_containers_round_trip(rc, value):
    back = echo(rc, value)
    assert back == value and type(back) is type(value)


def test_tuples_arrive_as_lists_and_nan_stays_nan(rc):
    assert echo(rc, (1, "x")) == [1, "x"]
    assert np.isnan(echo(rc, float("nan")))


def test_numpy_scalars_and_ranges(rc):
    assert echo(rc, np.float32(1.5)) == 1.5
    assert echo(rc, np.int16(-7)) == -7 and type(echo(rc, np.int16(-7))) is int
    assert echo(rc, np.bool_(True)) is True
    assert echo(rc, np.array(3.25)) == 3.25  # 0-d: a scalar
    np.testing.assert_array_equal(echo(rc, range(2, 20, 3)), np.arange(2, 20, 3))


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_dtype_round_trips(rc, dtype):
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else np.finfo(dtype)
    a = np.array([info.min, 0, 1, info.max], dtype=dtype).repeat(3).reshape(2, 6)
    back = echo(rc, a)
    assert back.dtype == np.dtype(dtype) and back.shape == (2, 6)
    np.testing.assert_array_equal(back, a)
    dv = rc[:]
    dv.scatter("d", np.arange(40, dtype=dtype).reshape(8, 5), block=True)
    assert [p.shape for p in dv.pull("d", block=True)] == [(2, 5)] * 4
    gathered = dv.gather("d", block=True)
    assert gathered.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(gathered, np.arange(40, dtype=dtype).reshape(8, 5))


def test_received_arrays_are_read_only_views(rc):
    back = echo(rc, np.arange(1000.0))
    assert not back.flags.writeable and not back.flags.owndata  # a view of the received buffer
    with pytest.raises(ValueError, match="read-only"):
        back[0] = 1
    mine = np.array(back)  # a copy to change
    mine[0] = 1
    assert mine[0] == 1 and back[0] == 0


def test_arrays_not_in_crew_layout_are_converted(rc):
    strided = np.arange(20, dtype="i4")[::2]
    np.testing.assert_array_equal(echo(rc, strided), strided)
    fortran = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    np.testing.assert_array_equal(echo(rc, fortran), fortran)
    big_endian = np.arange(5, dtype=">f8")
    back = echo(rc, big_endian)
    assert back.dtype == np.dtype("float64")
    np.testing.assert_array_equal(back, big_endian)


def test_values_crew_cannot_send_are_named(rc):
    cases = [({1, 2}, "Python set"), (object(), "Python object"), (2**64, "does not fit in 64 bits"),
             (np.array([True, False]), "dtype bool"), (np.array([1 + 2j]), "dtype complex128"),
             ({1: "a"}, "str keys"), ([1, {2}], "Python set")]
    for value, words in cases:
        with pytest.raises(crew.InputError) as raised:
            rc[0].apply_async("echo", value)
        assert raised.value.code == "crew.input.value_type" and words in str(raised.value)
        assert isinstance(raised.value, ValueError)
    assert rc[0].apply_sync("mul", 2, 3) == 6.0  # nothing was sent, nothing broke


def test_bytes_like_and_objects(rc):
    assert echo(rc, bytearray(b"abc")) == b"abc"
    assert echo(rc, memoryview(b"xyz")) == b"xyz"
    ref = crew.Ref("name")
    assert ref == crew.Ref("name") and ref.name == "name" and "crew.Ref('name')" == repr(ref)
    obj = crew.Object("my::Type", b"\x01\x02")
    back = echo(rc, obj)
    assert isinstance(back, crew.Object) and back.type == "my::Type" and back.data == b"\x01\x02"


def test_values_without_end_or_too_deep_are_refused(rc):
    loop = [1]
    loop.append(loop)
    with pytest.raises(crew.InputError, match="nested more than 200 levels"):
        rc[0].apply_async("echo", loop)
    deep = []
    for _ in range(300):
        deep = [deep]
    with pytest.raises(crew.InputError, match="nested more than 200 levels"):
        rc[0].apply_async("echo", deep)
    shallow = []
    for _ in range(150):
        shallow = [shallow]
    assert echo(rc, shallow) == shallow


def test_text_that_is_not_utf8_goes_back_as_it_came(rc):
    # An engine's text with bytes that are not UTF-8 arrives with surrogate escapes; sent back, the
    # engine gets its bytes again.
    text = rc[0].execute("printf 'caf\\351\\n'", block=True)["stdout"]
    assert text == "caf\udce9\n"
    assert echo(rc, text) == text


def test_masked_arrays_are_refused_not_unmasked(rc):
    masked = np.ma.masked_array([1.0, 2.0, 3.0], mask=[False, True, False])
    with pytest.raises(crew.InputError, match="masked arrays"):
        rc[0].apply_async("echo", masked)


def test_ref_compares_with_anything(rc):
    assert crew.Ref("x") != 5 and crew.Ref("x") not in [1, "x"] and crew.Ref("x") in [crew.Ref("x")]


def test_sent_arrays_are_let_go_when_crew_is_done(rc):
    # crew holds a reference to an array it sends from its memory; its own threads hand that
    # reference back to the interpreter (no GIL taken there), which drops it between bytecodes
    import sys
    import time
    a = np.arange(100_000.0)
    alone = sys.getrefcount(a)
    ars = [rc[:].push({"v": a}) for _ in range(20)]
    dv = rc[:]
    ars += [dv.scatter("s", a) for _ in range(20)]
    assert rc.wait(ars, timeout=60) and all(ar.successful() for ar in ars)
    del ars
    deadline = time.monotonic() + 10
    while sys.getrefcount(a) != alone and time.monotonic() < deadline:
        pass  # each turn runs bytecode, where the interpreter takes the handed-back references
    assert sys.getrefcount(a) == alone
