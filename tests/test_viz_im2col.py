"""The im2col view: its matrix product is the reference conv layer, each column is a window,
and the shapes are the notes' (363 x 3025, 96 x 363 for AlexNet's first layer)."""
import numpy as np
import pytest

from cs231n_lib.layers import conv_forward_naive
from cs231n_lib.viz.im2col_view import compute_im2col_shapes, compute_im2col_view, im2col_widget


def test_alexnet_shapes_from_the_notes():
    s = compute_im2col_shapes((3, 227, 227), K=96, F=11, S=4)
    assert s["X_col"] == (363, 3025) and s["W_row"] == (96, 363)
    assert s["product"] == (96, 3025) and s["output"] == (1, 96, 55, 55)
    assert s["copies"] == pytest.approx(363 * 3025 / (3 * 227 * 227))
    with pytest.raises(ValueError, match="54.25"):
        compute_im2col_shapes((3, 224, 224), K=96, F=11, S=4)


@pytest.mark.parametrize("C, H, K, F, conv_param", [
    (3, 5, 2, 3, {"stride": 2, "pad": 1}),
    (2, 6, 3, 2, {"stride": 2, "pad": 0}),
    (1, 7, 2, 3, {"stride": 1, "pad": 1, "dilation": 2}),
])
def test_product_is_the_conv_layer_and_columns_are_windows(C, H, K, F, conv_param):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((C, H, H))
    w = rng.standard_normal((K, C, F, F))
    reference, _ = conv_forward_naive(x[None], w, np.zeros(K), conv_param)
    v = compute_im2col_view(x, w, conv_param)
    np.testing.assert_allclose(v.out, reference[0])
    assert v.X_col.shape == v.shapes["X_col"] and v.W_row.shape == v.shapes["W_row"]
    for p in range(v.X_col.shape[1]):
        seen = compute_im2col_view(x, w, conv_param, position=p, k=K - 1)
        window = seen.x_pad[:, seen.rows][:, :, seen.cols]  # (C, F, F) taps of window p
        np.testing.assert_array_equal(seen.X_col[:, p], window.ravel())
        assert seen.product[K - 1, p] == pytest.approx(reference[0, K - 1, seen.i, seen.j])


def test_errors():
    x = np.zeros((2, 5, 5))
    w = np.zeros((2, 2, 3, 3))
    with pytest.raises(ValueError, match="position must be < H_out\\*W_out = 3\\*3 = 9"):
        compute_im2col_view(x, w, {"stride": 2, "pad": 1}, position=9)
    with pytest.raises(ValueError, match="k must be < K = 2"):
        compute_im2col_view(x, w, {"stride": 2, "pad": 1}, k=2)
    with pytest.raises(ValueError, match="depth of x"):
        compute_im2col_view(x, np.zeros((2, 3, 3, 3)), {"stride": 1, "pad": 0})


def test_widget_highlights_window_column_and_row():
    live = im2col_widget()
    html = live.shown()["text/html"]
    assert "W_row 2x18 @ X_col 18x9 = 2x9" in html and "column 0 is that window" in html
    live.set(position=4, k=1)
    html = live.shown()["text/html"]
    assert "output 1, 1" in html and "row 1 · column 4" in html
    assert live.result.product[1, 4] == live.result.out[1, 1, 1]
    live.controls["F"].value = 2  # (5 - 2 + 2)/2 + 1 is not whole
    assert "does not work" in live.shown()["text/html"] and "Traceback" not in live.shown()["text/html"]
    live.set(F=1, P=0, S=1)  # 1x1 conv: 25 windows, X_col is C x 25
    assert live.controls["position"].max == 24
    assert live.result.X_col.shape == (2, 25)


def test_large_settings_show_shapes_only():
    x = np.zeros((3, 67, 67))
    w = np.zeros((4, 3, 11, 11))
    from cs231n_lib.viz.im2col_view import render_im2col_view
    html = render_im2col_view(compute_im2col_view(x, w, {"stride": 4, "pad": 0}))
    assert "W_row 4x363 @ X_col 363x225" in html and "too large" in html
