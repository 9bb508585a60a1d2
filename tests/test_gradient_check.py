"""The gradient checkers: exact on functions with known derivatives, and loud on wrong ones."""
import subprocess
import sys

import numpy as np
import pytest

from cs231n_lib.gradient_check import (GradientCheckError, check_layer_gradients,
                                       eval_numerical_gradient, eval_numerical_gradient_array,
                                       grad_check_sparse, rel_error)
from cs231n_lib.layers import (affine_backward, affine_forward, dropout_backward, dropout_forward,
                               relu_forward)


def gen(seed=0):
    return np.random.default_rng(seed)


# ----------------------------------------------------------------------------------------------
# rel_error
# ----------------------------------------------------------------------------------------------
def test_rel_error_values():
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0
    assert rel_error(np.array([1.0, 3.0]), np.array([1.0, 1.0])) == pytest.approx(0.5)  # 2 / 4
    assert rel_error(np.array([1.0, 3.0]), np.array([1.0, 1.0])) == rel_error(np.array([1.0, 1.0]),
                                                                              np.array([1.0, 3.0]))
    assert rel_error(2.0, 2.0) == 0.0 and rel_error(1.0, -1.0) == pytest.approx(1.0)
    assert rel_error(np.zeros(0), np.zeros(0)) == 0.0


def test_rel_error_is_zero_not_nan_when_both_are_zero():
    assert rel_error(np.zeros((3, 2)), np.zeros((3, 2))) == 0.0
    assert rel_error(0.0, 0.0) == 0.0
    assert rel_error(np.zeros(2, dtype=np.float32), np.zeros(2)) == 0.0


def test_rel_error_is_infinite_not_nan_on_nan_or_inf():
    for bad in (np.nan, np.inf):
        err = rel_error(np.array([1.0, bad]), np.array([1.0, 2.0]))
        assert err == np.inf
        assert not err < 1e-7  # a `< tol` check fails, as it must
    assert rel_error(np.array([np.nan]), np.array([np.nan])) == np.inf


def test_rel_error_refuses_different_shapes():
    with pytest.raises(ValueError, match=r"same shape.*\(3,\).*\(3, 1\)"):
        rel_error(np.zeros(3), np.zeros((3, 1)))


# ----------------------------------------------------------------------------------------------
# Numeric gradients
# ----------------------------------------------------------------------------------------------
def test_eval_numerical_gradient_of_known_functions():
    x = 1 + gen(1).random((3, 4))  # entries of the gradient well away from 0 (see rel_error)
    grad = eval_numerical_gradient(lambda v: float(np.sum(v ** 3)), x)
    assert rel_error(grad, 3 * x ** 2) < 1e-8
    assert grad.dtype == np.float64 and grad.shape == x.shape


def test_eval_numerical_gradient_restores_x_even_when_f_raises():
    x = gen(2).standard_normal(5)
    original = x.copy()
    eval_numerical_gradient(lambda v: float(np.sum(np.sin(v))), x)
    assert np.array_equal(x, original)
    calls = []

    def explodes(v):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return float(v.sum())

    with pytest.raises(RuntimeError, match="boom"):
        eval_numerical_gradient(explodes, x)
    assert np.array_equal(x, original)


def test_eval_numerical_gradient_verbose_prints_each_entry(capsys):
    eval_numerical_gradient(lambda v: float(v.sum()), np.zeros(2), verbose=True)
    assert capsys.readouterr().out.count("\n") == 2


def test_float32_input_is_differenced_in_float64_with_the_step_actually_taken():
    # 1 + 1e-3 is not representable in float32; dividing by 2h would be off by ~1e-5 relative
    x = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    grad = eval_numerical_gradient(lambda v: float(np.sum(v.astype(np.float64) * 7)), x, h=1e-3)
    assert grad.dtype == np.float64
    assert rel_error(grad, np.full(3, 7.0)) < 1e-12


def test_step_below_the_precision_of_x_is_refused():
    x = np.array([1000.0], dtype=np.float32)
    with pytest.raises(ValueError, match="h = 1e-05 is below the precision of x"):
        eval_numerical_gradient(lambda v: float(v.sum()), x)


def test_eval_numerical_gradient_array_is_the_backward_pass():
    r = gen(3)
    x, w, b = r.standard_normal((4, 3)), r.standard_normal((3, 2)), r.standard_normal(2)
    dout = r.standard_normal((4, 2))
    dx_num = eval_numerical_gradient_array(lambda v: affine_forward(v, w, b)[0], x, dout)
    dw_num = eval_numerical_gradient_array(lambda v: affine_forward(x, v, b)[0], w, dout)
    assert rel_error(dx_num, dout @ w.T) < 1e-9
    assert rel_error(dw_num, x.T @ dout) < 1e-9
    with pytest.raises(ValueError, match=r"f\(x\) has shape \(4, 2\) but df has shape \(2, 4\)"):
        eval_numerical_gradient_array(lambda v: affine_forward(v, w, b)[0], x, dout.T.copy())


def test_a_function_returning_x_itself_is_differenced_correctly():
    # an identity layer may hand back its input; perturbing x again must not change f(x + h)
    x = gen(7).standard_normal((2, 3))
    df = gen(8).standard_normal((2, 3))
    assert rel_error(eval_numerical_gradient_array(lambda v: v, x, df), df) < 1e-9
    assert check_layer_gradients(dropout_forward, dropout_backward, {"x": x},
                                 {"p": 0.5, "mode": "test"})["x"] < 1e-9


def test_eval_numerical_gradient_refuses_integer_and_read_only_x():
    with pytest.raises(TypeError, match="x must be a float array"):
        eval_numerical_gradient(lambda v: 0.0, np.arange(3))
    x = np.zeros(3)
    x.flags.writeable = False
    with pytest.raises(ValueError, match="x must be writable"):
        eval_numerical_gradient(lambda v: 0.0, x)


def test_grad_check_sparse_returns_errors_and_catches_a_wrong_gradient(capsys):
    r = gen(4)
    x = 1 + r.random((5, 6))
    f = lambda v: float(np.sum(v ** 2))
    errors = grad_check_sparse(f, x, 2 * x, num_checks=7, seed=1)
    assert errors.shape == (7,) and np.all(errors < 1e-8)
    assert capsys.readouterr().out == ""  # silent unless asked
    again = grad_check_sparse(f, x, 2 * x, num_checks=7, seed=1)
    assert np.array_equal(errors, again)  # the same entries with the same seed
    wrong = grad_check_sparse(f, x, 3 * x, num_checks=7, seed=1, verbose=True)
    assert np.all(wrong > 0.1)
    assert "relative error" in capsys.readouterr().out
    with pytest.raises(ValueError, match="analytic_grad has shape"):
        grad_check_sparse(f, x, x.T, num_checks=2)


# ----------------------------------------------------------------------------------------------
# check_layer_gradients: the one call
# ----------------------------------------------------------------------------------------------
def affine_inputs(seed=5):
    r = gen(seed)
    return {"x": r.standard_normal((3, 2, 2)), "w": r.standard_normal((4, 5)), "b": r.standard_normal(5)}


def test_check_layer_gradients_passes_a_correct_layer_and_reports_each_error():
    inputs = affine_inputs()
    copies = {k: v.copy() for k, v in inputs.items()}
    errors = check_layer_gradients(affine_forward, affine_backward, inputs)
    assert set(errors) == {"x", "w", "b"} and all(e < 1e-9 for e in errors.values())
    assert all(np.array_equal(inputs[k], copies[k]) for k in inputs)  # inputs never change


def broken_backward(index):
    """affine_backward with one entry of dw off by 1e-3."""
    def backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        dw = dw.copy()
        dw[index] += 1e-3
        return dx, dw, db
    return backward


def test_check_layer_gradients_names_array_worst_index_values_and_error():
    with pytest.raises(GradientCheckError) as info:
        check_layer_gradients(affine_forward, broken_backward((2, 3)), affine_inputs())
    message = str(info.value)
    assert "'w'" in message and "index (2, 3)" in message
    assert "analytic" in message and "numeric" in message and "relative error" in message
    # the numbers in the message are the right ones
    inputs = affine_inputs()
    out, cache = affine_forward(*inputs.values())
    dout = np.random.default_rng(0).standard_normal(out.shape)
    true_dw = affine_backward(dout, cache)[1][2, 3]
    assert f"analytic {true_dw + 1e-3:.10g}" in message
    assert isinstance(info.value, AssertionError)


def test_check_layer_gradients_catches_a_tiny_error_in_a_tiny_entry():
    # the scale floor must not hide a wrong entry that is small compared to the rest
    def backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return dx, dw, db * np.array([1, 1, 1, 1, 1 + 1e-5])
    with pytest.raises(GradientCheckError, match="'b'.*index \\(4,\\)"):
        check_layer_gradients(affine_forward, backward, affine_inputs())


def test_the_scale_floor_is_a_thousandth_of_the_largest_gradient():
    """Documented contract: an entry is judged relative to max(|a| + |n|, g/1000), g the largest
    gradient entry. Here g = 0.126 (|dout[0]|); an entry a million times smaller, off by 2e-10
    (far above this linear layer's rounding, ~1e-12), must fail at tol 1e-7:
    2e-10 / (g/1000) is 1.6e-6. (A floor of g/10 would let it pass with 1.6e-8.)"""
    scales = np.array([1.0, 1e-6])
    forward = lambda x: (x * scales, None)
    exact = lambda dout, cache: dout * scales
    x = np.array([0.3, 0.7])
    assert check_layer_gradients(forward, exact, {"x": x})["x"] < 1e-9

    def off(dout, cache):
        return dout * scales + np.array([0.0, 2e-10])
    with pytest.raises(GradientCheckError, match=r"'x'.*index \(1,\)"):
        check_layer_gradients(forward, off, {"x": x})


def test_check_layer_gradients_is_raised_explicitly_even_under_python_O():
    code = (
        "import numpy as np\n"
        "from cs231n_lib.gradient_check import check_layer_gradients, GradientCheckError\n"
        "from cs231n_lib.layers import relu_forward\n"
        "try:\n"
        "    check_layer_gradients(relu_forward, lambda d, c: 2 * d, {'x': np.ones(3)})\n"
        "except GradientCheckError as e:\n"
        "    print('raised', e)\n"
    )
    out = subprocess.run([sys.executable, "-O", "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("raised gradient of 'x'")


def test_check_layer_gradients_shape_and_count_mistakes():
    with pytest.raises(GradientCheckError, match="gradient of 'w' has shape \\(5, 4\\) but 'w' has shape \\(4, 5\\)"):
        check_layer_gradients(affine_forward,
                              lambda d, c: (lambda g: (g[0], g[1].T, g[2]))(affine_backward(d, c)),
                              affine_inputs())
    with pytest.raises(GradientCheckError, match=r"backward returned 2 gradients for the 3 inputs"):
        check_layer_gradients(affine_forward, lambda d, c: affine_backward(d, c)[:2], affine_inputs())
    with pytest.raises(TypeError, match="inputs must be a non-empty dict"):
        check_layer_gradients(affine_forward, affine_backward, [np.ones(2)])


def test_check_layer_gradients_works_in_float64_even_for_float32_inputs():
    # float32 differences would give errors near 1e-3; the check copies the inputs to float64
    inputs = {k: v.astype(np.float32) for k, v in affine_inputs().items()}
    errors = check_layer_gradients(affine_forward, affine_backward, inputs)
    assert max(errors.values()) < 1e-9


def test_check_layer_gradients_single_gradient_layers_and_params():
    x = gen(6).standard_normal((4, 3)) + 3  # positive: away from the ReLU kink
    assert check_layer_gradients(relu_forward, lambda d, c: d * (c > 0), {"x": x})["x"] < 1e-9
    with pytest.raises(GradientCheckError, match="'x'"):
        check_layer_gradients(relu_forward, lambda d, c: 0 * d, {"x": x})
