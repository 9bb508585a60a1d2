"""The three-layer ConvNet of the cs231n assignment, on :class:`Sequential`::

    conv - relu - 2x2 max pool - affine - relu - affine - softmax

The conv keeps the spatial size (stride 1, padding ``(filter_size - 1) // 2``); the pool
halves it. Parameters: ``W1, b1`` (conv), ``W2, b2`` (hidden affine), ``W3, b3`` (scores).
"""
from __future__ import annotations

from typing import Any, Sequence

from ..backend import np
from .sequential import Sequential
from .spec import conv, fc, input_layer, pool, relu

__all__ = ["ThreeLayerConvNet"]


class ThreeLayerConvNet(Sequential):
    """Inputs (the cs231n constructor, plus a seed):
    - input_dim: (C, H, W) of one input
    - num_filters: number of conv filters
    - filter_size: width and height of each filter
    - hidden_dim: neurons of the hidden affine layer
    - num_classes: number of scores
    - weight_scale: standard deviation of the initial weights (biases start at 0)
    - reg: L2 regularization strength
    - dtype: float32 or float64
    - seed: seeds the initial weights (None: fresh randomness)
    """

    def __init__(self, input_dim: Sequence[int] = (3, 32, 32), num_filters: int = 32,
                 filter_size: int = 7, hidden_dim: int = 100, num_classes: int = 10,
                 weight_scale: float = 1e-3, reg: float = 0.0, dtype: Any = np.float32,
                 seed: int | None = None):
        spec = [input_layer(*input_dim),
                conv(num_filters, filter_size, 1, (filter_size - 1) // 2), relu(),
                pool(2, 2),
                fc(hidden_dim), relu(),
                fc(num_classes)]
        super().__init__(spec, weight_scale=weight_scale, reg=reg, dtype=dtype, seed=seed)
