"""scikit-learn's handwritten digits: 1,797 real 8x8 grey images of the digits 0-9 (they ship
with scikit-learn, so no download is needed), as ``(N, 1, 8, 8)`` arrays split for training."""
from __future__ import annotations

from typing import Any

from ..backend import np
from ..validate import check_int
from .preprocess import as_rng, resize

__all__ = ["load_digits", "split_indices"]


def split_indices(y: Any, sizes: dict[str, int], seed: Any = 0) -> dict[str, Any]:
    """Split example indices into named parts of the given sizes, keeping the classes in the
    same proportions in every part (a stratified split); the part named ``"train"`` gets what
    is left. Deterministic for a seed.

    Returns ``{name: sorted index array}``.
    """
    rng = as_rng(seed)
    n = len(y)
    wanted = {k: check_int(v, f"num_{k}", 0) for k, v in sizes.items() if k != "train"}
    if sum(wanted.values()) >= n:
        raise ValueError(f"the split sizes {wanted} leave no training examples out of {n}")
    # Shuffle within each class, then deal the examples out class by class in turn, so that
    # every prefix of the order is (nearly) balanced; consecutive slices are the parts.
    by_class = [rng.permutation(np.flatnonzero(y == c)) for c in np.unique(y)]
    rank = np.empty(n)
    for members in by_class:
        rank[members] = (np.arange(len(members)) + rng.random()) / len(members)
    order = np.argsort(rank, kind="stable")
    parts, start = {}, 0
    for name, size in wanted.items():
        parts[name] = np.sort(order[start:start + size])
        start += size
    parts["train"] = np.sort(order[start:])
    return parts


def load_digits(num_val: int = 180, num_test: int = 360, seed: Any = 0, upsample: int = 1,
                dtype: Any = "float32") -> dict[str, Any]:
    """The digits as a data dict for :class:`cs231n_lib.solver.Solver`.

    Inputs:
    - num_val, num_test: how many images go to validation and test (stratified by class);
      the rest (1,257 by default) are for training.
    - seed: which split (the same seed, the same split).
    - upsample: an integer factor; 2 gives 16x16 images (bilinear, see ``resize``).
    - dtype: float32 (default) or float64.

    Returns a dict with ``X_train, y_train, X_val, y_val, X_test, y_test`` (X: (N, 1, H, W)
    with values in [0, 1]; y: int64 labels 0-9) and ``class_names``.
    """
    from sklearn.datasets import load_digits as sklearn_digits  # imported only when needed

    upsample = check_int(upsample, "upsample", 1)
    if np.dtype(dtype).kind != "f":
        raise TypeError(f"dtype must be a float type (float32 or float64), got {dtype!r}")
    bunch = sklearn_digits()
    X = (bunch.images / 16.0).astype(dtype)[:, None]  # the pixels count ink from 0 to 16
    y = bunch.target.astype(np.int64)
    if upsample > 1:
        X = resize(X, 8 * upsample)
    parts = split_indices(y, {"val": num_val, "test": num_test}, seed)
    data: dict[str, Any] = {}
    for name in ("train", "val", "test"):
        data[f"X_{name}"], data[f"y_{name}"] = X[parts[name]], y[parts[name]]
    data["class_names"] = [str(d) for d in range(10)]
    return data
