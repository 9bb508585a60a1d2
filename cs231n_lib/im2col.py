"""im2col: every window of the input laid out as one column of a matrix.

A convolution computes, at every output position, the dot product of one filter with the
window of input under it. Stack every window as a column and every filter as a row, and the
whole layer is ONE matrix product::

    cols = im2col(x, HH, WW, stride, pad)      # (C*HH*WW, N*H_out*W_out)
    out  = w.reshape(F, -1) @ cols             # (F, N*H_out*W_out)

For AlexNet's first layer (x of 3x227x227, 96 filters of 11x11x3, stride 4) the matrix is
363 x 3025 per image: 363 = 3*11*11 numbers per window, 3025 = 55*55 windows.

Symbols: x is (N, C, H, W); a window is HH x WW taps; stride, pad and dilation are
(height, width) pairs (dilation in PyTorch's convention: 1 = contiguous taps). A window spans
``span = dilation*(HH - 1) + 1`` rows and ``H_out = (H + 2*pad - span)/stride + 1``.

Two layouts live here:

* **The textbook layout** (:func:`im2col`, :func:`col2im`): rows ordered (c, i, j) like
  ``w.reshape(F, -1)``, columns ordered (n, h_out, w_out). Built from a
  ``sliding_window_view`` of the padded input; :func:`col2im` goes back by looping over the
  HH*WW filter taps, each one strided add. This is the matrix the notebooks show.

* **The wide layout** (:class:`WideGrid`, :func:`im2col_wide`, :func:`col2im_wide`), which
  :mod:`cs231n_lib.fast_layers` uses. Same rows, but each output row is computed ``Wq``
  columns wide instead of ``W_out`` (a few extra "overhang" columns whose results are thrown
  away). In exchange, the values one tap sees for ALL output positions of an image plane are
  one contiguous slice of the flattened input plane, so building the matrix is HH*WW long
  memory copies and col2im is HH*WW long adds: no per-row bookkeeping, which is where the
  textbook version spends its time. Strides larger than 1 are handled by first splitting the
  input into ``stride_h*stride_w`` phase planes (every stride-th pixel), in which every tap
  moves by 1 from one output to the next.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from .backend import xp_of
from .validate import check_array, check_int, check_pair
from .windows import pad_spatial, unpad_spatial, window_output_shape

__all__ = [
    "sliding_windows", "add_windows", "im2col", "col2im",
    "WideGrid", "to_phase_planes", "from_phase_planes", "im2col_wide", "col2im_wide",
]

Pair = tuple[int, int]


# --------------------------------------------------------------------------------------------
# Windows of a padded input, and the way back
# --------------------------------------------------------------------------------------------
def sliding_windows(x_pad: Any, size: Pair, stride: Pair, dilation: Pair = (1, 1)) -> Any:
    """Every ``size`` window of the (already padded) input, as a read-only view (no copy).

    Inputs:
    - x_pad: shape (N, C, Hp, Wp)
    - size: (HH, WW) taps per window; stride, dilation: (height, width) pairs

    Returns:
    - windows: shape (N, C, H_out, W_out, HH, WW); ``windows[n, c, i, j]`` is the window under
      output position (i, j), ``H_out = (Hp - span_h)//stride_h + 1``
    """
    xp = xp_of(x_pad)
    span = (dilation[0] * (size[0] - 1) + 1, dilation[1] * (size[1] - 1) + 1)
    # all windows of the dilated span at stride 1, then keep every stride-th window and every
    # dilation-th tap inside it (slicing a view: still no copy)
    every = xp.lib.stride_tricks.sliding_window_view(x_pad, span, axis=(2, 3))
    return every[:, :, ::stride[0], ::stride[1], ::dilation[0], ::dilation[1]]


def _tap_slices(i: int, j: int, out: Pair, stride: Pair, dilation: Pair) -> tuple[slice, slice]:
    """The rows and columns of the padded input that tap (i, j) touches, one per output."""
    r0, c0 = i * dilation[0], j * dilation[1]
    return (slice(r0, r0 + stride[0] * (out[0] - 1) + 1, stride[0]),
            slice(c0, c0 + stride[1] * (out[1] - 1) + 1, stride[1]))


def add_windows(dwindows: Any, padded_shape: tuple[int, ...], stride: Pair,
                dilation: Pair = (1, 1)) -> Any:
    """The adjoint of :func:`sliding_windows`: add every window's gradient back where the
    window was taken from (overlapping windows add up).

    One strided add per filter tap: tap (i, j) of all windows at once is a strided slice of
    the padded input, so the loop runs HH*WW times, never over output pixels.

    Inputs:
    - dwindows: shape (N, C, H_out, W_out, HH, WW)
    - padded_shape: (N, C, Hp, Wp), the shape of the padded input

    Returns:
    - dx_pad: shape padded_shape, dtype of dwindows
    """
    xp = xp_of(dwindows)
    dx_pad = xp.zeros(padded_shape, dtype=dwindows.dtype)
    H_out, W_out, HH, WW = dwindows.shape[2:]
    for i in range(HH):
        for j in range(WW):
            rows, cols = _tap_slices(i, j, (H_out, W_out), stride, dilation)
            dx_pad[:, :, rows, cols] += dwindows[:, :, :, :, i, j]
    return dx_pad


# --------------------------------------------------------------------------------------------
# The textbook layout: (C*HH*WW, N*H_out*W_out)
# --------------------------------------------------------------------------------------------
def _geometry(shape: tuple[int, ...], HH: Any, WW: Any, stride: Any, pad: Any,
              dilation: Any) -> tuple[Pair, Pair, Pair, Pair, Pair]:
    size = (check_int(HH, "HH", 1), check_int(WW, "WW", 1))
    stride = check_pair(stride, "stride", 1)
    pad = check_pair(pad, "pad", 0)
    dilation = check_pair(dilation, "dilation", 1)
    out = window_output_shape(shape[2], shape[3], size[0], size[1], stride, pad, dilation)
    return size, stride, pad, dilation, out


def im2col(x: Any, HH: int, WW: int, stride: Any = 1, pad: Any = 0, dilation: Any = 1) -> Any:
    """Unfold every HH x WW window of ``x`` into one column.

    Inputs:
    - x: shape (N, C, H, W)
    - HH, WW: filter height and width
    - stride, pad, dilation: ints or (height, width) pairs, as in ``conv_param``

    Returns:
    - cols: shape (C*HH*WW, N*H_out*W_out). Row ``c*HH*WW + i*WW + j`` holds tap (i, j) of
      channel c (the order of ``w.reshape(F, -1)``); column ``n*H_out*W_out + h*W_out + w``
      is the window under output (h, w) of image n. So ``w.reshape(F, -1) @ cols`` is the
      convolution, shaped (F, N*H_out*W_out).

    Example: AlexNet's conv1, ``im2col(x, 11, 11, stride=4)`` with x of shape
    (1, 3, 227, 227), gives a 363 x 3025 matrix.
    """
    check_array(x, "x", 4, "(N, C, H, W)")
    size, stride, pad, dilation, (H_out, W_out) = _geometry(x.shape, HH, WW, stride, pad,
                                                             dilation)
    N, C = x.shape[:2]
    windows = sliding_windows(pad_spatial(x, pad), size, stride, dilation)  # (N,C,Ho,Wo,HH,WW)
    # reorder to (C, HH, WW, N, Ho, Wo): the reshape then copies the view into the matrix
    return windows.transpose(1, 4, 5, 0, 2, 3).reshape(C * size[0] * size[1], N * H_out * W_out)


def col2im(cols: Any, x_shape: tuple[int, ...], HH: int, WW: int, stride: Any = 1,
           pad: Any = 0, dilation: Any = 1) -> Any:
    """Fold columns back onto the input, adding where windows overlap: the adjoint of
    :func:`im2col`, which is exactly what the backward pass of a convolution needs.

    Inputs:
    - cols: shape (C*HH*WW, N*H_out*W_out), laid out as :func:`im2col` returns it
    - x_shape: (N, C, H, W), the shape of the input that was unfolded
    - HH, WW, stride, pad, dilation: as for :func:`im2col`

    Returns:
    - x: shape (N, C, H, W); each pixel is the sum of its entries in ``cols``
    """
    if len(x_shape) != 4:
        raise ValueError(f"x_shape must be (N, C, H, W), got {tuple(x_shape)}")
    size, stride, pad, dilation, (H_out, W_out) = _geometry(x_shape, HH, WW, stride, pad,
                                                             dilation)
    N, C, H, W = x_shape
    expected = (C * size[0] * size[1], N * H_out * W_out)
    check_array(cols, "cols", 2)
    if tuple(cols.shape) != expected:
        raise ValueError(f"cols must have shape {expected} for x_shape {tuple(x_shape)}, "
                         f"got {tuple(cols.shape)}")
    dwindows = cols.reshape(C, size[0], size[1], N, H_out, W_out).transpose(3, 0, 4, 5, 1, 2)
    padded_shape = (N, C, H + 2 * pad[0], W + 2 * pad[1])
    return unpad_spatial(add_windows(dwindows, padded_shape, stride, dilation), pad)


# --------------------------------------------------------------------------------------------
# The wide layout: (C*HH*WW, N*H_out*Wq), built from long contiguous slices
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WideGrid:
    """Where every filter tap reads, in the phase planes of a padded input.

    Phase planes: the padded input (N, C, Hp, Wp) split by the stride into
    ``stride_h*stride_w`` planes, plane (a, b) holding pixels (a + stride_h*y, b + stride_w*x).
    Each plane is ``Hq x Wq``: ``Wq = ceil(Wp/stride_w)``, ``Hq = ceil(Hp/stride_h) + 1``
    (one spare row of zeros, see below). With stride 1 there is one plane: the padded input.

    Tap (i, j) of the window under output (h, w) reads padded pixel
    ``(stride_h*h + dilation_h*i, stride_w*w + dilation_w*j)``. Writing
    ``dilation_h*i = stride_h*qi + a`` (and the same for the width), that pixel is
    ``(h + qi, w + qj)`` of plane (a, b): flattened, index ``h*Wq + w + (qi*Wq + qj)``. So for
    output rows computed ``Wq`` wide, tap (i, j) of every window of a plane is the contiguous
    slice ``[offset, offset + H_out*Wq)`` with ``offset = qi*Wq + qj``. The last ``Wq - W_out``
    columns of each output row are overhang: they read whatever lies there (padding, the start
    of the next row), their results are dropped (forward) and their gradients are zero
    (backward). The last tap's slice may run
    ``qj`` entries past the last real row: that is what the spare row is for.
    """
    x_shape: tuple[int, int, int, int]
    size: Pair
    stride: Pair
    pad: Pair
    dilation: Pair
    out: Pair

    @property
    def plane(self) -> Pair:
        """(Hq, Wq): the size of one phase plane, spare row included."""
        Hp = self.x_shape[2] + 2 * self.pad[0]
        Wp = self.x_shape[3] + 2 * self.pad[1]
        ceil = lambda a, b: -(-a // b)  # noqa: E731  (integer division rounding up)
        return ceil(Hp, self.stride[0]) + 1, ceil(Wp, self.stride[1])

    @property
    def length(self) -> int:
        """Columns per (image, channel) in the wide layout: ``H_out * Wq``."""
        return self.out[0] * self.plane[1]

    def taps(self) -> Iterator[tuple[int, int, int, int]]:
        """(i, j, phase, offset) for every tap, in row-major (i, j) order."""
        Wq = self.plane[1]
        for i in range(self.size[0]):
            qi, a = divmod(i * self.dilation[0], self.stride[0])
            for j in range(self.size[1]):
                qj, b = divmod(j * self.dilation[1], self.stride[1])
                yield i, j, a * self.stride[1] + b, qi * Wq + qj

    def drop_overhang(self, wide: Any) -> Any:
        """A view of the real outputs: (..., N*H_out*Wq) -> (..., N, H_out, W_out)."""
        N = self.x_shape[0]
        return wide.reshape(wide.shape[:-1] + (N, self.out[0], self.plane[1]))[..., :self.out[1]]


def to_phase_planes(x: Any, grid: WideGrid, dtype: Any = None) -> Any:
    """Pad ``x`` with zeros and split it into the phase planes of ``grid``.

    Inputs:
    - x: shape (N, C, H, W)
    - dtype: of the result (default: x's)

    Returns:
    - planes: shape (N, C, stride_h*stride_w, Hq*Wq), each plane flattened row by row
    """
    xp = xp_of(x)
    N, C, H, W = x.shape
    (sh, sw), (ph, pw), (Hq, Wq) = grid.stride, grid.pad, grid.plane
    padded = xp.zeros((N, C, Hq * sh, Wq * sw), dtype=x.dtype if dtype is None else dtype)
    padded[:, :, ph:ph + H, pw:pw + W] = x
    # pixel (sh*y + a, sw*x + b) -> plane (a, b), position (y, x); with stride 1 this
    # reshaping is free (no copy), otherwise it is one copy of the padded input
    planes = padded.reshape(N, C, Hq, sh, Wq, sw).transpose(0, 1, 3, 5, 2, 4)
    return xp.ascontiguousarray(planes).reshape(N, C, sh * sw, Hq * Wq)


def from_phase_planes(dplanes: Any, grid: WideGrid) -> Any:
    """The inverse of :func:`to_phase_planes`: put the planes back together and crop the
    padding. Returns shape (N, C, H, W) (a view into a new array)."""
    N, C, H, W = grid.x_shape
    (sh, sw), (ph, pw), (Hq, Wq) = grid.stride, grid.pad, grid.plane
    padded = dplanes.reshape(N, C, sh, sw, Hq, Wq).transpose(0, 1, 4, 2, 5, 3)
    return padded.reshape(N, C, Hq * sh, Wq * sw)[:, :, ph:ph + H, pw:pw + W]


def im2col_wide(planes: Any, grid: WideGrid) -> Any:
    """The wide im2col matrix: one long copy per filter tap.

    Inputs:
    - planes: shape (N, C, stride_h*stride_w, Hq*Wq), from :func:`to_phase_planes`

    Returns:
    - cols: shape (C*HH*WW, N*H_out*Wq), rows ordered (c, i, j) like :func:`im2col`, columns
      (n, h_out, w) with w running over Wq (the last ``Wq - W_out`` are overhang)
    """
    xp = xp_of(planes)
    N, C = planes.shape[:2]
    (HH, WW), L = grid.size, grid.length
    cols = xp.empty((C, HH, WW, N, L), dtype=planes.dtype)
    by_channel = planes.transpose(1, 0, 2, 3)  # (C, N, phases, Hq*Wq), a view
    for i, j, phase, offset in grid.taps():
        cols[:, i, j] = by_channel[:, :, phase, offset:offset + L]
    return cols.reshape(C * HH * WW, N * L)


def col2im_wide(dcols: Any, grid: WideGrid, out: Any = None) -> Any:
    """The adjoint of :func:`im2col_wide`: one long add per filter tap.

    Inputs:
    - dcols: shape (C*HH*WW, n*H_out*Wq) for n images (all N, or a block of them); its
      overhang columns must be zero (they are when ``dcols = w.T @ dout_wide`` and dout_wide
      is zero there)
    - out: optional array of shape (n, C, stride_h*stride_w, Hq*Wq) to add into (default: a
      new array of zeros)

    Returns:
    - dplanes: shape (n, C, stride_h*stride_w, Hq*Wq) (``out`` when given);
      :func:`from_phase_planes` turns the planes of all N images into dx
    """
    xp = xp_of(dcols)
    C = grid.x_shape[1]
    (HH, WW), L = grid.size, grid.length
    n = dcols.shape[1] // L
    if out is None:
        Hq, Wq = grid.plane
        out = xp.zeros((n, C, grid.stride[0] * grid.stride[1], Hq * Wq), dtype=dcols.dtype)
    by_channel = out.transpose(1, 0, 2, 3)  # (C, n, phases, Hq*Wq), a view
    per_tap = dcols.reshape(C, HH, WW, n, L)
    for i, j, phase, offset in grid.taps():
        by_channel[:, :, phase, offset:offset + L] += per_tap[:, i, j]
    return out
