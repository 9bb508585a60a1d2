"""Local response normalization: the vectorised layer equals a plain loop over the formula of
the AlexNet paper, equals PyTorch's formula (written out here in NumPy) with alpha divided by
the size, and its backward pass agrees with numeric gradients."""
import numpy as np
import pytest

from cs231n_lib import backend
from cs231n_lib.gradient_check import check_layer_gradients
from cs231n_lib.layers import local_response_norm_backward, local_response_norm_forward

import device_double


def lrn_loop(x, size=5, alpha=1e-4, beta=0.75, k=2.0):
    """The paper's formula, one number at a time: the window of channel c runs from
    c - size//2 to c + (size - 1)//2, clipped to the channels that exist."""
    N, C, H, W = x.shape
    out = np.empty_like(x)
    for n in range(N):
        for c in range(C):
            lo, hi = max(0, c - size // 2), min(C - 1, c + (size - 1) // 2)
            for i in range(H):
                for j in range(W):
                    energy = sum(x[n, cc, i, j] ** 2 for cc in range(lo, hi + 1))
                    out[n, c, i, j] = x[n, c, i, j] / (k + alpha * energy) ** beta
    return out


def torch_formula(x, size, alpha, beta, k):
    """torch.nn.functional.local_response_norm, step by step in NumPy: square, pad the channel
    axis with size//2 zeros in front and (size - 1)//2 behind, average over size channels
    (the padding counts), then x / (k + alpha * average) ** beta."""
    C = x.shape[1]
    padded = np.pad(x * x, ((0, 0), (size // 2, (size - 1) // 2), (0, 0), (0, 0)))
    average = sum(padded[:, o:o + C] for o in range(size)) / size
    return x / (k + alpha * average) ** beta


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8])
def test_forward_equals_the_loop(size):
    rng = np.random.default_rng(size)
    x = 10 * rng.standard_normal((2, 6, 3, 4))  # large enough for the denominator to matter
    out, _ = local_response_norm_forward(x, {"size": size, "alpha": 1e-3})
    np.testing.assert_allclose(out, lrn_loop(x, size, alpha=1e-3), rtol=1e-12)


def test_alexnet_defaults():
    x = 30 * np.random.default_rng(0).standard_normal((1, 7, 2, 2))
    out, _ = local_response_norm_forward(x)
    np.testing.assert_allclose(out, lrn_loop(x, 5, 1e-4, 0.75, 2.0), rtol=1e-12)


@pytest.mark.parametrize("size", [3, 4, 5])
def test_pytorch_convention_is_alpha_over_size(size):
    rng = np.random.default_rng(1)
    x = 5 * rng.standard_normal((2, 7, 3, 3))
    torch_alpha, beta, k = 0.5, 0.75, 1.0  # a large alpha, so that a wrong window shows
    ours, _ = local_response_norm_forward(x, {"size": size, "alpha": torch_alpha / size,
                                              "beta": beta, "k": k})
    np.testing.assert_allclose(ours, torch_formula(x, size, torch_alpha, beta, k), rtol=1e-12)
    # and not with alpha unchanged
    wrong, _ = local_response_norm_forward(x, {"size": size, "alpha": torch_alpha, "beta": beta, "k": k})
    assert not np.allclose(wrong, torch_formula(x, size, torch_alpha, beta, k))


def test_a_single_strong_channel_damps_only_its_neighbours():
    x = np.ones((1, 9, 1, 1))
    x[0, 4] = 100.0
    param = {"size": 5, "alpha": 1e-2, "beta": 0.75, "k": 2.0}
    out, _ = local_response_norm_forward(x, param)
    calm, _ = local_response_norm_forward(np.ones((1, 9, 1, 1)), param)  # no strong channel
    damped = out[0, :, 0, 0] < calm[0, :, 0, 0] - 1e-9
    assert np.flatnonzero(damped).tolist() == [2, 3, 5, 6]  # channels 4 +- 2, not 4 itself
    assert out[0, 4, 0, 0] < 100.0


@pytest.mark.parametrize("size", [1, 3, 4, 5])
def test_gradients(size):
    rng = np.random.default_rng(size)
    x = 3 * rng.standard_normal((2, 6, 3, 3))
    check_layer_gradients(local_response_norm_forward, local_response_norm_backward, {"x": x},
                          {"size": size, "alpha": 0.05, "beta": 0.75, "k": 1.5})


def test_float32_stays_float32():
    x = np.random.default_rng(0).standard_normal((1, 4, 2, 2)).astype(np.float32)
    out, cache = local_response_norm_forward(x)
    assert out.dtype == np.float32
    assert local_response_norm_backward(np.ones_like(out), cache).dtype == np.float32


def test_device_arrays_stay_on_the_device():
    previous = backend.install_device_module(device_double)
    try:
        x = np.random.default_rng(0).standard_normal((2, 5, 3, 3))
        xd = backend.to_device(x, "gpu")
        out, cache = local_response_norm_forward(xd, {"alpha": 0.01})
        dx = local_response_norm_backward(backend.to_device(np.ones_like(x), "gpu"), cache)
        assert backend.is_device_array(out) and backend.is_device_array(dx)
        ref, ref_cache = local_response_norm_forward(x, {"alpha": 0.01})
        np.testing.assert_allclose(backend.to_host(out), ref)
        np.testing.assert_allclose(backend.to_host(dx),
                                   local_response_norm_backward(np.ones_like(x), ref_cache))
    finally:
        backend.install_device_module(previous)


def test_bad_input_names_the_argument():
    x = np.ones((1, 3, 2, 2))
    with pytest.raises(ValueError, match="lrn_param has unknown key 'n'"):
        local_response_norm_forward(x, {"n": 5})
    with pytest.raises(ValueError, match=r"lrn_param\['size'\] must be >= 1"):
        local_response_norm_forward(x, {"size": 0})
    with pytest.raises(ValueError, match=r"lrn_param\['k'\] must be > 0"):
        local_response_norm_forward(x, {"k": 0.0})
    with pytest.raises(ValueError, match=r"lrn_param\['alpha'\] must be >= 0"):
        local_response_norm_forward(x, {"alpha": -1.0})
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        local_response_norm_forward(np.ones((3, 2, 2)))
    _, cache = local_response_norm_forward(x)
    with pytest.raises(ValueError, match="dout has shape"):
        local_response_norm_backward(np.ones((1, 3, 2, 1)), cache)
