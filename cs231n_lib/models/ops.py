"""The layer functions the trainable models call, in one place: the fast conv and pooling
layers of :mod:`cs231n_lib.fast_layers` (training on the loop-based reference conv would take
far too long) and the reference layers for everything else.
"""
from __future__ import annotations

from ..fast_layers import (avg_pool_backward_fast as avg_pool_backward,
                           avg_pool_forward_fast as avg_pool_forward,
                           conv_backward_fast as conv_backward,
                           conv_forward_fast as conv_forward,
                           max_pool_backward_fast as max_pool_backward,
                           max_pool_forward_fast as max_pool_forward)
from ..layers import (affine_backward, affine_forward, batchnorm_backward, batchnorm_forward,
                      dropout_backward, dropout_forward, relu_backward, relu_forward,
                      softmax_loss, spatial_batchnorm_backward, spatial_batchnorm_forward)

__all__ = [
    "conv_forward", "conv_backward", "max_pool_forward", "max_pool_backward",
    "avg_pool_forward", "avg_pool_backward", "affine_forward", "affine_backward",
    "relu_forward", "relu_backward", "batchnorm_forward", "batchnorm_backward",
    "spatial_batchnorm_forward", "spatial_batchnorm_backward", "dropout_forward",
    "dropout_backward", "softmax_loss",
]
