"""The GPU code path, on a machine without a GPU.

``tests/device_double.py`` stands in for CuPy: its arrays live "on the device" and refuse every
implicit trip to the host. Every fast layer (and the reference conv and pool layers), and a
whole training run of a small conv net, must run on it and give exactly the NumPy results:
the same code, the array module chosen by the backend, and no ``float()``, ``.item()``,
``bool()`` or NumPy/device mixing inside.

The double itself is tested first: a double that refused nothing would prove nothing.
"""
import numpy as np
import pytest

import device_double
from cs231n_lib import backend, fast_layers, layers

HostTransferError = device_double.HostTransferError


@pytest.fixture
def dev():
    """The double installed as the device module for one test."""
    with device_double.installed() as module:
        yield module


def to_dev(*arrays):
    return tuple(backend.to_device(a, "gpu") for a in arrays)


# --------------------------------------------------------------------------------------------
# The double behaves like a strict CuPy
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("leak", [
    lambda a: float(a.sum()),
    lambda a: int(a[0, 0]),
    lambda a: bool(a.any()),
    lambda a: a.sum().item(),
    lambda a: a.tolist(),
    lambda a: np.asarray(a),
    lambda a: np.array(a),
    lambda a: range(a.argmax()),
    lambda a: [v for v in a],
])
def test_implicit_trips_to_the_host_are_refused(dev, leak):
    (a,) = to_dev(np.arange(6.0).reshape(2, 3))
    with pytest.raises(TypeError):
        leak(a)


@pytest.mark.parametrize("mix", [
    lambda a, h: a + h,
    lambda a, h: h * a,
    lambda a, h: np.add(a, h),
    lambda a, h: np.concatenate([a, h]),
    lambda a, h: device_double.maximum(a, h),
    lambda a, h: a.__setitem__(slice(None), h),
    lambda a, h: a[h.astype(int)],
    lambda a, h: a @ h.T,
])
def test_mixing_host_and_device_arrays_is_refused(dev, mix):
    (a,) = to_dev(np.ones((2, 3)))
    with pytest.raises(HostTransferError, match="host NumPy array was mixed"):
        mix(a, np.ones((2, 3)))


def test_device_arrays_compute_like_numpy_and_stay_on_the_device(dev):
    h = np.arange(12.0).reshape(3, 4)
    (a,) = to_dev(h)
    results = {
        "arithmetic": (a * 2 + 1) / 3 - a ** 2,
        "reduction": a.sum(axis=0),
        "full reduction (0-d, as in CuPy)": a.sum(),
        "matmul": a @ a.T,
        "module function": dev.maximum(a, 5.0),
        "numpy function on device arrays": np.exp(a),
        "numpy scalar mixes": np.float32(2) * a,
        "view": a.T.reshape(-1)[::2],
        "window view": dev.lib.stride_tricks.sliding_window_view(a, (2, 2)),
        "random": dev.random.default_rng(0).standard_normal((2, 2)),
    }
    for name, r in results.items():
        assert isinstance(r, device_double.DeviceArray), name
    np.testing.assert_array_equal(backend.to_host(results["arithmetic"]), (h * 2 + 1) / 3 - h ** 2)
    assert backend.to_host(results["full reduction (0-d, as in CuPy)"]).shape == ()
    a[0, 0] += 100  # in-place updates write through
    assert backend.to_host(a)[0, 0] == 100
    assert a.get()[0, 0] == 100  # the explicit way out, as in CuPy


def test_installed_restores_the_previous_device_module_and_default():
    before = backend.gpu_available(), backend.device()
    with device_double.installed(default_device=True):
        assert backend.gpu_available() and backend.device() == "gpu"
        assert backend.default_xp() is device_double
        assert backend.xp_of(backend.to_device(np.zeros(2))) is device_double
    assert (backend.gpu_available(), backend.device()) == before


# --------------------------------------------------------------------------------------------
# Every fast layer on the device: no host trips, exactly the NumPy numbers
# --------------------------------------------------------------------------------------------
CONV_PARAMS = [
    {"stride": 1, "pad": 1},
    {"stride": (2, 1), "pad": (0, 2), "dilation": (1, 2)},
    {"stride": 4, "pad": 0},
]
POOL_PARAMS = [
    {"pool_height": 3, "pool_width": 2, "stride": 2},
    {"pool_height": 3, "pool_width": 2, "stride": (2, 1), "pad": 1},
]
CONV_LAYERS = {
    "fast": (fast_layers.conv_forward_fast, fast_layers.conv_backward_fast),
    "naive": (layers.conv_forward_naive, layers.conv_backward_naive),
}
POOL_LAYERS = {
    "max fast": (fast_layers.max_pool_forward_fast, fast_layers.max_pool_backward_fast),
    "avg fast": (fast_layers.avg_pool_forward_fast, fast_layers.avg_pool_backward_fast),
    "max naive": (layers.max_pool_forward_naive, layers.max_pool_backward_naive),
    "avg naive": (layers.avg_pool_forward_naive, layers.avg_pool_backward_naive),
    "l2 naive": (layers.l2_pool_forward_naive, layers.l2_pool_backward_naive),
}


def assert_same_on_device(host_results, device_results):
    for h, d in zip(host_results, device_results):
        assert isinstance(d, device_double.DeviceArray), "a result came back on the host"
        d = backend.to_host(d)
        assert d.dtype == h.dtype
        np.testing.assert_array_equal(d, h)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("conv_param", CONV_PARAMS)
@pytest.mark.parametrize("name", CONV_LAYERS)
def test_conv_layers_run_on_the_device_double(dev, name, conv_param, dtype):
    forward, backward = CONV_LAYERS[name]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 11, 11)).astype(dtype)
    w = rng.standard_normal((4, 3, 3, 3)).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    out, cache = forward(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape).astype(dtype)
    grads = backward(dout, cache)

    x_d, w_d, b_d, dout_d = to_dev(x, w, b, dout)
    out_d, cache_d = forward(x_d, w_d, b_d, conv_param)
    grads_d = backward(dout_d, cache_d)
    assert_same_on_device((out,) + grads, (out_d,) + grads_d)


@pytest.mark.parametrize("pool_param", POOL_PARAMS)
@pytest.mark.parametrize("name", POOL_LAYERS)
def test_pool_layers_run_on_the_device_double(dev, name, pool_param):
    rng = np.random.default_rng(1)
    _pool_on_host_and_device(name, rng.integers(0, 4, (2, 3, 9, 8)).astype(np.float32), pool_param, rng)  # ties, too


def _pool_on_host_and_device(name, x, pool_param, rng):
    """The pool's forward and backward on NumPy and on the device double agree."""
    forward, backward = POOL_LAYERS[name]
    out, cache = forward(x, pool_param)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    dx = backward(dout, cache)
    x_d, dout_d = to_dev(x, dout)
    out_d, cache_d = forward(x_d, pool_param)
    assert_same_on_device((out, dx), (out_d, backward(dout_d, cache_d)))


# The pools' fast paths by geometry, each on an input it fits: windows that tile (the gradient
# written straight into dx), overlapping windows (strided adds), gaps between windows, padding.
POOL_PATHS = [
    ((2, 3, 8, 6), {"pool_height": 2, "pool_width": 2, "stride": 2}),
    ((2, 3, 6, 8), {"pool_height": 2, "pool_width": 2, "stride": 2, "pad": 1}),
    ((2, 3, 9, 7), {"pool_height": 3, "pool_width": 3, "stride": 2}),
    ((2, 3, 8, 8), {"pool_height": 2, "pool_width": 2, "stride": 3}),
]


@pytest.mark.parametrize("x_shape,pool_param", POOL_PATHS)
@pytest.mark.parametrize("name", [n for n in POOL_LAYERS if "fast" in n])
def test_every_fast_pool_path_runs_on_the_device_double(dev, name, x_shape, pool_param):
    rng = np.random.default_rng(2)
    x = np.maximum(rng.integers(-2, 3, x_shape), 0).astype(np.float32)  # ties, zeros most
    _pool_on_host_and_device(name, x, pool_param, rng)


def test_fast_conv_in_blocks_of_images_runs_on_the_device_double(dev, monkeypatch):
    """Several blocks of images (one image each), as large batches run."""
    from cs231n_lib import wide_layout
    monkeypatch.setattr(wide_layout, "BLOCK_BYTES", 1)
    forward, backward = CONV_LAYERS["fast"]
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 2, 7, 7)).astype(np.float32)
    w = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    conv_param = {"stride": (1, 2), "pad": 1}
    out, cache = forward(x, w, b, conv_param)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    grads = backward(dout, cache)

    x_d, w_d, b_d, dout_d = to_dev(x, w, b, dout)
    out_d, cache_d = forward(x_d, w_d, b_d, conv_param)
    assert_same_on_device((out,) + grads, (out_d,) + backward(dout_d, cache_d))


def test_fast_layers_refuse_host_and_device_arrays_mixed(dev):
    x = np.zeros((1, 1, 4, 4))
    (w_d,) = to_dev(np.zeros((1, 1, 3, 3)))
    with pytest.raises(backend.DeviceError, match="different devices"):
        fast_layers.conv_forward_fast(x, w_d, np.zeros(1), {"stride": 1, "pad": 1})


# --------------------------------------------------------------------------------------------
# A whole training step on the device: model, fast layers, loss, optimizer, solver
# --------------------------------------------------------------------------------------------
def test_training_on_the_device_double_equals_training_on_numpy():
    """Two epochs of Adam on a small conv net, once with NumPy arrays and once with the model
    and data on the device double (``backend.use("gpu")``): any host round trip in the model,
    the fast layers, the loss, the update rule or the solver raises, and the trained weights
    must be the NumPy ones, bit for bit."""
    from cs231n_lib.models import Sequential
    from cs231n_lib.solver import Solver

    rng = np.random.default_rng(0)
    X = rng.standard_normal((24, 3, 8, 8)).astype(np.float32)
    y = rng.integers(0, 4, 24)

    def train():
        model = Sequential("INPUT -> CONV -> RELU -> POOL -> FC", (3, 8, 8), seed=0,
                           filters=4, num_classes=4)
        data = {k: backend.to_device(v) for k, v in
                {"X_train": X, "y_train": y, "X_val": X, "y_val": y}.items()}
        solver = Solver(model, data, update_rule="adam", batch_size=8, num_epochs=2, seed=0,
                        verbose=False, progress=False)
        solver.train()
        return model, solver.loss_history

    model_h, losses_h = train()
    with device_double.installed(default_device=True):
        model_d, losses_d = train()
        assert all(isinstance(p, device_double.DeviceArray) for p in model_d.params.values())
        params_d = backend.to_host(model_d.params)
    assert losses_d == losses_h
    for name, p in model_h.params.items():
        np.testing.assert_array_equal(params_d[name], p, err_msg=name)
