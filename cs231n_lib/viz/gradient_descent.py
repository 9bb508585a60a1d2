"""Three ways to train, compared: stochastic, mini-batch and (full-)batch gradient descent.

All three are one loop. Shuffle the N training examples, cut the order into batches of B,
and for each batch take one step ``W -= learning_rate * dW`` along the gradient of the loss
averaged over that batch:

* B = 1: stochastic gradient descent (SGD), N noisy updates per pass over the data (epoch);
* 1 < B < N: mini-batch gradient descent, ``ceil(N / B)`` updates per epoch (the last batch
  holds the ``N mod B`` examples left over, and it counts as an update);
* B = N: batch gradient descent, one exact gradient and one update per epoch.

A bigger batch gives a better estimate of the gradient, so each update helps more; but it
costs B examples of work. :func:`compute_gd_comparison` trains the same model (softmax
regression: scores ``X W + b`` and the softmax loss of :func:`cs231n_lib.layers.softmax_loss`)
from the same start with several batch sizes, and records the loss on the whole training set
against the number of updates and against the number of examples seen.
:func:`render_gd_comparison` draws both curves; :func:`gd_widget` puts the batch sizes, the
learning rate and the number of epochs on controls.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

import ipywidgets as widgets

from ..backend import np, to_host, xp_of
from ..data import load_digits
from ..layers import softmax_loss
from ..validate import check_float_array, check_int, check_labels
from .common import PALETTE, Drawing, LiveView, int_slider, new_figure

__all__ = ["updates_per_epoch", "batch_order", "GDRun", "GDComparison", "digits_problem",
           "compute_gd_comparison", "render_gd_comparison", "summary_text", "gd_widget"]


def updates_per_epoch(num_examples: int, batch_size: int, drop_last: bool = False) -> int:
    """How many updates one pass over ``num_examples`` makes with batches of ``batch_size``.

    The last batch holds what is left over (``num_examples mod batch_size`` examples, when
    that is not 0); it is an update of its own unless ``drop_last`` (as PyTorch's
    ``DataLoader(drop_last=True)``) leaves it out: ``ceil(N / B)``, or ``floor(N / B)``.
    """
    N = check_int(num_examples, "num_examples", 1)
    B = check_int(batch_size, "batch_size", 1)
    if B > N:
        raise ValueError(f"batch_size must be at most num_examples = {N}, got {B}")
    full, rest = divmod(N, B)
    return full + (1 if rest and not drop_last else 0)


def batch_order(num_examples: int, batch_size: int, rng: Any) -> list[Any]:
    """One epoch's batches: a random permutation of ``range(num_examples)`` cut into
    consecutive pieces of ``batch_size`` (the last one shorter when they do not divide).
    ``rng`` is a ``numpy.random.Generator``; returns a list of host index arrays."""
    order = rng.permutation(num_examples)
    return [order[start:start + batch_size] for start in range(0, num_examples, batch_size)]


@dataclass(frozen=True)
class GDRun:
    """One batch size trained for ``epochs`` epochs.

    - ``updates``, ``examples``: host int arrays (R,), when the loss was recorded (0 is the
      start); ``examples`` counts the training examples whose gradients were used so far
    - ``losses``: (R,), the loss on the whole training set then (on the data's device)
    - ``W``, ``b``: the final weights (D, K) and biases (K,)
    - ``diverged_at``: the update at which the scores overflowed (None when they did not)
    """
    batch_size: int
    learning_rate: float
    updates_per_epoch: int
    updates: Any
    examples: Any
    losses: Any
    W: Any
    b: Any
    diverged_at: int | None


@dataclass(frozen=True)
class GDComparison:
    """Several :class:`GDRun` on one problem of ``num_examples`` examples and ``epochs``
    epochs, all from the starting weights ``W0`` (D, K) and ``b0`` (K,) (zeros), whose
    loss is ``initial_loss``."""
    runs: list[GDRun]
    num_examples: int
    epochs: int
    initial_loss: float
    W0: Any
    b0: Any


def _full_loss(X: Any, y: Any, W: Any, b: Any) -> Any:
    return softmax_loss(X @ W + b, y)[0]


def _label(run: GDRun, N: int) -> str:
    kind = ("SGD" if run.batch_size == 1 else "batch GD" if run.batch_size == N
            else "mini-batch")
    per = run.updates_per_epoch
    return f"B = {run.batch_size} ({kind}): {per} update{'s' if per != 1 else ''}/epoch"


def compute_gd_comparison(X: Any, y: Any, batch_sizes: Sequence[int | None] = (1, 32, None),
                          learning_rate: float = 0.1, epochs: int = 3, seed: int = 0,
                          max_points: int = 150, num_classes: int | None = None) -> GDComparison:
    """Train softmax regression with each batch size and record the training loss.

    Inputs:
    - X: training inputs, shape (N, D) (images are flattened first: (N, C, H, W) works too)
    - y: labels, shape (N,), integers in [0, K)
    - batch_sizes: the batch sizes to compare; ``None`` stands for the full batch, N
    - learning_rate: the step size, the same for every batch size (the gradient is a mean
      over the batch, so steps of the same size are comparable)
    - epochs: passes over the training set (every batch size sees the same examples)
    - seed: the starting weights (the same for all runs) and the shuffling (per batch size)
    - max_points: about this many recorded losses per run (half evenly spread over the
      updates, half evenly on a log scale)
    - num_classes: K (default: the largest label + 1)

    Returns a :class:`GDComparison`. Deterministic for a seed. The arrays live where ``X``
    lives (NumPy or CuPy): the batches are cut with host indices moved to the device.
    """
    check_float_array(X, "X")
    if X.ndim != 2:
        X = X.reshape(X.shape[0], -1)  # a batch of images: one row per image
    N, D = X.shape
    epochs = check_int(epochs, "epochs", 1)
    max_points = check_int(max_points, "max_points", 1)
    if not (isinstance(learning_rate, (int, float, np.floating)) and learning_rate > 0):
        raise ValueError(f"learning_rate must be a number > 0, got {learning_rate!r}")
    if not batch_sizes:
        raise ValueError("batch_sizes: give at least one batch size (None for the full batch)")
    sizes = [N if B is None else check_int(B, "batch size", 1) for B in batch_sizes]
    too_big = [B for B in sizes if B > N]
    if too_big:
        raise ValueError(f"batch size {too_big[0]} is larger than the training set "
                         f"(N = {N}); use None for the full batch")
    xp = xp_of(X, y)
    K = int(num_classes) if num_classes is not None else int(to_host(y.max())) + 1
    check_labels(y, K, N, "y")
    start = np.random.default_rng(seed)
    W0 = xp.asarray((0.001 * start.standard_normal((D, K))).astype(X.dtype))
    b0 = xp.zeros(K, dtype=X.dtype)
    initial = _full_loss(X, y, W0, b0)
    runs = []
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is caught as divergence
        for B in sizes:
            runs.append(_train(X, y, W0, b0, initial, B, learning_rate, epochs, seed, max_points))
    return GDComparison(runs, N, epochs, float(to_host(initial)), W0, b0)


def _train(X: Any, y: Any, W0: Any, b0: Any, initial: Any, B: int, learning_rate: float,
           epochs: int, seed: int, max_points: int) -> GDRun:
    """One run of :func:`compute_gd_comparison`: batch size B from (W0, b0)."""
    xp = xp_of(X, y)
    N = X.shape[0]
    per_epoch = updates_per_epoch(N, B)
    total = epochs * per_epoch
    # record at (about) max_points update counts, the start included: half evenly spread
    # (for the axis of examples seen), half spread evenly on a log scale (for the updates)
    half = max(max_points // 2, 1)
    spots = np.concatenate([np.linspace(0, total, half + 1), np.geomspace(1, total, half)])
    record = set(int(k) for k in np.unique(spots.round()))
    rng = np.random.default_rng([seed, B])  # a run's shuffling does not depend on the others
    W, b = W0.copy(), b0.copy()
    updates, examples, losses = [0], [0], [initial]
    step, seen, diverged = 0, 0, None
    for _ in range(epochs):
        for idx in batch_order(N, B, rng):
            index = xp.asarray(idx)
            Xb, yb = X[index], y[index]
            try:
                _, dscores = softmax_loss(Xb @ W + b, yb)
            except ValueError:  # the inputs were checked: only overflowed scores get here
                diverged = step
                break
            W = W - learning_rate * (Xb.T @ dscores)
            b = b - learning_rate * dscores.sum(axis=0)
            step, seen = step + 1, seen + len(idx)
            if step in record:
                try:
                    loss = _full_loss(X, y, W, b)
                except ValueError:
                    diverged = step
                    break
                updates.append(step)
                examples.append(seen)
                losses.append(loss)
        if diverged is not None:
            break
    return GDRun(B, float(learning_rate), per_epoch, np.array(updates), np.array(examples),
                 xp.stack(losses), W, b, diverged)


# --------------------------------------------------------------------------------------------
# Rendering: loss against updates (log scale) and against examples seen (in epochs)
# --------------------------------------------------------------------------------------------
#: one colour per run, in order (the workbook's palette)
RUN_COLOURS = (PALETTE["filter"], PALETTE["input"], PALETTE["output"], PALETTE["highlight"],
               PALETTE["muted"])


def render_gd_comparison(c: GDComparison):
    """A matplotlib figure of two panels: the training loss against the number of updates
    (logarithmic axis) and against the number of examples seen (in epochs)."""
    fig = new_figure(9.6, 3.5)
    by_updates, by_examples = fig.subplots(1, 2)
    for k, run in enumerate(c.runs):
        colour = RUN_COLOURS[k % len(RUN_COLOURS)]
        losses = to_host(run.losses)
        label = _label(run, c.num_examples)
        if run.diverged_at is not None:
            label += f" — diverged at update {run.diverged_at}"
        # update 0 cannot sit on a log axis: it is drawn at 1/2, the start of every curve
        by_updates.plot(np.maximum(run.updates, 0.5), losses, color=colour, lw=1.4, label=label,
                        marker="o" if len(losses) <= 12 else None, ms=3)
        by_examples.plot(run.examples / c.num_examples, losses, color=colour, lw=1.4,
                         label=label, marker="o" if len(losses) <= 12 else None, ms=3)
    by_updates.set_xscale("log")
    by_updates.set_xlabel("updates (log scale; the start at 1/2)")
    by_examples.set_xlabel(f"examples seen (epochs of {c.num_examples:,})")
    for ax, title in ((by_updates, "loss against updates"),
                      (by_examples, "loss against examples seen")):
        ax.set_ylabel("training loss")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.axhline(c.initial_loss, color="#999999", lw=0.8, ls=":")
    by_updates.legend(fontsize=8, loc="upper right")
    fig.suptitle(f"softmax regression, learning rate {c.runs[0].learning_rate:g}, "
                 f"{c.epochs} epoch{'s' if c.epochs != 1 else ''}", fontsize=10)
    fig.tight_layout()
    return fig


def summary_text(c: GDComparison) -> str:
    """One line: the final training loss of each batch size."""
    parts = []
    for run in c.runs:
        end = ("diverged" if run.diverged_at is not None
               else f"{float(to_host(run.losses[-1])):.3f}")
        parts.append(f"B={run.batch_size}: {end} after {int(run.updates[-1])} updates")
    return "final training loss: " + "; ".join(parts)


@lru_cache(maxsize=2)
def digits_problem(dtype: str = "float64") -> tuple[Any, Any]:
    """The training digits as a softmax-regression problem: X (1257, 64) of pixels in [0, 1]
    and y (1257,) labels 0-9 (the split of :func:`cs231n_lib.data.load_digits`)."""
    data = load_digits(dtype=dtype)
    X = data["X_train"].reshape(len(data["X_train"]), -1)
    X.flags.writeable = False  # shared by every caller of this cache
    return X, data["y_train"]


def gd_widget(learning_rate: float = 0.1, epochs: int = 3, minibatch: int = 32,
              seed: int = 0) -> LiveView:
    """Softmax regression on the digits. Controls: ``sgd`` (batch size 1), ``minibatch``
    (on/off) with ``batch_size``, ``full`` (the full batch), ``learning_rate``, ``epochs``,
    ``seed``; the view: the training loss against updates and against examples seen."""
    X, y = digits_problem()
    controls = {
        "sgd": widgets.Checkbox(value=True, description="B = 1 (SGD)", indent=False,
                                layout=widgets.Layout(width="120px")),
        "minibatch": widgets.Checkbox(value=True, description="mini-batch", indent=False,
                                      layout=widgets.Layout(width="100px")),
        "batch_size": widgets.SelectionSlider(options=[2, 4, 8, 16, 32, 64, 128, 256, 512],
                                              value=minibatch, description="B =",
                                              continuous_update=False,
                                              layout=widgets.Layout(width="260px")),
        "full": widgets.Checkbox(value=True, description=f"full batch (B = {len(X)})",
                                 indent=False, layout=widgets.Layout(width="170px")),
        "learning_rate": widgets.FloatLogSlider(value=learning_rate, base=10, min=-3, max=1.5,
                                                step=0.25, description="learning rate",
                                                continuous_update=False, readout_format=".3g",
                                                style={"description_width": "initial"},
                                                layout=widgets.Layout(width="300px")),
        "epochs": int_slider("epochs", epochs, 1, 10),
        "seed": int_slider("seed", seed, 0, 9),
    }

    def view(sgd: bool, minibatch: bool, batch_size: int, full: bool, learning_rate: float,
             epochs: int, seed: int) -> Drawing:
        sizes = [B for B, on in ((1, sgd), (batch_size, minibatch), (None, full)) if on]
        if not sizes:
            raise ValueError("no batch size chosen: tick SGD, mini-batch or full batch")
        c = compute_gd_comparison(X, y, sizes, float(learning_rate), epochs, seed)
        return Drawing(c, render_gd_comparison(c), summary_text(c))

    return LiveView("Stochastic, mini-batch and batch gradient descent on the digits", controls,
                    view, rows=[["sgd", "minibatch", "batch_size", "full"],
                                ["learning_rate", "epochs", "seed"]], name="gd_widget")
