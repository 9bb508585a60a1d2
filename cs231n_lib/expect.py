"""Checks whose failure messages teach: what the test cells of the workbook are written with.

A test cell calls a student's function and hands what came back to one of these checks. When
the check fails it raises ``AssertionError`` with one sentence for the student, saying what was
checked, what was expected and what came back, and a hint where one helps::

    local_neuron on an all-ones window: expected 76 (75 weights + bias 1), got 75 — did you
    add the bias?

is ``what``, then ``expected`` (and ``why`` it is that), then what came back, then ``hint``.

* :func:`expect_equal` — exact equality: counts, sizes, integer arrays, copied numbers;
* :func:`expect_close` — floats within a tolerance; for arrays the shape first, then the
  values, naming the largest difference and where it is;
* :func:`expect_shape` — the shape of an array;
* :func:`expect_instance` — the type of a result (an ``int``, a NumPy array);
* :func:`expect_true` — any other property, which ``what`` describes in words;
* :func:`expect_raises` — a call must raise; returns the exception, to look at its message.

Why not ``assert got == expected``: a bare ``assert`` vanishes under ``python -O`` and its
message is whatever the author remembered to write. And ``==`` asks the object that came back:
a student's object may define ``__eq__`` to say yes to everything. These checks convert with
``np.asarray`` and compare with NumPy functions instead. The errors are raised ``from None``,
so the student reads one message, not a chain of tracebacks from inside this module.

A ``NotImplementedError`` (the stub of an exercise not yet solved) is never caught here: it
reaches the student, and the grader, as it is.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from .backend import np

__all__ = ["expect_equal", "expect_close", "expect_shape", "expect_instance", "expect_true",
           "expect_raises"]

#: what expect_close allows by default: float64 arithmetic done in another order differs by
#: about 1e-15 relative, a wrong formula by far more than 1e-7
RTOL, ATOL = 1e-7, 1e-9

_NUMERIC = "biuf"   # dtype kinds that count as numbers: bool, int, unsigned, float
_NAMES = {int: "an int", float: "a float", bool: "a bool", str: "a string", tuple: "a tuple",
          list: "a list", dict: "a dict", np.ndarray: "a NumPy array",
          np.integer: "a NumPy integer", np.floating: "a NumPy float"}


def _fail(what: str, message: str, hint: str | None) -> NoReturn:
    __tracebackhide__ = True   # pytest and IPython show the caller's line, not this one
    text = f"{what}: {message}" + (f" — {hint}" if hint else "")
    raise AssertionError(text) from None


def _number(x: Any) -> str:
    """A scalar as it reads best: 3073, 4.5, 0.333333, 1.0 (a float stays a float), True."""
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float):
        return f"{x:.1f}" if x.is_integer() and abs(x) < 1e6 else f"{x:.6g}"
    return repr(x)


def _describe(value: Any) -> str:
    """What came back, in a few words: ``3072``, ``None (...)``, ``an array of shape (4, 4)``."""
    if value is None:
        return "None (nothing was returned: is a `return` missing?)"
    if isinstance(value, (bool, int, float, str, np.generic)):
        return _number(value)
    if isinstance(value, np.ndarray):
        if value.ndim == 1 and value.size <= 6 and value.dtype.kind in _NUMERIC:
            return "[" + ", ".join(_number(v) for v in value) + "]"
        if value.ndim == 0 and value.dtype.kind in _NUMERIC:
            return f"a 0-d array holding {_number(value[()])}"
        return f"an array of shape {value.shape} ({value.dtype})"
    if isinstance(value, (tuple, list)):
        if all(isinstance(v, (bool, int, float, np.generic)) for v in value):
            items = ", ".join(_number(v) for v in value)
            if isinstance(value, tuple):
                text = f"({items}{',' if len(value) == 1 else ''})"
            else:
                text = f"[{items}]"
            if len(text) <= 60:
                return text
        return f"{_NAMES.get(type(value), 'a ' + type(value).__name__)} of length {len(value)}"
    return f"a {type(value).__name__}"


def _why(why: str | None) -> str:
    return f" ({why})" if why else ""


def _as_array(got: Any, expected_text: str, what: str, hint: str | None) -> np.ndarray:
    """``np.asarray(got)``, or a failure when that holds no numbers (None, a ragged list, an
    object of the student's)."""
    __tracebackhide__ = True
    try:
        arr = np.asarray(got)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.dtype.kind not in _NUMERIC:
        _fail(what, f"expected {expected_text}, got {_describe(got)}", hint)
    return arr


def _index(idx: tuple) -> str:
    return "[" + ", ".join(str(int(i)) for i in idx) + "]"


def expect_equal(got: Any, expected: Any, what: str, hint: str | None = None, *,
                 why: str | None = None) -> None:
    """Check that ``got`` equals ``expected`` exactly: numbers, strings, tuples, arrays.

    Inputs:
    - got: what the code under test returned
    - expected: the right answer: a number, a string, or an array (or list, tuple) of them
    - what: the check in words, e.g. "fc_layer_params((3, 32, 32), 1)"
    - hint: optional, what to look at when the check fails
    - why: optional, where the expected value comes from, e.g. "3072 weights + 1 bias"

    Arrays must have the same shape; the message names the first entry that differs.
    Raises AssertionError when they differ.
    """
    __tracebackhide__ = True
    e = np.asarray(expected)
    if e.dtype.kind not in _NUMERIC + "US":   # a mistake in the test, not in the answer
        raise TypeError("expect_equal compares numbers, strings and arrays of them, not "
                        + _describe(expected))
    if e.dtype.kind in _NUMERIC:
        g = _as_array(got, _describe(expected) + _why(why), what, hint)
    else:
        g = np.asarray(got) if isinstance(got, (str, tuple, list, np.ndarray)) else None
        if g is None or g.dtype.kind != e.dtype.kind:
            _fail(what, f"expected {_describe(expected)}{_why(why)}, got {_describe(got)}", hint)
    if g.shape != e.shape and e.ndim == 0:
        _fail(what, f"expected a single value, {_describe(expected)}{_why(why)}, got "
                    f"{_describe(got)}", hint)
    if g.shape != e.shape and isinstance(expected, (tuple, list)):   # e.g. a shape
        _fail(what, f"expected {_describe(expected)}{_why(why)}, got {_describe(got)}", hint)
    if g.shape != e.shape:
        _fail(what, f"expected shape {e.shape}{_why(why)}, got shape {g.shape}", hint)
    if np.array_equal(g, e):
        return
    if e.ndim == 0:
        _fail(what, f"expected {_describe(expected)}{_why(why)}, got {_describe(got)}", hint)
    differ = g != e   # NumPy arrays on both sides: NumPy compares, not the student's object
    first = tuple(int(i) for i in np.argwhere(differ)[0])
    _fail(what, f"{int(differ.sum())} of {e.size} entries differ{_why(why)}; the first is at "
                f"{_index(first)}: expected {_number(e[first])}, got {_number(g[first])}", hint)


def expect_close(got: Any, expected: Any, what: str, rtol: float = RTOL, atol: float = ATOL,
                 hint: str | None = None, *, why: str | None = None) -> None:
    """Check that the numbers ``got`` are within a tolerance of ``expected``.

    Inputs:
    - got: what the code under test returned: a number or an array of any shape
    - expected: the right answer, a number or an array
    - what: the check in words, e.g. "conv_forward_student with stride 2, pad 1"
    - rtol, atol: entry k passes when |got[k] - expected[k]| <= atol + rtol * |expected[k]|
      (as ``np.isclose``); NaN and inf never pass
    - hint: optional, what to look at when the check fails
    - why: optional, where the expected value comes from

    The shape is checked first: an array of the wrong shape is reported as such, not as a
    broadcasting error. Then the values: the message says how many entries are off, and where
    the largest difference is, with both values there (and the tolerance, when the difference
    is a near miss). Raises AssertionError.
    """
    __tracebackhide__ = True
    e = np.asarray(expected, dtype=np.float64)
    kind = "a number" if e.ndim == 0 else f"an array of shape {e.shape}"
    g = _as_array(got, kind + _why(why), what, hint)
    if g.shape != e.shape:
        _fail(what, f"expected {kind}{_why(why)}, got shape {g.shape}", hint)
    g = g.astype(np.float64)
    ok = np.isclose(g, e, rtol=rtol, atol=atol) & np.isfinite(g)
    if ok.all():
        return
    diff = np.where(np.isfinite(g), np.abs(g - e), np.inf)
    worst = np.unravel_index(int(np.argmax(np.where(ok, -1.0, diff))), e.shape)
    g_text, e_text = f"{g[worst]:.6g}", f"{e[worst]:.6g}"
    if g_text == e_text:   # equal to 6 digits: show all of them
        g_text, e_text = repr(float(g[worst])), repr(float(e[worst]))
    # a near miss (rounding, float32 somewhere) says by how much and what was allowed
    allowed = atol + rtol * abs(float(e[worst]))
    near = "" if diff[worst] >= 100 * allowed else \
        f" (off by {float(diff[worst]):.2g}, allowed {allowed:.2g})"
    where = "" if e.ndim == 0 else \
        f"{int((~ok).sum())} of {e.size} entries are off; the worst is at {_index(worst)}: "
    _fail(what, f"{where}expected {e_text}{_why(why)}, got {g_text}{near}", hint)


def expect_shape(array: Any, shape: tuple[int, ...], what: str, hint: str | None = None) -> None:
    """Check the shape of an array.

    Inputs:
    - array: what the code under test returned (an array, or anything ``np.asarray`` takes)
    - shape: the expected shape, a tuple of ints
    - what: the check in words, e.g. "V = conv_xyd(X, Ws, bs, 2)"
    - hint: optional, e.g. the output-size arithmetic

    Raises AssertionError when the shapes differ or ``array`` holds no numbers.
    """
    __tracebackhide__ = True
    shape = tuple(int(n) for n in shape)
    g = _as_array(array, f"an array of shape {shape}", what, hint)
    if tuple(g.shape) != shape:
        _fail(what, f"expected shape {shape}, got shape {tuple(g.shape)}", hint)


def _type_names(types: type | tuple[type, ...]) -> str:
    """'an int or a NumPy integer'; exception classes by their bare names."""
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(t.__name__ if issubclass(t, BaseException)
                       else _NAMES.get(t, f"a {t.__name__}") for t in types)


def expect_instance(got: Any, types: type | tuple[type, ...], what: str,
                    hint: str | None = None) -> None:
    """Check the type of a result, e.g. that a size is an integer and not a float.

    Inputs:
    - got: what the code under test returned
    - types: a type or a tuple of types, as for ``isinstance``
    - what: the check in words
    - hint: optional, e.g. "// divides without leaving the integers"

    Raises AssertionError when ``got`` is none of ``types``.
    """
    __tracebackhide__ = True
    if not isinstance(got, types):
        described = _describe(got)
        came = described if described.startswith(("a ", "an ", "None")) else \
            f"{_type_names(type(got))} ({described})"
        _fail(what, f"expected {_type_names(types)}, got {came}", hint)


def expect_true(condition: Any, what: str, hint: str | None = None) -> None:
    """Check a property that the other checks do not cover.

    Inputs:
    - condition: the property, computed by the test (a bool or a NumPy bool)
    - what: the whole message: what should hold and, where it helps, what came back instead,
      e.g. f"the ValueError should show 4.5; its message was {str(err)!r}"
    - hint: optional

    Raises AssertionError when ``condition`` is false.
    """
    __tracebackhide__ = True
    if not bool(np.all(np.asarray(condition, dtype=bool))):
        raise AssertionError(what + (f" — {hint}" if hint else "")) from None


def expect_raises(exception: type[BaseException] | tuple[type[BaseException], ...],
                  call: Callable[[], Any], what: str, hint: str | None = None) -> BaseException:
    """Check that ``call()`` raises ``exception``, and return the exception raised.

    Inputs:
    - exception: an exception class (or a tuple of them), e.g. ValueError
    - call: a function of no arguments, e.g. ``lambda: same_padding(2)``
    - what: the check in words, e.g. "same_padding(2), an even filter"
    - hint: optional

    Returns: the exception that was raised, so that a test can check its message.

    Raises AssertionError when ``call`` returns normally or raises an exception of another
    kind (its type and message are quoted). A NotImplementedError (an exercise not yet
    solved) passes through unchanged, unless it is what was asked for.
    """
    __tracebackhide__ = True
    names = _type_names(exception)
    try:
        result = call()
    except exception as err:
        return err
    except NotImplementedError:
        raise
    except Exception as err:   # noqa: BLE001 - any other exception is the student's to see
        _fail(what, f"expected {names}, but it raised {type(err).__name__}: {err}", hint)
    _fail(what, f"expected {names}, but it returned {_describe(result)}", hint)
