"""Checks of what a public function was given, with messages that name the argument.

Layers, fast layers, models and visualizers all validate their input the same way; this module
is that one way. Every check raises a ``ValueError`` or ``TypeError`` (never ``assert``, which
vanishes under ``python -O``) whose message says which argument, what was expected and what
came instead.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .backend import to_host, xp_of


def check_array(x: Any, name: str, ndim: int | None = None, layout: str | None = None) -> None:
    """``x`` must be an array (NumPy or CuPy) with ``ndim`` dimensions.

    ``layout`` names the axes for the message, e.g. ``"(N, C, H, W)"``.
    """
    if not hasattr(x, "shape") or not hasattr(x, "dtype"):
        raise TypeError(f"{name} must be an array, got {type(x).__name__}")
    if ndim is not None and x.ndim != ndim:
        expect = f"{ndim}-D {layout}" if layout else f"{ndim}-D"
        raise ValueError(f"{name} must be {expect}, got shape {tuple(x.shape)} ({x.ndim}-D)")
    if x.dtype.kind not in "fiub":
        raise TypeError(f"{name} must hold numbers, got dtype {x.dtype}")


def check_float_array(x: Any, name: str, ndim: int | None = None, layout: str | None = None) -> None:
    """Like :func:`check_array`, and the dtype must be a floating type (float32/float64)."""
    check_array(x, name, ndim, layout)
    if x.dtype.kind != "f":
        raise TypeError(f"{name} must be a float array (float32 or float64), got dtype {x.dtype}")


def _all_true(flags: Any) -> bool:
    """Whether every entry of a boolean array is true. On the GPU the reduction runs there
    and one scalar is copied back, explicitly (``bool()`` on a CuPy array would do it
    silently, and our device test double refuses that)."""
    return bool(to_host(flags.all()))


def check_finite(x: Any, name: str) -> None:
    """``x`` must hold no NaN or inf. One reduction; on the GPU one scalar comes back."""
    xp = xp_of(x)
    if not _all_true(xp.isfinite(x)):
        raise ValueError(f"{name} contains NaN or inf values")


def check_params(params: Any, name: str, required: Iterable[str] = (),
                 optional: Mapping[str, Any] | None = None) -> dict:
    """Validate a parameter dict (``conv_param``, ``pool_param``, ``bn_param`` ...).

    Returns a new dict with the optional keys filled with their defaults. A missing required
    key or an unknown key is a ``ValueError`` naming it and listing the accepted keys.
    """
    optional = dict(optional or {})
    required = tuple(required)
    if not isinstance(params, Mapping):
        raise TypeError(f"{name} must be a dict, got {type(params).__name__}")
    accepted = list(required) + list(optional)
    missing = [k for k in required if k not in params]
    if missing:
        raise ValueError(f"{name} is missing key {missing[0]!r} (expected keys: {accepted})")
    unknown = [k for k in params if k not in accepted]
    if unknown:
        raise ValueError(f"{name} has unknown key {unknown[0]!r} (expected keys: {accepted})")
    return {**optional, **params}


def check_int(value: Any, name: str, minimum: int | None = None) -> int:
    """``value`` must be a whole number (a Python or NumPy integer, not a float or a bool),
    at least ``minimum``."""
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_pair(value: Any, name: str, minimum: int | None = None) -> tuple[int, int]:
    """An int or a pair of ints (height, width), as PyTorch accepts for stride and padding."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair (height, width), got {value!r}")
        return check_int(value[0], f"{name}[0]", minimum), check_int(value[1], f"{name}[1]", minimum)
    v = check_int(value, name, minimum)
    return v, v


def check_labels(y: Any, num_classes: int, n: int, name: str = "y") -> None:
    """``y`` must be ``n`` integer class labels in ``[0, num_classes)``."""
    check_array(y, name, 1, "(N,)")
    if y.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    if y.shape[0] != n:
        raise ValueError(f"{name} has {y.shape[0]} labels but the scores have {n} rows")
    if n and not _all_true((y >= 0) & (y < num_classes)):
        raise ValueError(f"{name} has labels outside [0, {num_classes}) — there are {num_classes} classes")


def check_same_shape(a: Any, a_name: str, b: Any, b_name: str) -> None:
    """Two arrays that must match exactly (an upstream gradient and its forward output)."""
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"{a_name} has shape {tuple(a.shape)} but {b_name} has shape {tuple(b.shape)}")
