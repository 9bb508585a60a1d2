"""A stand-in for CuPy that runs on the CPU, for testing the GPU code path without a GPU.

Install it as the device module, then move arrays to the "device" as with CuPy::

    previous = backend.install_device_module(device_double)
    x_dev = backend.to_device(x, "gpu")          # a device_double.ndarray
    ...                                          # run layers, models, training steps
    backend.install_device_module(previous)

Its arrays (:class:`DeviceArray`) hold a NumPy array inside but behave like CuPy arrays that
are stricter than CuPy about leaving the device. Every implicit trip to the host raises
``TypeError``:

* ``float(a)``, ``int(a)``, ``bool(a)``, ``complex(a)``, ``operator.index(a)`` (so also
  ``if a:``, ``range(a)``), ``a.item()``, ``a.tolist()``, ``a.tobytes()``;
* ``np.asarray(a)`` / ``np.array(a)`` (the ``__array__`` protocol and its relatives);
* mixing with host NumPy arrays: ``a + np_array``, ``np_array * a``, ``np.add(a, np_array)``,
  ``a[...] = np_array``, indexing with a NumPy array, passing a NumPy array to a device
  function (``device_double.maximum(a, np_array)``).

(CuPy itself allows ``float()`` of a one-element array, with a silent synchronising copy; the
library promises not to do that inside layers, and this double is how CI checks the promise.)

The explicit ways to the host are allowed, as in CuPy: ``device_double.asnumpy(a)`` (what
``backend.to_host`` calls) and ``a.get()``. Host to device: ``device_double.asarray(np_array)``
or ``device_double.array(...)``.

Every other NumPy function is available under the same name (``device_double.zeros``,
``.matmul``, ``.lib.stride_tricks.sliding_window_view``, ``.random.default_rng`` ...): it takes
device arrays, refuses host arrays and returns device arrays. Reductions return 0-d device
arrays, never host scalars, as CuPy does.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from types import ModuleType
from typing import Any, Iterator

import numpy as _np

__version__ = "device-double"


class HostTransferError(TypeError):
    """An implicit copy between host and device memory was attempted."""


def _refuse(what: str) -> HostTransferError:
    return HostTransferError(
        f"{what} would silently copy a device array to the host (CuPy forbids or synchronises "
        "this); keep the computation on the device, or move explicitly with backend.to_host()")


def _refuse_host(where: str) -> HostTransferError:
    return HostTransferError(
        f"a host NumPy array was mixed with device arrays in {where}; move it explicitly with "
        "backend.to_device() first")


# --------------------------------------------------------------------------------------------
# Wrapping and unwrapping
# --------------------------------------------------------------------------------------------
def _unwrap(value: Any, where: str, seen: dict) -> Any:
    """Device arrays -> their NumPy array (remembered in ``seen`` so that a result that IS
    one of them comes back as the same wrapper); host arrays -> refused; containers -> each
    item."""
    if isinstance(value, DeviceArray):
        seen[id(value._a)] = value
        return value._a
    if isinstance(value, _np.ndarray):
        raise _refuse_host(where)
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v, where, seen) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap(v, where, seen) for k, v in value.items()}
    return value


def _wrap(value: Any, seen: dict | None = None) -> Any:
    """NumPy arrays and NumPy scalars -> device arrays (scalars become 0-d arrays, as CuPy's
    reductions return); numpy helper objects (a random Generator) -> wrapped namespaces."""
    if isinstance(value, _np.ndarray):
        if seen and id(value) in seen:
            return seen[id(value)]
        return DeviceArray(value)
    if isinstance(value, _np.generic):
        return DeviceArray(_np.asarray(value))
    if isinstance(value, tuple):
        return tuple(_wrap(v, seen) for v in value)
    if isinstance(value, list):
        return [_wrap(v, seen) for v in value]
    if isinstance(value, (_np.random.Generator, _np.random.RandomState,
                          _np.random.BitGenerator)):
        return _Namespace(value, type(value).__name__)
    return value


def _device_function(func: Any, name: str) -> Any:
    """``func`` taking and returning device arrays, refusing host arrays."""
    def call(*args: Any, **kwargs: Any) -> Any:
        seen: dict = {}
        args = _unwrap(args, name, seen)
        kwargs = _unwrap(kwargs, name, seen)
        return _wrap(func(*args, **kwargs), seen)
    call.__name__ = name
    call.__doc__ = getattr(func, "__doc__", None)
    return call


class _Namespace:
    """A NumPy namespace (``np.lib``, ``np.random``, a Generator ...) seen from the device."""

    def __init__(self, target: Any, path: str):
        self._target, self._path = target, path

    def __getattr__(self, name: str) -> Any:
        return _device_attribute(getattr(self._target, name), f"{self._path}.{name}")

    def __repr__(self) -> str:
        return f"<device double of {self._path}>"


def _device_attribute(value: Any, path: str) -> Any:
    if isinstance(value, type) or isinstance(value, _np.dtype):
        return value  # dtypes and scalar types (float32 ...) are shared with NumPy, as in CuPy
    if callable(value):
        return _device_function(value, path)
    if hasattr(value, "__dict__") and type(value).__module__.startswith("numpy"):
        return _Namespace(value, path)
    if type(value).__name__ == "module":
        return _Namespace(value, path)
    return value  # constants: pi, inf, newaxis ...


# --------------------------------------------------------------------------------------------
# The device array
# --------------------------------------------------------------------------------------------
def _binary(ufunc: Any, reflected: bool = False):
    def op(self: "DeviceArray", other: Any) -> Any:
        seen: dict = {}
        other = _unwrap(other, f"the operator {ufunc.__name__}", seen)
        a, b = (other, self._a) if reflected else (self._a, other)
        return _wrap(ufunc(a, b), seen)
    return op


def _inplace(ufunc: Any):
    def op(self: "DeviceArray", other: Any) -> "DeviceArray":
        other = _unwrap(other, f"the in-place operator {ufunc.__name__}", {})
        ufunc(self._a, other, out=self._a)
        return self
    return op


def _unary(ufunc: Any):
    def op(self: "DeviceArray") -> "DeviceArray":
        return DeviceArray(ufunc(self._a))
    return op


def _refusing(what: str):
    def op(self: "DeviceArray", *args: Any, **kwargs: Any) -> Any:
        raise _refuse(what)
    return op


class DeviceArray:
    """An array "in device memory": a NumPy array that cannot leave implicitly."""

    __slots__ = ("_a",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, array: Any):
        if isinstance(array, DeviceArray):
            array = array._a
        object.__setattr__(self, "_a", _np.asarray(array))

    # what an array knows about itself is host metadata, as in CuPy
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: DeviceArray(self._a.T))
    mT = property(lambda self: DeviceArray(self._a.mT))
    real = property(lambda self: DeviceArray(self._a.real))
    imag = property(lambda self: DeviceArray(self._a.imag))
    device = property(lambda self: "device double")

    def __getattr__(self, name: str) -> Any:
        # array methods (reshape, transpose, sum, argmax, astype, copy ...): device in, device
        # out. The array protocols must NOT be forwarded: NumPy would read the memory through
        # them without asking.
        if name == "_a" or name.startswith("__array") or name in ("__dlpack__",
                                                                   "__dlpack_device__"):
            raise AttributeError(name)
        method = getattr(self._a, name)
        if not callable(method):
            return _wrap(method)
        return _device_function(method, f"ndarray.{name}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "shape":
            self._a.shape = value
            return
        raise AttributeError(f"cannot set {name!r} on a device array")

    # ---- the explicit ways out --------------------------------------------------------------
    def get(self) -> _np.ndarray:
        """An explicit copy to host memory (CuPy's ``ndarray.get``)."""
        return self._a.copy()

    # ---- implicit ways out: refused ---------------------------------------------------------
    __array__ = _refusing("np.asarray(device array) / __array__")
    __float__ = _refusing("float(device array)")
    __int__ = _refusing("int(device array)")
    __complex__ = _refusing("complex(device array)")
    __bool__ = _refusing("bool(device array) (an `if` or `and` on an array)")
    __index__ = _refusing("using a device array as a Python integer")
    item = _refusing("device array.item()")
    tolist = _refusing("device array.tolist()")
    tobytes = _refusing("device array.tobytes()")
    __iter__ = None  # type: ignore[assignment]  # iterating would build host-side objects

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        # a NumPy ufunc met a device array: fine if every array is on the device (CuPy
        # dispatches these to itself), refused if a host array is mixed in
        seen: dict = {}
        inputs = _unwrap(inputs, f"np.{ufunc.__name__}", seen)
        kwargs = _unwrap(kwargs, f"np.{ufunc.__name__}", seen)
        return _wrap(getattr(ufunc, method)(*inputs, **kwargs), seen)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        seen: dict = {}
        args = _unwrap(args, f"np.{func.__name__}", seen)
        kwargs = _unwrap(kwargs, f"np.{func.__name__}", seen)
        return _wrap(func(*args, **kwargs), seen)

    # ---- indexing ---------------------------------------------------------------------------
    def __getitem__(self, key: Any) -> "DeviceArray":
        return _wrap(self._a[_unwrap(key, "an index", {})])

    def __setitem__(self, key: Any, value: Any) -> None:
        self._a[_unwrap(key, "an index", {})] = _unwrap(value, "an assignment", {})

    def __len__(self) -> int:
        return len(self._a)

    def __reduce__(self) -> tuple:  # pickling (checkpoints) keeps it on the "device"
        return DeviceArray, (self._a.copy(),)

    def __repr__(self) -> str:
        return f"DeviceArray({self._a!r})"

    __str__ = __repr__

    # ---- arithmetic -------------------------------------------------------------------------
    __add__, __radd__, __iadd__ = _binary(_np.add), _binary(_np.add, True), _inplace(_np.add)
    __sub__, __rsub__, __isub__ = (_binary(_np.subtract), _binary(_np.subtract, True),
                                   _inplace(_np.subtract))
    __mul__, __rmul__, __imul__ = (_binary(_np.multiply), _binary(_np.multiply, True),
                                   _inplace(_np.multiply))
    __truediv__, __rtruediv__, __itruediv__ = (_binary(_np.true_divide),
                                               _binary(_np.true_divide, True),
                                               _inplace(_np.true_divide))
    __floordiv__, __rfloordiv__, __ifloordiv__ = (_binary(_np.floor_divide),
                                                  _binary(_np.floor_divide, True),
                                                  _inplace(_np.floor_divide))
    __mod__, __rmod__, __imod__ = (_binary(_np.remainder), _binary(_np.remainder, True),
                                   _inplace(_np.remainder))
    __pow__, __rpow__, __ipow__ = (_binary(_np.power), _binary(_np.power, True),
                                   _inplace(_np.power))
    __matmul__, __rmatmul__ = _binary(_np.matmul), _binary(_np.matmul, True)
    __and__, __rand__, __iand__ = (_binary(_np.bitwise_and), _binary(_np.bitwise_and, True),
                                   _inplace(_np.bitwise_and))
    __or__, __ror__, __ior__ = (_binary(_np.bitwise_or), _binary(_np.bitwise_or, True),
                                _inplace(_np.bitwise_or))
    __xor__, __rxor__, __ixor__ = (_binary(_np.bitwise_xor), _binary(_np.bitwise_xor, True),
                                   _inplace(_np.bitwise_xor))
    __lt__, __le__ = _binary(_np.less), _binary(_np.less_equal)
    __gt__, __ge__ = _binary(_np.greater), _binary(_np.greater_equal)
    __eq__, __ne__ = _binary(_np.equal), _binary(_np.not_equal)  # type: ignore[assignment]
    __neg__, __pos__ = _unary(_np.negative), _unary(_np.positive)
    __abs__, __invert__ = _unary(_np.absolute), _unary(_np.invert)


ndarray = DeviceArray


# --------------------------------------------------------------------------------------------
# The module's functions
# --------------------------------------------------------------------------------------------
def asarray(a: Any, dtype: Any = None) -> DeviceArray:
    """Host or device data -> a device array (the explicit host-to-device copy)."""
    if isinstance(a, DeviceArray):
        return a if dtype is None or a.dtype == dtype else DeviceArray(a._a.astype(dtype))
    return DeviceArray(_np.array(a, dtype=dtype))


def array(a: Any, dtype: Any = None, copy: bool = True) -> DeviceArray:
    """Like :func:`asarray`, copying device arrays too."""
    if isinstance(a, DeviceArray):
        return DeviceArray(_np.array(a._a, dtype=dtype, copy=copy))
    return DeviceArray(_np.array(a, dtype=dtype))


def asnumpy(a: Any) -> _np.ndarray:
    """A device array -> a host NumPy array (the explicit device-to-host copy)."""
    if isinstance(a, DeviceArray):
        return a._a.copy()
    return _np.asarray(a)


def __getattr__(name: str) -> Any:
    """Every other NumPy name, working on device arrays."""
    if name.startswith("__"):
        raise AttributeError(name)
    return _device_attribute(getattr(_np, name), name)


__all__ = ["DeviceArray", "ndarray", "asarray", "array", "asnumpy", "HostTransferError",
           "installed"]


# --------------------------------------------------------------------------------------------
# The test hook: run a block of code "on the device"
# --------------------------------------------------------------------------------------------
@contextmanager
def installed(default_device: bool = False) -> Iterator[ModuleType]:
    """Install this module as the backend's device module for the duration of a ``with``
    block, then put back whatever was there (real CuPy, or nothing).

    With ``default_device=True`` the block also runs with ``backend.use("gpu")``, so that
    models, solvers and data loaders that follow the default device put their arrays on the
    double: that is how a whole training step is checked for host round trips::

        with device_double.installed(default_device=True):
            model = Sequential(...)   # parameters on the double
            Solver(model, data, ...).train()   # any float()/bool()/np.asarray raises
    """
    from cs231n_lib import backend

    previous = backend.install_device_module(sys.modules[__name__])
    previous_default = backend.device()
    try:
        if default_device:
            backend.use("gpu")
        yield sys.modules[__name__]
    finally:
        backend.install_device_module(previous)
        backend.use(previous_default)
