"""The conv stepper shows, for every output number, a sum that equals what the reference layer
computed, and its widget walks through the output and reports invalid settings."""
import numpy as np
import pytest

from cs231n_lib.layers import conv_forward_naive
from cs231n_lib.viz.conv_stepper import compute_conv_step, conv_stepper_widget, demo_volume


def test_demo_setting_of_the_notes():
    x, w, b = demo_volume()  # 5x5x3 input, two 3x3 filters
    assert x.shape == (3, 5, 5) and w.shape == (2, 3, 3, 3) and b.tolist() == [1.0, 0.0]
    s = compute_conv_step(x, w, b, {"stride": 2, "pad": 1}, 0)
    assert s.out.shape == (2, 3, 3) and s.n_steps == 18
    assert s.x_pad.shape == (3, 7, 7) and s.x_pad[:, 0].sum() == 0  # the zero border


@pytest.mark.parametrize("shape, K, F, conv_param", [
    ((3, 5, 5), 2, 3, {"stride": 2, "pad": 1}),
    ((2, 6, 7), 3, 2, {"stride": (2, 1), "pad": (0, 1)}),
    ((1, 7, 7), 2, 3, {"stride": 1, "pad": 2, "dilation": 2}),
    ((4, 4, 4), 1, 1, {"stride": 1, "pad": 0}),
])
def test_every_step_is_the_layers_output_number(shape, K, F, conv_param):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    w = rng.standard_normal((K, shape[0], F, F))
    b = rng.standard_normal(K)
    reference, _ = conv_forward_naive(x[None], w, b, conv_param)
    first = compute_conv_step(x, w, b, conv_param, 0)
    for step in range(first.n_steps):
        s = compute_conv_step(x, w, b, conv_param, step)
        assert s.value == pytest.approx(reference[0, s.k, s.i, s.j])
        assert s.total == pytest.approx(s.value)  # products + bias = the layer's number
        np.testing.assert_allclose(s.products, s.window * w[s.k])
        np.testing.assert_allclose(s.window, s.x_pad[:, s.rows][:, :, s.cols])
    # the steps visit every output number once, filter by filter, row by row
    assert first.n_steps == reference[0].size


def test_window_rows_follow_stride_and_dilation():
    x, w, b = demo_volume(1, 7, 7, 1, 3)
    s = compute_conv_step(x, w, b, {"stride": 2, "pad": 1, "dilation": 2}, 4)
    assert (s.i, s.j) == (1, 1)
    assert s.rows == [2, 4, 6] and s.cols == [2, 4, 6]


def test_errors_name_the_problem():
    x, w, b = demo_volume()
    with pytest.raises(ValueError, match="step must be < K\\*H_out\\*W_out = 2\\*3\\*3 = 18"):
        compute_conv_step(x, w, b, {"stride": 2, "pad": 1}, 18)
    with pytest.raises(ValueError, match="7/3"):
        compute_conv_step(x, w, b, {"stride": 3, "pad": 1}, 0)
    with pytest.raises(ValueError, match="one input volume"):
        compute_conv_step(np.stack([x, x]), w, b, {"stride": 2, "pad": 1})


def test_widget_walks_through_the_output():
    live = conv_stepper_widget()
    assert live.controls["step"].max == 17
    first = live.shown()["text/html"]
    assert "output number 0 of 0..17" in first and "output volume 3x3x2" in first
    live.controls["step"].value = 10  # second filter, row 0, column 1
    html = live.shown()["text/html"]
    assert "output number 10 of 0..17" in html and "out[1, 0, 1]" in html
    reference, _ = conv_forward_naive(*[a[None] if i == 0 else a for i, a in enumerate(demo_volume())],
                                      {"stride": 2, "pad": 1})
    assert live.result.value == reference[0, 1, 0, 1]
    assert live.summary == f"out[1, 0, 1] = {int(reference[0, 1, 0, 1])} (output number 10 of 0..17)"


def test_widget_resizes_the_step_range_and_reports_invalid_settings():
    live = conv_stepper_widget()
    live.set(step=17)
    live.controls["F"].value = 5  # (5 - 5 + 2)/2 + 1 = 2: 2*2*2 = 8 output numbers
    assert live.controls["step"].max == 7 and live.controls["step"].value == 7
    assert "output number 7 of 0..7" in live.shown()["text/html"]
    live.controls["S"].value = 3  # (5 - 5 + 2)/3 + 1 is not whole
    html = live.shown()["text/html"]
    assert "does not work" in html and "5/3" in html and "Traceback" not in html
    assert live.result is None and "5/3" in live.error
    live.controls["S"].value = 1
    assert live.error is None and live.controls["step"].max == 2 * 3 * 3 - 1
