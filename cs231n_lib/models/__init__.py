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

Every kind of layer is one record of the table :data:`KINDS` (in :mod:`.spec`): how it is
written, its shapes and parameter counts, and how :class:`Sequential` runs it.
"""
from __future__ import annotations

from .cnn import ThreeLayerConvNet
from .convert import (convert_network, convert_spec, fc_to_conv, score_map, shifted_score_map,
                      sliding_scores)
from .parser import SpecSyntaxError, as_spec, inception, parse, residual
from .sequential import Sequential
from .spec import (KINDS, Kind, Layer, ShapeError, SpecError, avgpool, batchnorm, conv, dropout,
                   fc, infer_shapes, input_layer, network_stride, pool, relu)
from .summary import Row, Summary, format_bytes, summary
from .zoo import (ZOO, alexnet, digits_convnet, inception_module, lenet5, resnet_basic_block,
                  vgg16, vgg_small, zfnet)

__all__ = [
    "parse", "SpecSyntaxError", "SpecError", "ShapeError", "KINDS", "Kind", "Layer", "as_spec",
    "input_layer", "conv", "relu", "pool", "avgpool", "fc", "dropout", "batchnorm", "inception",
    "residual", "infer_shapes", "network_stride", "summary", "Summary", "Row", "format_bytes",
    "ZOO", "lenet5", "alexnet", "zfnet", "vgg16", "vgg_small", "digits_convnet",
    "inception_module", "resnet_basic_block", "Sequential", "ThreeLayerConvNet", "fc_to_conv",
    "convert_network", "convert_spec", "score_map", "sliding_scores", "shifted_score_map",
]
