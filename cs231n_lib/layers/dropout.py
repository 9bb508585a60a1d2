"""Inverted dropout: during training keep each activation with probability p, else zero it.

``p`` is the probability of KEEPING a unit (the cs231n convention; PyTorch's ``nn.Dropout(p)``
uses p for *dropping*). Kept units are divided by p, so that the expected value of every
output equals its input: at test time the layer is then simply the identity, with nothing to
rescale. With p = 1 nothing is dropped and training mode is the identity too.

The mask comes from a local random Generator seeded by ``dropout_param['seed']`` (fresh
randomness when absent); the global NumPy random state is never touched. The backward pass
reuses the forward pass's mask from the cache.
"""
from __future__ import annotations

import numbers
from typing import Any

from ..backend import xp_of
from ..validate import check_float_array, check_int, check_params
from ._checks import check_dout


def dropout_forward(x: Any, dropout_param: dict) -> tuple[Any, tuple]:
    """Forward pass of (inverted) dropout.

    Inputs:
    - x: data, any shape
    - dropout_param: dict with
      - 'p': probability of KEEPING each unit, 0 < p <= 1 (required)
      - 'mode': 'train' (drop and rescale) or 'test' (identity) (required)
      - 'seed': an int seeding the mask's random Generator (optional)

    Returns a tuple of:
    - out: same shape and dtype as x
    - cache: (dropout_param, mask, x's shape, x's dtype); mask is None in test mode, else an
      array of 0 and 1/p
    """
    check_float_array(x, "x")
    p = check_params(dropout_param, "dropout_param", required=("p", "mode"),
                     optional={"seed": None})
    keep, mode, seed = p["p"], p["mode"], p["seed"]
    if isinstance(keep, bool) or not isinstance(keep, numbers.Real):
        raise TypeError(f"dropout_param['p'] must be a number, got {keep!r}")
    keep = float(keep)
    if not 0 < keep <= 1:
        raise ValueError(f"dropout_param['p'] is the probability of keeping a unit and must be in "
                         f"(0, 1], got {keep}")
    if mode not in ("train", "test"):
        raise ValueError(f"dropout_param['mode'] must be 'train' or 'test', got {mode!r}")
    if seed is not None:
        seed = check_int(seed, "dropout_param['seed']", 0)
    if mode == "test":
        return x, (dropout_param, None, x.shape, x.dtype)
    xp = xp_of(x)
    rng = xp.random.default_rng(seed)
    # uniform draws in [0, 1) fall below p with probability p; p = 1 keeps everything
    mask = (rng.random(x.shape) < keep).astype(x.dtype) / x.dtype.type(keep)
    return x * mask, (dropout_param, mask, x.shape, x.dtype)


def dropout_backward(dout: Any, cache: tuple) -> Any:
    """Backward pass of dropout: the gradient flows only through the kept units, scaled by
    1/p like them (the same mask as the forward pass).

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: from :func:`dropout_forward`

    Returns:
    - dx: same shape as x
    """
    _, mask, shape, dtype = cache
    check_dout(dout, shape)
    if mask is None:  # test mode: the identity
        return dout.astype(dtype, copy=False)
    return (dout * mask).astype(dtype, copy=False)
