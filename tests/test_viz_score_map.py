"""The score-map explorer: each crop's scores, from the network run on that crop alone, are the
map's cell (the map from one pass of the converted network); the canvas holds real digits where
it says; the widget moves the crop and reports canvases that do not fit."""
import numpy as np
import pytest

from cs231n_lib import backend
from cs231n_lib.data import load_digits
from cs231n_lib.models import Sequential, ShapeError, convert_network, sliding_scores
from cs231n_lib.viz.score_map import (DIGITS_NET, compute_score_map, default_canvas,
                                      default_model, digit_canvas, render_score_map,
                                      score_map_widget)

import device_double


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.fixture(scope="module")
def model():
    return default_model()


def test_default_model_is_trained_once_and_learned_the_digits(model, digits):
    assert default_model() is model  # cached
    assert model.input_shape == (1, 8, 8) and model.fixed_size
    accuracy = (model.predict(digits["X_test"]) == digits["y_test"]).mean()
    assert accuracy > 0.9


def test_canvas_holds_the_test_digits_where_it_says(digits):
    X, y = digits["X_test"], digits["y_test"]
    canvas, placements = digit_canvas(X, y, 32, 40, n_digits=6, stride=2, seed=3)
    assert canvas.shape == (1, 32, 40) and canvas.dtype == X.dtype and len(placements) == 6
    ink = np.zeros((32, 40), dtype=int)
    for top, left, label in placements:
        assert top % 2 == 0 and left % 2 == 0
        ink[top:top + 8, left:left + 8] += 1
        patch = canvas[:, top:top + 8, left:left + 8]
        # the patch is one of the test digits, with that digit's label
        same = np.flatnonzero((X == patch).all(axis=(1, 2, 3)))
        assert len(same) >= 1 and label in y[same]
    assert ink.max() == 1                      # no two digits overlap
    assert (canvas[0][ink == 0] == 0).all()    # and nothing else is drawn
    again, placements_again = digit_canvas(X, y, 32, 40, n_digits=6, stride=2, seed=3)
    np.testing.assert_array_equal(again, canvas)
    assert placements_again == placements
    other, _ = digit_canvas(X, y, 32, 40, n_digits=6, stride=2, seed=4)
    assert not np.array_equal(other, canvas)


def test_canvas_refuses_what_does_not_fit(digits):
    X, y = digits["X_test"], digits["y_test"]
    with pytest.raises(ValueError, match="only .* of n_digits=5 digits of 8x8 fit on a 8x16"):
        digit_canvas(X, y, 8, 16, n_digits=5)
    with pytest.raises(ValueError, match="height"):
        digit_canvas(X, y, 6, 16)
    with pytest.raises(ValueError, match="labels has 3 entries"):
        digit_canvas(X, y[:3])


@pytest.mark.parametrize("row, col", [(0, 0), (5, 3), (12, 12), (7, 1)])
def test_crop_scores_equal_the_map_cell(model, row, col):
    canvas, _ = default_canvas()
    v = compute_score_map(model, canvas, row, col)
    assert v.scores.shape == (10, 13, 13)       # (32 - 8)/2 + 1 crops per axis
    assert v.stride == (2, 2) and (v.top, v.left) == (2 * row, 2 * col)
    np.testing.assert_array_equal(v.crop, canvas[:, 2 * row:2 * row + 8, 2 * col:2 * col + 8])
    # the original network (FC layers and all) on the crop alone
    np.testing.assert_allclose(v.crop_scores, model.loss(v.crop[None])[0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(v.crop_scores, v.cell_scores, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(v.cell_scores, v.scores[:, row, col])


def test_the_map_is_every_crop_and_a_placed_digit_is_one_crop(model, digits):
    canvas, placements = default_canvas()
    v = compute_score_map(model, canvas)
    np.testing.assert_allclose(v.scores, sliding_scores(model, canvas[None])[0], rtol=1e-5,
                               atol=1e-5)
    top, left, label = placements[0]
    at_digit = compute_score_map(model, canvas, top // 2, left // 2, v.scores)
    same = np.flatnonzero((digits["X_test"] == at_digit.crop).all(axis=(1, 2, 3)))
    assert label in digits["y_test"][same]
    np.testing.assert_allclose(at_digit.cell_scores, model.loss(digits["X_test"][same[:1]])[0],
                               rtol=1e-5, atol=1e-5)


def test_float64_network_agrees_to_rounding_and_converted_models_work_too():
    model = Sequential(DIGITS_NET, seed=5, dtype=np.float64, filters=[4, 6], hidden=8,
                       num_classes=3)
    canvas = np.random.default_rng(0).random((1, 14, 18))
    v = compute_score_map(model, canvas, 2, 4)
    assert v.scores.shape == (3, 4, 6)
    np.testing.assert_allclose(v.crop_scores, v.cell_scores, rtol=1e-12, atol=1e-12)
    w = compute_score_map(convert_network(model), canvas[None], 2, 4)
    np.testing.assert_allclose(w.scores, v.scores, rtol=1e-12)
    np.testing.assert_allclose(w.crop_scores, v.crop_scores, rtol=1e-12)


def test_errors_show_the_arithmetic(model):
    canvas, _ = default_canvas()
    with pytest.raises(ValueError, match=r"row must be < \(32 - 8\)/2 \+ 1 = 13.*got 13"):
        compute_score_map(model, canvas, 13, 0)
    with pytest.raises(ValueError, match=r"col must be < \(32 - 8\)/2 \+ 1 = 13"):
        compute_score_map(model, canvas, 0, 20)
    with pytest.raises(ShapeError, match=r"15x16 does not fit.*8 \+ k\*2"):
        compute_score_map(model, canvas[:, :15, :16])
    with pytest.raises(ValueError, match=r"canvas must be 3-D \(C, H, W\)"):
        compute_score_map(model, canvas[0])
    with pytest.raises(TypeError, match="Sequential"):
        compute_score_map(object(), canvas)


def test_render_says_what_it_shows(model):
    canvas, _ = default_canvas()
    v = compute_score_map(model, canvas, 5, 3)
    html = render_score_map(v, class_index=7)
    assert "crop at map cell (row 5, col 3) = canvas pixels [10:18, 6:14]" in html
    assert "score map of class 7: 13x13, cell (5, 3)" in html
    assert f"class 7: crop alone {v.crop_scores[7]:.4g}, map cell {v.cell_scores[7]:.4g}" in html
    assert html.count("<img") == 3 + 10   # canvas, big map, crop, and every class's map
    top = int(np.argmax(v.crop_scores))
    assert f"top class of the crop: {top}" in render_score_map(v)
    assert f"score map of class {top}:" in render_score_map(v)   # default: the top class
    named = render_score_map(v, 2, class_names=[f"digit {k}" for k in range(10)])
    assert "score map of class digit 2" in named
    with pytest.raises(ValueError, match="class_index must be < 10"):
        render_score_map(v, 10)


def test_widget_moves_the_crop_and_the_class(model):
    canvas, placements = default_canvas()
    live = score_map_widget(model, canvas, placements=placements)
    top, left, label = placements[0]
    assert live.values() == {"row": top // 2, "col": left // 2, "class_index": label}
    assert live.controls["row"].max == 12 and live.controls["col"].max == 12
    assert live.controls["row"].continuous_update is False
    live.set(row=4, col=9)
    v = live.result
    assert (v.row, v.col, v.top, v.left) == (4, 9, 8, 18)
    np.testing.assert_allclose(v.crop_scores, v.scores[:, 4, 9], rtol=1e-5, atol=1e-5)
    html = live.shown()["text/html"]
    assert "crop at map cell (row 4, col 9) = canvas pixels [8:16, 18:26]" in html
    assert f"score map of class {label}:" in html
    live.controls["class_index"].value = 3
    assert "score map of class 3:" in live.shown()["text/html"]
    assert live.summary.startswith("cell (4, 9) = crop at pixel (8, 18): class 3 scores "
                                   f"{v.crop_scores[3]:.4g} alone")


def test_widget_uses_the_model_it_is_given():
    model = Sequential(DIGITS_NET, seed=1, filters=[4, 6], hidden=8, num_classes=3)
    canvas = np.random.default_rng(1).random((1, 12, 12)).astype(np.float32)
    live = score_map_widget(model, canvas, class_names=["a", "b", "c"])
    assert live.values()["row"] == 0 and live.controls["row"].max == 2
    assert [label for label, _ in live.controls["class_index"].options] == [
        "class a", "class b", "class c"]
    np.testing.assert_allclose(live.result.scores, sliding_scores(model, canvas[None])[0],
                               rtol=1e-5, atol=1e-6)


def test_widget_reports_a_canvas_that_does_not_fit(model):
    canvas, _ = default_canvas()
    live = score_map_widget(model, canvas[:, :15, :16])
    html = live.shown()["text/html"]
    assert "does not work" in html and "15x16 does not fit" in html and "Traceback" not in html
    assert live.result is None and "8 + k*2" in live.error


def test_on_device_arrays(model):
    canvas, _ = default_canvas()
    host = compute_score_map(model, canvas, 5, 3)
    with device_double.installed(default_device=True):
        on_device = Sequential(DIGITS_NET, params=model.params, filters=[16, 32], hidden=64,
                               num_classes=10)
        v = compute_score_map(on_device, backend.to_device(canvas), 5, 3)
        assert backend.is_device_array(v.scores) and backend.is_device_array(v.crop_scores)
        np.testing.assert_allclose(backend.to_host(v.scores), host.scores, rtol=1e-6, atol=1e-6)
        html = render_score_map(v)
    assert html == render_score_map(host)
