"""The receptive-field viewer: path counts equal the gradient of a stack of all-ones conv layers
(the reference layers' backward pass), field sizes match the geometry and the notes."""
import numpy as np
import pytest

from cs231n_lib.geometry import receptive_field, receptive_fields
from cs231n_lib.layers import conv_backward_naive, conv_forward_naive
from cs231n_lib.viz.receptive_field import (PRESETS, compute_receptive_field, fitting_image_size,
                                            format_layers, padding_note, parse_layers,
                                            receptive_field_widget, render_profiles,
                                            render_receptive_field)


def _all_ones_stack(layers, size):
    """A (1, 1, size, size) zero image through conv layers whose weights are all 1: the top
    output and the caches of every layer, for a backward pass through the stack."""
    x = np.zeros((1, 1, size, size))
    caches = []
    for layer in layers:
        w = np.ones((1, 1, layer["F"], layer["F"]))
        param = {"stride": layer["S"], "pad": layer["P"], "dilation": layer["dilation"]}
        x, cache = conv_forward_naive(x, w, np.zeros(1), param)
        caches.append(cache)
    return x, caches


def _gradient_of_one_neuron(layers, size, neuron):
    """d(top neuron)/d(image) for a stack of conv layers whose weights are all 1."""
    x, caches = _all_ones_stack(layers, size)
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


# -------------------------------------------------------------------------------------------
# Which neuron each box belongs to, against a brute-force back-projection
# -------------------------------------------------------------------------------------------
def _feeders(layers, size, top_neuron):
    """Brute force: for each depth l, the neurons after layer l that the top neuron reads,
    through any path (the nonzero gradient of the top neuron of an all-ones stack with
    respect to that layer's output), as a boolean (h_l, w_l) array."""
    x, caches = _all_ones_stack(layers, size)
    dout = np.zeros_like(x)
    dout[0, 0][top_neuron] = 1.0
    feeders = [dout[0, 0] != 0]
    for cache in reversed(caches[1:]):
        dout, _, _ = conv_backward_naive(dout, cache)
        feeders.insert(0, dout[0, 0] != 0)
    return feeders


def _box_of(grad):
    rows, cols = np.flatnonzero(grad.any(axis=1)), np.flatnonzero(grad.any(axis=0))
    return (rows[0], rows[-1], cols[0], cols[-1])


@pytest.mark.parametrize("text, size", [
    ("3x3 s2, 3x3 s2, 3x3 s2", 33),
    ("11x11 s4 p0, 3x3 s2 p0", 35),
    ("3x3, 2x2 s2 p0, 3x3, 2x2 s2 p0", 32),
    ("5x5 s2, 3x3 d2, 3x3 s3", 37),
])
def test_each_box_is_a_neuron_at_the_centre_of_what_the_top_neuron_reads(text, size):
    layers = parse_layers(text)
    fields = receptive_fields(layers)
    for point in [(size // 2, size // 2), (3, size - 5), (10, 21), (0, 0)]:
        view = compute_receptive_field(layers, (size, size), point)
        top = view.neurons[-1]
        centre = [fields[-1].start + i * fields[-1].jump for i in top]
        feeders = _feeders(layers, size, top)
        for l, (r, c) in enumerate(view.neurons):
            assert feeders[l][r, c], f"layer {l + 1}: neuron {(r, c)} does not feed the top one"
            # of the feeders, the one whose field is centred closest to the top neuron's
            used_rows, used_cols = feeders[l].any(axis=1), feeders[l].any(axis=0)
            for axis, mine, used in ((0, r, used_rows), (1, c, used_cols)):
                centres = fields[l].start + np.arange(used.size) * fields[l].jump
                gap = np.abs(centres - centre[axis])
                assert gap[mine] == gap[used].min(), f"layer {l + 1}, axis {axis}, point {point}"
            # the box is exactly the pixels that reach that neuron
            grad = _gradient_of_one_neuron(layers[:l + 1], size, (r, c))
            assert view.boxes[l] == _box_of(grad)
            np.testing.assert_array_equal(view.counts[l], grad)


@pytest.mark.parametrize("preset", ["3x3 stride 2, three times", "AlexNet conv1 + pool"])
def test_boxes_of_a_strided_stack_share_one_centre(preset):
    """With odd filters every box is centred on the top neuron's field, wherever the point
    (away from the border, where the boxes are clipped)."""
    layers = parse_layers(PRESETS[preset])
    n = fitting_image_size(layers, 128)
    for point in [(40, 90), (64, 64), (61, 57), (33, 100)]:
        view = compute_receptive_field(layers, (n, n), point)
        centres = {((r0 + r1) / 2, (c0 + c1) / 2) for r0, r1, c0, c1 in view.boxes}
        assert len(centres) == 1, f"{preset}, point {point}: boxes centred at {sorted(centres)}"
        (row, col), = centres
        jump = view.fields[-1].jump  # the closest top neuron is at most half a jump away
        assert abs(row - point[0]) <= jump / 2 and abs(col - point[1]) <= jump / 2
    assert "the closest top neuron is" in render_receptive_field(view, np.zeros((3, n, n)))


# -------------------------------------------------------------------------------------------
# The widget: point sliders follow the photo size, typed stacks are read as they say
# -------------------------------------------------------------------------------------------
def test_point_sliders_follow_the_photo_size_and_say_it():
    live = receptive_field_widget(preset="AlexNet conv1 + pool")
    assert live.result.image_size == (131, 131)  # (131 - 11)/4 + 1 = 31, (31 - 3)/2 + 1 = 15
    assert live.controls["row"].max == live.controls["col"].max == 130
    assert live.result.point == (65, 65)  # starts in the middle of the photo
    assert "resized to 131x131" in live.shown()["text/html"]
    live.set(row=130, col=3)
    assert live.result.point == (130, 3)
    live.controls["preset"].value = "one 3x3"  # a 128x128 photo: the sliders shrink with it
    assert live.controls["row"].max == 127 and live.controls["row"].value == 127
    assert live.result.point == (127, 3) and "resized to 128x128" in live.shown()["text/html"]


def test_an_option_given_twice_is_refused_in_the_widget():
    with pytest.raises(ValueError, match=r"gives the stride more than once \(s2, s3\)"):
        parse_layers("3x3 s2 s3")
    with pytest.raises(ValueError, match="layer 2 .* padding more than once"):
        parse_layers("3x3, 3x3 p1 d2 p0")
    live = receptive_field_widget()
    live.controls["layers"].value = "3x3 s2 s3"
    html = live.shown()["text/html"]
    assert "does not work" in html and "stride more than once (s2, s3)" in html
    assert "Traceback" not in html and live.result is None


def test_the_default_padding_of_typed_layers_is_said():
    assert padding_note("5x5, 3x3 p0") == (
        "layer 1 has no p: it gets p = d*(F - 1)//2 = 2, the padding that keeps the size at "
        "stride 1 (read as 5x5 p2, 3x3 p0)")
    assert padding_note("3x3 p1, 3x3 p0") == ""
    live = receptive_field_widget()
    live.controls["layers"].value = "5x5, 3x3 d2 s2"
    html = live.shown()["text/html"]
    assert "layers 1, 2 have no p: they get p = d*(F - 1)//2 = 2, 2" in html
    assert "read as 5x5 p2, 3x3 s2 d2 p2" in html
    live.controls["layers"].value = "5x5 p2, 3x3 p1"
    assert "Padding:" not in live.shown()["text/html"]
