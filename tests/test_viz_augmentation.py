"""The augmentation explorer: each transform against an independent computation (slicing,
the mirror symmetry of rotations, scikit-image), the normalization against NumPy statistics,
the random copies against the library's augment, device arrays, the HTML and the widget."""
import numpy as np
import pytest

from cs231n_lib import backend
from cs231n_lib import data as D
from cs231n_lib.viz.augmentation import (augmentation_widget, compute_augmentation, load_source,
                                         render_augmentation)

import device_double


@pytest.fixture(scope="module")
def cat():
    return D.load_photo("chelsea", size=48, dtype="float64")


def test_flip_and_crop_are_slices(cat):
    a = compute_augmentation(cat, flip=True, crop=30, top=5, left=11, num_samples=0)
    np.testing.assert_array_equal(a.transformed, cat[:, 5:35, ::-1][:, :, 11:41])
    plain = compute_augmentation(cat, num_samples=0)
    np.testing.assert_array_equal(plain.transformed, cat)
    assert a.transformed.flags.c_contiguous  # what a network is handed is a fresh array


def test_rotation_matches_scikit_image_and_mirrors_to_the_opposite_angle(cat):
    from skimage.transform import rotate
    a = compute_augmentation(cat, rotation=20, num_samples=0)
    reference = np.stack([rotate(cat[c], 20, order=1, mode="constant", cval=0) for c in range(3)])
    np.testing.assert_allclose(a.transformed, reference, atol=1e-12)
    # turning then mirroring is mirroring then turning the other way
    flipped = compute_augmentation(cat, flip=True, rotation=20, num_samples=0)
    other = compute_augmentation(np.ascontiguousarray(cat[:, :, ::-1]), rotation=-20, num_samples=0)
    np.testing.assert_allclose(flipped.transformed, other.transformed, atol=1e-12)


def test_zoom_and_shift_are_the_library_affine(cat):
    a = compute_augmentation(cat, scale=1.25, shift=(3, -4), crop=40, top=2, left=1, num_samples=0)
    np.testing.assert_allclose(a.transformed,
                               D.affine(cat, 0.0, 1.25, (3, -4))[:, 2:42, 1:41], atol=1e-12)
    shifted = compute_augmentation(cat, shift=(0, 5), num_samples=0).transformed
    np.testing.assert_allclose(shifted[:, :, 5:], cat[:, :, :-5], atol=1e-12)
    assert (shifted[:, :, :5] == 0).all()  # what comes in from outside is black


def test_normalization_uses_the_given_statistics(cat):
    rng = np.random.default_rng(0)
    mean, std = rng.random((3, 1, 1)), rng.random((3, 1, 1)) + 0.1
    a = compute_augmentation(cat, flip=True, crop=20, mean=mean, std=std, num_samples=0)
    np.testing.assert_allclose(a.normalized, (cat[:, :20, ::-1][:, :, :20] - mean) / (std + 1e-8))
    own = compute_augmentation(cat, num_samples=0)  # default: the image's own statistics
    np.testing.assert_allclose(own.mean.ravel(), cat.reshape(3, -1).mean(axis=1))
    np.testing.assert_allclose(own.normalized.mean(axis=(1, 2)), 0, atol=1e-12)
    np.testing.assert_allclose(own.normalized.std(axis=(1, 2)), 1, rtol=1e-6)


def test_random_copies_are_the_library_augment_up_to_the_set_strength(cat):
    a = compute_augmentation(cat, flip=True, crop=32, rotation=15, scale=1.2, shift=(4, 2),
                             num_samples=5, seed=3)
    batch = np.repeat(cat[None], 5, axis=0)
    reference = D.augment(batch, seed=3, flip=True, crop=32,
                          affine={"max_rotation": 15.0, "max_scale": abs(1.2 - 1),
                                  "max_shift": 4 / 48})
    np.testing.assert_allclose(a.samples, reference, atol=1e-12)
    again = compute_augmentation(cat, flip=True, crop=32, rotation=15, scale=1.2, shift=(4, 2),
                                 num_samples=5, seed=3)
    np.testing.assert_array_equal(a.samples, again.samples)
    # with the flip alone, each copy is the image or its mirror
    flips = compute_augmentation(cat, flip=True, num_samples=12, seed=0).samples
    kinds = [np.array_equal(s, cat) or np.array_equal(s, cat[:, :, ::-1]) for s in flips]
    assert all(kinds)
    assert 0 < sum(np.array_equal(s, cat) for s in flips) < 12


def test_a_crop_that_does_not_fit_shows_the_arithmetic(cat):
    with pytest.raises(ValueError, match=r"top 20 \+ crop 30 = 50 > 48, the image's height"):
        compute_augmentation(cat, crop=30, top=20)
    with pytest.raises(ValueError, match=r"left 19 \+ crop 30 = 49 > 48, the image's width"):
        compute_augmentation(cat, crop=30, left=19)
    with pytest.raises(ValueError, match="larger than the image 48x48"):
        compute_augmentation(cat, crop=60)
    with pytest.raises(ValueError, match=r"image must be 3-D \(C, H, W\)"):
        compute_augmentation(cat[None])


def test_a_flipped_digit_is_flagged():
    image, label, keeps, mean, std, stats = load_source("digit 7")
    assert image.shape == (1, 32, 32) and not keeps and stats == "the 1,257 training digits"
    digits = D.load_digits(upsample=4)
    np.testing.assert_allclose(mean.ravel(), digits["X_train"].mean(), rtol=1e-5)
    a = compute_augmentation(image, flip=True, label=label, mirror_keeps_label=keeps, num_samples=0)
    assert a.notes and "mirrored handwritten 7 is not a handwritten 7" in a.notes[0]
    assert not compute_augmentation(image, rotation=10, label=label, mirror_keeps_label=keeps).notes


def test_device_arrays_stay_on_the_device(cat):
    host = compute_augmentation(cat, flip=True, crop=30, top=3, rotation=10, num_samples=3, seed=1)
    previous = backend.install_device_module(device_double)
    try:
        dev = compute_augmentation(backend.to_device(cat, "gpu"), flip=True, crop=30, top=3,
                                   rotation=10, num_samples=3, seed=1)
        assert backend.is_device_array(dev.normalized) and backend.is_device_array(dev.samples)
        np.testing.assert_allclose(backend.to_host(dev.samples), host.samples, atol=1e-12)
        assert render_augmentation(dev) == render_augmentation(host)
    finally:
        backend.install_device_module(previous)


def test_render_shows_every_picture_and_the_values_fed(cat):
    a = compute_augmentation(cat, flip=True, crop=30, top=2, left=4, rotation=10, num_samples=4)
    html = render_augmentation(a)
    # original, transformed, 3 channels, the colour bar, 4 copies
    assert html.count("<img") == 2 + 3 + 1 + 4
    assert "rotate 10°" in html and "mirror left-right" in html and "crop 30x30 at (2, 4)" in html
    assert "red channel" in html and "blue channel" in html
    n = a.normalized
    assert f"range [{n.min():.2f}, {n.max():.2f}]" in html and "shape (3, 30, 30)" in html
    assert f"+{np.abs(n).max():.2g}" in html  # the colour bar's end


def test_widget_follows_its_controls():
    live = augmentation_widget(size=64)
    assert live.result.transformed.shape == (3, 64, 64) and live.controls["top"].max == 0
    live.set(crop=40)
    assert live.controls["top"].max == 24 and live.controls["left"].max == 24
    live.set(top=24, left=10, flip=True, rotation=30)
    image = load_source("chelsea", 64)[0]
    expected = D.affine(image, 30.0, 1.0, (0.0, 0.0))[:, :, ::-1][:, 24:64, 10:50]
    np.testing.assert_allclose(live.result.transformed, expected, atol=1e-6)
    assert "crop 40x40 at (24, 10)" in live.shown()["text/html"]
    live.set(crop=60)  # the crop's position is clamped so that it still fits
    assert live.controls["top"].value == 4 and live.result.transformed.shape == (3, 60, 60)
    live.set(source="digit 2")
    assert live.controls["crop"].max == 32 and live.result.transformed.shape == (1, 32, 32)
    assert "not a handwritten 2" in live.shown()["text/html"]
    assert "the 1,257 training digits" in live.shown()["text/html"]
    live.set(scale=1.5, shift_x=-8, seed=4, flip=False)
    assert live.error is None and "not a handwritten" not in live.shown()["text/html"]
