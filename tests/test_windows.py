"""The windowing module against brute force: spans, output sizes, the pixels under every
window and every tap, sliding windows and their transpose (adding windows back)."""
import itertools

import numpy as np
import pytest

from cs231n_lib import geometry
from cs231n_lib.geometry import ConvGeometryError
from cs231n_lib.windows import (Window, add_windows, conv_window, dilated_span, pad_spatial,
                                pool_window, sliding_windows, unpad_spatial,
                                window_output_shape)


def taps_of(start, size, dilation):
    """The input pixels one window reads, counted one by one."""
    return [start + dilation * k for k in range(size)]


def brute_output_size(W, F, S, P, D):
    """Slide the window one stride at a time and count the placements that fit in the padded
    input; None when there is none or the last one does not end exactly at the border (the
    windows do not tile the input, and the layers refuse that)."""
    placements, start = 0, 0
    while taps_of(start, F, D)[-1] < W + 2 * P:
        placements, start = placements + 1, start + S
    if placements == 0 or taps_of(start - S, F, D)[-1] != W + 2 * P - 1:
        return None
    return placements


@pytest.mark.parametrize("F,D", [(1, 1), (3, 1), (3, 2), (5, 3), (2, 4)])
def test_dilated_span_counts_the_pixels_from_first_to_last_tap(F, D):
    taps = taps_of(0, F, D)
    assert dilated_span(F, D) == taps[-1] - taps[0] + 1
    assert geometry.effective_filter_size(F, D) == dilated_span(F, D)


@pytest.mark.parametrize("W,F,S,P,D", [c for c in itertools.product(range(1, 9), range(1, 4),
                                                                      range(1, 4), range(0, 3),
                                                                      range(1, 3))])
def test_window_output_shape_against_counting_placements(W, F, S, P, D):
    expected = brute_output_size(W, F, S, P, D)
    if expected is None:
        with pytest.raises(ConvGeometryError, match="along the height"):
            window_output_shape(W, 5, F, 1, (S, 1), (P, 0), (D, 1))
    else:
        assert window_output_shape(W, W, F, F, (S, S), (P, P), (D, D)) == (expected, expected)


def test_window_output_shape_names_the_axis_that_does_not_fit():
    with pytest.raises(ConvGeometryError, match=r"width.*4\.5"):
        window_output_shape(7, 10, 3, 3, (2, 2))


@pytest.mark.parametrize("size,stride,dilation,out", [
    ((3, 3), (1, 1), (1, 1), (4, 4)), ((3, 2), (2, 3), (1, 1), (3, 2)),
    ((2, 3), (1, 2), (2, 3), (2, 3)), ((1, 1), (3, 3), (1, 1), (2, 2)),
])
def test_window_rows_cols_and_taps_are_the_pixels_under_each_output(size, stride, dilation, out):
    win = Window(size, stride, (0, 0), dilation, out)
    assert win.span == (dilated_span(size[0], dilation[0]), dilated_span(size[1], dilation[1]))
    Hp = (out[0] - 1) * stride[0] + win.span[0]
    Wp = (out[1] - 1) * stride[1] + win.span[1]
    grid = np.arange(Hp * Wp).reshape(Hp, Wp)
    for i, j in itertools.product(range(out[0]), range(out[1])):
        rows = taps_of(i * stride[0], size[0], dilation[0])
        cols = taps_of(j * stride[1], size[1], dilation[1])
        np.testing.assert_array_equal(grid[win.rows(i), win.cols(j)], grid[np.ix_(rows, cols)])
    taps = list(win.taps())
    assert len(taps) == size[0] * size[1]
    for (ti, tj), (rows, cols) in zip(itertools.product(range(size[0]), range(size[1])), taps):
        want = [[grid[h * stride[0] + ti * dilation[0], w * stride[1] + tj * dilation[1]]
                 for w in range(out[1])] for h in range(out[0])]
        np.testing.assert_array_equal(grid[rows, cols], want)


def test_conv_and_pool_window_read_their_param_dicts():
    x = np.zeros((2, 3, 9, 8))
    win = conv_window(x, 3, 2, {"stride": (2, 1), "pad": 1, "dilation": (1, 2)}, "layer")
    assert win == Window((3, 2), (2, 1), (1, 1), (1, 2), (5, 8))
    win = pool_window(x, {"pool_height": 3, "pool_width": 2, "stride": (2, 2), "pad": (1, 0)},
                      "layer")
    assert win == Window((3, 2), (2, 2), (1, 0), (1, 1), (5, 4))
    with pytest.raises(ConvGeometryError, match=r"layer: .*conv_param"):
        conv_window(x, 3, 3, {"stride": 2, "pad": 0}, "layer")
    with pytest.raises(ValueError, match="more than half"):
        pool_window(x, {"pool_height": 2, "pool_width": 2, "stride": 2, "pad": 2}, "layer")


@pytest.mark.parametrize("pad", [(0, 0), (1, 0), (0, 2), (2, 1)])
def test_pad_and_unpad_are_inverses_even_for_zero_padding(pad):
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    padded = pad_spatial(x, pad, value=-1.0)
    assert padded.shape == (2, 3, 4 + 2 * pad[0], 5 + 2 * pad[1])
    np.testing.assert_array_equal(unpad_spatial(padded, pad), x)
    assert (padded == -1.0).sum() == padded.size - x.size


@pytest.mark.parametrize("size,stride,dilation", [
    ((3, 3), (1, 1), (1, 1)), ((3, 3), (2, 2), (1, 1)), ((2, 3), (3, 1), (1, 2)),
    ((3, 2), (2, 3), (2, 1)),
])
def test_sliding_windows_and_add_windows_against_loops(size, stride, dilation):
    rng = np.random.default_rng(1)
    span = (dilated_span(size[0], dilation[0]), dilated_span(size[1], dilation[1]))
    out = (3, 4)
    # stride - 1 spare rows and columns: pixels that no window reaches get no gradient
    Hp = (out[0] - 1) * stride[0] + span[0] + stride[0] - 1
    Wp = (out[1] - 1) * stride[1] + span[1] + stride[1] - 1
    x = rng.standard_normal((2, 3, Hp, Wp))
    windows = sliding_windows(x, size, stride, dilation)
    assert windows.shape == (2, 3) + out + size
    g = rng.standard_normal(windows.shape)
    dx = np.zeros_like(x)
    win = Window(size, stride, (0, 0), dilation, out)
    for i, j in itertools.product(range(out[0]), range(out[1])):
        np.testing.assert_array_equal(windows[:, :, i, j], x[:, :, win.rows(i), win.cols(j)])
        dx[:, :, win.rows(i), win.cols(j)] += g[:, :, i, j]
    np.testing.assert_allclose(add_windows(g, x.shape, stride, dilation), dx, rtol=1e-12)
    # the adjoint: <windows(x), g> = <x, add_windows(g)>
    assert np.isclose((windows * g).sum(), (x * add_windows(g, x.shape, stride, dilation)).sum())
