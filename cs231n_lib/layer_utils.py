"""The layers training runs on, and sandwich layers: common sequences of layers as one
forward/backward pair.

Training uses the fast conv and pooling layers (:mod:`cs231n_lib.fast_layers`: same signatures
and results as the naive reference layers, fast enough to train with; training on the
loop-based reference conv would take far too long) under their plain names
``conv_forward``, ``max_pool_forward``, ``avg_pool_forward``... This is the one place those
names are given; the sandwiches below and the models' layer table use them.

Each sandwich chains the forward passes and keeps every layer's cache; its backward pass
undoes them in the reverse order (the chain rule, one layer at a time)::

    affine_relu:     affine -> ReLU
    conv_relu:       conv -> ReLU
    conv_relu_pool:  conv -> ReLU -> max pool
    conv_bn_relu:    conv -> spatial batchnorm -> ReLU
"""
from __future__ import annotations

from typing import Any

from .fast_layers import (avg_pool_backward_fast as avg_pool_backward,
                          avg_pool_forward_fast as avg_pool_forward,
                          conv_backward_fast as conv_backward,
                          conv_forward_fast as conv_forward,
                          max_pool_backward_fast as max_pool_backward,
                          max_pool_forward_fast as max_pool_forward)
from .layers import (affine_backward, affine_forward, relu_backward, relu_forward,
                     spatial_batchnorm_backward, spatial_batchnorm_forward)

__all__ = [
    "affine_relu_forward", "affine_relu_backward", "conv_relu_forward", "conv_relu_backward",
    "conv_relu_pool_forward", "conv_relu_pool_backward", "conv_bn_relu_forward",
    "conv_bn_relu_backward", "conv_forward", "conv_backward", "max_pool_forward",
    "max_pool_backward", "avg_pool_forward", "avg_pool_backward",
]


def affine_relu_forward(x: Any, w: Any, b: Any) -> tuple[Any, tuple]:
    """Affine layer followed by a ReLU.

    Inputs:
    - x: input, shape (N, d_1, ..., d_k)
    - w, b: weights (D, M) and biases (M,) of the affine layer

    Returns a tuple of:
    - out: shape (N, M)
    - cache: (affine cache, relu cache)
    """
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout: Any, cache: tuple) -> tuple[Any, Any, Any]:
    """Backward pass of :func:`affine_relu_forward`; returns (dx, dw, db)."""
    fc_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    return affine_backward(da, fc_cache)


def conv_relu_forward(x: Any, w: Any, b: Any, conv_param: dict) -> tuple[Any, tuple]:
    """Convolution followed by a ReLU.

    Inputs:
    - x: input, shape (N, C, H, W)
    - w, b: filters (F, C, HH, WW) and biases (F,)
    - conv_param: as for the conv layer ('stride', 'pad', optional 'dilation')

    Returns a tuple of:
    - out: shape (N, F, H_out, W_out)
    - cache: (conv cache, relu cache)
    """
    a, conv_cache = conv_forward(x, w, b, conv_param)
    out, relu_cache = relu_forward(a)
    return out, (conv_cache, relu_cache)


def conv_relu_backward(dout: Any, cache: tuple) -> tuple[Any, Any, Any]:
    """Backward pass of :func:`conv_relu_forward`; returns (dx, dw, db)."""
    conv_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    return conv_backward(da, conv_cache)


def conv_relu_pool_forward(x: Any, w: Any, b: Any, conv_param: dict,
                           pool_param: dict) -> tuple[Any, tuple]:
    """Convolution, ReLU, then max pooling.

    Inputs:
    - x: input, shape (N, C, H, W)
    - w, b: filters (F, C, HH, WW) and biases (F,)
    - conv_param: as for the conv layer
    - pool_param: as for max pooling ('pool_height', 'pool_width', 'stride', optional 'pad')

    Returns a tuple of:
    - out: the pooled output, shape (N, F, H_pool, W_pool)
    - cache: (conv cache, relu cache, pool cache)
    """
    a, conv_cache = conv_forward(x, w, b, conv_param)
    s, relu_cache = relu_forward(a)
    out, pool_cache = max_pool_forward(s, pool_param)
    return out, (conv_cache, relu_cache, pool_cache)


def conv_relu_pool_backward(dout: Any, cache: tuple) -> tuple[Any, Any, Any]:
    """Backward pass of :func:`conv_relu_pool_forward`; returns (dx, dw, db)."""
    conv_cache, relu_cache, pool_cache = cache
    ds = max_pool_backward(dout, pool_cache)
    da = relu_backward(ds, relu_cache)
    return conv_backward(da, conv_cache)


def conv_bn_relu_forward(x: Any, w: Any, b: Any, gamma: Any, beta: Any, conv_param: dict,
                         bn_param: dict) -> tuple[Any, tuple]:
    """Convolution, spatial batch normalization, then ReLU.

    Inputs:
    - x: input, shape (N, C, H, W)
    - w, b: filters (F, C, HH, WW) and biases (F,)
    - gamma, beta: batchnorm scale and shift, shape (F,)
    - conv_param: as for the conv layer
    - bn_param: as for spatial batchnorm ('mode', optional 'eps', 'momentum', running stats)

    Returns a tuple of:
    - out: shape (N, F, H_out, W_out)
    - cache: (conv cache, batchnorm cache, relu cache)
    """
    a, conv_cache = conv_forward(x, w, b, conv_param)
    an, bn_cache = spatial_batchnorm_forward(a, gamma, beta, bn_param)
    out, relu_cache = relu_forward(an)
    return out, (conv_cache, bn_cache, relu_cache)


def conv_bn_relu_backward(dout: Any, cache: tuple) -> tuple[Any, Any, Any, Any, Any]:
    """Backward pass of :func:`conv_bn_relu_forward`; returns (dx, dw, db, dgamma, dbeta)."""
    conv_cache, bn_cache, relu_cache = cache
    dan = relu_backward(dout, relu_cache)
    da, dgamma, dbeta = spatial_batchnorm_backward(dan, bn_cache)
    dx, dw, db = conv_backward(da, conv_cache)
    return dx, dw, db, dgamma, dbeta
