"""Hyperparameter explorer: train a small ConvNet while you watch, and compare the runs.

A run is one training of one network with one set of hyperparameters: the layer pattern (in
the notes' language, e.g. ``INPUT -> [CONV -> RELU -> POOL]*2 -> FC -> RELU -> FC``), the
number of filters of its convs, the update rule and its learning rate, the L2 strength, the
batch size, the number of epochs and the seed. A run records

* the loss of every iteration (one gradient step on one mini-batch),
* every few iterations a *point*: the loss, the accuracy on a fixed slice of the training set
  and on the validation set (the same examples every time, so no random numbers are drawn
  for measuring, and the same seed gives the same curve, point for point),

and keeps the trained model. Training is the library's :class:`~cs231n_lib.solver.Solver`
on the layers of the current backend, so a run uses the GPU when one is selected.

Three layers, as for every visualizer:

* :func:`compute_training_run` trains synchronously: it calls ``callback(run)`` after every
  point and stops within one iteration once ``stop.is_set()``; the tests call it directly;
* :func:`render_runs` draws runs: loss and accuracy curves, one colour per run, and a table
  of their settings and results;
* :func:`hyperparams_widget` puts controls, Train and Stop buttons above the drawing and runs
  :func:`compute_training_run` in a background thread, redrawing a few times a second, so
  the controls stay live while it trains.

A setting that cannot train (a malformed pattern, a network that does not fit the images, a
learning rate of 0) raises :class:`SettingsError`, a ``ValueError``; the widget shows its
message, with the arithmetic where there is some, never a traceback.
"""
from __future__ import annotations

import base64
import math
import threading
import time
from dataclasses import asdict, dataclass, field, fields, replace
from functools import lru_cache
from typing import Any, Callable

import ipywidgets as widgets

from .. import optim
from ..backend import device, np, to_device, to_host, xp_of
from ..data import load_digits
from ..models import Sequential, SpecError, Summary, parse, summary
from ..models.spec import kind_of
from ..solver import Solver, TrainingDivergedError
from .common import (FONT, MONO, PALETTE, TABLE_CSS, TD_CSS, Drawing, Html, LiveView, escape,
                     figure_png, fmt_int, int_slider, message_html, new_figure)

__all__ = ["PRESETS", "OPTIMIZERS", "BATCH_SIZES", "RunSettings", "SettingsError", "Point",
           "TrainingRun", "compute_network", "compute_training_run", "run_labels",
           "render_runs", "HyperparamExplorer", "hyperparams_widget"]

#: a few patterns to start from (the explorer's "preset" menu); the sizes of the layers come
#: from the settings: ``filters`` for every CONV, ``hidden`` for every FC but the last
PRESETS = {
    "[CONV-RELU-POOL]*2, FC-RELU, FC": "INPUT -> [CONV -> RELU -> POOL]*2 -> FC -> RELU -> FC",
    "[[CONV-RELU]*2, POOL]*2, FC-RELU, FC":
        "INPUT -> [[CONV -> RELU]*2 -> POOL]*2 -> FC -> RELU -> FC",
    "CONV-RELU, FC": "INPUT -> CONV -> RELU -> FC",
    "two-layer net (no CONV)": "INPUT -> FC -> RELU -> FC",
    "linear classifier": "INPUT -> FC",
}
CUSTOM = "custom"
OPTIMIZERS = tuple(optim.UPDATE_RULES)       # sgd, sgd_momentum, rmsprop, adam
BATCH_SIZES = (8, 16, 32, 64, 128, 256, 512)

# one colour per run: the workbook's palette first, then further distinct hues
RUN_COLOURS = (PALETTE["input"], PALETTE["filter"], PALETTE["output"], PALETTE["highlight"],
               "#7b5ea7", "#8c564b", "#d6609f", "#17a2b8", "#6b6b6b", "#b5a000")


class SettingsError(ValueError):
    """Settings a run cannot train with; the message names the setting and says why."""


# --------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunSettings:
    """Everything that decides a run (the same settings and data give the same run).

    - pattern: the network in the notes' pattern language; ``POOL?`` counts as included, and
      an ``INPUT`` may leave out its shape (the data's is used)
    - learning_rate: the update rule's step size
    - reg: L2 regularization strength, the loss adds ``0.5 * reg * sum(W**2)``
    - batch_size: examples per gradient step
    - filters: the number of filters of every CONV that does not state its own
    - hidden: the outputs of every FC but the last (the last gives the class scores)
    - update_rule: one of :data:`OPTIMIZERS`
    - num_epochs: passes over the training set
    - seed: the initial weights and the order of the examples
    """
    pattern: str = PRESETS["[CONV-RELU-POOL]*2, FC-RELU, FC"]
    learning_rate: float = 1e-2
    reg: float = 1e-4
    batch_size: int = 64
    filters: int = 16
    hidden: int = 64
    update_rule: str = "adam"
    num_epochs: int = 5
    seed: int = 0

    def check(self) -> "RunSettings":
        """Raise :class:`SettingsError` for a value no run can use; return the settings."""
        if not isinstance(self.pattern, str) or not self.pattern.strip():
            raise SettingsError("pattern: write the network as layers joined by '->', "
                                "e.g. INPUT -> CONV -> RELU -> POOL -> FC")
        for name in ("learning_rate", "reg"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value < 0 or (name == "learning_rate"
                                                                and value == 0):
                need = "> 0" if name == "learning_rate" else ">= 0"
                raise SettingsError(f"{name} must be a finite number {need}, got {value!r}")
        for name, low in (("batch_size", 1), ("filters", 1), ("hidden", 1), ("num_epochs", 1),
                          ("seed", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
                raise SettingsError(f"{name} must be a whole number >= {low}, got {value!r}")
        if self.update_rule not in OPTIMIZERS:
            raise SettingsError(f"update_rule must be one of {', '.join(OPTIMIZERS)}, got "
                                f"{self.update_rule!r}")
        return self

    def describe(self) -> dict[str, str]:
        """Each setting as short text, for labels and the table."""
        return {"pattern": " ".join(self.pattern.split()), "update_rule": self.update_rule,
                "learning_rate": f"{self.learning_rate:.2g}", "reg": f"{self.reg:.2g}",
                "batch_size": str(self.batch_size), "filters": str(self.filters),
                "hidden": str(self.hidden), "num_epochs": str(self.num_epochs),
                "seed": str(self.seed)}


# what the labels and the table call each setting
_SHORT = {"pattern": "", "update_rule": "", "learning_rate": "lr", "reg": "L2",
          "batch_size": "batch", "filters": "filters", "hidden": "hidden",
          "num_epochs": "epochs", "seed": "seed"}


# --------------------------------------------------------------------------------------------
# The network of a pattern
# --------------------------------------------------------------------------------------------
@lru_cache(maxsize=64)
def _network(pattern: str, filters: int, hidden: int, input_shape: tuple[int, ...],
             num_classes: int) -> tuple[list, Summary]:
    try:
        spec = parse(pattern, filters=filters, hidden=hidden, num_classes=num_classes,
                     optional=True)
    except SpecError as exc:
        text = str(exc)
        if "repetition count" in text:
            text += "\n(write the number of repetitions itself, e.g. *2)"
        raise SettingsError(f"the pattern cannot be read: {text}") from None
    except (ValueError, TypeError) as exc:
        raise SettingsError(f"the pattern cannot be read: {exc}") from None
    shape = _volume_text(input_shape)
    if spec and spec[0].kind == "input" and spec[0].params:
        p = spec[0].params
        if (p["C"], p["H"], p["W"]) != input_shape:
            raise SettingsError(f"the pattern says INPUT({p['C']}, {p['H']}, {p['W']}) but the "
                                f"data are {shape} images, INPUT{input_shape}; write just INPUT")
    try:
        table = summary(spec, input_shape)
    except ValueError as exc:   # ShapeError, ConvGeometryError: a layer that does not fit
        raise SettingsError(f"the network does not fit {shape} images: {exc}") from None
    if table.output_shape != (num_classes,):
        last = table.rows[-1]
        raise SettingsError(f"the network must end with an FC layer giving the {num_classes} "
                            f"class scores; it ends with {last.label}, output "
                            f"{_volume_text(last.output_shape)}")
    if any(kind_of(layer).parts is not None for layer in spec):   # pragma: no cover
        raise SettingsError("INCEPTION and RESIDUAL blocks cannot be trained here")
    return spec, table


def compute_network(settings: RunSettings, input_shape: tuple[int, ...],
                    num_classes: int = 10) -> Summary:
    """The per-layer table of the network that ``settings`` describe, for inputs of
    ``input_shape`` (C, H, W).

    Raises :class:`SettingsError` when the settings are invalid, the pattern cannot be read,
    a layer does not fit the size it receives, or the network does not end in
    ``num_classes`` scores.
    """
    settings.check()
    return _network(settings.pattern, int(settings.filters), int(settings.hidden),
                    tuple(int(s) for s in input_shape), int(num_classes))[1]


# --------------------------------------------------------------------------------------------
# A run
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Point:
    """One measurement during training: after ``iteration`` gradient steps (``epoch`` =
    iteration / iterations per epoch), the latest loss (None before the first step) and the
    accuracies on the fixed training slice and on the validation set."""
    iteration: int
    epoch: float
    loss: float | None
    train_acc: float
    val_acc: float


@dataclass
class TrainingRun:
    """A run, while it trains and afterwards.

    - settings: its :class:`RunSettings`; number: its place in the explorer (1, 2, ...)
    - status: "running", "finished", "stopped" (by the stop event) or "diverged" (the loss
      became NaN or inf; ``message`` says when)
    - losses: the loss of every iteration; points: a :class:`Point` every few iterations
    - point_seconds: when each point was taken, in seconds after the run started
    - model: the trained network (a :class:`~cs231n_lib.models.Sequential`): with the
      parameters of the best validation check when the run finished (as the Solver leaves
      it), those of the last step when it was stopped
    - seconds: how long the run took, building the network included
    """
    settings: RunSettings
    iterations_per_epoch: int
    num_iterations: int
    number: int = 0
    status: str = "running"
    losses: list[float] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    point_seconds: list[float] = field(default_factory=list)
    model: Any = None
    solver: Any = None
    message: str | None = None
    seconds: float = 0.0

    @property
    def iterations(self) -> int:
        """Gradient steps taken so far."""
        return len(self.losses)

    @property
    def last(self) -> Point | None:
        return self.points[-1] if self.points else None

    @property
    def best_val_acc(self) -> float | None:
        return max(p.val_acc for p in self.points) if self.points else None

    def curve(self) -> list[tuple]:
        """What "the same curve" means: every point's numbers (not the timings)."""
        return [tuple(asdict(p).values()) for p in self.points]


class _Stopped(Exception):
    """Raised inside the Solver's callback to end training early."""


def _num_classes(data: dict) -> int:
    if data.get("class_names") is not None:
        return len(data["class_names"])
    return int(to_host(data["y_train"]).max()) + 1


def compute_training_run(settings: RunSettings, data: dict, *, eval_every: int = 5,
                         num_eval: int = 256, num_val: int = 1000,
                         callback: Callable[[TrainingRun], Any] | None = None,
                         stop: Any = None, dtype: Any = "float32") -> TrainingRun:
    """Train one network with one set of hyperparameters, measuring as it goes.

    Inputs:
    - settings: a :class:`RunSettings`
    - data: dict with X_train (N, C, H, W), y_train (N,), X_val, y_val (NumPy or device
      arrays), optionally class_names, e.g. ``cs231n_lib.data.load_digits()``
    - eval_every: take a point every this many iterations (and before the first step, and
      after the last)
    - num_eval: the first num_eval training examples give the training accuracy
    - num_val: the first num_val validation examples give the validation accuracy
    - callback: ``callback(run)`` after every point (from the thread that trains)
    - stop: anything with ``is_set()`` (a ``threading.Event``): checked after every
      iteration; once set, the run ends after the iteration in progress
    - dtype: of the parameters and the computation

    Returns the :class:`TrainingRun` (status "finished", "stopped" or "diverged").
    Raises :class:`SettingsError` when the settings cannot train on this data, before any
    step.
    """
    start = time.perf_counter()
    settings.check()
    if isinstance(eval_every, bool) or not isinstance(eval_every, int) or eval_every < 1:
        raise SettingsError(f"eval_every must be a whole number >= 1, got {eval_every!r}")

    input_shape = tuple(int(s) for s in data["X_train"].shape[1:])
    num_classes = _num_classes(data)
    spec, _ = _network(settings.pattern, int(settings.filters), int(settings.hidden),
                       input_shape, num_classes)
    model = Sequential(spec, input_shape, reg=float(settings.reg), dtype=dtype,
                       seed=int(settings.seed))
    where = device()
    # fixed slices, moved to the model's device once: measuring draws no random numbers
    X_tr, y_tr = to_device((data["X_train"][:num_eval], data["y_train"][:num_eval]), where)
    X_va, y_va = to_device((data["X_val"][:num_val], data["y_val"][:num_val]), where)
    solver = Solver(model, data, update_rule=settings.update_rule,
                    optim_config={"learning_rate": float(settings.learning_rate)},
                    batch_size=int(settings.batch_size), num_epochs=int(settings.num_epochs),
                    num_train_samples=num_eval, verbose=False, progress=False,
                    seed=int(settings.seed))
    per_epoch = max(math.ceil(len(data["X_train"]) / int(settings.batch_size)), 1)  # as the Solver
    run = TrainingRun(settings, per_epoch, per_epoch * int(settings.num_epochs), model=model,
                      solver=solver)
    run.losses = solver.loss_history   # the Solver appends; the run shows the same list

    def accuracy(X: Any, y: Any) -> float:
        scores = model.loss(X)
        xp = xp_of(scores)
        return float(to_host((xp.argmax(scores, axis=1) == y).mean()))

    def take_point(done: int) -> None:
        loss = solver.latest_loss if done else None   # converts what waits on the device
        run.points.append(Point(done, done / per_epoch, loss, accuracy(X_tr, y_tr),
                                accuracy(X_va, y_va)))
        run.point_seconds.append(time.perf_counter() - start)
        if callback is not None:
            callback(run)

    def on_event(s: Solver, event: str) -> None:
        if event == "epoch" and not s.loss_history and not run.points:
            take_point(0)   # before the first step
        elif event == "iteration":
            done = s.iteration + 1
            if done % eval_every == 0 or done == run.num_iterations:
                take_point(done)
        if stop is not None and stop.is_set() and event in ("epoch", "iteration"):
            raise _Stopped

    solver.callback = on_event
    try:
        # a run that blows up is reported by its status, not by overflow warnings
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            solver.train()
        run.status = "finished"
    except _Stopped:
        run.status = "stopped"
        done = len(solver.loss_history)
        if not run.points or run.points[-1].iteration != done:
            take_point(done)   # the curve ends where the training did
    except TrainingDivergedError as exc:
        run.status, run.message = "diverged", str(exc)
    run.seconds = time.perf_counter() - start
    return run


# --------------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------------
def run_labels(runs: list[TrainingRun], numbers: list[int] | None = None) -> list[str]:
    """A label per run: its number and the settings in which the runs differ (all but the
    pattern for a single run), e.g. ``#2 lr 0.001`` next to ``#1 lr 0.01``.

    ``numbers``: the runs' numbers (default: ``run.number``, or the place in ``runs``)."""
    if not runs:
        return []
    if numbers is None:
        numbers = [r.number or i + 1 for i, r in enumerate(runs)]
    texts = [r.settings.describe() for r in runs]
    differ = [k for k in texts[0] if len({t[k] for t in texts}) > 1]
    keys = differ if len(runs) > 1 else [k for k in texts[0] if k not in ("pattern", "hidden")]
    labels = []
    for number, t in zip(numbers, texts):
        parts = [(f"{_SHORT[k]} {t[k]}" if _SHORT[k] else t[k]) for k in keys]
        labels.append(f"#{number} " + (", ".join(parts) if parts else "(same settings)"))
    return labels


def _smooth(values: Any, window: int) -> Any:
    """Mean of the last ``window`` losses at every iteration (the raw loss is noisy: each
    value comes from one mini-batch)."""
    values = np.asarray(values, dtype=np.float64)
    if window <= 1 or len(values) < 2:
        return values
    c = np.cumsum(np.insert(values, 0, 0.0))
    n = np.minimum(np.arange(1, len(values) + 1), window)
    return (c[1:] - c[np.arange(1, len(values) + 1) - n]) / n


def _figure(runs: list[TrainingRun], labels: list[str], colours: list[str], width: float,
            height: float, num_classes: int) -> Any:
    # the legend goes below the plots, where it hides no curve: a row of labels per 3 runs
    columns = max(1, min(len(runs), 3))
    legend = 0.22 * math.ceil(len(runs) / columns)
    total = height + legend
    fig = new_figure(width, total)
    ax_loss, ax_acc = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    tops, settled = [], []
    for r, label, colour in zip(runs, labels, colours):
        bold = 2.2 if r.status == "running" else 1.4
        losses = np.asarray(r.losses[:], dtype=np.float64)   # a copy: training appends
        finite = losses[np.isfinite(losses)]
        if len(finite):
            epochs = np.arange(1, len(losses) + 1) / r.iterations_per_epoch
            tops.append(float(np.percentile(finite, 98)))
            settled.append(float(np.median(finite[-max(1, len(finite) // 5):])))
            ax_loss.plot(epochs, losses, color=colour, linewidth=0.6, alpha=0.3)
            ax_loss.plot(epochs, _smooth(losses, max(1, r.iterations_per_epoch // 4)),
                         color=colour, linewidth=bold, label=label)
        points = r.points[:]
        if points:
            x = [p.epoch for p in points]
            ax_acc.plot(x, [p.val_acc for p in points], color=colour, linewidth=bold,
                        label=label)
            ax_acc.plot(x, [p.train_acc for p in points], color=colour, linewidth=bold * 0.7,
                        linestyle="--")
    ax_loss.set(title="loss (faint: every mini-batch)", xlabel="epoch")
    if tops:
        # a run that blew up at its start would squash every other curve to the floor: show
        # up to three times the loss of guessing (ln C) unless the runs settle higher
        top = min(max(tops), max(3 * math.log(num_classes), 1.3 * max(settled)))
        ax_loss.set_ylim(0, top * 1.05)
    ax_acc.set(title="accuracy (solid: validation, dashed: train)", xlabel="epoch",
               ylim=(0, 1.02))
    for ax in (ax_loss, ax_acc):
        ax.grid(True, alpha=0.3)
        ax.title.set_fontsize(10)
    handles, names = ax_acc.get_legend_handles_labels()
    if handles:
        fig.legend(handles, names, loc="lower center", ncol=columns, fontsize=8, frameon=False)
    fig.subplots_adjust(left=0.07, right=0.99, bottom=(0.5 + legend) / total,
                        top=1 - 0.3 / total, wspace=0.2)
    return fig


def _volume_text(shape: tuple[int, ...]) -> str:
    """(C, H, W) as the notes write volumes, H x W x C; a vector as its length."""
    return "x".join(map(str, shape[1:] + shape[:1])) if len(shape) == 3 else str(shape[0])


def _colour(number: int) -> str:
    return RUN_COLOURS[(number - 1) % len(RUN_COLOURS)]


def _accuracy_text(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _table(runs: list[TrainingRun], numbers: list[int]) -> str:
    head = ["run", "pattern", "update rule", "lr", "L2", "batch", "filters", "epochs", "seed",
            "train acc", "val acc", "best val", "iterations", "time", "status"]
    cell = f"{TD_CSS}padding:2px 8px;border-bottom:1px solid #e4e4e4;white-space:nowrap;"
    rows = ["<tr>" + "".join(f'<th style="{cell}font-weight:bold;">{h}</th>' for h in head)
            + "</tr>"]
    for r, number in zip(runs, numbers):
        t = r.settings.describe()
        last = r.last
        swatch = (f'<span style="display:inline-block;width:10px;height:10px;'
                  f'background:{_colour(number)};margin-right:4px;"></span>')
        values = [swatch + f"#{number}", f'<span style="{MONO}">{escape(t["pattern"])}</span>',
                  t["update_rule"], t["learning_rate"], t["reg"], t["batch_size"], t["filters"],
                  t["num_epochs"], t["seed"],
                  _accuracy_text(last.train_acc if last else None),
                  _accuracy_text(last.val_acc if last else None),
                  _accuracy_text(r.best_val_acc), f"{r.iterations} of {r.num_iterations}",
                  f"{r.seconds:.1f} s" if r.status != "running" else "…",
                  escape(r.status)]
        rows.append("<tr>" + "".join(f'<td style="{cell}">{v}</td>' for v in values) + "</tr>")
    return f'<table class="cs231n-runs" style="{TABLE_CSS}font-size:12px;">{"".join(rows)}</table>'


def render_runs(runs: list[TrainingRun], width: float = 10.0, height: float = 3.3,
                note: str = "", num_classes: int = 10) -> Html:
    """Loss and accuracy curves of ``runs`` against the epoch, one colour per run (a run
    still training drawn thicker), and a table of their settings and results.

    Inputs:
    - runs: :class:`TrainingRun` objects, finished or still training
    - width, height: the figure's size in inches
    - note: a line of HTML shown above the figure (the widget's network and status line)
    - num_classes: of the data (the loss axis reaches up to about 3 ln C)

    A run's number (``run.number``, as the explorer counts them) gives its colour and label;
    runs without one (0) are numbered by their place in ``runs``.

    Returns HTML with the figure as an inline PNG.
    """
    numbers = [r.number or i + 1 for i, r in enumerate(runs)]
    fig = _figure(runs, run_labels(runs, numbers), [_colour(n) for n in numbers], width,
                  height, num_classes)
    png = base64.b64encode(figure_png(fig)).decode("ascii")
    w, h = fig.get_size_inches() * fig.dpi
    image = f'<img src="data:image/png;base64,{png}" width="{round(w)}" height="{round(h)}">'
    table = _table(runs, numbers) if runs else (
        f'<div style="color:{PALETTE["muted"]};">No runs yet: press Train.</div>')
    return Html(f'<div style="{FONT}">{note}{image}{table}</div>')


def _network_line(table: Summary) -> str:
    layers = " → ".join(f"{r.label} {_volume_text(r.output_shape)}" if len(r.output_shape) == 3
                        else r.label for r in table.rows if r.depth == 0)
    return (f'<details style="margin-bottom:4px;"><summary>network: '
            f'{fmt_int(table.total_params)} parameters — <span style="{MONO}">{escape(layers)}'
            f'</span></summary>{table._repr_html_()}</details>')


# --------------------------------------------------------------------------------------------
# The widget
# --------------------------------------------------------------------------------------------
class HyperparamExplorer(LiveView):
    """The live explorer (see :func:`hyperparams_widget`).

    Controls (``live.controls[name]``, the names of :class:`RunSettings`): ``preset``,
    ``pattern``, ``learning_rate``, ``reg``, ``batch_size``, ``filters``, ``update_rule``,
    ``num_epochs``, ``seed``. Buttons: ``train_button``, ``stop_button``, ``clear_button``.

    State: ``runs`` (finished runs, oldest first), ``current`` (the run training now, or
    None), ``network`` (the summary of the network the controls describe, None when
    invalid), ``error`` (why the settings are invalid, or None), ``message`` (what went wrong
    with the last Train, or None), ``timings`` (seconds from the click to the first drawn
    point; redraws while training).
    """

    def __init__(self, data: dict, settings: RunSettings, eval_every: int = 5,
                 redraw_interval: float = 0.2, num_eval: int = 256, width: float = 10.0):
        self.data = data
        self.input_shape = tuple(int(s) for s in data["X_train"].shape[1:])
        self.num_classes = _num_classes(data)
        self.eval_every, self.num_eval = eval_every, num_eval
        self.redraw_interval, self.fig_width = redraw_interval, width
        self.runs: list[TrainingRun] = []
        self.current: TrainingRun | None = None
        self.network: Summary | None = None
        self.message: str | None = None
        self.timings: dict[str, Any] = {}
        self._invalid: str | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.RLock()
        self._last_draw = 0.0
        self._count = 0

        preset = next((k for k, v in PRESETS.items() if v == settings.pattern), CUSTOM)
        log = dict(base=10, continuous_update=False, readout_format=".1e",
                   style={"description_width": "initial"}, layout=widgets.Layout(width="260px"))
        controls = {
            "preset": widgets.Dropdown(options=[*PRESETS, CUSTOM], value=preset,
                                       description="preset", layout=widgets.Layout(width="330px")),
            "pattern": widgets.Text(value=settings.pattern, description="layers",
                                    continuous_update=False,
                                    layout=widgets.Layout(width="560px")),
            "learning_rate": widgets.FloatLogSlider(value=settings.learning_rate, min=-5, max=1,
                                                    step=0.25, description="learning rate", **log),
            "reg": widgets.FloatLogSlider(value=settings.reg, min=-7, max=0, step=0.5,
                                          description="L2 strength", **log),
            "batch_size": widgets.SelectionSlider(
                options=sorted({*BATCH_SIZES, settings.batch_size}), value=settings.batch_size,
                description="batch size", continuous_update=False,
                style={"description_width": "initial"}, layout=widgets.Layout(width="260px")),
            "filters": int_slider("filters per CONV", settings.filters, 1,
                                  max(64, settings.filters), width="260px"),
            "update_rule": widgets.Dropdown(options=list(OPTIMIZERS), value=settings.update_rule,
                                            description="update rule",
                                            layout=widgets.Layout(width="220px")),
            "num_epochs": int_slider("epochs", settings.num_epochs, 1,
                                     max(30, settings.num_epochs), width="220px"),
            "seed": int_slider("seed", settings.seed, 0, max(20, settings.seed), width="220px"),
        }
        self.hidden = settings.hidden
        self.train_button = widgets.Button(description="Train", button_style="success",
                                           icon="play", tooltip="train with these settings")
        self.stop_button = widgets.Button(description="Stop", button_style="danger",
                                          icon="stop", disabled=True,
                                          tooltip="end the run now and keep its model")
        self.clear_button = widgets.Button(description="Clear runs", icon="trash",
                                           tooltip="remove the finished runs from the plot")
        # classes for a browser test to find the buttons by
        for button, name in ((self.train_button, "train"), (self.stop_button, "stop"),
                             (self.clear_button, "clear")):
            button.add_class(f"cs231n-hyperparams-{name}")
        self.train_button.on_click(lambda _: self.train())
        self.stop_button.on_click(lambda _: self.stop())
        self.clear_button.on_click(lambda _: self.clear())
        buttons = widgets.HBox([self.train_button, self.stop_button, self.clear_button])
        super().__init__("Hyperparameters: train a ConvNet and compare the runs", controls,
                         self._view, adjust=self._adjust, min_height="520px",
                         rows=[["preset", "pattern"], ["learning_rate", "reg", "batch_size"],
                               ["filters", "update_rule", "num_epochs", "seed"]],
                         extra=[buttons], name="hyperparams_widget")

    # -- settings -----------------------------------------------------------------------------
    def settings(self) -> RunSettings:
        """The settings the controls describe (a learning rate and an L2 strength rounded to
        3 significant digits, as the sliders show them)."""
        v = self.values()
        return RunSettings(pattern=v["pattern"], learning_rate=float(f"{v['learning_rate']:.3g}"),
                           reg=float(f"{v['reg']:.3g}"), batch_size=int(v["batch_size"]),
                           filters=int(v["filters"]), hidden=int(self.hidden),
                           update_rule=v["update_rule"], num_epochs=int(v["num_epochs"]),
                           seed=int(v["seed"]))

    @staticmethod
    def _adjust(live: "HyperparamExplorer", name: str) -> None:
        live.message = None   # a message about the last Train is stale once a setting changes
        preset, pattern = live.controls["preset"], live.controls["pattern"]
        if name == "preset" and preset.value != CUSTOM:
            pattern.value = PRESETS[preset.value]
        elif name == "pattern":
            preset.value = next((k for k, v in PRESETS.items() if v == pattern.value), CUSTOM)

    # -- drawing ------------------------------------------------------------------------------
    def shown_runs(self) -> list[TrainingRun]:
        """The runs on the plot: the finished ones, then the one training now."""
        current = self.current
        return self.runs + ([current] if current is not None else [])

    def _view(self, **_values: Any) -> Drawing:
        notes = []
        self._invalid = None
        try:
            self.network = compute_network(self.settings(), self.input_shape, self.num_classes)
            notes.append(_network_line(self.network))
        except SettingsError as exc:
            self.network, self._invalid = None, str(exc)
            notes.append(message_html(str(exc)))
        if self.message:
            notes.append(message_html(self.message, kind="invalid"))
        current = self.current
        if current is not None:
            last = current.last
            notes.append(f'<div style="margin:2px 0;"><b>training run #{current.number}</b>: '
                         f'epoch {current.iterations / current.iterations_per_epoch:.1f} of '
                         f'{current.settings.num_epochs}'
                         + (f", loss {last.loss:.3f}" if last and last.loss is not None else "")
                         + (f", val acc {last.val_acc:.3f}" if last else "") + "</div>")
        runs = self.shown_runs()
        content = render_runs(runs, width=self.fig_width, note="".join(notes),
                              num_classes=self.num_classes)
        if current is not None:
            text = f"training run #{current.number}: {current.iterations} of {current.num_iterations} iterations"
        elif self.runs:
            r = self.runs[-1]
            text = (f"{len(self.runs)} run(s); #{r.number} {r.status}, val acc "
                    f"{_accuracy_text(r.last.val_acc if r.last else None)}")
        else:
            text = "no runs yet"
        if self._invalid:
            text = f"invalid setting: {self._invalid}; " + text
        return Drawing(runs, content, text)

    def refresh(self) -> None:
        """Redraw (from the kernel's thread on a control change, or from the training
        thread); one redraw at a time."""
        with self._lock:
            self._last_draw = time.perf_counter()   # redraws start redraw_interval apart
            super().refresh()
            if self.error is None:
                self.error = getattr(self, "_invalid", None)

    # -- training -----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def train(self) -> TrainingRun | None:
        """What the Train button does: start a run with the current settings in a background
        thread and return at once. Does nothing while a run is training. Invalid settings
        are shown as a message and start nothing (returns None)."""
        if self.running:
            return None
        self.message = None
        settings = self.settings()
        try:
            compute_network(settings, self.input_shape, self.num_classes)
        except SettingsError as exc:
            self.message = f"Train: {exc}"
            self.refresh()
            return None
        self._count += 1
        number = self._count
        self._stop = threading.Event()
        self.timings = {"clicked": time.perf_counter(), "first_point": None, "redraws": 0,
                        "points": 0}
        self.train_button.disabled, self.stop_button.disabled = True, False
        self._thread = threading.Thread(target=self._work, args=(settings, number, self._stop),
                                        name=f"hyperparams run #{number}", daemon=True)
        self._thread.start()
        return None

    def _on_point(self, run: TrainingRun, number: int) -> None:
        if self.current is None:
            run.number = number
            self.current = run
        self.timings["points"] += 1
        now = time.perf_counter()
        # redraw every redraw_interval, but spend at most half of the time drawing
        wait = max(self.redraw_interval, 2 * self.redraw_seconds)
        if self.timings["first_point"] is None or now - self._last_draw >= wait:
            self.refresh()
            self.timings["redraws"] += 1
            if self.timings["first_point"] is None:
                self.timings["first_point"] = time.perf_counter() - self.timings["clicked"]

    def _work(self, settings: RunSettings, number: int, stop: threading.Event) -> None:
        try:
            run = compute_training_run(settings, self.data, eval_every=self.eval_every,
                                       num_eval=self.num_eval, stop=stop,
                                       callback=lambda r: self._on_point(r, number))
            run.number = number
            self.runs.append(run)
        except ValueError as exc:   # settings the layers refuse after all
            self.message = f"Train: {exc}"
        except Exception as exc:   # noqa: BLE001 - a bug: say so, without a traceback
            self.message = f"the run failed: {type(exc).__name__}: {exc}"
        finally:
            self.current = None
            self.train_button.disabled, self.stop_button.disabled = False, True
            if self.runs and self.runs[-1].status == "diverged":
                self.message = self.runs[-1].message
            self.timings["seconds"] = time.perf_counter() - self.timings["clicked"]
            self.refresh()

    def stop(self) -> None:
        """What the Stop button does: end the run after the iteration in progress (its
        model and curves are kept, as a run of status "stopped")."""
        self._stop.set()

    def wait(self, timeout: float | None = None) -> TrainingRun | None:
        """Block until the run in progress has ended (for tests and scripts); returns the
        latest finished run."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.runs[-1] if self.runs else None

    def clear(self) -> None:
        """Remove the finished runs (the one training, if any, stays)."""
        self.runs = []
        self.message = None
        self.refresh()

    @property
    def model(self) -> Any:
        """The model of the latest finished run (None before the first)."""
        return self.runs[-1].model if self.runs else None


def hyperparams_widget(data: dict | None = None, *, eval_every: int = 5,
                       redraw_interval: float = 0.2, **settings: Any) -> HyperparamExplorer:
    """The hyperparameter explorer: controls for every :class:`RunSettings` field, Train and
    Stop buttons, live loss and accuracy curves of every run and a table comparing them.

    Inputs:
    - data: a data dict as the Solver takes it (default: the handwritten digits,
      ``cs231n_lib.data.load_digits()``)
    - eval_every: iterations between two points of the accuracy curves
    - redraw_interval: the shortest time between two redraws while training, in seconds
    - settings: starting values, e.g. ``learning_rate=1e-3, update_rule="sgd"``

    Returns a :class:`HyperparamExplorer` (a LiveView).
    """
    if data is None:
        data = load_digits()
    unknown = sorted(set(settings) - {f.name for f in fields(RunSettings)})
    if unknown:
        raise TypeError(f"unknown setting {unknown[0]!r}; the settings are "
                        f"{', '.join(f.name for f in fields(RunSettings))}")
    return HyperparamExplorer(data, replace(RunSettings(), **settings), eval_every=eval_every,
                              redraw_interval=redraw_interval)
