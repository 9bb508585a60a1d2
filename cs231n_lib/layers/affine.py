"""The affine (fully-connected) layer: every input number feeds every output neuron.

Forward: ``out = x_flat @ w + b`` where ``x_flat`` is each example flattened to a row.
Backward, by the chain rule on that one matrix product:
``dx_flat = dout @ w.T``, ``dw = x_flat.T @ dout``, ``db = sum of dout over the batch``.
"""
from __future__ import annotations

import math
from typing import Any

from ..validate import check_float_array
from ._checks import check_dout, check_vector


def affine_forward(x: Any, w: Any, b: Any) -> tuple[Any, tuple]:
    """Forward pass of an affine layer.

    Inputs:
    - x: array of shape (N, d_1, ..., d_k): N examples, each flattened to D = d_1*...*d_k numbers
    - w: weights, shape (D, M)
    - b: biases, shape (M,)

    Returns a tuple of:
    - out: shape (N, M)
    - cache: (x, w, b)
    """
    check_float_array(x, "x")
    check_float_array(w, "w", 2, "(D, M)")
    if x.ndim < 2:
        raise ValueError("x must be (N, d_1, ..., d_k) with at least 2 axes, "
                         f"got shape {tuple(x.shape)}")
    N, D = x.shape[0], math.prod(x.shape[1:])
    if D != w.shape[0]:
        raise ValueError(f"x has {D} numbers per example (shape {tuple(x.shape)}) but w has "
                         f"{w.shape[0]} rows (shape {tuple(w.shape)}); they must match")
    check_vector(b, "b", w.shape[1], "M")
    out = x.reshape(N, D) @ w + b
    return out, (x, w, b)


def affine_backward(dout: Any, cache: tuple) -> tuple[Any, Any, Any]:
    """Backward pass of an affine layer.

    Inputs:
    - dout: upstream gradient, shape (N, M)
    - cache: (x, w, b) from :func:`affine_forward`

    Returns a tuple of:
    - dx: shape (N, d_1, ..., d_k), like x
    - dw: shape (D, M)
    - db: shape (M,)
    """
    x, w, b = cache
    N, M = x.shape[0], w.shape[1]
    check_dout(dout, (N, M))
    x_flat = x.reshape(N, -1)
    dx = (dout @ w.T).reshape(x.shape).astype(x.dtype, copy=False)
    dw = (x_flat.T @ dout).astype(w.dtype, copy=False)
    db = dout.sum(axis=0).astype(b.dtype, copy=False)
    return dx, dw, db

