"""The fast layers on a real GPU (CuPy): the same numbers as NumPy, to float32 rounding.

Run with ``make gpu-test`` (installs the ``gpu`` extra, then ``pytest -m gpu``). Without CuPy
or a CUDA device every test here is skipped, with the reason; the device double
(``tests/test_device_double.py``) covers the GPU code path on the CPU in CI.
"""
import importlib.util

import numpy as np
import pytest

from cs231n_lib import backend, fast_layers

_REASON = backend.available().get("gpu_reason", "")
HAVE_GPU = importlib.util.find_spec("cupy") is not None and backend.gpu_available()

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not HAVE_GPU, reason=f"needs CuPy and a CUDA GPU: {_REASON}"),
]

CONV_CASES = {  # the benchmark's geometries, smaller batches
    "cifar 3->32": ((8, 3, 32, 32), (32, 3, 3, 3), {"stride": 1, "pad": 1}),
    "32->64 16x16": ((8, 32, 16, 16), (64, 32, 3, 3), {"stride": 1, "pad": 1}),
    "alexnet conv1": ((2, 3, 227, 227), (96, 3, 11, 11), {"stride": 4, "pad": 0}),
    "dilated, strided, non-square": ((2, 4, 15, 14), (5, 4, 3, 2),
                                     {"stride": (2, 1), "pad": (1, 0), "dilation": 2}),
}
POOL_CASES = [
    {"pool_height": 2, "pool_width": 2, "stride": 2},
    {"pool_height": 3, "pool_width": 3, "stride": 2, "pad": 1},
]


def close_in_float32(gpu_result, reference):
    """``gpu_result`` (CuPy, float32) equals the float64 NumPy ``reference`` to float32
    rounding, measured against the largest entry (sums of hundreds of products)."""
    import cupy

    assert isinstance(gpu_result, cupy.ndarray)
    assert gpu_result.dtype == np.float32
    got = backend.to_host(gpu_result)
    scale = max(np.abs(reference).max(), 1e-30)
    np.testing.assert_allclose(got, reference, rtol=0, atol=3e-5 * scale)


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_fast_on_gpu_matches_numpy(case):
    x_shape, w_shape, conv_param = CONV_CASES[case]
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    out, cache = fast_layers.conv_forward_fast(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape)
    grads = fast_layers.conv_backward_fast(dout, cache)

    dev = [backend.to_device(a.astype(np.float32), "gpu") for a in (x, w, b, dout)]
    out_g, cache_g = fast_layers.conv_forward_fast(*dev[:3], conv_param)
    grads_g = fast_layers.conv_backward_fast(dev[3], cache_g)
    for g, ref in zip((out_g,) + grads_g, (out,) + grads):
        close_in_float32(g, ref)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("pool_param", POOL_CASES)
def test_pools_fast_on_gpu_match_numpy(kind, pool_param):
    forward = getattr(fast_layers, f"{kind}_pool_forward_fast")
    backward = getattr(fast_layers, f"{kind}_pool_backward_fast")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 8, 17, 17)).astype(np.float32)
    out, cache = forward(x, pool_param)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    dx = backward(dout, cache)

    x_g, dout_g = backend.to_device(x, "gpu"), backend.to_device(dout, "gpu")
    out_g, cache_g = forward(x_g, pool_param)
    close_in_float32(out_g, out.astype(np.float64))
    close_in_float32(backward(dout_g, cache_g), dx.astype(np.float64))


def test_use_gpu_makes_cupy_the_default_array_module():
    import cupy

    previous = backend.use("gpu")
    try:
        assert backend.device() == "gpu" and backend.default_xp() is cupy
        x = backend.to_device(np.arange(6.0, dtype=np.float32).reshape(1, 1, 2, 3))
        assert isinstance(x, cupy.ndarray)
        out, _ = fast_layers.avg_pool_forward_fast(x, {"pool_height": 2, "pool_width": 1,
                                                       "stride": 1})
        np.testing.assert_array_equal(backend.to_host(out), [[[[1.5, 2.5, 3.5]]]])
    finally:
        backend.use(previous)
