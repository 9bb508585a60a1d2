"""The hyperparameter explorer: a run records the loss of every step and accuracies that match
the model at that moment; the same seed gives the same curve; a stop event ends a run at once
and keeps its model; invalid settings are SettingsErrors that say why; and the widget, driven
headless, trains in a background thread, stays responsive, stops on Stop and lists its runs."""
import threading
import time
from dataclasses import replace

import numpy as np
import pytest

from cs231n_lib import backend
from cs231n_lib.data import load_digits
from cs231n_lib.viz.hyperparams import (PRESETS, RunSettings, SettingsError, compute_network,
                                        compute_training_run, hyperparams_widget, render_runs,
                                        run_labels)

# a small network and one epoch of 20 steps: each run takes a fraction of a second
SMALL = RunSettings(filters=4, hidden=16, num_epochs=1, batch_size=64)


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_a_run_records_every_step_and_a_point_every_few(digits):
    run = compute_training_run(SMALL, digits, eval_every=5)
    assert run.status == "finished" and run.message is None
    assert run.iterations_per_epoch == 20 == run.num_iterations  # ceil(1257 / 64)
    assert len(run.losses) == run.iterations == 20 and all(np.isfinite(run.losses))
    assert [p.iteration for p in run.points] == [0, 5, 10, 15, 20]
    assert [p.epoch for p in run.points] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert run.points[0].loss is None  # measured before the first step
    assert [p.loss for p in run.points[1:]] == [run.losses[i - 1] for i in (5, 10, 15, 20)]
    assert all(0 <= p.train_acc <= 1 and 0 <= p.val_acc <= 1 for p in run.points)
    assert len(run.point_seconds) == len(run.points) and run.seconds >= run.point_seconds[-1]
    assert run.best_val_acc == max(p.val_acc for p in run.points)


def test_accuracies_are_the_models_at_that_point(digits):
    seen = []

    def callback(run):
        model = run.model
        train = float(np.mean(model.predict(digits["X_train"][:100]) == digits["y_train"][:100]))
        val = float(np.mean(model.predict(digits["X_val"]) == digits["y_val"]))
        seen.append((run.last.train_acc, train, run.last.val_acc, val))

    compute_training_run(SMALL, digits, eval_every=10, num_eval=100, callback=callback)
    assert len(seen) == 3  # iterations 0, 10, 20
    for train_acc, train, val_acc, val in seen:
        assert train_acc == pytest.approx(train) and val_acc == pytest.approx(val)


def test_the_same_seed_gives_the_same_curve(digits):
    first = compute_training_run(SMALL, digits)
    again = compute_training_run(SMALL, digits)
    other = compute_training_run(replace(SMALL, seed=1), digits)
    assert first.curve() == again.curve() and first.losses == again.losses
    assert first.curve() != other.curve()


def test_training_learns_the_digits(digits):
    run = compute_training_run(RunSettings(), digits)  # the explorer's defaults: 5 epochs
    assert run.points[0].val_acc < 0.3  # about 1 in 10 before training
    assert run.best_val_acc >= 0.9


def test_a_stop_event_ends_the_run_after_the_current_step(digits):
    stop = threading.Event()

    def callback(run):
        if run.iterations >= 7:
            stop.set()

    run = compute_training_run(replace(SMALL, num_epochs=5), digits, eval_every=1, stop=stop,
                               callback=callback)
    assert run.status == "stopped" and run.iterations == 7
    assert run.points[-1].iteration == 7
    # the model is kept: it is the one trained for 7 steps
    assert run.model.predict(digits["X_val"][:5]).shape == (5,)


def test_a_stop_from_another_thread_ends_the_run_within_a_few_steps(digits):
    stop = threading.Event()
    stopped_at = []

    def callback(run):
        if run.iterations >= 10 and not stop.is_set():
            stopped_at.append(run.iterations)
            threading.Thread(target=stop.set).start()

    run = compute_training_run(replace(SMALL, num_epochs=10), digits, eval_every=5, stop=stop,
                               callback=callback)
    assert run.status == "stopped"
    assert run.iterations <= stopped_at[0] + 5 < run.num_iterations
    assert run.points[-1].iteration == run.iterations  # the curve ends where training did


def test_a_run_that_blows_up_is_a_status_not_an_exception(digits):
    run = compute_training_run(replace(SMALL, update_rule="sgd", learning_rate=10.0, reg=1.0,
                                       num_epochs=3), digits)
    assert run.status == "diverged" and run.iterations < run.num_iterations
    assert "smaller learning rate" in run.message


@pytest.mark.parametrize("change, words", [
    ({"pattern": "INPUT -> CONV ->"}, "cannot be read"),
    ({"pattern": "INPUT -> CONV -> RELU -> FC FC"}, "joined with '->'"),
    ({"pattern": "INPUT -> [CONV -> RELU]*N -> FC"}, "write the number of repetitions"),
    ({"pattern": "INPUT -> [CONV -> RELU -> POOL]*4 -> FC"}, "2 > 1 + 2*0 = 1"),
    ({"pattern": "INPUT -> CONV(F=3, S=2, P=0) -> FC"}, "(8 - 3 + 2*0)/2 + 1 = 3.5 is not a whole"),
    ({"pattern": "INPUT -> CONV -> RELU"}, "must end with an FC layer"),
    ({"pattern": "INPUT -> FC -> FC-7"}, "10 class scores"),
    ({"pattern": "INPUT(3, 32, 32) -> FC"}, "data are 8x8x1 images"),
    ({"learning_rate": 0.0}, "learning_rate must be"),
    ({"reg": -1.0}, "reg must be"),
    ({"batch_size": 0}, "batch_size must be"),
    ({"update_rule": "newton"}, "update_rule must be one of sgd, sgd_momentum, rmsprop, adam"),
])
def test_invalid_settings_say_why(digits, change, words):
    settings = replace(SMALL, **change)
    with pytest.raises(SettingsError) as err:
        compute_training_run(settings, digits)
    assert words in str(err.value)
    assert isinstance(err.value, ValueError)
    with pytest.raises(SettingsError):
        compute_network(settings, (1, 8, 8))


def test_every_preset_fits_the_digits_and_the_table_counts_the_parameters():
    for name, pattern in PRESETS.items():
        table = compute_network(replace(SMALL, pattern=pattern), (1, 8, 8))
        assert table.output_shape == (10,), name
    table = compute_network(replace(SMALL, pattern="INPUT -> FC"), (1, 8, 8))
    assert table.total_params == 64 * 10 + 10  # a linear classifier on 8x8 images


def test_labels_name_the_settings_that_differ(digits):
    a = compute_training_run(SMALL, digits, eval_every=20)
    b = compute_training_run(replace(SMALL, learning_rate=1e-3), digits, eval_every=20)
    a.number, b.number = 1, 2
    assert run_labels([a, b]) == ["#1 lr 0.01", "#2 lr 0.001"]
    assert run_labels([a, a]) == ["#1 (same settings)", "#1 (same settings)"]
    assert run_labels([a]) == ["#1 adam, lr 0.01, L2 0.0001, batch 64, filters 4, epochs 1, seed 0"]


def test_render_draws_the_curves_and_a_row_per_run(digits):
    a = compute_training_run(SMALL, digits, eval_every=10)
    b = compute_training_run(replace(SMALL, num_epochs=3), digits, eval_every=10,
                             stop=_stop_after(5))
    html = render_runs([a, b])
    assert html.count("<img") == 1 and "data:image/png;base64," in html
    assert html.count("<tr>") == 1 + 2  # the header and one row per run
    assert "finished" in html and "stopped" in html and "20 of 20" in html
    assert f"{a.last.val_acc:.3f}" in html and "INPUT -&gt; [CONV -&gt; RELU -&gt; POOL]*2" in html
    assert "No runs yet" in render_runs([])


def _stop_after(n):
    class Stop:
        calls = 0

        def is_set(self):
            self.calls += 1
            return self.calls > n
    return Stop()


# --------------------------------------------------------------------------------------------
# The widget, headless
# --------------------------------------------------------------------------------------------
def _small_widget(digits, **settings):
    values = {"filters": 4, "num_epochs": 1, **settings}
    return hyperparams_widget(digits, hidden=16, **values)


def _runs_table(html):
    return html.split('class="cs231n-runs"')[1]


def test_widget_trains_in_a_thread_and_lists_the_run(digits):
    live = _small_widget(digits)
    assert live.summary == "no runs yet" and live.error is None
    assert "network: " in live.shown()["text/html"]
    live.train_button.click()
    assert live.running and live.train_button.disabled and not live.stop_button.disabled
    run = live.wait(30)
    assert not live.running and not live.train_button.disabled and live.stop_button.disabled
    assert live.runs == [run] and run.number == 1 and run.status == "finished"
    assert live.model is run.model
    html = live.shown()["text/html"]
    assert "#1" in _runs_table(html) and "finished" in _runs_table(html)
    assert live.summary == f"1 run(s); #1 finished, val acc {run.last.val_acc:.3f}"
    t = live.timings
    assert t["first_point"] is not None and t["first_point"] < t["seconds"]
    assert 1 <= t["redraws"] <= t["points"] == len(run.points)


def test_widget_same_settings_same_curve_side_by_side(digits):
    live = _small_widget(digits)
    for _ in range(2):
        live.train_button.click()
        live.wait(30)
    first, second = live.runs
    assert (first.number, second.number) == (1, 2)
    assert first.curve() == second.curve()
    assert "#2 (same settings)" in run_labels(live.runs)
    live.set(seed=3)
    live.train_button.click()
    third = live.wait(30)
    assert third.settings.seed == 3 and third.curve() != first.curve()
    assert _runs_table(live.shown()["text/html"]).count("<tr>") == 1 + 3
    live.clear_button.click()
    assert live.runs == [] and "No runs yet" in live.shown()["text/html"]


def test_widget_stop_ends_training_within_a_second_and_keeps_the_model(digits):
    live = _small_widget(digits, num_epochs=30)
    live.train_button.click()
    deadline = time.perf_counter() + 20
    while (live.current is None or live.current.iterations < 3) and time.perf_counter() < deadline:
        time.sleep(0.01)
    assert live.running
    start = time.perf_counter()
    live.stop_button.click()
    run = live.wait(5)
    assert time.perf_counter() - start < 1.0
    assert run.status == "stopped" and 3 <= run.iterations < run.num_iterations
    assert run.model.predict(digits["X_val"][:3]).shape == (3,)
    assert "stopped" in live.shown()["text/html"]


def test_widget_controls_respond_while_it_trains(digits):
    live = _small_widget(digits, num_epochs=30)
    live.train_button.click()
    try:
        live.set(pattern="INPUT -> CONV -> RELU")  # redrawn at once, from this thread
        assert live.running
        assert "must end with an FC layer" in live.error
        assert "This setting does not work" in live.shown()["text/html"]
        live.train_button.click()  # ignored while a run trains
        assert live._count == 1
    finally:
        live.stop_button.click()
        live.wait(5)
    assert live.runs[0].settings.pattern == PRESETS["[CONV-RELU-POOL]*2, FC-RELU, FC"]


def test_widget_invalid_settings_are_a_message_and_train_nothing(digits):
    live = _small_widget(digits)
    live.set(pattern="INPUT -> [CONV -> RELU -> POOL]*4 -> FC")
    assert "2 > 1 + 2*0 = 1" in live.error and live.controls["preset"].value == "custom"
    assert live.summary.startswith("invalid setting: the network does not fit 8x8x1 images")
    live.train_button.click()
    assert not live.running and live.runs == [] and "Train: " in live.message
    assert "Traceback" not in live.shown()["text/html"]
    live.set(preset="linear classifier")  # a preset writes its pattern; the message goes
    assert live.controls["pattern"].value == "INPUT -> FC"
    assert live.error is None and live.message is None


def test_widget_reports_a_run_that_blew_up(digits):
    live = _small_widget(digits, update_rule="sgd", learning_rate=10.0, reg=1.0, num_epochs=3)
    live.train_button.click()
    run = live.wait(30)
    assert run.status == "diverged" and live.message == run.message
    assert "diverged" in live.shown()["text/html"]


def test_widget_rejects_unknown_settings(digits):
    with pytest.raises(TypeError, match="unknown setting 'lr'"):
        hyperparams_widget(digits, lr=0.1)


# --------------------------------------------------------------------------------------------
# On the device
# --------------------------------------------------------------------------------------------
def test_a_run_on_the_device_gives_the_host_curve(digits):
    """With the strict CPU stand-in for CuPy as the default device, the model lives there,
    nothing goes to the host by accident, and the curve is the host's (to float32 rounding)."""
    import device_double

    host = compute_training_run(SMALL, digits, eval_every=10)
    with device_double.installed(default_device=True):
        run = compute_training_run(SMALL, digits, eval_every=10)
        assert all(backend.is_device_array(v) for v in run.model.params.values())
    assert [p.iteration for p in run.points] == [p.iteration for p in host.points]
    np.testing.assert_allclose(run.losses, host.losses, rtol=1e-4)
    for p, q in zip(run.points, host.points):
        assert abs(p.val_acc - q.val_acc) <= 1 / 180 and abs(p.train_acc - q.train_acc) <= 1 / 256
