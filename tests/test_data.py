"""Real data loaders and the preprocessing functions: against scikit-image / scikit-learn and
hand-made expectations; CIFAR-10 from tiny batches written here in the official format."""
import pickle

import numpy as np
import pytest

from cs231n_lib import data as D


# ---- digits ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits():
    return D.load_digits()


def test_digits_split_covers_every_image_once(digits):
    from sklearn.datasets import load_digits
    raw = load_digits()
    X = np.concatenate([digits["X_train"], digits["X_val"], digits["X_test"]])
    y = np.concatenate([digits["y_train"], digits["y_val"], digits["y_test"]])
    assert X.shape == (1797, 1, 8, 8) and X.dtype == np.float32
    assert (len(digits["X_val"]), len(digits["X_test"])) == (180, 360)
    # the same images, rescaled from 0..16 to 0..1, each exactly once
    flat = np.round(X.reshape(1797, 64) * 16).astype(int)
    key = lambda rows, labels: sorted(map(tuple, np.column_stack([rows, labels])))
    assert key(flat, y) == key(raw.data.astype(int), raw.target)
    assert 0 <= X.min() and X.max() == 1


def test_digits_split_is_stratified_and_seeded(digits):
    counts = np.bincount(digits["y_test"], minlength=10)
    assert counts.min() >= 34 and counts.max() <= 38  # 360 / 10 = 36 per class
    again = D.load_digits()
    np.testing.assert_array_equal(again["X_train"], digits["X_train"])
    other = D.load_digits(seed=1)
    assert not np.array_equal(other["y_train"], digits["y_train"])


def test_digits_upsampled_and_float64():
    d = D.load_digits(upsample=2, dtype="float64", num_val=10, num_test=10)
    assert d["X_train"].shape == (1777, 1, 16, 16) and d["X_train"].dtype == np.float64
    with pytest.raises(ValueError, match="no training examples"):
        D.load_digits(num_val=1000, num_test=900)


# ---- photos ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(D.PHOTOS))
def test_every_photo_loads_offline_as_chw_in_unit_range(name):
    image = D.load_photo(name)
    assert image.ndim == 3 and image.shape[0] in (1, 3) and image.dtype == np.float32
    assert 0 <= image.min() and image.max() <= 1


def test_photo_options():
    import skimage.data
    cat = D.load_photo("chelsea")
    np.testing.assert_allclose(cat, np.moveaxis(skimage.data.chelsea(), -1, 0) / 255, atol=1e-7)
    assert D.load_photo("chelsea", size=64).shape == (3, 64, 64)
    assert D.load_photo("astronaut", grayscale=True).shape == (1, 512, 512)
    with pytest.raises(ValueError, match="unknown photo 'dog'.*chelsea"):
        D.load_photo("dog")


# ---- preprocessing --------------------------------------------------------------------------
def test_center_crop_square_keeps_the_middle():
    x = np.arange(2 * 3 * 4 * 7, dtype=np.float32).reshape(2, 3, 4, 7)
    out = D.center_crop_square(x)
    np.testing.assert_array_equal(out, x[:, :, :, 1:5])
    assert D.center_crop_square(x[0]).shape == (3, 4, 4)  # one image works too


def test_resize_matches_scikit_image_inside_the_border():
    from skimage.transform import resize as sk_resize
    image = D.load_photo("chelsea", dtype="float64")
    for size in [(150, 225), (600, 902), (77, 131)]:
        ours = D.resize(image, size)
        ref = np.moveaxis(sk_resize(np.moveaxis(image, 0, -1), size, order=1,
                                    anti_aliasing=False), -1, 0)
        # scikit-image reflects at the edge where we repeat the last pixel: compare inside
        np.testing.assert_allclose(ours[:, 2:-2, 2:-2], ref[:, 2:-2, 2:-2], atol=1e-9)


def test_resize_keeps_constants_and_halving_averages_pairs():
    x = np.full((1, 2, 5, 9), 0.25, dtype=np.float32)
    np.testing.assert_allclose(D.resize(x, (13, 4)), 0.25, rtol=1e-6)
    x = np.random.default_rng(0).random((2, 1, 8, 8))
    halved = D.resize(x, 4)
    np.testing.assert_allclose(halved, x.reshape(2, 1, 4, 2, 4, 2).mean(axis=(3, 5)))


def test_mean_std_and_normalize():
    rng = np.random.default_rng(0)
    X = rng.normal(3.0, 2.0, (500, 2, 3, 3))
    np.testing.assert_allclose(D.mean_image(X), X.mean(axis=0))
    np.testing.assert_allclose(D.std_image(X), X.std(axis=0))
    Z = D.normalize(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1, rtol=1e-6)
    # validation data is normalized with the training statistics
    V = X[:10] + 1
    np.testing.assert_allclose(D.normalize(V, D.mean_image(X), D.std_image(X)),
                               (V - X.mean(axis=0)) / (X.std(axis=0) + 1e-8))
    per_channel = D.normalize(X, X.mean(axis=(0, 2, 3))[:, None, None], 1.0)
    np.testing.assert_allclose(per_channel.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    with pytest.raises(ValueError, match=r"mean must be an image \(C, H, W\)"):
        D.normalize(X, np.zeros((3, 3, 3)))


def test_grayscale_weights_and_shapes():
    x = np.zeros((1, 3, 2, 2), dtype=np.float32)
    x[:, 0], x[:, 1], x[:, 2] = 1.0, 0.5, 0.25
    g = D.grayscale(x)
    assert g.shape == (1, 1, 2, 2) and g.dtype == np.float32
    np.testing.assert_allclose(g, 0.299 + 0.587 * 0.5 + 0.114 * 0.25, rtol=1e-6)
    np.testing.assert_array_equal(D.grayscale(g), g)
    with pytest.raises(ValueError, match="1 or 3 channels"):
        D.grayscale(np.zeros((1, 2, 4, 4)))


def test_random_flip_is_seeded_and_flips_whole_images():
    x = np.random.default_rng(0).random((64, 2, 3, 5))
    a, b = D.random_flip(x, seed=7), D.random_flip(x, seed=7)
    np.testing.assert_array_equal(a, b)
    flipped = [np.array_equal(a[i], x[i, :, :, ::-1]) for i in range(64)]
    kept = [np.array_equal(a[i], x[i]) for i in range(64)]
    assert all(f or k for f, k in zip(flipped, kept))
    assert 16 < sum(flipped) < 48
    np.testing.assert_array_equal(D.random_flip(x, seed=0, p=0.0), x)


def test_random_crop_windows_come_from_the_padded_image():
    x = np.random.default_rng(0).random((20, 3, 8, 8)).astype(np.float32)
    out = D.random_crop(x, 8, seed=3, pad=2)
    assert out.shape == (20, 3, 8, 8) and out.dtype == np.float32
    padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
    for n in range(20):
        found = [(i, j) for i in range(5) for j in range(5)
                 if np.array_equal(padded[n, :, i:i + 8, j:j + 8], out[n])]
        assert found
    np.testing.assert_array_equal(out, D.random_crop(x, 8, seed=3, pad=2))
    with pytest.raises(ValueError, match="larger than the"):
        D.random_crop(x, 9)


def test_random_affine_identity_settings_change_nothing_and_seed_repeats():
    x = np.random.default_rng(0).random((3, 2, 9, 11))
    same = D.random_affine(x, seed=0, max_rotation=0, max_shift=0, max_scale=0)
    np.testing.assert_allclose(same, x, atol=1e-12)
    a = D.random_affine(x, seed=5)
    np.testing.assert_array_equal(a, D.random_affine(x, seed=5))
    assert not np.allclose(a, x)


def test_affine_rotation_by_90_degrees_is_rot90():
    x = np.random.default_rng(0).random((2, 1, 6, 6))
    np.testing.assert_allclose(D.affine(x, rotation=90), np.rot90(x, 1, axes=(2, 3)), atol=1e-12)
    np.testing.assert_allclose(D.affine(x, rotation=[0, -90])[1], np.rot90(x[1], -1, axes=(1, 2)),
                               atol=1e-12)


@pytest.mark.parametrize("angle", [17.0, -33.0])
def test_affine_rotation_matches_scikit_image(angle):
    from skimage.transform import rotate
    image = D.load_photo("camera", size=64, dtype="float64")
    reference = rotate(image[0], angle, order=1, mode="constant", cval=0)
    np.testing.assert_allclose(D.affine(image, rotation=angle)[0], reference, atol=1e-12)


def test_affine_shift_and_scale():
    x = np.random.default_rng(0).random((1, 2, 5, 7))
    shifted = D.affine(x, shift=(1, 2), fill=-1.0)
    np.testing.assert_allclose(shifted[..., 1:, 2:], x[..., :-1, :-2], atol=1e-12)
    assert (shifted[..., 0, :] == -1).all() and (shifted[..., :, :2] == -1).all()
    # enlarging by 2 about the centre of a 5-wide axis puts input pixel 2 (the centre) at 2 and
    # input pixel 3 at output pixel 4
    y = np.zeros((1, 1, 5, 5))
    y[0, 0, 3, 3] = 1.0
    assert D.affine(y, scale=2.0)[0, 0, 4, 4] == pytest.approx(1.0)


def test_augment_combines_and_repeats():
    x = np.random.default_rng(0).random((4, 3, 10, 10)).astype(np.float32)
    a = D.augment(x, seed=1, crop=8, pad=1, affine={"max_rotation": 5})
    assert a.shape == (4, 3, 8, 8)
    again = D.augment(x, seed=1, crop=8, pad=1, affine={"max_rotation": 5})
    np.testing.assert_array_equal(a, again)


def test_preprocessing_rejects_bad_arrays():
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        D.resize(np.zeros((4, 4)), 2)
    with pytest.raises(TypeError, match="float"):
        D.random_flip(np.zeros((1, 1, 2, 2), dtype=np.uint8))
    with pytest.raises(TypeError, match="seed"):
        D.random_flip(np.zeros((1, 1, 2, 2)), seed="x")


# ---- CIFAR-10 -------------------------------------------------------------------------------
def write_cifar(folder, per_batch=6, skip=(), corrupt=None):
    """Tiny batches in the official python-pickle format (bytes keys, uint8 rows of 3072)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    images = {}
    for name in D.CIFAR10_FILES:
        if name in skip:
            continue
        if name == "batches.meta":
            content = {b"label_names": [f"class{i}".encode() for i in range(10)],
                       b"num_vis": 3072}
        else:
            data = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
            labels = rng.integers(0, 10, per_batch).tolist()
            images[name] = (data, labels)
            content = {b"batch_label": name.encode(), b"data": data, b"labels": labels}
        if corrupt and corrupt[0] == name:
            content = corrupt[1](content)
        with open(folder / name, "wb") as f:
            pickle.dump(content, f)
    return images


def test_cifar10_reads_the_official_layout(tmp_path):
    images = write_cifar(tmp_path / "cifar-10-batches-py")
    data = D.load_cifar10(tmp_path / "cifar-10-batches-py", num_val=4)
    assert data["X_train"].shape == (26, 3, 32, 32) and data["X_train"].dtype == np.float32
    assert data["X_val"].shape == (4, 3, 32, 32) and data["X_test"].shape == (6, 3, 32, 32)
    # row layout: 1024 red, 1024 green, 1024 blue, each 32x32 row-major
    row, label = images["data_batch_1"][0][0], images["data_batch_1"][1][0]
    np.testing.assert_allclose(data["X_train"][0, 1, 2, 3] * 255, row[1024 + 2 * 32 + 3], rtol=1e-6)
    assert data["y_train"][0] == label
    last = images["data_batch_5"]
    np.testing.assert_allclose(data["X_val"][-1].reshape(-1) * 255, last[0][-1], rtol=1e-6)
    assert data["class_names"] == [f"class{i}" for i in range(10)]
    # the parent folder works too, and the environment variable
    assert D.load_cifar10(tmp_path, num_val=4)["X_train"].shape[0] == 26


def test_cifar10_from_the_environment_variable(tmp_path, monkeypatch):
    write_cifar(tmp_path / "c")
    monkeypatch.setenv(D.ENV_VAR, str(tmp_path / "c"))
    assert D.load_cifar10(num_val=0, num_train=5, num_test=2)["X_test"].shape == (2, 3, 32, 32)


def test_cifar10_absent_says_where_to_get_it(tmp_path, monkeypatch):
    monkeypatch.delenv(D.ENV_VAR, raising=False)
    where = "cifar-10-python.tar.gz.*Toronto.*CS231N_CIFAR10"
    with pytest.raises(D.CIFAR10NotFoundError, match=where):
        D.load_cifar10()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        D.load_cifar10(tmp_path / "nowhere")
    archive = tmp_path / "cifar-10-python.tar.gz"
    archive.write_bytes(b"")
    with pytest.raises(ValueError, match="unpack it first"):
        D.load_cifar10(archive)


def test_cifar10_wrong_folder_lists_the_missing_files(tmp_path):
    write_cifar(tmp_path, skip=("data_batch_3", "test_batch"))
    with pytest.raises(D.CIFAR10NotFoundError, match="missing data_batch_3, test_batch"):
        D.load_cifar10(tmp_path)


@pytest.mark.parametrize("corrupt, message", [
    (lambda c: b"not a dict", "not the dict"),
    (lambda c: {b"data": c[b"data"]}, "no b'labels'"),
    (lambda c: {**c, b"data": c[b"data"][:, :100]}, r"shape \(N, 3072\)"),
    (lambda c: {**c, b"labels": [11] * len(c[b"labels"])}, "labels must be in 0-9"),
])
def test_cifar10_wrong_files_name_the_file(tmp_path, corrupt, message):
    write_cifar(tmp_path, corrupt=("data_batch_2", corrupt))
    with pytest.raises(D.CIFAR10FormatError, match=message) as info:
        D.load_cifar10(tmp_path)
    assert "data_batch_2" in str(info.value)


def test_cifar10_garbage_file_and_sizes(tmp_path):
    write_cifar(tmp_path)
    (tmp_path / "test_batch").write_bytes(b"\x00garbage")
    with pytest.raises(D.CIFAR10FormatError, match="test_batch could not be read"):
        D.load_cifar10(tmp_path)
    write_cifar(tmp_path)
    with pytest.raises(ValueError, match="num_train=100"):
        D.load_cifar10(tmp_path, num_val=2, num_train=100)
