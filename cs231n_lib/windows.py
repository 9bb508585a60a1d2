"""The one windowing utility shared by conv, pooling, locally-connected layers and im2col.

A layer that slides a window of ``HH x WW`` over an ``(N, C, H, W)`` input with a stride, zero
padding and dilation needs the same three things: the output size (with a clear error when
the windows do not fit), the zero-padded input, and the way back from the padded gradient to
the input's gradient. They live here once.
"""
from __future__ import annotations

from typing import Any

from .backend import xp_of
from .geometry import ConvGeometryError, conv_output_size, pool_output_size


def window_output_shape(H: int, W: int, HH: int, WW: int, stride: tuple[int, int],
                        pad: tuple[int, int] = (0, 0), dilation: tuple[int, int] = (1, 1),
                        what: str = "conv") -> tuple[int, int]:
    """``(H_out, W_out)`` of a ``HH x WW`` window sliding over ``H x W``.

    ``what`` ("conv" or "pool") chooses the wording of errors; each error says which axis
    (height or width) does not fit and shows the arithmetic.
    """
    out = []
    for axis, size, f, s, p, d in (("height", H, HH, stride[0], pad[0], dilation[0]),
                                   ("width", W, WW, stride[1], pad[1], dilation[1])):
        try:
            if what == "pool":
                out.append(pool_output_size(size, f, s, p))
            else:
                out.append(conv_output_size(size, f, s, p, d))
        except ConvGeometryError as exc:
            raise ConvGeometryError(f"{what} geometry along the {axis}: {exc}") from None
    return out[0], out[1]


def pad_spatial(x: Any, pad: tuple[int, int], value: float = 0) -> Any:
    """``x`` (N, C, H, W) with ``pad[0]`` rows of zeros above and below and ``pad[1]``
    columns left and right; ``x`` itself when there is nothing to pad.

    ``value`` fills the border instead of zeros: max pooling pads with ``-inf`` so that
    padding never wins a window (PyTorch's rule)."""
    ph, pw = pad
    if ph == 0 and pw == 0:
        return x
    xp = xp_of(x)
    return xp.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def unpad_spatial(x_padded: Any, pad: tuple[int, int]) -> Any:
    """The inverse of :func:`pad_spatial` (a view): the gradient of the padded input,
    cropped back to the input. Written with explicit ends so that ``pad = 0`` works
    (``x[p:-p]`` would be empty for p = 0)."""
    ph, pw = pad
    H, W = x_padded.shape[-2:]
    return x_padded[..., ph:H - ph, pw:W - pw]
