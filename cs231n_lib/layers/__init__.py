"""The reference layer library: readable forward/backward pairs, cs231n-compatible.

Arrays are (N, C, H, W); conv filters are (F, C, HH, WW). Every layer is a pair::

    out, cache = name_forward(x, ..., param_dict)
    dx, ... = name_backward(dout, cache)     # gradients in the order of the forward's inputs

One module per concept, each with its forward and backward side by side:

============================  =========================================================
``affine``                    fully-connected layer
``relu``                      rectified linear unit
``conv``                      convolution (stride, padding, dilation), loops over outputs
``pool``                      max, average and L2-norm pooling
``locally_connected``         conv connectivity without parameter sharing
``batchnorm``                 batchnorm, spatial batchnorm, spatial group norm
``lrn``                       local response normalization across channels (AlexNet)
``dropout``                   inverted dropout (p = probability of keeping)
``losses``                    softmax and SVM losses
============================  =========================================================
"""
from .affine import affine_backward, affine_forward
from .batchnorm import (batchnorm_backward, batchnorm_forward, spatial_batchnorm_backward,
                        spatial_batchnorm_forward, spatial_groupnorm_backward,
                        spatial_groupnorm_forward)
from .conv import conv_backward_naive, conv_forward_naive
from .dropout import dropout_backward, dropout_forward
from .locally_connected import locally_connected_backward, locally_connected_forward
from .losses import softmax_loss, svm_loss
from .lrn import local_response_norm_backward, local_response_norm_forward
from .pool import (avg_pool_backward_naive, avg_pool_forward_naive, l2_pool_backward_naive,
                   l2_pool_forward_naive, max_pool_backward_naive, max_pool_forward_naive)
from .relu import relu_backward, relu_forward

__all__ = [
    "affine_forward", "affine_backward",
    "relu_forward", "relu_backward",
    "conv_forward_naive", "conv_backward_naive",
    "max_pool_forward_naive", "max_pool_backward_naive",
    "avg_pool_forward_naive", "avg_pool_backward_naive",
    "l2_pool_forward_naive", "l2_pool_backward_naive",
    "locally_connected_forward", "locally_connected_backward",
    "batchnorm_forward", "batchnorm_backward",
    "spatial_batchnorm_forward", "spatial_batchnorm_backward",
    "spatial_groupnorm_forward", "spatial_groupnorm_backward",
    "local_response_norm_forward", "local_response_norm_backward",
    "dropout_forward", "dropout_backward",
    "softmax_loss", "svm_loss",
]
