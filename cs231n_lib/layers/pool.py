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

from typing import Any, Callable

from ..backend import xp_of
from ..windows import pad_spatial, unpad_spatial
from ._checks import check_dout, check_input_4d, pool_window


def _pool_forward(x: Any, pool_param: dict, layer: str, reduce: Callable, pad_value: float):
    """The loop every pooling layer shares: ``reduce`` turns each window, flattened to
    (N, C, pool_height*pool_width), into (N, C) numbers."""
    check_input_4d(x)
    win = pool_window(x, pool_param, layer)
    xp = xp_of(x)
    x_pad = pad_spatial(x, win.pad, pad_value)
    N, C = x.shape[:2]
    H_out, W_out = win.out
    out = xp.zeros((N, C, H_out, W_out), dtype=x.dtype)
    for i in range(H_out):
        for j in range(W_out):
            window = x_pad[:, :, win.rows(i), win.cols(j)].reshape(N, C, -1)
            out[:, :, i, j] = reduce(xp, window)
    return out, (x, pool_param, win, out, pad_value)


def _pool_backward(dout: Any, cache: tuple, spread: Callable):
    """The backward loop every pooling layer shares: ``spread(window, out_ij, dout_ij)``
    says how output (i, j)'s gradient (N, C) divides over its window (N, C, HH*WW)."""
    x, _, win, out, pad_value = cache
    check_dout(dout, out.shape)
    xp = xp_of(x, dout)
    x_pad = pad_spatial(x, win.pad, pad_value)
    dx_pad = xp.zeros(x_pad.shape, dtype=xp.result_type(x, dout))
    N, C = x.shape[:2]
    H_out, W_out = win.out
    for i in range(H_out):
        for j in range(W_out):
            rows, cols = win.rows(i), win.cols(j)
            window = x_pad[:, :, rows, cols].reshape(N, C, -1)
            share = spread(xp, window, out[:, :, i, j], dout[:, :, i, j])
            dx_pad[:, :, rows, cols] += share.reshape(N, C, *win.size)  # += : windows may overlap
    # astype copies the gradient out of the padded buffer (unpad_spatial returns a view)
    return unpad_spatial(dx_pad, win.pad).astype(x.dtype)


# --------------------------------------------------------------------------------------------
# Max pooling
# --------------------------------------------------------------------------------------------
def _max(xp, window):
    return window.max(axis=-1)


def _max_spread(xp, window, out_ij, dout_ij):
    # the switch: index of the first maximum of each flattened window, as a one-hot mask
    switch = window.argmax(axis=-1)
    one_hot = xp.arange(window.shape[-1]) == switch[..., None]
    return one_hot * dout_ij[..., None]


def max_pool_forward_naive(x: Any, pool_param: dict) -> tuple[Any, tuple]:
    """Forward pass of max pooling.

    Inputs:
    - x: input, shape (N, C, H, W)
    - pool_param: dict with 'pool_height', 'pool_width', 'stride' (int or pair) and
      optionally 'pad' (int or pair, at most half the window; padding never wins)

    Returns a tuple of:
    - out: shape (N, C, H_out, W_out), H_out = (H + 2*pad - pool_height)/stride + 1
    - cache: (x, pool_param, window geometry, out, padding value)
    """
    return _pool_forward(x, pool_param, "max_pool_forward_naive", _max, float("-inf"))


def max_pool_backward_naive(dout: Any, cache: tuple) -> Any:
    """Backward pass of max pooling: each window's gradient goes to its first maximum.

    Inputs:
    - dout: upstream gradient, shape (N, C, H_out, W_out)
    - cache: from :func:`max_pool_forward_naive`

    Returns:
    - dx: shape (N, C, H, W)
    """
    return _pool_backward(dout, cache, _max_spread)


# --------------------------------------------------------------------------------------------
# Average pooling
# --------------------------------------------------------------------------------------------
def _mean(xp, window):
    return window.mean(axis=-1)


def _mean_spread(xp, window, out_ij, dout_ij):
    # every position contributed 1/K of the mean, so it gets 1/K of the gradient
    return xp.broadcast_to(dout_ij[..., None] / window.shape[-1], window.shape)


def avg_pool_forward_naive(x: Any, pool_param: dict) -> tuple[Any, tuple]:
    """Forward pass of average pooling (padded zeros count in the mean).

    Inputs and outputs as :func:`max_pool_forward_naive`.
    """
    return _pool_forward(x, pool_param, "avg_pool_forward_naive", _mean, 0.0)


def avg_pool_backward_naive(dout: Any, cache: tuple) -> Any:
    """Backward pass of average pooling: ``dout / (pool_height*pool_width)`` to every
    position of each window. Returns dx of shape (N, C, H, W)."""
    return _pool_backward(dout, cache, _mean_spread)


# --------------------------------------------------------------------------------------------
# L2-norm pooling
# --------------------------------------------------------------------------------------------
def _l2(xp, window):
    return xp.sqrt((window * window).sum(axis=-1))


def _l2_spread(xp, window, out_ij, dout_ij):
    # d sqrt(sum x^2) / dx = x / out. Where out == 0 the whole window is 0, so dividing it by 1
    # instead gives exactly the 0 gradient we define for that case (and no 0/0 = NaN).
    safe = xp.where(out_ij == 0, 1, out_ij)
    return window / safe[..., None] * dout_ij[..., None]


def l2_pool_forward_naive(x: Any, pool_param: dict) -> tuple[Any, tuple]:
    """Forward pass of L2-norm pooling: ``sqrt(sum of squares)`` of each window.

    Inputs and outputs as :func:`max_pool_forward_naive`.
    """
    return _pool_forward(x, pool_param, "l2_pool_forward_naive", _l2, 0.0)


def l2_pool_backward_naive(dout: Any, cache: tuple) -> Any:
    """Backward pass of L2-norm pooling: ``dout * x / out`` over each window, 0 for windows
    of zeros (where out = 0). Returns dx of shape (N, C, H, W)."""
    return _pool_backward(dout, cache, _l2_spread)
