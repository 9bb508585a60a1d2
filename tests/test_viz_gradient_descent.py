"""Stochastic, mini-batch and batch gradient descent: the counts of updates, the batches, one
update against the numeric gradient of the loss, the whole run against a loop written here
independently, the lesson on real data, device arrays, the figure and the widget."""
import math

import numpy as np
import pytest

from cs231n_lib import backend
from cs231n_lib.gradient_check import eval_numerical_gradient, rel_error
from cs231n_lib.viz.gradient_descent import (batch_order, compute_gd_comparison, digits_problem,
                                             gd_widget, render_gd_comparison, summary_text,
                                             updates_per_epoch)

import device_double


@pytest.mark.parametrize("N, B", [(1257, 1), (1257, 32), (1257, 1257), (10, 3), (12, 4), (5, 5),
                                  (7, 6)])
def test_updates_per_epoch_counts_the_last_partial_batch(N, B):
    assert updates_per_epoch(N, B) == math.ceil(N / B)
    assert updates_per_epoch(N, B, drop_last=True) == N // B
    assert updates_per_epoch(N, B) == len(batch_order(N, B, np.random.default_rng(0)))


def test_updates_per_epoch_rejects_bad_sizes():
    with pytest.raises(ValueError, match="batch_size must be at most num_examples = 10"):
        updates_per_epoch(10, 11)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        updates_per_epoch(10, 0)
    with pytest.raises(TypeError, match="num_examples must be an integer"):
        updates_per_epoch(10.0, 2)


def test_batches_cover_every_example_once():
    batches = batch_order(1257, 32, np.random.default_rng(3))
    assert [len(b) for b in batches] == [32] * 39 + [9]  # 1257 = 39*32 + 9
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(1257))


def _loss(X, y, W, b):
    """The mean softmax loss, written out here (not the library's)."""
    s = X @ W + b
    s = s - s.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(s).sum(axis=1)) - s[np.arange(len(y)), y]))


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 5))
    y = rng.integers(0, 4, 30)
    return X, y


def test_one_full_batch_update_follows_the_numeric_gradient(small):
    X, y = small
    c = compute_gd_comparison(X, y, [None], learning_rate=0.3, epochs=1, num_classes=4)
    W0, b0 = c.W0.copy(), c.b0.copy()
    dW = eval_numerical_gradient(lambda W: _loss(X, y, W, b0), W0.copy())
    db = eval_numerical_gradient(lambda b: _loss(X, y, W0, b), b0.copy())
    run = c.runs[0]
    assert rel_error(run.W, W0 - 0.3 * dW) < 1e-7 and rel_error(run.b, b0 - 0.3 * db) < 1e-7
    assert c.initial_loss == pytest.approx(_loss(X, y, W0, b0))
    assert c.initial_loss == pytest.approx(math.log(4), rel=1e-3)  # tiny weights: uniform guesses


@pytest.mark.parametrize("B", [1, 7, 30])
def test_a_run_is_the_loop_written_out(small, B):
    X, y = small
    c = compute_gd_comparison(X, y, [B], learning_rate=0.2, epochs=2, seed=5, max_points=1000,
                              num_classes=4)
    W, b = c.W0.copy(), c.b0.copy()
    rng = np.random.default_rng([5, B])  # the documented shuffling of a run
    losses, seen = [_loss(X, y, W, b)], [0]
    for _ in range(2):
        for idx in batch_order(30, B, rng):
            s = X[idx] @ W + b
            p = np.exp(s - s.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(idx)), y[idx]] -= 1
            g = p / len(idx)
            W, b = W - 0.2 * X[idx].T @ g, b - 0.2 * g.sum(axis=0)
            losses.append(_loss(X, y, W, b))
            seen.append(seen[-1] + len(idx))
    run = c.runs[0]
    total = 2 * math.ceil(30 / B)
    np.testing.assert_array_equal(run.updates, np.arange(total + 1))  # every update recorded
    np.testing.assert_array_equal(run.examples, seen)
    assert run.examples[-1] == 60 and run.updates_per_epoch == math.ceil(30 / B)
    np.testing.assert_allclose(run.losses, losses, rtol=1e-10)
    np.testing.assert_allclose(run.W, W, rtol=1e-10)


def test_seeded_runs_repeat_and_a_run_does_not_depend_on_the_others(small):
    X, y = small
    a = compute_gd_comparison(X, y, [1, 8], epochs=2, seed=1, num_classes=4)
    b = compute_gd_comparison(X, y, [8], epochs=2, seed=1, num_classes=4)
    np.testing.assert_array_equal(a.runs[1].losses, b.runs[0].losses)
    other = compute_gd_comparison(X, y, [8], epochs=2, seed=2, num_classes=4)
    assert not np.allclose(other.runs[0].losses, b.runs[0].losses)


def test_on_the_digits_sgd_wins_per_example_and_the_full_batch_per_update():
    X, y = digits_problem()
    c = compute_gd_comparison(X, y, [1, 32, None], learning_rate=0.1, epochs=2)
    sgd, mini, full = c.runs
    assert (sgd.updates_per_epoch, mini.updates_per_epoch, full.updates_per_epoch) == (1257, 40, 1)
    # after the same number of examples (2 epochs), the more updates the lower the loss
    assert sgd.losses[-1] < mini.losses[-1] < full.losses[-1] < c.initial_loss
    # after the same number of updates (2), the bigger the batch the lower the loss
    at_two = [float(r.losses[list(r.updates).index(2)]) for r in c.runs]
    assert at_two[2] < at_two[1] and at_two[2] < at_two[0]
    assert len(sgd.losses) <= 160  # recorded at about max_points=150 updates, not all 2514


def test_overflowing_scores_are_reported_as_divergence():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 3)) * 1e150
    y = rng.integers(0, 2, 20)
    c = compute_gd_comparison(X, y, [4], learning_rate=1e150, epochs=3)
    run = c.runs[0]
    assert run.diverged_at is not None and run.diverged_at < 15
    assert "diverged" in summary_text(c)


def test_bad_settings_name_the_argument(small):
    X, y = small
    with pytest.raises(ValueError, match=r"batch size 31 is larger than the training set \(N = 30\)"):
        compute_gd_comparison(X, y, [31])
    with pytest.raises(ValueError, match="learning_rate must be a number > 0"):
        compute_gd_comparison(X, y, [1], learning_rate=0)
    with pytest.raises(ValueError, match="at least one batch size"):
        compute_gd_comparison(X, y, [])
    with pytest.raises(ValueError, match="y has 29 labels"):
        compute_gd_comparison(X, y[:-1], [1])


def test_device_arrays_stay_on_the_device(small):
    X, y = small
    host = compute_gd_comparison(X, y, [1, None], epochs=2, num_classes=4)
    previous = backend.install_device_module(device_double)
    try:
        dev = compute_gd_comparison(backend.to_device(X, "gpu"), backend.to_device(y, "gpu"),
                                    [1, None], epochs=2, num_classes=4)
        assert backend.is_device_array(dev.runs[0].losses) and backend.is_device_array(dev.runs[0].W)
        np.testing.assert_allclose(backend.to_host(dev.runs[0].losses), host.runs[0].losses)
        assert summary_text(dev) == summary_text(host)
    finally:
        backend.install_device_module(previous)


def test_figure_has_both_views_and_names_each_batch_size(small):
    X, y = small
    fig = render_gd_comparison(compute_gd_comparison(X, y, [1, 8, None], epochs=2, num_classes=4))
    by_updates, by_examples = fig.axes[:2]
    assert by_updates.get_xscale() == "log" and len(by_updates.lines) == 3 + 1  # + the start line
    labels = [t.get_text() for t in by_updates.get_legend().get_texts()]
    assert labels == ["B = 1 (SGD): 30 updates/epoch", "B = 8 (mini-batch): 4 updates/epoch",
                      "B = 30 (batch GD): 1 update/epoch"]
    assert "examples seen (epochs of 30)" in by_examples.get_xlabel()
    np.testing.assert_allclose(by_examples.lines[0].get_xdata()[-1], 2.0)


def test_widget_follows_its_controls():
    live = gd_widget(epochs=1)
    assert [r.batch_size for r in live.result.runs] == [1, 32, 1257]
    assert "image/png" in live.shown() and live.summary.startswith("final training loss: B=1:")
    live.set(sgd=False, batch_size=128)
    assert [r.batch_size for r in live.result.runs] == [128, 1257]
    assert live.result.runs[0].updates_per_epoch == 10  # ceil(1257 / 128)
    live.controls["learning_rate"].value = 1.0
    assert live.result.runs[0].learning_rate == 1.0
    live.set(minibatch=False, full=False)
    assert live.result is None and "no batch size chosen" in live.error
    assert "does not work" in live.shown()["text/html"]
