"""The output-size explorer and the parameter counter agree with the geometry module and the
layers, reproduce the notes' numbers, and show invalid settings as messages."""
import itertools
import re

import numpy as np
import pytest

from cs231n_lib.geometry import ConvGeometryError, conv_output_size
from cs231n_lib.layers import conv_forward_naive, locally_connected_forward
from cs231n_lib.viz.output_size import (compute_output_size, output_size_widget, render_output_size,
                                       repairs)
from cs231n_lib.viz.param_counter import (UNITS, bytes_text, compute_param_counts,
                                          param_counter_widget)


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
    # a minimum height, so a short message does not make the page jump; no fixed height, so a
    # large drawing is not cut off
    assert w.output.layout.min_height.endswith("px") and w.output.layout.height is None


# -------------------------------------------------------------------------------------------
# Notebook 02's "224 vs 227": the slider reaches 227, and an invalid setting says what repairs it
# -------------------------------------------------------------------------------------------
def test_the_papers_224_can_be_moved_to_227_and_beyond():
    w = output_size_widget(W=224, F=11, S=4, P=0, C=3, K=96)  # as notebook 02 calls it
    assert w.controls["W"].max >= 256
    assert "W=227 (output 55)" in w.shown()["text/html"]  # what the explorer suggests ...
    w.controls["W"].value = 227                             # ... can be set
    assert w.controls["W"].value == 227 and w.result.out == 55
    assert "55x55x96" in w.shown()["text/html"]
    w.controls["W"].value = 256
    assert w.controls["W"].value == 256


def _apply(W, F, S, P, D, change):
    name, value = change
    return {"W": (value, F, S, P, D), "F": (W, value, S, P, D), "S": (W, F, value, P, D),
            "P": (W, F, S, value, D)}[name]


def test_every_repair_is_a_setting_the_layer_accepts():
    for W, F, S, P, D in itertools.product(range(1, 14), range(1, 6), range(1, 5), range(0, 3), (1, 2)):
        if compute_output_size(W, F, S, P, D).valid:
            continue
        setting = f"W={W}, F={F}, S={S}, P={P}, dilation={D}"
        fixes = repairs(W, F, S, P, D)
        assert fixes and fixes[0].startswith("input W="), setting  # a larger input always fits
        span = D * (F - 1) + 1
        for line in fixes:
            for name, value, out in re.findall(r"\b([WFSP])=(\d+) \(output (\d+)\)", line):
                changed = _apply(W, F, S, P, D, (name, int(value)))
                assert conv_output_size(*changed) == int(out), f"{setting}: {line}"
        symmetric = [p for p in range(0, 60) if W + 2 * p >= span and (W - span + 2 * p) % S == 0]
        no_padding = [line for line in fixes if line.startswith("no symmetric padding can")]
        assert bool(no_padding) == (not symmetric), setting  # said exactly when no P fits
        asymmetric = [line for line in fixes if "on one side only" in line]
        assert asymmetric or symmetric, f"{setting}: with no symmetric padding, offer one side"
        for line in asymmetric:
            extra = int(re.search(r"\+ (\d+)\)/", line).group(1))
            assert W + 2 * P + extra >= span and (W - span + 2 * P + extra) % S == 0, line
            assert (W - span + 2 * P + extra) // S + 1 == int(line.rsplit("= ", 1)[1]), line


def test_224_is_repaired_by_227_or_asymmetric_padding_not_by_any_symmetric_padding():
    r = compute_output_size(224, 11, 4, 0)
    assert r.repairs[0] == "input W=223 (output 54) or W=227 (output 55)"
    assert any(line.startswith("no symmetric padding can: 224 - 11 + 2P is odd for every P")
               for line in r.repairs)
    assert any("3 more zeros on one side only" in line and line.endswith("= 55") for line in r.repairs)
    html = render_output_size(r)
    assert "What would make it fit" in html and "224 - 11 + 2P is odd" in html
    assert compute_output_size(227, 11, 4, 0).repairs == []


def _svg_boxes(html):
    svg = re.search(r"<svg[^>]*>", html).group(0)
    view_w = float(re.search(r'viewBox="0 0 ([\d.]+) ', svg).group(1))
    rights = [float(x) + float(w) for x, w in
              re.findall(r'<rect class="cell[^"]*" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', html)]
    return svg, view_w, rights


@pytest.mark.parametrize("W", [5, 110, 227, 256])
def test_the_drawing_scales_to_the_output_width(W):
    html = render_output_size(compute_output_size(W, 11 if W > 11 else 3, 1, 0))
    svg, view_w, rights = _svg_boxes(html)
    assert 'width="100%"' in svg and f"max-width:{view_w:g}px" in svg  # shrinks, never grows
    assert len(rights) == W and max(rights) <= view_w  # every cell inside the drawing


# -------------------------------------------------------------------------------------------
# One numbering for the cells, "1 neuron", and no negative count above the error
# -------------------------------------------------------------------------------------------
def _cells(html):
    kinds = re.findall(r'<rect class="cell ([a-z-]+)"', html)
    labels = re.findall(r'<text class="cell-label"[^>]*>([^<]*)</text>', html)
    return kinds, labels


@pytest.mark.parametrize("W, F, S, P", [(5, 3, 2, 1), (5, 3, 3, 1), (7, 3, 1, 2), (10, 3, 3, 0)])
def test_input_cells_are_numbered_0_to_W_minus_1_and_padding_is_marked_apart(W, F, S, P):
    r = compute_output_size(W, F, S, P)
    kinds, labels = _cells(render_output_size(r))
    assert labels == [str(i) for i in range(W)]  # the input cells, and nothing else, numbered
    assert kinds.count("input") == W and kinds.count("pad") == 2 * P
    past = len(r.overhang) and max(r.overhang) + 1 - (W + 2 * P)
    assert kinds.count("past-end") == max(past, 0)


def test_the_window_that_does_not_fit_is_told_in_the_same_numbering():
    html = render_output_size(compute_output_size(10, 3, 3, 0))
    assert "3 windows fit; the next one would read cells 9..11, but the input ends at cell 9" in html
    html = render_output_size(compute_output_size(5, 3, 3, 1))  # padded cells 6..8 = cells 5..7
    assert ("2 windows fit; the next one would read cells 5..7, but the input ends at cell 4, "
            "followed by 1 zero of padding") in html


def test_one_neuron_is_singular():
    html = render_output_size(compute_output_size(3, 3, 1, 0, C=1, K=1))
    assert "1 neuron across" in html and "1 neurons" not in html
    assert "1 filter of" in html and "1 filters" not in html
    assert "3 neurons across" in render_output_size(compute_output_size(5, 3, 1, 0))


def test_a_filter_larger_than_the_input_shows_only_the_error():
    r = compute_output_size(3, 5, 1, 0)
    assert r.too_large and r.formula.endswith("= -1")
    html = render_output_size(r)
    assert "larger than the padded input: 5 &gt; 3 + 2*0 = 3" in html
    assert "= -1" not in html and "(W - F + 2P)/S + 1 =" not in html
    assert "input W=5 (output 1)" in html  # and what would repair it
    w = output_size_widget().set(W=3, F=5, S=1, P=0)
    assert "-1" not in w.summary and "larger than the padded input" in w.summary


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


def test_memory_can_be_shown_in_any_unit_with_thousands_separators():
    w = param_counter_widget()
    assert list(w.controls["unit"].options) == ["auto", "KiB", "MiB", "GiB", "TiB"]
    p = w.result
    totals = [p.fully_connected["total"], p.locally_connected["total"], p.conv["total"]]
    for unit in ["KiB", "MiB", "GiB", "TiB"]:
        w.controls["unit"].value = unit
        shown = re.findall(r"([\d,.]+) " + unit + " in float32", w.shown()["text/html"])
        assert len(shown) == 3, f"one memory figure per layer in {unit}"
        for text, total in zip(shown, totals):
            assert re.fullmatch(r"\d{1,3}(,\d{3})*(\.\d+)?", text), f"{text}: thousands separated"
            value = float(text.replace(",", ""))
            assert value == pytest.approx(4 * total / UNITS[unit], rel=0.05, abs=0.06), (unit, text)
    w.controls["unit"].value = "KiB"
    assert "412,912 KiB in float32" in w.shown()["text/html"]  # 105,705,600 * 4 bytes


@pytest.mark.parametrize("n", [0, 1, 1023, 1024, 139_776, 422_822_400, 2 ** 40 * 3, 10 ** 15])
def test_auto_unit_is_the_largest_that_gives_at_least_one(n):
    text = bytes_text(n)
    number, unit = text.rsplit(" ", 1)
    size = UNITS.get(unit, 1)
    assert number.replace(",", "").replace(".", "").isdigit()
    assert 1 <= n / size or n == 0
    larger = [s for s in UNITS.values() if s > size]
    assert all(n < s for s in larger), f"{text}: a larger unit would still give at least 1"
    assert float(number.replace(",", "")) == pytest.approx(n / size, rel=0.05)
    with pytest.raises(ValueError, match="unit must be"):
        bytes_text(n, "MB")
