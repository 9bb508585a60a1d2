"""A network as data: a list of layer descriptions, and the rules that give each layer's output
shape and parameter count.

A *spec* is a plain list of :class:`Layer` objects. Write one with the constructors below::

    [input_layer(3, 32, 32), conv(32), relu(), pool(), fc(10)]

or in the notes' pattern language with :func:`cs231n_lib.models.parse`::

    parse("INPUT(3, 32, 32) -> CONV -> RELU -> POOL -> FC", filters=32, num_classes=10)

Defaults follow the notes' sizing rules: a convolution is 3x3 with stride 1 and "same" zero
padding ``P = D*(F - 1)/2`` (so it keeps the spatial size); a pooling window moves by its own
size (``POOL`` = 2x2 max pool, stride 2). Shapes are ``(C, H, W)`` for volumes and ``(D,)`` for
the flat vector an FC layer produces; the batch dimension is never part of a spec.

Two special layers hold sub-networks: :func:`inception` (parallel branches whose outputs are
stacked along the channels, as in GoogLeNet) and :func:`residual` (``body(x) + shortcut(x)``,
as in ResNet). They exist so that their shapes and parameters can be counted.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from ..geometry import ConvGeometryError, activation_count
from ..validate import check_int, check_pair
from ..windows import window_output_shape

__all__ = [
    "Layer", "SpecError", "ShapeError", "KINDS",
    "input_layer", "conv", "relu", "pool", "avgpool", "fc", "dropout", "batchnorm",
    "inception", "residual", "as_spec", "layer_name_list", "output_shape", "param_counts",
    "infer_shapes", "input_shape_of", "network_stride",
]


class SpecError(ValueError):
    """A spec that cannot describe a network: unknown layer kind, bad layer setting."""


class ShapeError(ValueError):
    """A layer that does not fit the shape it receives; the message names the layer."""


# kind -> (accepted settings, what the kind is, in words)
KINDS: dict[str, tuple[tuple[str, ...], str]] = {
    "input": (("C", "H", "W"), "the image volume (C, H, W)"),
    "conv": (("K", "F", "S", "P", "dilation", "bias"), "convolution: K filters of F x F"),
    "relu": ((), "elementwise max(0, x)"),
    "pool": (("F", "S", "P"), "max pooling over F x F windows"),
    "avgpool": (("F", "S", "P"), "average pooling over F x F windows"),
    "fc": (("K", "bias"), "fully-connected: K outputs, each looking at every input"),
    "dropout": (("p",), "dropout, keeping each activation with probability p"),
    "batchnorm": ((), "batch normalization (spatial on volumes)"),
    "inception": (("branches",), "parallel branches stacked along the channels"),
    "residual": (("body", "shortcut"), "body(x) + shortcut(x), the ResNet skip connection"),
}


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
        p = self.params
        if self.kind == "conv":
            fh, fw = p["F"]
            size = f"{fh}" if fh == fw else f"{fh}x{fw}"
            extra = [f"S{_pair_text(p['S'])}"] if p["S"] != (1, 1) else []
            if p["P"] != _same_padding(p["F"], p["dilation"]):
                extra.append(f"P{_pair_text(p['P'])}")
            if p["dilation"] != (1, 1):
                extra.append(f"D{_pair_text(p['dilation'])}")
            return f"CONV{size}-{p['K']}" + (f" ({' '.join(extra)})" if extra else "")
        if self.kind in ("pool", "avgpool"):
            fh, fw = p["F"]
            size = f"{fh}" if fh == fw else f"{fh}x{fw}"
            extra = [f"S{_pair_text(p['S'])}"] if p["S"] != p["F"] else []
            if p["P"] != (0, 0):
                extra.append(f"P{_pair_text(p['P'])}")
            return f"{self.kind.upper()}{size}" + (f" ({' '.join(extra)})" if extra else "")
        if self.kind == "fc":
            return f"FC-{p['K']}"
        if self.kind == "input":
            return f"INPUT ({p['C']}, {p['H']}, {p['W']})" if p.get("C") else "INPUT"
        if self.kind == "dropout":
            return f"DROPOUT (p={p['p']:g})"
        if self.kind == "inception":
            return f"INCEPTION ({len(p['branches'])} branches)"
        if self.kind == "residual":
            return "RESIDUAL (" + ("projection" if p["shortcut"] else "identity") + " shortcut)"
        return self.kind.upper()


def _pair_text(pair: tuple[int, int]) -> str:
    return f"{pair[0]}" if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"


def _same_padding(F: tuple[int, int], dilation: tuple[int, int]) -> tuple[int, int]:
    """The zero padding that keeps the spatial size of a stride-1 conv: ``D*(F - 1)/2``."""
    return (dilation[0] * (F[0] - 1) // 2, dilation[1] * (F[1] - 1) // 2)


# --------------------------------------------------------------------------------------------
# Constructors: the one place where defaults are decided (the parser calls these too).
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


def relu(text: str = "") -> Layer:
    """The elementwise non-linearity ``max(0, x)``."""
    return Layer("relu", {}, text)


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


def fc(K: int, bias: bool = True, text: str = "") -> Layer:
    """A fully-connected (affine) layer with ``K`` outputs."""
    return Layer("fc", {"K": check_int(K, "FC K (number of outputs)", 1),
                        "bias": _check_bool(bias, "FC bias")}, text)


def dropout(p: float = 0.5, text: str = "") -> Layer:
    """Dropout that keeps each activation with probability ``p`` (the cs231n convention)."""
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p <= 1:
        raise SpecError(f"DROPOUT p (keep probability) must be a number in (0, 1], got {p!r}")
    return Layer("dropout", {"p": float(p)}, text)


def batchnorm(text: str = "") -> Layer:
    """Batch normalization: per channel on volumes (spatial batchnorm), per feature on vectors.
    Its parameters are a scale ``gamma`` (counted as weights) and a shift ``beta`` (biases)."""
    return Layer("batchnorm", {}, text)


def inception(*branches: Iterable[Any]) -> Layer:
    """GoogLeNet's module: every branch (a list of layers) sees the same input; their outputs,
    which must agree in height and width, are stacked along the channels."""
    if len(branches) < 2:
        raise SpecError(f"inception needs at least two branches, got {len(branches)}")
    return Layer("inception", {"branches": tuple(tuple(as_spec(b, allow_input=False))
                                                 for b in branches)})


def residual(body: Iterable[Any], shortcut: Iterable[Any] | None = None) -> Layer:
    """ResNet's block: ``body(x) + shortcut(x)``. With no ``shortcut`` the input itself is
    added (an identity skip connection), so ``body`` must keep the shape; a projection
    shortcut (e.g. a strided 1x1 conv) reshapes the input to match."""
    return Layer("residual", {"body": tuple(as_spec(body, allow_input=False)),
                              "shortcut": tuple(as_spec(shortcut, allow_input=False))
                              if shortcut else ()})


def _check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise SpecError(f"{name} must be True or False, got {value!r}")
    return value


_CONSTRUCTORS = {"input": input_layer, "conv": conv, "relu": relu, "pool": pool,
                 "avgpool": avgpool, "fc": fc, "dropout": dropout, "batchnorm": batchnorm}


def as_spec(spec: Any, allow_input: bool = True) -> list[Layer]:
    """A spec as a list of :class:`Layer`.

    Accepts a pattern string (parsed with the default sizes of :func:`parse`), a list of
    ``Layer`` objects, or a list whose items are ``Layer``, a pattern string for one or more
    layers (``"CONV3-64"``, ``"[CONV -> RELU]*2"``), or a dict ``{"kind": "conv", "K": 64}``.
    """
    from .parser import parse  # the parser builds on the constructors above

    if isinstance(spec, str):
        layers = parse(spec)
    elif isinstance(spec, Layer):
        layers = [spec]
    elif isinstance(spec, Iterable) and not isinstance(spec, Mapping):
        layers = []
        for i, item in enumerate(spec):
            if isinstance(item, Layer):
                layers.append(item)
            elif isinstance(item, str):
                layers.extend(parse(item))
            elif isinstance(item, Mapping):
                settings = dict(item)
                kind = settings.pop("kind", None)
                if kind not in _CONSTRUCTORS:
                    raise SpecError(f"spec[{i}] must have 'kind' in {sorted(_CONSTRUCTORS)}, "
                                    f"got {kind!r}")
                try:
                    layers.append(_CONSTRUCTORS[kind](**settings))
                except TypeError as exc:
                    raise SpecError(f"spec[{i}] ({kind}): {exc}") from None
            else:
                raise SpecError(f"spec[{i}] must be a Layer, a pattern string or a dict, "
                                f"got {type(item).__name__}")
    else:
        raise SpecError(f"a spec must be a pattern string or a list of layers, "
                        f"got {type(spec).__name__}")
    for i, layer in enumerate(layers):
        if layer.kind not in KINDS:
            raise SpecError(f"layer {i} has unknown kind {layer.kind!r}")
        if layer.kind == "input" and (i > 0 or not allow_input):
            raise SpecError(f"INPUT may only be the first layer of a network (found at "
                            f"position {i})")
    return layers


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


# --------------------------------------------------------------------------------------------
# Shape and parameter rules
# --------------------------------------------------------------------------------------------
def _shape_text(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def output_shape(layer: Layer, shape: tuple[int, ...], where: str) -> tuple[int, ...]:
    """The output shape of ``layer`` for an input of ``shape`` (``(C, H, W)`` or ``(D,)``).

    ``where`` names the layer in errors (e.g. ``"layer 3 (conv2, CONV3-64)"``); geometry that
    does not fit raises :class:`ConvGeometryError` or :class:`ShapeError` that starts with it.
    """
    kind, p = layer.kind, layer.params
    if kind in ("input", "relu", "dropout", "batchnorm"):
        return shape
    if kind == "fc":
        return (p["K"],)
    if len(shape) != 3:
        raise ShapeError(f"{where} needs a (C, H, W) volume, but its input is the flat vector "
                         f"{_shape_text(shape)} an FC layer produces; put convolutions and pools "
                         "before the FC layers (or convert the FC layers with fc_to_conv)")
    C, H, W = shape
    try:
        if kind == "conv":
            Ho, Wo = window_output_shape(H, W, *p["F"], p["S"], p["P"], p["dilation"], "conv")
            return (p["K"], Ho, Wo)
        if kind in ("pool", "avgpool"):
            Ho, Wo = window_output_shape(H, W, *p["F"], p["S"], p["P"], what="pool")
            return (C, Ho, Wo)
    except ConvGeometryError as exc:
        raise ConvGeometryError(f"{where} on input {_shape_text(shape)}: {exc}") from None
    if kind == "inception":
        outs = [infer_shapes(branch, shape, f"{where} branch {b}")[-1]
                for b, branch in enumerate(p["branches"])]
        sizes = {o[1:] for o in outs}
        if any(len(o) != 3 for o in outs) or len(sizes) != 1:
            raise ShapeError(f"{where}: the branches must all give volumes of one height and "
                             f"width to be stacked, got {', '.join(map(_shape_text, outs))}")
        return (sum(o[0] for o in outs),) + outs[0][1:]
    if kind == "residual":
        body = infer_shapes(p["body"], shape, f"{where} body")[-1]
        skip = (infer_shapes(p["shortcut"], shape, f"{where} shortcut")[-1] if p["shortcut"]
                else shape)
        if body != skip:
            raise ShapeError(f"{where}: body(x) has shape {_shape_text(body)} but the shortcut "
                             f"gives {_shape_text(skip)}; they must match to be added (use a "
                             "projection shortcut, e.g. a 1x1 conv with the body's stride)")
        return body
    raise SpecError(f"{where}: unknown layer kind {kind!r}")  # pragma: no cover


def param_counts(layer: Layer, shape: tuple[int, ...]) -> tuple[int, int]:
    """``(weights, biases)`` of ``layer`` for an input of ``shape`` (already known to fit)."""
    kind, p = layer.kind, layer.params
    if kind == "conv":
        fh, fw = p["F"]
        return p["K"] * shape[0] * fh * fw, p["K"] if p["bias"] else 0
    if kind == "fc":
        return activation_count(shape) * p["K"], p["K"] if p["bias"] else 0
    if kind == "batchnorm":
        return shape[0], shape[0]  # gamma and beta, one per channel (or feature)
    if kind in ("inception", "residual"):
        subspecs = p["branches"] if kind == "inception" else (p["body"], p["shortcut"])
        weights = biases = 0
        for sub in subspecs:
            shapes = [shape] + infer_shapes(sub, shape, "")
            for layer_, s in zip(sub, shapes):
                w, b = param_counts(layer_, s)
                weights, biases = weights + w, biases + b
        return weights, biases
    return 0, 0


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
    (4 x 2 x 2 x 2). FC layers end the product."""
    sh = sw = 1
    for layer in spec:
        if layer.kind == "fc":
            break
        if layer.kind in ("conv", "pool", "avgpool"):
            sh, sw = sh * layer.params["S"][0], sw * layer.params["S"][1]
        elif layer.kind in ("inception", "residual"):
            inner = (layer.params["branches"][0] if layer.kind == "inception"
                     else layer.params["body"])
            h, w = network_stride(inner)
            sh, sw = sh * h, sw * w
    return sh, sw
