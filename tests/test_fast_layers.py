"""The fast layers and im2col against the reference (naive) layers and against the defining
properties of unfolding: same numbers on many random geometries, same dtypes, same routing of
max-pool ties, same input errors. (Speed is measured in benchmarks/, not asserted here.)"""
import re

import numpy as np
import pytest

from cs231n_lib.fast_layers import (avg_pool_backward_fast, avg_pool_forward_fast,
                                    conv_backward_fast, conv_forward_fast,
                                    max_pool_backward_fast, max_pool_forward_fast)
from cs231n_lib.geometry import ConvGeometryError
from cs231n_lib.gradient_check import check_layer_gradients, rel_error
from cs231n_lib.im2col import col2im, im2col
from cs231n_lib.layers import (avg_pool_backward_naive, avg_pool_forward_naive,
                               conv_backward_naive, conv_forward_naive, max_pool_backward_naive,
                               max_pool_forward_naive)
from cs231n_lib.wide_layout import (WideGrid, col2im_wide, from_phase_planes, im2col_wide,
                                    to_phase_planes)
from cs231n_lib.windows import Window

TOL = 1e-9  # float64, fast vs naive


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def input_size(out, f, s, p, d=1):
    """The input size that gives ``out`` outputs: (out - 1)*S + span - 2P."""
    return (out - 1) * s + d * (f - 1) + 1 - 2 * p


def maybe_pair(rng, a, b):
    """An int when both axes agree (half of the time), else the (height, width) pair."""
    return int(a) if a == b and rng.random() < 0.5 else (int(a), int(b))


def random_conv_geometry(rng):
    """(x shape, w shape, conv_param) with windows that fit: every combination of stride,
    padding, dilation and non-square filters that the layers accept."""
    HH, WW = rng.integers(1, 5, 2)
    sh, sw = rng.integers(1, 4, 2)
    dh, dw = rng.integers(1, 3, 2)
    ph, pw = rng.integers(0, 3, 2)
    Ho, Wo = rng.integers(1, 5, 2)
    H, W = input_size(Ho, HH, sh, ph, dh), input_size(Wo, WW, sw, pw, dw)
    while H < 1:
        Ho, H = Ho + 1, H + sh
    while W < 1:
        Wo, W = Wo + 1, W + sw
    N, C, F = rng.integers(1, 4), rng.integers(1, 4), rng.integers(1, 4)
    conv_param = {"stride": maybe_pair(rng, sh, sw), "pad": maybe_pair(rng, ph, pw)}
    if dh > 1 or dw > 1 or rng.random() < 0.3:
        conv_param["dilation"] = maybe_pair(rng, dh, dw)
    return (N, C, H, W), (F, C, HH, WW), conv_param


def random_pool_geometry(rng):
    """(x shape, pool_param): overlapping (stride < window), tiling, and gapped (stride >
    window) pools, non-square windows, padding up to half the window."""
    PH, PW = rng.integers(1, 5, 2)
    sh, sw = rng.integers(1, 5, 2)
    ph, pw = rng.integers(0, PH // 2 + 1), rng.integers(0, PW // 2 + 1)
    Ho, Wo = rng.integers(1, 5, 2)
    H, W = input_size(Ho, PH, sh, ph), input_size(Wo, PW, sw, pw)
    while H < 1:
        H += sh
    while W < 1:
        W += sw
    pool_param = {"pool_height": int(PH), "pool_width": int(PW), "stride": maybe_pair(rng, sh, sw)}
    if ph or pw or rng.random() < 0.3:
        pool_param["pad"] = maybe_pair(rng, ph, pw)
    return (rng.integers(1, 4), rng.integers(1, 4), H, W), pool_param


# The geometries of the benchmark, shrunk in batch and channels so the naive layer is quick,
# plus the AlexNet conv1 of the notebook.
NAMED_CONV = {
    "cifar 3x3 pad 1": ((2, 3, 8, 8), (4, 3, 3, 3), {"stride": 1, "pad": 1}),
    "alexnet conv1": ((1, 3, 227, 227), (2, 3, 11, 11), {"stride": 4, "pad": 0}),
    "1x1": ((2, 5, 4, 6), (3, 5, 1, 1), {"stride": 1, "pad": 0}),
    "dilated": ((1, 2, 9, 9), (2, 2, 3, 3), {"stride": 1, "pad": 2, "dilation": 2}),
    "stride 2 non-square": ((2, 2, 9, 10), (3, 2, 3, 2), {"stride": 2, "pad": (1, 0)}),
    "filter as large as the input": ((2, 2, 5, 5), (3, 2, 5, 5), {"stride": 1, "pad": 0}),
}


def conv_both(x_shape, w_shape, conv_param, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    w = rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    out_n, cache_n = conv_forward_naive(x, w, b, conv_param)
    out_f, cache_f = conv_forward_fast(x, w, b, conv_param)
    dout = rng.standard_normal(out_n.shape).astype(dtype)
    return out_n, out_f, conv_backward_naive(dout, cache_n), conv_backward_fast(dout, cache_f)


# --------------------------------------------------------------------------------------------
# Convolution: fast == naive
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(40))
def test_conv_fast_matches_naive_on_random_geometries(seed):
    x_shape, w_shape, conv_param = random_conv_geometry(np.random.default_rng(seed))
    out_n, out_f, grads_n, grads_f = conv_both(x_shape, w_shape, conv_param, seed)
    assert out_f.shape == out_n.shape
    assert rel_error(out_f, out_n) < TOL, (x_shape, w_shape, conv_param)
    for name, g_n, g_f in zip(("dx", "dw", "db"), grads_n, grads_f):
        assert g_f.shape == g_n.shape, name
        assert rel_error(g_f, g_n) < TOL, (name, x_shape, w_shape, conv_param)


@pytest.mark.parametrize("name", NAMED_CONV)
def test_conv_fast_matches_naive_on_named_geometries(name):
    out_n, out_f, grads_n, grads_f = conv_both(*NAMED_CONV[name], seed=1)
    assert rel_error(out_f, out_n) < TOL
    for g_n, g_f in zip(grads_n, grads_f):
        assert rel_error(g_f, g_n) < TOL


@pytest.mark.parametrize("block_bytes", [1, 6000])
def test_conv_fast_in_blocks_of_images_matches_naive(monkeypatch, block_bytes):
    """The forward and backward passes work a block of images at a time; one image per
    block, and blocks that do not divide the batch, give the same output and gradients."""
    from cs231n_lib import wide_layout
    monkeypatch.setattr(wide_layout, "BLOCK_BYTES", block_bytes)
    out_n, out_f, grads_n, grads_f = conv_both((5, 2, 6, 8), (3, 2, 3, 2),
                                               {"stride": (1, 2), "pad": 1}, seed=11)
    assert rel_error(out_f, out_n) < TOL
    for g_n, g_f in zip(grads_n, grads_f):
        assert rel_error(g_f, g_n) < TOL


def test_conv_fast_gradients_match_numeric_gradients():
    """Independent of the naive layer: centred differences on a strided, dilated, padded,
    non-square case."""
    rng = np.random.default_rng(3)
    inputs = {"x": rng.standard_normal((2, 2, 7, 8)), "w": rng.standard_normal((3, 2, 3, 2)),
              "b": rng.standard_normal(3)}
    errors = check_layer_gradients(conv_forward_fast, conv_backward_fast, inputs,
                                   {"stride": (2, 1), "pad": (1, 2), "dilation": (2, 1)})
    assert max(errors.values()) < 1e-7


def test_conv_fast_outputs_are_contiguous_and_inputs_untouched():
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((2, 3, 9, 9)), rng.standard_normal((4, 3, 3, 3)), np.ones(4)
    copies = [a.copy() for a in (x, w, b)]
    out, cache = conv_forward_fast(x, w, b, {"stride": 2, "pad": 1})
    dout = rng.standard_normal(out.shape)
    dx, dw, db = conv_backward_fast(dout, cache)
    for a, a0 in zip((x, w, b), copies):
        np.testing.assert_array_equal(a, a0)
    assert out.flags.c_contiguous and dx.flags.c_contiguous and dw.flags.c_contiguous


# --------------------------------------------------------------------------------------------
# Pooling: fast == naive, ties included
# --------------------------------------------------------------------------------------------
POOLS = {
    "max": (max_pool_forward_naive, max_pool_backward_naive,
            max_pool_forward_fast, max_pool_backward_fast),
    "avg": (avg_pool_forward_naive, avg_pool_backward_naive,
            avg_pool_forward_fast, avg_pool_backward_fast),
}


def pool_both(kind, x, pool_param, seed=0):
    fwd_n, bwd_n, fwd_f, bwd_f = POOLS[kind]
    out_n, cache_n = fwd_n(x, pool_param)
    out_f, cache_f = fwd_f(x, pool_param)
    dout = np.random.default_rng(seed).standard_normal(out_n.shape).astype(x.dtype)
    return out_n, out_f, bwd_n(dout, cache_n), bwd_f(dout, cache_f)


@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("seed", range(25))
def test_pool_fast_matches_naive_on_random_geometries(kind, seed):
    rng = np.random.default_rng(100 + seed)
    x_shape, pool_param = random_pool_geometry(rng)
    x = rng.standard_normal(x_shape)
    out_n, out_f, dx_n, dx_f = pool_both(kind, x, pool_param, seed)
    assert out_f.shape == out_n.shape and dx_f.shape == dx_n.shape == x.shape
    assert rel_error(out_f, out_n) < TOL, (x_shape, pool_param)
    assert rel_error(dx_f, dx_n) < TOL, (x_shape, pool_param)


@pytest.mark.parametrize("pool_param", [
    {"pool_height": 2, "pool_width": 2, "stride": 2},
    {"pool_height": 3, "pool_width": 3, "stride": 2},             # overlapping
    {"pool_height": 3, "pool_width": 2, "stride": (1, 2), "pad": 1},
    {"pool_height": 2, "pool_width": 2, "stride": 3},             # gaps between windows
])
def test_max_pool_ties_are_routed_like_the_naive_layer(pool_param):
    """Inputs drawn from {0, 1, 2}: most windows have several maxima."""
    rng = np.random.default_rng(7)
    H = input_size(4, pool_param["pool_height"], pair(pool_param["stride"])[0],
                   pair(pool_param.get("pad", 0))[0])
    W = input_size(4, pool_param["pool_width"], pair(pool_param["stride"])[1],
                   pair(pool_param.get("pad", 0))[1])
    x = rng.integers(0, 3, (2, 3, H, W)).astype(np.float64)
    out_n, cache_n = max_pool_forward_naive(x, pool_param)
    out_f, cache_f = max_pool_forward_fast(x, pool_param)
    # whole-number gradients: sums are exact in any order, so routing is compared exactly
    dout = rng.integers(1, 100, out_n.shape).astype(np.float64)
    np.testing.assert_array_equal(out_f, out_n)
    np.testing.assert_array_equal(max_pool_backward_fast(dout, cache_f),
                                  max_pool_backward_naive(dout, cache_n))


@pytest.mark.parametrize("x_shape,pool_param", [
    ((3, 4, 32, 32), {"pool_height": 2, "pool_width": 2, "stride": 2}),   # tiling, even
    ((3, 4, 10, 14), {"pool_height": 2, "pool_width": 2, "stride": 2}),
    ((3, 4, 33, 33), {"pool_height": 3, "pool_width": 3, "stride": 2}),   # overlapping, odd
    ((3, 4, 15, 9), {"pool_height": 3, "pool_width": 3, "stride": 2}),
    ((3, 4, 11, 11), {"pool_height": 2, "pool_width": 2, "stride": 3}),   # gaps: no tiling
    ((3, 4, 9, 9), {"pool_height": 3, "pool_width": 3, "stride": 2, "pad": 1}),
    ((3, 4, 6, 8), {"pool_height": 2, "pool_width": 2, "stride": 2, "pad": 1}),
])
def test_max_pool_fast_on_relu_activations_routes_like_the_naive_layer(x_shape, pool_param):
    """After a ReLU many windows are all zeros: a tie between every tap, which must go to
    the first one. float32, compared exactly (each pixel's gradient is one dout value, or a
    sum of whole numbers)."""
    rng = np.random.default_rng(8)
    x = np.maximum(rng.standard_normal(x_shape), 0).astype(np.float32)
    x[0, 0] = 0.0  # a whole depth slice of zeros
    out_n, cache_n = max_pool_forward_naive(x, pool_param)
    out_f, cache_f = max_pool_forward_fast(x, pool_param)
    dout = rng.integers(1, 100, out_n.shape).astype(np.float32)
    np.testing.assert_array_equal(out_f, out_n)
    dx_n = max_pool_backward_naive(dout, cache_n)
    dx_f = max_pool_backward_fast(dout, cache_f)
    assert dx_f.dtype == np.float32 and dx_f.flags.c_contiguous
    np.testing.assert_array_equal(dx_f, dx_n)
    # every window sends its gradient to exactly one pixel
    assert dx_f.sum() == dout.sum()


def test_max_pool_tie_goes_to_the_first_maximum_in_row_major_order():
    x = np.array([[[[1.0, 5.0],
                    [5.0, 5.0]]]])
    out, cache = max_pool_forward_fast(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    dx = max_pool_backward_fast(np.array([[[[3.0]]]]), cache)
    assert out[0, 0, 0, 0] == 5.0
    np.testing.assert_array_equal(dx[0, 0], [[0.0, 3.0], [0.0, 0.0]])


def test_max_pool_padding_never_wins():
    x = -np.arange(1.0, 17.0).reshape(1, 1, 4, 4)  # all negative: zero padding would win
    out, cache = max_pool_forward_fast(x, {"pool_height": 2, "pool_width": 2, "stride": 2,
                                           "pad": 1})
    assert (out < 0).all()
    out_n, _ = max_pool_forward_naive(x, {"pool_height": 2, "pool_width": 2, "stride": 2,
                                          "pad": 1})
    np.testing.assert_array_equal(out, out_n)


# --------------------------------------------------------------------------------------------
# float32 stays float32, and stays accurate
# --------------------------------------------------------------------------------------------
def test_conv_fast_float32_in_float32_out_and_accurate():
    rng = np.random.default_rng(5)
    x, w, b = (rng.standard_normal((4, 16, 12, 12)), rng.standard_normal((8, 16, 3, 3)),
               rng.standard_normal(8))
    conv_param = {"stride": 1, "pad": 1}
    out64, cache64 = conv_forward_fast(x, w, b, conv_param)
    out32, cache32 = conv_forward_fast(x.astype(np.float32), w.astype(np.float32),
                                       b.astype(np.float32), conv_param)
    dout = rng.standard_normal(out64.shape)
    grads64 = conv_backward_fast(dout, cache64)
    grads32 = conv_backward_fast(dout.astype(np.float32), cache32)
    assert out32.dtype == np.float32 and all(g.dtype == np.float32 for g in grads32)
    for a32, a64 in zip((out32,) + grads32, (out64,) + grads64):
        # float32 has ~7 digits; sums of a few hundred products lose about two of them
        np.testing.assert_allclose(a32, a64, rtol=0, atol=2e-5 * np.abs(a64).max())


@pytest.mark.parametrize("kind", POOLS)
def test_pool_fast_float32_in_float32_out(kind):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 8, 8))
    pool_param = {"pool_height": 3, "pool_width": 3, "stride": 1, "pad": 1}
    out64, _, _, dx64 = pool_both(kind, x, pool_param)
    out32, _, _, dx32 = pool_both(kind, x.astype(np.float32), pool_param)
    assert out32.dtype == np.float32 and dx32.dtype == np.float32
    np.testing.assert_allclose(out32, out64, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(dx32, dx64, rtol=1e-6, atol=1e-6)


def test_conv_fast_mixed_dtypes_follow_the_naive_layer():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 2, 5, 5)).astype(np.float32)
    w, b = rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3).astype(np.float32)
    conv_param = {"stride": 1, "pad": 1}
    out_n, cache_n = conv_forward_naive(x, w, b, conv_param)
    out_f, cache_f = conv_forward_fast(x, w, b, conv_param)
    assert out_f.dtype == out_n.dtype
    dout = rng.standard_normal(out_n.shape).astype(np.float32)
    for g_n, g_f in zip(conv_backward_naive(dout, cache_n), conv_backward_fast(dout, cache_f)):
        assert g_f.dtype == g_n.dtype


# --------------------------------------------------------------------------------------------
# Same errors as the naive layers
# --------------------------------------------------------------------------------------------
def _same_error(call_naive, call_fast):
    with pytest.raises((ValueError, TypeError)) as naive:
        call_naive()
    with pytest.raises((ValueError, TypeError)) as fast:
        call_fast()
    assert type(fast.value) is type(naive.value)
    # the messages name the layer that raised; otherwise they are the same words
    assert re.sub(r"_(naive|fast)\b", "_LAYER", str(fast.value)) == \
        re.sub(r"_(naive|fast)\b", "_LAYER", str(naive.value))


X = np.zeros((2, 3, 8, 8))
W = np.zeros((4, 3, 3, 3))
B = np.zeros(4)
BAD_CONV = {
    "x not 4-D": (X[0], W, B, {"stride": 1, "pad": 1}),
    "x of ints": (X.astype(int), W, B, {"stride": 1, "pad": 1}),
    "channel mismatch": (X, W[:, :2], B, {"stride": 1, "pad": 1}),
    "bias length": (X, W, B[:3], {"stride": 1, "pad": 1}),
    "missing pad": (X, W, B, {"stride": 1}),
    "unknown key": (X, W, B, {"stride": 1, "pad": 1, "padding": 1}),
    "stride 0": (X, W, B, {"stride": 0, "pad": 1}),
    "fractional stride": (X, W, B, {"stride": 1.5, "pad": 1}),
    "does not tile": (X, W, B, {"stride": 2, "pad": 0}),
    "filter larger than input": (X, np.zeros((4, 3, 11, 11)), B, {"stride": 1, "pad": 0}),
    "dilation 0": (X, W, B, {"stride": 1, "pad": 1, "dilation": 0}),
    "conv_param not a dict": (X, W, B, [1, 1]),
}


@pytest.mark.parametrize("case", BAD_CONV)
def test_conv_fast_rejects_bad_input_like_the_naive_layer(case):
    args = BAD_CONV[case]
    _same_error(lambda: conv_forward_naive(*args), lambda: conv_forward_fast(*args))


def test_conv_fast_backward_rejects_a_dout_of_the_wrong_shape():
    _, cache_n = conv_forward_naive(X, W, B, {"stride": 1, "pad": 1})
    _, cache_f = conv_forward_fast(X, W, B, {"stride": 1, "pad": 1})
    dout = np.zeros((2, 4, 7, 8))
    _same_error(lambda: conv_backward_naive(dout, cache_n), lambda: conv_backward_fast(dout, cache_f))


BAD_POOL = {
    "x not 4-D": (X[0], {"pool_height": 2, "pool_width": 2, "stride": 2}),
    "missing pool_width": (X, {"pool_height": 2, "stride": 2}),
    "pad more than half the window": (X, {"pool_height": 2, "pool_width": 2, "stride": 2,
                                          "pad": 2}),
    "does not tile": (X, {"pool_height": 3, "pool_width": 3, "stride": 2}),
    "window larger than input": (X, {"pool_height": 9, "pool_width": 2, "stride": 1}),
}


@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("case", BAD_POOL)
def test_pool_fast_rejects_bad_input_like_the_naive_layer(kind, case):
    fwd_n, _, fwd_f, _ = POOLS[kind]
    args = BAD_POOL[case]
    _same_error(lambda: fwd_n(*args), lambda: fwd_f(*args))


@pytest.mark.parametrize("kind", POOLS)
def test_pool_fast_backward_rejects_a_dout_of_the_wrong_shape(kind):
    fwd_n, bwd_n, fwd_f, bwd_f = POOLS[kind]
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    _, cache_n = fwd_n(X, pool_param)
    _, cache_f = fwd_f(X, pool_param)
    dout = np.zeros((2, 3, 4, 5))
    _same_error(lambda: bwd_n(dout, cache_n), lambda: bwd_f(dout, cache_f))


# --------------------------------------------------------------------------------------------
# im2col and col2im
# --------------------------------------------------------------------------------------------
def test_im2col_alexnet_conv1_is_363_by_3025():
    x = np.zeros((1, 3, 227, 227), dtype=np.float32)
    cols = im2col(x, 11, 11, stride=4)
    assert cols.shape == (363, 3025) and cols.dtype == np.float32


@pytest.mark.parametrize("seed", range(10))
def test_im2col_columns_are_the_windows(seed):
    """Column n*H_out*W_out + i*W_out + j is the window under output (i, j) of image n,
    read every dilation-th pixel and flattened in (c, row, col) order."""
    rng = np.random.default_rng(200 + seed)
    (N, C, H, W), (_, _, HH, WW), p = random_conv_geometry(rng)
    (sh, sw), (ph, pw), (dh, dw) = pair(p["stride"]), pair(p["pad"]), pair(p.get("dilation", 1))
    x = rng.standard_normal((N, C, H, W))
    cols = im2col(x, HH, WW, p["stride"], p["pad"], p.get("dilation", 1))
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    H_out = (H + 2 * ph - dh * (HH - 1) - 1) // sh + 1
    W_out = (W + 2 * pw - dw * (WW - 1) - 1) // sw + 1
    assert cols.shape == (C * HH * WW, N * H_out * W_out)
    for n in range(N):
        for i in range(H_out):
            for j in range(W_out):
                window = x_pad[n, :, i * sh:i * sh + dh * (HH - 1) + 1:dh,
                               j * sw:j * sw + dw * (WW - 1) + 1:dw]
                np.testing.assert_array_equal(cols[:, (n * H_out + i) * W_out + j], window.ravel())


def test_conv_is_one_matrix_product_with_im2col():
    rng = np.random.default_rng(9)
    x, w, b = rng.standard_normal((2, 3, 9, 9)), rng.standard_normal((4, 3, 3, 3)), np.zeros(4)
    out, _ = conv_forward_naive(x, w, b, {"stride": 2, "pad": 1})
    product = w.reshape(4, -1) @ im2col(x, 3, 3, stride=2, pad=1)  # (F, N*H_out*W_out)
    np.testing.assert_allclose(product.reshape(4, 2, 5, 5).transpose(1, 0, 2, 3), out,
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", range(10))
def test_col2im_is_the_adjoint_of_im2col(seed):
    """<im2col(x), Y> == <x, col2im(Y)> for any x and Y: col2im is exactly the transpose of
    the linear map im2col, which is why it computes the conv's input gradient."""
    rng = np.random.default_rng(300 + seed)
    x_shape, (_, _, HH, WW), p = random_conv_geometry(rng)
    args = (HH, WW, p["stride"], p["pad"], p.get("dilation", 1))
    x = rng.standard_normal(x_shape)
    cols = im2col(x, *args)
    y = rng.standard_normal(cols.shape)
    back = col2im(y, x_shape, *args)
    assert back.shape == x_shape
    assert np.isclose(np.sum(cols * y), np.sum(x * back), rtol=1e-12, atol=1e-12)


def test_col2im_of_ones_counts_the_windows_covering_each_pixel():
    x_shape = (1, 1, 4, 4)
    ones = np.ones((9, 16))  # 3x3 windows, stride 1, pad 1: 16 windows
    counts = col2im(ones, x_shape, 3, 3, stride=1, pad=1)[0, 0]
    np.testing.assert_array_equal(counts, [[4, 6, 6, 4], [6, 9, 9, 6], [6, 9, 9, 6], [4, 6, 6, 4]])


@pytest.mark.parametrize("seed", range(15))
def test_wide_layout_holds_the_same_matrix_plus_overhang(seed):
    rng = np.random.default_rng(400 + seed)
    x_shape, (_, C, HH, WW), p = random_conv_geometry(rng)
    stride, pad, dil = pair(p["stride"]), pair(p["pad"]), pair(p.get("dilation", 1))
    x = rng.standard_normal(x_shape)
    cols = im2col(x, HH, WW, stride, pad, dil)
    N = x_shape[0]
    H_out = (x_shape[2] + 2 * pad[0] - dil[0] * (HH - 1) - 1) // stride[0] + 1
    W_out = (x_shape[3] + 2 * pad[1] - dil[1] * (WW - 1) - 1) // stride[1] + 1
    grid = WideGrid(x_shape, Window((HH, WW), stride, pad, dil, (H_out, W_out)))
    planes = to_phase_planes(x, grid)
    wide = im2col_wide(planes, grid)
    assert wide.shape == (C * HH * WW, N * grid.length)
    np.testing.assert_array_equal(grid.drop_overhang(wide).reshape(cols.shape), cols)
    # the way back: zero overhang in, the same input gradient as col2im out
    y = rng.standard_normal(cols.shape)
    y_wide = np.zeros(wide.shape)
    grid.drop_overhang(y_wide)[...] = y.reshape(-1, N, H_out, W_out)
    np.testing.assert_allclose(from_phase_planes(col2im_wide(y_wide, grid), grid),
                               col2im(y, x_shape, HH, WW, stride, pad, dil), rtol=1e-12, atol=1e-12)
    # the planes hold the padded input, nothing lost
    np.testing.assert_array_equal(from_phase_planes(planes, grid), x)


def test_im2col_rejects_windows_that_do_not_fit_and_col2im_a_wrong_shape():
    with pytest.raises(ConvGeometryError, match="not a whole number"):
        im2col(np.zeros((1, 1, 8, 8)), 3, 3, stride=2)
    with pytest.raises(ValueError, match=r"cols must have shape \(9, 36\)"):
        col2im(np.zeros((9, 35)), (1, 1, 8, 8), 3, 3, stride=1)
    with pytest.raises(ValueError, match="x must be 4-D"):
        im2col(np.zeros((8, 8)), 3, 3)
