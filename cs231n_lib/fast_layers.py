"""Fast convolution and pooling: the same layers as :mod:`cs231n_lib.layers`, without loops
over output pixels.

Same signatures, parameter dicts, results and input errors as the naive layers:

* ``conv_forward_fast(x, w, b, conv_param) -> (out, cache)``,
  ``conv_backward_fast(dout, cache) -> (dx, dw, db)``
* ``max_pool_forward_fast(x, pool_param)``, ``max_pool_backward_fast(dout, cache) -> dx``
  (and the same for ``avg_pool``); overlapping and non-tiling pools included.

One body of code runs on NumPy and on CuPy arrays: the array module comes from the arrays
(``xp = xp_of(...)``), and nothing is copied to the host.

How the convolution is made fast (see :mod:`cs231n_lib.im2col` for the layout):

* forward: unfold the input once (``cols``, the only large temporary, kept for the backward
  pass), then ONE matrix product ``w (F, C*HH*WW) @ cols (C*HH*WW, N*H_out*Wq)``;
* backward: ``dw = dout @ cols.T`` and ``db = sum(dout)``; for dx, ``dcols = w.T @ dout``
  is folded back onto the input by col2im, one add per filter tap.

Three matrix products do all the arithmetic; everything else is long memory copies. The
unfolded matrix uses the "wide" layout, in which one filter tap of a whole image plane is one
contiguous slice: building it and folding it back are then a few dozen long copies instead of
hundreds of thousands of short rows. On the benchmark's layers that made the whole layer 1.15x
to 1.9x faster than the same products on the textbook matrix, except where the filters have
fewer numbers than there are filters (C*HH*WW <= F, e.g. 3x3x3 into 32), where the two tie
(``benchmarks/README.md``).
"""
from __future__ import annotations

from typing import Any

from .backend import xp_of
from .im2col import (WideGrid, add_windows, col2im_wide, from_phase_planes, im2col_wide,
                     sliding_windows, to_phase_planes)
from .layers._checks import check_dout, check_input_4d, check_vector, conv_window, pool_window
from .layers._checks import check_filters
from .windows import pad_spatial, unpad_spatial

__all__ = [
    "conv_forward_fast", "conv_backward_fast",
    "max_pool_forward_fast", "max_pool_backward_fast",
    "avg_pool_forward_fast", "avg_pool_backward_fast",
]


# --------------------------------------------------------------------------------------------
# Convolution
# --------------------------------------------------------------------------------------------
BLOCK_BYTES = 2 << 20  # one block of dcols in the backward pass: about one core's L2 cache


def _images_per_block(bytes_per_image: int, N: int) -> int:
    """How many images' worth of dcols fit in BLOCK_BYTES (at least one, at most N)."""
    return max(1, min(N, BLOCK_BYTES // max(bytes_per_image, 1)))


def conv_forward_fast(x: Any, w: Any, b: Any, conv_param: dict) -> tuple[Any, tuple]:
    """Forward pass of a convolutional layer as one matrix product.

    Inputs:
    - x: input, shape (N, C, H, W)
    - w: filters, shape (F, C, HH, WW)
    - b: biases, shape (F,)
    - conv_param: dict with 'stride' and 'pad' (ints or (height, width) pairs) and optionally
      'dilation' (default 1, PyTorch's convention)

    Returns a tuple of:
    - out: shape (N, F, H_out, W_out), dtype ``result_type(x, w, b)`` (float32 stays float32)
    - cache: (x, w, b, conv_param, window geometry, wide grid, cols)
    """
    check_input_4d(x)
    check_filters(x, w, "conv_forward_fast")
    F, C, HH, WW = w.shape
    check_vector(b, "b", F, "F")
    win = conv_window(x, HH, WW, conv_param, "conv_forward_fast")
    xp = xp_of(x, w, b)
    dtype = xp.result_type(x, w, b)
    grid = WideGrid(tuple(x.shape), win.size, win.stride, win.pad, win.dilation, win.out)

    cols = im2col_wide(to_phase_planes(x, grid, dtype), grid)  # (C*HH*WW, N*H_out*Wq)
    out_wide = w.reshape(F, -1).astype(dtype, copy=False) @ cols  # (F, N*H_out*Wq)
    # drop the overhang columns and move F after N; then add the bias, which is faster on the
    # contiguous result than fused into that strided copy
    out = xp.empty((x.shape[0], F) + win.out, dtype=dtype)
    out[...] = grid.drop_overhang(out_wide).transpose(1, 0, 2, 3)
    out += b.reshape(F, 1, 1)
    return out, (x, w, b, conv_param, win, grid, cols)


def conv_backward_fast(dout: Any, cache: tuple) -> tuple[Any, Any, Any]:
    """Backward pass of a convolutional layer.

    Inputs:
    - dout: upstream gradient, shape (N, F, H_out, W_out)
    - cache: from :func:`conv_forward_fast`

    Returns a tuple of:
    - dx: shape (N, C, H, W), dtype of x
    - dw: shape (F, C, HH, WW), dtype of w
    - db: shape (F,), dtype of b
    """
    x, w, b, _, win, grid, cols = cache
    N, F = x.shape[0], w.shape[0]
    check_dout(dout, (N, F) + win.out)
    xp = xp_of(x, w, dout)
    dtype = xp.result_type(cols, dout)

    # dout in the wide layout, (F, N*H_out*Wq), zero on the overhang columns so that they
    # add nothing to dw and leave zeros in dcols
    dout_wide = xp.zeros((F, N * grid.length), dtype=dtype)
    grid.drop_overhang(dout_wide)[...] = dout.transpose(1, 0, 2, 3)

    db = dout.sum(axis=(0, 2, 3))
    dw = (dout_wide @ cols.T).reshape(w.shape)  # every window times its output's gradient

    # dx: dcols = w.T @ dout_wide, folded back onto the input by col2im. A block of images at
    # a time, so that dcols, as large as cols, never exists whole: each block's dcols is still
    # in the CPU cache when col2im reads it, and the peak memory stays one unfolded matrix.
    w_t = w.reshape(F, -1).T.astype(dtype, copy=False)  # (C*HH*WW, F)
    Hq, Wq = grid.plane
    dplanes = xp.zeros((N, x.shape[1], grid.stride[0] * grid.stride[1], Hq * Wq), dtype=dtype)
    K, L = cols.shape[0], grid.length
    block = _images_per_block(K * L * cols.itemsize, N)
    buffer = xp.empty(K * block * L, dtype=dtype)  # one block of dcols, reused by every block
    for start in range(0, N, block):
        stop = min(start + block, N)
        columns = (stop - start) * L
        dcols = xp.matmul(w_t, dout_wide[:, start * L:stop * L],
                          out=buffer[:K * columns].reshape(K, columns))  # (C*HH*WW, columns)
        col2im_wide(dcols, grid, out=dplanes[start:stop])
    dx = from_phase_planes(dplanes, grid)
    # astype copies dx out of the padded planes
    return (dx.astype(x.dtype), dw.astype(w.dtype, copy=False), db.astype(b.dtype, copy=False))


# --------------------------------------------------------------------------------------------
# Pooling: every window at once through sliding_windows, gradients back through add_windows
# --------------------------------------------------------------------------------------------
def _pool_windows(x: Any, pool_param: dict, layer: str, pad_value: float):
    """Validate, pad with ``pad_value`` and return (window geometry, padded shape, windows
    flattened to (N, C, H_out, W_out, pool_height*pool_width), a copy)."""
    check_input_4d(x)
    win = pool_window(x, pool_param, layer)
    x_pad = pad_spatial(x, win.pad, pad_value)
    N, C = x.shape[:2]
    windows = sliding_windows(x_pad, win.size, win.stride).reshape(N, C, *win.out, -1)
    return win, tuple(x_pad.shape), windows


def max_pool_forward_fast(x: Any, pool_param: dict) -> tuple[Any, tuple]:
    """Forward pass of max pooling, every window at once.

    Inputs:
    - x: input, shape (N, C, H, W)
    - pool_param: dict with 'pool_height', 'pool_width', 'stride' (int or pair) and
      optionally 'pad' (int or pair, at most half the window; padding never wins)

    Returns a tuple of:
    - out: shape (N, C, H_out, W_out), dtype of x
    - cache: (x, pool_param, window geometry, padded shape, switches)
    """
    win, padded_shape, windows = _pool_windows(x, pool_param, "max_pool_forward_fast",
                                               float("-inf"))
    xp = xp_of(x)
    # the switch: which tap of each window won. argmax returns the FIRST maximum in row-major
    # order, exactly like the naive layer, so ties are routed the same way.
    switch = windows.argmax(axis=-1)  # (N, C, H_out, W_out)
    out = xp.take_along_axis(windows, switch[..., None], axis=-1)[..., 0]
    return out, (x, pool_param, win, padded_shape, switch)


def max_pool_backward_fast(dout: Any, cache: tuple) -> Any:
    """Backward pass of max pooling: each window's gradient goes to its switch.

    Inputs:
    - dout: upstream gradient, shape (N, C, H_out, W_out)
    - cache: from :func:`max_pool_forward_fast`

    Returns:
    - dx: shape (N, C, H, W), dtype of x
    """
    x, _, win, padded_shape, switch = cache
    check_dout(dout, switch.shape)
    xp = xp_of(x, dout)
    taps = win.size[0] * win.size[1]
    one_hot = xp.arange(taps) == switch[..., None]  # (N, C, H_out, W_out, taps)
    dwindows = (one_hot * dout[..., None]).reshape(switch.shape + win.size)
    dx_pad = add_windows(dwindows.astype(xp.result_type(x, dout), copy=False), padded_shape,
                         win.stride)
    return unpad_spatial(dx_pad, win.pad).astype(x.dtype)


def avg_pool_forward_fast(x: Any, pool_param: dict) -> tuple[Any, tuple]:
    """Forward pass of average pooling (padded zeros count in the mean, as in the naive
    layer and PyTorch's default).

    Inputs and outputs as :func:`max_pool_forward_fast`; the cache is
    (x, pool_param, window geometry, padded shape, output shape).
    """
    win, padded_shape, windows = _pool_windows(x, pool_param, "avg_pool_forward_fast", 0.0)
    out = windows.mean(axis=-1).astype(x.dtype, copy=False)
    return out, (x, pool_param, win, padded_shape, tuple(out.shape))


def avg_pool_backward_fast(dout: Any, cache: tuple) -> Any:
    """Backward pass of average pooling: ``dout / (pool_height*pool_width)`` to every tap of
    each window. Returns dx of shape (N, C, H, W), dtype of x."""
    x, _, win, padded_shape, out_shape = cache
    check_dout(dout, out_shape)
    xp = xp_of(x, dout)
    share = (dout / (win.size[0] * win.size[1])).astype(xp.result_type(x, dout), copy=False)
    dwindows = xp.broadcast_to(share[..., None, None], out_shape + win.size)
    return unpad_spatial(add_windows(dwindows, padded_shape, win.stride), win.pad).astype(x.dtype)
