"""Named architectures from the case studies, as specs (lists of layers).

Each function returns a spec whose first layer is ``INPUT(C, H, W)``, so ``summary(vgg16())``
needs no other argument. Where a paper's sizes do not fit the output-size formula exactly
(a framework rounded), the spec says what it changed.
"""
from __future__ import annotations

from typing import Sequence

from .parser import inception, parse, residual
from .spec import Layer, batchnorm, conv, input_layer, pool, relu

__all__ = ["lenet5", "alexnet", "zfnet", "vgg16", "vgg_small", "digits_convnet",
           "inception_module", "resnet_basic_block", "ZOO"]


def lenet5(num_classes: int = 10) -> list[Layer]:
    """LeNet-5 (LeCun et al., 1998) on a 32x32 grey image: two 5x5 convs without padding, each
    followed by 2x2 subsampling, then FC 120, 84 and the classes.

    Modernised as most re-implementations do: ReLU instead of scaled tanh, average pooling
    without the trainable coefficient, and every C3 filter sees all 6 maps (the paper used a
    sparse connection table). 61,706 parameters.
    """
    return parse("INPUT(1, 32, 32) -> CONV(K=6, F=5, P=0) -> RELU -> AVGPOOL2"
                 " -> CONV(K=16, F=5, P=0) -> RELU -> AVGPOOL2"
                 " -> FC-120 -> RELU -> FC-84 -> RELU -> FC", num_classes=num_classes)


def alexnet(num_classes: int = 1000) -> list[Layer]:
    """AlexNet (Krizhevsky, Sutskever, Hinton, 2012) on 227x227x3.

    CONV1 96 11x11 stride 4 → 55x55x96 (with 224 the windows do not fit: the "227 vs 224"
    puzzle); overlapping 3x3 stride 2 max pools; CONV2 256 5x5, CONV3-5 3x3; FC 4096, 4096.
    Written as one tower (the paper split the filters over two GPUs, which changes the counts of
    CONV2, CONV4 and CONV5) and without the local response normalization layers (they have no
    parameters and the notes explain they fell out of use). About 62.4M parameters.
    """
    return parse("INPUT(3, 227, 227)"
                 " -> CONV(K=96, F=11, S=4, P=0) -> RELU -> POOL(F=3, S=2)"
                 " -> CONV(K=256, F=5) -> RELU -> POOL(F=3, S=2)"
                 " -> CONV3-384 -> RELU -> CONV3-384 -> RELU -> CONV3-256 -> RELU"
                 " -> POOL(F=3, S=2) -> FC-4096 -> RELU -> FC-4096 -> RELU -> FC",
                 num_classes=num_classes)


def zfnet(num_classes: int = 1000) -> list[Layer]:
    """ZF Net (Zeiler and Fergus, 2013): AlexNet with a smaller, finer first layer (7x7 stride 2
    instead of 11x11 stride 4) and wider middle convs (512, 1024, 512 filters instead of 384,
    384, 256).

    The paper's sizes (224 → 110 → 55 → 26 → 13) come from a framework that rounds; they do not
    fit the formula exactly (``(224 - 7)/2 + 1 = 109.5``). Here the input is 225 with padding 1
    on CONV1 and CONV2, which fits exactly: 225 → 111 → 55 → 27 → 13 → 6.
    """
    return parse("INPUT(3, 225, 225)"
                 " -> CONV(K=96, F=7, S=2, P=1) -> RELU -> POOL(F=3, S=2)"
                 " -> CONV(K=256, F=5, S=2, P=1) -> RELU -> POOL(F=3, S=2)"
                 " -> CONV3-512 -> RELU -> CONV3-1024 -> RELU -> CONV3-512 -> RELU"
                 " -> POOL(F=3, S=2) -> FC-4096 -> RELU -> FC-4096 -> RELU -> FC",
                 num_classes=num_classes)


def vgg16(num_classes: int = 1000) -> list[Layer]:
    """VGG16, configuration D of Simonyan and Zisserman (2014), on 224x224x3: thirteen 3x3
    convs (stride 1, pad 1) in five blocks, each block ending in a 2x2 max pool, then FC 4096,
    4096, 1000.

    Its summary gives 138,344,128 weights and 138,357,544 parameters with biases, as the notes
    count; the activations of the notes' rows add up to 15,237,608 numbers per image (about
    58 MiB in float32, forward only), not the "24M" the notes print under them.
    """
    return parse("INPUT(3, 224, 224) -> [CONV -> RELU]*2 -> POOL -> [CONV -> RELU]*2 -> POOL"
                 " -> [[CONV -> RELU]*3 -> POOL]*3 -> [FC -> RELU]*2 -> FC",
                 filters=[64, 64, 128, 128, 256, 256, 256] + [512] * 6, hidden=4096,
                 num_classes=num_classes)


def vgg_small(input_shape: Sequence[int] = (3, 32, 32), filters: Sequence[int] = (32, 64, 128),
              convs_per_block: int = 2, hidden: Sequence[int] = (256,),
              num_classes: int = 10, use_batchnorm: bool = False) -> list[Layer]:
    """A VGG-style net for small images: blocks of ``convs_per_block`` 3x3 convs (+ ReLU), each
    block ending in a 2x2 max pool and using ``filters[b]`` filters, then FC layers of sizes
    ``hidden`` and the classes. The default on 32x32 (CIFAR-10) halves the size three times:
    32 → 16 → 8 → 4. Use ``use_batchnorm=True`` to put a batchnorm after every conv.
    """
    C, H, W = input_shape
    conv_block = "[CONV -> BN -> RELU]" if use_batchnorm else "[CONV -> RELU]"
    block = f"{conv_block}*{convs_per_block} -> POOL"
    text = f"INPUT({C}, {H}, {W})" + f" -> {block}" * len(filters)
    text += "".join(" -> FC -> RELU" for _ in hidden) + " -> FC"
    return parse(text, filters=[f for f in filters for _ in range(convs_per_block)],
                 hidden=list(hidden), num_classes=num_classes)


def digits_convnet(filters: Sequence[int] = (16, 32), hidden: int = 64,
                   num_classes: int = 10) -> list[Layer]:
    """A small VGG-style net for the 8x8 handwritten digits: two blocks of two 3x3 convs and a
    2x2 max pool (8 → 4 → 2), then FC ``hidden`` and the classes."""
    return vgg_small((1, 8, 8), filters, 2, (hidden,), num_classes)


def inception_module(C: int = 192, H: int = 28, W: int = 28,
                     widths: Sequence[int] = (64, 96, 128, 16, 32, 32)) -> list[Layer]:
    """GoogLeNet's inception module (3a by default: 28x28x192 in, 28x28x256 out).

    Four branches see the same input; their outputs are stacked along the channels:
    a 1x1 conv; a 1x1 "reduce" conv then a 3x3; a 1x1 reduce then a 5x5; a 3x3 max pool
    (stride 1, pad 1) then a 1x1 projection. ``widths`` = (1x1, 3x3 reduce, 3x3, 5x5 reduce,
    5x5, pool projection). The cheap 1x1 reduce convs are why the module has few parameters.
    """
    w1, r3, w3, r5, w5, wp = widths
    module = inception([conv(w1, 1), relu()],
                       [conv(r3, 1), relu(), conv(w3, 3), relu()],
                       [conv(r5, 1), relu(), conv(w5, 5), relu()],
                       [pool(3, 1, 1), conv(wp, 1), relu()])
    return [input_layer(C, H, W), module]


def resnet_basic_block(C: int = 64, H: int = 56, W: int = 56, K: int | None = None,
                       stride: int = 1) -> list[Layer]:
    """ResNet's basic block: two 3x3 convs (no bias: batchnorm follows each) and a skip
    connection, ``relu(bn(conv(relu(bn(conv(x))))) + shortcut(x))``.

    With ``K = C`` and stride 1 the shortcut is the identity; otherwise (more filters, or
    stride 2 to halve the size) it is a strided 1x1 conv and a batchnorm ("projection").
    """
    K = C if K is None else K
    body = [conv(K, 3, stride, bias=False), batchnorm(), relu(),
            conv(K, 3, 1, bias=False), batchnorm()]
    shortcut = None if (K == C and stride == 1) else [conv(K, 1, stride, bias=False), batchnorm()]
    return [input_layer(C, H, W), residual(body, shortcut), relu()]


#: name -> function, for explorers that offer a choice of network
ZOO = {"LeNet-5": lenet5, "AlexNet": alexnet, "ZF Net": zfnet, "VGG16": vgg16,
       "small VGG (32x32)": vgg_small, "digits ConvNet (8x8)": digits_convnet,
       "Inception module": inception_module, "ResNet basic block": resnet_basic_block}
