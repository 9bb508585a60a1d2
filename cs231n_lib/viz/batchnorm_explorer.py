"""Batchnorm explorer: how noisy batch statistics are, and what test mode uses instead.

Spatial batch normalization standardizes each channel of a conv layer's output with one mean
and one variance, taken over the batch and every position. In training mode they come from the
batch itself: a different batch, a (slightly) different mean. In test mode the layer uses
running averages that it kept during training::

    running = momentum * running + (1 - momentum) * batch statistic      (after every batch)

The explorer takes the activations of a whole data set (by default the 1,797 handwritten
digits through a fixed, seeded 3x3 conv layer) as the *population*, draws batches from it and
shows

* one batch's values of a channel before normalization, against the population's;
* the same values after the library's :func:`~cs231n_lib.layers.spatial_batchnorm_forward`,
  in train or test mode;
* the mean and variance of many batches of the same size, spread around the population's,
  with the running averages after ``batches_seen`` training batches.

Each image of a batch adds its H*W positions to the statistics, but positions of one image are
alike: the batch mean varies from batch to batch about as ``std(image means) / sqrt(B)``.
"""
from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import ipywidgets as widgets

from ..backend import np, to_host, xp_of
from ..data import load_digits
from ..fast_layers import conv_forward_fast
from ..layers import spatial_batchnorm_forward
from ..validate import check_float_array, check_int
from .common import (FONT, MONO, PALETTE, TABLE_CSS, Drawing, Html, LiveView, escape, figure_png,
                     int_slider, new_figure)

__all__ = ["BatchnormStats", "digit_activations", "draw_batches", "compute_batchnorm_stats",
           "render_batchnorm_stats", "batchnorm_widget", "BATCH_SIZES"]

#: the batch sizes the widget offers (a slider of powers of two)
BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


@lru_cache(maxsize=4)
def digit_activations(channels: int = 6, seed: int = 0) -> Any:
    """The 1,797 digits of :func:`cs231n_lib.data.load_digits` (8x8, values in [0, 1]) through
    a fixed conv layer: ``channels`` random 3x3 filters drawn from ``seed``, each scaled by its
    own gain (0.5 to 4) and given its own bias (-1 to 1), stride 1, padding 1. The channels
    therefore differ in mean and in spread, as those of a real layer do.

    Returns: activations, shape (1797, channels, 8, 8), float64, read-only (cached).
    """

    channels = check_int(channels, "channels", 1)
    data = load_digits(dtype="float64")
    X = np.concatenate([data["X_train"], data["X_val"], data["X_test"]])
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((channels, 1, 3, 3)) / 3
    w *= np.geomspace(0.5, 4.0, channels)[:, None, None, None]
    b = np.linspace(-1.0, 1.0, channels)
    out, _ = conv_forward_fast(X, w, b, {"stride": 1, "pad": 1})
    out.flags.writeable = False
    return out


def draw_batches(N: int, batch_size: int, count: int, seed: Any) -> Any:
    """``count`` batches of ``batch_size`` distinct examples out of ``N`` (a batch never holds
    an example twice; different batches may share some).

    Returns: host int64 indices, shape (count, batch_size).
    """
    rng = np.random.default_rng(seed)
    if count == 0:
        return np.zeros((0, batch_size), dtype=np.int64)
    # a random order of the N examples per batch, of which the first batch_size are taken
    return np.argsort(rng.random((count, N)), axis=1)[:, :batch_size].astype(np.int64)


@dataclass(frozen=True)
class BatchnormStats:
    """One batch through spatial batchnorm, and the statistics around it.

    Arrays of shape (C,) are per channel; arrays live on the device of the activations.

    - ``population_mean/var``: over all N images and positions (what batches estimate)
    - ``batch``, ``out``: the batch shown (B, C, H, W), before and after the library's
      ``spatial_batchnorm_forward`` (gamma 1, beta 0) in ``mode``
    - ``batch_mean/var``: the statistics of that batch
    - ``running_mean/var``: the running averages after ``batches_seen`` training batches
      (starting from 0 and 1, as the library does), which test mode uses
    - ``used_mean/var``: what normalized the batch: the batch's (train) or running (test)
    - ``out_mean/var``: the statistics of ``out`` (0 and about 1 in train mode)
    - ``draw_means/vars``: channel ``channel``'s batch mean and variance over ``draws``
      batches of the same size: how much one batch's statistics vary
    - ``mean_spread``: their standard deviation; ``expected_spread``: what independent images
      give, ``std(image means) / sqrt(B) * sqrt((N - B) / (N - 1))``
    - ``start_weight``: ``momentum ** batches_seen``, the weight the starting values (0 and 1)
      still have in the running averages
    """
    mode: str
    channel: int
    batch_size: int
    momentum: float
    batches_seen: int
    seed: int
    eps: float
    positions: int              # H*W: the numbers one image adds to a channel's statistics
    N: int
    index: Any                  # host indices of the batch shown, shape (B,)
    batch: Any
    out: Any
    population_mean: Any
    population_var: Any
    batch_mean: Any
    batch_var: Any
    running_mean: Any
    running_var: Any
    used_mean: Any
    used_var: Any
    out_mean: Any
    out_var: Any
    draw_means: Any
    draw_vars: Any
    mean_spread: Any
    var_spread: Any
    expected_spread: Any
    start_weight: float
    population_values: Any      # channel ``channel`` of every image: (N, H, W)


def compute_batchnorm_stats(x: Any, batch_size: int = 16, mode: str = "train", channel: int = 0,
                            momentum: float = 0.9, batches_seen: int = 20, seed: int = 0,
                            draws: int = 200, eps: float = 1e-5) -> BatchnormStats:
    """Draw batches from a population of activations and put one through spatial batchnorm.

    Inputs:
    - x: the population, activations of shape (N, C, H, W) (NumPy or device arrays)
    - batch_size: B, images per batch, 1 .. N
    - mode: 'train' (normalize with the batch's statistics) or 'test' (with the running ones)
    - channel: the channel whose values and batch statistics are followed, 0 .. C-1
    - momentum: the library's (cs231n's) momentum, the weight of the old running value
    - batches_seen: training batches that updated the running averages before this one
    - seed: which batches are drawn (batch shown and training batches from ``seed``; the
      draws that measure the spread from an independent stream)
    - draws: how many batches measure the spread of the batch statistics
    - eps: batchnorm's epsilon

    Returns a :class:`BatchnormStats`. The batch shown goes through the library's
    ``spatial_batchnorm_forward``; the running averages follow its update rule batch by batch.
    Raises ``ValueError`` naming the argument for a setting that does not fit.
    """
    check_float_array(x, "x", 4, "(N, C, H, W)")
    N, C, H, W = x.shape
    batch_size = check_int(batch_size, "batch_size", 1)
    if batch_size > N:
        raise ValueError(f"batch_size = {batch_size} is more than the N = {N} images of the "
                         f"population; a batch holds each image at most once")
    if mode not in ("train", "test"):
        raise ValueError(f"mode must be 'train' or 'test', got {mode!r}")
    channel = check_int(channel, "channel", 0)
    if channel >= C:
        raise ValueError(f"channel must be < C = {C}, got {channel}")
    momentum = float(momentum)
    if not 0 <= momentum <= 1:
        raise ValueError(f"momentum must be in [0, 1], got {momentum}")
    batches_seen = check_int(batches_seen, "batches_seen", 0)
    seed = check_int(seed, "seed", 0)
    draws = check_int(draws, "draws", 2)
    xp = xp_of(x)

    # per image and channel: the mean over positions and the mean of the squares. Every image
    # has H*W positions, so a batch's mean is the mean of its images' means (and likewise the
    # mean of the squares), which makes many batches cheap.
    image_mean = x.mean(axis=(2, 3))
    image_sq = (x * x).mean(axis=(2, 3))
    population_mean = x.mean(axis=(0, 2, 3))
    population_var = x.var(axis=(0, 2, 3))

    # the training batches, then the batch shown
    index = draw_batches(N, batch_size, batches_seen + 1, seed)
    running_mean = xp.zeros(C, dtype=x.dtype)
    running_var = xp.ones(C, dtype=x.dtype)
    for rows in index[:-1]:  # the library's update rule, one batch at a time
        rows = xp.asarray(rows)
        mean = image_mean[rows].mean(axis=0)
        var = image_sq[rows].mean(axis=0) - mean * mean
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * var

    shown = index[-1]
    batch = x[xp.asarray(shown)]
    bn_param = {"mode": mode, "momentum": momentum, "eps": eps,
                "running_mean": running_mean.copy(), "running_var": running_var.copy()}
    out, _ = spatial_batchnorm_forward(batch, xp.ones(C, dtype=x.dtype),
                                       xp.zeros(C, dtype=x.dtype), bn_param)
    batch_mean = batch.mean(axis=(0, 2, 3))
    batch_var = batch.var(axis=(0, 2, 3))
    used_mean, used_var = ((batch_mean, batch_var) if mode == "train"
                           else (running_mean, running_var))

    # many batches of the same size: how far one batch's statistics stray
    rows = xp.asarray(draw_batches(N, batch_size, draws, (seed, 1)))
    draw_means = image_mean[rows, channel].mean(axis=1)
    draw_vars = image_sq[rows, channel].mean(axis=1) - draw_means * draw_means
    finite = math.sqrt((N - batch_size) / (N - 1)) if N > 1 else 0.0  # without replacement
    expected_spread = image_mean[:, channel].std() * (finite / math.sqrt(batch_size))

    return BatchnormStats(
        mode, channel, batch_size, momentum, batches_seen, seed, float(eps), H * W, N, shown,
        batch, out, population_mean, population_var, batch_mean, batch_var, running_mean,
        running_var, used_mean, used_var, out.mean(axis=(0, 2, 3)), out.var(axis=(0, 2, 3)),
        draw_means, draw_vars, draw_means.std(), draw_vars.std(), expected_spread,
        momentum ** batches_seen, x[:, channel])


# --------------------------------------------------------------------------------------------
# Rendering: three small plots and a table of the per-channel statistics
# --------------------------------------------------------------------------------------------
def _num(v: Any) -> str:
    """3 significant digits; rounding noise around 0 (a normalized mean, 1e-16) reads 0."""
    v = float(v)
    return "0" if abs(v) < 1e-9 else f"{v:.3g}"


def _figure(s: BatchnormStats, h: dict) -> Any:
    c = s.channel
    fig = new_figure(9.6, 2.7)
    ax_before, ax_after, ax_draws = fig.subplots(1, 3)
    population, values, out = h["population_values"].ravel(), h["batch"][:, c].ravel(), h["out"][:, c].ravel()

    bins = np.linspace(population.min(), population.max(), 41)
    # "stepfilled": one polygon per histogram, much faster to draw than a bar per bin
    ax_before.hist(population, bins=bins, density=True, histtype="stepfilled",
                   color=PALETTE["pad_light"], edgecolor=PALETTE["pad"], linewidth=0.5,
                   label=f"all {s.N} images")
    ax_before.hist(values, bins=bins, density=True, histtype="step", color=PALETTE["input"],
                   linewidth=1.5, label=f"this batch ({s.batch_size})")
    ax_before.axvline(float(h["population_mean"][c]), color=PALETTE["pad"], linestyle="--")
    ax_before.axvline(float(h["used_mean"][c]), color=PALETTE["highlight"], linewidth=1.5,
                      label="mean used")
    ax_before.set_title(f"channel {c} before", fontsize=10)
    ax_before.legend(fontsize=7, loc="upper right")

    lo, hi = min(-4.0, float(out.min())), max(4.0, float(out.max()))
    ax_after.hist(out, bins=np.linspace(lo, hi, 41), density=True, histtype="stepfilled",
                  color=PALETTE["output_light"], edgecolor=PALETTE["output"], linewidth=0.5)
    grid = np.linspace(lo, hi, 200)
    ax_after.plot(grid, np.exp(-grid ** 2 / 2) / np.sqrt(2 * np.pi), color=PALETTE["muted"],
                  linestyle="--", linewidth=1)
    used = "batch statistics" if s.mode == "train" else "running averages"
    ax_after.set_title(f"after, {s.mode} mode ({used})", fontsize=10)

    ax_draws.scatter(h["draw_means"], h["draw_vars"], s=6, color=PALETTE["input"], alpha=0.4,
                     label=f"{len(h['draw_means'])} batches of {s.batch_size}")
    ax_draws.scatter([float(h["population_mean"][c])], [float(h["population_var"][c])], marker="*",
                     s=120, color=PALETTE["text"], label="population", zorder=3)
    ax_draws.scatter([float(h["batch_mean"][c])], [float(h["batch_var"][c])], marker="o", s=40,
                     color=PALETTE["highlight"], label="this batch", zorder=3)
    ax_draws.scatter([float(h["running_mean"][c])], [float(h["running_var"][c])], marker="D",
                     s=40, color=PALETTE["output"], label=f"running ({s.batches_seen} batches)",
                     zorder=3)
    ax_draws.set_title("batch mean and variance", fontsize=10)
    ax_draws.set_xlabel("mean", fontsize=8)
    ax_draws.set_ylabel("variance", fontsize=8)
    ax_draws.legend(fontsize=7, loc="upper left")
    for ax in (ax_before, ax_after, ax_draws):
        ax.tick_params(labelsize=7)
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.17, top=0.9, wspace=0.25)
    return fig


def _table(s: BatchnormStats, h: dict) -> str:
    head = ("channel", "population mean", "var", "this batch mean", "var", "running mean", "var",
            "after mean", "after var")
    cells = "".join(f'<th style="padding:2px 8px;text-align:right;">{escape(t)}</th>' for t in head)
    rows = [f"<tr>{cells}</tr>"]
    for c in range(len(h["population_mean"])):
        style = (f"background:{PALETTE['highlight_light']};font-weight:bold;" if c == s.channel
                 else "background:#ffffff;")
        numbers = [h[k][c] for k in ("population_mean", "population_var", "batch_mean",
                                     "batch_var", "running_mean", "running_var", "out_mean",
                                     "out_var")]
        tds = "".join(f'<td style="padding:2px 8px;text-align:right;{style}">{_num(v)}</td>'
                      for v in numbers)
        rows.append(f'<tr><td style="padding:2px 8px;text-align:right;{style}">{c}</td>{tds}</tr>')
    return f'<table style="{TABLE_CSS}{MONO}font-size:11px;">{"".join(rows)}</table>'


def _sentences(s: BatchnormStats, h: dict) -> list[str]:
    c, B = s.channel, s.batch_size
    numbers = B * s.positions
    if s.mode == "train":
        used = (f"train mode: channel {c} is standardized with this batch's own mean "
                f"{_num(h['batch_mean'][c])} and variance {_num(h['batch_var'][c])}, over "
                f"{B} images x {s.positions} positions = {numbers} numbers")
    else:
        used = (f"test mode: channel {c} is standardized with the running averages, mean "
                f"{_num(h['running_mean'][c])} and variance {_num(h['running_var'][c])}, "
                f"not with this batch's")
    spread = (f"over {len(h['draw_means'])} batches of {B} images the batch mean of channel {c} "
              f"varies with std {_num(h['mean_spread'])} around the population mean "
              f"{_num(h['population_mean'][c])} (independent images would give "
              f"{_num(h['expected_spread'])}); the batch variance with std {_num(h['var_spread'])}")
    running = (f"running averages after {s.batches_seen} batches with momentum {s.momentum:g}: "
               f"the starting values (mean 0, variance 1) still weigh {s.momentum:g}^"
               f"{s.batches_seen} = {s.start_weight:.3g}")
    return [used, spread, running]


def render_batchnorm_stats(s: BatchnormStats) -> Html:
    """HTML: what normalized the batch, three plots (the channel before and after
    normalization, the spread of batch statistics), and a table of every channel's
    statistics with the followed channel highlighted."""
    keys = ("population_values", "batch", "out", "population_mean", "population_var",
            "batch_mean", "batch_var", "running_mean", "running_var", "used_mean", "used_var",
            "out_mean", "out_var", "draw_means", "draw_vars", "mean_spread", "var_spread",
            "expected_spread")
    h = dict(zip(keys, to_host(tuple(getattr(s, k) for k in keys))))
    png = base64.b64encode(figure_png(_figure(s, h))).decode("ascii")
    lines = "".join(f"<div>{escape(t)}.</div>" for t in _sentences(s, h))
    return Html(f'<div style="{FONT}"><div style="{MONO}font-size:12px;margin-bottom:6px;">'
                f'{lines}</div><img src="data:image/png;base64,{png}" alt="batchnorm statistics">'
                f'{_table(s, h)}</div>')


# --------------------------------------------------------------------------------------------
# The widget
# --------------------------------------------------------------------------------------------
def batchnorm_widget(activations: Any = None, batch_size: int = 16, mode: str = "train",
                     channel: int = 0, momentum: float = 0.9, batches_seen: int = 20,
                     seed: int = 0) -> LiveView:
    """Batch size, mode, channel, momentum, training batches seen and seed, over the digits'
    activations (or ``activations`` (N, C, H, W) of your own)."""
    x = digit_activations() if activations is None else activations
    C = x.shape[1]
    if batch_size not in BATCH_SIZES:
        raise ValueError(f"batch_size must be one of {BATCH_SIZES}, got {batch_size}")
    controls = {
        "batch_size": widgets.SelectionSlider(
            options=list(BATCH_SIZES), value=batch_size, description="batch size B",
            continuous_update=False, layout=widgets.Layout(width="300px"),
            style={"description_width": "initial"}),
        "mode": widgets.ToggleButtons(options=["train", "test"], value=mode, description="mode",
                                      style={"button_width": "60px"}),
        "channel": int_slider("channel", channel, 0, C - 1),
        "momentum": widgets.FloatSlider(value=momentum, min=0.0, max=1.0, step=0.01,
                                        description="momentum", continuous_update=False,
                                        layout=widgets.Layout(width="260px"),
                                        style={"description_width": "initial"}),
        "batches_seen": int_slider("training batches seen", batches_seen, 0, 200, width="300px"),
        "seed": int_slider("seed", seed, 0, 9),
    }

    def view(batch_size: int, mode: str, channel: int, momentum: float, batches_seen: int,
             seed: int) -> Drawing:
        s = compute_batchnorm_stats(x, batch_size, mode, channel, momentum, batches_seen, seed)
        c = s.channel
        mean, var = to_host((s.used_mean[c], s.used_var[c]))
        return Drawing(s, render_batchnorm_stats(s),
                       f"{mode} mode, B={batch_size}: channel {c} normalized with mean "
                       f"{_num(mean)}, variance {_num(var)}; batch means spread "
                       f"{_num(to_host(s.mean_spread))}")

    return LiveView("Batch normalization: batch statistics and running averages", controls, view,
                    rows=[["batch_size", "mode", "channel"], ["momentum", "batches_seen", "seed"]],
                    name="batchnorm_widget")
