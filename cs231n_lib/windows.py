"""Sliding windows: the one utility that conv, pooling, locally-connected layers, im2col and
the visualizers share (modelled on Chainer's ``utils/conv.py``).

A layer that slides a window of ``HH x WW`` taps over an input x of shape (N, C, H, W) needs,
on each axis, the same few things, and they live here once:

* the **dilated span** of a window, ``span = dilation*(HH - 1) + 1`` input pixels
  (:func:`dilated_span`; dilation in PyTorch's convention, 1 = contiguous taps);
* the **output size** ``H_out = (H + 2*pad - span)/stride + 1``, with an error that shows the
  arithmetic when the windows do not fit (:func:`window_output_shape`);
* the **geometry of a layer** read from its ``conv_param`` or ``pool_param``
  (:class:`Window`, :func:`conv_window`, :func:`pool_window`), which says which rows and
  columns of the padded input lie under each output;
* **padding** and its inverse (:func:`pad_spatial`, :func:`unpad_spatial`);
* **every window at once** as a view, ``(N, C, H_out, W_out, HH, WW)``
  (:func:`sliding_windows`), and its transpose, which adds gradients of windows back where
  they were taken from (:func:`add_windows`): the backward pass of anything that reads windows.

Symbols: ``HH, WW`` taps per window, ``stride``, ``pad``, ``dilation`` (height, width) pairs,
``Hp = H + 2*pad_h`` the padded height.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from .backend import xp_of
from .geometry import ConvGeometryError, conv_output_size, pool_output_size
from .validate import check_int, check_pair, check_params

__all__ = [
    "dilated_span", "window_output_shape", "Window", "conv_window", "pool_window",
    "pad_spatial", "unpad_spatial", "sliding_windows", "add_windows",
]

Pair = tuple[int, int]


def dilated_span(size: int, dilation: int = 1) -> int:
    """How many input pixels a window of ``size`` taps covers with ``dilation``:
    ``dilation*(size - 1) + 1`` (the taps, and the ``dilation - 1`` pixels skipped between
    neighbouring taps)."""
    return dilation * (size - 1) + 1


# --------------------------------------------------------------------------------------------
# The geometry of a layer
# --------------------------------------------------------------------------------------------
def window_output_shape(H: int, W: int, HH: int, WW: int, stride: Pair,
                        pad: Pair = (0, 0), dilation: Pair = (1, 1),
                        what: str = "conv") -> Pair:
    """``(H_out, W_out)`` of a ``HH x WW`` window sliding over ``H x W``.

    ``what`` ("conv" or "pool") chooses the wording of errors; each error says which axis
    (height or width) does not fit and shows the arithmetic.
    """
    out = []
    for axis, size, f, s, p, d in (("height", H, HH, stride[0], pad[0], dilation[0]),
                                   ("width", W, WW, stride[1], pad[1], dilation[1])):
        try:
            if what == "pool":
                out.append(pool_output_size(size, f, s, p))
            else:
                out.append(conv_output_size(size, f, s, p, d))
        except ConvGeometryError as exc:
            raise ConvGeometryError(f"{what} geometry along the {axis}: {exc}") from None
    return out[0], out[1]


@dataclass(frozen=True)
class Window:
    """The geometry of one sliding-window layer, each field a (height, width) pair.

    - size: (HH, WW) taps per window
    - stride, pad, dilation: as in ``conv_param`` / ``pool_param``
    - out: (H_out, W_out), the output size
    """
    size: Pair
    stride: Pair
    pad: Pair
    dilation: Pair
    out: Pair

    @property
    def span(self) -> Pair:
        """(rows, columns) of input that one dilated window covers."""
        return (dilated_span(self.size[0], self.dilation[0]),
                dilated_span(self.size[1], self.dilation[1]))

    def rows(self, i: int) -> slice:
        """The rows of the padded input under output row ``i`` (every ``dilation``-th)."""
        start = i * self.stride[0]
        return slice(start, start + self.span[0], self.dilation[0])

    def cols(self, j: int) -> slice:
        """The columns of the padded input under output column ``j``."""
        start = j * self.stride[1]
        return slice(start, start + self.span[1], self.dilation[1])

    def taps(self) -> Iterator[tuple[slice, slice]]:
        """For each tap (i, j) of the window, in row-major order, the rows and columns of the
        padded input that it reads for every output at once (two strided slices):
        ``x_pad[..., rows, cols]`` has shape (..., H_out, W_out)."""
        for i in range(self.size[0]):
            for j in range(self.size[1]):
                yield _tap_slices(i, j, self.out, self.stride, self.dilation)


def _tap_slices(i: int, j: int, out: Pair, stride: Pair, dilation: Pair) -> tuple[slice, slice]:
    """The rows and columns of the padded input that tap (i, j) reads, one per output: tap
    (i, j) of output (h, w) is pixel ``(stride_h*h + dilation_h*i, stride_w*w + dilation_w*j)``."""
    r0, c0 = i * dilation[0], j * dilation[1]
    return (slice(r0, r0 + stride[0] * (out[0] - 1) + 1, stride[0]),
            slice(c0, c0 + stride[1] * (out[1] - 1) + 1, stride[1]))


def conv_window(x: Any, HH: int, WW: int, conv_param: Any, layer: str) -> Window:
    """Read ``conv_param = {'stride', 'pad', 'dilation'=1}`` and size the output of an
    ``HH x WW`` filter over ``x`` (N, C, H, W). The errors name ``conv_param`` and show the
    arithmetic of the axis that does not fit; ``layer`` names the caller in them."""
    p = check_params(conv_param, "conv_param", required=("stride", "pad"), optional={"dilation": 1})
    stride = check_pair(p["stride"], "conv_param['stride']", 1)
    pad = check_pair(p["pad"], "conv_param['pad']", 0)
    dilation = check_pair(p["dilation"], "conv_param['dilation']", 1)
    H, W = x.shape[-2:]
    try:
        out = window_output_shape(H, W, HH, WW, stride, pad, dilation, what="conv")
    except ConvGeometryError as exc:
        raise ConvGeometryError(
            f"{layer}: a {HH}x{WW} filter with conv_param {dict(conv_param)} does not fit x of "
            f"shape {tuple(x.shape)}: {exc}") from None
    return Window((HH, WW), stride, pad, dilation, out)


def pool_window(x: Any, pool_param: Any, layer: str) -> Window:
    """Read ``pool_param = {'pool_height', 'pool_width', 'stride', 'pad'=0}`` for ``x``.

    Padding may be at most half the window on each axis (PyTorch's rule), so that every
    window holds at least one real input pixel.
    """
    p = check_params(pool_param, "pool_param", required=("pool_height", "pool_width", "stride"),
                     optional={"pad": 0})
    size = (check_int(p["pool_height"], "pool_param['pool_height']", 1),
            check_int(p["pool_width"], "pool_param['pool_width']", 1))
    stride = check_pair(p["stride"], "pool_param['stride']", 1)
    pad = check_pair(p["pad"], "pool_param['pad']", 0)
    for axis, f, q in (("height", size[0], pad[0]), ("width", size[1], pad[1])):
        if 2 * q > f:
            raise ValueError(f"pool_param['pad'] = {q} along the {axis} is more than half the "
                             f"{f}-pixel window; a window could then hold only padding")
    H, W = x.shape[-2:]
    try:
        out = window_output_shape(H, W, size[0], size[1], stride, pad, what="pool")
    except ConvGeometryError as exc:
        raise ConvGeometryError(
            f"{layer}: pool_param {dict(pool_param)} does not fit x of shape {tuple(x.shape)}: "
            f"{exc}") from None
    return Window(size, stride, pad, (1, 1), out)


# --------------------------------------------------------------------------------------------
# Padding
# --------------------------------------------------------------------------------------------
def pad_spatial(x: Any, pad: Pair, value: float = 0) -> Any:
    """``x`` (..., H, W) with ``pad[0]`` rows of zeros above and below and ``pad[1]``
    columns left and right; ``x`` itself when there is nothing to pad.

    ``value`` fills the border instead of zeros: max pooling pads with ``-inf`` so that
    padding never wins a window (PyTorch's rule)."""
    ph, pw = pad
    if ph == 0 and pw == 0:
        return x
    xp = xp_of(x)
    width = ((0, 0),) * (x.ndim - 2) + ((ph, ph), (pw, pw))
    return xp.pad(x, width, constant_values=value)


def unpad_spatial(x_padded: Any, pad: Pair) -> Any:
    """The inverse of :func:`pad_spatial` (a view): the gradient of the padded input,
    cropped back to the input. Written with explicit ends so that ``pad = 0`` works
    (``x[p:-p]`` would be empty for p = 0)."""
    ph, pw = pad
    H, W = x_padded.shape[-2:]
    return x_padded[..., ph:H - ph, pw:W - pw]


# --------------------------------------------------------------------------------------------
# Every window at once, and the way back
# --------------------------------------------------------------------------------------------
def sliding_windows(x_pad: Any, size: Pair, stride: Pair, dilation: Pair = (1, 1)) -> Any:
    """Every ``size`` window of the (already padded) input, as a read-only view (no copy).

    Inputs:
    - x_pad: shape (..., Hp, Wp), e.g. (N, C, Hp, Wp)
    - size: (HH, WW) taps per window; stride, dilation: (height, width) pairs

    Returns:
    - windows: shape (..., H_out, W_out, HH, WW); ``windows[n, c, i, j]`` is the window under
      output position (i, j), ``H_out = (Hp - span_h)//stride_h + 1``
    """
    xp = xp_of(x_pad)
    span = (dilated_span(size[0], dilation[0]), dilated_span(size[1], dilation[1]))
    # all windows of the dilated span at stride 1, then keep every stride-th window and every
    # dilation-th tap inside it (slicing a view: still no copy)
    every = xp.lib.stride_tricks.sliding_window_view(x_pad, span, axis=(-2, -1))
    return every[..., ::stride[0], ::stride[1], ::dilation[0], ::dilation[1]]


def add_windows(dwindows: Any, padded_shape: tuple[int, ...], stride: Pair,
                dilation: Pair = (1, 1)) -> Any:
    """The adjoint of :func:`sliding_windows`: add every window's gradient back where the
    window was taken from (overlapping windows add up).

    One strided add per filter tap: tap (i, j) of all windows at once is a strided slice of
    the padded input, so the loop runs HH*WW times, never over output pixels.

    Inputs:
    - dwindows: shape (..., H_out, W_out, HH, WW)
    - padded_shape: (..., Hp, Wp), the shape of the padded input

    Returns:
    - dx_pad: shape padded_shape, dtype of dwindows
    """
    xp = xp_of(dwindows)
    dx_pad = xp.zeros(padded_shape, dtype=dwindows.dtype)
    H_out, W_out, HH, WW = dwindows.shape[-4:]
    for i in range(HH):
        for j in range(WW):
            rows, cols = _tap_slices(i, j, (H_out, W_out), stride, dilation)
            dx_pad[..., rows, cols] += dwindows[..., i, j]
    return dx_pad
