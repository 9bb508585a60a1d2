"""Augmentation explorer: one image, each transform on its own control, and what the network
is fed after normalization.

Data augmentation shows the network changed copies of its training images: mirrored,
cropped, turned, enlarged or moved a little. Each copy keeps the label of the original, which
is right only when the change does not change what the image shows: a mirrored cat is a cat,
a mirrored 7 is no digit at all. :func:`compute_augmentation` applies the transforms in a
fixed order (the small affine transform of :func:`cs231n_lib.data.affine` about the centre,
then the left-right flip, then the crop), normalizes the result with the statistics of a
training set, and draws a grid of random copies with :func:`cs231n_lib.data.augment`, each
transform up to the strength its control sets. :func:`render_augmentation` shows it all as
HTML; :func:`augmentation_widget` puts each transform on a control.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import ipywidgets as widgets

from ..backend import np, to_host, xp_of
from ..data import affine, augment, load_digits, load_photo
from ..validate import check_float_array, check_int
from .common import (FONT, PALETTE, SIGNED_CMAP, TABLE_CSS, TD_CSS, Drawing, Html, LiveView,
                     as_rgb8, colorize, escape, img_html, int_slider)

__all__ = ["SOURCES", "Augmentation", "load_source", "compute_augmentation",
           "render_augmentation", "augmentation_widget"]

#: the pictures the widget offers: scikit-image's colour photos and two handwritten digits
SOURCES = ("chelsea", "astronaut", "coffee", "rocket", "digit 2", "digit 7")

#: the colour photos whose per-channel statistics normalize a photo (a tiny training set)
PHOTO_SET = ("astronaut", "chelsea", "coffee", "rocket")


@dataclass(frozen=True)
class Augmentation:
    """One image, transformed and normalized, with random augmented copies.

    Arrays live where the image lives (NumPy or CuPy):
    - ``image`` (C, H, W): the original; ``transformed`` (C, h, w): after affine, flip, crop
    - ``normalized`` (C, h, w): ``(transformed - mean) / (std + eps)``, what the network gets
    - ``mean``, ``std``: (C, 1, 1) per-channel statistics (of a training set, or of the image)
    - ``samples`` (num_samples, C, h, w): random copies from ``seed``
    - ``settings``: the transform settings; ``notes``: warnings about the label
    """
    image: Any
    transformed: Any
    normalized: Any
    mean: Any
    std: Any
    samples: Any
    settings: dict
    label: str = ""
    notes: list[str] = field(default_factory=list)


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    return float(value)


def compute_augmentation(image: Any, flip: bool = False, crop: int | None = None, top: int = 0,
                         left: int = 0, rotation: float = 0.0, scale: float = 1.0,
                         shift: tuple[float, float] = (0.0, 0.0), mean: Any = None,
                         std: Any = None, num_samples: int = 8, seed: int = 0,
                         label: str = "", mirror_keeps_label: bool = True,
                         eps: float = 1e-8) -> Augmentation:
    """Transform one image and normalize it; draw random augmented copies.

    Inputs:
    - image: (C, H, W) float array with values in [0, 1]
    - flip: mirror left-right
    - crop: side of the square crop (None: no crop); ``top``, ``left``: where it starts
    - rotation: degrees counter-clockwise; scale: zoom (> 1 enlarges); shift: (dy, dx) pixels
    - mean, std: per-channel statistics, shape (C, 1, 1) (or scalars); default: the image's
      own, over its pixels
    - num_samples, seed: the grid of random copies; each copy gets a random flip (when
      ``flip``), a random crop of the same size (when ``crop``), a rotation in
      [-|rotation|, |rotation|], a zoom in [1 - |scale - 1|, 1 + |scale - 1|] and a shift up to
      |shift|
    - label, mirror_keeps_label: what the image shows, and whether a mirror image still shows
      it (not for digits and letters); a flip that changes the label is noted

    Returns an :class:`Augmentation`. A crop that does not fit raises ValueError with the
    arithmetic.
    """
    check_float_array(image, "image", 3, "(C, H, W)")
    C, H, W = image.shape
    rotation, scale = _number(rotation, "rotation"), _number(scale, "scale")
    dy, dx = (_number(s, "shift") for s in shift)
    if not 0.1 <= scale <= 1.9:
        raise ValueError(f"scale must be between 0.1 and 1.9 (a zoom factor), got {scale:g}")
    num_samples = check_int(num_samples, "num_samples", 0)
    xp = xp_of(image)
    if crop is not None:
        crop = check_int(crop, "crop", 1)
        top, left = check_int(top, "top", 0), check_int(left, "left", 0)
        if crop > min(H, W):
            raise ValueError(f"the crop {crop}x{crop} is larger than the image {H}x{W}")
        for name, start, size, side in (("top", top, H, "height"), ("left", left, W, "width")):
            if start + crop > size:
                raise ValueError(f"the crop does not fit: {name} {start} + crop {crop} = "
                                 f"{start + crop} > {size}, the image's {side}")
    # 1. the small affine transform, about the centre; 2. the mirror image; 3. the crop
    moved = image
    if rotation or scale != 1 or dy or dx:
        moved = affine(image, rotation, scale, (dy, dx))
    if flip:
        moved = moved[:, :, ::-1]
    if crop is not None:
        moved = moved[:, top:top + crop, left:left + crop]
    transformed = xp.ascontiguousarray(moved)
    mean = image.mean(axis=(1, 2), keepdims=True) if mean is None else xp.asarray(mean)
    std = image.std(axis=(1, 2), keepdims=True) if std is None else xp.asarray(std)
    normalized = (transformed - mean) / (std + eps)
    # the random copies: the same transforms, each up to the strength set above
    if num_samples:
        batch = xp.repeat(image[None], num_samples, axis=0)
        strength = {"max_rotation": abs(rotation), "max_scale": min(abs(scale - 1), 0.9),
                    "max_shift": max(abs(dy) / H, abs(dx) / W)}
        samples = augment(batch, seed=seed, flip=flip, crop=crop,
                          affine=strength if any(strength.values()) else False)
    else:
        samples = xp.zeros((0, C) + transformed.shape[1:], dtype=image.dtype)
    notes = []
    if flip and not mirror_keeps_label:
        notes.append(f"a mirrored {label or 'image'} is not a {label or 'picture of the same thing'}:"
                     " flipping is the wrong augmentation here, the label would be wrong")
    settings = {"flip": bool(flip), "crop": crop, "top": top, "left": left, "rotation": rotation,
                "scale": scale, "shift": (dy, dx), "seed": seed}
    return Augmentation(image, transformed, normalized, mean, std, samples, settings, label,
                        notes)


# --------------------------------------------------------------------------------------------
# Rendering: the original, the transformed image, the normalized channels with a colour bar,
# and the grid of random copies
# --------------------------------------------------------------------------------------------
def _scale_for(side: int, target: int) -> int:
    return max(1, round(target / side))


def _colour_bar(limit: float, height: int) -> str:
    """A vertical bar of the signed colour map from +limit (top) to -limit, with its values."""
    ramp = np.linspace(limit, -limit, height)[:, None].repeat(14, axis=1)
    bar = img_html(colorize(ramp, SIGNED_CMAP, -limit, limit), 1, "", "margin:0 2px 0 0;")
    labels = (f'<div style="display:inline-flex;flex-direction:column;justify-content:space-between;'
              f'height:{height}px;font-size:10px;vertical-align:top;margin-top:2px;">'
              f"<span>+{limit:.2g}</span><span>0</span><span>&minus;{limit:.2g}</span></div>")
    return f'<div style="display:inline-block;vertical-align:top;margin-top:16px;">{bar}{labels}</div>'


def render_augmentation(a: Augmentation, display_px: int = 128) -> Html:
    """HTML: the original image, the transformed one with its settings, each normalized
    channel on a signed colour map (blue below the training mean, red above; a colour bar
    gives the values), then the random copies."""
    image, transformed, normalized, mean, std, samples = to_host(
        (a.image, a.transformed, a.normalized, a.mean, a.std, a.samples))
    C, H, W = image.shape
    h, w = transformed.shape[1:]
    s = a.settings
    steps = []
    if s["rotation"] or s["scale"] != 1 or any(s["shift"]):
        steps.append(f"rotate {s['rotation']:g}°, zoom {s['scale']:g}, shift "
                     f"({s['shift'][0]:g}, {s['shift'][1]:g}) px")
    if s["flip"]:
        steps.append("mirror left-right")
    if s["crop"] is not None:
        steps.append(f"crop {s['crop']}x{s['crop']} at ({s['top']}, {s['left']})")
    done = "; then ".join(steps) if steps else "no transform"
    big = _scale_for(max(H, W), display_px)
    small = _scale_for(max(h, w), display_px)
    limit = float(max(np.abs(normalized).max(), 1e-6))
    names = ["red", "green", "blue"] if C == 3 else ["grey"]
    channels = "".join(img_html(colorize(normalized[c], SIGNED_CMAP, -limit, limit), small,
                                f"{names[c]} channel") for c in range(C))
    stats = ", ".join(f"{m:.3f}/{d:.3f}" for m, d in zip(mean.ravel(), std.ravel()))
    fed = (f"fed to the network: shape {normalized.shape}, mean {normalized.mean():+.2f}, "
           f"std {normalized.std():.2f}, range [{normalized.min():.2f}, {normalized.max():.2f}]")
    cells = [
        img_html(as_rgb8(image), big, f"original {H}x{W}" + (f" — {a.label}" if a.label else "")),
        img_html(as_rgb8(transformed), small, f"transformed {h}x{w}"),
        f'<div style="display:inline-block;vertical-align:top;">{channels}'
        f'{_colour_bar(limit, h * small)}</div>',
    ]
    thumb = _scale_for(max(h, w), 64)
    grid = "".join(img_html(as_rgb8(samples[k]), thumb, f"copy {k}") for k in range(len(samples)))
    notes = "".join(f'<div style="color:{PALETTE["invalid"]};font-weight:bold;">{escape(n)}</div>'
                    for n in a.notes)
    return Html(
        f'<div style="{FONT}">'
        f'<div style="margin-bottom:4px;">{escape(done)}</div>{notes}'
        f'<table style="{TABLE_CSS}"><tr>'
        + "".join(f'<td style="{TD_CSS}padding-right:10px;">{c}</td>' for c in cells)
        + "</tr></table>"
        f'<div style="color:{PALETTE["muted"]};">normalized with per-channel mean/std {stats}; '
        f"{escape(fed)}</div>"
        f'<div style="margin-top:6px;">{len(samples)} random copies (seed {s["seed"]}), each '
        "transform up to the strength set above:</div>"
        f"<div>{grid}</div></div>")


# --------------------------------------------------------------------------------------------
# The widget
# --------------------------------------------------------------------------------------------
@lru_cache(maxsize=16)
def load_source(name: str, size: int = 128) -> tuple[Any, str, bool, Any, Any, str]:
    """One picture of :data:`SOURCES` and the statistics that normalize it.

    Returns a tuple of:
    - image (C, H, W) float32 in [0, 1]: a photo cut square and resized to ``size``, or a
      training digit upsampled to 32x32
    - label, and whether a mirror image keeps it (photos yes, digits no)
    - mean, std: (C, 1, 1), per channel over a training set: the four colour photos of
      :data:`PHOTO_SET` at that size, or the 1,257 training digits
    - a sentence naming that training set
    """
    if name not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {name!r}")
    if name.startswith("digit"):
        digit = int(name.split()[1])
        data = load_digits(upsample=4)
        X, y = data["X_train"], data["y_train"]
        image, label, keeps = X[int(np.flatnonzero(y == digit)[0])], f"handwritten {digit}", False
        stats = f"the {len(X):,} training digits"
    else:
        X = np.stack([load_photo(p, size=size) for p in PHOTO_SET])
        image, label, keeps = X[PHOTO_SET.index(name)], "", True
        stats = "the four colour photos " + ", ".join(PHOTO_SET)
    mean = X.mean(axis=(0, 2, 3))[:, None, None]
    std = X.std(axis=(0, 2, 3))[:, None, None]
    for array in (image, mean, std):
        array.flags.writeable = False  # shared by every caller of this cache
    return image, label, keeps, mean, std, stats


def augmentation_widget(source: str = "chelsea", size: int = 128) -> LiveView:
    """Controls: ``source`` (a photo or a digit), ``flip``, ``crop`` (size), ``top``,
    ``left``, ``rotation`` (degrees), ``scale``, ``shift_y``, ``shift_x`` (pixels), ``seed``
    (the random copies). The crop's position is clamped to fit when the size changes."""
    image = load_source(source, size)[0]
    side = image.shape[-1]
    controls = {
        "source": widgets.Dropdown(options=list(SOURCES), value=source, description="image",
                                   layout=widgets.Layout(width="200px")),
        "flip": widgets.Checkbox(value=False, description="mirror left-right", indent=False,
                                 layout=widgets.Layout(width="150px")),
        "crop": int_slider("crop size", side, 4, side),
        "top": int_slider("crop top", 0, 0, 0),
        "left": int_slider("crop left", 0, 0, 0),
        "rotation": int_slider("rotation °", 0, -45, 45),
        "scale": widgets.FloatSlider(value=1.0, min=0.5, max=1.5, step=0.05, description="zoom",
                                     continuous_update=False, readout_format=".2f",
                                     style={"description_width": "initial"},
                                     layout=widgets.Layout(width="225px")),
        "shift_y": int_slider("shift down px", 0, -16, 16),
        "shift_x": int_slider("shift right px", 0, -16, 16),
        "seed": int_slider("random copies (seed)", 0, 0, 20),
    }

    def view(source: str, flip: bool, crop: int, top: int, left: int, rotation: int,
             scale: float, shift_y: int, shift_x: int, seed: int) -> Drawing:
        image, label, keeps, mean, std, stats = load_source(source, size)
        H, W = image.shape[1:]
        cut = None if (crop >= min(H, W) and top == 0 and left == 0) else crop
        a = compute_augmentation(image, flip, cut, top, left, rotation, scale, (shift_y, shift_x),
                                 mean, std, 8, seed, label, keeps)
        html = render_augmentation(a) + Html(f'<div style="{FONT}color:{PALETTE["muted"]};">'
                                             f"statistics: {escape(stats)}</div>")
        summary = (f"{source}: {a.transformed.shape[1]}x{a.transformed.shape[2]} "
                   f"after {'flip, ' if flip else ''}rotation {rotation}, zoom {scale:g}; "
                   f"normalized range [{float(to_host(a.normalized.min())):.2f}, "
                   f"{float(to_host(a.normalized.max())):.2f}]"
                   + ("; " + a.notes[0] if a.notes else ""))
        return Drawing(a, Html(html), summary)

    def adjust(live: LiveView, name: str) -> None:
        c = live.controls
        if name == "source":  # a digit is 32 pixels, a photo `size`: rescale the crop sliders
            n = load_source(c["source"].value, size)[0].shape[-1]
            c["crop"].max = n
            c["crop"].value = n
        n = c["crop"].max
        for key in ("top", "left"):
            c[key].max = n - c["crop"].value
            c[key].value = min(c[key].value, c[key].max)

    live = LiveView("Augmentation: each transform, and what the network is fed", controls, view,
                    adjust=adjust, rows=[["source", "flip", "seed"], ["crop", "top", "left"],
                                         ["rotation", "scale", "shift_y", "shift_x"]],
                    name="augmentation_widget")
    return live
