"""FC → CONV: a fully-connected layer is a convolution whose filter covers its whole input.

An FC layer looking at a ``(C, H, W)`` volume computes, for each of its M outputs, one dot
product of the flattened volume with a column of ``w`` (shape (C*H*W, M)). A conv layer with
M filters of size ``H x W`` (no padding) computes the same dot products: there is exactly one
position where such a filter fits, so its output is ``1 x 1 x M``. The FC layers after the
first see a ``1 x 1 x D`` volume and become 1x1 convolutions.

Why bother: the converted network accepts *larger* images. Every extra ``stride`` pixels of
input (the product of the strides of the layers, e.g. 32 for VGG16) move the first converted
layer's filter one step, so one forward pass gives a map of class scores, one per crop of the
original size, the crops ``stride`` pixels apart — the work the crops share is done once.

Exactness: the map equals running the original network on each crop when no layer pads with
zeros. A padded conv sees zeros around a crop but real pixels inside the larger image, so
with padding the two agree only away from the crops' borders (the notes pass over this).

Functions:
- :func:`fc_to_conv` converts the weights of one layer;
- :func:`convert_spec` rewrites a spec (to look at its table on larger images);
- :func:`convert_network` converts a whole trained :class:`Sequential`;
- :func:`score_map` runs a converted network over larger images;
- :func:`sliding_scores` runs the original network on every crop (the slow reference);
- :func:`shifted_score_map` gets a finer map (stride 16 from a stride-32 network) from
  several passes over shifted copies of the image.
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

from ..backend import xp_of
from ..validate import check_array, check_float_array, check_int
from .sequential import Sequential
from .parser import as_spec
from .spec import (Layer, ShapeError, conv, infer_shapes, input_layer, input_shape_of,
                   network_stride)

__all__ = ["fc_to_conv", "convert_spec", "convert_network", "score_map", "sliding_scores",
           "shifted_score_map"]


def fc_to_conv(w: Any, b: Any, input_shape: Sequence[int]) -> tuple[Any, Any]:
    """The conv filters that compute what an affine layer computes on a volume.

    Inputs:
    - w: affine weights, shape (C*H*W, M); row ``c*H*W + i*W + j`` multiplies input
      ``(c, i, j)`` (the order in which ``affine_forward`` flattens an (N, C, H, W) array)
    - b: biases, shape (M,)
    - input_shape: (C, H, W) of the volume the layer looks at

    Returns a tuple of:
    - w_conv: shape (M, C, H, W): filter m is column m of w, folded back into the volume
    - b_conv: shape (M,), the same biases

    Use them with ``stride 1, pad 0``: on an (N, C, H, W) input the conv output is
    (N, M, 1, 1) and equals the affine output.
    """
    check_float_array(w, "w", 2, "(C*H*W, M)")
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (C, H, W), got {tuple(input_shape)!r}")
    C, H, W = (check_int(s, f"input_shape[{i}]", 1) for i, s in enumerate(input_shape))
    D, M = w.shape
    if D != C * H * W:
        raise ValueError(f"w has {D} rows but the volume {C}x{H}x{W} (C, H, W) holds "
                         f"{C * H * W} numbers; w must be (C*H*W, M)")
    check_array(b, "b", 1, "(M,)")
    if b.shape[0] != M:
        raise ValueError(f"b has {b.shape[0]} entries but w has {M} columns")
    xp = xp_of(w, b)
    return xp.ascontiguousarray(w.T.reshape(M, C, H, W)), b.copy()


def convert_spec(spec: Any, input_shape: Sequence[int] | None = None) -> list[Layer]:
    """``spec`` with every FC layer written as the equivalent conv layer (see
    :func:`convert_network`, which also converts the weights). The result keeps the INPUT
    layer, so ``summary(convert_spec(vgg16()), (3, 384, 384))`` shows the score map's size."""
    layers = as_spec(spec)
    shape = input_shape_of(layers, input_shape)
    body = [layer for layer in layers if layer.kind != "input"]
    shapes = [shape] + infer_shapes(body, shape)
    out = [input_layer(*_volume(shape))]  # a vector input becomes a 1x1xD volume
    for layer, in_shape in zip(body, shapes):
        if layer.kind == "fc":
            volume = _volume(in_shape)
            layer = conv(layer.params["K"], volume[1:], 1, 0, bias=layer.params["bias"])
        out.append(layer)
    return out


def _volume(shape: Sequence[int]) -> tuple[int, int, int]:
    """The volume an FC layer looks at: (C, H, W) as it is, a vector (D,) as 1x1xD."""
    return tuple(shape) if len(shape) == 3 else (shape[0], 1, 1)


def convert_network(model: Sequential) -> Sequential:
    """A copy of ``model`` with every FC layer replaced by the equivalent conv layer.

    The first FC, looking at a (C, H, W) volume, becomes a conv with filters of H x W; the
    later ones, looking at vectors, become 1x1 convs. Other layers and all parameters carry
    over (batchnorm after an FC becomes the spatial batchnorm of the same statistics). On
    the original input size the new network gives the same scores, as an (N, M, 1, 1) volume.
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"model must be a Sequential (or a ThreeLayerConvNet), got "
                        f"{type(model).__name__}")
    params = dict(model.params)
    shapes = [model.input_shape] + model.shapes
    for layer, in_shape, step in zip(model.spec, shapes, model._steps):
        if layer.kind == "fc":
            w_key, b_key = step.keys
            w_conv, b_conv = fc_to_conv(params[w_key], model._param(b_key), _volume(in_shape))
            params[w_key] = w_conv
            if b_key in params:
                params[b_key] = b_conv
    converted = Sequential(convert_spec(model.spec, model.input_shape), dtype=model.dtype,
                           reg=model.reg, params=params)
    for name, bn_param in model.bn_params.items():  # running averages for test mode
        converted.bn_params[name].update({k: v for k, v in bn_param.items() if k != "mode"})
    return converted


def _fitting_sizes(model: Sequential, H: int, W: int) -> None:
    """Raise a ShapeError with the sizes that fit when (H, W) does not fit ``model``."""
    try:
        infer_shapes(model.spec, (model.input_shape[0], H, W))
    except ValueError as exc:
        (sh, sw), (H0, W0) = network_stride(model.spec), model.input_shape[1:]
        raise ShapeError(
            f"an image of {H}x{W} does not fit the converted network ({exc}). It slides in "
            f"steps of {sh}x{sw} pixels from the trained size {H0}x{W0}: sizes of the form "
            f"{H0} + k*{sh} by {W0} + k*{sw} fit, e.g. {H0 + 2 * sh}x{W0 + 2 * sw}") from None


def score_map(model: Sequential, X: Any) -> Any:
    """Class scores over a grid of crops in one forward pass.

    Inputs:
    - model: a converted network (:func:`convert_network`), or an original one, which is
      converted first
    - X: images, shape (N, C, H, W), at least the trained size

    Returns:
    - scores: shape (N, M, H_out, W_out): ``scores[:, :, i, j]`` are the scores of the crop at
      ``(i * stride, j * stride)``, ``stride`` = :func:`network_stride` of the model
    """
    if model.fixed_size:
        model = convert_network(model)
    check_float_array(X, "X", 4, "(N, C, H, W)")
    _fitting_sizes(model, X.shape[2], X.shape[3])
    return model.loss(X)


def sliding_scores(model: Sequential, X: Any, stride: int | None = None,
                   batch_size: int = 500) -> Any:
    """The reference for :func:`score_map`: run the original network on every crop of the
    trained size, ``stride`` pixels apart (default: the network's own stride).

    Returns scores of shape (N, M, n_h, n_w) with ``n_h = (H - H0) // stride + 1``.
    """
    check_float_array(X, "X", 4, "(N, C, H, W)")
    H0, W0 = model.input_shape[1:]
    stride = network_stride(model.spec)[0] if stride is None else check_int(stride, "stride", 1)
    N, C, H, W = X.shape
    if H < H0 or W < W0:
        raise ShapeError(f"X is {H}x{W}, smaller than the network's input {H0}x{W0}")
    tops = range(0, H - H0 + 1, stride)
    lefts = range(0, W - W0 + 1, stride)
    xp = xp_of(X)
    crops = xp.stack([X[:, :, i:i + H0, j:j + W0] for i in tops for j in lefts], axis=1)
    crops = crops.reshape(N * len(tops) * len(lefts), C, H0, W0)
    scores = xp.concatenate([model.loss(crops[k:k + batch_size])
                             for k in range(0, len(crops), batch_size)])
    M = scores.shape[1]
    scores = scores.reshape(N, len(tops), len(lefts), M)
    return xp.ascontiguousarray(scores.transpose(0, 3, 1, 2))


def shifted_score_map(model: Sequential, X: Any, shift: int,
                      offsets: Iterable[tuple[int, int]] | None = None) -> Any:
    """A score map with crops ``shift`` pixels apart from a network whose stride is larger.

    The converted network moves in steps of its stride (say 32). Running it again on the
    image shifted by 16 pixels gives the crops halfway between. With shifts along both axes,
    the passes over offsets ``(dy, dx)`` in ``{0, 16} x {0, 16}`` interleave into a map of
    stride 16; in general ``(stride / shift)**2`` passes.

    Inputs:
    - model: the original or converted network
    - X: (N, C, H, W)
    - shift: the finer stride; it must divide the network's stride
    - offsets: the passes to run, e.g. the notes' two ``[(0, 0), (16, 16)]``; default all.
      Crops that no pass computes are NaN.

    Returns scores (N, M, n_h, n_w) with ``n_h = (H - H0) // shift + 1``; equal to
    ``sliding_scores(model, X, stride=shift)`` where computed.
    """
    converted = convert_network(model) if model.fixed_size else model
    check_float_array(X, "X", 4, "(N, C, H, W)")
    shift = check_int(shift, "shift", 1)
    stride, stride_w = network_stride(converted.spec)
    if stride != stride_w or stride % shift:
        raise ValueError(f"shift must divide the network's stride {stride}x{stride_w}, got {shift}")
    H0, W0 = converted.input_shape[1:]
    N, _, H, W = X.shape
    if H < H0 or W < W0:
        raise ShapeError(f"X is {H}x{W}, smaller than the network's input {H0}x{W0}")
    if offsets is None:
        steps = range(0, stride, shift)
        offsets = [(dy, dx) for dy in steps for dx in steps]
    n_h, n_w = (H - H0) // shift + 1, (W - W0) // shift + 1
    xp = xp_of(X)
    out = None
    for dy, dx in offsets:
        if dy % shift or dx % shift or not (0 <= dy < stride and 0 <= dx < stride):
            raise ValueError(f"offsets must be multiples of shift={shift} in [0, {stride}), "
                             f"got ({dy}, {dx})")
        if H - dy < H0 or W - dx < W0:
            continue  # this shift leaves no whole crop
        # the largest part of the shifted image that the network tiles exactly
        h = H0 + (H - dy - H0) // stride * stride
        w = W0 + (W - dx - W0) // stride * stride
        part = score_map(converted, X[:, :, dy:dy + h, dx:dx + w])
        if out is None:
            out = xp.full((N, part.shape[1], n_h, n_w), math.nan, dtype=part.dtype)
        k = stride // shift
        out[:, :, dy // shift::k, dx // shift::k] = part
    if out is None:
        raise ValueError("no pass computed any crop: the offsets are too large for the image")
    return out

