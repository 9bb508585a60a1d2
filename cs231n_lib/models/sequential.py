"""A trainable network built from a spec: the layers run one after another on the layer library.

    model = Sequential("INPUT(1, 8, 8) -> [CONV -> RELU -> POOL]*2 -> FC -> RELU -> FC",
                       filters=16, hidden=64, num_classes=10, seed=0)
    loss, grads = model.loss(X, y)      # training: the loss and a gradient for every parameter
    scores = model.loss(X)              # testing: class scores (N, num_classes)

It behaves like the cs231n models, so :class:`cs231n_lib.solver.Solver` trains it:

- ``params``: a dict of arrays, named as in cs231n: ``W1, b1`` for the first layer with
  weights (conv or FC), ``W2, b2`` for the next... and ``gamma1, beta1``... for batchnorm.
- ``loss(X, y=None)``: softmax loss plus the L2 penalty ``0.5 * reg * sum(W**2)`` over the
  weights (not the biases), with its gradients.

Parameters are created on the default device (``backend.default_xp()``) from a seeded random
generator on the host, so a seed gives the same network on the CPU and on the GPU. The forward
and backward passes never copy arrays to the host: the loss comes back as a 0-d array of the
device (``float(loss)`` converts it, once, when you need a number).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from ..backend import default_xp, np, xp_of
from ..validate import check_float_array
from ..layers import softmax_loss
from .parser import as_spec, parse
from .spec import (Kind, Layer, Param, SpecError, ShapeError, infer_shapes, input_shape_of,
                   kind_of)
from .summary import Summary, summary

__all__ = ["Sequential"]

INITS = ("he", "xavier")


@dataclass
class _Step:
    """One layer as the model runs it: its parameter names and its fixed settings."""
    layer: Layer
    name: str
    keys: tuple[str, ...] = ()       # ("W3", "b3"), ("gamma1", "beta1") or ()
    decayed: tuple[str, ...] = ()    # the keys the L2 penalty applies to: ("W3",)
    config: dict = field(default_factory=dict)  # conv_param, pool_param, bn_param, keep prob

    @property
    def kind(self) -> Kind:
        """The record of the layer's kind (looked up, not stored: a pickled model holds
        only its layers and arrays)."""
        return kind_of(self.layer)


class Sequential:
    """A chain of layers from a spec, trainable with the cs231n Solver.

    Inputs:
    - spec: a pattern string or a list of layers (INCEPTION and RESIDUAL blocks are for
      ``summary`` only and are refused here).
    - input_shape: ``(C, H, W)`` of one example; may be left out when the spec starts with
      ``INPUT(C, H, W)``.
    - init: "he" (std ``sqrt(2/fan_in)``, for ReLU networks; the default) or "xavier"
      (``sqrt(1/fan_in)``); ``fan_in`` is the number of inputs of one neuron (C*F*F or D).
    - weight_scale: if given, every weight is drawn with this standard deviation instead
      (the cs231n models' setting). Biases start at 0, batchnorm at gamma=1, beta=0.
    - reg: L2 regularization strength.
    - dtype: float32 (default) or float64, for the parameters and the computation.
    - seed: seeds the initial weights and the dropout masks (None: fresh randomness).
    - params: start from these parameters (names and shapes must match) instead of random
      ones, e.g. to load saved weights.
    - parse_options: ``filters``, ``hidden``, ``num_classes``, ... passed to ``parse`` when
      ``spec`` is a pattern string.
    """

    def __init__(self, spec: Any, input_shape: Sequence[int] | None = None, *,
                 init: str = "he", weight_scale: float | None = None, reg: float = 0.0,
                 dtype: Any = np.float32, seed: int | None = None,
                 params: dict[str, Any] | None = None, **parse_options: Any):
        if parse_options:
            if not isinstance(spec, str):
                raise TypeError(f"{', '.join(parse_options)}: parse options only apply when "
                                "spec is a pattern string")
            spec = parse(spec, **parse_options)
        layers = as_spec(spec)
        self.input_shape = input_shape_of(layers, input_shape)
        self.spec = [layer for layer in layers if layer.kind != "input"]
        self.shapes = infer_shapes(self.spec, self.input_shape)  # also checks every layer fits
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {init!r}")
        if weight_scale is not None and (isinstance(weight_scale, bool)
                                         or not isinstance(weight_scale, (int, float))
                                         or weight_scale <= 0):
            raise ValueError(f"weight_scale must be a positive number or None, "
                             f"got {weight_scale!r}")
        if isinstance(reg, bool) or not isinstance(reg, (int, float)) or reg < 0:
            raise ValueError(f"reg must be a number >= 0, got {reg!r}")
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise TypeError(f"dtype must be float32 or float64, got {self.dtype}")
        self.reg = float(reg)
        self.init, self.weight_scale = init, weight_scale
        self._rng = np.random.default_rng(seed)
        self.params: dict[str, Any] = {}
        self.bn_params: dict[str, dict] = {}
        self._constants: dict[str, Any] = {}  # arrays a layer uses but training leaves alone
        self._steps = self._build(params)
        # FC layers fix the input size; a network of convs and pools slides over any size
        self.fixed_size = any(kind_of(layer).flattens for layer in self.spec)

    # ---- construction ----------------------------------------------------------------------
    def _build(self, given: dict[str, Any] | None) -> list[_Step]:
        """One step per layer, its arrays created as its kind's record describes them. Arrays
        are numbered per family, in the cs231n way: ``W1, b1`` for the first conv or FC,
        ``W2, b2`` for the next; ``gamma1, beta1`` for the first batchnorm."""
        steps, numbers = [], {}
        shapes = [self.input_shape] + self.shapes
        counts: dict[str, int] = {}
        for layer, in_shape in zip(self.spec, shapes):
            kind = kind_of(layer)
            counts[layer.kind] = counts.get(layer.kind, 0) + 1
            step = _Step(layer, f"{layer.kind}{counts[layer.kind]}")
            if kind.forward is None:
                raise SpecError(f"{step.name}: Sequential trains chains of layers; "
                                f"{layer.kind.upper()} blocks are for summary() only")
            arrays = kind.params(layer.params, in_shape)
            if arrays:
                family = arrays[0].name
                numbers[family] = numbers.get(family, 0) + 1
                step.keys = tuple(f"{a.name}{numbers[family]}" for a in arrays)
            for key, array in zip(step.keys, arrays):
                # a constant (the zero bias of a layer without bias) is used, not trained
                store = self.params if array.trained else self._constants
                store[key] = self._initial(array)
                if array.decay:
                    step.decayed += (key,)
            step.config = kind.config(layer.params)
            if kind.keeps_state:
                self.bn_params[step.name] = step.config
            steps.append(step)
        if given is not None:
            self._load(given)
        return steps

    def _initial(self, array: Param) -> Any:
        """A new array as ``array`` describes it: random weights, zeros or ones."""
        if array.fill == "random":
            return self._weights(array.shape, array.fan_in)
        xp = default_xp()
        return (xp.ones if array.fill == "ones" else xp.zeros)(array.shape, dtype=self.dtype)

    def _weights(self, shape: tuple[int, ...], fan_in: int) -> Any:
        if self.weight_scale is not None:
            std = self.weight_scale
        else:
            std = math.sqrt((2.0 if self.init == "he" else 1.0) / fan_in)
        w = (self._rng.standard_normal(shape) * std).astype(self.dtype)
        return default_xp().asarray(w)

    def _load(self, given: dict[str, Any]) -> None:
        missing = sorted(set(self.params) - set(given))
        unknown = sorted(set(given) - set(self.params))
        if missing or unknown:
            raise ValueError(f"params do not match this network: missing {missing}, unknown "
                             f"{unknown} (expected {sorted(self.params)})")
        xp = default_xp()
        for key, value in given.items():
            if tuple(value.shape) != tuple(self.params[key].shape):
                raise ValueError(f"params[{key!r}] has shape {tuple(value.shape)}, this network "
                                 f"needs {tuple(self.params[key].shape)}")
            self.params[key] = xp.asarray(value).astype(self.dtype, copy=True)

    # ---- the passes ------------------------------------------------------------------------
    def _check_input(self, X: Any) -> Any:
        check_float_array(X, "X", len(self.input_shape) + 1,
                          "(N, C, H, W)" if len(self.input_shape) == 3 else "(N, D)")
        if self.fixed_size and tuple(X.shape[1:]) != self.input_shape:
            raise ShapeError(f"X has shape {tuple(X.shape)} but this network was built for "
                             f"inputs of shape (N, {', '.join(map(str, self.input_shape))}); "
                             "its FC layers fix the size (convert them with fc_to_conv to slide "
                             "the network over larger images)")
        if X.shape[1] != self.input_shape[0]:
            raise ShapeError(f"X has {X.shape[1]} channels (shape {tuple(X.shape)}) but this "
                             f"network expects {self.input_shape[0]}")
        return X.astype(self.dtype, copy=False)

    def forward(self, X: Any, mode: str = "test") -> tuple[Any, list]:
        """Run every layer. Returns the scores (N, num_classes) — or the last volume, for a
        network without FC layers — and the caches for :meth:`backward`."""
        out, caches = self._check_input(X), []
        for step in self._steps:
            arrays = tuple(self._param(key) for key in step.keys)
            out, cache = step.kind.forward(out, arrays, step.config, mode, self._rng)
            caches.append(cache)
        return out, caches

    def _param(self, key: str) -> Any:
        """A layer's array: a trained parameter or a constant (a zero bias)."""
        return self.params[key] if key in self.params else self._constants[key]

    def backward(self, dout: Any, caches: list) -> dict[str, Any]:
        """Gradients of every parameter, given the gradient ``dout`` of the forward's output
        and the caches of :meth:`forward` (training mode)."""
        grads: dict[str, Any] = {}
        for step, cache in zip(reversed(self._steps), reversed(caches)):
            dout, *darrays = step.kind.backward(dout, cache)
            for key, grad in zip(step.keys, darrays):
                if key in self.params:  # constants get no gradient
                    grads[key] = grad
        return grads

    def loss(self, X: Any, y: Any = None) -> Any:
        """The cs231n model interface.

        Inputs:
        - X: input data, shape (N, C, H, W)
        - y: integer labels, shape (N,), or None

        Returns:
        - if y is None: the class scores, shape (N, num_classes) (test mode: dropout off,
          batchnorm with its running averages);
        - else a tuple (loss, grads): the loss (a 0-d array on the device of X) and a dict of
          gradients with the keys and shapes of ``params``.
        """
        mode = "test" if y is None else "train"
        scores, caches = self.forward(X, mode)
        if y is None:
            return scores
        if scores.ndim != 2:
            raise ShapeError(f"the network's output has shape {tuple(scores.shape)}; a loss "
                             "needs class scores (N, num_classes): end the spec with an FC layer")
        data_loss, dscores = softmax_loss(scores, y)
        grads = self.backward(dscores, caches)
        xp = xp_of(scores)
        reg_loss = xp.zeros((), dtype=self.dtype)
        for key in self.weight_names:
            w = self.params[key]
            reg_loss = reg_loss + 0.5 * self.reg * xp.sum(w * w)
            grads[key] = grads[key] + self.reg * w
        return data_loss + reg_loss, grads

    # ---- conveniences ----------------------------------------------------------------------
    @property
    def weight_names(self) -> list[str]:
        """The parameters that L2 regularization applies to: the conv and FC weights."""
        return [key for step in self._steps for key in step.decayed]

    @property
    def num_classes(self) -> int:
        return self.shapes[-1][0]

    def predict(self, X: Any, batch_size: int = 500) -> Any:
        """Predicted labels (N,) on the device of X, in batches of ``batch_size``."""
        xp = xp_of(X)
        parts = [xp.argmax(self.loss(X[i:i + batch_size]), axis=1)
                 for i in range(0, X.shape[0], batch_size)]
        return xp.concatenate(parts) if parts else xp.zeros(0, dtype=xp.int64)

    def summary(self, **options: Any) -> Summary:
        """The per-layer table of this network (see :func:`cs231n_lib.models.summary`)."""
        return summary(self.spec, self.input_shape, dtype=self.dtype.name, **options)

    def __repr__(self) -> str:
        labels = " -> ".join(layer.label for layer in self.spec)
        n = sum(int(v.size) for v in self.params.values())
        return (f"{type(self).__name__}(INPUT{self.input_shape} -> {labels}; {n:,} parameters, "
                f"{self.dtype.name})")
