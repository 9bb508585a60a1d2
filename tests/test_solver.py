"""The Solver: histories, repeatability, batch sizes, best parameters, options and errors, and a
real (short) training run on the digits."""
import math
import pickle

import numpy as np
import pytest

from cs231n_lib.data import load_digits
from cs231n_lib.models import Sequential
from cs231n_lib.solver import EVENTS, Solver, TrainingDivergedError

SPEC = "INPUT(1, 8, 8) -> [CONV -> RELU]*2 -> POOL -> [CONV -> RELU]*2 -> POOL -> FC -> RELU -> FC"


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.fixture
def small(digits):
    return {"X_train": digits["X_train"][:200], "y_train": digits["y_train"][:200],
            "X_val": digits["X_val"][:60], "y_val": digits["y_val"][:60]}


def linear(seed=0, dtype=np.float32):
    """A softmax classifier on the 64 pixels (a convex problem)."""
    return Sequential("INPUT(1, 8, 8) -> FC", num_classes=10, seed=seed, dtype=dtype)


def quiet(model, data, **options):
    return Solver(model, data, verbose=False, progress=False, **options)


def test_histories_have_one_loss_per_step_and_one_accuracy_per_epoch(small):
    solver = quiet(linear(), small, batch_size=64, num_epochs=3, seed=0).train()
    per_epoch = math.ceil(200 / 64)  # every example once per epoch, the last batch smaller
    assert len(solver.loss_history) == 3 * per_epoch
    assert len(solver.train_acc_history) == len(solver.val_acc_history) == 3 + 1
    assert all(isinstance(v, float) for v in solver.loss_history)
    assert solver.epoch == 3


def test_training_is_bit_for_bit_repeatable_with_a_seed(small):
    def run(seed):
        model = Sequential("INPUT(1, 8, 8) -> CONV3-4 -> RELU -> POOL -> DROPOUT(0.8) -> FC",
                           num_classes=10, seed=0)
        solver = quiet(model, small, update_rule="adam", optim_config={"learning_rate": 1e-2},
                       batch_size=32, num_epochs=2, num_train_samples=50, seed=seed).train()
        return solver, model

    (a, ma), (b, mb), (c, _) = run(5), run(5), run(6)
    assert a.loss_history == b.loss_history
    assert a.train_acc_history == b.train_acc_history and a.val_acc_history == b.val_acc_history
    assert all(np.array_equal(ma.params[k], mb.params[k]) for k in ma.params)
    assert a.loss_history != c.loss_history  # another seed, another order of the examples


def test_full_batch_gradient_descent_decreases_the_loss_every_step(digits):
    data = {k: digits[k] for k in ("X_train", "y_train", "X_val", "y_val")}
    n = len(data["X_train"])
    solver = quiet(linear(dtype=np.float64), data, batch_size=n, num_epochs=15,
                   optim_config={"learning_rate": 0.5}, seed=0).train()
    losses = solver.loss_history
    assert len(losses) == 15  # one step per epoch
    assert all(b < a for a, b in zip(losses, losses[1:]))


def test_stochastic_and_mini_batch_are_the_same_code(small):
    sgd = quiet(linear(), small, batch_size=1, num_epochs=1, seed=0,
                optim_config={"learning_rate": 1e-2}).train()
    assert len(sgd.loss_history) == 200
    mini = quiet(linear(), small, batch_size=50, num_epochs=1, seed=0).train()
    assert len(mini.loss_history) == 4


def test_best_parameters_are_restored(small):
    model = linear()
    solver = quiet(model, small, batch_size=20, num_epochs=4, num_val_samples=None, seed=0,
                   optim_config={"learning_rate": 0.3}).train()
    assert solver.best_val_acc == max(solver.val_acc_history)
    assert all(np.array_equal(model.params[k], solver.best_params[k]) for k in model.params)
    assert solver.check_accuracy(small["X_val"], small["y_val"]) == solver.best_val_acc


def test_learning_rate_decays_every_epoch(small):
    solver = quiet(linear(), small, update_rule="sgd_momentum", lr_decay=0.5, num_epochs=3,
                   optim_config={"learning_rate": 0.1}, seed=0).train()
    for config in solver.optim_configs.values():
        assert config["learning_rate"] == pytest.approx(0.1 * 0.5 ** 3)
        assert "velocity" in config  # each parameter keeps its own state
    assert solver.optim_config == {"learning_rate": 0.1}  # the given dict is left alone


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid:RuntimeWarning")
def test_exploding_loss_stops_with_a_clear_message(small):
    model = Sequential(SPEC, filters=8, hidden=32, num_classes=10, seed=0)
    events = []
    solver = quiet(model, small, optim_config={"learning_rate": 1e6}, num_epochs=5,
                   batch_size=20, seed=0, callback=lambda s, e: events.append(e))
    message = r"loss became (nan|inf).*learning rate"
    with pytest.raises(TrainingDivergedError, match=message) as info:
        solver.train()
    assert "1000000" in str(info.value) or "1e+06" in str(info.value)
    assert events[-1] == "diverged"
    assert all(np.isfinite(v).all() for v in model.params.values())  # best params given back
    assert isinstance(info.value, ValueError)


def test_callback_sees_every_event(small):
    seen = []
    solver = quiet(linear(), small, batch_size=100, num_epochs=2, seed=0,
                   callback=lambda s, event: seen.append((event, s.epoch, len(s.loss_history))))
    solver.train()
    events = [e for e, _, _ in seen]
    assert set(events) <= set(EVENTS)
    assert events.count("iteration") == 4 and events.count("epoch") == 3
    assert events[-1] == "end" and events.count("end") == 1
    assert solver.latest_loss == solver.loss_history[-1]


def test_verbose_prints_cs231n_lines_and_the_bar_can_be_switched_on(small, capsys):
    Solver(linear(), small, batch_size=100, num_epochs=1, print_every=1, progress=False,
           seed=0).train()
    out = capsys.readouterr().out
    assert "(Iteration 1 / 2) loss:" in out
    assert "(Epoch 0 / 1) train acc:" in out and "(Epoch 1 / 1)" in out
    Solver(linear(), small, batch_size=100, num_epochs=1, verbose=False, progress=True,
           seed=0).train()
    captured = capsys.readouterr()
    assert "training" in captured.err and "2/2" in captured.err


def test_checkpoints_are_written_every_epoch(small, tmp_path):
    name = str(tmp_path / "linear")
    quiet(linear(), small, num_epochs=2, checkpoint_name=name, seed=0).train()
    with open(f"{name}_epoch_2.pkl", "rb") as f:
        checkpoint = pickle.load(f)
    assert checkpoint["epoch"] == 2 and len(checkpoint["val_acc_history"]) == 3
    assert set(checkpoint["params"]) == {"W1", "b1"} and checkpoint["update_rule"] == "sgd"
    assert (tmp_path / "linear_epoch_1.pkl").exists()


def test_custom_update_rule(small):
    calls = []

    def halve(w, dw, config):
        calls.append(1)
        return w * 0.5, config

    model = linear()
    quiet(model, small, update_rule=halve, batch_size=200, num_epochs=1, seed=0).train()
    assert len(calls) == 2  # one step, two parameters


def test_unknown_options_are_named_with_a_suggestion(small):
    with pytest.raises(TypeError, match="unknown option 'num_epoch'.*did you mean 'num_epochs'"):
        Solver(linear(), small, num_epoch=3)
    with pytest.raises(ValueError, match="unknown update_rule 'adagrad'"):
        Solver(linear(), small, update_rule="adagrad")
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        Solver(linear(), small, batch_size=0)


def test_bad_data_is_a_clear_error(small):
    with pytest.raises(ValueError, match="data is missing 'X_val'"):
        Solver(linear(), {k: v for k, v in small.items() if k != "X_val"})
    with pytest.raises(ValueError, match="200 examples and data\\['y_train'\\] 199"):
        Solver(linear(), {**small, "y_train": small["y_train"][:-1]})
    with pytest.raises(TypeError, match="params dict"):
        Solver(object(), small)


def test_a_small_convnet_from_a_spec_string_learns_the_digits(digits):
    """A short real run (the full >= 97% run is benchmarks/bench_training.py)."""
    model = Sequential(SPEC, filters=[16, 16, 32, 32], hidden=64, num_classes=10, seed=0)
    quiet(model, digits, update_rule="adam", optim_config={"learning_rate": 2e-3},
          batch_size=32, num_epochs=3, seed=0).train()
    accuracy = (model.predict(digits["X_test"]) == digits["y_test"]).mean()
    assert accuracy >= 0.93
