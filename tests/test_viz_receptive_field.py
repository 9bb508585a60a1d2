"""The receptive-field viewer: path counts equal the gradient of a stack of all-ones conv layers
(the reference layers' backward pass), field sizes match the geometry and the notes."""
import numpy as np
import pytest

from cs231n_lib.geometry import receptive_field
from cs231n_lib.layers import conv_backward_naive, conv_forward_naive
from cs231n_lib.viz.receptive_field import (PRESETS, compute_receptive_field, fitting_image_size,
                                            format_layers, parse_layers, receptive_field_widget,
                                            render_profiles, render_receptive_field)


def _gradient_of_one_neuron(layers, size, neuron):
    """d(top neuron)/d(image) for a stack of conv layers whose weights are all 1."""
    x = np.zeros((1, 1, size, size))
    caches = []
    for layer in layers:
        w = np.ones((1, 1, layer["F"], layer["F"]))
        param = {"stride": layer["S"], "pad": layer["P"], "dilation": layer["dilation"]}
        x, cache = conv_forward_naive(x, w, np.zeros(1), param)
        caches.append(cache)
    dout = np.zeros_like(x)
    dout[0, 0][neuron] = 1.0
    for cache in reversed(caches):
        dout, _, _ = conv_backward_naive(dout, cache)
    return dout[0, 0]


@pytest.mark.parametrize("text, size", [
    ("3x3, 3x3, 3x3", 15),
    ("3x3 s2, 3x3, 3x3 d2", 17),
    ("5x5 s2 p0, 3x3 s2 p1", 17),
    ("2x2 s2 p0, 3x3 d3", 16),
])
def test_path_counts_are_the_gradient_of_an_all_ones_stack(text, size):
    layers = parse_layers(text)
    for point in [(size // 2, size // 2), (0, 0), (size - 1, 3)]:
        view = compute_receptive_field(layers, (size, size), point)
        for depth in range(len(layers)):
            expected = _gradient_of_one_neuron(layers[:depth + 1], size, view.neurons[depth])
            np.testing.assert_array_equal(view.counts[depth], expected)


@pytest.mark.parametrize("text, sizes", [
    ("3x3, 3x3, 3x3", [3, 5, 7]),          # three stacked 3x3 see 7x7 (two see 5x5)
    ("7x7", [7]),
    ("3x3, 3x3 d2, 3x3 d4", [3, 7, 15]),   # dilation grows the field faster
    ("11x11 s4 p0, 3x3 s2 p0", [11, 19]),
])
def test_field_sizes_match_the_geometry_and_the_notes(text, sizes):
    layers = parse_layers(text)
    n = fitting_image_size(layers, 64)
    view = compute_receptive_field(layers, (n, n))  # a neuron in the middle: nothing clipped
    assert [f.size for f in view.fields] == sizes
    assert receptive_field(layers) == sizes[-1]
    for (r0, r1, c0, c1), size in zip(view.boxes, sizes):
        assert r1 - r0 + 1 == size and c1 - c0 + 1 == size


def test_stacked_3x3_weighs_the_centre_more_than_one_7x7():
    three = compute_receptive_field("3x3, 3x3, 3x3", (33, 33))
    seven = compute_receptive_field("7x7", (33, 33))
    row3, row7 = three.counts[-1][16, 13:20], seven.counts[-1][16, 13:20]
    assert (row7 == 1).all()                      # one 7x7: every pixel once
    # three 3x3: paths pile up in the middle; along one axis 1, 3, 6, 7, 6, 3, 1 (the ways
    # three steps of -1, 0 or +1 add up), and the 2-D count is that times itself
    one_axis = np.array([1, 3, 6, 7, 6, 3, 1])
    np.testing.assert_array_equal(three.counts[-1][13:20, 13:20], np.outer(one_axis, one_axis))
    assert row3.tolist() == (7 * one_axis).tolist()
    assert three.counts[-1].sum() == 9 ** 3  # 9 taps per layer, three layers


def test_fields_are_clipped_at_the_border():
    view = compute_receptive_field("3x3, 3x3, 3x3", (20, 20), (0, 0))
    assert view.boxes[-1] == (0, 3, 0, 3)  # a 7x7 field centred on the corner pixel


def test_parse_and_format_round_trip_and_errors():
    layers = parse_layers("3x3, 3x3 s2 d2, 11x11 s4 p0")
    assert layers == [{"F": 3, "S": 1, "P": 1, "dilation": 1},
                      {"F": 3, "S": 2, "P": 2, "dilation": 2},
                      {"F": 11, "S": 4, "P": 0, "dilation": 1}]
    assert parse_layers(format_layers(layers)) == layers
    for preset in PRESETS.values():
        assert format_layers(parse_layers(preset)) == preset
    with pytest.raises(ValueError, match="cannot read layer 2"):
        parse_layers("3x3, 3by3")
    with pytest.raises(ValueError, match="square"):
        parse_layers("3x5")
    with pytest.raises(ValueError, match="at least one layer"):
        parse_layers(" ")


def test_fitting_image_size_fits_every_layer():
    layers = parse_layers(PRESETS["AlexNet conv1 + pool"])
    n = fitting_image_size(layers, 128)
    assert n == 131  # (131 - 11)/4 + 1 = 31, (31 - 3)/2 + 1 = 15
    view = compute_receptive_field(layers, (n, n))
    assert view.sizes == [31, 15]


def test_renderers_draw_figures():
    view = compute_receptive_field("3x3, 3x3", (32, 32))
    image = np.random.default_rng(0).random((3, 32, 32))
    html = render_receptive_field(view, image)
    assert html.count("<img") == 2 and "<svg" in html and html._repr_html_() == html
    assert "layer 2 (3x3): sees 5x5" in html
    fig = render_profiles({"a": view, "b": compute_receptive_field("5x5", (32, 32))})
    assert len(fig.axes[0].get_lines()) == 2


def test_widget_presets_typed_stacks_and_bad_text():
    live = receptive_field_widget()
    assert live.summary == "receptive fields 3x3 -> 5x5 -> 7x7"
    assert "data:image/png;base64," in live.shown()["text/html"]
    live.controls["preset"].value = "3x3 dilated 1, 2, 4"
    assert live.controls["layers"].value == "3x3, 3x3 d2, 3x3 d4"
    assert live.summary.endswith("15x15")
    live.controls["layers"].value = "5x5, 5x5"
    assert live.controls["preset"].value == "(typed)" and live.summary.endswith("9x9")
    live.controls["layers"].value = "5x5 s2 q1"
    assert "does not work" in live.shown()["text/html"] and "cannot read layer 1" in live.error
    live.set(layers="3x3", row=0, col=127)
    assert live.result.point == (0, 127) and live.result.boxes[-1] == (0, 1, 126, 127)
