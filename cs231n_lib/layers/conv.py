"""The convolutional layer, written as a loop over output positions (the reference).

Symbols: x is (N, C, H, W), the filters w are (F, C, HH, WW), one bias per filter. With
stride S, zero padding P and dilation D (PyTorch's convention: D = 1 is a contiguous filter,
D = 2 leaves one pixel out between taps), a filter spans ``D*(HH - 1) + 1`` rows and the
output has ``H_out = (H + 2P - span)/S + 1`` rows (the same for the width).

Every output number is one dot product: the window of the padded input under output position
(i, j), read every D-th pixel, times one filter, plus its bias. The weights are *shared*: the
same filter is used at every position, which is what makes this layer small.

Backward: output (i, j) received ``dout[:, :, i, j]``; by the chain rule its window of the input
gets ``sum_f dout[n, f, i, j] * w[f]`` and filter f gets ``sum_n dout[n, f, i, j] * window[n]``.
Windows overlap when the stride is smaller than the span, so the contributions are added up.
"""
from __future__ import annotations

from typing import Any

from ..backend import xp_of
from ..windows import conv_window, pad_spatial, unpad_spatial
from ._checks import check_dout, check_filters, check_input_4d, check_vector


def conv_forward_naive(x: Any, w: Any, b: Any, conv_param: dict) -> tuple[Any, tuple]:
    """Forward pass of a convolutional layer, one example and one output position at a time.

    Inputs:
    - x: input, shape (N, C, H, W)
    - w: filters, shape (F, C, HH, WW)
    - b: biases, shape (F,)
    - conv_param: dict with
      - 'stride': step between windows, an int or a pair (stride_h, stride_w)
      - 'pad': zeros added on every side, an int or a pair (pad_h, pad_w)
      - 'dilation' (optional, default 1): gap between filter taps, PyTorch's convention

    Returns a tuple of:
    - out: shape (N, F, H_out, W_out) with H_out = (H + 2*pad_h - span_h)/stride_h + 1,
      span_h = dilation_h*(HH - 1) + 1 (the same for the width)
    - cache: (x, w, b, conv_param, window geometry)
    """
    check_input_4d(x)
    check_filters(x, w, "conv_forward_naive")
    F, _, HH, WW = w.shape
    check_vector(b, "b", F, "F")
    win = conv_window(x, HH, WW, conv_param, "conv_forward_naive")
    xp = xp_of(x, w, b)
    x_pad = pad_spatial(x, win.pad)
    H_out, W_out = win.out
    N = x.shape[0]
    out = xp.zeros((N, F, H_out, W_out), dtype=xp.result_type(x, w, b))
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                window = x_pad[n, :, win.rows(i), win.cols(j)]  # (C, HH, WW)
                # one dot product per filter: sum over channels and filter taps
                out[n, :, i, j] = (w * window).sum(axis=(1, 2, 3)) + b
    return out, (x, w, b, conv_param, win)


def conv_backward_naive(dout: Any, cache: tuple) -> tuple[Any, Any, Any]:
    """Backward pass of a convolutional layer.

    Inputs:
    - dout: upstream gradient, shape (N, F, H_out, W_out)
    - cache: from :func:`conv_forward_naive`

    Returns a tuple of:
    - dx: shape (N, C, H, W), dtype of x
    - dw: shape (F, C, HH, WW), dtype of w
    - db: shape (F,), dtype of b
    """
    x, w, b, _, win = cache
    check_dout(dout, (x.shape[0], w.shape[0]) + win.out)
    xp = xp_of(x, w, dout)
    x_pad = pad_spatial(x, win.pad)
    dx_pad = xp.zeros(x_pad.shape, dtype=xp.result_type(x, dout))
    dw = xp.zeros(w.shape, dtype=xp.result_type(w, dout))
    H_out, W_out = win.out
    for n in range(x.shape[0]):
        for i in range(H_out):
            for j in range(W_out):
                rows, cols = win.rows(i), win.cols(j)
                g = dout[n, :, i, j]  # (F,): how much the loss wants each filter's output to move
                dx_pad[n, :, rows, cols] += xp.tensordot(g, w, axes=1)  # (C, HH, WW)
                dw += g[:, None, None, None] * x_pad[n, :, rows, cols]  # (F, C, HH, WW)
    dx = unpad_spatial(dx_pad, win.pad)
    db = dout.sum(axis=(0, 2, 3))
    # astype copies dx out of the padded buffer (unpad_spatial returns a view of it)
    return (dx.astype(x.dtype), dw.astype(w.dtype, copy=False),
            db.astype(b.dtype, copy=False))
