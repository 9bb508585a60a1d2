"""The locally-connected layer: a conv layer's connectivity without parameter sharing.

Each output neuron looks at the same window of the input as in a convolution (same stride,
padding and dilation rules), but every output *position* owns its own filter bank: the
weights at row i, column j are not reused anywhere else. This suits inputs with a fixed
layout (centred faces: eye detectors near the top, mouth detectors near the bottom), and it
costs ``H_out*W_out`` times the conv layer's parameters.

Weight layout, chosen so that ``w[i, j]`` reads like ordinary conv filters:

* w: (H_out, W_out, F, C, HH, WW) — ``w[i, j]`` is the (F, C, HH, WW) filter bank used only
  at output position (i, j);
* b: (H_out, W_out, F) — one bias per neuron (position and filter).

With every ``w[i, j]`` equal to one conv ``w`` and every ``b[i, j]`` equal to its ``b``, the
layer computes exactly the convolution.
"""
from __future__ import annotations

from typing import Any

from ..backend import xp_of
from ..validate import check_float_array
from ..windows import conv_window, pad_spatial, unpad_spatial
from ._checks import check_dout, check_input_4d


def locally_connected_forward(x: Any, w: Any, b: Any, conv_param: dict) -> tuple[Any, tuple]:
    """Forward pass of a locally-connected layer.

    Inputs:
    - x: input, shape (N, C, H, W)
    - w: one filter bank per output position, shape (H_out, W_out, F, C, HH, WW)
    - b: one bias per neuron, shape (H_out, W_out, F)
    - conv_param: as for a convolution: 'stride', 'pad' (int or pair), 'dilation' (default 1)

    (H_out, W_out) must be the output size the geometry gives:
    H_out = (H + 2*pad_h - span_h)/stride_h + 1 with span_h = dilation_h*(HH - 1) + 1.

    Returns a tuple of:
    - out: shape (N, F, H_out, W_out)
    - cache: (x, w, b, conv_param, window geometry)
    """
    check_input_4d(x)
    check_float_array(w, "w", 6, "(H_out, W_out, F, C, HH, WW)")
    if w.shape[3] != x.shape[1]:
        raise ValueError(f"locally_connected_forward: x has {x.shape[1]} channels (shape "
                         f"{tuple(x.shape)}) but w expects {w.shape[3]} (shape {tuple(w.shape)}); "
                         "w must be (H_out, W_out, F, C, HH, WW)")
    H_w, W_w, F, _, HH, WW = w.shape
    win = conv_window(x, HH, WW, conv_param, "locally_connected_forward")
    if (H_w, W_w) != win.out:
        raise ValueError(f"w has {H_w}x{W_w} filter banks (shape {tuple(w.shape)}) but the output "
                         f"of this geometry is {win.out[0]}x{win.out[1]}; w must be "
                         f"({win.out[0]}, {win.out[1]}, F, C, HH, WW)")
    check_float_array(b, "b", 3, "(H_out, W_out, F)")
    if tuple(b.shape) != (H_w, W_w, F):
        raise ValueError(f"b must have shape (H_out, W_out, F) = {(H_w, W_w, F)}, "
                         f"got {tuple(b.shape)}")
    xp = xp_of(x, w, b)
    x_pad = pad_spatial(x, win.pad)
    out = xp.zeros((x.shape[0], F) + win.out, dtype=xp.result_type(x, w, b))
    for i in range(H_w):
        for j in range(W_w):
            window = x_pad[:, :, win.rows(i), win.cols(j)]  # (N, C, HH, WW)
            # as in a convolution, but with this position's own filters w[i, j] and biases b[i, j]
            out[:, :, i, j] = xp.tensordot(window, w[i, j], axes=([1, 2, 3], [1, 2, 3])) + b[i, j]
    return out, (x, w, b, conv_param, win)


def locally_connected_backward(dout: Any, cache: tuple) -> tuple[Any, Any, Any]:
    """Backward pass of a locally-connected layer.

    Inputs:
    - dout: upstream gradient, shape (N, F, H_out, W_out)
    - cache: from :func:`locally_connected_forward`

    Returns a tuple of:
    - dx: shape (N, C, H, W)
    - dw: shape (H_out, W_out, F, C, HH, WW): each position's filters get only their own
      position's gradient (nothing is summed over positions, unlike a convolution)
    - db: shape (H_out, W_out, F)
    """
    x, w, b, _, win = cache
    check_dout(dout, (x.shape[0], w.shape[2]) + win.out)
    xp = xp_of(x, w, dout)
    x_pad = pad_spatial(x, win.pad)
    dx_pad = xp.zeros(x_pad.shape, dtype=xp.result_type(x, dout))
    dw = xp.zeros(w.shape, dtype=xp.result_type(w, dout))
    H_out, W_out = win.out
    for i in range(H_out):
        for j in range(W_out):
            rows, cols = win.rows(i), win.cols(j)
            g = dout[:, :, i, j]  # (N, F)
            dx_pad[:, :, rows, cols] += xp.tensordot(g, w[i, j], axes=([1], [0]))
            dw[i, j] = xp.tensordot(g, x_pad[:, :, rows, cols], axes=([0], [0]))
    db = dout.sum(axis=0).transpose(1, 2, 0)  # (F, H_out, W_out) -> (H_out, W_out, F)
    return (unpad_spatial(dx_pad, win.pad).astype(x.dtype), dw.astype(w.dtype, copy=False),
            db.astype(b.dtype))
