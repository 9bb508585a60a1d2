"""Normalization layers: batch normalization, its spatial (conv) version, and group norm.

All three *standardize* some set of numbers (subtract their mean, divide by their standard
deviation ``sqrt(var + eps)``), then scale and shift each channel by learned ``gamma`` and
``beta``. They differ only in which numbers share one mean and variance:

* batchnorm, x (N, D): each feature d, over the N examples of the batch;
* spatial batchnorm, x (N, C, H, W): each channel c, over the batch and all positions
  (N*H*W numbers), computed by reshaping to (N*H*W, C) and calling batchnorm;
* spatial group norm, x (N, C, H, W): each example and each of G groups of C/G channels,
  over those channels and all positions (C/G*H*W numbers); no batch statistics at all.

The standardization and its backward pass are written once (:func:`_standardize`) and used
by all three.
"""
from __future__ import annotations

from typing import Any

from ..backend import xp_of
from ..validate import check_float_array, check_int, check_params
from ._checks import check_dout, check_input_4d, check_vector

BN_DEFAULTS = {"eps": 1e-5, "momentum": 0.9, "running_mean": None, "running_var": None}


def _standardize(x: Any, axis: int, eps: float) -> tuple[Any, Any, Any, Any]:
    """``xhat = (x - mean) / sqrt(var + eps)`` along ``axis``; returns (xhat, mean, var, inv_std)
    with the reduced axis kept (so they broadcast against x)."""
    xp = xp_of(x)
    mean = x.mean(axis=axis, keepdims=True)
    var = x.var(axis=axis, keepdims=True)  # the biased variance (divides by the count), as cs231n
    inv_std = 1 / xp.sqrt(var + eps)
    return (x - mean) * inv_std, mean, var, inv_std


def _standardize_backward(dxhat: Any, xhat: Any, inv_std: Any, axis: int) -> Any:
    """Gradient through :func:`_standardize`. The mean and the variance depend on every
    element they were computed from, which adds two terms to the plain ``dxhat * inv_std``:

    ``dx = inv_std * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))``  (means along ``axis``).
    """
    return inv_std * (dxhat - dxhat.mean(axis=axis, keepdims=True)
                      - xhat * (dxhat * xhat).mean(axis=axis, keepdims=True))


# --------------------------------------------------------------------------------------------
# Batch normalization
# --------------------------------------------------------------------------------------------
def batchnorm_forward(x: Any, gamma: Any, beta: Any, bn_param: dict) -> tuple[Any, tuple]:
    """Forward pass of batch normalization.

    Training mode standardizes each feature with the mean and variance of this batch and keeps
    exponential running averages of them; test mode standardizes with those running averages::

        running_mean = momentum * running_mean + (1 - momentum) * sample_mean
        running_var  = momentum * running_var  + (1 - momentum) * sample_var

    (cs231n's convention: ``momentum`` is the weight of the *old* value; PyTorch's ``momentum``
    is the weight of the new one.) ``sample_var`` is the biased variance, as in cs231n.

    Inputs:
    - x: data, shape (N, D)
    - gamma: scale, shape (D,)
    - beta: shift, shape (D,)
    - bn_param: dict with
      - 'mode': 'train' or 'test' (required)
      - 'eps': added to the variance (default 1e-5)
      - 'momentum': weight of the old running average (default 0.9)
      - 'running_mean', 'running_var': arrays of shape (D,); when absent they start at 0 and 1
        (PyTorch's start, so a fresh layer in test mode is the identity up to eps). The
        updated averages are written back into ``bn_param``.

    Returns a tuple of:
    - out: shape (N, D)
    - cache: what the backward pass needs
    """
    check_float_array(x, "x", 2, "(N, D)")
    D = x.shape[1]
    check_vector(gamma, "gamma", D, "D")
    check_vector(beta, "beta", D, "D")
    p = check_params(bn_param, "bn_param", required=("mode",), optional=BN_DEFAULTS)
    mode, eps, momentum = p["mode"], float(p["eps"]), float(p["momentum"])
    if mode not in ("train", "test"):
        raise ValueError(f"bn_param['mode'] must be 'train' or 'test', got {mode!r}")
    if not 0 <= momentum <= 1:
        raise ValueError(f"bn_param['momentum'] must be in [0, 1], got {momentum}")
    if eps < 0:
        raise ValueError(f"bn_param['eps'] must be >= 0, got {eps}")
    xp = xp_of(x, gamma, beta)
    running_mean = p["running_mean"]
    running_var = p["running_var"]
    running_mean = xp.zeros(D, dtype=x.dtype) if running_mean is None else running_mean
    running_var = xp.ones(D, dtype=x.dtype) if running_var is None else running_var
    check_vector(running_mean, "bn_param['running_mean']", D, "D")
    check_vector(running_var, "bn_param['running_var']", D, "D")

    if mode == "train":
        if x.shape[0] < 1:
            raise ValueError("x must hold at least one example in training mode")
        xhat, mean, var, inv_std = _standardize(x, 0, eps)
        running_mean = momentum * running_mean + (1 - momentum) * mean[0]
        running_var = momentum * running_var + (1 - momentum) * var[0]
    else:
        inv_std = 1 / xp.sqrt(running_var + eps)
        xhat = (x - running_mean) * inv_std
    bn_param["running_mean"] = running_mean.astype(x.dtype, copy=False)
    bn_param["running_var"] = running_var.astype(x.dtype, copy=False)
    out = (gamma * xhat + beta).astype(xp.result_type(x, gamma, beta), copy=False)
    return out, (mode, xhat, gamma, beta, inv_std, x.dtype)


def batchnorm_backward(dout: Any, cache: tuple) -> tuple[Any, Any, Any]:
    """Backward pass of batch normalization (either mode).

    Inputs:
    - dout: upstream gradient, shape (N, D)
    - cache: from :func:`batchnorm_forward`

    Returns a tuple of:
    - dx: shape (N, D)
    - dgamma: shape (D,)
    - dbeta: shape (D,)
    """
    mode, xhat, gamma, beta, inv_std, x_dtype = cache
    check_dout(dout, xhat.shape)
    dgamma = (dout * xhat).sum(axis=0)
    dbeta = dout.sum(axis=0)
    dxhat = dout * gamma
    if mode == "train":  # the batch statistics depend on x too
        dx = _standardize_backward(dxhat, xhat, inv_std, 0)
    else:  # the running averages are constants
        dx = dxhat * inv_std
    return (dx.astype(x_dtype, copy=False), dgamma.astype(gamma.dtype, copy=False),
            dbeta.astype(beta.dtype, copy=False))


# --------------------------------------------------------------------------------------------
# Spatial batch normalization
# --------------------------------------------------------------------------------------------
def _channels_last(x: Any) -> Any:
    """(N, C, H, W) -> (N*H*W, C): one row per pixel, one column per channel."""
    N, C, H, W = x.shape
    return x.transpose(0, 2, 3, 1).reshape(N * H * W, C)


def _channels_first(rows: Any, shape: tuple[int, ...]) -> Any:
    """The inverse of :func:`_channels_last`."""
    N, C, H, W = shape
    return rows.reshape(N, H, W, C).transpose(0, 3, 1, 2)


def spatial_batchnorm_forward(x: Any, gamma: Any, beta: Any, bn_param: dict) -> tuple[Any, tuple]:
    """Forward pass of spatial batch normalization: one mean and variance per channel, over
    the batch and every position.

    Inputs:
    - x: data, shape (N, C, H, W)
    - gamma, beta: shape (C,)
    - bn_param: as for :func:`batchnorm_forward` (running statistics of shape (C,))

    Returns a tuple of:
    - out: shape (N, C, H, W)
    - cache: what the backward pass needs
    """
    check_input_4d(x)
    check_vector(gamma, "gamma", x.shape[1], "C")
    check_vector(beta, "beta", x.shape[1], "C")
    out_rows, cache = batchnorm_forward(_channels_last(x), gamma, beta, bn_param)
    return _channels_first(out_rows, x.shape), (cache, x.shape)


def spatial_batchnorm_backward(dout: Any, cache: tuple) -> tuple[Any, Any, Any]:
    """Backward pass of spatial batch normalization.

    Inputs:
    - dout: upstream gradient, shape (N, C, H, W)
    - cache: from :func:`spatial_batchnorm_forward`

    Returns a tuple of:
    - dx: shape (N, C, H, W)
    - dgamma, dbeta: shape (C,)
    """
    bn_cache, shape = cache
    check_dout(dout, shape)
    dx_rows, dgamma, dbeta = batchnorm_backward(_channels_last(dout), bn_cache)
    return _channels_first(dx_rows, shape), dgamma, dbeta


# --------------------------------------------------------------------------------------------
# Spatial group normalization
# --------------------------------------------------------------------------------------------
def _channel_param(v: Any, name: str, C: int) -> Any:
    """gamma/beta of group norm: (C,) or cs231n's (1, C, 1, 1); returned as (1, C, 1, 1)."""
    check_float_array(v, name)
    if tuple(v.shape) not in ((C,), (1, C, 1, 1)):
        raise ValueError(f"{name} must have shape ({C},) or (1, {C}, 1, 1), got {tuple(v.shape)}")
    return v.reshape(1, C, 1, 1)


def spatial_groupnorm_forward(x: Any, gamma: Any, beta: Any, G: int,
                              gn_param: dict) -> tuple[Any, tuple]:
    """Forward pass of spatial group normalization.

    The C channels are split into G groups of C/G consecutive channels; each example's group
    is standardized over its C/G*H*W numbers, then each channel is scaled and shifted.

    Inputs:
    - x: data, shape (N, C, H, W)
    - gamma, beta: per-channel scale and shift, shape (C,) or (1, C, 1, 1) (cs231n's shape);
      the gradients come back in the same shape
    - G: number of groups, a divisor of C
    - gn_param: dict with optional 'eps' (default 1e-5)

    Returns a tuple of:
    - out: shape (N, C, H, W)
    - cache: what the backward pass needs
    """
    check_input_4d(x)
    N, C, H, W = x.shape
    G = check_int(G, "G", 1)
    if C % G:
        raise ValueError(f"G = {G} groups do not divide the C = {C} channels of x evenly")
    g = _channel_param(gamma, "gamma", C)
    b = _channel_param(beta, "beta", C)
    p = check_params(gn_param, "gn_param", optional={"eps": 1e-5})
    eps = float(p["eps"])
    if eps < 0:
        raise ValueError(f"gn_param['eps'] must be >= 0, got {eps}")
    xp = xp_of(x, gamma, beta)
    groups = x.reshape(N, G, -1)  # (N, G, C/G*H*W): one row per example and group
    xhat, _, _, inv_std = _standardize(groups, 2, eps)
    xhat = xhat.reshape(x.shape)
    out = (g * xhat + b).astype(xp.result_type(x, gamma, beta), copy=False)
    return out, (xhat, gamma, beta, g, inv_std, G, x.dtype)


def spatial_groupnorm_backward(dout: Any, cache: tuple) -> tuple[Any, Any, Any]:
    """Backward pass of spatial group normalization.

    Inputs:
    - dout: upstream gradient, shape (N, C, H, W)
    - cache: from :func:`spatial_groupnorm_forward`

    Returns a tuple of:
    - dx: shape (N, C, H, W)
    - dgamma, dbeta: the shape gamma and beta were given in
    """
    xhat, gamma, beta, g, inv_std, G, x_dtype = cache
    check_dout(dout, xhat.shape)
    N = xhat.shape[0]
    dgamma = (dout * xhat).sum(axis=(0, 2, 3)).reshape(gamma.shape)
    dbeta = dout.sum(axis=(0, 2, 3)).reshape(beta.shape)
    dxhat = (dout * g).reshape(N, G, -1)
    dx = _standardize_backward(dxhat, xhat.reshape(N, G, -1), inv_std, 2).reshape(xhat.shape)
    return (dx.astype(x_dtype, copy=False), dgamma.astype(gamma.dtype, copy=False),
            dbeta.astype(beta.dtype, copy=False))
