"""Filters and activations: a bank of filters, and the activation map each one makes on a photo.

A first conv layer learns filters that respond to oriented edges and blobs of colour. Before
any training, the same idea can be seen with filters made by hand: a vertical-edge filter
(left minus right) lights up where brightness changes from left to right, a centre-surround
filter where a small spot differs from its surroundings. Each filter gives one activation map;
stacked along the depth they are the layer's output volume. Learned filters (``w`` of a
trained layer) are drawn the same way.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import ipywidgets as widgets

from ..backend import np, to_host, xp_of
from ..data import load_photo
from ..fast_layers import conv_forward_fast
from ..geometry import ConvGeometryError, conv_output_size
from ..validate import check_float_array
from .common import (FONT, IMAGE_CMAP, PALETTE, SIGNED_CMAP, TABLE_CSS, TD_CSS, Drawing, Html,
                     LiveView, as_rgb8, colorize, escape, img_html, int_slider, plural)

__all__ = ["BANKS", "hand_made_filters", "Activations", "compute_activations", "fit_photo",
           "render_filters", "filters_widget"]


def _gaussian(size: int, sigma: float) -> Any:
    r = np.arange(size) - (size - 1) / 2
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma ** 2))
    return g / g.sum()


def _edges() -> tuple[list[Any], list[str]]:
    sobel = np.array([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]]) / 4
    diagonal = np.array([[0.0, 1.0, 2.0], [-1.0, 0.0, 1.0], [-2.0, -1.0, 0.0]]) / 4
    return ([sobel, sobel.T, diagonal, diagonal[:, ::-1]],
            ["vertical edge", "horizontal edge", "diagonal /", "diagonal \\"])


def _blobs() -> tuple[list[Any], list[str]]:
    blur = _gaussian(5, 1.0)
    # centre-surround: a narrow bump minus a wide one (a difference of Gaussians)
    spot = _gaussian(5, 0.7) - _gaussian(5, 1.6)
    spot = spot / np.abs(spot).sum() * 2
    bar = np.zeros((5, 5))
    bar[2] = 1.0
    bar = bar / 5 - 1 / 25  # a horizontal line brighter than its surroundings
    return [blur, spot, -spot, bar], ["blur", "bright spot", "dark spot", "horizontal line"]


#: the hand-made banks: name -> function giving (list of F x F filters, names)
BANKS = {"edges": _edges, "blobs": _blobs}


def hand_made_filters(bank: str = "edges", channels: int = 1, dtype: Any = "float32"
                      ) -> tuple[Any, Any, list[str]]:
    """A bank of hand-made filters as conv weights.

    Inputs:
    - bank: one of :data:`BANKS` ("edges": Sobel-like 3x3 edges; "blobs": 5x5 blur and
      centre-surround spots)
    - channels: C of the images they will see; a filter is spread evenly over the channels,
      so it looks at brightness

    Returns a tuple of:
    - w: shape (K, C, F, F); b: shape (K,) zeros; names: K labels
    """
    if bank not in BANKS:
        raise ValueError(f"bank must be one of {list(BANKS)}, got {bank!r}")
    kernels, names = BANKS[bank]()
    w = np.stack([np.repeat(k[None] / channels, channels, axis=0) for k in kernels]).astype(dtype)
    return w, np.zeros(len(kernels), dtype=dtype), names


@dataclass(frozen=True)
class Activations:
    """A filter bank applied to one image: ``maps`` (K, H_out, W_out) after the optional ReLU,
    ``raw`` before it; arrays on the image's device."""
    image: Any
    w: Any
    b: Any
    maps: Any
    raw: Any
    names: list[str]
    conv_param: dict


def compute_activations(image: Any, w: Any, b: Any, conv_param: dict | None = None,
                        relu: bool = True, names: list[str] | None = None) -> Activations:
    """The activation maps of a filter bank on one image.

    Inputs:
    - image: shape (C, H, W); w: (K, C, F, F); b: (K,)
    - conv_param: default stride 1 and padding ``F // 2`` (the output keeps the image's size
      for odd F)
    - relu: apply max(0, .) as a conv layer followed by a ReLU would

    Returns :class:`Activations`, computed with the fast conv layer.
    """
    check_float_array(image, "image", 3, "(C, H, W)")
    check_float_array(w, "w", 4, "(K, C, F, F)")
    if conv_param is None:
        conv_param = {"stride": 1, "pad": w.shape[-1] // 2}
    xp = xp_of(image, w, b)
    raw = conv_forward_fast(image[None].astype(w.dtype, copy=False), w, b, conv_param)[0][0]
    maps = xp.maximum(raw, 0) if relu else raw
    names = list(names) if names is not None else [f"filter {k}" for k in range(w.shape[0])]
    if len(names) != w.shape[0]:
        raise ValueError(f"names has {len(names)} labels for {w.shape[0]} filters")
    return Activations(image, w, b, maps, raw, names, dict(conv_param))


def _is_colour(f: Any) -> bool:
    """A filter (C, F, F) drawn in colour: three channels that differ."""
    return f.shape[0] == 3 and not np.allclose(f[0], f[1])


def _filter_picture(f: Any, size: int) -> Any:
    """One filter (C, F, F) as an (F, F, 3) uint8 picture: colour filters as RGB around grey,
    the others as their channel sum on a signed colour map (red positive, blue negative)."""
    if _is_colour(f):
        limit = float(np.abs(f).max()) or 1.0
        return (np.clip(0.5 + np.moveaxis(f, 0, -1) / (2 * limit), 0, 1) * 255).astype(np.uint8)
    s = f.sum(axis=0)
    limit = float(np.abs(s).max()) or 1.0
    return colorize(s, SIGNED_CMAP, -limit, limit)


def _weight_legend(colour_filters: bool) -> str:
    """What the colours of the filter pictures mean: a bar of the signed colour map, from a
    filter's most negative weight to its most positive (and, for colour filters, the RGB
    rule). The bar is a CSS gradient through the colour map's own colours."""
    stops = colorize(np.linspace(-1.0, 1.0, 9)[None], SIGNED_CMAP, -1, 1)[0]
    gradient = ", ".join("#{:02x}{:02x}{:02x}".format(*rgb) for rgb in stops)
    label = 'style="display:inline-block;width:16px;text-align:{};"'
    text = (f'<div class="cs231n-weight-legend" style="font-size:11px;color:{PALETTE["muted"]};'
            f'margin-top:4px;">weights: blue negative, white 0, red positive (each filter scaled '
            f'to its largest |weight|)<br><span {label.format("right")}>−</span>'
            f'<span style="display:inline-block;width:160px;height:10px;vertical-align:middle;'
            f'background:linear-gradient(to right, {gradient});"></span>'
            f'<span {label.format("left")}>+</span>')
    if colour_filters:
        text += ("<br>colour filters: grey is 0 in every channel; a pixel is redder, greener or "
                 "bluer where that channel's weight is positive")
    return text + "</div>"


def render_filters(a: Activations, map_px: int = 128) -> Html:
    """The image, each filter (red positive, blue negative, with a legend) and below it its
    activation map (bright = strong response, each map scaled to its own range). HTML with
    inline pictures."""
    image, w, maps = to_host((a.image, a.w, a.maps))
    K, F = w.shape[0], w.shape[-1]
    H_out, W_out = maps.shape[1:]
    map_scale = max(1, map_px // max(H_out, W_out))
    cells = []
    for k in range(K):
        tile = _filter_picture(w[k], F)
        cells.append(f'<td style="{TD_CSS}padding:0 6px;">'
                     + img_html(tile, max(1, 60 // F), a.names[k])
                     + "<br>" + img_html(colorize(maps[k], IMAGE_CMAP), map_scale,
                                         f"map {k}: {H_out}x{W_out}") + "</td>")
    stride = a.conv_param.get("stride", 1)
    head = (f'<div style="margin-bottom:4px;">{K} filters of {tuple(w.shape[1:])} (stride {stride}) '
            f'→ activation volume {H_out}x{W_out}x{K}</div>')
    picture = img_html(as_rgb8(image if image.shape[0] in (1, 3) else image[:1]),
                       max(1, map_px // max(image.shape[1:])), "input")
    return Html(f'<div style="{FONT}">{head}<table style="{TABLE_CSS}"><tr>'
                f'<td style="{TD_CSS}vertical-align:bottom;padding-right:10px;">{picture}</td>'
                f'{"".join(cells)}</tr></table>'
                f'{_weight_legend(any(_is_colour(f) for f in w))}</div>')


def fit_photo(size: int, F: int, stride: int, pad: int) -> tuple[int, str]:
    """The side of the square photo the layer takes, by the output-size rule
    (:func:`~cs231n_lib.geometry.conv_output_size`), and a sentence saying so.

    Inputs: size: the photo's side; F, stride, pad: the layer's.
    Returns ``(n, note)``: ``n = size`` when the windows tile the photo; otherwise the layer's
    refusal (with its arithmetic) is quoted, and ``n`` is the largest smaller side that fits:
    the photo's last ``size - n`` rows and columns (bottom, right) are cropped away.
    """
    try:
        out = conv_output_size(size, F, stride, pad)
        return size, f"({size} - {F} + 2*{pad})/{stride} + 1 = {out}: the windows tile the photo."
    except ConvGeometryError as exc:
        refusal = str(exc)
    for n in range(size - 1, 0, -1):
        try:
            out = conv_output_size(n, F, stride, pad)
        except ConvGeometryError:
            continue
        cut = size - n
        return n, (f"A {size}x{size} photo does not fit: {refusal}. So the photo is cropped to "
                   f"{n}x{n}: its bottom {plural(cut, 'row')} and right {plural(cut, 'column')} "
                   f"are left out, and ({n} - {F} + 2*{pad})/{stride} + 1 = {out}.")
    raise ValueError(f"no photo side up to {size} fits F={F}, stride {stride}, pad {pad}: {refusal}")


@lru_cache(maxsize=8)
def _photo(name: str, size: int, grey: bool) -> Any:
    return load_photo(name, size=size, grayscale=grey)


def filters_widget(photo: str = "camera", bank: str = "edges",
                   filters: tuple[Any, Any, list[str]] | None = None, size: int = 128) -> LiveView:
    """A photo, a bank of filters (hand-made, or ``filters=(w, b, names)`` from a trained
    layer), stride and ReLU; the activation maps below the filters."""
    banks = list(BANKS) + (["given"] if filters is not None else [])
    controls = {
        "photo": widgets.Dropdown(options=["camera", "astronaut", "chelsea", "coins", "brick"],
                                  value=photo, description="photo",
                                  layout=widgets.Layout(width="220px")),
        "bank": widgets.Dropdown(options=banks, value="given" if filters is not None else bank,
                                 description="filters", layout=widgets.Layout(width="220px")),
        "stride": int_slider("stride", 1, 1, 4),
        "relu": widgets.Checkbox(value=True, description="ReLU after the conv"),
    }

    def view(photo: str, bank: str, stride: int, relu: bool) -> Drawing:
        if bank == "given":
            w, b, names = filters
            image = _photo(photo, size, grey=w.shape[1] != 3)
            if w.shape[1] not in (1, 3):
                image = np.repeat(image[:1], w.shape[1], axis=0)
        else:
            image = _photo(photo, size, grey=True)
            w, b, names = hand_made_filters(bank, image.shape[0])
        F = w.shape[-1]
        n, fit = fit_photo(size, F, stride, F // 2)  # padding F//2 keeps the size at stride 1
        a = compute_activations(image[:, :n, :n], w, b, {"stride": stride, "pad": F // 2}, relu, names)
        note = f'<div style="{FONT} margin-bottom:4px;">{escape(fit)}</div>'
        return Drawing(a, Html(note + render_filters(a)),
                       f"{len(names)} filters -> maps {tuple(a.maps.shape)}")

    return LiveView("Filters and their activation maps", controls, view, min_height="330px",
                    rows=[["photo", "bank", "stride", "relu"]], name="filters_widget")
