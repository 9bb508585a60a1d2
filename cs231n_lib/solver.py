"""Training a classification model: the cs231n ``Solver``.

A model is anything with
- ``model.params``: a dict of parameter arrays;
- ``model.loss(X, y)`` returning ``(loss, grads)`` with ``grads`` keyed like ``params``, and
  ``model.loss(X)`` returning class scores (N, C).

::

    solver = Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-3},
                    batch_size=64, num_epochs=5, seed=0)
    solver.train()
    solver.loss_history, solver.train_acc_history, solver.val_acc_history

``data`` holds ``X_train, y_train, X_val, y_val`` (other keys are ignored). One epoch is one
pass over the training set in a shuffled order, in steps of ``batch_size`` examples: with
``batch_size = len(X_train)`` that is (full-)batch gradient descent, with 1 stochastic gradient
descent, in between mini-batch gradient descent — the same code.

After training, the model holds the parameters of the epoch with the best validation
accuracy. With a ``seed`` two runs are identical, bit for bit.

Device arrays: batches are taken where the data lives and moved to the model's device when
they differ. The loss of each step stays on the device; the solver converts the losses to
numbers in one transfer when it prints, at the end of every epoch, and at the end (on the
CPU, right away: there is nothing to transfer). A loss that is NaN or inf stops training with
:class:`TrainingDivergedError`.
"""
from __future__ import annotations

import difflib
import inspect
import math
import pickle
from typing import Any, Callable

from . import optim
from .backend import is_device_array, np, to_device, to_host, xp_of
from .validate import check_int

__all__ = ["Solver", "TrainingDivergedError", "EVENTS"]

#: what a callback is told: after every update, after every accuracy check (the start and
#: the end of each epoch), when the loss stops being finite, and when training ends
EVENTS = ("iteration", "epoch", "diverged", "end")


class TrainingDivergedError(ValueError):
    """The loss became NaN or inf; the message says when and what to try."""


class Solver:
    """Trains a model with stochastic gradient descent or one of its variants.

    Inputs:
    - model: see the module docstring.
    - data: dict with X_train (N, ...), y_train (N,), X_val, y_val.
    - update_rule: a name in :data:`cs231n_lib.optim.UPDATE_RULES` ("sgd", "sgd_momentum",
      "rmsprop", "adam") or a function ``update(w, dw, config) -> (next_w, config)``.
    - optim_config: hyperparameters of the update rule (e.g. ``{"learning_rate": 1e-3}``);
      each parameter gets its own copy, which also keeps its state (velocity, caches).
    - lr_decay: after every epoch the learning rate is multiplied by this.
    - batch_size: examples per gradient step.
    - num_epochs: passes over the training data.
    - num_train_samples: training examples used to measure training accuracy each epoch
      (None: all of them).
    - num_val_samples: validation examples used (None: all of them).
    - checkpoint_name: if given, ``{checkpoint_name}_epoch_{epoch}.pkl`` is written after
      every epoch.
    - print_every: with ``verbose``, print the loss every this many iterations.
    - verbose: print losses and accuracies.
    - progress: show a progress bar (tqdm: a widget in notebooks, text in terminals).
    - seed: seeds the order of the examples and the accuracy samples (None: fresh).
    - callback: ``callback(solver, event)`` with ``event`` in :data:`EVENTS`, e.g. to draw a
      live plot of ``solver.loss_history``.
    """

    def __init__(self, model: Any, data: dict, *, update_rule: str | Callable = "sgd",
                 optim_config: dict | None = None, lr_decay: float = 1.0,
                 batch_size: int = 100, num_epochs: int = 10,
                 num_train_samples: int | None = 1000, num_val_samples: int | None = None,
                 checkpoint_name: str | None = None, print_every: int = 10,
                 verbose: bool = True, progress: bool = True, seed: int | None = None,
                 callback: Callable[["Solver", str], Any] | None = None, **unknown: Any):
        if unknown:
            known = [p for p in inspect.signature(Solver.__init__).parameters
                     if p not in ("self", "model", "data", "unknown")]
            name = sorted(unknown)[0]
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise TypeError(f"Solver got an unknown option {name!r}{hint}; the options are: "
                            f"{', '.join(known)}")
        if not hasattr(model, "params") or not hasattr(model, "loss"):
            raise TypeError("model must have a params dict and a loss(X, y=None) method")
        self.model = model
        self._check_data(data)
        self.X_train, self.y_train = data["X_train"], data["y_train"]
        self.X_val, self.y_val = data["X_val"], data["y_val"]

        if isinstance(update_rule, str):
            if update_rule not in optim.UPDATE_RULES:
                raise ValueError(f"unknown update_rule {update_rule!r}; choose one of "
                                 f"{', '.join(optim.UPDATE_RULES)} or pass a function")
            self.update_rule = optim.UPDATE_RULES[update_rule]
        elif callable(update_rule):
            self.update_rule = update_rule
        else:
            raise TypeError(f"update_rule must be a name or a function, got {update_rule!r}")
        self.optim_config = dict(optim_config or {})
        if isinstance(lr_decay, bool) or not isinstance(lr_decay, (int, float)) or lr_decay <= 0:
            raise ValueError(f"lr_decay must be a number > 0, got {lr_decay!r}")
        self.lr_decay = float(lr_decay)
        self.batch_size = check_int(batch_size, "batch_size", 1)
        self.num_epochs = check_int(num_epochs, "num_epochs", 0)
        self.num_train_samples = (None if num_train_samples is None
                                  else check_int(num_train_samples, "num_train_samples", 1))
        self.num_val_samples = (None if num_val_samples is None
                                else check_int(num_val_samples, "num_val_samples", 1))
        self.checkpoint_name = checkpoint_name
        self.print_every = check_int(print_every, "print_every", 1)
        self.verbose, self.progress = bool(verbose), bool(progress)
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be a function (solver, event), got {callback!r}")
        self.callback = callback
        self.seed = seed
        self._reset()

    @staticmethod
    def _check_data(data: Any) -> None:
        if not isinstance(data, dict):
            raise TypeError(f"data must be a dict with X_train, y_train, X_val, y_val, got "
                            f"{type(data).__name__}")
        for key in ("X_train", "y_train", "X_val", "y_val"):
            if key not in data:
                raise ValueError(f"data is missing {key!r} (it needs X_train, y_train, X_val, "
                                 f"y_val; it has {sorted(data)})")
        for part in ("train", "val"):
            X, y = data[f"X_{part}"], data[f"y_{part}"]
            if not hasattr(X, "shape") or not hasattr(y, "shape"):
                raise TypeError(f"data['X_{part}'] and data['y_{part}'] must be arrays")
            if len(X) != len(y) or len(X) == 0:
                raise ValueError(f"data['X_{part}'] has {len(X)} examples and data['y_{part}'] "
                                 f"{len(y)} labels; they must be equal and not zero")

    def _reset(self) -> None:
        """Fresh bookkeeping; called by the constructor (not meant to be called by hand)."""
        self.epoch = 0
        self.iteration = 0
        self.best_val_acc = 0.0
        self.best_params: dict[str, Any] = {}
        self.loss_history: list[float] = []
        self.train_acc_history: list[float] = []
        self.val_acc_history: list[float] = []
        self.optim_configs = {p: dict(self.optim_config) for p in self.model.params}
        self._pending: list[Any] = []  # device losses not yet converted to numbers
        rng = np.random.default_rng(self.seed)
        self._order_rng, self._sample_rng = rng.spawn(2)
        self._bar = None

    # ---- one step --------------------------------------------------------------------------
    def _model_device(self) -> str:
        first = next(iter(self.model.params.values()), None)
        return "gpu" if is_device_array(first) else "cpu"

    def _take(self, X: Any, y: Any, idx: Any) -> tuple[Any, Any]:
        """Examples ``idx`` (a host index array) of X and y, on the model's device."""
        if is_device_array(X):
            idx = xp_of(X).asarray(idx)
        X_batch, y_batch = X[idx], y[idx]
        device = self._model_device()
        return to_device(X_batch, device), to_device(y_batch, device)

    def _step(self, idx: Any) -> None:
        """One gradient step on the examples ``idx``."""
        X_batch, y_batch = self._take(self.X_train, self.y_train, idx)
        try:
            loss, grads = self.model.loss(X_batch, y_batch)
        except ValueError as exc:
            # the layers refuse NaN/inf scores; that means the training has blown up
            if "nan" in str(exc).lower():
                self._diverged(math.nan, self.iteration, exc)
            raise
        self._pending.append(loss)
        if not is_device_array(loss):
            self._flush()  # on the host a loss is already a number: check it at once
        for name, w in self.model.params.items():
            next_w, self.optim_configs[name] = self.update_rule(w, grads[name],
                                                                self.optim_configs[name])
            self.model.params[name] = next_w

    def _flush(self) -> None:
        """Convert the losses still on the device to numbers (one transfer), check them."""
        if not self._pending:
            return
        if is_device_array(self._pending[0]):
            values = to_host(xp_of(self._pending[0]).stack(self._pending)).tolist()
        else:
            values = [float(v) for v in self._pending]
        first = len(self.loss_history)
        self._pending = []
        for i, value in enumerate(values):
            self.loss_history.append(value)
            if not math.isfinite(value):
                self._diverged(value, first + i, None)

    def _diverged(self, value: float, iteration: int, cause: Exception | None) -> None:
        per_epoch = self._iterations_per_epoch()
        rate = self.optim_config.get("learning_rate")
        restored = ""
        if self.best_params:
            self.model.params.update(self.best_params)
            restored = " The model was given back its best parameters so far."
        if self.callback is not None:
            self.callback(self, "diverged")
        self._close_bar()
        raise TrainingDivergedError(
            f"training stopped: the loss became {value} at iteration {iteration + 1} (epoch "
            f"{iteration // per_epoch + 1} of {self.num_epochs}). The steps are probably too "
            f"large: try a smaller learning rate (this run started at "
            f"{rate if rate is not None else 'the default'}), a smaller weight_scale, or less "
            f"regularization.{restored}") from cause

    # ---- accuracy --------------------------------------------------------------------------
    def check_accuracy(self, X: Any, y: Any, num_samples: int | None = None,
                       batch_size: int = 100) -> float:
        """Fraction of ``X`` the model classifies correctly (on ``num_samples`` random examples
        when given). The predictions are counted on the device; one number comes back."""
        N = len(X)
        if num_samples is not None and N > num_samples:
            idx = np.sort(self._sample_rng.choice(N, num_samples, replace=False))
        else:
            idx = np.arange(N)
        correct = None
        for start in range(0, len(idx), batch_size):
            X_batch, y_batch = self._take(X, y, idx[start:start + batch_size])
            scores = self.model.loss(X_batch)
            hits = (xp_of(scores).argmax(scores, axis=1) == y_batch).sum()
            correct = hits if correct is None else correct + hits
        return float(to_host(correct)) / len(idx)

    # ---- the loop --------------------------------------------------------------------------
    def _iterations_per_epoch(self) -> int:
        return max(math.ceil(len(self.X_train) / self.batch_size), 1)

    def _say(self, text: str) -> None:
        if not self.verbose:
            return
        if self._bar is not None:
            self._bar.write(text)
        else:
            print(text)

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _check_epoch(self, num_iterations: int) -> None:
        """Accuracies at the start and after every epoch; keep the best parameters."""
        self._flush()
        train_acc = self.check_accuracy(self.X_train, self.y_train, self.num_train_samples)
        val_acc = self.check_accuracy(self.X_val, self.y_val, self.num_val_samples)
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        self._say(f"(Epoch {self.epoch} / {self.num_epochs}) train acc: {train_acc:f}; "
                  f"val_acc: {val_acc:f}")
        if val_acc > self.best_val_acc or not self.best_params:
            self.best_val_acc = val_acc
            xp = xp_of(*self.model.params.values())
            self.best_params = {k: xp.array(v, copy=True) for k, v in self.model.params.items()}
        if self._bar is not None:
            loss = f"{self.loss_history[-1]:.4f}" if self.loss_history else "-"
            self._bar.set_postfix_str(f"loss {loss}, train {train_acc:.3f}, val {val_acc:.3f}")
        if self.callback is not None:
            self.callback(self, "epoch")

    def _save_checkpoint(self) -> None:
        if self.checkpoint_name is None:
            return
        checkpoint = {
            "model": self.model, "params": to_host(dict(self.model.params)),
            "update_rule": getattr(self.update_rule, "__name__", repr(self.update_rule)),
            "lr_decay": self.lr_decay,
            "optim_config": self.optim_config, "batch_size": self.batch_size,
            "num_train_samples": self.num_train_samples,
            "num_val_samples": self.num_val_samples, "epoch": self.epoch,
            "loss_history": self.loss_history, "train_acc_history": self.train_acc_history,
            "val_acc_history": self.val_acc_history,
        }
        filename = f"{self.checkpoint_name}_epoch_{self.epoch}.pkl"
        self._say(f'Saving checkpoint to "{filename}"')
        with open(filename, "wb") as f:
            pickle.dump(checkpoint, f)

    def train(self) -> "Solver":
        """Run the optimization; returns the solver (its histories are filled in)."""
        per_epoch = self._iterations_per_epoch()
        num_iterations = self.num_epochs * per_epoch
        N = len(self.X_train)
        if self.progress:
            # a widget in notebooks, a text bar in terminals; imported here, when a bar is
            # shown, because tqdm.auto is slow to import
            from tqdm.auto import tqdm
            self._bar = tqdm(total=num_iterations, unit="it", desc="training", leave=True)
        try:
            self._check_epoch(num_iterations)  # the accuracy before any step
            order = None
            for t in range(num_iterations):
                within = t % per_epoch
                if within == 0:
                    order = self._order_rng.permutation(N)
                self.iteration = t
                self._step(order[within * self.batch_size:(within + 1) * self.batch_size])
                if self._bar is not None:
                    self._bar.update(1)
                if self.verbose and t % self.print_every == 0:
                    self._flush()
                    self._say(f"(Iteration {t + 1} / {num_iterations}) loss: "
                              f"{self.loss_history[-1]:f}")
                if self.callback is not None:
                    self.callback(self, "iteration")
                if within == per_epoch - 1:
                    self.epoch += 1
                    for config in self.optim_configs.values():
                        if "learning_rate" in config:
                            config["learning_rate"] *= self.lr_decay
                    self._check_epoch(num_iterations)
                    self._save_checkpoint()
            self._flush()
        finally:
            self._close_bar()
        if self.best_params:
            self.model.params.update(self.best_params)
        if self.callback is not None:
            self.callback(self, "end")
        return self

    @property
    def latest_loss(self) -> float | None:
        """The most recent loss as a number (converts what is pending on the device)."""
        self._flush()
        return self.loss_history[-1] if self.loss_history else None
