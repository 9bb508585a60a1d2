"""Networks as data: specs in the notes' pattern language, their per-layer tables, the named
architectures of the case studies, trainable networks built from specs, and FC→CONV.

=====================  ========================================================
``parse``              pattern string → spec (a list of :class:`Layer`)
``summary``            spec → table of shapes, activations, parameters, memory
``zoo``                LeNet-5, AlexNet, ZF Net, VGG16, small VGG-style nets, ...
``Sequential``         a trainable network built from a spec
``ThreeLayerConvNet``  the cs231n conv - relu - pool - affine - relu - affine net
``fc_to_conv``         FC layers as convolutions; score maps over larger images
=====================  ========================================================

The trainable parts import the layer library; they are loaded on first use, so reading
specs and tables stays light.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

from .parser import SpecSyntaxError, parse
from .spec import (KINDS, Layer, ShapeError, SpecError, as_spec, avgpool, batchnorm, conv,
                   dropout, fc, inception, infer_shapes, input_layer, network_stride, pool,
                   relu, residual)
from .summary import Row, Summary, format_bytes, summary
from .zoo import (ZOO, alexnet, digits_convnet, inception_module, lenet5, resnet_basic_block,
                  vgg16, vgg_small, zfnet)

# name -> submodule that defines it (imported on first access)
_LAZY = {
    "Sequential": "sequential",
    "ThreeLayerConvNet": "cnn",
    "fc_to_conv": "convert",
    "convert_network": "convert",
    "convert_spec": "convert",
    "score_map": "convert",
    "sliding_scores": "convert",
    "shifted_score_map": "convert",
}

__all__ = [
    "parse", "SpecSyntaxError", "SpecError", "ShapeError", "KINDS", "Layer", "as_spec",
    "input_layer", "conv", "relu", "pool", "avgpool", "fc", "dropout", "batchnorm", "inception",
    "residual", "infer_shapes", "network_stride", "summary", "Summary", "Row", "format_bytes",
    "ZOO", "lenet5", "alexnet", "zfnet", "vgg16", "vgg_small", "digits_convnet",
    "inception_module", "resnet_basic_block", *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
