"""Filters and activations: maps equal the reference conv layer, hand-made filters respond to
what they are named after, and the widget takes hand-made or given (learned) filters."""
import base64
import io
import re

import numpy as np
import pytest

from cs231n_lib.geometry import ConvGeometryError, conv_output_size
from cs231n_lib.layers import conv_forward_naive
from cs231n_lib.viz.filters import (compute_activations, filters_widget, fit_photo,
                                    hand_made_filters, render_filters)


@pytest.mark.parametrize("bank", ["edges", "blobs"])
def test_maps_are_the_reference_conv_layer_then_relu(bank):
    rng = np.random.default_rng(0)
    image = rng.random((3, 12, 12))
    w, b, names = hand_made_filters(bank, channels=3, dtype="float64")
    a = compute_activations(image, w, b, {"stride": 1, "pad": w.shape[-1] // 2}, relu=True, names=names)
    reference, _ = conv_forward_naive(image[None], w, b, {"stride": 1, "pad": w.shape[-1] // 2})
    np.testing.assert_allclose(a.raw, reference[0], atol=1e-12)
    np.testing.assert_array_equal(a.maps, np.maximum(a.raw, 0))
    assert a.names == names and len(names) == w.shape[0]


def test_edge_filters_find_the_edge_they_are_named_after():
    image = np.zeros((1, 9, 9))
    image[:, :, 5:] = 1.0  # dark left half, bright right half: one vertical edge
    w, b, names = hand_made_filters("edges", dtype="float64")
    a = compute_activations(image, w, b, {"stride": 1, "pad": 0}, relu=False, names=names)
    vertical, horizontal = a.raw[names.index("vertical edge")], a.raw[names.index("horizontal edge")]
    assert np.abs(horizontal).max() == 0  # nothing changes from top to bottom
    columns = np.flatnonzero(np.abs(vertical).sum(axis=0))
    assert columns.tolist() == [3, 4]  # the windows that straddle the edge (input columns 4|5)


def test_grey_filters_look_at_brightness():
    rng = np.random.default_rng(1)
    colour = rng.random((3, 8, 8))
    w3, b3, _ = hand_made_filters("blobs", channels=3, dtype="float64")
    w1, b1, _ = hand_made_filters("blobs", channels=1, dtype="float64")
    a3 = compute_activations(colour, w3, b3, relu=False)
    a1 = compute_activations(colour.mean(axis=0, keepdims=True), w1, b1, relu=False)
    np.testing.assert_allclose(a3.raw, a1.raw, atol=1e-12)


def test_errors():
    with pytest.raises(ValueError, match="bank must be one of"):
        hand_made_filters("stripes")
    w, b, _ = hand_made_filters("edges")
    with pytest.raises(ValueError, match="names has 1 labels for 4 filters"):
        compute_activations(np.zeros((1, 5, 5), np.float32), w, b, names=["one"])


def test_render_draws_filters_and_maps():
    w, b, names = hand_made_filters("edges")
    image = np.random.default_rng(0).random((1, 16, 16)).astype(np.float32)
    a = compute_activations(image, w, b, names=names)
    html = render_filters(a)
    assert html.count("<img") == 1 + 2 * len(names)
    assert all(name in html for name in names) and "16x16x4" in html


def test_widget_banks_stride_and_given_filters():
    live = filters_widget(size=32)
    assert live.summary == "4 filters -> maps (4, 32, 32)"
    live.set(bank="blobs", stride=2)
    assert live.result.names[0] == "blur" and live.result.maps.shape == (4, 16, 16)
    live.controls["relu"].value = False
    assert (live.result.maps < 0).any()  # without the ReLU negative responses stay
    rng = np.random.default_rng(0)
    given = (rng.standard_normal((2, 3, 3, 3)).astype(np.float32), np.zeros(2, np.float32), ["a", "b"])
    live = filters_widget(photo="astronaut", filters=given, size=32)
    assert live.controls["bank"].value == "given" and live.result.maps.shape == (2, 32, 32)
    assert "data:image/png;base64," in live.shown()["text/html"]


# -------------------------------------------------------------------------------------------
# A stride that does not tile the photo: the layer's rule, and what was cropped
# -------------------------------------------------------------------------------------------
def test_fit_photo_follows_the_output_size_rule():
    for size in range(6, 41):
        for F in (2, 3, 4, 5):
            for stride in (1, 2, 3, 4):
                pad = F // 2
                n, note = fit_photo(size, F, stride, pad)
                out = conv_output_size(n, F, stride, pad)  # the layer takes the cropped photo
                assert f"({n} - {F} + 2*{pad})/{stride} + 1 = {out}" in note
                if n == size:
                    assert "cropped" not in note
                    continue
                for m in range(n + 1, size + 1):  # ... and no larger one
                    with pytest.raises(ConvGeometryError):
                        conv_output_size(m, F, stride, pad)
                with pytest.raises(ConvGeometryError) as refusal:
                    conv_output_size(size, F, stride, pad)
                assert str(refusal.value) in note  # the layer's own words, with the arithmetic
                cut = size - n
                rows, cols = ("1 row", "1 column") if cut == 1 else (f"{cut} rows", f"{cut} columns")
                assert f"cropped to {n}x{n}: its bottom {rows} and right {cols} are left out" in note


def test_widget_says_what_it_cropped():
    live = filters_widget(size=32)
    assert "the windows tile the photo" in live.shown()["text/html"]
    live.controls["stride"].value = 2  # (32 - 3 + 2*1)/2 + 1 = 16.5
    html = live.shown()["text/html"]
    assert "(32 - 3 + 2*1)/2 + 1 = 16.5 is not a whole number" in html
    assert "cropped to 31x31: its bottom 1 row and right 1 column are left out" in html
    assert live.result.image.shape == (1, 31, 31) and live.result.maps.shape == (4, 16, 16)


# -------------------------------------------------------------------------------------------
# The colour legend of the weights
# -------------------------------------------------------------------------------------------
def _pixels(html, k):
    """The k-th picture of an HTML drawing as an (H, W, 3) array."""
    from PIL import Image
    data = re.findall(r"data:image/png;base64,([^\"]+)", html)[k]
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")).astype(int)


def test_legend_says_what_the_colours_of_the_weights_mean():
    w = np.zeros((1, 1, 3, 3))
    w[0, 0, 0, 0], w[0, 0, 1, 1] = -1.0, 1.0  # one negative weight, one positive
    a = compute_activations(np.random.default_rng(0).random((1, 8, 8)), w, np.zeros(1), names=["f"])
    html = render_filters(a)
    assert "weights: blue negative, white 0, red positive" in html
    stops = [tuple(int(h[i:i + 2], 16) for i in (1, 3, 5))
             for h in re.search(r"linear-gradient\(to right, ([^)]*)\)", html).group(1).split(", ")]
    negative, zero, positive = stops[0], stops[len(stops) // 2], stops[-1]
    assert negative[2] > negative[0] and positive[0] > positive[2] and min(zero) > 230
    tile = _pixels(html, 1)  # the filter's picture, after the input's, 20 px per weight
    assert tuple(tile[30, 30]) == positive and tuple(tile[10, 10]) == negative  # as the legend says
    assert "colour filters" not in html
    rgb = np.random.default_rng(1).standard_normal((2, 3, 3, 3))
    a = compute_activations(np.random.default_rng(0).random((3, 8, 8)), rgb, np.zeros(2))
    assert "colour filters: grey is 0" in render_filters(a)
