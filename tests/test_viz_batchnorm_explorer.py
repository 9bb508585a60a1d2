"""The batchnorm explorer: the batch it shows is what the library's spatial batchnorm gives,
its running averages are the library's after the same batches, its statistics are NumPy's,
the spread of batch means shrinks like 1/sqrt(B), and the widget says which statistics
normalized the batch."""
import re

import numpy as np
import pytest

from cs231n_lib import backend
from cs231n_lib.layers import spatial_batchnorm_forward
from cs231n_lib.viz.batchnorm_explorer import (BATCH_SIZES, batchnorm_widget,
                                               compute_batchnorm_stats, digit_activations,
                                               draw_batches, render_batchnorm_stats)

import device_double


def population(N=60, C=3, H=4, W=5, seed=0):
    """Channels with different means and spreads, as after a conv layer."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, C, H, W)) * np.array([0.5, 2.0, 1.0])[:C, None, None] \
        + np.array([-1.0, 3.0, 0.0])[:C, None, None]


def test_draw_batches_holds_distinct_examples_and_is_seeded():
    idx = draw_batches(50, 7, 30, seed=3)
    assert idx.shape == (30, 7) and idx.min() >= 0 and idx.max() < 50
    assert all(len(set(row)) == 7 for row in idx.tolist())
    np.testing.assert_array_equal(idx, draw_batches(50, 7, 30, seed=3))
    assert not np.array_equal(idx, draw_batches(50, 7, 30, seed=4))
    assert sorted(draw_batches(5, 5, 1, 0)[0].tolist()) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("mode", ["train", "test"])
def test_the_batch_shown_is_the_library_layer_after_the_same_training_batches(mode):
    x = population()
    B, t, momentum = 8, 5, 0.7
    s = compute_batchnorm_stats(x, B, mode, channel=1, momentum=momentum, batches_seen=t, seed=2)
    # the reference: the same batches through the library's layer, one bn_param throughout
    batches = draw_batches(len(x), B, t + 1, 2)
    bn_param = {"mode": "train", "momentum": momentum}
    for rows in batches[:-1]:
        spatial_batchnorm_forward(x[rows], np.ones(3), np.zeros(3), bn_param)
    if t == 0:
        bn_param.update(running_mean=np.zeros(3), running_var=np.ones(3))
    np.testing.assert_allclose(s.running_mean, bn_param["running_mean"], rtol=1e-12)
    np.testing.assert_allclose(s.running_var, bn_param["running_var"], rtol=1e-12)
    np.testing.assert_array_equal(s.index, batches[-1])
    bn_param["mode"] = mode
    reference, _ = spatial_batchnorm_forward(x[batches[-1]], np.ones(3), np.zeros(3), bn_param)
    np.testing.assert_allclose(s.out, reference, rtol=1e-12, atol=1e-12)
    if mode == "train":
        np.testing.assert_allclose(s.used_mean, s.batch_mean)
        np.testing.assert_allclose(s.out_mean, 0, atol=1e-12)
        np.testing.assert_allclose(s.out_var, s.batch_var / (s.batch_var + 1e-5))
    else:
        np.testing.assert_allclose(s.used_mean, s.running_mean)
        np.testing.assert_allclose(s.used_var, s.running_var)
        assert np.abs(s.out_mean).max() > 1e-3  # running averages do not centre this batch exactly


def test_statistics_are_numpys():
    x = population()
    s = compute_batchnorm_stats(x, 10, "train", channel=2, batches_seen=3, seed=1, draws=40)
    np.testing.assert_allclose(s.population_mean, x.mean(axis=(0, 2, 3)))
    np.testing.assert_allclose(s.population_var, x.var(axis=(0, 2, 3)))
    batch = x[s.index]
    np.testing.assert_array_equal(s.batch, batch)
    np.testing.assert_allclose(s.batch_mean, batch.mean(axis=(0, 2, 3)))
    np.testing.assert_allclose(s.batch_var, batch.var(axis=(0, 2, 3)))
    np.testing.assert_allclose(s.out_mean, s.out.mean(axis=(0, 2, 3)))
    # each draw is the mean and variance of channel 2 over one batch of 10 images
    rows = draw_batches(len(x), 10, 40, (1, 1))
    np.testing.assert_allclose(s.draw_means, [x[r, 2].mean() for r in rows], rtol=1e-12)
    np.testing.assert_allclose(s.draw_vars, [x[r, 2].var() for r in rows], rtol=1e-9)
    assert s.mean_spread == pytest.approx(np.std(s.draw_means))
    np.testing.assert_array_equal(s.population_values, x[:, 2])
    assert s.positions == 20 and s.N == 60


def test_running_averages_forget_their_start_at_the_rate_of_momentum():
    x = population()
    s = compute_batchnorm_stats(x, 4, "test", batches_seen=0)
    assert s.start_weight == 1
    np.testing.assert_array_equal(s.running_mean, np.zeros(3))
    np.testing.assert_array_equal(s.running_var, np.ones(3))
    np.testing.assert_allclose(s.out, s.batch / np.sqrt(1 + 1e-5))  # test mode before training
    s = compute_batchnorm_stats(x, 16, "test", momentum=0.9, batches_seen=150)
    assert s.start_weight == pytest.approx(0.9 ** 150)
    np.testing.assert_allclose(s.running_mean, s.population_mean, atol=0.15)
    frozen = compute_batchnorm_stats(x, 16, "test", momentum=1.0, batches_seen=50)
    np.testing.assert_array_equal(frozen.running_mean, np.zeros(3))  # momentum 1 never moves


def test_the_spread_of_batch_means_shrinks_like_one_over_sqrt_b():
    x = digit_activations()
    spreads = {}
    for B in (4, 64):
        s = compute_batchnorm_stats(x, B, channel=3, draws=2000, seed=0)
        assert s.mean_spread == pytest.approx(float(s.expected_spread), rel=0.1)
        spreads[B] = s.mean_spread
    assert 3 < spreads[4] / spreads[64] < 5.5  # sqrt(16) = 4


def test_digit_activations_are_fixed_and_differ_by_channel():
    x = digit_activations()
    assert x.shape == (1797, 6, 8, 8) and x.dtype == np.float64
    assert digit_activations() is x and not x.flags.writeable
    means, stds = x.mean(axis=(0, 2, 3)), x.std(axis=(0, 2, 3))
    assert means.max() - means.min() > 1 and stds.max() / stds.min() > 5


def test_bad_settings_show_the_arithmetic():
    x = population()
    with pytest.raises(ValueError, match="batch_size = 61 is more than the N = 60 images"):
        compute_batchnorm_stats(x, 61)
    with pytest.raises(ValueError, match="channel must be < C = 3, got 3"):
        compute_batchnorm_stats(x, 4, channel=3)
    with pytest.raises(ValueError, match="mode must be 'train' or 'test'"):
        compute_batchnorm_stats(x, 4, mode="eval")
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\]"):
        compute_batchnorm_stats(x, 4, momentum=1.5)
    with pytest.raises(ValueError, match="x must be 4-D"):
        compute_batchnorm_stats(x[0], 4)


def test_render_says_what_normalized_the_batch():
    x = population()
    s = compute_batchnorm_stats(x, 8, "train", channel=1, batches_seen=10, momentum=0.8)
    html = render_batchnorm_stats(s)
    assert html.count("<img") == 1 and "data:image/png;base64," in html
    assert "train mode: channel 1 is standardized with this batch" in html
    assert f"mean {float(s.batch_mean[1]):.3g}" in html
    assert "8 images x 20 positions = 160 numbers" in html
    assert f"0.8^10 = {0.8 ** 10:.3g}" in html
    assert html.count("<tr>") == 1 + 3  # a header and one row per channel
    highlighted = re.findall(r'font-weight:bold;">([^<]*)</td>', html)
    assert highlighted[0] == "1"  # the followed channel's row stands out
    s = compute_batchnorm_stats(x, 8, "test", channel=1, batches_seen=10, momentum=0.8)
    html = render_batchnorm_stats(s)
    assert "test mode" in html and "with the running averages" in html
    assert f"mean {float(s.running_mean[1]):.3g}" in html


def test_widget_follows_its_controls():
    live = batchnorm_widget()
    assert list(live.controls) == ["batch_size", "mode", "channel", "momentum", "batches_seen", "seed"]
    assert live.controls["batch_size"].options == BATCH_SIZES
    assert live.controls["channel"].max == 5
    assert live.summary.startswith("train mode, B=16: channel 0 normalized with mean")
    assert "train mode: channel 0" in live.shown()["text/html"]
    live.set(mode="test", batches_seen=0)
    assert live.summary.startswith("test mode, B=16: channel 0 normalized with mean 0, variance 1;")
    live.set(batch_size=2, mode="train", channel=4)
    assert live.result.batch_size == 2 and live.result.channel == 4
    noisy = live.result.mean_spread
    live.set(batch_size=256)
    assert live.result.mean_spread < noisy / 5  # sqrt(128) = 11 times less spread
    live.set(batches_seen=20, momentum=0.5)
    assert live.result.momentum == 0.5 and live.result.start_weight == 0.5 ** 20
    assert "0.5^20 = " in live.shown()["text/html"]
    before = live.result.index.copy()
    live.controls["seed"].value = 1
    assert not np.array_equal(live.result.index, before)


def test_widget_reports_a_batch_larger_than_the_population():
    live = batchnorm_widget(activations=population(N=100))
    live.set(batch_size=128)
    html = live.shown()["text/html"]
    assert "does not work" in html and "batch_size = 128 is more than the N = 100" in html
    assert live.result is None and "Traceback" not in html
    live.set(batch_size=64)
    assert live.error is None and live.result.batch_size == 64


def test_device_arrays_stay_on_the_device():
    x = population()
    host = compute_batchnorm_stats(x, 8, "test", channel=1, batches_seen=4, seed=3, draws=20)
    previous = backend.install_device_module(device_double)
    try:
        s = compute_batchnorm_stats(backend.to_device(x, "gpu"), 8, "test", channel=1,
                                    batches_seen=4, seed=3, draws=20)
        for name in ("out", "running_mean", "draw_means", "mean_spread", "expected_spread"):
            assert backend.is_device_array(getattr(s, name)), name
            np.testing.assert_allclose(backend.to_host(getattr(s, name)), getattr(host, name))
        assert "test mode" in render_batchnorm_stats(s)
    finally:
        backend.install_device_module(previous)
