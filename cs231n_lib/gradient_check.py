"""Numeric gradients by centred differences, and checks that compare them with a layer's own.

The centred difference ``(f(x + h) - f(x - h)) / 2h`` has an error of order ``h**2`` (the
one-sided ``(f(x + h) - f(x)) / h`` only of order ``h``). All the arithmetic here is done in
float64, and the step divided by is the one actually taken, ``(x + h) - (x - h)`` as stored in
x: in a float32 array ``x + h`` is rounded, and dividing by ``2h`` would add that rounding to
the result.

Functions, cs231n-compatible:

* :func:`eval_numerical_gradient` — gradient of a scalar function ``f(x)``;
* :func:`eval_numerical_gradient_array` — gradient of ``sum(f(x) * df)`` for an array-valued f
  (the gradient a backward pass receiving ``df`` should return);
* :func:`grad_check_sparse` — a few random entries only, for functions too slow to probe at
  every entry; returns the errors;
* :func:`rel_error` — the largest relative error between two arrays;
* :func:`check_layer_gradients` — the one call: run a forward/backward pair and compare every
  input's gradient with the numeric one, raising :class:`GradientCheckError` that names the
  array, the worst index and both values when they disagree.

The functions perturb ``x`` in place and call ``f`` again, as in cs231n (so a closure over x
sees the change); x is always restored, also when f raises.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .backend import np, to_host, xp_of
from .validate import check_float_array

__all__ = [
    "GradientCheckError", "rel_error", "eval_numerical_gradient", "eval_numerical_gradient_array",
    "grad_check_sparse", "check_layer_gradients",
]

#: denominators of relative errors never go below this, so that two numbers both (nearly)
#: zero compare as equal instead of as 0/0 (cs231n uses the same floor)
REL_ERROR_FLOOR = 1e-8

#: in check_layer_gradients, an entry far smaller than the largest of its array is judged
#: relative to this fraction of that largest entry instead of relative to itself (see there)
SCALE_FLOOR = 1e-3


class GradientCheckError(AssertionError):
    """An analytic gradient disagrees with the numeric one. Raised explicitly (not by
    ``assert``), so it is not switched off by ``python -O``."""


def _relative_errors(x: Any, y: Any, floor: float = REL_ERROR_FLOOR) -> Any:
    """Elementwise ``|x - y| / max(|x| + |y|, floor)`` in float64 on the host; NaN or inf on
    either side gives an infinite error (a gradient that is NaN is never right)."""
    a = np.asarray(to_host(x), dtype=np.float64)
    b = np.asarray(to_host(y), dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error needs two arrays of the same shape, got {a.shape} and "
                         f"{b.shape}")
    with np.errstate(invalid="ignore"):
        err = np.abs(a - b) / np.maximum(floor, np.abs(a) + np.abs(b))
    return np.where(np.isfinite(a) & np.isfinite(b), err, np.inf)


def rel_error(x: Any, y: Any) -> float:
    """The largest elementwise relative error ``|x - y| / max(|x| + |y|, 1e-8)``.

    0 when both are 0 (never NaN); ``inf`` when either holds NaN or inf. Scalars, NumPy and
    CuPy arrays are accepted; both must have the same shape.
    """
    err = _relative_errors(x, y)
    return float(err.max()) if err.size else 0.0


def _writable_float(x: Any, name: str) -> None:
    check_float_array(x, name)
    flags = getattr(x, "flags", None)
    if flags is not None and hasattr(flags, "writeable") and not flags.writeable:
        raise ValueError(f"{name} must be writable: the numeric gradient perturbs it in place")


def _centred_difference(f: Callable[[Any], Any], x: Any, ix: tuple, h: float,
                        project: Callable[[Any, Any], float]) -> float:
    """``project(f(x+h), f(x-h)) / step`` at entry ``ix``: ``project`` turns the two values
    of f into the float64 difference between them. The entry is restored afterwards, even
    when f raises."""
    old = x[ix].copy()
    try:
        x[ix] = old + h
        # copies: f may return x itself (an identity layer), which the next change of x would alter
        plus_step, f_plus = float(x[ix]), _snapshot(f(x))
        x[ix] = old - h
        minus_step, f_minus = float(x[ix]), _snapshot(f(x))
    finally:
        x[ix] = old
    step = plus_step - minus_step
    if step == 0:
        raise ValueError(f"h = {h:g} is below the precision of x (dtype {x.dtype}) at index {ix} "
                         f"(value {float(old):g}); use a larger h or a float64 copy of x")
    return project(f_plus, f_minus) / step


def _snapshot(value: Any) -> Any:
    return value.copy() if hasattr(value, "shape") and hasattr(value, "copy") else value


def _scalar_difference(f_plus: Any, f_minus: Any) -> float:
    return float(f_plus) - float(f_minus)


def eval_numerical_gradient(f: Callable[[Any], Any], x: Any, verbose: bool = False,
                            h: float = 1e-5) -> Any:
    """Numeric gradient of a scalar function ``f`` at ``x``, by centred differences.

    Inputs:
    - f: function of one argument (x) returning a number
    - x: float array, perturbed in place one entry at a time (and restored)
    - verbose: print each entry's gradient as it is computed
    - h: the step

    Returns:
    - grad: float64 array of x's shape
    """
    _writable_float(x, "x")
    xp = xp_of(x)
    grad = xp.zeros(x.shape, dtype=xp.float64)
    for ix in np.ndindex(*x.shape):
        grad[ix] = _centred_difference(f, x, ix, h, _scalar_difference)
        if verbose:
            print(ix, float(grad[ix]))
    return grad


def eval_numerical_gradient_array(f: Callable[[Any], Any], x: Any, df: Any,
                                  h: float = 1e-5) -> Any:
    """Numeric gradient of ``sum(f(x) * df)`` at ``x``: what a backward pass given the
    upstream gradient ``df`` should return for x.

    Inputs:
    - f: function of one argument (x) returning an array of df's shape
    - x: float array, perturbed in place one entry at a time (and restored)
    - df: upstream gradient, same shape as f(x)
    - h: the step

    Returns:
    - grad: float64 array of x's shape
    """
    _writable_float(x, "x")
    check_float_array(df, "df")
    xp = xp_of(x, df)
    df64 = df.astype(xp.float64)

    def project(f_plus: Any, f_minus: Any) -> float:
        if tuple(f_plus.shape) != tuple(df.shape):
            raise ValueError(f"f(x) has shape {tuple(f_plus.shape)} but df has shape "
                             f"{tuple(df.shape)}")
        # subtract first: outputs that x[ix] does not touch cancel exactly, adding no rounding
        return float(((f_plus.astype(xp.float64) - f_minus.astype(xp.float64)) * df64).sum())

    grad = xp.zeros(x.shape, dtype=xp.float64)
    for ix in np.ndindex(*x.shape):
        grad[ix] = _centred_difference(f, x, ix, h, project)
    return grad


def grad_check_sparse(f: Callable[[Any], Any], x: Any, analytic_grad: Any, num_checks: int = 10,
                      h: float = 1e-5, seed: int = 0, verbose: bool = False) -> Any:
    """Compare ``analytic_grad`` with centred differences of the scalar function ``f`` at
    ``num_checks`` random entries of x (drawn with ``seed``).

    Returns:
    - errors: float64 array of the ``num_checks`` relative errors, in the order checked
      (printed too, with both values, when ``verbose``)
    """
    _writable_float(x, "x")
    check_float_array(analytic_grad, "analytic_grad")
    if tuple(analytic_grad.shape) != tuple(x.shape):
        raise ValueError(f"analytic_grad has shape {tuple(analytic_grad.shape)} but x has shape "
                         f"{tuple(x.shape)}")
    rng = np.random.default_rng(seed)
    errors = np.zeros(num_checks)
    for k in range(num_checks):
        ix = tuple(int(rng.integers(n)) for n in x.shape)
        numeric = _centred_difference(f, x, ix, h, _scalar_difference)
        analytic = float(analytic_grad[ix])
        errors[k] = rel_error(numeric, analytic)
        if verbose:
            print(f"index {ix}: numerical {numeric:f} analytic {analytic:f}, "
                  f"relative error {errors[k]:e}")
    return errors


def check_layer_gradients(forward: Callable[..., tuple], backward: Callable[..., Any],
                          inputs: Mapping[str, Any], *params: Any, dout_seed: int = 0,
                          tol: float = 1e-7, h: float = 1e-5) -> dict[str, float]:
    """Check every input gradient of a forward/backward pair against centred differences.

    Runs ``out, cache = forward(*inputs.values(), *params)`` on float64 copies of the inputs,
    draws an upstream gradient ``dout`` (standard normal, seeded by ``dout_seed``), runs
    ``backward(dout, cache)`` and compares its gradients, in input order, with the numeric
    gradients of ``sum(out * dout)``.

    Inputs:
    - forward, backward: a layer pair, e.g. conv_forward_naive, conv_backward_naive
    - inputs: the arrays to differentiate, by name, in the forward's argument order,
      e.g. {'x': x, 'w': w, 'b': b}; they are copied, never changed
    - params: further arguments of the forward, not differentiated (conv_param, G, ...)
    - dout_seed, tol, h: the upstream gradient's seed, the largest relative error accepted,
      the step

    The error of entry i is ``|a_i - n_i| / max(|a_i| + |n_i|, 1e-3 * g)`` (analytic a,
    numeric n), where g is the largest numeric gradient entry of any input of the layer: each
    entry is measured relative to itself, except entries a thousand times smaller than the
    layer's largest. Those are known only up to the rounding of the layer's outputs (about
    1e-10 absolutely in float64 with h = 1e-5; an exactly-zero gradient, such as a conv bias
    followed by batchnorm, comes out numerically as ~1e-11), so measuring them against
    themselves would fail correct layers. Measured against g/1000, a wrong tiny entry still
    fails as soon as it is off by more than ``tol * g / 1000``.

    Returns:
    - errors: {name: largest relative error}

    Raises :class:`GradientCheckError` naming the array, the worst index, both values and the
    error, when an error exceeds ``tol`` or a gradient has the wrong shape.
    """
    if not isinstance(inputs, Mapping) or not inputs:
        raise TypeError("inputs must be a non-empty dict {name: array} of the forward's inputs")
    for name, a in inputs.items():
        check_float_array(a, f"inputs[{name!r}]")
    xp = xp_of(*inputs.values())
    arrays = {name: xp.array(a, dtype=xp.float64, copy=True) for name, a in inputs.items()}

    def run() -> tuple:
        return forward(*arrays.values(), *params)

    out, cache = run()
    rng = np.random.default_rng(dout_seed)
    dout = xp.asarray(rng.standard_normal(tuple(out.shape)))
    grads = backward(dout, cache)
    if not isinstance(grads, (tuple, list)):
        grads = (grads,)
    names = list(arrays)
    if len(grads) != len(names):
        raise GradientCheckError(f"backward returned {len(grads)} gradients for the "
                                 f"{len(names)} inputs {names}")
    for name, grad in zip(names, grads):
        if tuple(grad.shape) != tuple(arrays[name].shape):
            raise GradientCheckError(f"the gradient of {name!r} has shape {tuple(grad.shape)} but "
                                     f"{name!r} has shape {tuple(arrays[name].shape)}")
    numerics = {name: eval_numerical_gradient_array(lambda _: run()[0], x, dout, h)
                for name, x in arrays.items()}
    # one scale for the whole layer: rounding in its outputs blurs every input's gradient alike
    scale = max(float(np.abs(to_host(n)).max()) if n.size else 0.0 for n in numerics.values())
    floor = max(REL_ERROR_FLOOR, SCALE_FLOOR * scale)
    errors = {}
    for name, grad in zip(names, grads):
        numeric = numerics[name]
        err = _relative_errors(grad, numeric, floor)
        worst = np.unravel_index(int(np.argmax(err)), err.shape) if err.size else ()
        errors[name] = float(err[worst]) if err.size else 0.0
        if not errors[name] <= tol:
            raise GradientCheckError(
                f"gradient of {name!r} (shape {tuple(grad.shape)}) is wrong at index "
                f"{tuple(int(i) for i in worst)}: analytic {float(grad[worst]):.10g}, numeric "
                f"{float(numeric[worst]):.10g}, relative error {errors[name]:.3g} > tol {tol:g}")
    return errors
