"""CIFAR-10 from its official "python version": 60,000 colour images of 32x32 in ten classes.

The data is not shipped (it is 163 MB). Get ``cifar-10-python.tar.gz`` from the CIFAR-10 page
of the University of Toronto (Alex Krizhevsky's dataset page; search for "CIFAR-10 dataset"),
unpack it (``tar -xzf cifar-10-python.tar.gz``), and give the folder it makes,
``cifar-10-batches-py``, to :func:`load_cifar10` as ``path`` or in the environment variable
``CS231N_CIFAR10``.

The folder holds ``data_batch_1`` ... ``data_batch_5`` (training), ``test_batch`` and
``batches.meta``. Each batch is a pickled dict: ``b"data"``, a uint8 array of shape
(N, 3072) whose rows are one image's 1024 red, then 1024 green, then 1024 blue values (each
32x32 in row-major order), and ``b"labels"``, N numbers in 0-9. ``batches.meta`` names the
classes (``b"label_names"``). Pickle files can run code when loaded: only use the official
archive or files you wrote yourself.
"""
from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

from ..backend import np
from ..validate import check_int

__all__ = ["load_cifar10", "find_cifar10", "CIFAR10_FILES", "CIFAR10NotFoundError",
           "CIFAR10FormatError", "ENV_VAR"]

ENV_VAR = "CS231N_CIFAR10"
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_FILES = TRAIN_FILES + ("test_batch", "batches.meta")
FOLDER = "cifar-10-batches-py"

HOW_TO_GET = (
    "To get it: download the python version of CIFAR-10, cifar-10-python.tar.gz (about 163 MB), "
    "from the CIFAR-10 page of the University of Toronto (Alex Krizhevsky's dataset page; search "
    f"for 'CIFAR-10 dataset'), unpack it with `tar -xzf cifar-10-python.tar.gz`, and pass the "
    f"folder it creates, {FOLDER}, as load_cifar10(path=...) or set the environment variable "
    f"{ENV_VAR}=/path/to/{FOLDER}."
)


class CIFAR10NotFoundError(FileNotFoundError, ValueError):
    """No CIFAR-10 folder where one was looked for; the message says how to get it."""


class CIFAR10FormatError(ValueError):
    """A CIFAR-10 file that is not in the official python-pickle format; names the file."""


def find_cifar10(path: str | os.PathLike | None = None) -> Path:
    """The folder holding the CIFAR-10 batches: ``path``, else ``$CS231N_CIFAR10``.

    ``path`` may be the ``cifar-10-batches-py`` folder itself or the folder that contains it.
    Raises :class:`CIFAR10NotFoundError` saying what was looked at, what is missing and how to
    get the data.
    """
    if path is None:
        path = os.environ.get(ENV_VAR) or None
        if path is None:
            raise CIFAR10NotFoundError(f"no CIFAR-10 location was given (neither a path "
                                       f"argument nor ${ENV_VAR}). {HOW_TO_GET}")
        source = f"${ENV_VAR}"
    else:
        source = "path"
    folder = Path(path).expanduser()
    if folder.is_file() and folder.name.endswith((".tar.gz", ".tgz")):
        raise CIFAR10NotFoundError(f"{source} points at the archive {folder}; unpack it first "
                                   f"(`tar -xzf {folder.name}`) and point at the folder {FOLDER} "
                                   "it creates")
    if not folder.is_dir():
        raise CIFAR10NotFoundError(f"{source} = {str(folder)!r} does not exist or is not a "
                                   f"folder. {HOW_TO_GET}")
    if not (folder / "batches.meta").exists() and (folder / FOLDER).is_dir():
        folder = folder / FOLDER
    missing = [name for name in CIFAR10_FILES if not (folder / name).is_file()]
    if missing:
        present = sorted(p.name for p in folder.iterdir())[:8]
        raise CIFAR10NotFoundError(
            f"{source} = {str(folder)!r} is not a CIFAR-10 python folder: missing "
            f"{', '.join(missing)} (it holds: {', '.join(present) or 'nothing'}). It must hold "
            f"{', '.join(CIFAR10_FILES)}. {HOW_TO_GET}")
    return folder


def _unpickle(file: Path) -> dict:
    try:
        with open(file, "rb") as f:
            content = pickle.load(f, encoding="bytes")
    except Exception as exc:  # not a pickle, truncated, another format
        raise CIFAR10FormatError(f"{file} could not be read as a CIFAR-10 python batch "
                                 f"({exc.__class__.__name__}: {exc})") from None
    if not isinstance(content, dict):
        raise CIFAR10FormatError(f"{file} holds a {type(content).__name__}, not the dict of a "
                                 "CIFAR-10 python batch")
    # the official files were pickled by Python 2 and have bytes keys; accept str keys too
    return {k.encode() if isinstance(k, str) else k: v for k, v in content.items()}


def _read_batch(file: Path) -> tuple[Any, Any]:
    """Images (N, 3, 32, 32) uint8 and labels (N,) int64 of one batch file."""
    batch = _unpickle(file)
    for key in (b"data", b"labels"):
        if key not in batch:
            raise CIFAR10FormatError(f"{file} has no {key!r} entry (it has {sorted(batch)}); "
                                     "a CIFAR-10 batch holds b'data' and b'labels'")
    data, labels = np.asarray(batch[b"data"]), np.asarray(batch[b"labels"])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise CIFAR10FormatError(f"{file}: b'data' must be a uint8 array of shape (N, 3072), "
                                 f"got {data.dtype} {data.shape}")
    if labels.shape != (data.shape[0],) or labels.dtype.kind not in "iu":
        raise CIFAR10FormatError(f"{file}: b'labels' must be {data.shape[0]} integers, got "
                                 f"{labels.dtype} {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise CIFAR10FormatError(f"{file}: labels must be in 0-9, found {labels.min()}-"
                                 f"{labels.max()}")
    # each row is all red values, then green, then blue: exactly (3, 32, 32) in C order
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def load_cifar10(path: str | os.PathLike | None = None, num_val: int = 1000,
                 num_train: int | None = None, num_test: int | None = None,
                 dtype: Any = "float32") -> dict[str, Any]:
    """CIFAR-10 as a data dict for :class:`cs231n_lib.solver.Solver`.

    Inputs:
    - path: the ``cifar-10-batches-py`` folder (or its parent); default ``$CS231N_CIFAR10``.
    - num_val: the last ``num_val`` training images become the validation set (as in cs231n).
    - num_train: how many of the remaining training images to keep (default: all, 49,000).
    - num_test: how many test images to keep (default: all, 10,000).
    - dtype: float32 (default) or float64.

    Returns a dict with ``X_train, y_train, X_val, y_val, X_test, y_test`` (X: (N, 3, 32, 32)
    with values in [0, 1]; y: int64) and ``class_names``. Raises
    :class:`CIFAR10NotFoundError` or :class:`CIFAR10FormatError` with what is wrong.
    """
    if np.dtype(dtype).kind != "f":
        raise TypeError(f"dtype must be a float type (float32 or float64), got {dtype!r}")
    folder = find_cifar10(path)
    parts = [_read_batch(folder / name) for name in TRAIN_FILES]
    X, y = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    X_test, y_test = _read_batch(folder / "test_batch")
    meta = _unpickle(folder / "batches.meta")
    if b"label_names" not in meta or len(meta[b"label_names"]) != 10:
        raise CIFAR10FormatError(f"{folder / 'batches.meta'} must list 10 b'label_names'")
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in meta[b"label_names"]]

    num_val = check_int(num_val, "num_val", 0)
    available = len(X) - num_val
    if available < 1:
        raise ValueError(f"num_val={num_val} leaves no training images (there are {len(X)})")
    num_train = available if num_train is None else check_int(num_train, "num_train", 1)
    num_test = len(X_test) if num_test is None else check_int(num_test, "num_test", 0)
    if num_train > available:
        raise ValueError(f"num_train={num_train} but only {available} training images remain "
                         f"after {num_val} for validation")
    if num_test > len(X_test):
        raise ValueError(f"num_test={num_test} but the test batch has {len(X_test)} images")

    def scaled(images: Any) -> Any:
        return images.astype(dtype) / np.asarray(255, dtype=dtype)

    return {
        "X_train": scaled(X[:num_train]), "y_train": y[:num_train],
        "X_val": scaled(X[available:]), "y_val": y[available:],
        "X_test": scaled(X_test[:num_test]), "y_test": y_test[:num_test],
        "class_names": names,
    }
