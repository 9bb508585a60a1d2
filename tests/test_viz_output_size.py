"""The output-size explorer and the parameter counter agree with the geometry module and the
layers, reproduce the notes' numbers, and show invalid settings as messages."""
import itertools

import numpy as np
import pytest

from cs231n_lib.geometry import ConvGeometryError, conv_output_size
from cs231n_lib.layers import conv_forward_naive, locally_connected_forward
from cs231n_lib.viz.output_size import compute_output_size, output_size_widget
from cs231n_lib.viz.param_counter import compute_param_counts, param_counter_widget


# -------------------------------------------------------------------------------------------
# compute_output_size
# -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("W, F, S, P, expected", [
    (7, 3, 1, 0, 5), (7, 3, 2, 0, 3),            # the notes' 7x7 input, 3x3 filter
    (5, 3, 1, 1, 5), (5, 3, 2, 1, 3),            # the notes' 1-D figure
    (227, 11, 4, 0, 55),                          # AlexNet conv1
])
def test_notes_output_sizes(W, F, S, P, expected):
    r = compute_output_size(W, F, S, P)
    assert r.valid and r.out == expected
    assert r.formula.endswith(f"= {expected}")


@pytest.mark.parametrize("W, F, S, P, shown", [
    (5, 3, 3, 1, "7/3"), (10, 3, 2, 0, "4.5"), (224, 11, 4, 0, "54.25")])
def test_notes_invalid_settings_show_the_fraction(W, F, S, P, shown):
    r = compute_output_size(W, F, S, P)
    assert not r.valid and r.out is None
    assert shown in r.formula and shown in r.message
    assert r.suggestions, "an invalid setting comes with settings that fit"


def test_agrees_with_the_geometry_module_everywhere():
    for W, F, S, P, D in itertools.product(range(1, 12), range(1, 6), range(1, 4), range(0, 3), (1, 2)):
        r = compute_output_size(W, F, S, P, D)
        try:
            expected = conv_output_size(W, F, S, P, D)
        except ConvGeometryError as exc:
            assert not r.valid and r.message == str(exc)
            continue
        assert r.valid and r.out == expected
        # the windows that fit are exactly the output neurons, and they tile the padded input:
        # the last tap of the last window is the last padded cell
        assert len(r.taps) == expected
        assert r.taps[-1][-1] == W + 2 * P - 1
        assert all(t[1] - t[0] == D for t in r.taps if len(t) > 1)
        assert all(b[0] - a[0] == S for a, b in zip(r.taps, r.taps[1:]))


def test_windows_match_the_conv_layer_on_one_hot_inputs():
    """The windows that fit an invalid setting are the windows of the valid layer on the input
    cropped to what they read; every pixel they read reaches the output, the rest cannot."""
    W, F, S, P = 10, 3, 3, 0  # (10 - 3)/3 + 1 is not whole: windows start at 0, 3, 6
    r = compute_output_size(W, F, S, P)
    assert r.starts == [0, 3, 6] and r.unseen == [9] and r.overhang == [9, 10, 11]
    w = np.ones((1, 1, 1, F))
    for pixel in range(W - 1):
        x = np.zeros((1, 1, 1, W - 1))
        x[..., pixel] = 1.0
        out, _ = conv_forward_naive(x, w, np.zeros(1), {"stride": (1, S), "pad": (0, P)})
        assert out.shape[-1] == len(r.starts)
        readers = [n for n, taps in enumerate(r.taps) if pixel in taps]
        assert np.flatnonzero(out[0, 0, 0]).tolist() == readers


def test_dilation_spreads_the_taps():
    r = compute_output_size(7, 3, 1, 0, dilation=2)
    assert r.span == 5 and r.out == 3
    assert r.taps[0] == [0, 2, 4]
    assert "(7 - 5 + 2*0)/1 + 1 = 3" == r.formula


def test_volume_shapes_use_the_depths():
    r = compute_output_size(32, 5, 1, 2, C=3, K=12)
    assert r.weights_per_neuron == 75 and r.output_shape == (32, 32, 12)


def test_bad_arguments_are_errors_naming_them():
    with pytest.raises(TypeError, match="W"):
        compute_output_size(5.5, 3)
    with pytest.raises(ValueError, match="S"):
        compute_output_size(5, 3, 0)


# -------------------------------------------------------------------------------------------
# The explorer widget, driven as a learner would
# -------------------------------------------------------------------------------------------
def test_explorer_defaults_show_the_formula_and_output_volume():
    w = output_size_widget()
    html = w.shown()["text/html"]
    assert "(5 - 3 + 2*1)/2 + 1 = 3" in html
    assert "3x3x2" in html and "<svg" in html
    assert w.result.out == 3 and w.error is None
    assert len(w.output.outputs) == 1


def test_explorer_flags_invalid_settings_with_the_arithmetic_and_recovers():
    w = output_size_widget()
    w.controls["S"].value = 3  # as if the slider were released at 3
    html = w.shown()["text/html"]
    assert "7/3" in html and "does not work" in html and "settings that fit" in html
    assert "Traceback" not in html
    assert "dashed, red" in html  # the overhanging window is drawn and explained
    assert not w.result.valid
    w.controls["S"].value = 1
    assert "(5 - 3 + 2*1)/1 + 1 = 5" in w.shown()["text/html"]
    assert len(w.output.outputs) == 1  # replaced, never appended


def test_explorer_reports_the_notes_4_5_case():
    w = output_size_widget().set(W=10, F=3, S=2, P=0)
    assert "4.5" in w.shown()["text/plain"] and "invalid" in w.summary
    assert "never read" in w.shown()["text/html"]


def test_explorer_sliders_report_on_release():
    w = output_size_widget()
    assert all(c.continuous_update is False for c in w.controls.values())
    assert w.output.layout.height.endswith("px")  # a fixed-size output area: the page never jumps


# -------------------------------------------------------------------------------------------
# Parameter counter
# -------------------------------------------------------------------------------------------
def test_alexnet_counts_from_the_notes():
    p = compute_param_counts()
    assert p.output_shape == (55, 55, 96)
    assert p.neurons == 290_400 and p.per_neuron == 363
    assert p.locally_connected["total"] == 105_705_600
    assert p.conv["weights"] == 34_848 and p.conv["total"] == 34_944
    assert p.fully_connected["weights"] == 227 * 227 * 3 * 290_400


def test_counts_are_the_sizes_of_the_layers_real_weights():
    """Small setting: build the actual weight arrays the layers accept and count them."""
    H, C, K, F, S, P = 7, 2, 3, 3, 2, 1
    p = compute_param_counts(H, C, K, F, S, P)
    H_out, W_out, _ = p.output_shape
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, C, H, H))
    w_lc = rng.standard_normal((H_out, W_out, K, C, F, F))
    b_lc = rng.standard_normal((H_out, W_out, K))
    out, _ = locally_connected_forward(x, w_lc, b_lc, {"stride": S, "pad": P})
    assert out.shape == (1, K, H_out, W_out)
    assert w_lc.size + b_lc.size == p.locally_connected["total"]
    w = rng.standard_normal((K, C, F, F))
    conv_forward_naive(x, w, np.zeros(K), {"stride": S, "pad": P})
    assert w.size + K == p.conv["total"]
    assert x.size * out.size + out.size == p.fully_connected["total"]


def test_counter_widget_shows_counts_and_invalid_geometry():
    w = param_counter_widget()
    html = w.shown()["text/html"]
    assert "105,705,600" in html and "34,944" in html and "3,025" in html
    w.controls["W"].value = 224  # the paper's 224 does not fit
    html = w.shown()["text/html"]
    assert "54.25" in html and "does not work" in html and "W=227" in html
