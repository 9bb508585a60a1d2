"""The wide im2col layout: the unfolded matrix the fast convolution multiplies, built from long
contiguous copies.

:func:`cs231n_lib.im2col.im2col` gives every output position its own column. Here each output
row is computed ``Wq`` columns wide instead of ``W_out`` (``Wq - W_out`` extra "overhang"
columns whose results are thrown away). In exchange, the values one filter tap sees for ALL
output positions of an image plane are one contiguous slice of the flattened padded plane, so
building the matrix is HH*WW long copies and folding it back (col2im) HH*WW long adds: no
per-row bookkeeping, which is where the textbook version spends its time. Strides larger than
1 are handled by first splitting the input into ``stride_h*stride_w`` phase planes (every
stride-th pixel), in which every tap moves by 1 from one output to the next.

The layer works on a block of images at a time (:meth:`WideGrid.blocks`), so that the
unfolded matrix of a block stays in the CPU cache between being built and being multiplied,
and the whole matrix never exists at once.

Symbols: x (N, C, H, W); HH x WW taps; stride, pad, dilation (height, width) pairs;
``Hp = H + 2*pad_h``, ``Wp = W + 2*pad_w``; ``n`` images in a block; ``K = C*HH*WW`` rows of
the unfolded matrix, ``L = H_out*Wq`` columns per image.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from .backend import xp_of
from .windows import Pair, Window

__all__ = ["WideGrid", "to_phase_planes", "from_phase_planes", "im2col_wide", "col2im_wide"]

BLOCK_BYTES = 4 << 20  # one block's unfolded matrix: about the size of the cores' L2 caches


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
    (backward). The last tap's slice may run ``qj`` entries past the last real row: that is
    what the spare row is for.
    """
    x_shape: tuple[int, int, int, int]
    window: Window          # the layer's geometry: size, stride, pad, dilation, out

    @property
    def plane(self) -> Pair:
        """(Hq, Wq): the size of one phase plane, spare row included."""
        Hp = self.x_shape[2] + 2 * self.window.pad[0]
        Wp = self.x_shape[3] + 2 * self.window.pad[1]
        ceil = lambda a, b: -(-a // b)  # noqa: E731  (integer division rounding up)
        return ceil(Hp, self.window.stride[0]) + 1, ceil(Wp, self.window.stride[1])

    @property
    def length(self) -> int:
        """Columns per image in the wide layout: ``L = H_out * Wq``."""
        return self.window.out[0] * self.plane[1]

    @property
    def rows(self) -> int:
        """Rows of the unfolded matrix: ``K = C*HH*WW``, one per (channel, tap)."""
        return self.x_shape[1] * self.window.size[0] * self.window.size[1]

    def taps(self) -> Iterator[tuple[int, int, int, int]]:
        """(i, j, phase, offset) for every tap, in row-major (i, j) order."""
        Wq = self.plane[1]
        for i in range(self.window.size[0]):
            qi, a = divmod(i * self.window.dilation[0], self.window.stride[0])
            for j in range(self.window.size[1]):
                qj, b = divmod(j * self.window.dilation[1], self.window.stride[1])
                yield i, j, a * self.window.stride[1] + b, qi * Wq + qj

    def blocks(self, itemsize: int) -> Iterator[slice]:
        """Consecutive blocks of images whose unfolded matrix (``K x n*L`` numbers of
        ``itemsize`` bytes) fits in ``BLOCK_BYTES``: at least one image per block."""
        N = self.x_shape[0]
        n = max(1, min(N, BLOCK_BYTES // max(self.rows * self.length * itemsize, 1)))
        for start in range(0, N, n):
            yield slice(start, min(start + n, N))

    def drop_overhang(self, wide: Any) -> Any:
        """A view of the real outputs: (F, n*H_out*Wq) -> (F, n, H_out, W_out)."""
        F, n = wide.shape[0], wide.shape[1] // self.length
        return wide.reshape(F, n, self.window.out[0], self.plane[1])[..., :self.window.out[1]]

    def widen(self, dout: Any) -> Any:
        """``dout`` of a block (n, F, H_out, W_out) in the wide layout (F, n*H_out*Wq), with
        zeros on the overhang columns (so they add nothing to dw and leave zeros in dcols)."""
        n, F = dout.shape[:2]
        wide = xp_of(dout).zeros((F, n * self.length), dtype=dout.dtype)
        self.drop_overhang(wide)[...] = dout.transpose(1, 0, 2, 3)
        return wide


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
    (sh, sw), (ph, pw), (Hq, Wq) = grid.window.stride, grid.window.pad, grid.plane
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
    (sh, sw), (ph, pw), (Hq, Wq) = grid.window.stride, grid.window.pad, grid.plane
    padded = dplanes.reshape(N, C, sh, sw, Hq, Wq).transpose(0, 1, 4, 2, 5, 3)
    return padded.reshape(N, C, Hq * sh, Wq * sw)[:, :, ph:ph + H, pw:pw + W]


def im2col_wide(planes: Any, grid: WideGrid) -> Any:
    """The wide im2col matrix of ``n`` images: one long copy per filter tap.

    Inputs:
    - planes: shape (n, C, stride_h*stride_w, Hq*Wq), from :func:`to_phase_planes` (all N
      images, or a block of them)

    Returns:
    - cols: shape (C*HH*WW, n*H_out*Wq), rows ordered (c, i, j) like :func:`im2col`, columns
      (n, h_out, w) with w running over Wq (the last ``Wq - W_out`` are overhang)
    """
    xp = xp_of(planes)
    n, C = planes.shape[:2]
    (HH, WW), L = grid.window.size, grid.length
    cols = xp.empty((C, HH, WW, n, L), dtype=planes.dtype)
    by_channel = planes.transpose(1, 0, 2, 3)  # (C, n, phases, Hq*Wq), a view
    for i, j, phase, offset in grid.taps():
        cols[:, i, j] = by_channel[:, :, phase, offset:offset + L]
    return cols.reshape(C * HH * WW, n * L)


def col2im_wide(dcols: Any, grid: WideGrid, out: Any = None) -> Any:
    """The adjoint of :func:`im2col_wide`: one long add per filter tap.

    Inputs:
    - dcols: shape (C*HH*WW, n*H_out*Wq) for n images (all N, or a block of them); its
      overhang columns must be zero (they are when ``dcols = w.T @ grid.widen(dout)``)
    - out: optional array of shape (n, C, stride_h*stride_w, Hq*Wq) to add into (default: a
      new array of zeros)

    Returns:
    - dplanes: shape (n, C, stride_h*stride_w, Hq*Wq) (``out`` when given);
      :func:`from_phase_planes` turns the planes of all N images into dx
    """
    xp = xp_of(dcols)
    C = grid.x_shape[1]
    (HH, WW), L = grid.window.size, grid.length
    n = dcols.shape[1] // L
    if out is None:
        Hq, Wq = grid.plane
        out = xp.zeros((n, C, grid.window.stride[0] * grid.window.stride[1], Hq * Wq), dtype=dcols.dtype)
    by_channel = out.transpose(1, 0, 2, 3)  # (C, n, phases, Hq*Wq), a view
    per_tap = dcols.reshape(C, HH, WW, n, L)
    for i, j, phase, offset in grid.taps():
        by_channel[:, :, phase, offset:offset + L] += per_tap[:, i, j]
    return out
