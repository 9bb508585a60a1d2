"""A network as data: a list of layer descriptions, and one table that says, for every kind of
layer, what it accepts, how it is written, what shape it gives, what it costs and how it runs.

A *spec* is a plain list of :class:`Layer` objects. Write one with the constructors below::

    [input_layer(3, 32, 32), conv(32), relu(), pool(), fc(10)]

or in the notes' pattern language with :func:`cs231n_lib.models.parse`::

    parse("INPUT(3, 32, 32) -> CONV -> RELU -> POOL -> FC", filters=32, num_classes=10)

Defaults follow the notes' sizing rules: a convolution is 3x3 with stride 1 and "same" zero
padding ``P = D*(F - 1)/2`` (so it keeps the spatial size); a pooling window moves by its own
size (``POOL`` = 2x2 max pool, stride 2). Shapes are ``(C, H, W)`` for volumes and ``(D,)`` for
the flat vector an FC layer produces; the batch dimension is never part of a spec.

Two special layers hold sub-networks: ``inception`` (parallel branches whose outputs are
stacked along the channels, as in GoogLeNet) and ``residual`` (``body(x) + shortcut(x)``, as in
ResNet). They exist so that their shapes and parameters can be counted; their constructors
live with ``as_spec`` in :mod:`.parser`, since their branches may be written in any form a
spec can take.

:data:`KINDS` holds one :class:`Kind` record per layer kind. The parser, :func:`summary` and
:class:`Sequential` read everything kind-specific from it, so adding a kind is adding a record.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from ..geometry import ConvGeometryError, activation_count
from ..layer_utils import (avg_pool_backward, avg_pool_forward, conv_backward, conv_forward,
                           max_pool_backward, max_pool_forward)
from ..layers import (affine_backward, affine_forward, batchnorm_backward, batchnorm_forward,
                      dropout_backward, dropout_forward, relu_backward, relu_forward,
                      spatial_batchnorm_backward, spatial_batchnorm_forward)
from ..validate import check_int, check_pair
from ..windows import window_output_shape

__all__ = [
    "Layer", "SpecError", "ShapeError", "Kind", "Param", "KINDS", "kind_of",
    "input_layer", "conv", "relu", "pool", "avgpool", "fc", "dropout", "batchnorm",
    "layer_name_list", "output_shape", "param_counts", "infer_shapes", "input_shape_of",
    "network_stride",
]

Shape = tuple[int, ...]


class SpecError(ValueError):
    """A spec that cannot describe a network: unknown layer kind, bad layer setting."""


class ShapeError(ValueError):
    """A layer that does not fit the shape it receives; the message names the layer."""


@dataclass(frozen=True)
class Layer:
    """One layer of a spec.

    ``kind`` is one of :data:`KINDS`; ``params`` holds its settings with every default filled
    in (see the constructors); ``text`` is how the layer was written, when it came from a
    pattern string (it takes no part in comparing layers).
    """
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    text: str = field(default="", compare=False)

    def __repr__(self) -> str:
        return f"Layer({self.label})"

    @property
    def label(self) -> str:
        """The layer in the notes' notation: ``CONV3-64``, ``POOL2``, ``FC-4096``..."""
        kind = KINDS.get(self.kind)
        if kind is None or kind.label is None:
            return self.kind.upper()  # RELU, BATCHNORM (and a kind the table does not know)
        return kind.label(self.params)


@dataclass(frozen=True)
class Param:
    """One trainable array of a layer, as :class:`Sequential` creates it.

    ``name`` is the cs231n prefix (``W``, ``b``, ``gamma``, ``beta``), numbered per network;
    ``fill`` is "random" (drawn with the model's init, from ``fan_in`` inputs per neuron),
    "zeros" or "ones". A ``trained=False`` array is a constant (a conv without bias holds a
    zero bias); ``decay`` says whether the L2 penalty applies (weights yes, biases no).
    """
    name: str
    shape: Shape
    fill: str
    fan_in: int = 0
    trained: bool = True
    decay: bool = False


def _same_shape(p: Mapping[str, Any], shape: Shape, where: str) -> Shape:
    return shape


def _no_params(p: Mapping[str, Any], shape: Shape) -> tuple[int, int]:
    return 0, 0


def _no_trainables(p: Mapping[str, Any], shape: Shape) -> tuple[Param, ...]:
    return ()


def _no_config(p: Mapping[str, Any]) -> dict:
    return {}


@dataclass(frozen=True)
class Kind:
    """Everything the package knows about one kind of layer.

    Writing it down:
    - ``name``: the kind (``layer.kind``); ``settings``: what a layer of it accepts;
      ``description``: what it is, in words.
    - ``make``: the constructor (``conv(K, F, ...)``), the one place defaults are decided;
      None for the blocks, which patterns and dicts cannot write (their constructors,
      ``inception`` and ``residual``, are in :mod:`.parser`).
    - ``names``: its spellings in the pattern language; ``positional``: the settings that may be
      given without names, in order (``CONV(64, 11, 4, 0)``); ``short_form``: the settings
      of the notes' short form NAME<size>-<count> (``CONV3-64``, ``POOL2``, ``FC-4096``), or
      None where that form means nothing.
    - ``label``: the layer in the notes' notation (None: the name in capitals).

    Counting it (shapes are ``(C, H, W)`` or ``(D,)``):
    - ``output_shape(params, shape, where)``; ``needs_volume``: its input must be a volume;
      ``flattens``: its output is a vector whatever its input, which fixes the input size of
      a network and ends its spatial stride.
    - ``param_counts(params, shape)``: ``(weights, biases)``; ``stride(params)``: how far apart
      two neighbouring outputs are, in input pixels.
    - ``parts(params)``: for a block, its sub-networks as ``(tag, spec)`` pairs; the block's
      parameters are theirs.

    Running it (:class:`Sequential`; a kind without ``forward`` cannot be trained):
    - ``params(params, shape)``: its trainable arrays (:class:`Param`); ``config(params)``:
      the fixed settings dict the layer functions take (conv_param, pool_param, ...);
      ``keeps_state``: the config also holds running statistics for test mode (batchnorm's
      bn_param).
    - ``forward(x, arrays, config, mode, rng) -> (out, cache)`` with ``arrays`` the layer's
      params in order and ``rng`` the model's generator; ``backward(dout, cache)`` returns
      ``(dx, *gradients of arrays)``.
    """
    name: str
    settings: tuple[str, ...]
    description: str
    make: Callable[..., Layer] | None = None
    names: tuple[str, ...] = ()
    positional: tuple[str, ...] = ()
    short_form: Callable[[int | None, int | None], dict | None] | None = None
    label: Callable[[Mapping[str, Any]], str] | None = None
    output_shape: Callable[[Mapping[str, Any], Shape, str], Shape] = _same_shape
    needs_volume: bool = False
    flattens: bool = False
    param_counts: Callable[[Mapping[str, Any], Shape], tuple[int, int]] = _no_params
    stride: Callable[[Mapping[str, Any]], tuple[int, int]] | None = None
    parts: Callable[[Mapping[str, Any]], list[tuple[str, Sequence[Layer]]]] | None = None
    params: Callable[[Mapping[str, Any], Shape], tuple[Param, ...]] = _no_trainables
    config: Callable[[Mapping[str, Any]], dict] = _no_config
    keeps_state: bool = False
    forward: Callable[..., tuple[Any, Any]] | None = None
    backward: Callable[[Any, Any], tuple] | None = None


# --------------------------------------------------------------------------------------------
# Helpers the kinds share
# --------------------------------------------------------------------------------------------
def _pair_text(pair: tuple[int, int]) -> str:
    return f"{pair[0]}" if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"


def _same_padding(F: tuple[int, int], dilation: tuple[int, int]) -> tuple[int, int]:
    """The zero padding that keeps the spatial size of a stride-1 conv: ``D*(F - 1)/2``."""
    return (dilation[0] * (F[0] - 1) // 2, dilation[1] * (F[1] - 1) // 2)


def _check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise SpecError(f"{name} must be True or False, got {value!r}")
    return value


def _shape_text(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def _with_extras(head: str, extra: list[str]) -> str:
    """``CONV3-64 (S2 P0)``: a label and, in brackets, the settings that differ from the
    defaults."""
    return head + (f" ({' '.join(extra)})" if extra else "")


def _window_shape(shape: Shape, where: str, p: Mapping[str, Any], what: str,
                  dilation: tuple[int, int] = (1, 1)) -> tuple[int, int]:
    """``(H_out, W_out)`` of the windows of ``p`` (F, S, P) on the volume ``shape``; an error
    starts with ``where`` and the input shape."""
    try:
        return window_output_shape(shape[1], shape[2], *p["F"], p["S"], p["P"], dilation, what)
    except ConvGeometryError as exc:
        raise ConvGeometryError(f"{where} on input {_shape_text(shape)}: {exc}") from None


def _stride(p: Mapping[str, Any]) -> tuple[int, int]:
    return p["S"]


def _weights_and_bias(W_shape: Shape, fan_in: int, K: int, bias: bool) -> tuple[Param, ...]:
    """A conv's or FC's arrays: weights drawn at random, a bias of K zeros (constant if the
    layer has no bias)."""
    return (Param("W", W_shape, "random", fan_in, decay=True),
            Param("b", (K,), "zeros", trained=bias))


# --------------------------------------------------------------------------------------------
# INPUT
# --------------------------------------------------------------------------------------------
def input_layer(C: int | None = None, H: int | None = None, W: int | None = None,
                text: str = "") -> Layer:
    """The input volume ``(C, H, W)``; all three may be left out and given to ``summary``
    or ``Sequential`` as ``input_shape`` instead."""
    given = [v is not None for v in (C, H, W)]
    if any(given) and not all(given):
        raise SpecError("INPUT needs all of C, H, W (e.g. INPUT(3, 32, 32)) or none of them")
    params = {} if not any(given) else {
        "C": check_int(C, "INPUT C", 1), "H": check_int(H, "INPUT H", 1),
        "W": check_int(W, "INPUT W", 1)}
    return Layer("input", params, text)


def _input_label(p: Mapping[str, Any]) -> str:
    return f"INPUT ({p['C']}, {p['H']}, {p['W']})" if p.get("C") else "INPUT"


# --------------------------------------------------------------------------------------------
# CONV
# --------------------------------------------------------------------------------------------
def conv(K: int, F: int | tuple[int, int] = 3, S: int | tuple[int, int] = 1,
         P: int | tuple[int, int] | None = None, dilation: int | tuple[int, int] = 1,
         bias: bool = True, text: str = "") -> Layer:
    """A convolution with ``K`` filters of ``F x F`` (or ``(FH, FW)``), stride ``S``, zero
    padding ``P`` and dilation (PyTorch's convention, 1 = contiguous).

    ``P`` defaults to the "same" padding ``dilation*(F - 1)/2`` of the sizing rules (1 for a
    3x3, 2 for a 5x5), so that a stride-1 conv keeps the spatial size.
    """
    Fp = check_pair(F, "CONV F", 1)
    Dp = check_pair(dilation, "CONV dilation", 1)
    Pp = _same_padding(Fp, Dp) if P is None else check_pair(P, "CONV P", 0)
    return Layer("conv", {"K": check_int(K, "CONV K (number of filters)", 1), "F": Fp,
                          "S": check_pair(S, "CONV S", 1), "P": Pp, "dilation": Dp,
                          "bias": _check_bool(bias, "CONV bias")}, text)


def _conv_short_form(size: int | None, count: int | None) -> dict:
    """``CONV3-64``: 64 filters of 3x3; either part may be left out."""
    return {**({"F": size} if size is not None else {}),
            **({"K": count} if count is not None else {})}


def _conv_label(p: Mapping[str, Any]) -> str:
    extra = [f"S{_pair_text(p['S'])}"] if p["S"] != (1, 1) else []
    if p["P"] != _same_padding(p["F"], p["dilation"]):
        extra.append(f"P{_pair_text(p['P'])}")
    if p["dilation"] != (1, 1):
        extra.append(f"D{_pair_text(p['dilation'])}")
    return _with_extras(f"CONV{_pair_text(p['F'])}-{p['K']}", extra)


def _conv_shape(p: Mapping[str, Any], shape: Shape, where: str) -> Shape:
    return (p["K"], *_window_shape(shape, where, p, "conv", p["dilation"]))


def _conv_counts(p: Mapping[str, Any], shape: Shape) -> tuple[int, int]:
    fh, fw = p["F"]
    return p["K"] * shape[0] * fh * fw, p["K"] if p["bias"] else 0


def _conv_params(p: Mapping[str, Any], shape: Shape) -> tuple[Param, ...]:
    """Filters (K, C, FH, FW), each looking at C*FH*FW inputs, and K biases."""
    (fh, fw), C = p["F"], shape[0]
    return _weights_and_bias((p["K"], C, fh, fw), C * fh * fw, p["K"], p["bias"])


def _conv_config(p: Mapping[str, Any]) -> dict:
    return {"stride": p["S"], "pad": p["P"], "dilation": p["dilation"]}


def _conv_forward(x: Any, arrays: tuple, config: dict, mode: str, rng: Any) -> tuple[Any, Any]:
    w, b = arrays
    return conv_forward(x, w, b, config)


# --------------------------------------------------------------------------------------------
# RELU
# --------------------------------------------------------------------------------------------
def relu(text: str = "") -> Layer:
    """The elementwise non-linearity ``max(0, x)``."""
    return Layer("relu", {}, text)


def _relu_forward(x: Any, arrays: tuple, config: dict, mode: str, rng: Any) -> tuple[Any, Any]:
    return relu_forward(x)


def _relu_backward(dout: Any, cache: Any) -> tuple[Any]:
    return (relu_backward(dout, cache),)


# --------------------------------------------------------------------------------------------
# POOL and AVGPOOL
# --------------------------------------------------------------------------------------------
def pool(F: int | tuple[int, int] = 2, S: int | tuple[int, int] | None = None,
         P: int | tuple[int, int] = 0, text: str = "") -> Layer:
    """Max pooling over ``F x F`` windows. The stride defaults to ``F`` (windows that tile
    the input without overlapping): ``pool()`` is the common 2x2 stride 2; AlexNet's
    overlapping pool is ``pool(3, 2)``."""
    return _pool("pool", F, S, P, text)


def avgpool(F: int | tuple[int, int] = 2, S: int | tuple[int, int] | None = None,
            P: int | tuple[int, int] = 0, text: str = "") -> Layer:
    """Average pooling; same settings and defaults as :func:`pool`."""
    return _pool("avgpool", F, S, P, text)


def _pool(kind: str, F: Any, S: Any, P: Any, text: str) -> Layer:
    name = kind.upper()
    Fp = check_pair(F, f"{name} F", 1)
    Sp = Fp if S is None else check_pair(S, f"{name} S", 1)
    return Layer(kind, {"F": Fp, "S": Sp, "P": check_pair(P, f"{name} P", 0)}, text)


def _pool_short_form(size: int | None, count: int | None) -> dict | None:
    """``POOL2``: a 2x2 window; a pool has no count."""
    return {"F": size} if size is not None and count is None else None


def _pool_label(name: str) -> Callable[[Mapping[str, Any]], str]:
    def label(p: Mapping[str, Any]) -> str:
        extra = [f"S{_pair_text(p['S'])}"] if p["S"] != p["F"] else []
        if p["P"] != (0, 0):
            extra.append(f"P{_pair_text(p['P'])}")
        return _with_extras(f"{name}{_pair_text(p['F'])}", extra)
    return label


def _pool_shape(p: Mapping[str, Any], shape: Shape, where: str) -> Shape:
    return (shape[0], *_window_shape(shape, where, p, "pool"))


def _pool_config(p: Mapping[str, Any]) -> dict:
    """The cs231n pool_param; 'pad' only when there is padding."""
    config = {"pool_height": p["F"][0], "pool_width": p["F"][1], "stride": p["S"]}
    return {**config, "pad": p["P"]} if p["P"] != (0, 0) else config


def _max_pool_forward(x: Any, arrays: tuple, config: dict, mode: str,
                      rng: Any) -> tuple[Any, Any]:
    return max_pool_forward(x, config)


def _max_pool_backward(dout: Any, cache: Any) -> tuple[Any]:
    return (max_pool_backward(dout, cache),)


def _avg_pool_forward(x: Any, arrays: tuple, config: dict, mode: str,
                      rng: Any) -> tuple[Any, Any]:
    return avg_pool_forward(x, config)


def _avg_pool_backward(dout: Any, cache: Any) -> tuple[Any]:
    return (avg_pool_backward(dout, cache),)


# --------------------------------------------------------------------------------------------
# FC
# --------------------------------------------------------------------------------------------
def fc(K: int, bias: bool = True, text: str = "") -> Layer:
    """A fully-connected (affine) layer with ``K`` outputs."""
    return Layer("fc", {"K": check_int(K, "FC K (number of outputs)", 1),
                        "bias": _check_bool(bias, "FC bias")}, text)


def _fc_short_form(size: int | None, count: int | None) -> dict | None:
    """``FC-4096`` or ``FC4096``: 4096 outputs."""
    if (size is None) == (count is None):
        return None
    return {"K": size if count is None else count}


def _fc_shape(p: Mapping[str, Any], shape: Shape, where: str) -> Shape:
    return (p["K"],)


def _fc_counts(p: Mapping[str, Any], shape: Shape) -> tuple[int, int]:
    return activation_count(shape) * p["K"], p["K"] if p["bias"] else 0


def _fc_params(p: Mapping[str, Any], shape: Shape) -> tuple[Param, ...]:
    """Weights (D, K), D the number of inputs (C*H*W of a volume), and K biases."""
    D = activation_count(shape)
    return _weights_and_bias((D, p["K"]), D, p["K"], p["bias"])


def _fc_forward(x: Any, arrays: tuple, config: dict, mode: str, rng: Any) -> tuple[Any, Any]:
    w, b = arrays
    return affine_forward(x, w, b)


# --------------------------------------------------------------------------------------------
# DROPOUT
# --------------------------------------------------------------------------------------------
def dropout(p: float = 0.5, text: str = "") -> Layer:
    """Dropout that keeps each activation with probability ``p`` (the cs231n convention)."""
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p <= 1:
        raise SpecError(f"DROPOUT p (keep probability) must be a number in (0, 1], got {p!r}")
    return Layer("dropout", {"p": float(p)}, text)


def _dropout_forward(x: Any, arrays: tuple, config: dict, mode: str,
                     rng: Any) -> tuple[Any, Any]:
    # a fresh mask every training pass, drawn from the model's seeded generator
    seed = int(rng.integers(2 ** 31)) if mode == "train" else None
    return dropout_forward(x, {**config, "mode": mode, "seed": seed})


def _dropout_backward(dout: Any, cache: Any) -> tuple[Any]:
    return (dropout_backward(dout, cache),)


# --------------------------------------------------------------------------------------------
# BATCHNORM
# --------------------------------------------------------------------------------------------
def batchnorm(text: str = "") -> Layer:
    """Batch normalization: per channel on volumes (spatial batchnorm), per feature on vectors.
    Its parameters are a scale ``gamma`` (counted as weights) and a shift ``beta`` (biases)."""
    return Layer("batchnorm", {}, text)


def _batchnorm_counts(p: Mapping[str, Any], shape: Shape) -> tuple[int, int]:
    return shape[0], shape[0]  # gamma and beta, one per channel (or feature)


def _batchnorm_params(p: Mapping[str, Any], shape: Shape) -> tuple[Param, ...]:
    return Param("gamma", (shape[0],), "ones"), Param("beta", (shape[0],), "zeros")


def _batchnorm_forward(x: Any, arrays: tuple, config: dict, mode: str,
                       rng: Any) -> tuple[Any, Any]:
    config["mode"] = mode  # the config is the model's bn_param: it keeps the running averages
    gamma, beta = arrays
    forward = spatial_batchnorm_forward if x.ndim == 4 else batchnorm_forward
    return forward(x, gamma, beta, config)


def _batchnorm_backward(dout: Any, cache: Any) -> tuple[Any, Any, Any]:
    backward = spatial_batchnorm_backward if dout.ndim == 4 else batchnorm_backward
    return backward(dout, cache)


# --------------------------------------------------------------------------------------------
# INCEPTION and RESIDUAL: blocks that hold sub-networks (constructors in .parser)
# --------------------------------------------------------------------------------------------
def _inception_label(p: Mapping[str, Any]) -> str:
    return f"INCEPTION ({len(p['branches'])} branches)"


def _inception_parts(p: Mapping[str, Any]) -> list[tuple[str, Sequence[Layer]]]:
    return [(f"b{b + 1}.", branch) for b, branch in enumerate(p["branches"])]


def _inception_shape(p: Mapping[str, Any], shape: Shape, where: str) -> Shape:
    outs = [infer_shapes(branch, shape, f"{where} branch {b}")[-1]
            for b, branch in enumerate(p["branches"])]
    sizes = {o[1:] for o in outs}
    if any(len(o) != 3 for o in outs) or len(sizes) != 1:
        raise ShapeError(f"{where}: the branches must all give volumes of one height and "
                         f"width to be stacked, got {', '.join(map(_shape_text, outs))}")
    return (sum(o[0] for o in outs),) + outs[0][1:]


def _residual_label(p: Mapping[str, Any]) -> str:
    return "RESIDUAL (" + ("projection" if p["shortcut"] else "identity") + " shortcut)"


def _residual_parts(p: Mapping[str, Any]) -> list[tuple[str, Sequence[Layer]]]:
    return [("body.", p["body"])] + ([("shortcut.", p["shortcut"])] if p["shortcut"] else [])


def _residual_shape(p: Mapping[str, Any], shape: Shape, where: str) -> Shape:
    body = infer_shapes(p["body"], shape, f"{where} body")[-1]
    skip = (infer_shapes(p["shortcut"], shape, f"{where} shortcut")[-1] if p["shortcut"]
            else shape)
    if body != skip:
        raise ShapeError(f"{where}: body(x) has shape {_shape_text(body)} but the shortcut "
                         f"gives {_shape_text(skip)}; they must match to be added (use a "
                         "projection shortcut, e.g. a 1x1 conv with the body's stride)")
    return body


# --------------------------------------------------------------------------------------------
# The table: one record per kind
# --------------------------------------------------------------------------------------------
KINDS: dict[str, Kind] = {kind.name: kind for kind in (
    Kind("input", ("C", "H", "W"), "the image volume (C, H, W)", make=input_layer,
         names=("INPUT",), positional=("C", "H", "W"), label=_input_label),
    Kind("conv", ("K", "F", "S", "P", "dilation", "bias"), "convolution: K filters of F x F",
         make=conv, names=("CONV",), positional=("K", "F", "S", "P"),
         short_form=_conv_short_form, label=_conv_label, output_shape=_conv_shape,
         needs_volume=True, param_counts=_conv_counts, stride=_stride, params=_conv_params,
         config=_conv_config, forward=_conv_forward, backward=conv_backward),
    Kind("relu", (), "elementwise max(0, x)", make=relu, names=("RELU",),
         forward=_relu_forward, backward=_relu_backward),
    Kind("pool", ("F", "S", "P"), "max pooling over F x F windows", make=pool,
         names=("POOL", "MAXPOOL"), positional=("F", "S", "P"), short_form=_pool_short_form,
         label=_pool_label("POOL"), output_shape=_pool_shape, needs_volume=True,
         stride=_stride, config=_pool_config, forward=_max_pool_forward,
         backward=_max_pool_backward),
    Kind("avgpool", ("F", "S", "P"), "average pooling over F x F windows", make=avgpool,
         names=("AVGPOOL",), positional=("F", "S", "P"), short_form=_pool_short_form,
         label=_pool_label("AVGPOOL"), output_shape=_pool_shape, needs_volume=True,
         stride=_stride, config=_pool_config, forward=_avg_pool_forward,
         backward=_avg_pool_backward),
    Kind("fc", ("K", "bias"), "fully-connected: K outputs, each looking at every input",
         make=fc, names=("FC", "AFFINE"), positional=("K",), short_form=_fc_short_form,
         label=lambda p: f"FC-{p['K']}", output_shape=_fc_shape, flattens=True,
         param_counts=_fc_counts, params=_fc_params, forward=_fc_forward,
         backward=affine_backward),
    Kind("dropout", ("p",), "dropout, keeping each activation with probability p",
         make=dropout, names=("DROPOUT",), positional=("p",),
         label=lambda p: f"DROPOUT (p={p['p']:g})", config=lambda p: {"p": p["p"]},
         forward=_dropout_forward, backward=_dropout_backward),
    Kind("batchnorm", (), "batch normalization (spatial on volumes)", make=batchnorm,
         names=("BATCHNORM", "BN"), param_counts=_batchnorm_counts, params=_batchnorm_params,
         config=lambda p: {"mode": "train"}, keeps_state=True, forward=_batchnorm_forward,
         backward=_batchnorm_backward),
    Kind("inception", ("branches",), "parallel branches stacked along the channels",
         label=_inception_label, output_shape=_inception_shape, needs_volume=True,
         parts=_inception_parts),
    Kind("residual", ("body", "shortcut"), "body(x) + shortcut(x), the ResNet skip connection",
         label=_residual_label, output_shape=_residual_shape, needs_volume=True,
         parts=_residual_parts),
)}


def kind_of(layer: Layer, where: str = "") -> Kind:
    """The record of ``layer``'s kind; ``where`` names the layer in the error."""
    if layer.kind not in KINDS:
        raise SpecError(f"{where or 'layer'}: unknown layer kind {layer.kind!r}")
    return KINDS[layer.kind]


# --------------------------------------------------------------------------------------------
# Rules over a whole spec
# --------------------------------------------------------------------------------------------
def layer_name_list(spec: Sequence[Layer]) -> list[str]:
    """Short names for the layers of a spec, numbered per kind: ``input, conv1, relu1, pool1,
    conv2, ... fc1``."""
    counts: dict[str, int] = {}
    names = []
    for layer in spec:
        if layer.kind == "input":
            names.append("input")
            continue
        counts[layer.kind] = counts.get(layer.kind, 0) + 1
        names.append(f"{layer.kind}{counts[layer.kind]}")
    return names


def output_shape(layer: Layer, shape: tuple[int, ...], where: str) -> tuple[int, ...]:
    """The output shape of ``layer`` for an input of ``shape`` (``(C, H, W)`` or ``(D,)``).

    ``where`` names the layer in errors (e.g. ``"layer 3 (conv2, CONV3-64)"``); geometry that
    does not fit raises :class:`ConvGeometryError` or :class:`ShapeError` that starts with it.
    """
    kind = kind_of(layer, where)
    if kind.needs_volume and len(shape) != 3:
        raise ShapeError(f"{where} needs a (C, H, W) volume, but its input is the flat vector "
                         f"{_shape_text(shape)} an FC layer produces; put convolutions and pools "
                         "before the FC layers (or convert the FC layers with fc_to_conv)")
    return kind.output_shape(layer.params, shape, where)


def param_counts(layer: Layer, shape: tuple[int, ...]) -> tuple[int, int]:
    """``(weights, biases)`` of ``layer`` for an input of ``shape`` (already known to fit).
    A block counts the layers of its parts."""
    kind = kind_of(layer)
    if kind.parts is None:
        return kind.param_counts(layer.params, shape)
    weights = biases = 0
    for _, sub in kind.parts(layer.params):
        shapes = [shape] + infer_shapes(sub, shape, "")
        for inner, s in zip(sub, shapes):
            w, b = param_counts(inner, s)
            weights, biases = weights + w, biases + b
    return weights, biases


def infer_shapes(spec: Sequence[Layer], input_shape: tuple[int, ...],
                 where: str = "") -> list[tuple[int, ...]]:
    """The output shape of every layer of ``spec``, in order, for one input of
    ``input_shape``. Errors name the layer by position, name and label."""
    names = layer_name_list(spec)
    shape = tuple(input_shape)
    shapes = []
    for i, (layer, name) in enumerate(zip(spec, names)):
        prefix = f"{where}: " if where else ""
        shape = output_shape(layer, shape, f"{prefix}layer {i} ({name}, {layer.label})")
        shapes.append(shape)
    return shapes


def input_shape_of(spec: Sequence[Layer], input_shape: Sequence[int] | None) -> tuple[int, ...]:
    """The input shape to use: ``input_shape`` if given (it overrides the size an INPUT
    layer states, e.g. to see VGG16 on 384x384 images), else the shape of the spec's INPUT
    layer."""
    if input_shape is None:
        if spec and spec[0].kind == "input" and spec[0].params:
            p = spec[0].params
            return (p["C"], p["H"], p["W"])
        raise ShapeError("input_shape is needed: the spec has no INPUT(C, H, W) layer that "
                         "states it (pass e.g. input_shape=(3, 32, 32))")
    if isinstance(input_shape, (str, bytes)) or not isinstance(input_shape, Sequence):
        raise TypeError(f"input_shape must be a tuple (C, H, W), got {input_shape!r}")
    shape = tuple(check_int(s, f"input_shape[{i}]", 1) for i, s in enumerate(input_shape))
    if len(shape) not in (1, 3):
        raise ShapeError(f"input_shape must be (C, H, W) (or (D,) for a network of FC layers), "
                         f"got {input_shape!r}")
    return shape


def network_stride(spec: Sequence[Layer]) -> tuple[int, int]:
    """How far apart (in input pixels) two neighbouring outputs of the spatial layers are: the
    product of the conv and pool strides: 32 for VGG16 (five 2x2 pools) and for AlexNet
    (4 x 2 x 2 x 2). FC layers end the product; a block counts as its first part."""
    sh = sw = 1
    for layer in spec:
        kind = kind_of(layer)
        if kind.flattens:
            break
        if kind.parts is not None:
            h, w = network_stride(kind.parts(layer.params)[0][1])
        elif kind.stride is not None:
            h, w = kind.stride(layer.params)
        else:
            continue
        sh, sw = sh * h, sw * w
    return sh, sw
