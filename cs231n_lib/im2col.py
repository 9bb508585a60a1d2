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

Rows are ordered (c, i, j) like ``w.reshape(F, -1)``, columns (n, h_out, w_out).
:func:`im2col` copies a ``sliding_window_view`` of the padded input into that matrix;
:func:`col2im` goes back by looping over the HH*WW filter taps, one strided add each (both
from :mod:`cs231n_lib.windows`). The fast layers build the same matrix in another column
order, faster: :mod:`cs231n_lib.wide_layout`.
"""
from __future__ import annotations

from typing import Any

from .validate import check_array, check_int, check_pair
from .windows import add_windows, pad_spatial, sliding_windows, unpad_spatial, window_output_shape

__all__ = ["im2col", "col2im"]  # built on windows.sliding_windows and windows.add_windows

Pair = tuple[int, int]


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
