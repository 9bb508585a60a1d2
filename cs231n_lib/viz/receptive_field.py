"""Receptive-field viewer: which pixels of a photograph one neuron deep in a stack can see.

A neuron after one conv layer sees an ``F x F`` window of the image (``F_eff x F_eff`` with
dilation). A neuron after two layers sees the windows of all the first-layer neurons it reads,
so its field grows by ``(F_eff - 1) * jump`` per layer, where ``jump`` is the product of the
strides below (how far apart neighbouring neurons of that layer look). Three stacked 3x3 layers
reach 7x7, like one 7x7 layer, with fewer weights (27 C^2 against 49 C^2).

Not every pixel of the field counts the same: the number of paths from a pixel up to the
neuron (through every intermediate neuron) is largest in the centre. :func:`compute_receptive_field`
counts those paths; the count map is exactly the gradient of the neuron with respect to the
image when all weights are 1 (the tests check this against the reference conv layer).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Sequence

import ipywidgets as widgets

from ..backend import np, to_host
from ..geometry import (ConvGeometryError, ReceptiveField, conv_output_size,
                        receptive_fields)
from ..validate import check_int
from ..windows import add_windows, unpad_spatial
from .common import (COUNT_CMAP, FONT, PALETTE, Drawing, Html, LiveView, as_rgb8, colorize, escape,
                     hex_rgb, img_html, int_slider, new_figure)

__all__ = [
    "PRESETS", "parse_layers", "format_layers", "padding_note", "fitting_image_size",
    "ReceptiveFieldView", "compute_receptive_field", "render_receptive_field", "render_profiles",
    "receptive_field_widget",
]

#: stacks to start from: the notes' examples and two real first layers
PRESETS = {
    "one 3x3": "3x3",
    "two 3x3 (5x5 view)": "3x3, 3x3",
    "three 3x3 (7x7 view)": "3x3, 3x3, 3x3",
    "one 7x7": "7x7",
    "3x3 dilated 1, 2, 4": "3x3, 3x3 d2, 3x3 d4",
    "3x3 stride 2, three times": "3x3 s2, 3x3 s2, 3x3 s2",
    "AlexNet conv1 + pool": "11x11 s4 p0, 3x3 s2 p0",
    "VGG: two blocks": "3x3, 3x3, 2x2 s2, 3x3, 3x3, 2x2 s2",
}

_TOKEN = re.compile(r"^\s*(\d+)\s*x\s*(\d+)((?:\s+[sdp]\d+)*)\s*$")
_OPTIONS = {"s": "stride", "d": "dilation", "p": "padding"}


def _read_layer(i: int, part: str) -> tuple[dict[str, int], bool]:
    """Layer ``i`` (0-based) of the text form: its dict, and whether its padding was typed."""
    m = _TOKEN.match(part)
    if not m:
        raise ValueError(f"layers: cannot read layer {i + 1} {part.strip()!r}; write it as "
                         "FxF with optional s<stride> d<dilation> p<padding>, e.g. '3x3 s2'")
    FH, FW = int(m.group(1)), int(m.group(2))
    if FH != FW or FH < 1:
        raise ValueError(f"layers: layer {i + 1} {part.strip()!r} must be a square filter of size "
                         "at least 1 (this viewer draws square fields)")
    given = re.findall(r"([sdp])(\d+)", m.group(3) or "")
    for key, name in _OPTIONS.items():
        values = [f"{k}{v}" for k, v in given if k == key]
        if len(values) > 1:
            raise ValueError(f"layers: layer {i + 1} {part.strip()!r} gives the {name} more than "
                             f"once ({', '.join(values)}); write each of s, d, p at most once")
    opts = {k: int(v) for k, v in given}
    S, D = opts.get("s", 1), opts.get("d", 1)
    if S < 1 or D < 1:
        raise ValueError(f"layers: layer {i + 1} {part.strip()!r}: stride and dilation must be >= 1")
    return {"F": FH, "S": S, "P": opts.get("p", D * (FH - 1) // 2), "dilation": D}, "p" in opts


def _read_layers(text: str) -> list[tuple[dict[str, int], bool]]:
    """Every layer of the text form, with whether its padding was typed."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("layers: write at least one layer, e.g. '3x3, 3x3 s2, 3x3 d2'")
    return [_read_layer(i, part) for i, part in enumerate(text.split(","))]


def parse_layers(text: str) -> list[dict[str, int]]:
    """Read a stack written as ``"3x3, 3x3 d2, 11x11 s4 p0"``: one ``FxF`` per layer, then
    optional ``s`` (stride, default 1), ``d`` (dilation, default 1), ``p`` (padding; default
    half the dilated span, ``d*(F - 1)//2``, which keeps a stride-1 layer's size), each at
    most once.

    Returns a list of dicts with keys F, S, P, dilation (the form :mod:`cs231n_lib.geometry`
    takes). Raises ``ValueError`` naming the part it cannot read.
    """
    return [layer for layer, _ in _read_layers(text)]


def format_layers(layers: Sequence[dict[str, int]], explicit_padding: bool = False) -> str:
    """The inverse of :func:`parse_layers` (options left out where they are the defaults;
    with ``explicit_padding`` every layer's padding is written)."""
    parts = []
    for layer in layers:
        F, S, P, D = layer["F"], layer.get("S", 1), layer.get("P", 0), layer.get("dilation", 1)
        text = f"{F}x{F}" + (f" s{S}" if S != 1 else "") + (f" d{D}" if D != 1 else "")
        parts.append(text + (f" p{P}" if explicit_padding or P != D * (F - 1) // 2 else ""))
    return ", ".join(parts)


def padding_note(text: str) -> str:
    """For a typed stack, which layers got the default padding and how much ('' when every
    layer's padding was typed), e.g. for ``"3x3, 5x5 p0"``: "layer 1 has no p: it gets
    p = d*(F - 1)//2 = 1, the padding that keeps the size at stride 1 (read as 3x3 p1, 5x5 p0)"."""
    read = _read_layers(text)
    untyped = [(i, layer) for i, (layer, typed) in enumerate(read) if not typed]
    if not untyped:
        return ""
    which = ", ".join(f"{i + 1}" for i, _ in untyped)
    amounts = ", ".join(f"{layer['P']}" for _, layer in untyped)
    subject = f"layer {which} has" if len(untyped) == 1 else f"layers {which} have"
    stack = format_layers([layer for layer, _ in read], explicit_padding=True)
    return (f"{subject} no p: {'it gets' if len(untyped) == 1 else 'they get'} p = d*(F - 1)//2 "
            f"= {amounts}, the padding that keeps the size at stride 1 (read as {stack})")


def _sizes(layers: Sequence[dict[str, int]], n: int) -> list[int]:
    """Size of each layer's output for an ``n``-pixel input (raises when one does not fit)."""
    sizes = []
    for i, layer in enumerate(layers):
        try:
            n = conv_output_size(n, layer["F"], layer["S"], layer["P"], layer["dilation"])
        except ConvGeometryError as exc:
            raise ConvGeometryError(f"layer {i + 1} ({format_layers([layer])}) on a {n}-pixel "
                                    f"input: {exc}") from None
        sizes.append(n)
    return sizes


def fitting_image_size(layers: Sequence[dict[str, int]], near: int = 128, search: int = 256) -> int:
    """The smallest image size ``>= near`` for which every layer of the stack fits exactly
    (strides must divide what is left of the input at every layer)."""
    for n in range(near, near + search):
        try:
            _sizes(layers, n)
            return n
        except ConvGeometryError:
            continue
    _sizes(layers, near)  # raises with the arithmetic of the first layer that does not fit
    raise ValueError(f"layers: no image size between {near} and {near + search} fits every layer")


@dataclass(frozen=True)
class ReceptiveFieldView:
    """What one neuron at each depth of a stack sees, on an ``H x W`` image.

    For layer ``l`` (0-based) of ``L``: ``sizes[l]`` its output size, ``fields[l]`` the
    receptive field (size and jump) from the geometry, ``neurons[l]`` the (row, col) of the
    neuron looked at, ``boxes[l]`` the image rows and columns it sees (first, last, clipped to
    the image), ``counts[l]`` (H, W) the number of paths from each pixel to that neuron.

    The top neuron is the one whose field is centred closest to ``point``; each neuron below
    it is one of those that feed it, the one at the centre of what it reads, so every box lies
    inside the top one and, for odd filters, shares its centre (see :func:`_looked_at`).
    """
    layers: list[dict[str, int]]
    image_size: tuple[int, int]
    point: tuple[int, int]
    sizes: list[int]
    fields: list[ReceptiveField]
    neurons: list[tuple[int, int]]
    boxes: list[tuple[int, int, int, int]]
    counts: list[Any]

    @property
    def top_size(self) -> int:
        """Receptive field of the top layer (pixels, one axis; before clipping to the image)."""
        return self.fields[-1].size


def _back_project(counts: Any, layer: dict[str, int], n_in: tuple[int, int]) -> Any:
    """Path counts at a layer's input from path counts at its output: every output neuron
    hands its count to each of its ``F x F`` taps (the transpose of the convolution with an
    all-ones filter, :func:`cs231n_lib.windows.add_windows`). Taps that land in the zero
    padding are dropped.

    Inputs: counts (h_out, w_out); n_in: (h_in, w_in). Returns (h_in, w_in)."""
    F, S, P, D = layer["F"], layer["S"], layer["P"], layer["dilation"]
    h, w = counts.shape
    every_tap = np.broadcast_to(counts[:, :, None, None], (h, w, F, F))  # (h, w, F, F), a view
    padded = add_windows(every_tap, (n_in[0] + 2 * P, n_in[1] + 2 * P), (S, S), (D, D))
    return unpad_spatial(padded, (P, P))


def _paths(layers: Sequence[dict[str, int]], inputs: Sequence[tuple[int, int]],
           neuron: tuple[int, int], out: tuple[int, int]) -> Any:
    """Path counts (h_in, w_in) at the input of ``layers[0]`` to one neuron of the output
    (size ``out``) of ``layers[-1]``; ``inputs[l]`` is the input size of ``layers[l]``."""
    grid = np.zeros(out, dtype=np.int64)
    grid[neuron] = 1
    for layer, n_in in zip(reversed(layers), reversed(inputs)):
        grid = _back_project(grid, layer, n_in)
    return grid


def _centre(field: ReceptiveField, i: int) -> float:
    """Image coordinate of the centre of neuron ``i``'s field (pixel ``p`` spans [p, p+1))."""
    return field.start + i * field.jump


def _nearest_neuron(field: ReceptiveField, n_out: int, pixel: int) -> int:
    """The neuron whose field is centred closest to ``pixel`` (image coordinates)."""
    i = round((pixel + 0.5 - field.start) / field.jump)
    return int(min(max(i, 0), n_out - 1))


def _centre_feeder(feeders: Any, field: ReceptiveField, centre: float, pixel: int) -> int | None:
    """Of the neurons ``feeders`` of one layer (indices along one axis), the one whose field
    is centred closest to ``centre`` (ties: closest to ``pixel``, then the first); None when
    there are none (a neuron above that reads only zero padding)."""
    if len(feeders) == 0:
        return None
    return int(min(feeders, key=lambda i: (abs(_centre(field, i) - centre),
                                           abs(_centre(field, i) - pixel - 0.5), i)))


def _looked_at(layers: Sequence[dict[str, int]], fields: Sequence[ReceptiveField],
               rows: Sequence[int], cols: Sequence[int], inputs: Sequence[tuple[int, int]],
               point: tuple[int, int]) -> list[tuple[int, int]]:
    """The (row, col) of the neuron looked at after each layer.

    At the top: the neuron whose field is centred closest to ``point``. After each layer
    below: back-projecting the top neuron gives the exact set of neurons of that layer that
    feed it; of those, the one centred closest to the top neuron's field (the centre of its
    window). Rows and columns are chosen apart: the set is a rectangle of them.

    Inputs: ``rows[l]``/``cols[l]`` the output height/width of layer ``l``; ``inputs[l]`` its
    input (height, width); ``point`` the (row, col) of the image looked at."""
    top = (_nearest_neuron(fields[-1], rows[-1], point[0]),
           _nearest_neuron(fields[-1], cols[-1], point[1]))
    centre = (_centre(fields[-1], top[0]), _centre(fields[-1], top[1]))
    grid = np.zeros((rows[-1], cols[-1]), dtype=np.int64)
    grid[top] = 1
    chosen = [top]
    for l in range(len(layers) - 1, 0, -1):  # the input of layer l is the output of layer l-1
        grid = _back_project(grid, layers[l], inputs[l])
        r = _centre_feeder(np.flatnonzero(grid.any(axis=1)), fields[l - 1], centre[0], point[0])
        c = _centre_feeder(np.flatnonzero(grid.any(axis=0)), fields[l - 1], centre[1], point[1])
        r = _nearest_neuron(fields[l - 1], rows[l - 1], point[0]) if r is None else r
        c = _nearest_neuron(fields[l - 1], cols[l - 1], point[1]) if c is None else c
        chosen.insert(0, (r, c))
    return chosen


def _box(counts: Any, point: tuple[int, int]) -> tuple[int, int, int, int]:
    """(first row, last row, first column, last column) of the pixels with a path; the point
    itself for a neuron that sees only zero padding."""
    seen_r, seen_c = np.flatnonzero(counts.any(axis=1)), np.flatnonzero(counts.any(axis=0))
    if seen_r.size == 0:
        return (point[0], point[0], point[1], point[1])
    return (int(seen_r[0]), int(seen_r[-1]), int(seen_c[0]), int(seen_c[-1]))


def compute_receptive_field(layers: Sequence[dict[str, int]] | str,
                            image_size: Sequence[int] = (128, 128),
                            point: Sequence[int] | None = None) -> ReceptiveFieldView:
    """Receptive fields of a stack of conv (or pooling) layers, over an image.

    Inputs:
    - layers: dicts with F, S, P, dilation (or the text form of :func:`parse_layers`)
    - image_size: (H, W) of the image; every layer must fit it exactly
    - point: (row, col) of the image to look at (default: the centre). The top neuron is the
      one whose field is centred closest to it (in a strided stack the top neurons are
      ``jump`` pixels apart, so its field's centre can be a few pixels away); below it, the
      neuron of each layer at the centre of what the top neuron reads.

    Returns a :class:`ReceptiveFieldView`.
    """
    if isinstance(layers, str):
        layers = parse_layers(layers)
    layers = [dict(F=l["F"], S=l.get("S", 1), P=l.get("P", 0), dilation=l.get("dilation", 1))
              for l in layers]
    if not layers:
        raise ValueError("layers: the stack is empty; give at least one layer")
    H, W = (check_int(image_size[0], "image_size[0]", 1), check_int(image_size[1], "image_size[1]", 1))
    point = (H // 2, W // 2) if point is None else (check_int(point[0], "point[0]", 0),
                                                      check_int(point[1], "point[1]", 0))
    if point[0] >= H or point[1] >= W:
        raise ValueError(f"point {point} is outside the {H}x{W} image")
    rows, cols = _sizes(layers, H), _sizes(layers, W)
    fields = receptive_fields(layers)
    inputs = [(H, W)] + list(zip(rows, cols))[:-1]
    neurons = _looked_at(layers, fields, rows, cols, inputs, point)
    counts = [_paths(layers[:l + 1], inputs[:l + 1], neuron, (rows[l], cols[l]))
              for l, neuron in enumerate(neurons)]
    boxes = [_box(grid, point) for grid in counts]
    return ReceptiveFieldView(layers, (H, W), point, rows, fields, neurons, boxes, counts)


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------
_LAYER_COLOURS = ["#f58518", "#54a24b", "#4c78a8", "#e45756", "#b279a2", "#9d755d", "#72b7b2", "#eeca3b"]


def _draw_box(rgb: Any, box: tuple[int, int, int, int], scale: int, colour: str,
              origin: tuple[int, int] = (0, 0), width: int = 2) -> None:
    """Draw the outline of image rows r0..r1, columns c0..c1 (inclusive) into an enlarged
    picture ``rgb`` (``scale`` screen pixels per image pixel; ``origin`` is the image pixel at
    the picture's corner). Parts outside the picture are left out."""
    r0, r1, c0, c1 = box
    top, bottom = (r0 - origin[0]) * scale, (r1 + 1 - origin[0]) * scale - 1
    left, right = (c0 - origin[1]) * scale, (c1 + 1 - origin[1]) * scale - 1
    H, W = rgb.shape[:2]
    colour = hex_rgb(colour)
    rows = slice(max(top, 0), min(bottom + 1, H))
    cols = slice(max(left, 0), min(right + 1, W))
    for edge in range(width):
        for r in (top + edge, bottom - edge):
            if 0 <= r < H:
                rgb[r, cols] = colour
        for c in (left + edge, right - edge):
            if 0 <= c < W:
                rgb[rows, c] = colour


def _profile_svg(counts: Any, first_col: int, width: int = 260, height: int = 150) -> str:
    """Bars of the path counts along one row of the image (an inline SVG chart)."""
    top = max(int(counts.max()), 1)
    n = len(counts)
    bar = (width - 40) / max(n, 1)
    plot_h = height - 34
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'style="{FONT}">']
    for k, value in enumerate(counts):
        h = plot_h * float(value) / top
        parts.append(f'<rect x="{30 + k * bar:.1f}" y="{8 + plot_h - h:.1f}" '
                     f'width="{max(bar - 0.5, 0.5):.1f}" height="{h:.1f}" '
                     f'fill="{PALETTE["highlight"]}"/>')
    parts.append(f'<line x1="29" y1="{8 + plot_h}" x2="{width - 8}" y2="{8 + plot_h}" stroke="#888"/>')
    parts.append(f'<text x="26" y="16" font-size="10" text-anchor="end">{top}</text>')
    parts.append(f'<text x="26" y="{8 + plot_h}" font-size="10" text-anchor="end">0</text>')
    parts.append(f'<text x="30" y="{height - 12}" font-size="10">column {first_col}</text>')
    parts.append(f'<text x="{width - 8}" y="{height - 12}" font-size="10" text-anchor="end">'
                 f'{first_col + n - 1}</text>')
    parts.append(f'<text x="{width / 2:.0f}" y="{height - 1}" font-size="10" text-anchor="middle" '
                 f'fill="{PALETTE["muted"]}">paths from each pixel of the centre row</text></svg>')
    return "".join(parts)


def render_receptive_field(view: ReceptiveFieldView, image: Any) -> Html:
    """Three panels: the image with one box per depth (what one neuron after layer 1, 2, ...
    sees); a close-up with the top neuron's path counts laid over the pixels; the counts along
    the row through the centre of its field. HTML with inline pictures (fast to redraw)."""
    rgb = as_rgb8(to_host(image))
    H, W = view.image_size
    colours = [_LAYER_COLOURS[l % len(_LAYER_COLOURS)] for l in range(len(view.layers))]

    scale = max(1, 260 // max(H, W))
    whole = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)
    for box, colour in zip(view.boxes, colours):
        _draw_box(whole, box, scale, colour)
    r, c = view.point
    whole[r * scale:(r + 1) * scale, c * scale:(c + 1) * scale] = 255  # the point looked at

    # close-up: the top field plus a margin, path counts over a faded image
    r0, r1, c0, c1 = view.boxes[-1]
    m = max(2, (r1 - r0 + 1) // 4)
    rs, cs = slice(max(r0 - m, 0), min(r1 + m + 1, H)), slice(max(c0 - m, 0), min(c1 + m + 1, W))
    top = view.counts[-1]
    crop = rgb[rs, cs].astype(np.float64) * 0.55 + 0.45 * 255
    heat = colorize(top[rs, cs], COUNT_CMAP, 0, max(int(top.max()), 1)).astype(np.float64)
    seen = top[rs, cs] > 0
    crop[seen] = 0.8 * heat[seen] + 0.2 * crop[seen]
    zoom_scale = max(1, 260 // max(crop.shape[:2]))
    close = np.repeat(np.repeat(crop.astype(np.uint8), zoom_scale, axis=0), zoom_scale, axis=1)
    for box, colour in zip(view.boxes, colours):
        _draw_box(close, box, zoom_scale, colour, origin=(rs.start, cs.start),
                  width=2 if zoom_scale > 6 else 1)

    row = (r0 + r1) // 2
    legend = "".join(
        f'<div style="color:{colour};white-space:nowrap;">layer {l + 1} ({escape(_short(layer))}): '
        f'sees {f.size}x{f.size}</div>'
        for l, (layer, f, colour) in enumerate(zip(view.layers, view.fields, colours)))
    return Html(
        f'<div style="{FONT}"><div style="margin-bottom:4px;">{escape(_top_text(view))}</div>'
        + img_html(whole, 1, f"{H}x{W} image, point ({r}, {c}): one box per layer")
        + img_html(close, 1, f"close-up: paths to the top neuron "
                              f"({view.top_size}x{view.top_size} field)")
        + f'<div style="display:inline-block;vertical-align:top;font-size:12px;">{legend}'
        + _profile_svg(top[row, cs], cs.start) + "</div></div>")


def _top_text(view: ReceptiveFieldView) -> str:
    """Which top neuron is looked at, and what it sees, in words."""
    (i, j), (r0, r1, c0, c1) = view.neurons[-1], view.boxes[-1]
    f = view.fields[-1]
    apart = (f" (neighbouring top neurons look {f.jump} pixels apart, so its field's centre "
             "can miss the point by a little)" if f.jump > 1 else "")
    return (f"point ({view.point[0]}, {view.point[1]}): the closest top neuron is ({i}, {j}) of "
            f"the {view.sizes[-1]}x{view.sizes[-1]} output; it sees rows {r0}..{r1}, columns "
            f"{c0}..{c1}{apart}. The smaller boxes: what the neurons at the centre of its window "
            "see, layer by layer.")


def _short(layer: dict[str, int]) -> str:
    return format_layers([layer])


def render_profiles(views: dict[str, ReceptiveFieldView]) -> Any:
    """How the paths to each stack's top neuron spread over the centre row of its field, as a
    share of that row's paths (so stacks of different depths compare): one line per stack,
    e.g. three 3x3 layers against one 7x7 (same width, different weighting)."""
    fig = new_figure(6.0, 2.8)
    ax = fig.add_axes([0.11, 0.18, 0.85, 0.74])
    for k, (label, view) in enumerate(views.items()):
        top = view.counts[-1]
        r0, r1, c0, c1 = view.boxes[-1]
        row = top[(r0 + r1) // 2].astype(np.float64)
        centre = (c0 + c1) / 2
        x = np.arange(row.size) - centre
        keep = (x >= -view.top_size) & (x <= view.top_size)
        ax.step(x[keep], 100 * row[keep] / row.sum(), where="mid",
                label=f"{label}: {view.top_size}x{view.top_size}",
                color=_LAYER_COLOURS[k % len(_LAYER_COLOURS)], linewidth=1.8)
    ax.set_xlabel("pixels from the centre of the field", fontsize=9)
    ax.set_ylabel("share of the paths (%)", fontsize=9)
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=8, frameon=False)
    return fig


# --------------------------------------------------------------------------------------------
# Widget
# --------------------------------------------------------------------------------------------
@lru_cache(maxsize=16)
def _photo(name: str, size: int) -> Any:
    from ..data import load_photo
    return load_photo(name, size=size)


def receptive_field_widget(photo: str = "astronaut", preset: str = "three 3x3 (7x7 view)",
                           near: int = 128) -> LiveView:
    """A photograph, a stack of layers (pick a preset or type one: ``"3x3, 3x3 d2"``), and the
    point to look at. The image is resized to the nearest size from ``near`` up that every
    layer fits; the point sliders follow that size."""
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {list(PRESETS)}, got {preset!r}")
    n = fitting_image_size(parse_layers(PRESETS[preset]), near)
    controls = {
        "photo": widgets.Dropdown(options=["astronaut", "chelsea", "coffee", "camera", "brick"],
                                  value=photo, description="photo",
                                  layout=widgets.Layout(width="220px")),
        "preset": widgets.Dropdown(options=list(PRESETS) + ["(typed)"], value=preset,
                                   description="stack", layout=widgets.Layout(width="330px")),
        "layers": widgets.Text(value=PRESETS[preset], description="layers", continuous_update=False,
                               layout=widgets.Layout(width="420px")),
        "row": int_slider("point row", n // 2, 0, n - 1, width="320px"),
        "col": int_slider("point column", n // 2, 0, n - 1, width="320px"),
    }

    def view(photo: str, preset: str, layers: str, row: int, col: int) -> Drawing:
        stack = parse_layers(layers)
        n = fitting_image_size(stack, near)
        v = compute_receptive_field(stack, (n, n), (row, col))
        notes = [f"The photo is resized to {n}x{n}, the smallest size from {near} up that every "
                 f"layer fits exactly (layer outputs {', '.join(map(str, v.sizes))}); the point "
                 f"sliders go from 0 to {n - 1}."]
        padding = padding_note(layers)
        if padding:
            notes.append(f"Padding: {padding}.")
        note = "".join(f'<div style="{FONT} margin-bottom:4px;">{escape(line)}</div>' for line in notes)
        summary = " -> ".join(f"{f.size}x{f.size}" for f in v.fields)
        return Drawing(v, Html(note + render_receptive_field(v, _photo(photo, n))),
                       f"receptive fields {summary}")

    def adjust(live: LiveView, name: str) -> None:
        if name == "preset" and live.controls["preset"].value in PRESETS:
            live.controls["layers"].value = PRESETS[live.controls["preset"].value]
        elif name == "layers":
            preset = live.controls["preset"].value
            if PRESETS.get(preset) != live.controls["layers"].value:
                live.controls["preset"].value = "(typed)"
        if name in ("preset", "layers"):
            try:
                n = fitting_image_size(parse_layers(live.controls["layers"].value), near)
            except ValueError:
                return  # the view says why
            for slider in (live.controls["row"], live.controls["col"]):
                slider.max = n - 1  # a value above it is lowered to it

    return LiveView("Receptive fields on a photograph", controls, view, adjust=adjust,
                    min_height="300px", rows=[["photo", "preset"], ["layers"], ["row", "col"]],
                    name="receptive_field_widget")
