"""Image preprocessing from the notes, as plain functions on ``(N, C, H, W)`` float arrays.

The usual order: make the images square (:func:`center_crop_square`), give them one size
(:func:`resize`), look at the :func:`mean_image` and :func:`std_image` of the training set,
:func:`normalize` with them, perhaps collapse colour to :func:`grayscale`; then, while
training, show the network perturbed copies (:func:`random_flip`, :func:`random_crop`,
:func:`random_affine`, or :func:`augment` for all three); :func:`affine` is the
deterministic transform behind :func:`random_affine`.

Every function also takes one image ``(C, H, W)`` and returns one image. The random ones take a
``seed`` (an int, a ``numpy.random.Generator``, or ``None`` for fresh randomness): the same
seed gives the same output. They run on NumPy and CuPy arrays alike; the random numbers are
drawn on the host (a few per image) so that both give the same result for one seed.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from ..backend import np, xp_of
from ..validate import check_float_array, check_int, check_pair

__all__ = ["center_crop_square", "resize", "mean_image", "std_image", "normalize", "grayscale",
           "affine", "random_flip", "random_crop", "random_affine", "augment", "as_rng",
           "LUMA_WEIGHTS"]

#: ITU-R BT.601 luma: how bright red, green and blue look to the eye, as weights that sum to 1
LUMA_WEIGHTS = (0.299, 0.587, 0.114)


def as_rng(seed: Any) -> Any:
    """A ``numpy.random.Generator`` from an int seed, a Generator (used as is) or None."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"seed must be an int, a numpy Generator or None, got {seed!r}")
    return np.random.default_rng(seed)


def _per_image(fn: Callable) -> Callable:
    """Let ``fn`` (written for a batch (N, C, H, W)) take one image (C, H, W) too."""
    def wrapper(x: Any, *args: Any, **kwargs: Any) -> Any:
        if not hasattr(x, "ndim") or x.ndim not in (3, 4):
            check_float_array(x, "x", 4, "(N, C, H, W) or one image (C, H, W)")
        single = x.ndim == 3
        check_float_array(x, "x")
        out = fn(x[None] if single else x, *args, **kwargs)
        return out[0] if single else out
    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    wrapper.__wrapped__ = fn
    return wrapper


@_per_image
def center_crop_square(x: Any) -> Any:
    """The largest centred square of each image: ``(N, C, H, W) -> (N, C, s, s)`` with
    ``s = min(H, W)``. The longer side loses ``(long - s)`` pixels, half on each end (one more
    at the far end when that is odd). Returns a view."""
    H, W = x.shape[-2:]
    s = min(H, W)
    top, left = (H - s) // 2, (W - s) // 2
    return x[..., top:top + s, left:left + s]


def _interpolation(n_in: int, n_out: int) -> tuple[Any, Any, Any]:
    """Where each output pixel samples the input along one axis, for bilinear resizing.

    Pixel centres line up ("half-pixel" convention): output pixel ``o`` sits at input
    coordinate ``(o + 0.5) * n_in / n_out - 0.5``. Returns the lower and upper neighbours and
    the weight of the upper one.
    """
    pos = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    pos = np.clip(pos, 0, n_in - 1)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    return lo, hi, pos - lo


@_per_image
def resize(x: Any, size: int | Sequence[int]) -> Any:
    """Bilinear resize: ``(N, C, H, W) -> (N, C, h, w)`` with ``size = h`` (square) or
    ``(h, w)``.

    Each output pixel is a weighted mean of the 2x2 input pixels around where it falls.
    Shrinking by much more than 2x skips input pixels (aliasing); crop first, or shrink in
    steps, when that matters.
    """
    h, w = check_pair(size, "size", 1)
    xp = xp_of(x)
    out = x
    for axis, n_out in ((2, h), (3, w)):  # one axis at a time: bilinear is separable
        lo, hi, frac = _interpolation(out.shape[axis], n_out)
        shape = [1, 1, 1, 1]
        shape[axis] = n_out
        frac = xp.asarray(frac.astype(x.dtype).reshape(shape))
        lo_v = xp.take(out, xp.asarray(lo), axis=axis)
        hi_v = xp.take(out, xp.asarray(hi), axis=axis)
        out = lo_v + (hi_v - lo_v) * frac
    return out


def mean_image(X: Any) -> Any:
    """The mean over the batch of every pixel and channel: ``(N, C, H, W) -> (C, H, W)``.
    Subtracting it centres each input dimension at zero."""
    check_float_array(X, "X", 4, "(N, C, H, W)")
    return X.mean(axis=0)


def std_image(X: Any) -> Any:
    """The standard deviation over the batch of every pixel and channel:
    ``(N, C, H, W) -> (C, H, W)``."""
    check_float_array(X, "X", 4, "(N, C, H, W)")
    return X.std(axis=0)


def normalize(X: Any, mean: Any = None, std: Any = None, eps: float = 1e-8) -> Any:
    """``(X - mean) / (std + eps)``: every input dimension gets mean 0 and standard deviation 1
    over the training set.

    ``mean`` and ``std`` default to :func:`mean_image` and :func:`std_image` of ``X``. For
    validation and test images pass the *training* set's mean and std: the network must see
    every image transformed the same way. Per-channel statistics, shape ``(C, 1, 1)``, work too.
    """
    check_float_array(X, "X", 4, "(N, C, H, W)")
    mean = mean_image(X) if mean is None else mean
    std = std_image(X) if std is None else std
    for name, stat in (("mean", mean), ("std", std)):
        if getattr(stat, "ndim", 0) > 3 or (getattr(stat, "ndim", 0) == 3
                                             and stat.shape[0] not in (1, X.shape[1])):
            raise ValueError(f"{name} must be an image (C, H, W) or per-channel (C, 1, 1) with "
                             f"C = {X.shape[1]}, got shape {tuple(stat.shape)}")
    return ((X - mean) / (std + eps)).astype(X.dtype, copy=False)


@_per_image
def grayscale(x: Any) -> Any:
    """Collapse colour to brightness: ``(N, 3, H, W) -> (N, 1, H, W)``, a weighted sum of red,
    green and blue with :data:`LUMA_WEIGHTS`. Grey images (one channel) come back unchanged."""
    C = x.shape[1]
    if C == 1:
        return x
    if C != 3:
        raise ValueError(f"grayscale needs 1 or 3 channels (RGB), got x with {C} channels "
                         f"(shape {tuple(x.shape)})")
    xp = xp_of(x)
    weights = xp.asarray(np.array(LUMA_WEIGHTS, dtype=x.dtype).reshape(1, 3, 1, 1))
    return (x * weights).sum(axis=1, keepdims=True)


# --------------------------------------------------------------------------------------------
# Augmentation
# --------------------------------------------------------------------------------------------
@_per_image
def random_flip(x: Any, seed: Any = None, p: float = 0.5) -> Any:
    """Mirror each image left-right with probability ``p`` (a picture of a cat mirrored is
    still a cat). Returns a new array."""
    rng = as_rng(seed)
    if not 0 <= p <= 1:
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
    xp = xp_of(x)
    flip = xp.asarray(rng.random(x.shape[0]) < p).reshape(-1, 1, 1, 1)
    return xp.where(flip, x[..., ::-1], x)


@_per_image
def random_crop(x: Any, size: int | Sequence[int], seed: Any = None, pad: int = 0) -> Any:
    """A window of ``size`` (``h`` or ``(h, w)``) at a random place in each image, after
    ``pad`` zeros around it (CIFAR-10's classic augmentation: pad 4, crop 32).

    Returns ``(N, C, h, w)``.
    """
    rng = as_rng(seed)
    h, w = check_pair(size, "size", 1)
    pad = check_int(pad, "pad", 0)
    xp = xp_of(x)
    if pad:
        x = xp.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    N, C, H, W = x.shape
    if h > H or w > W:
        raise ValueError(f"the crop {h}x{w} is larger than the (padded) image {H}x{W}")
    tops = rng.integers(0, H - h + 1, size=N)
    lefts = rng.integers(0, W - w + 1, size=N)
    # Gather all windows at once: rows[n, i] = tops[n] + i, cols[n, j] = lefts[n] + j.
    rows = xp.asarray(tops[:, None] + np.arange(h))[:, None, :, None]
    cols = xp.asarray(lefts[:, None] + np.arange(w))[:, None, None, :]
    batch = xp.arange(N)[:, None, None, None]
    chans = xp.arange(C)[None, :, None, None]
    return x[batch, chans, rows, cols]


@_per_image
def affine(x: Any, rotation: Any = 0.0, scale: Any = 1.0, shift: Any = (0.0, 0.0),
           fill: float = 0.0) -> Any:
    """Rotate, scale and shift each image about its centre (bilinear sampling).

    Inputs:
    - x: (N, C, H, W)
    - rotation: degrees, counter-clockwise; a number for all images or one per image (N,)
    - scale: zoom factor (> 1 enlarges); a number or (N,)
    - shift: (dy, dx) in pixels, each a number or (N,)
    - fill: the value of pixels that come from outside the image

    Returns an array of the same shape. Each output pixel looks up where it came from (the
    inverse transform) and interpolates between the four input pixels around that point.
    """
    N, C, H, W = x.shape
    angle = np.deg2rad(np.broadcast_to(np.asarray(rotation, dtype=np.float64), (N,)))
    scale = np.broadcast_to(np.asarray(scale, dtype=np.float64), (N,))
    if np.any(scale <= 0):
        raise ValueError(f"scale must be > 0, got {scale}")
    dy, dx = (np.broadcast_to(np.asarray(s, dtype=np.float64), (N,)) for s in shift)
    # Output pixel (y, x) relative to the centre, moved back by the shift, rotated back and
    # unscaled, gives the input position it samples. (Rows grow downwards: turning the
    # picture counter-clockwise on screen, the output at row y, column x reads the input at
    # row y cos + x sin, column x cos - y sin.)
    cy, cx = (H - 1) / 2, (W - 1) / 2
    yy, xx = np.meshgrid(np.arange(H) - cy, np.arange(W) - cx, indexing="ij")
    yy = yy[None] - dy[:, None, None]
    xx = xx[None] - dx[:, None, None]
    cos, sin = (np.cos(angle) / scale)[:, None, None], (np.sin(angle) / scale)[:, None, None]
    src_y = cos * yy + sin * xx + cy
    src_x = cos * xx - sin * yy + cx
    return _bilinear_sample(x, src_y, src_x, fill)


@_per_image
def random_affine(x: Any, seed: Any = None, max_rotation: float = 10.0, max_shift: float = 0.1,
                  max_scale: float = 0.1, fill: float = 0.0) -> Any:
    """A small random :func:`affine` transform of each image.

    Inputs:
    - x: (N, C, H, W)
    - seed: int, numpy Generator or None
    - max_rotation: degrees; each image turns by a uniform angle in [-max, max]
    - max_shift: fraction of the size; shifts uniform in [-max, max] * (H, W)
    - max_scale: zoom uniform in [1 - max, 1 + max]
    - fill: the value of pixels that come from outside the image
    """
    rng = as_rng(seed)
    N, _, H, W = x.shape
    if not 0 <= max_scale < 1:
        raise ValueError(f"max_scale must be in [0, 1), got {max_scale!r}")
    rotation = rng.uniform(-max_rotation, max_rotation, N)
    scale = rng.uniform(1 - max_scale, 1 + max_scale, N)
    shift = (rng.uniform(-max_shift, max_shift, N) * H, rng.uniform(-max_shift, max_shift, N) * W)
    return affine(x, rotation, scale, shift, fill)


def _bilinear_sample(x: Any, src_y: Any, src_x: Any, fill: float) -> Any:
    """Sample ``x`` (N, C, H, W) at real-valued positions ``(src_y, src_x)`` (N, H, W), both
    host arrays; the four neighbours of each position are weighted by closeness, and a
    neighbour outside the image reads ``fill``."""
    xp = xp_of(x)
    N, C, H, W = x.shape
    y0, x0 = np.floor(src_y).astype(np.int64), np.floor(src_x).astype(np.int64)
    wy, wx = (src_y - y0).astype(x.dtype), (src_x - x0).astype(x.dtype)
    flat = x.reshape(N, C, H * W)
    fill_value = xp.asarray(fill, dtype=x.dtype)
    out = xp.zeros((N, C, H, W), dtype=x.dtype)
    for dy, dx in ((0, 0), (0, 1), (1, 0), (1, 1)):
        yi, xi = y0 + dy, x0 + dx
        weight = (wy if dy else 1 - wy) * (wx if dx else 1 - wx)
        valid = (yi >= 0) & (yi < H) & (xi >= 0) & (xi < W)
        index = np.where(valid, yi * W + xi, 0).reshape(N, 1, H * W)
        corner = xp.take_along_axis(flat, xp.asarray(index), axis=2).reshape(N, C, H, W)
        corner = xp.where(xp.asarray(valid[:, None]), corner, fill_value)
        out += corner * xp.asarray(weight[:, None])
    return out


def augment(x: Any, seed: Any = None, flip: bool = True, crop: int | Sequence[int] | None = None,
            pad: int = 0, affine: bool | dict = False) -> Any:
    """A random perturbation of each image: an optional small affine transform (``affine=True``
    or a dict of :func:`random_affine` settings), a left-right flip (``flip``), and a random
    crop of ``crop`` after ``pad`` zeros (``crop=None``: no crop). One seed drives all three.
    """
    rng = as_rng(seed)
    if affine:
        x = random_affine(x, rng, **(affine if isinstance(affine, dict) else {}))
    if flip:
        x = random_flip(x, rng)
    if crop is not None:
        x = random_crop(x, crop, rng, pad)
    return x

