"""Which array library does the math: NumPy always, CuPy when it is installed and asked for.

This is the only module of the package that imports ``numpy`` or ``cupy``. Everything else
asks it for the array module of the arrays it was given::

    xp = xp_of(x, w)          # numpy for NumPy arrays, cupy for CuPy arrays
    out = xp.zeros_like(x)    # ...so one body of code serves both

Host-only code (plots, data loading, geometry tables) uses ``backend.np``.

The default device (where models put their parameters and data loaders put batches) is the
CPU unless ``use("gpu")`` is called or the environment variable ``CS231N_DEVICE=gpu`` is set.
"""
from __future__ import annotations

import os
from types import ModuleType
from typing import Any

import numpy as np

__all__ = [
    "np", "xp_of", "to_device", "to_host", "use", "device", "default_xp", "available",
    "gpu_available", "is_device_array", "DeviceError", "install_device_module",
]

DEVICES = ("cpu", "gpu")


class DeviceError(RuntimeError):
    """The GPU was asked for but cannot be used (no CuPy, no CUDA device), or arrays of two
    devices were mixed in one call."""


# --------------------------------------------------------------------------------------------
# The device array module: CuPy when importable, or a stand-in installed by the tests.
# --------------------------------------------------------------------------------------------
_device_xp: ModuleType | None = None
_device_error: str | None = None


def _load_cupy() -> None:
    global _device_xp, _device_error
    try:
        import cupy  # noqa: F401  (the only import of cupy in the package)
    except Exception as exc:  # ImportError, or a CUDA library that fails to load
        _device_error = f"CuPy is not installed or failed to import ({exc.__class__.__name__}: {exc})"
        return
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        _device_error = f"CuPy is installed but no CUDA device is usable ({exc})"
        return
    if count < 1:
        _device_error = "CuPy is installed but no CUDA device was found"
        return
    _device_xp = cupy


_load_cupy()


def install_device_module(module: ModuleType | None) -> ModuleType | None:
    """Replace the device array module (CuPy) by ``module``; return the previous one.

    Meant for tests: a stand-in module whose arrays refuse silent conversion to host memory
    runs every layer on a machine without a GPU. ``module`` must provide ``ndarray``,
    ``asarray`` and ``asnumpy`` as CuPy does; ``None`` removes the device module.
    """
    global _device_xp
    previous, _device_xp = _device_xp, module
    return previous


def gpu_available() -> bool:
    """True when a device array module (CuPy with a CUDA device) can be used."""
    return _device_xp is not None


def is_device_array(x: Any) -> bool:
    """True for arrays that live on the GPU (CuPy arrays, or the tests' stand-in)."""
    return _device_xp is not None and isinstance(x, _device_xp.ndarray)


# --------------------------------------------------------------------------------------------
# Choosing the array module from the arrays
# --------------------------------------------------------------------------------------------
def xp_of(*arrays: Any) -> ModuleType:
    """The array module (numpy or cupy) that owns ``arrays``.

    ``None`` entries and Python scalars are ignored. Mixing host (NumPy) and device (CuPy)
    arrays in one call raises :class:`DeviceError` naming both, instead of copying silently.
    """
    on_device = [is_device_array(a) for a in arrays if a is not None and hasattr(a, "shape")]
    if not on_device or not any(on_device):
        return np
    if all(on_device):
        return _device_xp
    kinds = ", ".join(f"#{i}: {'GPU' if d else 'CPU'}" for i, d in enumerate(on_device))
    raise DeviceError(
        f"arrays on different devices were mixed ({kinds}); move them with "
        "backend.to_device(...) or backend.to_host(...) first"
    )


# --------------------------------------------------------------------------------------------
# The default device
# --------------------------------------------------------------------------------------------
def _check_device_name(name: str) -> str:
    if name not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {name!r}")
    return name


def _require_gpu() -> ModuleType:
    if _device_xp is None:
        raise DeviceError(
            f"the GPU backend is not available: {_device_error or 'no device module'}. "
            "Install it with `pip install -e '.[gpu]'` on a machine with an NVIDIA GPU, "
            "or use the CPU (backend.use('cpu'), CS231N_DEVICE=cpu)."
        )
    return _device_xp


_default = _check_device_name(os.environ.get("CS231N_DEVICE", "cpu").strip().lower() or "cpu")


def use(name: str) -> str:
    """Make ``name`` ("cpu" or "gpu") the default device; return the previous default.

    Raises :class:`DeviceError` when "gpu" is asked for and no GPU can be used.
    """
    global _default
    _check_device_name(name)
    if name == "gpu":
        _require_gpu()
    previous, _default = _default, name
    return previous


def device() -> str:
    """The current default device, "cpu" or "gpu"."""
    return _default


def default_xp() -> ModuleType:
    """The array module of the default device."""
    return _require_gpu() if _default == "gpu" else np


# --------------------------------------------------------------------------------------------
# Moving arrays
# --------------------------------------------------------------------------------------------
def to_device(x: Any, name: str | None = None) -> Any:
    """``x`` on device ``name`` (default: the current default device); a no-op when it is
    already there. Dicts, lists and tuples are moved item by item."""
    name = _check_device_name(name or _default)
    if isinstance(x, dict):
        return {k: to_device(v, name) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(to_device(v, name) for v in x)
    if name == "cpu":
        return to_host(x)
    xp = _require_gpu()
    return x if is_device_array(x) else xp.asarray(x)


def to_host(x: Any) -> Any:
    """``x`` as NumPy data in host memory (the one explicit device-to-host copy)."""
    if isinstance(x, dict):
        return {k: to_host(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(to_host(v) for v in x)
    if is_device_array(x):
        return _device_xp.asnumpy(x)
    return x


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------
def available() -> dict[str, Any]:
    """What can run here: NumPy's version and BLAS, CuPy's version and GPUs, or why not."""
    report: dict[str, Any] = {
        "default_device": _default,
        "numpy": np.__version__,
        "gpu": _device_xp is not None,
    }
    if _device_xp is None:
        report["gpu_reason"] = _device_error or "device module removed"
        return report
    report["cupy"] = getattr(_device_xp, "__version__", "stand-in")
    try:
        runtime = _device_xp.cuda.runtime
        report["gpus"] = [
            runtime.getDeviceProperties(i)["name"].decode() for i in range(runtime.getDeviceCount())
        ]
    except Exception:  # a test stand-in has no CUDA runtime
        report["gpus"] = []
    return report
