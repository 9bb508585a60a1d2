"""The reference layers against independent references: scalar-loop re-implementations,
numeric gradients, the worked examples of the notes, and the layers' defining properties."""
import math

import numpy as np
import pytest

from cs231n_lib import layer_utils
from cs231n_lib.geometry import activation_count, locally_connected_param_count, pool_output_size
from cs231n_lib.gradient_check import (check_layer_gradients, eval_numerical_gradient, rel_error)
from cs231n_lib.layers import (
    affine_backward, affine_forward, avg_pool_backward_naive, avg_pool_forward_naive,
    batchnorm_backward, batchnorm_forward, conv_backward_naive, conv_forward_naive,
    dropout_backward, dropout_forward, l2_pool_backward_naive, l2_pool_forward_naive,
    locally_connected_backward, locally_connected_forward, max_pool_backward_naive,
    max_pool_forward_naive, relu_backward, relu_forward, softmax_loss,
    spatial_batchnorm_backward, spatial_batchnorm_forward, spatial_groupnorm_backward,
    spatial_groupnorm_forward, svm_loss)


def gen(seed=0):
    return np.random.default_rng(seed)


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def input_size(out, f, s, p, d=1):
    """The input size that gives ``out`` outputs: (out - 1)*S + span - 2P."""
    return (out - 1) * s + d * (f - 1) + 1 - 2 * p


# ----------------------------------------------------------------------------------------------
# Independent references: one scalar at a time, no slicing tricks
# ----------------------------------------------------------------------------------------------
def conv_reference(x, w, b, stride, pad, dilation, local=False):
    """Direct definition of convolution (or of the locally-connected layer when ``local``):
    out[n, f, i, j] = b + sum_{c,k,l} x_pad[n, c, i*sh + k*dh, j*sw + l*dw] * w[..., c, k, l]."""
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(pad), pair(dilation)
    N, C, H, W = x.shape
    F, HH, WW = (w.shape[2], w.shape[4], w.shape[5]) if local else (w.shape[0], w.shape[2], w.shape[3])
    x_pad = np.zeros((N, C, H + 2 * ph, W + 2 * pw))
    x_pad[:, :, ph:ph + H, pw:pw + W] = x
    H_out = (H + 2 * ph - dh * (HH - 1) - 1) // sh + 1
    W_out = (W + 2 * pw - dw * (WW - 1) - 1) // sw + 1
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    total = b[i, j, f] if local else b[f]
                    for c in range(C):
                        for k in range(HH):
                            for m in range(WW):
                                weight = w[i, j, f, c, k, m] if local else w[f, c, k, m]
                                total += x_pad[n, c, i * sh + k * dh, j * sw + m * dw] * weight
                    out[n, f, i, j] = total
    return out


def pool_reference(x, ph_, pw_, stride, pad, kind):
    """Pooling by its definition, window by window, with Python's max/sum on lists."""
    (sh, sw), (qh, qw) = pair(stride), pair(pad)
    N, C, H, W = x.shape
    H_out = (H + 2 * qh - ph_) // sh + 1
    W_out = (W + 2 * qw - pw_) // sw + 1
    out = np.zeros((N, C, H_out, W_out))
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    values = []  # the real pixels of the window; padding handled per kind
                    for k in range(ph_):
                        for m in range(pw_):
                            r, s = i * sh + k - qh, j * sw + m - qw
                            if 0 <= r < H and 0 <= s < W:
                                values.append(x[n, c, r, s])
                    if kind == "max":
                        out[n, c, i, j] = max(values)
                    elif kind == "avg":  # padded zeros count in the mean
                        out[n, c, i, j] = sum(values) / (ph_ * pw_)
                    else:
                        out[n, c, i, j] = math.sqrt(sum(v * v for v in values))
    return out


# ----------------------------------------------------------------------------------------------
# Geometries: each made from its output size so that it always fits
# ----------------------------------------------------------------------------------------------
# (N, C, F, (HH, WW), stride, pad, dilation, (H_out, W_out))
CONV_CASES = {
    "3x3-s1-p1": (2, 3, 2, (3, 3), 1, 1, 1, (4, 5)),
    "3x2-filter-stride(2,1)-pad(1,0)": (2, 2, 3, (3, 2), (2, 1), (1, 0), 1, (3, 4)),
    "1x1": (2, 4, 3, (1, 1), 1, 0, 1, (3, 4)),
    "1x1-stride2-skips-pixels": (1, 2, 2, (1, 1), 2, 0, 1, (2, 3)),
    "dilation2-same": (1, 2, 2, (3, 3), 1, 2, 2, (3, 3)),
    "dilation(2,3)-stride2-pad(1,2)": (2, 2, 2, (2, 3), 2, (1, 2), (2, 3), (2, 2)),
    "filter-covers-input": (2, 3, 2, (3, 4), 1, 0, 1, (1, 1)),
    "stride-larger-than-filter": (1, 2, 2, (2, 2), 3, 0, 1, (2, 2)),
    "odd-5x3-stride(3,2)-pad(2,1)": (1, 1, 1, (5, 3), (3, 2), (2, 1), 1, (2, 3)),
}


def random_conv_case(seed):
    """A random geometry (shapes, strides, pads, dilations), seeded."""
    r = gen(seed)
    size = tuple(int(v) for v in r.integers(1, 4, 2))
    stride = tuple(int(v) for v in r.integers(1, 3, 2))
    dil = tuple(int(v) for v in r.integers(1, 3, 2))
    out = tuple(int(v) for v in r.integers(1, 4, 2))
    span = [d * (f - 1) + 1 for f, d in zip(size, dil)]
    # padding up to what still leaves an input of at least one pixel
    pad = tuple(int(r.integers(0, min(2, ((o - 1) * s + sp - 1) // 2) + 1))
                for o, s, sp in zip(out, stride, span))
    return (int(r.integers(1, 3)), int(r.integers(1, 4)), int(r.integers(1, 4)), size, stride,
            pad, dil, out)


for _seed in range(6):
    CONV_CASES[f"random-{_seed}"] = random_conv_case(100 + _seed)


def make_conv(case, seed=0, local=False):
    N, C, F, (HH, WW), stride, pad, dil, (Ho, Wo) = case
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(pad), pair(dil)
    H, W = input_size(Ho, HH, sh, ph, dh), input_size(Wo, WW, sw, pw, dw)
    r = gen(seed)
    x = r.standard_normal((N, C, H, W))
    if local:
        w = r.standard_normal((Ho, Wo, F, C, HH, WW))
        b = r.standard_normal((Ho, Wo, F))
    else:
        w = r.standard_normal((F, C, HH, WW))
        b = r.standard_normal(F)
    conv_param = {"stride": stride, "pad": pad, "dilation": dil}
    return x, w, b, conv_param


@pytest.mark.parametrize("case", CONV_CASES.values(), ids=CONV_CASES.keys())
def test_conv_forward_matches_definition(case):
    x, w, b, conv_param = make_conv(case)
    out, _ = conv_forward_naive(x, w, b, conv_param)
    expected = conv_reference(x, w, b, conv_param["stride"], conv_param["pad"], conv_param["dilation"])
    assert out.shape == expected.shape == (case[0], case[2]) + case[7]
    assert rel_error(out, expected) < 1e-12


@pytest.mark.parametrize("case", CONV_CASES.values(), ids=CONV_CASES.keys())
def test_conv_gradients(case):
    x, w, b, conv_param = make_conv(case, seed=1)
    errors = check_layer_gradients(conv_forward_naive, conv_backward_naive,
                                   {"x": x, "w": w, "b": b}, conv_param, tol=1e-7)
    assert set(errors) == {"x", "w", "b"}


@pytest.mark.parametrize("case", CONV_CASES.values(), ids=CONV_CASES.keys())
def test_locally_connected_forward_and_gradients(case):
    x, w, b, conv_param = make_conv(case, seed=2, local=True)
    out, _ = locally_connected_forward(x, w, b, conv_param)
    expected = conv_reference(x, w, b, conv_param["stride"], conv_param["pad"],
                              conv_param["dilation"], local=True)
    assert rel_error(out, expected) < 1e-12
    check_layer_gradients(locally_connected_forward, locally_connected_backward,
                          {"x": x, "w": w, "b": b}, conv_param, tol=1e-7)


def test_locally_connected_with_equal_filters_everywhere_is_a_convolution():
    x, w, b, conv_param = make_conv(CONV_CASES["dilation(2,3)-stride2-pad(1,2)"], seed=3)
    conv_out, _ = conv_forward_naive(x, w, b, conv_param)
    Ho, Wo = conv_out.shape[2:]
    w_local = np.broadcast_to(w, (Ho, Wo) + w.shape).copy()
    b_local = np.broadcast_to(b, (Ho, Wo) + b.shape).copy()
    local_out, cache = locally_connected_forward(x, w_local, b_local, conv_param)
    assert rel_error(local_out, conv_out) < 1e-12
    # ... and the conv's weight gradient is the sum of the per-position weight gradients
    dout = gen(4).standard_normal(conv_out.shape)
    dx_c, dw_c, db_c = conv_backward_naive(dout, conv_forward_naive(x, w, b, conv_param)[1])
    dx_l, dw_l, db_l = locally_connected_backward(dout, cache)
    assert rel_error(dx_l, dx_c) < 1e-12
    assert rel_error(dw_l.sum(axis=(0, 1)), dw_c) < 1e-12
    assert rel_error(db_l.sum(axis=(0, 1)), db_c) < 1e-12


def test_locally_connected_parameter_count_matches_geometry():
    # a small AlexNet-like layer: 3 channels, 4 filters of 3x3, stride 2 on 9x9 -> 4x4 positions
    x = np.zeros((1, 3, 9, 9))
    w = np.zeros((4, 4, 4, 3, 3, 3))
    b = np.zeros((4, 4, 4))
    out, _ = locally_connected_forward(x, w, b, {"stride": 2, "pad": 0})
    count = locally_connected_param_count(C=3, K=4, F=3, H_out=4, W_out=4)
    assert out.shape == (1, 4, 4, 4)
    assert (count["weights"], count["biases"]) == (w.size, b.size)


# ----------------------------------------------------------------------------------------------
# Worked examples of the notes
# ----------------------------------------------------------------------------------------------
def test_notes_numpy_example_11x11x4_f5_s2():
    """X of shape (11, 11, 4) indexed X[x, y, d]; F=5, S=2, P=0 gives a 4x4 output with
    V[x, y, d] = sum(X[2x:2x+5, 2y:2y+5, :] * W_d) + b_d, checked at every element."""
    r = gen(11)
    X = r.standard_normal((11, 11, 4))
    Ws = r.standard_normal((2, 5, 5, 4))  # W_0 and W_1, each (5, 5, 4) like the notes' W0
    bs = r.standard_normal(2)
    x = X.transpose(2, 0, 1)[None]  # (1, 4, 11, 11): channels first, H indexes x, W indexes y
    w = Ws.transpose(0, 3, 1, 2)  # (2, 4, 5, 5)
    out, _ = conv_forward_naive(x, w, bs, {"stride": 2, "pad": 0})
    assert out.shape == (1, 2, 4, 4)
    for d in range(2):
        for vx in range(4):
            for vy in range(4):
                expected = np.sum(X[2 * vx:2 * vx + 5, 2 * vy:2 * vy + 5, :] * Ws[d]) + bs[d]
                assert abs(out[0, d, vx, vy] - expected) < 1e-12
    # the notes' listed entries, literally
    assert np.isclose(out[0, 0, 1, 0], np.sum(X[2:7, :5, :] * Ws[0]) + bs[0])
    assert np.isclose(out[0, 1, 2, 3], np.sum(X[4:9, 6:11, :] * Ws[1]) + bs[1])


def test_notes_conv_demo_5x5x3_k2_f3_s2_p1():
    r = gen(5)
    x = r.integers(0, 3, (1, 3, 5, 5)).astype(float)  # small integers, like the demo
    w = r.integers(-1, 2, (2, 3, 3, 3)).astype(float)
    b = np.array([1.0, 0.0])
    out, _ = conv_forward_naive(x, w, b, {"stride": 2, "pad": 1})
    assert out.shape == (1, 2, 3, 3)
    x_pad = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))  # the zero border of the demo
    for f in range(2):
        for i in range(3):
            for j in range(3):
                window = x_pad[0, :, 2 * i:2 * i + 3, 2 * j:2 * j + 3]
                assert out[0, f, i, j] == np.sum(window * w[f]) + b[f]


def test_notes_dilation_example_in_one_dimension():
    """A size-3 filter with the notes' dilation 1 (PyTorch's 2) reads the input at positions
    0, 2 and 4, skipping one pixel between taps; the notes' dilation 0 (PyTorch's 1) reads
    positions 0, 1 and 2. Powers of ten in x show which positions were read."""
    x = np.array([[[[1.0, 10.0, 100.0, 1000.0, 10000.0]]]])
    w = np.array([[[[2.0, 3.0, 5.0]]]])
    b = np.zeros(1)
    dilated, _ = conv_forward_naive(x, w, b, {"stride": 1, "pad": 0, "dilation": (1, 2)})
    contiguous, _ = conv_forward_naive(x, w, b, {"stride": 1, "pad": 0})
    assert dilated.shape == (1, 1, 1, 1) and dilated[0, 0, 0, 0] == 2 * 1 + 3 * 100 + 5 * 10000
    assert contiguous[0, 0, 0, :].tolist() == [2 + 30 + 500, 20 + 300 + 5000, 200 + 3000 + 50000]


def test_notes_pooling_224x224x64_to_112x112x64_keeps_a_quarter():
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    assert pool_output_size(224, 2, 2) == 112
    kept = activation_count((112, 112, 64)) / activation_count((224, 224, 64))
    assert kept == 0.25  # 75% of the activations are discarded
    # the layer itself on the full volume (a fraction of a second), and its routing:
    # exactly one switch per 2x2 window, so a quarter of the input gets a gradient
    x = gen(224).standard_normal((1, 64, 224, 224)).astype(np.float32)
    out, cache = max_pool_forward_naive(x, pool_param)
    assert out.shape == (1, 64, 112, 112) and out.size / x.size == 0.25
    assert np.array_equal(out, x.reshape(1, 64, 112, 2, 112, 2).max(axis=(3, 5)))
    dx = max_pool_backward_naive(np.ones_like(out), cache)
    assert np.count_nonzero(dx) / dx.size == 0.25


# ----------------------------------------------------------------------------------------------
# Pooling
# ----------------------------------------------------------------------------------------------
# (N, C, pool_h, pool_w, stride, pad, (H_out, W_out))
POOL_CASES = {
    "2x2-s2": (2, 3, 2, 2, 2, 0, (3, 2)),
    "3x3-s2-overlapping": (2, 2, 3, 3, 2, 0, (3, 3)),
    "3x2-stride(1,2)": (1, 2, 3, 2, (1, 2), 0, (2, 3)),
    "1x1": (1, 2, 1, 1, 1, 0, (3, 2)),
    "3x3-s2-pad1": (2, 2, 3, 3, 2, 1, (3, 2)),
    "2x3-stride(2,3)-pad(1,1)": (1, 3, 2, 3, (2, 3), (1, 1), (3, 2)),
    "global": (2, 3, 4, 3, 1, 0, (1, 1)),
}
POOLS = {
    "max": (max_pool_forward_naive, max_pool_backward_naive),
    "avg": (avg_pool_forward_naive, avg_pool_backward_naive),
    "l2": (l2_pool_forward_naive, l2_pool_backward_naive),
}


def make_pool(case, seed=0):
    N, C, ph, pw, stride, pad, (Ho, Wo) = case
    (sh, sw), (qh, qw) = pair(stride), pair(pad)
    H, W = input_size(Ho, ph, sh, qh), input_size(Wo, pw, sw, qw)
    x = gen(seed).standard_normal((N, C, H, W))
    pool_param = {"pool_height": ph, "pool_width": pw, "stride": stride, "pad": pad}
    return x, pool_param


@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("case", POOL_CASES.values(), ids=POOL_CASES.keys())
def test_pool_forward_matches_definition_and_gradients(kind, case):
    forward, backward = POOLS[kind]
    x, pool_param = make_pool(case, seed=7)
    out, _ = forward(x, pool_param)
    expected = pool_reference(x, pool_param["pool_height"], pool_param["pool_width"],
                              pool_param["stride"], pool_param["pad"], kind)
    assert out.shape == (case[0], case[1]) + case[6]
    assert rel_error(out, expected) < 1e-12
    check_layer_gradients(forward, backward, {"x": x}, pool_param, tol=1e-7)


def test_max_pool_routes_ties_to_the_first_maximum_in_row_major_order():
    x = np.array([[[[1.0, 5.0], [5.0, 5.0]]]])  # three tied maxima; the first is (0, 1)
    out, cache = max_pool_forward_naive(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    dx = max_pool_backward_naive(np.array([[[[7.0]]]]), cache)
    assert out[0, 0, 0, 0] == 5.0
    assert dx[0, 0].tolist() == [[0.0, 7.0], [0.0, 0.0]]


def test_overlapping_max_pool_accumulates_gradient_of_shared_pixels():
    # 3x3 windows with stride 2 over 5x5: the centre column/row is shared by neighbouring windows
    x = np.zeros((1, 1, 5, 5))
    x[0, 0, 2, 2] = 9.0  # the maximum of all four windows
    out, cache = max_pool_forward_naive(x, {"pool_height": 3, "pool_width": 3, "stride": 2})
    assert out.shape == (1, 1, 2, 2) and np.all(out == 9.0)
    dout = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    dx = max_pool_backward_naive(dout, cache)
    assert dx[0, 0, 2, 2] == 10.0 and np.count_nonzero(dx) == 1


def test_max_pool_padding_never_wins():
    x = -1.0 - gen(8).random((1, 2, 4, 4))  # every value negative: a zero pad would win
    out, _ = max_pool_forward_naive(x, {"pool_height": 2, "pool_width": 2, "stride": 2, "pad": 1})
    assert out.shape == (1, 2, 3, 3) and np.all(out < 0)
    assert out[0, 0, 0, 0] == x[0, 0, 0, 0]  # the corner window holds one real pixel


def test_avg_pool_counts_padding_in_the_mean():
    x = np.ones((1, 1, 2, 2))
    out, _ = avg_pool_forward_naive(x, {"pool_height": 2, "pool_width": 2, "stride": 2, "pad": 1})
    assert out[0, 0].tolist() == [[0.25, 0.25], [0.25, 0.25]]


def test_l2_pool_of_a_zero_window_has_zero_gradient_not_nan():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 0, 0] = 3.0
    x[0, 0, 1, 1] = 4.0  # the first window: sqrt(9 + 16) = 5; the other three are all zeros
    out, cache = l2_pool_forward_naive(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    assert out[0, 0].tolist() == [[5.0, 0.0], [0.0, 0.0]]
    dx = l2_pool_backward_naive(np.ones_like(out), cache)
    assert np.all(np.isfinite(dx))
    assert np.isclose(dx[0, 0, 0, 0], 3.0 / 5.0) and np.isclose(dx[0, 0, 1, 1], 4.0 / 5.0)
    assert np.count_nonzero(dx) == 2


# ----------------------------------------------------------------------------------------------
# Affine, ReLU
# ----------------------------------------------------------------------------------------------
def test_affine_forward_is_flatten_then_matrix_product():
    r = gen(20)
    x, w, b = r.standard_normal((3, 2, 2, 3)), r.standard_normal((12, 5)), r.standard_normal(5)
    out, _ = affine_forward(x, w, b)
    expected = np.array([[sum(x[n].ravel()[d] * w[d, m] for d in range(12)) + b[m]
                          for m in range(5)] for n in range(3)])
    assert rel_error(out, expected) < 1e-12
    check_layer_gradients(affine_forward, affine_backward, {"x": x, "w": w, "b": b})


def test_relu_forward_and_gradient():
    r = gen(21)
    x = r.standard_normal((3, 4, 2))
    x = np.sign(x) * (0.1 + np.abs(x))  # away from the kink at 0, where h would straddle it
    out, _ = relu_forward(x)
    assert np.array_equal(out, np.where(x > 0, x, 0.0))
    check_layer_gradients(relu_forward, relu_backward, {"x": x})
    dx = relu_backward(np.ones(3), relu_forward(np.array([-1.0, 0.0, 2.0]))[1])
    assert dx.tolist() == [0.0, 0.0, 1.0]  # 0 at exactly 0


# ----------------------------------------------------------------------------------------------
# Normalization
# ----------------------------------------------------------------------------------------------
def test_batchnorm_train_standardizes_and_applies_gamma_beta():
    r = gen(30)
    x = 5 * r.standard_normal((50, 4)) + 12
    gamma, beta = np.array([1.0, 2.0, 3.0, 0.5]), np.array([0.0, -1.0, 4.0, 2.0])
    out, _ = batchnorm_forward(x, gamma, beta, {"mode": "train"})
    assert np.allclose(out.mean(axis=0), beta, atol=1e-12)
    assert np.allclose(out.std(axis=0), gamma * np.sqrt(x.var(0) / (x.var(0) + 1e-5)), atol=1e-12)


def test_batchnorm_running_statistics_follow_momentum_and_serve_test_mode():
    r = gen(31)
    gamma, beta = np.ones(3), np.zeros(3)
    bn_param = {"mode": "train", "momentum": 0.8}
    x1 = r.standard_normal((10, 3)) * 2 + 1
    batchnorm_forward(x1, gamma, beta, bn_param)
    # running stats start at 0 (mean) and 1 (variance), then mix in the batch with weight 0.2
    assert np.allclose(bn_param["running_mean"], 0.2 * x1.mean(0), atol=1e-15)
    assert np.allclose(bn_param["running_var"], 0.8 + 0.2 * x1.var(0), atol=1e-15)
    x2 = r.standard_normal((10, 3))
    batchnorm_forward(x2, gamma, beta, bn_param)
    assert np.allclose(bn_param["running_mean"], 0.8 * 0.2 * x1.mean(0) + 0.2 * x2.mean(0), atol=1e-15)
    # test mode standardizes with the running statistics and leaves them alone
    rm, rv = bn_param["running_mean"].copy(), bn_param["running_var"].copy()
    bn_param["mode"] = "test"
    x3 = r.standard_normal((4, 3))
    out, _ = batchnorm_forward(x3, 2 * gamma, beta + 1, bn_param)
    assert np.allclose(out, 2 * (x3 - rm) / np.sqrt(rv + 1e-5) + 1, atol=1e-12)
    assert np.array_equal(bn_param["running_mean"], rm) and np.array_equal(bn_param["running_var"], rv)


def test_batchnorm_running_statistics_converge_to_the_population():
    r = gen(32)
    bn_param = {"mode": "train"}
    mean, std = np.array([3.0, -2.0]), np.array([2.0, 0.5])
    for _ in range(200):
        batchnorm_forward(r.standard_normal((64, 2)) * std + mean, np.ones(2), np.zeros(2), bn_param)
    assert np.allclose(bn_param["running_mean"], mean, atol=0.1)
    assert np.allclose(np.sqrt(bn_param["running_var"]), std, rtol=0.1)
    bn_param["mode"] = "test"
    out, _ = batchnorm_forward(r.standard_normal((2000, 2)) * std + mean, np.ones(2), np.zeros(2), bn_param)
    assert np.allclose(out.mean(0), 0, atol=0.1) and np.allclose(out.std(0), 1, atol=0.1)


@pytest.mark.parametrize("mode", ["train", "test"])
def test_batchnorm_gradients(mode):
    r = gen(33)
    x = 5 * r.standard_normal((4, 5)) + 12
    bn_param = {"mode": mode, "running_mean": r.standard_normal(5), "running_var": r.random(5) + 0.5}
    check_layer_gradients(batchnorm_forward, batchnorm_backward,
                          {"x": x, "gamma": r.standard_normal(5), "beta": r.standard_normal(5)},
                          bn_param)


@pytest.mark.parametrize("mode", ["train", "test"])
def test_spatial_batchnorm_normalizes_each_channel_over_batch_and_positions(mode):
    r = gen(34)
    x = 3 * r.standard_normal((3, 4, 5, 2)) + np.arange(4)[None, :, None, None]
    gamma, beta = r.standard_normal(4), r.standard_normal(4)
    rm, rv = r.standard_normal(4), r.random(4) + 0.5
    bn_param = {"mode": mode, "running_mean": rm.copy(), "running_var": rv.copy()}
    out, _ = spatial_batchnorm_forward(x, gamma, beta, bn_param)
    c = (None, slice(None), None, None)
    if mode == "train":
        mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
        assert np.allclose(bn_param["running_mean"], 0.9 * rm + 0.1 * mean)
    else:
        mean, var = rm, rv
    assert np.allclose(out, gamma[c] * (x - mean[c]) / np.sqrt(var[c] + 1e-5) + beta[c], atol=1e-12)
    check_layer_gradients(spatial_batchnorm_forward, spatial_batchnorm_backward,
                          {"x": x, "gamma": gamma, "beta": beta},
                          {"mode": mode, "running_mean": rm.copy(), "running_var": rv.copy()})


@pytest.mark.parametrize("G", [1, 2, 4])
def test_spatial_groupnorm_normalizes_each_group_of_each_example(G):
    r = gen(35 + G)
    N, C, H, W = 2, 4, 3, 2
    x = 4 * r.standard_normal((N, C, H, W)) + 7
    gamma, beta = r.standard_normal(C), r.standard_normal(C)
    out, _ = spatial_groupnorm_forward(x, gamma, beta, G, {"eps": 1e-5})
    groups = x.reshape(N, G, -1)
    xhat = ((groups - groups.mean(2, keepdims=True)) / np.sqrt(groups.var(2, keepdims=True) + 1e-5))
    expected = gamma[None, :, None, None] * xhat.reshape(x.shape) + beta[None, :, None, None]
    assert rel_error(out, expected) < 1e-12
    check_layer_gradients(spatial_groupnorm_forward, spatial_groupnorm_backward,
                          {"x": x, "gamma": gamma, "beta": beta}, G, {})


def test_spatial_groupnorm_accepts_cs231n_shaped_gamma_and_returns_that_shape():
    r = gen(39)
    x = r.standard_normal((2, 6, 2, 2))
    gamma, beta = r.standard_normal((1, 6, 1, 1)), r.standard_normal((1, 6, 1, 1))
    out, cache = spatial_groupnorm_forward(x, gamma, beta, 3, {})
    flat, _ = spatial_groupnorm_forward(x, gamma.ravel(), beta.ravel(), 3, {})
    assert np.array_equal(out, flat)
    _, dgamma, dbeta = spatial_groupnorm_backward(np.ones_like(out), cache)
    assert dgamma.shape == dbeta.shape == (1, 6, 1, 1)


# ----------------------------------------------------------------------------------------------
# Dropout
# ----------------------------------------------------------------------------------------------
def test_dropout_keeps_a_fraction_p_and_preserves_the_mean():
    x = np.ones((200, 500))
    for p in (0.25, 0.6, 0.9):
        out, _ = dropout_forward(x, {"p": p, "mode": "train", "seed": 1})
        kept = np.count_nonzero(out) / out.size
        assert abs(kept - p) < 0.01  # 100,000 draws: the standard error is below 0.002
        assert np.all((out == 0) | np.isclose(out, 1 / p))
        assert abs(out.mean() - 1) < 0.02


def test_dropout_is_seeded_and_leaves_global_random_state_alone():
    x = gen(40).standard_normal((5, 6))
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    a, _ = dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 7})
    b, _ = dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 7})
    c, _ = dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 8})
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.array_equal(np.random.get_state()[1], before)


def test_dropout_test_mode_and_p_one_are_the_identity():
    x = gen(41).standard_normal((4, 3, 2))
    out, cache = dropout_forward(x, {"p": 0.3, "mode": "test"})
    assert np.array_equal(out, x)
    dout = gen(42).standard_normal(x.shape)
    assert np.array_equal(dropout_backward(dout, cache), dout)
    out, cache = dropout_forward(x, {"p": 1, "mode": "train", "seed": 0})
    assert np.array_equal(out, x) and np.array_equal(dropout_backward(dout, cache), dout)


def test_dropout_backward_uses_the_forward_mask():
    x = gen(43).standard_normal((6, 7)) + 3  # no zeros in x, so zeros in out are the mask
    out, cache = dropout_forward(x, {"p": 0.5, "mode": "train", "seed": 3})
    dx = dropout_backward(np.ones_like(x), cache)
    assert np.array_equal(dx == 0, out == 0)
    assert np.allclose(dx[dx != 0], 2.0)
    check_layer_gradients(dropout_forward, dropout_backward, {"x": x},
                          {"p": 0.5, "mode": "train", "seed": 3})


# ----------------------------------------------------------------------------------------------
# Losses
# ----------------------------------------------------------------------------------------------
def softmax_reference(x, y):
    total = 0.0
    for row, label in zip(x, y):
        total += -math.log(math.exp(row[label]) / sum(math.exp(v) for v in row))
    return total / len(y)


def svm_reference(x, y):
    total = 0.0
    for row, label in zip(x, y):
        total += sum(max(0.0, row[j] - row[label] + 1) for j in range(len(row)) if j != label)
    return total / len(y)


@pytest.mark.parametrize("loss_fn, reference", [(softmax_loss, softmax_reference),
                                                (svm_loss, svm_reference)])
def test_loss_values_and_gradients(loss_fn, reference):
    r = gen(50)
    x = r.standard_normal((6, 5))
    y = r.integers(0, 5, 6)
    loss, dx = loss_fn(x, y)
    assert abs(loss - reference(x, y)) < 1e-12
    numeric = eval_numerical_gradient(lambda s: loss_fn(s, y)[0], x.copy())
    assert rel_error(dx, numeric) < 1e-7


def test_softmax_loss_at_equal_scores_is_log_of_class_count_and_is_stable():
    loss, _ = softmax_loss(np.zeros((4, 10)), np.arange(4))
    assert abs(loss - math.log(10)) < 1e-12
    big = np.array([[1000.0, 0.0, -1000.0]])  # exp(1000) overflows; the shift keeps it finite
    loss, dx = softmax_loss(big, np.array([0]))
    assert loss == 0.0 and np.all(np.isfinite(dx))
    loss, _ = softmax_loss(big, np.array([2]))
    assert loss == 2000.0


def test_svm_loss_hand_computed():
    x = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])  # the classic example
    y = np.array([0, 1, 2])
    loss, dx = svm_loss(x, y)
    assert abs(loss - (2.9 + 0.0 + 12.9) / 3) < 1e-12
    assert np.allclose(dx * 3, [[-1, 1, 0], [0, 0, 0], [1, 1, -2]])


# ----------------------------------------------------------------------------------------------
# Sandwiches
# ----------------------------------------------------------------------------------------------
def test_affine_relu_gradients_and_composition():
    r = gen(60)
    x, w, b = r.standard_normal((3, 2, 3)), r.standard_normal((6, 4)), r.standard_normal(4)
    out, _ = layer_utils.affine_relu_forward(x, w, b)
    assert np.array_equal(out, relu_forward(affine_forward(x, w, b)[0])[0])
    check_layer_gradients(layer_utils.affine_relu_forward, layer_utils.affine_relu_backward,
                          {"x": x, "w": w, "b": b})


def test_conv_sandwiches_gradients_and_composition():
    r = gen(61)
    x, w, b = r.standard_normal((2, 3, 6, 6)), r.standard_normal((3, 3, 3, 3)), r.standard_normal(3)
    conv_param = {"stride": 1, "pad": 1}
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    conv_out, _ = conv_forward_naive(x, w, b, conv_param)
    relu_out = np.maximum(conv_out, 0)
    out, _ = layer_utils.conv_relu_forward(x, w, b, conv_param)
    assert rel_error(out, relu_out) < 1e-12
    out, _ = layer_utils.conv_relu_pool_forward(x, w, b, conv_param, pool_param)
    assert rel_error(out, max_pool_forward_naive(relu_out, pool_param)[0]) < 1e-12
    inputs = {"x": x, "w": w, "b": b}
    check_layer_gradients(layer_utils.conv_relu_forward, layer_utils.conv_relu_backward,
                          inputs, conv_param)
    check_layer_gradients(layer_utils.conv_relu_pool_forward, layer_utils.conv_relu_pool_backward,
                          inputs, conv_param, pool_param)
    gamma, beta = r.standard_normal(3), r.standard_normal(3)
    check_layer_gradients(layer_utils.conv_bn_relu_forward, layer_utils.conv_bn_relu_backward,
                          {**inputs, "gamma": gamma, "beta": beta}, conv_param, {"mode": "train"})


# ----------------------------------------------------------------------------------------------
# dtypes: float32 stays float32, float64 stays float64, for every layer and its gradients
# ----------------------------------------------------------------------------------------------
def _layers():
    """(forward, backward, inputs, params) of every layer, built fresh for each use."""
    r = gen(70)
    x4 = r.standard_normal((2, 3, 5, 5))
    w, b = r.standard_normal((2, 3, 3, 3)), r.standard_normal(2)
    conv_param = {"stride": 2, "pad": 1, "dilation": 1}
    pool_param = {"pool_height": 3, "pool_width": 3, "stride": 2}
    bn = lambda mode: {"mode": mode, "running_mean": np.zeros(3), "running_var": np.ones(3)}
    g3, b3 = r.standard_normal(3), r.standard_normal(3)
    return {
        "affine": (affine_forward, affine_backward,
                   {"x": x4, "w": r.standard_normal((75, 4)), "b": r.standard_normal(4)}, ()),
        "relu": (relu_forward, relu_backward, {"x": x4}, ()),
        "conv": (conv_forward_naive, conv_backward_naive, {"x": x4, "w": w, "b": b}, (conv_param,)),
        "locally_connected": (locally_connected_forward, locally_connected_backward,
                              {"x": x4, "w": r.standard_normal((3, 3, 2, 3, 3, 3)),
                               "b": r.standard_normal((3, 3, 2))}, (conv_param,)),
        "max_pool": (max_pool_forward_naive, max_pool_backward_naive, {"x": x4}, (pool_param,)),
        "avg_pool": (avg_pool_forward_naive, avg_pool_backward_naive, {"x": x4}, (pool_param,)),
        "l2_pool": (l2_pool_forward_naive, l2_pool_backward_naive, {"x": x4}, (pool_param,)),
        "batchnorm-train": (batchnorm_forward, batchnorm_backward,
                            {"x": x4.reshape(10, 15)[:, :3], "gamma": g3, "beta": b3}, (bn("train"),)),
        "batchnorm-test": (batchnorm_forward, batchnorm_backward,
                           {"x": x4.reshape(10, 15)[:, :3], "gamma": g3, "beta": b3}, (bn("test"),)),
        "spatial_batchnorm": (spatial_batchnorm_forward, spatial_batchnorm_backward,
                              {"x": x4, "gamma": g3, "beta": b3}, (bn("train"),)),
        "spatial_groupnorm": (spatial_groupnorm_forward, spatial_groupnorm_backward,
                              {"x": x4, "gamma": g3, "beta": b3}, (3, {})),
        "dropout-train": (dropout_forward, dropout_backward, {"x": x4},
                          ({"p": 0.5, "mode": "train", "seed": 0},)),
        "dropout-test": (dropout_forward, dropout_backward, {"x": x4}, ({"p": 0.5, "mode": "test"},)),
        "affine_relu": (layer_utils.affine_relu_forward, layer_utils.affine_relu_backward,
                        {"x": x4, "w": r.standard_normal((75, 4)), "b": r.standard_normal(4)}, ()),
        "conv_relu_pool": (layer_utils.conv_relu_pool_forward, layer_utils.conv_relu_pool_backward,
                           {"x": x4, "w": w, "b": b},
                           ({"stride": 1, "pad": 1}, pool_param)),
        "conv_bn_relu": (layer_utils.conv_bn_relu_forward, layer_utils.conv_bn_relu_backward,
                         {"x": x4, "w": w, "b": b, "gamma": g3[:2], "beta": b3[:2]},
                         (conv_param, {"mode": "train"})),
    }


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(_layers()))
def test_every_layer_keeps_the_dtype(name, dtype):
    forward, backward, inputs, params = _layers()[name]
    arrays = [np.ascontiguousarray(a, dtype=dtype) for a in inputs.values()]
    out, cache = forward(*arrays, *params)
    assert out.dtype == dtype
    grads = backward(np.ones_like(out), cache)
    grads = grads if isinstance(grads, tuple) else (grads,)
    assert len(grads) == len(arrays)
    for a, g in zip(arrays, grads):
        assert g.dtype == dtype and g.shape == a.shape
    # float32 results agree with float64 ones to float32 rounding
    if dtype == np.float32:
        out64, _ = forward(*[a.astype(np.float64) for a in arrays], *_layers()[name][3])
        assert np.allclose(out, out64, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("loss_fn", [softmax_loss, svm_loss])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_losses_keep_the_dtype(loss_fn, dtype):
    x = gen(71).standard_normal((4, 3)).astype(dtype)
    loss, dx = loss_fn(x, np.array([0, 1, 2, 1]))
    assert np.asarray(loss).dtype == dtype and dx.dtype == dtype
