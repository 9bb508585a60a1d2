"""Pooling layers: max, average and L2-norm pooling, written as a loop over output positions.

A ``pool_height x pool_width`` window slides over every channel of x (N, C, H, W) separately,
with a stride and optional padding (``pool_param = {'pool_height', 'pool_width', 'stride',
'pad'=0}``; stride and pad may be an int or a pair). Each window becomes one number:

* max pooling: the largest value. Padding is ``-inf``, so it never wins (PyTorch's rule).
* average pooling: the mean of the window. Padded zeros count in the mean (PyTorch's default
  ``count_include_pad=True``): every window is divided by ``pool_height*pool_width``.
* L2-norm pooling: ``sqrt(sum of squares)`` of the window; padded zeros add nothing.

Backward passes send each output's gradient back to its window:

* max: all of it goes to the position that won, the "switch". When several positions tie for
  the maximum, the FIRST one in row-major order wins (``argmax`` of the flattened window), in
  the forward and the backward pass alike; the fast layers route ties the same way.
* average: spread evenly, ``dout / (pool_height*pool_width)`` to each position.
* L2: ``d out / d x = x / out``. A window of zeros has ``out = 0`` and no slope we can
  divide by (0/0); we define its gradient as 0 (a subgradient, the same choice as ReLU at 0).

When windows overlap (e.g. a 3x3 window with stride 2), an input pixel belongs to several
windows and its gradient is the sum of what each of them sends back.
"""
from __future__ import annotations

from typing import Any

from ..backend import xp_of
from ..windows import pad_spatial, pool_window, unpad_spatial
from ._checks import check_dout, check_input_4d


# --------------------------------------------------------------------------------------------
# Max pooling
# --------------------------------------------------------------------------------------------
def max_pool_forward_naive(x: Any, pool_param: dict) -> tuple[Any, tuple]:
    """Forward pass of max pooling.

    Inputs:
    - x: input, shape (N, C, H, W)
    - pool_param: dict with 'pool_height', 'pool_width', 'stride' (int or pair) and
      optionally 'pad' (int or pair, at most half the window; padding never wins)

    Returns a tuple of:
    - out: shape (N, C, H_out, W_out), H_out = (H + 2*pad - pool_height)/stride + 1
    - cache: (x, pool_param, window geometry)
    """
    check_input_4d(x)
    win = pool_window(x, pool_param, "max_pool_forward_naive")
    xp = xp_of(x)
    x_pad = pad_spatial(x, win.pad, float("-inf"))
    N, C = x.shape[:2]
    out = xp.zeros((N, C) + win.out, dtype=x.dtype)
    for i in range(win.out[0]):
        for j in range(win.out[1]):
            window = x_pad[:, :, win.rows(i), win.cols(j)]  # (N, C, pool_height, pool_width)
            out[:, :, i, j] = window.max(axis=(2, 3))
    return out, (x, pool_param, win)


def max_pool_backward_naive(dout: Any, cache: tuple) -> Any:
    """Backward pass of max pooling: each window's gradient goes to its first maximum.

    Inputs:
    - dout: upstream gradient, shape (N, C, H_out, W_out)
    - cache: from :func:`max_pool_forward_naive`

    Returns:
    - dx: shape (N, C, H, W)
    """
    x, _, win = cache
    N, C = x.shape[:2]
    check_dout(dout, (N, C) + win.out)
    xp = xp_of(x, dout)
    x_pad = pad_spatial(x, win.pad, float("-inf"))
    dx_pad = xp.zeros(x_pad.shape, dtype=xp.result_type(x, dout))
    taps = win.size[0] * win.size[1]
    for i in range(win.out[0]):
        for j in range(win.out[1]):
            rows, cols = win.rows(i), win.cols(j)
            window = x_pad[:, :, rows, cols].reshape(N, C, taps)
            # the switch: the first maximum of the flattened window, as a one-hot mask
            switch = window.argmax(axis=2)  # (N, C)
            one_hot = xp.arange(taps) == switch[:, :, None]  # (N, C, taps)
            share = one_hot * dout[:, :, i, j, None]
            dx_pad[:, :, rows, cols] += share.reshape(N, C, *win.size)  # += : windows overlap
    # astype copies the gradient out of the padded buffer (unpad_spatial returns a view)
    return unpad_spatial(dx_pad, win.pad).astype(x.dtype)


# --------------------------------------------------------------------------------------------
# Average pooling
# --------------------------------------------------------------------------------------------
def avg_pool_forward_naive(x: Any, pool_param: dict) -> tuple[Any, tuple]:
    """Forward pass of average pooling (padded zeros count in the mean).

    Inputs and outputs as :func:`max_pool_forward_naive`.
    """
    check_input_4d(x)
    win = pool_window(x, pool_param, "avg_pool_forward_naive")
    xp = xp_of(x)
    x_pad = pad_spatial(x, win.pad)
    N, C = x.shape[:2]
    out = xp.zeros((N, C) + win.out, dtype=x.dtype)
    for i in range(win.out[0]):
        for j in range(win.out[1]):
            out[:, :, i, j] = x_pad[:, :, win.rows(i), win.cols(j)].mean(axis=(2, 3))
    return out, (x, pool_param, win)


def avg_pool_backward_naive(dout: Any, cache: tuple) -> Any:
    """Backward pass of average pooling: ``dout / (pool_height*pool_width)`` to every
    position of each window. Returns dx of shape (N, C, H, W)."""
    x, _, win = cache
    N, C = x.shape[:2]
    check_dout(dout, (N, C) + win.out)
    xp = xp_of(x, dout)
    Hp, Wp = x.shape[2] + 2 * win.pad[0], x.shape[3] + 2 * win.pad[1]
    dx_pad = xp.zeros((N, C, Hp, Wp), dtype=xp.result_type(x, dout))
    taps = win.size[0] * win.size[1]
    for i in range(win.out[0]):
        for j in range(win.out[1]):
            # every position contributed 1/taps of the mean, so it gets 1/taps of the gradient
            dx_pad[:, :, win.rows(i), win.cols(j)] += dout[:, :, i, j, None, None] / taps
    return unpad_spatial(dx_pad, win.pad).astype(x.dtype)


# --------------------------------------------------------------------------------------------
# L2-norm pooling
# --------------------------------------------------------------------------------------------
def l2_pool_forward_naive(x: Any, pool_param: dict) -> tuple[Any, tuple]:
    """Forward pass of L2-norm pooling: ``sqrt(sum of squares)`` of each window.

    Inputs and outputs as :func:`max_pool_forward_naive`; the cache also holds ``out``.
    """
    check_input_4d(x)
    win = pool_window(x, pool_param, "l2_pool_forward_naive")
    xp = xp_of(x)
    x_pad = pad_spatial(x, win.pad)
    N, C = x.shape[:2]
    out = xp.zeros((N, C) + win.out, dtype=x.dtype)
    for i in range(win.out[0]):
        for j in range(win.out[1]):
            window = x_pad[:, :, win.rows(i), win.cols(j)]
            out[:, :, i, j] = xp.sqrt((window * window).sum(axis=(2, 3)))
    return out, (x, pool_param, win, out)


def l2_pool_backward_naive(dout: Any, cache: tuple) -> Any:
    """Backward pass of L2-norm pooling: ``dout * x / out`` over each window, 0 for windows
    of zeros (where out = 0). Returns dx of shape (N, C, H, W)."""
    x, _, win, out = cache
    N, C = x.shape[:2]
    check_dout(dout, out.shape)
    xp = xp_of(x, dout)
    x_pad = pad_spatial(x, win.pad)
    dx_pad = xp.zeros(x_pad.shape, dtype=xp.result_type(x, dout))
    # d sqrt(sum x^2) / dx = x / out. Where out == 0 the whole window is 0, so dividing it by 1
    # instead gives exactly the 0 gradient we define for that case (and no 0/0 = NaN).
    safe = xp.where(out == 0, 1, out)
    for i in range(win.out[0]):
        for j in range(win.out[1]):
            rows, cols = win.rows(i), win.cols(j)
            slope = x_pad[:, :, rows, cols] / safe[:, :, i, j, None, None]  # d out_ij / d window
            dx_pad[:, :, rows, cols] += slope * dout[:, :, i, j, None, None]
    return unpad_spatial(dx_pad, win.pad).astype(x.dtype)
