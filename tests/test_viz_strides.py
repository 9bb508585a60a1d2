"""The strides explorer against NumPy itself: every operation of its menu, evaluated from the
expression the menu shows, has the shape, strides, contiguity and view-or-copy the explorer
reports, and the buffer walk from offset + strides reads the elements NumPy's indexing gives."""
import itertools

import numpy as np
import pytest

from cs231n_lib.viz.strides import (DTYPES, OPERATIONS, c_strides, compute_strides,
                                    is_c_contiguous, is_f_contiguous, parse_shape,
                                    render_strides, strides_widget)

SHAPES = [(2, 3, 4), (4, 3), (5,), (1, 3, 2), (2, 1, 3, 2), (3, 1)]


def _valid(shape, expression):
    op = OPERATIONS[expression]
    if len(shape) < op.min_ndim:
        return False
    if expression in ("x[1]", "x[1:]") and shape[0] < 2:
        return False
    return not (expression == "x[:, 1]" and shape[1] < 2)


CASES = [(shape, dtype, e)
         for shape, dtype, e in itertools.product(SHAPES, ("int8", "float32", "int64"), OPERATIONS)
         if _valid(shape, e)]


@pytest.mark.parametrize("shape, dtype, expression", CASES)
def test_layout_is_what_numpy_says(shape, dtype, expression):
    s = compute_strides(shape, dtype, expression)
    x = np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape)
    numpy_result = eval(expression, {"np": np, "x": x})  # the menu's text, run by NumPy
    np.testing.assert_array_equal(s.result, numpy_result)
    assert s.shape == numpy_result.shape and s.strides == numpy_result.strides
    assert s.c_contiguous == numpy_result.flags.c_contiguous
    assert s.f_contiguous == numpy_result.flags.f_contiguous
    assert s.is_view == np.shares_memory(numpy_result, x)
    assert s.element_strides == tuple(b // x.itemsize for b in numpy_result.strides)
    assert s.sources == tuple(int(v) for v in numpy_result.ravel())
    if s.is_view:
        # walking the buffer with offset + sum(i_k * stride_k) reads what indexing gives
        assert s.walk == s.sources
        assert s.offset == (int(numpy_result.ravel()[0]) if numpy_result.size else 0)
    else:
        assert s.walk is None and s.offset is None


def test_the_notes_example_4_by_3():
    x = compute_strides((4, 3), "int64", "x")
    assert x.element_strides == (3, 1) and x.c_contiguous
    t = compute_strides((4, 3), "int64", "x.T")
    assert t.element_strides == (1, 3) and not t.c_contiguous and t.is_view
    assert t.sources == tuple(3 * i + j for j in range(3) for i in range(4))  # down the columns
    flat = compute_strides((4, 3), "int64", "x.T.reshape(-1)")
    assert not flat.is_view and flat.sources == t.sources
    fixed = compute_strides((4, 3), "int64", "np.ascontiguousarray(x.T)")
    assert fixed.element_strides == (4, 1) and fixed.c_contiguous and not fixed.is_view


def test_contiguity_rule_against_numpy_on_arbitrary_strided_views():
    rng = np.random.default_rng(0)
    base = np.zeros((6, 5, 4, 3), dtype=np.float32)
    for _ in range(300):
        index = tuple(slice(int(rng.integers(0, 2)), None, int(rng.choice([1, 2, -1])))
                      for _ in range(4))
        v = np.transpose(base[index], rng.permutation(4))
        assert is_c_contiguous(v.shape, v.strides, 4) == v.flags.c_contiguous, (v.shape, v.strides)
        assert is_f_contiguous(v.shape, v.strides, 4) == v.flags.f_contiguous, (v.shape, v.strides)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_c_strides_are_a_fresh_arrays(shape, dtype):
    assert c_strides(shape, np.dtype(dtype).itemsize) == np.empty(shape, dtype).strides


def test_parse_shape_and_errors():
    assert parse_shape("2, 3, 4") == (2, 3, 4) == parse_shape("(2,3,4)") == parse_shape([2, 3, 4])
    assert parse_shape("4x3") == (4, 3)
    with pytest.raises(ValueError, match="cannot read"):
        parse_shape("two")
    with pytest.raises(ValueError, match=r"5 \* 5 \* 5 = 125 elements"):
        parse_shape("5, 5, 5")
    with pytest.raises(ValueError, match="1 to 4 axes"):
        parse_shape("1, 1, 1, 1, 1")
    with pytest.raises(ValueError, match="needs at least 2 axes"):
        compute_strides((5,), "int8", "x[:, ::2]")
    with pytest.raises(ValueError, match="axis 0 of length at least 2"):
        compute_strides((1, 3), "int8", "x[1]")
    with pytest.raises(ValueError, match="dtype must be one of"):
        compute_strides((2, 2), "complex64", "x")
    with pytest.raises(ValueError, match="operation must be one of"):
        compute_strides((2, 2), "int8", "x.view(-1)")


def test_render_says_what_the_layout_is():
    html = render_strides(compute_strides((2, 3, 4), "int8", "x[:, ::2]"))
    assert "(12, 8, 1) bytes" in html and "view: reads x&#x27;s buffer from element 0" in html
    assert ">no (a fresh array of this shape has strides (8, 4, 1))" in html
    copy = render_strides(compute_strides((4, 3), "int64", "x.T.reshape(-1)"))
    assert "copy: a new buffer of 12 elements" in copy and "the copy&#x27;s own buffer" in copy
    assert "x.permute(1, 0).reshape(-1)" in copy
    # every element the view reads is marked with its place in the result
    wide = render_strides(compute_strides((2, 3), "float32", "np.broadcast_to(x[:1], x.shape)"))
    assert ">0,3</td>" in wide and ">2,5</td>" in wide and "x[:1].expand(x.shape)" in wide


def test_widget_follows_its_controls():
    live = strides_widget()
    assert live.summary == "x.T: shape (4, 3, 2), strides (1, 4, 12) (not contiguous, view)"
    live.set(shape="4, 3", dtype="int64", operation="x.T")
    assert live.result.strides == (8, 24)
    assert "(8, 24) bytes = (1, 3) elements" in live.shown()["text/html"]
    live.controls["operation"].value = "x.T.reshape(-1)"
    assert live.summary.endswith("(C-contiguous, copy)")
    live.controls["shape"].value = "9, 9"
    assert live.result is None and "length 1 to 8" in live.error
    assert "does not work" in live.shown()["text/html"] and "Traceback" not in live.shown()["text/html"]
    live.set(shape="2, 3", operation="x[:, ::2]")
    assert live.error is None and live.result.shape == (2, 2)
