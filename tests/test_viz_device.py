"""The visualizers' compute functions take device (GPU) arrays and keep their results on the
device; only the renderers copy to the host, explicitly. Checked with the strict CPU stand-in
for CuPy (tests/device_double.py), which refuses every implicit trip to the host."""
import numpy as np
import pytest

from cs231n_lib import backend
from cs231n_lib.viz import (compute_activations, compute_conv_step, compute_im2col_view,
                            demo_volume, hand_made_filters, render_conv_step, render_filters,
                            render_im2col_view)

import device_double


@pytest.fixture
def device():
    previous = backend.install_device_module(device_double)
    yield lambda a: backend.to_device(a, "gpu")
    backend.install_device_module(previous)


def test_conv_step_on_device_arrays(device):
    x, w, b = demo_volume()
    host = compute_conv_step(x, w, b, {"stride": 2, "pad": 1}, 7)
    s = compute_conv_step(device(x), device(w), device(b), {"stride": 2, "pad": 1}, 7)
    assert backend.is_device_array(s.out) and backend.is_device_array(s.products)
    assert s.total == host.total and s.value == host.value
    np.testing.assert_array_equal(backend.to_host(s.out), host.out)
    assert render_conv_step(s) == render_conv_step(host)


def test_im2col_view_on_device_arrays(device):
    x, w, _ = demo_volume(2, 5, 5, 2, 3)
    host = compute_im2col_view(x, w, {"stride": 2, "pad": 1}, 4, 1)
    v = compute_im2col_view(device(x), device(w), {"stride": 2, "pad": 1}, 4, 1)
    assert backend.is_device_array(v.X_col) and backend.is_device_array(v.product)
    np.testing.assert_array_equal(backend.to_host(v.out), host.out)
    assert render_im2col_view(v) == render_im2col_view(host)


def test_activations_on_device_arrays(device):
    image = np.random.default_rng(0).random((1, 16, 16)).astype(np.float32)
    w, b, names = hand_made_filters("edges")
    host = compute_activations(image, w, b, names=names)
    a = compute_activations(device(image), device(w), device(b), names=names)
    assert backend.is_device_array(a.maps)
    np.testing.assert_allclose(backend.to_host(a.maps), host.maps, rtol=1e-6)
    assert render_filters(a) == render_filters(host)
