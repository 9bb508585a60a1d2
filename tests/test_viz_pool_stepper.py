"""The pooling stepper shows, for every window, the number the library's layer computes and the
input that won it; its backward mode, summed over every step, is the library's backward pass;
its widget walks through the windows and reports invalid settings with their arithmetic."""
import numpy as np
import pytest

from cs231n_lib import backend
from cs231n_lib.fast_layers import max_pool_backward_fast, max_pool_forward_fast
from cs231n_lib.geometry import ConvGeometryError
from cs231n_lib.layers import (avg_pool_backward_naive, avg_pool_forward_naive,
                               l2_pool_backward_naive, l2_pool_forward_naive,
                               max_pool_backward_naive, max_pool_forward_naive)
from cs231n_lib.viz.pool_stepper import (compute_pool_step, compute_switches, demo_plane,
                                         photo_plane, pool_stepper_widget, render_pool_step,
                                         upstream_gradient)

import device_double

LAYERS = {"max": (max_pool_forward_naive, max_pool_backward_naive),
          "avg": (avg_pool_forward_naive, avg_pool_backward_naive),
          "l2": (l2_pool_forward_naive, l2_pool_backward_naive)}

SETTINGS = [  # (H, W), pool_param: tiling, overlapping, padded, non-square, a 1x1 window
    ((4, 4), {"pool_height": 2, "pool_width": 2, "stride": 2}),
    ((7, 7), {"pool_height": 3, "pool_width": 3, "stride": 2}),
    ((5, 5), {"pool_height": 3, "pool_width": 3, "stride": 2, "pad": 1}),
    ((6, 5), {"pool_height": 2, "pool_width": 3, "stride": (2, 1), "pad": (0, 1)}),
    ((3, 3), {"pool_height": 1, "pool_width": 1, "stride": 1}),
]


def _pool(kind, x, pool_param):
    return LAYERS[kind][0](x[None, None], pool_param)


@pytest.mark.parametrize("kind", ["max", "avg", "l2"])
@pytest.mark.parametrize("shape, pool_param", SETTINGS)
def test_every_step_is_the_layers_output_number(kind, shape, pool_param):
    x = np.random.default_rng(3).standard_normal(shape)
    reference, _ = _pool(kind, x, pool_param)
    first = compute_pool_step(x, pool_param, kind, 0)
    assert first.n_steps == reference[0, 0].size
    seen = []
    for step in range(first.n_steps):
        s = compute_pool_step(x, pool_param, kind, step)
        seen.append((s.i, s.j))
        assert s.value == pytest.approx(reference[0, 0, s.i, s.j])
        np.testing.assert_array_equal(s.window, s.x_pad[np.ix_(s.rows, s.cols)])
        if kind == "max":
            r, c = s.switch
            assert s.window.max() == s.x_pad[r, c] == s.value
            assert s.input_switch == (r - s.pad[0], c - s.pad[1])
        else:
            assert s.switch is None
    # the steps visit every output position once, row by row
    H_out, W_out = reference.shape[2:]
    assert seen == [(i, j) for i in range(H_out) for j in range(W_out)]


def test_max_padding_never_wins_and_the_window_follows_the_stride():
    x = -1.0 - np.arange(25.0).reshape(5, 5)  # all negative: a zero pad would win everywhere
    s = compute_pool_step(x, {"pool_height": 3, "pool_width": 3, "stride": 2, "pad": 1}, "max", 0)
    assert s.x_pad.shape == (7, 7) and np.isneginf(s.x_pad[0]).all()
    assert s.rows == [0, 1, 2] and s.cols == [0, 1, 2]
    assert s.value == -1.0 and s.input_switch == (0, 0)
    s = compute_pool_step(x, {"pool_height": 3, "pool_width": 3, "stride": 2, "pad": 1}, "max", 4)
    assert (s.i, s.j) == (1, 1) and s.rows == [2, 3, 4] and s.cols == [2, 3, 4]
    avg = compute_pool_step(x, {"pool_height": 3, "pool_width": 3, "stride": 2, "pad": 1}, "avg", 0)
    assert avg.x_pad[0, 0] == 0 and avg.value == pytest.approx((-1 - 2 - 6 - 7) / 9)


def test_ties_go_to_the_first_maximum_in_row_major_order():
    x = np.array([[1.0, 3.0, 0.0, 0.0],
                  [3.0, 3.0, 0.0, 0.0]])
    s = compute_pool_step(x, {"pool_height": 2, "pool_width": 2, "stride": 2}, "max", 0)
    assert s.input_switch == (0, 1) and s.ties == 3  # not (1, 0) or (1, 1)
    s = compute_pool_step(x, {"pool_height": 2, "pool_width": 2, "stride": 2}, "max", 1)
    assert s.input_switch == (0, 2) and s.ties == 4
    assert "appears 4 times" in render_pool_step(s)


@pytest.mark.parametrize("kind", ["max", "avg", "l2"])
@pytest.mark.parametrize("shape, pool_param", SETTINGS)
def test_backward_summed_over_the_steps_is_the_library_backward(kind, shape, pool_param):
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape)
    if kind == "max":
        x = rng.integers(0, 3, size=shape).astype(float)  # ties: the routing must match the layer's
    out, cache = _pool(kind, x, pool_param)
    dout = rng.standard_normal(out.shape[2:])
    reference = LAYERS[kind][1](dout[None, None], cache)[0, 0]
    n = out[0, 0].size
    for step in range(n):
        s = compute_pool_step(x, pool_param, kind, step, dout)
        # after `step` windows, dx is the layer's gradient of the windows visited so far
        visited = (np.arange(n) <= step).reshape(dout.shape)
        partial = LAYERS[kind][1]((dout * visited)[None, None], cache)[0, 0]
        np.testing.assert_allclose(s.dx, partial, atol=1e-12)
    np.testing.assert_allclose(s.dx, reference, atol=1e-12)  # the full accumulation
    assert s.dx.shape == shape and s.share.shape == s.window.shape


def test_overlapping_windows_accumulate_at_a_shared_switch():
    x = np.zeros((5, 5))
    x[2, 2] = 9.0  # the centre pixel belongs to all four 3x3 windows of stride 2, and wins each
    pool_param = {"pool_height": 3, "pool_width": 3, "stride": 2}
    dout = np.array([[1.0, 2.0], [3.0, 4.0]])
    sums = [compute_pool_step(x, pool_param, "max", k, dout).dx[2, 2] for k in range(4)]
    assert sums == [1.0, 3.0, 6.0, 10.0]
    _, cache = max_pool_forward_naive(x[None, None], pool_param)
    assert max_pool_backward_naive(dout[None, None], cache)[0, 0, 2, 2] == 10.0


def test_switches_agree_with_the_fast_layers_routing():
    rng = np.random.default_rng(0)
    for shape, pool_param in SETTINGS:
        x = rng.integers(0, 4, size=shape).astype(float)
        switches = compute_switches(x, pool_param)
        out, cache = max_pool_forward_fast(x[None, None], pool_param)
        assert switches.shape == out.shape[2:] + (2,)
        # each window's winner holds the window's maximum ...
        np.testing.assert_array_equal(x[switches[..., 0], switches[..., 1]], out[0, 0])
        # ... and sending a gradient of 1 per window back lands exactly on the switches
        counts = np.zeros(shape)
        np.add.at(counts, (switches[..., 0], switches[..., 1]), 1.0)
        dx = max_pool_backward_fast(np.ones_like(out), cache)[0, 0]
        np.testing.assert_array_equal(dx, counts)
        for step in range(out[0, 0].size):
            s = compute_pool_step(x, pool_param, "max", step)
            assert s.input_switch == tuple(switches[s.i, s.j])


def test_inputs():
    x = demo_plane(6, seed=2)
    assert x.shape == (6, 6) and x.dtype == np.float64 and set(np.unique(x)) <= set(range(10))
    np.testing.assert_array_equal(x, demo_plane(6, seed=2))
    assert demo_plane(3, H=5).shape == (5, 3)
    p = photo_plane(8, "chelsea", seed=1)
    assert p.shape == (8, 8) and p.dtype == np.float32
    assert p.min() >= 0 and p.max() > 0 and (p == 0).any()  # after a ReLU
    np.testing.assert_array_equal(p, photo_plane(8, "chelsea", seed=1))
    assert not np.array_equal(p, photo_plane(8, "chelsea", seed=2))
    np.testing.assert_array_equal(upstream_gradient((2, 3)), np.ones((2, 3)))
    g = upstream_gradient((3, 3), "random", seed=4)
    assert set(np.unique(g)) <= {1, 2, 3, 4, 5}


def test_errors_name_the_problem():
    x = demo_plane(5)
    with pytest.raises(ConvGeometryError, match=r"\(5 - 2 \+ 2\*0\)/2 \+ 1 = 2.5"):
        compute_pool_step(x, {"pool_height": 2, "pool_width": 2, "stride": 2}, "max")
    with pytest.raises(ValueError, match="more than half"):
        compute_pool_step(x, {"pool_height": 3, "pool_width": 3, "stride": 2, "pad": 2}, "max")
    with pytest.raises(ValueError, match=r"step must be < H_out\*W_out = 2\*2 = 4"):
        compute_pool_step(x, {"pool_height": 3, "pool_width": 3, "stride": 2}, "max", 4)
    with pytest.raises(ValueError, match="kind must be one of"):
        compute_pool_step(x, {"pool_height": 3, "pool_width": 3, "stride": 2}, "median")
    with pytest.raises(ValueError, match="one depth slice"):
        compute_pool_step(np.zeros((2, 1, 4, 4)), {"pool_height": 2, "pool_width": 2, "stride": 2})
    with pytest.raises(ValueError, match=r"dout must have the output's shape .* \(2, 2\)"):
        compute_pool_step(x, {"pool_height": 3, "pool_width": 3, "stride": 2}, "max", 0,
                          np.ones((3, 3)))


def test_render_says_what_the_step_computes():
    x = np.array([[1.0, 4.0], [2.0, 3.0]])
    p = {"pool_height": 2, "pool_width": 2, "stride": 2}
    html = render_pool_step(compute_pool_step(x, p, "max", 0))
    assert "out[0, 0] = max(1, 4, 2, 3) = 4: the switch is x[0, 1]" in html
    assert "red: the switch" in html and "dout" not in html
    html = render_pool_step(compute_pool_step(x, p, "avg", 0))
    assert "out[0, 0] = (1 + 4 + 2 + 3)/4 = 10/4 = 2.5" in html and "switch" not in html
    html = render_pool_step(compute_pool_step(x, p, "l2", 0))
    assert "sqrt(1² + 4² + 2² + 3²) = sqrt(30) = 5.48" in html
    html = render_pool_step(compute_pool_step(x, p, "max", 0, np.array([[2.0]])))
    assert "dout[0, 0] = 2 goes to the switch x[0, 1] only; dx[0, 1] is now 2" in html
    assert "dx after 1 of 1 windows" in html
    padded = render_pool_step(compute_pool_step(demo_plane(5), {"pool_height": 3, "pool_width": 3,
                                                                "stride": 2, "pad": 1}, "avg", 0,
                                                np.ones((3, 3))))
    assert "x (padded)" in padded and "what the 5 padded positions get is dropped" in padded


def test_widget_walks_through_the_windows_forward_and_backward():
    live = pool_stepper_widget()  # 6x6 numbers, 2x2 windows, stride 2: 9 windows
    assert live.controls["step"].max == 8
    html = live.shown()["text/html"]
    assert "max pooling 2x2, stride 2, padding 0: window 0 of 0..8" in html
    x = demo_plane(6)
    pool = {"pool_height": 2, "pool_width": 2, "stride": 2}
    out, cache = max_pool_forward_naive(x[None, None], pool)
    live.controls["step"].value = 5  # row 1, column 2
    assert live.result.value == out[0, 0, 1, 2]
    assert live.summary.startswith(f"out[1, 2] = {int(out[0, 0, 1, 2])} (window 5 of 0..8), switch")

    live.set(mode="backward", step=8)
    dx = max_pool_backward_naive(np.ones((1, 1, 3, 3)), cache)[0, 0]
    np.testing.assert_array_equal(live.result.dx, dx)
    assert "dx after 9 of 9 windows" in live.shown()["text/html"]
    assert live.summary.endswith("dx sums to 9 so far")  # nine windows, a gradient of 1 each
    live.set(upstream="random")
    g = upstream_gradient((3, 3), "random", 0)
    np.testing.assert_array_equal(live.result.dx,
                                  max_pool_backward_naive(g[None, None], cache)[0, 0])

    live.set(kind="avg")
    assert "average pooling" in live.shown()["text/html"] and live.result.switch is None
    live.set(source="photo", kind="max", mode="forward", step=0)
    np.testing.assert_array_equal(live.result.x, photo_plane(6, "chelsea", 0))


def test_widget_resizes_the_step_range_and_reports_invalid_settings():
    live = pool_stepper_widget()
    live.set(step=8)
    live.controls["W"].value = 7
    live.controls["F"].value = 3  # overlapping: (7 - 3)/2 + 1 = 3, nine windows
    assert live.controls["step"].max == 8 and live.error is None
    live.controls["S"].value = 1  # (7 - 3)/1 + 1 = 5: 25 windows
    assert live.controls["step"].max == 24
    live.controls["W"].value = 6
    live.controls["S"].value = 2  # (6 - 3)/2 + 1 = 2.5
    html = live.shown()["text/html"]
    assert "does not work" in html and "(6 - 3 + 2*0)/2 + 1 = 2.5" in html
    assert "Traceback" not in html and live.result is None
    live.controls["P"].value = 2  # more than half a 3-pixel window
    assert "more than half" in live.error
    live.set(P=1, W=5)  # (5 - 3 + 2)/2 + 1 = 3
    assert live.error is None and live.controls["step"].max == 8
    assert "x (padded)" in live.shown()["text/html"]


@pytest.fixture
def device():
    previous = backend.install_device_module(device_double)
    yield lambda a: backend.to_device(a, "gpu")
    backend.install_device_module(previous)


@pytest.mark.parametrize("kind", ["max", "avg", "l2"])
def test_pool_step_on_device_arrays(device, kind):
    x = demo_plane(5)
    p = {"pool_height": 3, "pool_width": 3, "stride": 2, "pad": 1}
    dout = upstream_gradient((3, 3), "random")
    host = compute_pool_step(x, p, kind, 6, dout)
    s = compute_pool_step(device(x), p, kind, 6, device(dout))
    assert backend.is_device_array(s.out) and backend.is_device_array(s.dx)
    assert s.value == host.value and s.switch == host.switch
    np.testing.assert_allclose(backend.to_host(s.dx), host.dx)
    assert render_pool_step(s) == render_pool_step(host)
    if kind == "max":
        np.testing.assert_array_equal(compute_switches(device(x), p), compute_switches(x, p))
