"""Input checks shared by the layers: parameter dicts, window geometry and upstream gradients.

Every windowed layer (conv, the pools, locally-connected) reads its ``conv_param`` or
``pool_param`` here, so that the accepted keys, the int-or-pair rule and the wording of the
errors are the same everywhere. The geometry itself comes from :mod:`cs231n_lib.windows`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..geometry import ConvGeometryError
from ..validate import check_float_array, check_int, check_pair, check_params
from ..windows import window_output_shape

LAYOUT = "(N, C, H, W)"


@dataclass(frozen=True)
class Window:
    """The geometry of one sliding-window layer, both axes as (height, width) pairs.

    ``span`` is how many input pixels one dilated window covers: ``dilation*(size - 1) + 1``.
    """
    size: tuple[int, int]
    stride: tuple[int, int]
    pad: tuple[int, int]
    dilation: tuple[int, int]
    out: tuple[int, int]

    @property
    def span(self) -> tuple[int, int]:
        return tuple(d * (f - 1) + 1 for f, d in zip(self.size, self.dilation))

    def rows(self, i: int) -> slice:
        """The rows of the padded input under output row ``i`` (dilated: every ``dilation``-th)."""
        start = i * self.stride[0]
        return slice(start, start + self.span[0], self.dilation[0])

    def cols(self, j: int) -> slice:
        """The columns of the padded input under output column ``j``."""
        start = j * self.stride[1]
        return slice(start, start + self.span[1], self.dilation[1])


def conv_window(x: Any, HH: int, WW: int, conv_param: Any, layer: str) -> Window:
    """Read ``conv_param = {'stride', 'pad', 'dilation'=1}`` and size the output of an
    ``HH x WW`` filter over ``x`` (N, C, H, W). The errors name ``conv_param`` and show the
    arithmetic of the axis that does not fit."""
    p = check_params(conv_param, "conv_param", required=("stride", "pad"), optional={"dilation": 1})
    stride = check_pair(p["stride"], "conv_param['stride']", 1)
    pad = check_pair(p["pad"], "conv_param['pad']", 0)
    dilation = check_pair(p["dilation"], "conv_param['dilation']", 1)
    H, W = x.shape[2:]
    try:
        out = window_output_shape(H, W, HH, WW, stride, pad, dilation, what="conv")
    except ConvGeometryError as exc:
        raise ConvGeometryError(
            f"{layer}: a {HH}x{WW} filter with conv_param {dict(conv_param)} does not fit x of "
            f"shape {tuple(x.shape)}: {exc}") from None
    return Window((HH, WW), stride, pad, dilation, out)


def pool_window(x: Any, pool_param: Any, layer: str) -> Window:
    """Read ``pool_param = {'pool_height', 'pool_width', 'stride', 'pad'=0}`` for ``x``.

    Padding may be at most half the window on each axis (PyTorch's rule), so that every
    window holds at least one real input pixel.
    """
    p = check_params(pool_param, "pool_param", required=("pool_height", "pool_width", "stride"),
                     optional={"pad": 0})
    size = (check_int(p["pool_height"], "pool_param['pool_height']", 1),
            check_int(p["pool_width"], "pool_param['pool_width']", 1))
    stride = check_pair(p["stride"], "pool_param['stride']", 1)
    pad = check_pair(p["pad"], "pool_param['pad']", 0)
    for axis, f, q in (("height", size[0], pad[0]), ("width", size[1], pad[1])):
        if 2 * q > f:
            raise ValueError(f"pool_param['pad'] = {q} along the {axis} is more than half the "
                             f"{f}-pixel window; a window could then hold only padding")
    H, W = x.shape[2:]
    try:
        out = window_output_shape(H, W, size[0], size[1], stride, pad, what="pool")
    except ConvGeometryError as exc:
        raise ConvGeometryError(
            f"{layer}: pool_param {dict(pool_param)} does not fit x of shape {tuple(x.shape)}: "
            f"{exc}") from None
    return Window(size, stride, pad, (1, 1), out)


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


__all__ = ["Window", "conv_window", "pool_window", "check_input_4d", "check_dout", "check_vector",
           "check_filters"]
