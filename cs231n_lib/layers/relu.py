"""The rectified linear unit, ``max(0, x)`` elementwise.

Its gradient is 1 where the input was positive and 0 elsewhere (at exactly 0 we take 0, the
usual convention), so the backward pass lets the upstream gradient through only there.
"""
from __future__ import annotations

from typing import Any

from ..backend import xp_of
from ..validate import check_float_array
from ._checks import check_dout


def relu_forward(x: Any) -> tuple[Any, Any]:
    """Forward pass of a ReLU.

    Inputs:
    - x: array of any shape

    Returns a tuple of:
    - out: same shape and dtype as x
    - cache: x
    """
    check_float_array(x, "x")
    xp = xp_of(x)
    out = xp.maximum(x, 0).astype(x.dtype, copy=False)
    return out, x


def relu_backward(dout: Any, cache: Any) -> Any:
    """Backward pass of a ReLU.

    Inputs:
    - dout: upstream gradient, same shape as x
    - cache: x from :func:`relu_forward`

    Returns:
    - dx: gradient with respect to x, same shape and dtype as x
    """
    x = cache
    check_dout(dout, x.shape)
    return (dout * (x > 0)).astype(x.dtype, copy=False)
