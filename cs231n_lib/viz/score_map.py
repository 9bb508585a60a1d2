"""Score map explorer: a ConvNet trained on small images, slid over a larger one in one pass.

A network trained on 8x8 digits ends in FC layers, so it accepts nothing but 8x8 images.
Written as convolutions (:func:`cs231n_lib.models.convert_network`: the same weights, folded
into filters), it accepts a larger canvas and returns a *score map*: for every class, one
score per 8x8 crop, the crops ``stride`` pixels apart (the product of the network's strides,
2 for the digits net below). Cell ``(row, col)`` of the map belongs to the crop whose top-left
corner is at pixel ``(row * stride, col * stride)``.

The explorer puts one crop under a slider: it cuts the crop out of the canvas, runs the
original network on it alone and shows that its scores are the map's cell, to float rounding.
That equality holds because the digits net never pads: a padded conv would see zeros around
the lone crop where the canvas has pixels (see :mod:`cs231n_lib.models.convert`).

- :func:`train_digits_net` trains the small net in about a second; :func:`default_model` is
  that net, trained once and cached (for tests and benchmarks; the notebook passes its own);
- :func:`digit_canvas` places real test digits on an empty canvas, seeded;
- :func:`compute_score_map`, :func:`render_score_map`, :func:`score_map_widget`: the three
  layers of the explorer.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

import ipywidgets as widgets

from ..backend import np, to_host, xp_of
from ..data import load_digits
from ..models import network_stride
from ..models.convert import score_map
from ..models.sequential import Sequential
from ..solver import Solver
from ..validate import check_float_array, check_int
from .common import (FONT, HIGHLIGHT_CSS, MONO, PALETTE, SIGNED_CMAP, TABLE_CSS, TD_CSS, Drawing,
                     Html, LiveView, as_rgb8, colorize, escape, hex_rgb, img_html, int_slider)

__all__ = ["DIGITS_NET", "DIGITS_NET_OPTIONS", "train_digits_net", "default_model",
           "digit_canvas", "default_canvas", "ScoreMapView", "compute_score_map",
           "render_score_map", "score_map_widget"]

#: the explorer's default network: VGG-like ([CONV -> RELU]*2 -> POOL -> FC -> RELU -> FC) and
#: unpadded, so that its score map equals per-crop evaluation exactly. On 8x8 digits the FC
#: layer sees a 2x2x32 volume (it becomes a 2x2 conv); the network's stride is 2.
DIGITS_NET = "INPUT(1, 8, 8) -> [CONV(F=3, P=0) -> RELU]*2 -> POOL2 -> FC -> RELU -> FC"
DIGITS_NET_OPTIONS = {"filters": [16, 32], "hidden": 64, "num_classes": 10}


def train_digits_net(data: dict | None = None, num_epochs: int = 5, seed: int = 0) -> Sequential:
    """:data:`DIGITS_NET` trained with Adam on scikit-learn's digits (about a second on a CPU;
    about 95% test accuracy).

    Inputs:
    - data: a data dict of :func:`cs231n_lib.data.load_digits` (default: that function's)
    - num_epochs: passes over the 1,257 training digits
    - seed: seeds the initial weights and the order of the examples

    Returns the trained :class:`Sequential` (float32).
    """
    data = load_digits() if data is None else data
    model = Sequential(DIGITS_NET, seed=seed, **DIGITS_NET_OPTIONS)
    Solver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-2},
           batch_size=50, num_epochs=num_epochs, verbose=False, progress=False,
           seed=seed).train()
    return model


@lru_cache(maxsize=1)
def default_model() -> Sequential:
    """:func:`train_digits_net` with its defaults, trained on first use and then cached."""
    return train_digits_net()


def digit_canvas(images: Any, labels: Any, height: int = 32, width: int = 32,
                 n_digits: int = 5, stride: int = 2, seed: int = 0
                 ) -> tuple[Any, list[tuple[int, int, int]]]:
    """An empty canvas with ``n_digits`` real digits pasted on it, none overlapping another.

    Inputs:
    - images: digits, shape (N, C, h, w), e.g. ``load_digits()["X_test"]``; labels: (N,)
    - height, width: the canvas size
    - n_digits: how many digits to place (drawn without repetition from ``images``)
    - stride: every digit's top-left corner is a multiple of ``stride``, so that each digit is
      exactly one crop of a score map of that stride
    - seed: which digits, and where

    Returns a tuple of:
    - canvas: shape (C, height, width), the dtype of ``images``, zero where no digit is
    - placements: one ``(top, left, label)`` per digit, in the order they were placed
    """
    check_float_array(images, "images", 4, "(N, C, h, w)")
    images, labels = to_host(images), to_host(labels)
    N, C, h, w = images.shape
    if len(labels) != N:
        raise ValueError(f"labels has {len(labels)} entries for {N} images")
    height, width = check_int(height, "height", h), check_int(width, "width", w)
    n_digits = check_int(n_digits, "n_digits", 0)
    stride = check_int(stride, "stride", 1)
    if n_digits > N:
        raise ValueError(f"n_digits={n_digits} is more than the {N} images given")
    rng = np.random.default_rng(seed)
    picks = rng.choice(N, size=n_digits, replace=False)
    spots = [(t, l) for t in range(0, height - h + 1, stride)
             for l in range(0, width - w + 1, stride)]
    canvas = np.zeros((C, height, width), dtype=images.dtype)
    placements: list[tuple[int, int, int]] = []
    for k in rng.permutation(len(spots)):
        if len(placements) == n_digits:
            break
        t, l = spots[k]
        # boxes [t, t+h) x [l, l+w) that share no pixel with a placed one
        if all(t + h <= t2 or t2 + h <= t or l + w <= l2 or l2 + w <= l
               for t2, l2, _ in placements):
            index = picks[len(placements)]
            canvas[:, t:t + h, l:l + w] = images[index]
            placements.append((t, l, int(labels[index])))
    if len(placements) < n_digits:
        raise ValueError(f"only {len(placements)} of n_digits={n_digits} digits of {h}x{w} fit "
                         f"on a {height}x{width} canvas without overlapping; use fewer digits "
                         "or a larger canvas")
    return canvas, placements


@lru_cache(maxsize=1)
def _default_canvas() -> tuple[Any, tuple[tuple[int, int, int], ...]]:
    digits = load_digits()
    canvas, placements = digit_canvas(digits["X_test"], digits["y_test"])
    return canvas, tuple(placements)


def default_canvas() -> tuple[Any, list[tuple[int, int, int]]]:
    """The explorer's default canvas: five test digits on 32x32 (seed 0), and their
    placements; a fresh copy each call."""
    canvas, placements = _default_canvas()
    return canvas.copy(), list(placements)


# --------------------------------------------------------------------------------------------
# Compute
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScoreMapView:
    """One crop of the canvas beside the score map of the whole canvas.

    Arrays live where the canvas lives (NumPy or CuPy); shapes: ``canvas`` (C, H, W),
    ``scores`` (M, n_h, n_w), ``crop`` (C, H0, W0), ``crop_scores`` and ``cell_scores`` (M,).
    ``crop_scores`` come from running the network on the crop alone, ``cell_scores`` are
    ``scores[:, row, col]``; they agree to float rounding.
    """
    canvas: Any
    scores: Any
    stride: tuple[int, int]
    trained_size: tuple[int, int]
    row: int
    col: int
    top: int
    left: int
    crop: Any
    crop_scores: Any
    cell_scores: Any


def compute_score_map(model: Sequential, canvas: Any, row: int = 0, col: int = 0,
                      scores: Any = None) -> ScoreMapView:
    """The score map of ``canvas`` and the scores of the crop at map cell ``(row, col)``.

    Inputs:
    - model: a trained network ending in FC layers (or already converted); its FC layers are
      converted to convolutions for the map, never retrained
    - canvas: one image, shape (C, H, W) (or (1, C, H, W)), at least the trained size; sizes
      that fit are the trained size plus a multiple of the network's stride
    - row, col: the crop's position on the map's grid: top-left pixel
      ``(row * stride, col * stride)``
    - scores: the map of this canvas if already computed, shape (M, n_h, n_w) (a widget
      computes it once, then moves the crop)

    Returns a :class:`ScoreMapView`. Raises ``ValueError`` (with the arithmetic) for a canvas
    that does not fit or a cell outside the map.
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"model must be a Sequential (a trained network), got "
                        f"{type(model).__name__}")
    if getattr(canvas, "ndim", None) == 4 and canvas.shape[0] == 1:
        canvas = canvas[0]
    check_float_array(canvas, "canvas", 3, "(C, H, W)")
    canvas = canvas.astype(model.dtype, copy=False)
    if scores is None:
        scores = score_map(model, canvas[None])[0]  # one forward pass of the converted net
    sh, sw = network_stride(model.spec)
    H0, W0 = model.input_shape[1:]
    (_, H, W), (_, n_h, n_w) = canvas.shape, scores.shape
    row, col = check_int(row, "row", 0), check_int(col, "col", 0)
    for name, value, n, size, trained, step in (("row", row, n_h, H, H0, sh),
                                                ("col", col, n_w, W, W0, sw)):
        if value >= n:
            raise ValueError(f"{name} must be < ({size} - {trained})/{step} + 1 = {n}, the "
                             f"crops the map has along that axis, got {value}")
    top, left = row * sh, col * sw
    crop = canvas[:, top:top + H0, left:left + W0]
    # the network on this crop alone: (1, M) for the original net, (1, M, 1, 1) if converted
    crop_scores = model.loss(crop[None]).reshape(-1)
    xp = xp_of(scores)
    return ScoreMapView(canvas, scores, (sh, sw), (H0, W0), row, col, top, left, crop,
                        crop_scores, xp.ascontiguousarray(scores[:, row, col]))


# --------------------------------------------------------------------------------------------
# Render: the canvas with the crop, the map of one class with the cell, every class's map,
# and the crop's scores beside the cell's
# --------------------------------------------------------------------------------------------
def _picture(image: Any) -> Any:
    """(C, H, W) as (H, W, 3) uint8; values outside [0, 1] are scaled into it."""
    lo, hi = float(image.min()), float(image.max())
    if lo < 0 or hi > 1:
        image = (image - lo) / (hi - lo) if hi > lo else image * 0
    return as_rgb8(image if image.shape[0] in (1, 3) else image[:1])


def _enlarge(rgb: Any, scale: int) -> Any:
    return np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)


def _outline(rgb: Any, top: int, left: int, height: int, width: int, colour: str,
             thickness: int = 2) -> Any:
    """Draw a rectangle's border (inside the box) onto a copy of an (H, W, 3) picture."""
    out = rgb.copy()
    c = np.array(hex_rgb(colour), dtype=np.uint8)
    b, r = top + height, left + width
    out[top:top + thickness, left:r] = c
    out[b - thickness:b, left:r] = c
    out[top:b, left:left + thickness] = c
    out[top:b, r - thickness:r] = c
    return out


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def render_score_map(v: ScoreMapView, class_index: int | None = None,
                     class_names: Sequence[str] | None = None, scale: int = 8) -> Html:
    """HTML: the canvas with the crop outlined, the score map of ``class_index`` (default: the
    crop's top class) with the cell outlined, the maps of every class, and a table of the
    crop's scores beside the cell's.

    The map is drawn with cells of ``scale * stride`` pixels, so each cell sits under the
    top-left corner of its crop in the canvas drawn at ``scale``. All maps share one colour
    scale (red positive, blue negative).
    """
    canvas, scores, crop, crop_scores, cell_scores = to_host(
        (v.canvas, v.scores, v.crop, v.crop_scores, v.cell_scores))
    M, n_h, n_w = scores.shape
    names = [str(k) for k in range(M)] if class_names is None else [str(n) for n in class_names]
    if len(names) != M:
        raise ValueError(f"class_names has {len(names)} names for {M} classes")
    top_class = int(np.argmax(crop_scores))
    k = top_class if class_index is None else check_int(class_index, "class_index", 0)
    if k >= M:
        raise ValueError(f"class_index must be < {M} (the number of classes), got {k}")
    (sh, sw), (H0, W0) = v.stride, v.trained_size
    differences = np.abs(crop_scores.astype(np.float64) - cell_scores)
    # one colour scale for every map, saturating at the 99th percentile of |score| (a few
    # extreme cells would otherwise wash out the rest)
    limit = float(np.percentile(np.abs(scores), 99)) or 1.0

    picture = _outline(_enlarge(_picture(canvas), scale), v.top * scale, v.left * scale,
                       H0 * scale, W0 * scale, PALETTE["highlight"])
    canvas_html = img_html(picture, 1, f"canvas {canvas.shape[1]}x{canvas.shape[2]}, crop "
                                       f"{H0}x{W0} at pixel ({v.top}, {v.left})")
    crop_html = img_html(_picture(crop), scale, f"the crop alone, {H0}x{W0}")

    def map_picture(c: int, cell_h: int, cell_w: int) -> Any:
        rgb = colorize(scores[c], SIGNED_CMAP, -limit, limit)
        rgb = np.repeat(np.repeat(rgb, cell_h, axis=0), cell_w, axis=1)
        return _outline(rgb, v.row * cell_h, v.col * cell_w, cell_h, cell_w, PALETTE["highlight"],
                        thickness=max(1, min(cell_h, cell_w) // 4))

    big = img_html(map_picture(k, scale * sh, scale * sw), 1,
                   f"score map of class {names[k]}: {n_h}x{n_w}, cell ({v.row}, {v.col})")
    small_cell = max(2, 80 // max(n_h, n_w))
    smalls = "".join(
        img_html(map_picture(c, small_cell, small_cell), 1, f"class {names[c]}",
                 style=f"outline:2px solid {PALETTE['highlight']};" if c == k else "")
        for c in range(M))

    rows = []
    for c in range(M):
        css = HIGHLIGHT_CSS if c == k else ""
        weight = "font-weight:bold;" if c == top_class else ""
        rows.append(f'<tr style="{weight}"><td style="{TD_CSS}{css}padding:0 6px;">{escape(names[c])}'
                    f'</td>' + "".join(f'<td style="{TD_CSS}{css}text-align:right;padding:0 6px;">'
                                       f'{text}</td>' for text in
                                       (_fmt(crop_scores[c]), _fmt(cell_scores[c]),
                                        f"{differences[c]:.1e}")) + "</tr>")
    head = "".join(f'<th style="{TD_CSS}padding:0 6px;">{h}</th>' for h in
                   ("class", "crop alone", "map cell", "|difference|"))
    table = (f'<table style="{TABLE_CSS}{MONO}font-size:12px;"><tr>{head}</tr>{"".join(rows)}'
             f'</table>')

    lines = [f"crop at map cell (row {v.row}, col {v.col}) = canvas pixels "
             f"[{v.top}:{v.top + H0}, {v.left}:{v.left + W0}] (stride {sh}: top = {v.row}*{sh}, "
             f"left = {v.col}*{sw})",
             f"class {names[k]}: crop alone {_fmt(crop_scores[k])}, map cell "
             f"{_fmt(cell_scores[k])}; the {M} scores differ by at most "
             f"{float(differences.max()):.1e}; top class of the crop: {names[top_class]}"]
    return Html(f'<div style="{FONT}">'
                f'<div style="{MONO}font-size:12px;margin-bottom:6px;">'
                f'{"<br>".join(escape(line) for line in lines)}</div>'
                f'<table style="{TABLE_CSS}"><tr>'
                f'<td style="{TD_CSS}padding-right:12px;">{canvas_html}</td>'
                f'<td style="{TD_CSS}padding-right:12px;">{big}</td>'
                f'<td style="{TD_CSS}">{crop_html}<br>{table}</td></tr></table>'
                f'<div style="color:{PALETTE["muted"]};margin-top:4px;">every class\'s map (one '
                f'colour scale: red positive, blue negative, full colour at ±{limit:.3g}):</div>'
                f'{smalls}</div>')


# --------------------------------------------------------------------------------------------
# Widget
# --------------------------------------------------------------------------------------------
def score_map_widget(model: Sequential | None = None, canvas: Any = None, row: int | None = None,
                     col: int | None = None, class_index: int | None = None,
                     class_names: Sequence[str] | None = None,
                     placements: Sequence[tuple[int, int, int]] | None = None) -> LiveView:
    """Sliders for a crop's position on the map's grid (``row``, ``col``) and a menu of
    classes (``class_index``), over the score map of ``canvas`` by ``model``.

    Inputs:
    - model: the trained network (default: :func:`default_model`, trained once, cached)
    - canvas: (C, H, W) (default: :func:`default_canvas`, five test digits on 32x32)
    - row, col, class_index: where to start (default: the first of the ``placements`` and its
      label; cell (0, 0) and its top class when there are none)
    - class_names: labels of the classes (default: 0, 1, ...)
    - placements: the ``(top, left, label)`` of the digits on ``canvas``, as
      :func:`digit_canvas` returns them (with the default canvas: its own)

    The map is computed once; moving the crop runs the network on one crop.
    """
    if model is None:
        model = default_model()
    if canvas is None:
        canvas, placements = default_canvas()
    placements = list(placements or [])
    sh, sw = network_stride(model.spec)
    problem: Exception | None = None
    try:
        scores = compute_score_map(model, canvas).scores
        M, n_h, n_w = scores.shape
    except ValueError as exc:  # a canvas that does not fit: the view says why
        scores, problem, M, n_h, n_w = None, exc, model.num_classes, 1, 1
    if placements and row is None and col is None:
        top, left, label = placements[0]
        row, col = top // sh, left // sw
        class_index = label if class_index is None else class_index
    row = min(0 if row is None else row, n_h - 1)
    col = min(0 if col is None else col, n_w - 1)
    if class_index is None:
        class_index = (0 if scores is None else
                       int(np.argmax(to_host(compute_score_map(model, canvas, row, col,
                                                            scores).crop_scores))))
    names = [str(k) for k in range(M)] if class_names is None else list(class_names)
    controls = {
        "row": int_slider("crop row (map grid)", row, 0, n_h - 1),
        "col": int_slider("crop col (map grid)", col, 0, n_w - 1),
        "class_index": widgets.Dropdown(options=[(f"class {n}", c) for c, n in enumerate(names)],
                                        value=class_index, description="class",
                                        layout=widgets.Layout(width="180px")),
    }

    def view(row: int, col: int, class_index: int) -> Drawing:
        if problem is not None:
            raise ValueError(str(problem))
        v = compute_score_map(model, canvas, row, col, scores)
        crop_scores, cell_scores = to_host((v.crop_scores, v.cell_scores))
        diff = float(np.abs(crop_scores.astype(np.float64) - cell_scores).max())
        top = int(np.argmax(crop_scores))
        return Drawing(v, render_score_map(v, class_index, names),
                       f"cell ({row}, {col}) = crop at pixel ({v.top}, {v.left}): class "
                       f"{names[class_index]} scores {_fmt(crop_scores[class_index])} alone, "
                       f"{_fmt(cell_scores[class_index])} in the map (all {len(names)} classes "
                       f"within {diff:.1e}); top class {names[top]}")

    return LiveView("Score map: one pass over the canvas, one crop at a time", controls, view,
                    rows=[["row", "col", "class_index"]], name="score_map_widget")
