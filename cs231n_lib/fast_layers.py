"""Fast layers: the same signatures and results as the reference layers, no Python loop over
pixels. Every body runs on NumPy or CuPy arrays alike (``xp = xp_of(...)``), and nothing is
copied to the host.

The convolution is three matrix products on the unfolded input (:mod:`cs231n_lib.wide_layout`
builds it, a block of images at a time)::

    forward:   out   = w_row @ cols                 w_row: (F, C*HH*WW)
    backward:  dw    = dout_wide @ cols.T           cols:  (C*HH*WW, n*H_out*Wq)
               dcols = w_row.T @ dout_wide          dout_wide: (F, n*H_out*Wq)
               dx    = col2im(dcols)                db = sum of dout

The backward pass rebuilds each block's ``cols`` from the padded input kept in the cache
instead of keeping the whole unfolded matrix from the forward pass: a block's matrix is still
in the CPU cache when it is multiplied, and the peak memory stays that of the padded input.

The pools reduce over the pool_height*pool_width taps of the windows, one strided slice of the
padded input per tap (every window's tap (i, j) at once): a sum of the slices (average
pooling) or a max over columns then rows (max pooling) forward, one strided write or add per
tap backward. Max pooling routes each window's gradient to its FIRST maximum in row-major
order, exactly as the reference layer does.
"""
from __future__ import annotations

from typing import Any, Iterator

from .backend import xp_of
from .layers._checks import check_dout, check_filters, check_input_4d, check_vector
from .wide_layout import WideGrid, col2im_wide, from_phase_planes, im2col_wide, to_phase_planes
from .windows import Window, conv_window, pad_spatial, pool_window, unpad_spatial

__all__ = [
    "conv_forward_fast", "conv_backward_fast",
    "max_pool_forward_fast", "max_pool_backward_fast",
    "avg_pool_forward_fast", "avg_pool_backward_fast",
]


# --------------------------------------------------------------------------------------------
# Convolution
# --------------------------------------------------------------------------------------------
def conv_forward_fast(x: Any, w: Any, b: Any, conv_param: dict) -> tuple[Any, tuple]:
    """Forward pass of a convolutional layer as one matrix product per block of images.

    Inputs:
    - x: input, shape (N, C, H, W)
    - w: filters, shape (F, C, HH, WW)
    - b: biases, shape (F,)
    - conv_param: dict with 'stride' and 'pad' (ints or (height, width) pairs) and optionally
      'dilation' (default 1, PyTorch's convention)

    Returns a tuple of:
    - out: shape (N, F, H_out, W_out), dtype ``result_type(x, w, b)`` (float32 stays float32)
    - cache: (x, w, b, conv_param, window geometry, wide grid, phase planes of x)
    """
    check_input_4d(x)
    check_filters(x, w, "conv_forward_fast")
    F, C, HH, WW = w.shape
    check_vector(b, "b", F, "F")
    win = conv_window(x, HH, WW, conv_param, "conv_forward_fast")
    xp = xp_of(x, w, b)
    dtype = xp.result_type(x, w, b)
    grid = WideGrid(tuple(x.shape), win)

    planes = to_phase_planes(x, grid, dtype)  # the padded input, split by the stride
    w_row = w.reshape(F, -1).astype(dtype, copy=False)  # (F, C*HH*WW)
    out = xp.empty((x.shape[0], F) + win.out, dtype=dtype)
    for images in grid.blocks(out.itemsize):
        cols = im2col_wide(planes[images], grid)  # (C*HH*WW, n*H_out*Wq)
        # drop the overhang columns and move F after n, in one copy
        out[images] = grid.drop_overhang(w_row @ cols).transpose(1, 0, 2, 3)
    out += b.reshape(F, 1, 1)
    return out, (x, w, b, conv_param, win, grid, planes)


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
    x, w, b, _, win, grid, planes = cache
    N, F = x.shape[0], w.shape[0]
    check_dout(dout, (N, F) + win.out)
    xp = xp_of(x, w, dout)
    dtype = xp.result_type(planes, dout)
    dout = dout.astype(dtype, copy=False)
    w_row = w.reshape(F, -1).astype(dtype, copy=False)  # (F, C*HH*WW)

    db = dout.sum(axis=(0, 2, 3))
    dw = xp.zeros(w_row.shape, dtype=dtype)
    dplanes = xp.zeros(planes.shape, dtype=dtype)
    for images in grid.blocks(planes.itemsize):
        cols = im2col_wide(planes[images], grid)  # (C*HH*WW, n*H_out*Wq), as in the forward
        dout_wide = grid.widen(dout[images])  # (F, n*H_out*Wq), zero on the overhang
        dw += dout_wide @ cols.T  # every window times its output's gradient
        col2im_wide(w_row.T @ dout_wide, grid, out=dplanes[images])  # dcols folded back
    dx = from_phase_planes(dplanes, grid)
    # astype copies dx out of the padded planes
    return (dx.astype(x.dtype), dw.reshape(w.shape).astype(w.dtype, copy=False),
            db.astype(b.dtype, copy=False))


# --------------------------------------------------------------------------------------------
# Pooling: one strided slice of the padded input per tap of the window
# --------------------------------------------------------------------------------------------
def _tap_views(a: Any, win: Window) -> Iterator[Any]:
    """For each tap (i, j) in row-major order, the strided view of the padded array ``a``
    (N, C, Hp, Wp) holding tap (i, j) of every window: shape (N, C, H_out, W_out)."""
    for rows, cols in win.taps():
        yield a[:, :, rows, cols]


def max_pool_forward_fast(x: Any, pool_param: dict) -> tuple[Any, tuple]:
    """Forward pass of max pooling: for every window, the max over its rows of the max over
    its columns (pool_width strided slices, then pool_height).

    Inputs:
    - x: input, shape (N, C, H, W)
    - pool_param: dict with 'pool_height', 'pool_width', 'stride' (int or pair) and
      optionally 'pad' (int or pair, at most half the window; padding never wins)

    Returns a tuple of:
    - out: shape (N, C, H_out, W_out), dtype of x
    - cache: (x, pool_param, window geometry, out)
    """
    check_input_4d(x)
    win = pool_window(x, pool_param, "max_pool_forward_fast")
    xp = xp_of(x)
    x_pad = pad_spatial(x, win.pad, float("-inf"))
    (sh, sw), (HH, WW), (Ho, Wo) = win.stride, win.size, win.out
    # the max of a window is the max over its rows of the max over its columns: first every
    # row's max under each window's WW columns, (N, C, Hp, W_out), then HH of those rows
    row_max = x_pad[:, :, :, 0:sw * (Wo - 1) + 1:sw].copy()
    for j in range(1, WW):
        xp.maximum(row_max, x_pad[:, :, :, j:j + sw * (Wo - 1) + 1:sw], out=row_max)
    out = row_max[:, :, 0:sh * (Ho - 1) + 1:sh].copy()
    for i in range(1, HH):
        xp.maximum(out, row_max[:, :, i:i + sh * (Ho - 1) + 1:sh], out=out)
    return out, (x, pool_param, win, out)


def max_pool_backward_fast(dout: Any, cache: tuple) -> Any:
    """Backward pass of max pooling: each window's gradient goes to its first maximum.

    The taps are visited in row-major order. Tap (i, j) is a window's switch where it equals
    the window's maximum and no earlier tap did (``taken`` records the windows served), so a
    tie goes to the first maximum, as in the reference layer.

    Inputs:
    - dout: upstream gradient, shape (N, C, H_out, W_out)
    - cache: from :func:`max_pool_forward_fast`

    Returns:
    - dx: shape (N, C, H, W), dtype of x
    """
    x, _, win, out = cache
    check_dout(dout, out.shape)
    xp = xp_of(x, dout)
    x_pad = pad_spatial(x, win.pad, float("-inf"))
    dtype = xp.result_type(x, dout)
    # windows that tile (stride = window) cover every padded pixel exactly once; otherwise
    # some pixels are shared by several windows, or reached by none (and get 0)
    tiling = win.stride == win.size
    dx_pad = (xp.empty if tiling else xp.zeros)(x_pad.shape, dtype=dtype)
    taken = xp.zeros(out.shape, dtype=bool)  # windows whose switch has been found
    for k, (tap, dx_tap) in enumerate(zip(_tap_views(x_pad, win), _tap_views(dx_pad, win))):
        first = tap == out  # (N, C, H_out, W_out)
        first &= ~taken
        taken |= first
        i, j = divmod(k, win.size[1])
        if i < win.stride[0] and j < win.stride[1]:
            # the first tap to reach these pixels (no earlier tap has i % stride_h, j %
            # stride_w in common with it): its gradient is written, not added
            xp.multiply(first, dout, out=dx_tap)
        else:
            dx_tap += first * dout  # += : overlapping windows share pixels
    # without padding dx_pad is dx (no copy); with padding, dx is copied out of it
    return xp.ascontiguousarray(unpad_spatial(dx_pad, win.pad), dtype=x.dtype)


def avg_pool_forward_fast(x: Any, pool_param: dict) -> tuple[Any, tuple]:
    """Forward pass of average pooling: the sum of the tap slices over pool_height*pool_width
    (padded zeros count in the mean, as in the naive layer and PyTorch's default).

    Inputs and outputs as :func:`max_pool_forward_fast`; the cache is
    (x, pool_param, window geometry).
    """
    check_input_4d(x)
    win = pool_window(x, pool_param, "avg_pool_forward_fast")
    taps = _tap_views(pad_spatial(x, win.pad), win)
    total = next(taps).astype(x.dtype, copy=True)
    for tap in taps:
        total += tap
    out = total / x.dtype.type(win.size[0] * win.size[1])
    return out, (x, pool_param, win)


def avg_pool_backward_fast(dout: Any, cache: tuple) -> Any:
    """Backward pass of average pooling: ``dout / (pool_height*pool_width)`` to every tap of
    each window. Returns dx of shape (N, C, H, W), dtype of x."""
    x, _, win = cache
    N, C = x.shape[:2]
    check_dout(dout, (N, C) + win.out)
    xp = xp_of(x, dout)
    share = dout / (win.size[0] * win.size[1])
    padded = (N, C, x.shape[2] + 2 * win.pad[0], x.shape[3] + 2 * win.pad[1])
    dx_pad = xp.zeros(padded, dtype=xp.result_type(x, dout))
    for dx_tap in _tap_views(dx_pad, win):
        dx_tap += share
    return unpad_spatial(dx_pad, win.pad).astype(x.dtype)
