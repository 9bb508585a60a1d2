"""Bad input to the layers gets a ValueError or TypeError that names the argument and says what
was expected: never an IndexError, a NaN or a silently wrong shape."""
import numpy as np
import pytest

from cs231n_lib import layer_utils
from cs231n_lib.geometry import ConvGeometryError
from cs231n_lib.layers import (
    affine_backward, affine_forward, avg_pool_forward_naive, batchnorm_backward,
    batchnorm_forward, conv_backward_naive, conv_forward_naive, dropout_backward,
    dropout_forward, l2_pool_forward_naive, locally_connected_backward,
    locally_connected_forward, max_pool_backward_naive, max_pool_forward_naive, relu_backward,
    relu_forward, softmax_loss, spatial_batchnorm_forward, spatial_groupnorm_forward, svm_loss)

R = np.random.default_rng(0)
X = R.standard_normal((2, 3, 5, 5))
W = R.standard_normal((4, 3, 3, 3))
B = R.standard_normal(4)
CONV = {"stride": 1, "pad": 1}
POOL = {"pool_height": 2, "pool_width": 2, "stride": 1}


# ----------------------------------------------------------------------------------------------
# Convolution
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("x, w, b, conv_param, error, message", [
    (X[0], W, B, CONV, ValueError, r"x must be 4-D \(N, C, H, W\), got shape \(3, 5, 5\)"),
    (X, W[0], B, CONV, ValueError, r"w must be 4-D \(F, C, HH, WW\)"),
    (X, W[:, :2], B, CONV, ValueError, r"x has 3 channels .* but w expects 2"),
    (X, W, B[:3], CONV, ValueError, r"b must have 4 entries"),
    (X, W, B[None], CONV, ValueError, r"b must be 1-D"),
    (X.tolist(), W, B, CONV, TypeError, r"x must be an array, got list"),
    (X.astype(int), W, B, CONV, TypeError, r"x must be a float array"),
    (X, W, B, {"stride": 1}, ValueError, r"conv_param is missing key 'pad'"),
    (X, W, B, {"pad": 1}, ValueError, r"conv_param is missing key 'stride'"),
    (X, W, B, {"stride": 1, "pad": 1, "padding": 1}, ValueError, r"conv_param has unknown key 'padding'"),
    (X, W, B, [1, 1], TypeError, r"conv_param must be a dict"),
    (X, W, B, {"stride": 0, "pad": 1}, ValueError, r"conv_param\['stride'\] must be >= 1, got 0"),
    (X, W, B, {"stride": 1.0, "pad": 1}, TypeError, r"conv_param\['stride'\] must be an integer"),
    (X, W, B, {"stride": 1, "pad": -1}, ValueError, r"conv_param\['pad'\] must be >= 0"),
    (X, W, B, {"stride": (1, 1, 1), "pad": 1}, ValueError, r"conv_param\['stride'\] must be an int or a pair"),
    (X, W, B, {"stride": 1, "pad": 1, "dilation": 0}, ValueError, r"conv_param\['dilation'\] must be >= 1"),
])
def test_conv_forward_rejects(x, w, b, conv_param, error, message):
    with pytest.raises(error, match=message):
        conv_forward_naive(x, w, b, conv_param)


def test_filter_larger_than_padded_input_shows_the_sizes():
    w = R.standard_normal((1, 3, 8, 3))
    with pytest.raises(ConvGeometryError) as info:
        conv_forward_naive(X, w, np.zeros(1), {"stride": 1, "pad": 1})
    message = str(info.value)
    assert "height" in message and "larger than the padded input" in message
    assert "8 > 5 + 2*1 = 7" in message and "conv_param" in message and "(2, 3, 5, 5)" in message
    # dilation makes a small filter span too much: 3 taps with dilation 4 span 9 pixels
    with pytest.raises(ConvGeometryError, match=r"9 > 5 \+ 2\*1 = 7"):
        conv_forward_naive(X, W, B, {"stride": 1, "pad": 1, "dilation": (4, 1)})


def test_geometry_that_does_not_tile_shows_the_arithmetic():
    x = R.standard_normal((1, 3, 10, 10))
    with pytest.raises(ConvGeometryError) as info:
        conv_forward_naive(x, W, B, {"stride": 2, "pad": 0})
    message = str(info.value)
    assert "(10 - 3 + 2*0)/2 + 1 = 4.5" in message and "not a whole number" in message
    assert isinstance(info.value, ValueError)
    # only the width fails: the error says which axis
    with pytest.raises(ConvGeometryError, match=r"along the width: \(10 - 3 \+ 2\*0\)/2 \+ 1 = 4\.5"):
        conv_forward_naive(x, W, B, {"stride": (1, 2), "pad": 0})


def test_conv_backward_rejects_a_dout_of_the_wrong_shape():
    out, cache = conv_forward_naive(X, W, B, CONV)
    with pytest.raises(ValueError, match=r"dout has shape \(2, 4, 5, 4\) but the forward output had shape \(2, 4, 5, 5\)"):
        conv_backward_naive(out[..., :4], cache)
    with pytest.raises(TypeError, match="dout must be a float array"):
        conv_backward_naive(out.astype(int), cache)


# ----------------------------------------------------------------------------------------------
# Locally-connected
# ----------------------------------------------------------------------------------------------
def test_locally_connected_rejects_wrong_weight_and_bias_shapes():
    w = R.standard_normal((5, 5, 4, 3, 3, 3))
    b = R.standard_normal((5, 5, 4))
    with pytest.raises(ValueError, match=r"w must be 6-D \(H_out, W_out, F, C, HH, WW\)"):
        locally_connected_forward(X, W, b, CONV)
    with pytest.raises(ValueError, match=r"w has 4x5 filter banks .* output of this geometry is 5x5"):
        locally_connected_forward(X, w[:4], b, CONV)
    with pytest.raises(ValueError, match=r"x has 3 channels .* but w expects 2"):
        locally_connected_forward(X, w[:, :, :, :2], b, CONV)
    with pytest.raises(ValueError, match=r"b must have shape \(H_out, W_out, F\) = \(5, 5, 4\)"):
        locally_connected_forward(X, w, b[:, :, :3], CONV)
    with pytest.raises(ConvGeometryError, match="4.5"):
        locally_connected_forward(R.standard_normal((1, 3, 10, 10)), w, b, {"stride": 2, "pad": 0})
    out, cache = locally_connected_forward(X, w, b, CONV)
    with pytest.raises(ValueError, match="dout has shape"):
        locally_connected_backward(out[:1], cache)


# ----------------------------------------------------------------------------------------------
# Pooling
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("forward", [max_pool_forward_naive, avg_pool_forward_naive,
                                     l2_pool_forward_naive])
@pytest.mark.parametrize("x, pool_param, error, message", [
    (X[0], POOL, ValueError, r"x must be 4-D \(N, C, H, W\)"),
    (X, {"pool_height": 2, "stride": 1}, ValueError, r"pool_param is missing key 'pool_width'"),
    (X, {**POOL, "size": 2}, ValueError, r"pool_param has unknown key 'size'"),
    (X, {**POOL, "pool_height": 2.0}, TypeError, r"pool_param\['pool_height'\] must be an integer"),
    (X, {**POOL, "stride": 0}, ValueError, r"pool_param\['stride'\] must be >= 1"),
    (X, {**POOL, "stride": 2}, ConvGeometryError, r"\(5 - 2 \+ 2\*0\)/2 \+ 1 = 2\.5 is not a whole number"),
    (X, {**POOL, "pool_height": 6}, ConvGeometryError, r"pool window is larger than the padded input: 6 > 5"),
    (X, {**POOL, "pad": 2}, ValueError, r"pool_param\['pad'\] = 2 .* more than half the 2-pixel window"),
])
def test_pool_forward_rejects(forward, x, pool_param, error, message):
    with pytest.raises(error, match=message):
        forward(x, pool_param)


def test_pool_backward_rejects_a_dout_of_the_wrong_shape():
    out, cache = max_pool_forward_naive(X, POOL)
    with pytest.raises(ValueError, match=r"dout has shape \(2, 3, 4, 3\) but the forward output had shape \(2, 3, 4, 4\)"):
        max_pool_backward_naive(out[..., :3], cache)


# ----------------------------------------------------------------------------------------------
# Affine, ReLU
# ----------------------------------------------------------------------------------------------
def test_affine_rejects_mismatched_sizes():
    w = R.standard_normal((75, 2))
    with pytest.raises(ValueError, match=r"x has 75 numbers per example .* but w has 74 rows"):
        affine_forward(X, w[:74], np.zeros(2))
    with pytest.raises(ValueError, match=r"w must be 2-D \(D, M\)"):
        affine_forward(X, w.ravel(), np.zeros(2))
    with pytest.raises(ValueError, match=r"b must have 2 entries"):
        affine_forward(X, w, np.zeros(3))
    with pytest.raises(ValueError, match=r"x must be \(N, d_1, \.\.\., d_k\)"):
        affine_forward(np.zeros(75), w, np.zeros(2))
    out, cache = affine_forward(X, w, np.zeros(2))
    with pytest.raises(ValueError, match=r"dout has shape \(2, 1\)"):
        affine_backward(out[:, :1], cache)


def test_relu_rejects_non_float_and_wrong_dout():
    with pytest.raises(TypeError, match="x must be a float array"):
        relu_forward(np.arange(3))
    _, cache = relu_forward(np.zeros(3))
    with pytest.raises(ValueError, match=r"dout has shape \(4,\) but the forward output had shape \(3,\)"):
        relu_backward(np.zeros(4), cache)


# ----------------------------------------------------------------------------------------------
# Normalization
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bn_param, error, message", [
    ({}, ValueError, r"bn_param is missing key 'mode'"),
    ({"mode": "train", "momentun": 0.9}, ValueError, r"bn_param has unknown key 'momentun'"),
    ({"mode": "eval"}, ValueError, r"bn_param\['mode'\] must be 'train' or 'test', got 'eval'"),
    ({"mode": "train", "momentum": 1.5}, ValueError, r"bn_param\['momentum'\] must be in \[0, 1\]"),
    ({"mode": "test", "running_mean": np.zeros(2)}, ValueError, r"bn_param\['running_mean'\] must have 3 entries"),
    ("train", TypeError, r"bn_param must be a dict"),
])
def test_batchnorm_rejects_bad_bn_param(bn_param, error, message):
    with pytest.raises(error, match=message):
        batchnorm_forward(np.zeros((4, 3)), np.ones(3), np.zeros(3), bn_param)


def test_batchnorm_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"x must be 2-D \(N, D\)"):
        batchnorm_forward(X, np.ones(3), np.zeros(3), {"mode": "train"})
    with pytest.raises(ValueError, match=r"gamma must have 3 entries"):
        batchnorm_forward(np.zeros((4, 3)), np.ones(4), np.zeros(3), {"mode": "train"})
    with pytest.raises(ValueError, match=r"beta must have 3 entries \(C\)"):
        spatial_batchnorm_forward(X, np.ones(3), np.zeros(2), {"mode": "train"})
    with pytest.raises(ValueError, match=r"x must be 4-D"):
        spatial_batchnorm_forward(X[0], np.ones(3), np.zeros(3), {"mode": "train"})
    out, cache = batchnorm_forward(np.ones((4, 3)), np.ones(3), np.zeros(3), {"mode": "train"})
    with pytest.raises(ValueError, match="dout has shape"):
        batchnorm_backward(out.T, cache)


def test_groupnorm_rejects_bad_groups_and_shapes():
    with pytest.raises(ValueError, match=r"G = 2 groups do not divide the C = 3 channels"):
        spatial_groupnorm_forward(X, np.ones(3), np.zeros(3), 2, {})
    with pytest.raises(TypeError, match=r"G must be an integer"):
        spatial_groupnorm_forward(X, np.ones(3), np.zeros(3), 1.0, {})
    with pytest.raises(ValueError, match=r"gamma must have shape \(3,\) or \(1, 3, 1, 1\)"):
        spatial_groupnorm_forward(X, np.ones(4), np.zeros(3), 3, {})
    with pytest.raises(ValueError, match=r"gn_param has unknown key 'mode'"):
        spatial_groupnorm_forward(X, np.ones(3), np.zeros(3), 3, {"mode": "train"})


# ----------------------------------------------------------------------------------------------
# Dropout
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dropout_param, error, message", [
    ({"p": 0, "mode": "train"}, ValueError, r"dropout_param\['p'\] is the probability of keeping .* \(0, 1\], got 0"),
    ({"p": 1.5, "mode": "train"}, ValueError, r"dropout_param\['p'\] .* got 1\.5"),
    ({"p": "0.5", "mode": "train"}, TypeError, r"dropout_param\['p'\] must be a number"),
    ({"mode": "train"}, ValueError, r"dropout_param is missing key 'p'"),
    ({"p": 0.5}, ValueError, r"dropout_param is missing key 'mode'"),
    ({"p": 0.5, "mode": "training"}, ValueError, r"dropout_param\['mode'\] must be 'train' or 'test'"),
    ({"p": 0.5, "mode": "train", "seed": 1.5}, TypeError, r"dropout_param\['seed'\] must be an integer"),
    ({"p": 0.5, "mode": "train", "rate": 0.5}, ValueError, r"dropout_param has unknown key 'rate'"),
])
def test_dropout_rejects_bad_dropout_param(dropout_param, error, message):
    with pytest.raises(error, match=message):
        dropout_forward(X, dropout_param)


def test_dropout_backward_rejects_wrong_dout_in_both_modes():
    for mode in ("train", "test"):
        _, cache = dropout_forward(X, {"p": 0.5, "mode": mode, "seed": 0})
        with pytest.raises(ValueError, match="dout has shape"):
            dropout_backward(X[:1], cache)


# ----------------------------------------------------------------------------------------------
# Losses
# ----------------------------------------------------------------------------------------------
SCORES = R.standard_normal((4, 3))


@pytest.mark.parametrize("loss", [softmax_loss, svm_loss])
@pytest.mark.parametrize("x, y, error, message", [
    (SCORES, np.array([0, 1, 3, 2]), ValueError, r"y has labels outside \[0, 3\)"),
    (SCORES, np.array([0, -1, 2, 2]), ValueError, r"y has labels outside \[0, 3\)"),
    (SCORES, np.array([0.0, 1.0, 2.0, 2.0]), TypeError, r"y must hold integer class labels"),
    (SCORES, np.array([0, 1, 2]), ValueError, r"y has 3 labels but the scores have 4 rows"),
    (SCORES, [0, 1, 2, 2], TypeError, r"y must be an array"),
    (SCORES[0], np.array([0]), ValueError, r"x must be 2-D \(N, C\) scores"),
    (np.where(np.eye(4, 3, dtype=bool), np.nan, SCORES), np.array([0, 1, 2, 2]), ValueError,
     r"x contains NaN or inf"),
    (np.where(np.eye(4, 3, dtype=bool), np.inf, SCORES), np.array([0, 1, 2, 2]), ValueError,
     r"x contains NaN or inf"),
    (np.zeros((0, 3)), np.zeros(0, dtype=int), ValueError, r"at least one example"),
])
def test_losses_reject(loss, x, y, error, message):
    with pytest.raises(error, match=message):
        loss(x, y)


# ----------------------------------------------------------------------------------------------
# Sandwiches pass the layers' errors through
# ----------------------------------------------------------------------------------------------
def test_sandwiches_report_the_failing_layer():
    with pytest.raises(ValueError, match=r"pool_param is missing key 'stride'"):
        layer_utils.conv_relu_pool_forward(X, W, B, CONV, {"pool_height": 2, "pool_width": 2})
    with pytest.raises(ValueError, match=r"x has 3 channels"):
        layer_utils.conv_relu_forward(X, W[:, :1], B, CONV)
    with pytest.raises(ValueError, match=r"bn_param is missing key 'mode'"):
        layer_utils.conv_bn_relu_forward(X, W, B, np.ones(4), np.zeros(4), CONV, {})
