"""The arithmetic of convolutional layers: output sizes, receptive fields, counts and memory.

Symbols (one spatial axis; height and width are handled the same way, one at a time):

* ``W`` input size, ``F`` filter (or pooling window) size, ``S`` stride, ``P`` zero padding
  on each side, ``D`` dilation in PyTorch's convention (1 = a contiguous filter; the notes
  count from 0, so their dilation ``d`` is ``D = d + 1`` here).
* The dilated filter spans ``F_eff = D*(F - 1) + 1`` input pixels.
* Output size: ``(W - F_eff + 2P) / S + 1``. It must be a whole number: a layer whose
  windows do not fit the padded input exactly is rejected with the arithmetic shown.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Iterable, Sequence

from .validate import check_int

__all__ = [
    "ConvGeometryError", "effective_filter_size", "conv_output_size", "pool_output_size",
    "fitting_settings", "ReceptiveField", "receptive_fields", "receptive_field",
    "conv_param_count", "fc_param_count", "locally_connected_param_count",
    "activation_count", "memory_bytes", "dtype_bytes",
]


class ConvGeometryError(ValueError):
    """A layer setting whose windows do not fit the input; the message shows the arithmetic."""


def effective_filter_size(F: int, dilation: int = 1) -> int:
    """How many input pixels a filter of size ``F`` spans with ``dilation`` (1 = contiguous):
    ``D*(F - 1) + 1``, the dilated span of :func:`cs231n_lib.windows.dilated_span`."""
    # imported here, not at the top: windows builds on this module's output-size rules
    from .windows import dilated_span
    return dilated_span(F, dilation)


def _fraction_text(q: Fraction) -> str:
    """4.5 for 9/2, 3 for 3/1, '10/3 = 3.333...' for repeating decimals."""
    if q.denominator == 1:
        return str(q.numerator)
    d = q.denominator
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    if d == 1:  # a finite decimal
        return f"{float(q):g}"
    return f"{q.numerator}/{q.denominator} = {float(q):.3f}..."


def fitting_settings(W: int, F: int, S: int, P: int, dilation: int = 1, limit: int = 3) -> list[str]:
    """Nearby settings that fit: other paddings with the same stride, other strides with the
    same padding. Used in error messages and by the output-size explorer."""
    Fe = effective_filter_size(F, dilation)
    found = []
    for p in sorted(range(0, Fe + 1), key=lambda p: (abs(p - P), p)):
        if p != P and W + 2 * p >= Fe and (W - Fe + 2 * p) % S == 0:
            found.append(f"P={p} (output {(W - Fe + 2 * p) // S + 1})")
            if len(found) >= limit:
                break
    # strides up to the filter span (larger strides skip input pixels entirely)
    strides = [s for s in range(1, Fe + 1)
               if s != S and W + 2 * P >= Fe and (W - Fe + 2 * P) % s == 0]
    for s in sorted(strides, key=lambda s: (abs(s - S), s))[:limit]:
        found.append(f"S={s} (output {(W - Fe + 2 * P) // s + 1})")
    # the nearest input sizes, below and above, that fit this F, S, P
    for w in (W - (W - Fe + 2 * P) % S, W + (-(W - Fe + 2 * P)) % S):
        if w != W and w + 2 * P >= Fe and w >= 1:
            found.append(f"W={w} (output {(w - Fe + 2 * P) // S + 1})")
    return found


def _output_size(what: str, W: Any, F: Any, S: Any, P: Any, dilation: Any) -> int:
    W = check_int(W, "W (input size)", 1)
    F = check_int(F, "F (filter size)" if what == "conv" else "F (pool size)", 1)
    S = check_int(S, "S (stride)", 1)
    P = check_int(P, "P (padding)", 0)
    D = check_int(dilation, "dilation", 1)
    Fe = effective_filter_size(F, D)
    f_text = f"{F}" if D == 1 else f"{Fe}"  # show the dilated span when it differs
    span = "" if D == 1 else f" (F={F} with dilation {D} spans {D}*({F}-1)+1 = {Fe} pixels)"
    arithmetic = f"({W} - {f_text} + 2*{P})/{S} + 1"
    if W + 2 * P < Fe:
        raise ConvGeometryError(
            f"the {what} window is larger than the padded input: {f_text} > {W} + 2*{P} = "
            f"{W + 2 * P}{span}; use a smaller F or more padding"
        )
    out = Fraction(W - Fe + 2 * P, S) + 1
    if out.denominator != 1:
        hints = fitting_settings(W, F, S, P, D)
        hint = f"; settings that fit: {', '.join(hints)}" if hints else ""
        raise ConvGeometryError(
            f"{arithmetic} = {_fraction_text(out)} is not a whole number, so the {what} "
            f"windows do not tile the input{span}{hint}"
        )
    return int(out)


def conv_output_size(W: int, F: int, S: int = 1, P: int = 0, dilation: int = 1) -> int:
    """Output size of a convolution along one axis: ``(W - F_eff + 2P)/S + 1``.

    >>> conv_output_size(7, 3, 2, 0)
    3
    >>> conv_output_size(227, 11, 4, 0)
    55

    Raises :class:`ConvGeometryError` when the result is not whole (the message shows the
    arithmetic, e.g. ``(10 - 3 + 2*0)/2 + 1 = 4.5``, and suggests settings that fit) or when
    the filter is larger than the padded input.
    """
    return _output_size("conv", W, F, S, P, dilation)


def pool_output_size(W: int, F: int, S: int, P: int = 0) -> int:
    """Output size of a pooling layer along one axis; same rule and errors as a convolution."""
    return _output_size("pool", W, F, S, P, 1)


# --------------------------------------------------------------------------------------------
# Receptive fields
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReceptiveField:
    """What one neuron after a layer sees of the network's input (one axis).

    ``size``: how many input pixels it spans; ``jump``: how far apart (in input pixels) two
    neighbouring neurons of this layer look; ``start``: the input coordinate of the centre of
    the first neuron's field (negative when padding lies under it).
    """
    size: int
    jump: int
    start: float


def _layer_tuple(layer: Any, i: int) -> tuple[int, int, int, int]:
    if isinstance(layer, dict):
        unknown = set(layer) - {"F", "S", "P", "dilation"}
        if unknown:
            raise ValueError(f"layers[{i}] has unknown key {sorted(unknown)[0]!r} "
                             "(expected keys: F, S, P, dilation)")
        if "F" not in layer:
            raise ValueError(f"layers[{i}] is missing key 'F' (expected keys: F, S, P, dilation)")
        F, S, P, D = layer["F"], layer.get("S", 1), layer.get("P", 0), layer.get("dilation", 1)
    elif isinstance(layer, (tuple, list)) and 1 <= len(layer) <= 4:
        F, S, P, D = (tuple(layer) + (1, 0, 1)[len(layer) - 1:])[:4]
    else:
        raise TypeError(f"layers[{i}] must be a dict with F, S, P, dilation or a tuple "
                        f"(F, S, P, dilation), got {layer!r}")
    return (check_int(F, f"layers[{i}] F", 1), check_int(S, f"layers[{i}] S", 1),
            check_int(P, f"layers[{i}] P", 0), check_int(D, f"layers[{i}] dilation", 1))


def receptive_fields(layers: Iterable[Any]) -> list[ReceptiveField]:
    """Receptive field after each layer of a stack (convs and pools alike).

    Each layer is ``(F, S, P, dilation)`` (trailing items may be left out) or a dict with
    those keys. The rule, layer by layer: ``size += (F_eff - 1) * jump``; ``jump *= S``.

    >>> [r.size for r in receptive_fields([(3,), (3,), (3,)])]
    [3, 5, 7]
    """
    size, jump, start = 1, 1, 0.5
    out = []
    for i, layer in enumerate(layers):
        F, S, P, D = _layer_tuple(layer, i)
        Fe = effective_filter_size(F, D)
        start = start + ((Fe - 1) / 2 - P) * jump
        size = size + (Fe - 1) * jump
        jump = jump * S
        out.append(ReceptiveField(size, jump, start))
    return out


def receptive_field(layers: Iterable[Any]) -> int:
    """Receptive field size (input pixels, one axis) of one neuron at the top of the stack."""
    fields = receptive_fields(layers)
    return fields[-1].size if fields else 1


# --------------------------------------------------------------------------------------------
# Counts
# --------------------------------------------------------------------------------------------
def conv_param_count(C: int, K: int, F: int | Sequence[int], bias: bool = True) -> dict[str, int]:
    """Weights and biases of a conv layer with ``K`` filters of size ``F`` (or ``(FH, FW)``)
    on ``C`` input channels: ``K*C*FH*FW`` weights, ``K`` biases (parameter sharing)."""
    FH, FW = tuple(F) if isinstance(F, (tuple, list)) else (F, F)  # NumPy ints are sizes too
    weights = K * C * FH * FW
    biases = K if bias else 0
    return {"weights": weights, "biases": biases, "total": weights + biases}


def fc_param_count(inputs: int, outputs: int, bias: bool = True) -> dict[str, int]:
    """Weights and biases of a fully-connected layer: every input to every output."""
    weights = inputs * outputs
    biases = outputs if bias else 0
    return {"weights": weights, "biases": biases, "total": weights + biases}


def locally_connected_param_count(C: int, K: int, F: int | Sequence[int], H_out: int, W_out: int,
                                  bias: bool = True) -> dict[str, int]:
    """A layer with the conv layer's connectivity but no parameter sharing: every one of the
    ``K*H_out*W_out`` neurons owns ``C*FH*FW`` weights and one bias."""
    per_neuron = conv_param_count(C, 1, F, bias)
    neurons = K * H_out * W_out
    return {"weights": neurons * per_neuron["weights"], "biases": neurons * per_neuron["biases"],
            "total": neurons * per_neuron["total"]}


def activation_count(shape: Sequence[int]) -> int:
    """How many numbers a volume of this shape holds (e.g. (55, 55, 96) → 290,400)."""
    n = 1
    for s in shape:
        n *= int(s)
    return n


_DTYPE_BYTES = {"float16": 2, "float32": 4, "float64": 8}


def dtype_bytes(dtype: Any) -> int:
    """Bytes per number: float16 2, float32 4, float64 8 (a name, a NumPy dtype or type)."""
    name = getattr(dtype, "name", None) or getattr(dtype, "__name__", None) or str(dtype)
    if name not in _DTYPE_BYTES:
        raise ValueError(f"dtype must be one of {sorted(_DTYPE_BYTES)}, got {dtype!r}")
    return _DTYPE_BYTES[name]


def memory_bytes(activations: int, params: int, dtype: Any = "float32", batch_size: int = 1,
                 backward: bool = True) -> dict[str, int]:
    """Memory of a network, in bytes, by the rule of thumb of the notes.

    * activations: ``activations`` numbers per image × ``batch_size``; doubled when
      ``backward`` (each activation also gets a gradient);
    * parameters: ×3 when ``backward`` (values, gradients and an optimizer cache), ×1 otherwise.
    """
    b = dtype_bytes(dtype)
    batch_size = check_int(batch_size, "batch_size", 1)
    act = activations * batch_size * b * (2 if backward else 1)
    par = params * b * (3 if backward else 1)
    return {"activations": act, "parameters": par, "total": act + par}
