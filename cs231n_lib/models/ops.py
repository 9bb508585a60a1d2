"""The layer functions the trainable models call: the one place that chooses between the
reference (naive) layers and the fast ones.

When :mod:`cs231n_lib.fast_layers` exists, its ``conv_*_fast``, ``max_pool_*_fast`` and
``avg_pool_*_fast`` are used (same signatures as the naive ones; training on the loop-based
conv would take far too long); a name it does not define falls back to the reference layer.
If ``fast_layers`` exists but fails to import, that error is raised, not hidden.

``FAST`` tells which operations run the fast code.
"""
from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType
from typing import Callable

from .. import layers as reference
from ..layers import (affine_backward, affine_forward, batchnorm_backward, batchnorm_forward,
                      dropout_backward, dropout_forward, relu_backward, relu_forward,
                      softmax_loss, spatial_batchnorm_backward, spatial_batchnorm_forward)

__all__ = [
    "conv_forward", "conv_backward", "max_pool_forward", "max_pool_backward",
    "avg_pool_forward", "avg_pool_backward", "affine_forward", "affine_backward",
    "relu_forward", "relu_backward", "batchnorm_forward", "batchnorm_backward",
    "spatial_batchnorm_forward", "spatial_batchnorm_backward", "dropout_forward",
    "dropout_backward", "softmax_loss", "FAST",
]


def _fast_module() -> ModuleType | None:
    if importlib.util.find_spec("cs231n_lib.fast_layers") is None:
        return None
    return importlib.import_module("cs231n_lib.fast_layers")


_fast = _fast_module()
FAST: dict[str, bool] = {}


def _pick(op: str) -> Callable:
    """``op`` ("conv_forward", ...) from fast_layers (``op + "_fast"``) if it is there, else
    the reference layer (``op + "_naive"``)."""
    fast = getattr(_fast, f"{op}_fast", None) if _fast is not None else None
    FAST[op] = fast is not None
    return fast if fast is not None else getattr(reference, f"{op}_naive")


conv_forward = _pick("conv_forward")
conv_backward = _pick("conv_backward")
max_pool_forward = _pick("max_pool_forward")
max_pool_backward = _pick("max_pool_backward")
avg_pool_forward = _pick("avg_pool_forward")
avg_pool_backward = _pick("avg_pool_backward")
