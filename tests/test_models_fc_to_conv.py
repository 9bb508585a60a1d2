"""FC → CONV: the converted layer and network compute what the originals compute, and one pass
over a larger image equals running the original on every crop."""
import numpy as np
import pytest

from cs231n_lib.layers import affine_forward, conv_forward_naive
from cs231n_lib.models import (Sequential, ShapeError, ThreeLayerConvNet, convert_network,
                               fc_to_conv, network_stride, score_map, shifted_score_map,
                               sliding_scores)

# Unpadded convs: a crop's borders see the same pixels alone as inside the larger image, so
# the score map equals per-crop evaluation exactly (see the module docstring on padding).
TINY = ("INPUT(1, 8, 8) -> CONV(K=16, F=3, P=0) -> RELU -> POOL2 -> CONV(K=32, F=2, P=0) -> RELU"
        " -> POOL2 -> FC-64 -> RELU -> FC")


def test_fc_to_conv_computes_the_affine_layer():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3, 4, 6))
    w, b = rng.standard_normal((3 * 4 * 6, 7)), rng.standard_normal(7)
    w_conv, b_conv = fc_to_conv(w, b, (3, 4, 6))
    assert w_conv.shape == (7, 3, 4, 6) and w_conv.flags.c_contiguous
    out, _ = conv_forward_naive(x, w_conv, b_conv, {"stride": 1, "pad": 0})
    assert out.shape == (5, 7, 1, 1)
    np.testing.assert_allclose(out[:, :, 0, 0], affine_forward(x, w, b)[0], rtol=1e-12)
    # filter m is column m of w folded back into the (C, H, W) volume
    np.testing.assert_array_equal(w_conv[2, 1, 3, 5], w[1 * 24 + 3 * 6 + 5, 2])


def test_the_notes_7x7x512_layer_becomes_a_7x7_conv():
    w = np.zeros((7 * 7 * 512, 4), dtype=np.float32)  # 4 of the 4096 outputs suffice here
    w_conv, b_conv = fc_to_conv(w, np.zeros(4, dtype=np.float32), (512, 7, 7))
    assert w_conv.shape == (4, 512, 7, 7) and w_conv.dtype == np.float32


def test_fc_to_conv_bad_input():
    w = np.zeros((12, 3))
    with pytest.raises(ValueError, match=r"w has 12 rows but the volume 2x2x2"):
        fc_to_conv(w, np.zeros(3), (2, 2, 2))
    with pytest.raises(ValueError, match="b has 2 entries but w has 3 columns"):
        fc_to_conv(w, np.zeros(2), (3, 2, 2))
    with pytest.raises(ValueError, match=r"input_shape must be \(C, H, W\)"):
        fc_to_conv(w, np.zeros(3), (12,))


@pytest.fixture(scope="module")
def trained():
    """The tiny net trained for a few epochs on the digits (float32, as a student would)."""
    from cs231n_lib.data import load_digits
    from cs231n_lib.solver import Solver
    digits = load_digits()
    model = Sequential(TINY, num_classes=10, seed=0)
    Solver(model, digits, update_rule="adam", optim_config={"learning_rate": 1e-2},
           batch_size=50, num_epochs=4, verbose=False, progress=False, seed=0).train()
    return model, digits


def test_converted_network_agrees_on_the_trained_size(trained):
    model, digits = trained
    converted = convert_network(model)
    assert [l.kind for l in converted.spec].count("fc") == 0
    assert sorted(converted.params) == sorted(model.params)
    X = digits["X_test"]
    original, as_conv = model.loss(X), converted.loss(X)
    assert as_conv.shape == (len(X), 10, 1, 1)
    np.testing.assert_allclose(as_conv[:, :, 0, 0], original, rtol=1e-4, atol=1e-5)
    assert (model.predict(X) == digits["y_test"]).mean() > 0.9  # it did learn the digits


def canvas_of_digits(digits, n=3):
    """n canvases of 16x16, each holding four test digits in its quadrants."""
    X = digits["X_test"]
    canvases = np.zeros((n, 1, 16, 16), dtype=np.float32)
    for k in range(n):
        for q, (i, j) in enumerate([(0, 0), (0, 8), (8, 0), (8, 8)]):
            canvases[k, 0, i:i + 8, j:j + 8] = X[4 * k + q, 0]
    return canvases


def test_score_map_on_a_16x16_canvas_equals_every_crop(trained):
    model, digits = trained
    canvases = canvas_of_digits(digits)
    assert network_stride(model.spec) == (4, 4)
    scores = score_map(model, canvases)
    assert scores.shape == (3, 10, 3, 3)  # (16 - 8)/4 + 1 crops per axis
    reference = sliding_scores(model, canvases)
    np.testing.assert_allclose(scores, reference, rtol=1e-4, atol=1e-5)
    # the corner crops are exactly the digits placed there
    np.testing.assert_allclose(scores[:, :, 0, 0], model.loss(digits["X_test"][0:12:4]),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(scores[:, :, 2, 2], model.loss(digits["X_test"][3:12:4]),
                               rtol=1e-4, atol=1e-5)


def test_shifted_passes_give_the_finer_stride(trained):
    model, digits = trained
    canvases = canvas_of_digits(digits, n=2)
    fine = shifted_score_map(model, canvases, shift=2)
    assert fine.shape == (2, 10, 5, 5)
    np.testing.assert_allclose(fine, sliding_scores(model, canvases, stride=2), rtol=1e-4,
                               atol=1e-5)
    # the notes' two passes, unshifted and shifted along both axes, fill half of the grid
    half = shifted_score_map(model, canvases, shift=2, offsets=[(0, 0), (2, 2)])
    computed = ~np.isnan(half[0, 0])
    rows, cols = np.indices((5, 5))
    np.testing.assert_array_equal(computed, (rows + cols) % 2 == 0)
    np.testing.assert_array_equal(half[..., computed], fine[..., computed])


def test_float64_is_exact_to_rounding():
    model = Sequential(TINY, num_classes=10, seed=1, dtype=np.float64)
    X = np.random.default_rng(0).standard_normal((2, 1, 20, 24))
    np.testing.assert_allclose(score_map(model, X), sliding_scores(model, X), rtol=1e-12,
                               atol=1e-12)


def test_padding_makes_the_map_differ_at_the_crop_borders():
    # ThreeLayerConvNet pads its conv: near a crop's border the crop sees zeros where the
    # larger image has pixels, so the map only approximates the per-crop scores there.
    model = ThreeLayerConvNet((1, 8, 8), 4, 3, 10, weight_scale=0.1, dtype=np.float64, seed=0)
    X = np.random.default_rng(0).standard_normal((1, 1, 12, 12))
    assert not np.allclose(score_map(model, X), sliding_scores(model, X))


def test_batchnorm_after_fc_is_converted_with_its_statistics():
    model = Sequential("INPUT(1, 4, 4) -> CONV(K=3, F=3, P=0) -> FC-5 -> BN -> RELU -> FC",
                       num_classes=3, seed=0, dtype=np.float64)
    X = np.random.default_rng(0).standard_normal((20, 1, 4, 4))
    for _ in range(5):
        model.loss(X, np.zeros(20, dtype=int))
    np.testing.assert_allclose(convert_network(model).loss(X)[:, :, 0, 0], model.loss(X),
                               rtol=1e-10)


def test_sizes_that_do_not_fit_say_which_do():
    model = Sequential(TINY, num_classes=10, seed=0)
    with pytest.raises(ShapeError, match=r"15x16 does not fit.*steps of 4x4.*8 \+ k\*4"):
        score_map(model, np.zeros((1, 1, 15, 16), dtype=np.float32))
    with pytest.raises(ValueError, match="shift must divide the network's stride"):
        shifted_score_map(model, np.zeros((1, 1, 16, 16), dtype=np.float32), shift=3)
    with pytest.raises(ShapeError, match="smaller than the network's input"):
        sliding_scores(model, np.zeros((1, 1, 6, 8), dtype=np.float32))
    with pytest.raises(TypeError, match="Sequential"):
        convert_network(object())
