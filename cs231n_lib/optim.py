"""First-order update rules, with the cs231n interface::

    next_w, config = update(w, dw, config)

Inputs:
- w: the current weights (any shape; NumPy or CuPy).
- dw: the gradient of the loss with respect to ``w`` (same shape).
- config: a dict of hyperparameters (learning rate, decay rates ...) and of the state the rule
  keeps between steps (velocity, caches, step count). ``None`` means all defaults. Unknown keys
  are an error, so that a misspelt hyperparameter is not silently ignored.

Returns a tuple of:
- next_w: the updated weights, same shape and dtype as ``w``.
- config: the config to pass to the next call (defaults filled in, state updated).

The state arrays live on the same device as ``w``; nothing is copied to the host.
"""
from __future__ import annotations

from typing import Any

from .backend import xp_of
from .validate import check_params, check_same_shape

__all__ = ["sgd", "sgd_momentum", "rmsprop", "adam", "UPDATE_RULES"]


def _config(config: dict | None, defaults: dict[str, Any], w: Any, dw: Any) -> dict:
    check_same_shape(dw, "dw", w, "w")
    config = check_params({} if config is None else config, "config", optional=defaults)
    rate = config["learning_rate"]
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate < 0:
        raise ValueError(f"config['learning_rate'] must be a number >= 0, got {rate!r}")
    return config


def sgd(w: Any, dw: Any, config: dict | None = None) -> tuple[Any, dict]:
    """Vanilla stochastic gradient descent: ``w -= learning_rate * dw``.

    config: learning_rate (1e-2).
    """
    config = _config(config, {"learning_rate": 1e-2}, w, dw)
    return w - config["learning_rate"] * dw, config


def sgd_momentum(w: Any, dw: Any, config: dict | None = None) -> tuple[Any, dict]:
    """SGD with momentum: a velocity accumulates the gradients and decays by ``momentum``
    each step; the weights move along the velocity::

        v = momentum * v - learning_rate * dw
        w = w + v

    config: learning_rate (1e-2), momentum (0.9; 0 gives plain SGD), velocity (state, starts
    at zero).
    """
    config = _config(config, {"learning_rate": 1e-2, "momentum": 0.9, "velocity": None}, w, dw)
    v = config["velocity"]
    if v is None:
        v = xp_of(w).zeros_like(w)
    v = config["momentum"] * v - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def rmsprop(w: Any, dw: Any, config: dict | None = None) -> tuple[Any, dict]:
    """RMSProp: divide each step by a running root-mean-square of that weight's gradients, so
    that weights with large gradients take smaller steps::

        cache = decay_rate * cache + (1 - decay_rate) * dw**2
        w = w - learning_rate * dw / (sqrt(cache) + epsilon)

    config: learning_rate (1e-2), decay_rate (0.99), epsilon (1e-8), cache (state).
    """
    config = _config(config, {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8,
                              "cache": None}, w, dw)
    xp = xp_of(w, dw)
    cache = config["cache"]
    if cache is None:
        cache = xp.zeros_like(w)
    decay = config["decay_rate"]
    cache = decay * cache + (1 - decay) * dw * dw
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (xp.sqrt(cache) + config["epsilon"]), config


def adam(w: Any, dw: Any, config: dict | None = None) -> tuple[Any, dict]:
    """Adam: momentum on the gradient (first moment ``m``) and RMSProp's scaling (second moment
    ``v``), both corrected for starting at zero::

        t += 1
        m = beta1 * m + (1 - beta1) * dw
        v = beta2 * v + (1 - beta2) * dw**2
        w = w - learning_rate * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + epsilon)

    config: learning_rate (1e-3), beta1 (0.9), beta2 (0.999), epsilon (1e-8), m, v (state),
    t (the step count, starts at 0).
    """
    config = _config(config, {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999,
                              "epsilon": 1e-8, "m": None, "v": None, "t": 0}, w, dw)
    xp = xp_of(w, dw)
    m = xp.zeros_like(w) if config["m"] is None else config["m"]
    v = xp.zeros_like(w) if config["v"] is None else config["v"]
    t = config["t"] + 1
    b1, b2 = config["beta1"], config["beta2"]
    m = b1 * m + (1 - b1) * dw
    v = b2 * v + (1 - b2) * dw * dw
    m_hat = m / (1 - b1 ** t)  # early steps average over fewer gradients: undo the pull to 0
    v_hat = v / (1 - b2 ** t)
    config.update(m=m, v=v, t=t)
    return w - config["learning_rate"] * m_hat / (xp.sqrt(v_hat) + config["epsilon"]), config


#: name -> update rule, for Solver(update_rule="adam")
UPDATE_RULES = {"sgd": sgd, "sgd_momentum": sgd_momentum, "rmsprop": rmsprop, "adam": adam}
