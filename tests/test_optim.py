"""Update rules: against step-by-step scalar references written from the formulas, and known
properties (first Adam step = lr * sign(dw), momentum 0 = SGD, convergence on a quadratic)."""
import math

import numpy as np
import pytest

from cs231n_lib import optim


def scalar_reference(rule, w, grads, **hp):
    """The same rule, one number at a time with math.sqrt, for a sequence of gradients."""
    w = [float(v) for v in w.ravel()]
    state = [dict() for _ in w]
    for g in grads:
        for i, gi in enumerate(g.ravel()):
            s = state[i]
            if rule == "sgd_momentum":
                s["v"] = hp["momentum"] * s.get("v", 0.0) - hp["learning_rate"] * gi
                w[i] += s["v"]
            elif rule == "rmsprop":
                d = hp["decay_rate"]
                s["c"] = d * s.get("c", 0.0) + (1 - d) * gi * gi
                w[i] -= hp["learning_rate"] * gi / (math.sqrt(s["c"]) + hp["epsilon"])
            elif rule == "adam":
                s["t"] = s.get("t", 0) + 1
                s["m"] = hp["beta1"] * s.get("m", 0.0) + (1 - hp["beta1"]) * gi
                s["v"] = hp["beta2"] * s.get("v", 0.0) + (1 - hp["beta2"]) * gi * gi
                m_hat = s["m"] / (1 - hp["beta1"] ** s["t"])
                v_hat = s["v"] / (1 - hp["beta2"] ** s["t"])
                w[i] -= hp["learning_rate"] * m_hat / (math.sqrt(v_hat) + hp["epsilon"])
    return np.array(w)


HYPER = {
    "sgd_momentum": {"learning_rate": 1e-3, "momentum": 0.9},
    "rmsprop": {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8},
    "adam": {"learning_rate": 1e-2, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
}


@pytest.mark.parametrize("rule", sorted(HYPER))
def test_rules_match_the_scalar_reference_over_several_steps(rule):
    rng = np.random.default_rng(0)
    w = np.linspace(-0.4, 0.6, 20).reshape(4, 5)
    grads = [rng.standard_normal((4, 5)) for _ in range(5)]
    config = dict(HYPER[rule])
    out = w
    for g in grads:
        out, config = getattr(optim, rule)(out, g, config)
    expected = scalar_reference(rule, w, grads, **HYPER[rule]).reshape(4, 5)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-14)


def test_sgd_is_one_step_down_the_gradient():
    w, dw = np.ones(3), np.array([1.0, -2.0, 0.0])
    next_w, config = optim.sgd(w, dw, {"learning_rate": 0.5})
    np.testing.assert_array_equal(next_w, [0.5, 2.0, 1.0])
    assert optim.sgd(w, dw)[1] == {"learning_rate": 1e-2}  # defaults filled in


def test_momentum_zero_is_plain_sgd():
    rng = np.random.default_rng(1)
    w = rng.standard_normal(6)
    a, b, cfg = w, w, {"learning_rate": 0.1, "momentum": 0.0}
    for _ in range(3):
        g = rng.standard_normal(6)
        a, cfg = optim.sgd_momentum(a, g, cfg)
        b, _ = optim.sgd(b, g, {"learning_rate": 0.1})
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-15)


def test_first_adam_step_moves_every_weight_by_the_learning_rate():
    w, dw = np.zeros(4), np.array([3.0, -1e-3, 250.0, -7.0])
    next_w, config = optim.adam(w, dw, {"learning_rate": 0.01})
    np.testing.assert_allclose(next_w, -0.01 * np.sign(dw), rtol=1e-5)
    assert config["t"] == 1


def test_first_rmsprop_step_is_scaled_by_one_over_sqrt_one_minus_decay():
    w, dw = np.zeros(3), np.array([5.0, -0.1, 2.0])
    next_w, _ = optim.rmsprop(w, dw, {"learning_rate": 0.01, "decay_rate": 0.99})
    np.testing.assert_allclose(next_w, -0.01 * np.sign(dw) / math.sqrt(0.01), rtol=1e-6)


@pytest.mark.parametrize("rule, lr", [("sgd", 0.1), ("sgd_momentum", 0.05), ("rmsprop", 0.01),
                                      ("adam", 0.05)])
def test_every_rule_minimizes_a_quadratic(rule, lr):
    target = np.array([1.0, -2.0, 3.0])
    w, config = np.zeros(3), {"learning_rate": lr}
    for _ in range(2000):
        w, config = optim.UPDATE_RULES[rule](w, 2 * (w - target), config)
    np.testing.assert_allclose(w, target, atol=1e-2)


@pytest.mark.parametrize("rule", sorted(optim.UPDATE_RULES))
def test_float32_stays_float32_and_input_is_not_changed(rule):
    w = np.ones((2, 3), dtype=np.float32)
    dw = np.full((2, 3), 0.5, dtype=np.float32)
    before = w.copy()
    next_w, config = optim.UPDATE_RULES[rule](w, dw, None)
    assert next_w.dtype == np.float32 and next_w.shape == (2, 3)
    np.testing.assert_array_equal(w, before)
    for value in config.values():
        if isinstance(value, np.ndarray):
            assert value.dtype == np.float32


def test_bad_config_and_shapes_are_clear_errors():
    w = np.zeros(3)
    with pytest.raises(ValueError, match="unknown key 'lr'"):
        optim.sgd(w, w, {"lr": 0.1})
    with pytest.raises(ValueError, match="learning_rate"):
        optim.adam(w, w, {"learning_rate": -1})
    with pytest.raises(ValueError, match=r"dw has shape \(2,\) but w has shape \(3,\)"):
        optim.rmsprop(w, np.zeros(2))
    with pytest.raises(TypeError, match="config must be a dict"):
        optim.sgd_momentum(w, w, [0.1])
