"""More reference checks of the preprocessing that notebook 00 teaches: each function against
an independent computation (hand-written slices, the bilinear formula, NumPy statistics)."""
import numpy as np
import pytest

from cs231n_lib import data as D


@pytest.mark.parametrize("H, W, rows, cols", [
    (7, 4, slice(1, 5), slice(0, 4)),   # tall: 3 rows too many, 1 above and 2 below
    (8, 5, slice(1, 6), slice(0, 5)),
    (4, 9, slice(0, 4), slice(2, 6)),   # wide: 5 columns too many, 2 left and 3 right
    (5, 5, slice(0, 5), slice(0, 5)),   # already square: unchanged
])
def test_center_crop_square_against_slices(H, W, rows, cols):
    x = np.random.default_rng(0).random((2, 3, H, W))
    out = D.center_crop_square(x)
    np.testing.assert_array_equal(out, x[:, :, rows, cols])
    assert np.shares_memory(out, x)  # a view: nothing copied


def test_resize_250_to_100_samples_the_bilinear_positions():
    # a linear ramp is reproduced exactly by bilinear interpolation, so every output pixel must
    # equal the ramp at the input position it samples: (o + 0.5) * 250/100 - 0.5
    i, j = np.meshgrid(np.arange(250.0), np.arange(250.0), indexing="ij")
    ramp = (1000 * i + j)[None]
    out = D.resize(ramp, 100)
    pos = (np.arange(100) + 0.5) * 2.5 - 0.5
    np.testing.assert_allclose(out[0], 1000 * pos[:, None] + pos[None, :], rtol=1e-12)
    assert out.shape == (1, 100, 100)


def test_resize_one_pixel_by_hand():
    x = np.random.default_rng(1).random((1, 1, 10, 10))
    out = D.resize(x, 4)  # output pixel 1 sits at input coordinate 1.5 * 2.5 - 0.5 = 3.25
    a, b, c, d = x[0, 0, 3, 3], x[0, 0, 3, 4], x[0, 0, 4, 3], x[0, 0, 4, 4]
    top, bottom = 0.75 * a + 0.25 * b, 0.75 * c + 0.25 * d
    assert out[0, 0, 1, 1] == pytest.approx(0.75 * top + 0.25 * bottom, rel=1e-12)


def test_mean_and_std_image_of_the_digits_are_numpys():
    X = D.load_digits()["X_train"]
    np.testing.assert_allclose(D.mean_image(X), X.astype(np.float64).mean(axis=0), rtol=1e-5,
                               atol=1e-7)
    np.testing.assert_allclose(D.std_image(X), X.astype(np.float64).std(axis=0), rtol=1e-4,
                               atol=1e-6)
    assert D.mean_image(X).shape == (1, 8, 8)


def test_per_channel_normalization_with_training_statistics():
    rng = np.random.default_rng(2)
    train = rng.normal([0.2, 0.5, 0.8], [0.1, 0.2, 0.3], (40, 8, 8, 3)).transpose(0, 3, 1, 2)
    test = train[:10] + 0.05
    mean = train.mean(axis=(0, 2, 3)).reshape(3, 1, 1)
    std = train.std(axis=(0, 2, 3)).reshape(3, 1, 1)
    train_n, test_n = D.normalize(train, mean, std), D.normalize(test, mean, std)
    np.testing.assert_allclose(train_n.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(train_n.std(axis=(0, 2, 3)), 1, rtol=1e-6)
    # the test images move by exactly the training statistics: +0.05 stays a shift of 0.05/std
    np.testing.assert_allclose(test_n - train_n[:10], 0.05 / (std + 1e-8) * np.ones_like(test))


def test_grayscale_is_the_weighted_channel_sum():
    x = np.random.default_rng(3).random((4, 3, 5, 6))
    expected = np.einsum("c,nchw->nhw", np.array(D.LUMA_WEIGHTS), x)[:, None]
    np.testing.assert_allclose(D.grayscale(x), expected, rtol=1e-12)
    assert sum(D.LUMA_WEIGHTS) == pytest.approx(1.0)  # white stays white


def test_random_flip_with_certainty_is_the_mirror_slice():
    x = np.random.default_rng(4).random((3, 2, 4, 5))
    np.testing.assert_array_equal(D.random_flip(x, seed=0, p=1.0), x[:, :, :, ::-1])
    np.testing.assert_array_equal(D.random_flip(x[0], seed=0, p=1.0), x[0, :, :, ::-1])
