"""Input checks shared by the layers: input arrays, filters, vectors and upstream gradients.

The window geometry of the windowed layers (conv, the pools, locally-connected), read from
their ``conv_param`` or ``pool_param``, is in :mod:`cs231n_lib.windows`.
"""
from __future__ import annotations

from typing import Any

from ..validate import check_float_array

LAYOUT = "(N, C, H, W)"


def check_input_4d(x: Any, name: str = "x") -> None:
    """``x`` must be a float (N, C, H, W) array."""
    check_float_array(x, name, 4, LAYOUT)


def check_dout(dout: Any, shape: tuple[int, ...]) -> None:
    """The upstream gradient must have exactly the shape of the forward output."""
    check_float_array(dout, "dout")
    if tuple(dout.shape) != tuple(shape):
        raise ValueError(f"dout has shape {tuple(dout.shape)} but the forward output had shape "
                         f"{tuple(shape)}; pass the gradient of this layer's output")


def check_vector(v: Any, name: str, length: int, what: str) -> None:
    """A 1-D float array of ``length`` entries (a bias, gamma, beta)."""
    check_float_array(v, name, 1, f"({what},)")
    if v.shape[0] != length:
        raise ValueError(f"{name} must have {length} entries ({what}), got shape {tuple(v.shape)}")


def check_filters(x: Any, w: Any, layer: str) -> None:
    """Conv filters ``w`` must be (F, C, HH, WW) with the channel count of ``x``."""
    check_float_array(w, "w", 4, "(F, C, HH, WW)")
    if w.shape[1] != x.shape[1]:
        raise ValueError(f"{layer}: x has {x.shape[1]} channels (shape {tuple(x.shape)}) but w "
                         f"expects {w.shape[1]} (shape {tuple(w.shape)}); w must be (F, C, HH, WW)")


__all__ = ["check_input_4d", "check_dout", "check_vector", "check_filters"]
