"""The checks of the test cells: each passes on a right answer and, on a wrong one, raises an
AssertionError that says what was checked, what was expected and what came back."""
import re

import numpy as np
import pytest

from cs231n_lib.expect import (expect_close, expect_equal, expect_instance, expect_raises,
                               expect_shape, expect_true)


def fails(message):
    """pytest.raises for an AssertionError whose text is exactly ``message``."""
    return pytest.raises(AssertionError, match="^" + re.escape(message) + "$")


class YesToEverything:
    """A student's object that claims to equal anything."""

    def __eq__(self, other):
        return True

    __hash__ = None


def test_equal_passes_on_numbers_arrays_and_shapes():
    expect_equal(3073, 3073, "fc_layer_params((3, 32, 32), 1)")
    expect_equal(np.int64(76), 76.0, "a NumPy integer equals the same float")
    expect_equal(np.arange(6).reshape(2, 3), np.arange(6).reshape(2, 3), "cols")
    expect_equal((4, 4, 2), (4, 4, 2), "V.shape")
    expect_equal("abc", "abc", "a string")


def test_equal_says_expected_why_got_and_hint():
    with fails("local_neuron on an all-ones window: expected 76 (75 weights + bias 1), got 75.0"
               " — did you add the bias?"):
        expect_equal(75.0, 76, "local_neuron on an all-ones window", "did you add the bias?",
                     why="75 weights + bias 1")


def test_equal_on_arrays_names_the_shape_then_the_first_entry_that_differs():
    with fails("cols: expected shape (2, 3), got shape (3, 2)"):
        expect_equal(np.zeros((3, 2)), np.zeros((2, 3)), "cols")
    wrong = np.arange(6).reshape(2, 3)
    wrong[1, 1] = 40
    with fails("cols: 1 of 6 entries differ; the first is at [1, 1]: expected 4, got 40"):
        expect_equal(wrong, np.arange(6).reshape(2, 3), "cols")
    with fails("V.shape: expected (4, 4, 2), got (4, 4)"):
        expect_equal((4, 4), (4, 4, 2), "V.shape")
    with fails("n: expected a single value, 76, got [76]"):
        expect_equal(np.array([76]), 76, "n")


def test_equal_names_a_missing_return_and_never_asks_the_student_object():
    with fails("f(): expected 3, got None (nothing was returned: is a `return` missing?)"):
        expect_equal(None, 3, "f()")
    with fails("f(): expected 3, got a YesToEverything"):
        expect_equal(YesToEverything(), 3, "f()")


def test_equal_refuses_an_expected_value_it_cannot_compare():
    with pytest.raises(TypeError, match="compares numbers, strings and arrays"):
        expect_equal(None, None, "nothing")


def test_close_passes_within_the_tolerance():
    expect_close(0.1 + 0.2, 0.3, "float64 rounding")
    expect_close(np.ones((2, 3)) * (1 + 1e-9), np.ones((2, 3)), "out")
    expect_close([1.0, 2.0], np.array([1.0, 2.0]), "a list of numbers")


def test_close_checks_the_shape_first():
    with fails("conv_forward: expected an array of shape (1, 2, 3, 3), got shape (1, 2, 5, 5)"
               " — H_out = (H - F + 2P)/S + 1"):
        expect_close(np.zeros((1, 2, 5, 5)), np.zeros((1, 2, 3, 3)), "conv_forward",
                     hint="H_out = (H - F + 2P)/S + 1")
    with fails("ragged: expected an array of shape (2,), got a list of length 2"):
        expect_close([[1.0, 2.0], [3.0]], np.ones(2), "ragged")


def test_close_names_the_largest_difference_and_where_it_is():
    got = np.ones((2, 3))
    got[0, 2] += 1e-3
    got[1, 0] += 0.5
    with fails("out: 2 of 6 entries are off; the worst is at [1, 0]: expected 1 (the reference),"
               " got 1.5"):
        expect_close(got, np.ones((2, 3)), "out", why="the reference")
    with fails("x: expected 0.5 (the bias), got 0"):
        expect_close(0.0, 0.5, "x", why="the bias")


def test_close_says_the_tolerance_of_a_near_miss():
    with fails("x: expected 1.0, got 1.000001 (off by 1e-06, allowed 1.1e-07)"):
        expect_close(1 + 1e-6, 1.0, "x", rtol=1e-7, atol=1e-8)
    # equal to six digits: all of them are shown (and with no tolerance, none is mentioned)
    with fails("x: expected 0.3, got 0.3000000000001"):
        expect_close(0.3000000000001, 0.3, "x", rtol=0, atol=0)


def test_close_never_passes_nan():
    with fails("out: 1 of 2 entries are off; the worst is at [1]: expected 2, got nan"):
        expect_close(np.array([1.0, np.nan]), np.array([1.0, 2.0]), "out")


def test_shape():
    expect_shape(np.zeros((4, 4, 2)), (4, 4, 2), "V")
    with fails("V: expected shape (4, 4, 2), got shape (4, 4) — one map per filter"):
        expect_shape(np.zeros((4, 4)), (4, 4, 2), "V", "one map per filter")
    with fails("V: expected an array of shape (4, 4, 2), got None (nothing was returned: is a "
               "`return` missing?)"):
        expect_shape(None, (4, 4, 2), "V")


def test_instance():
    expect_instance(5, (int, np.integer), "my_output_size(7, 3)")
    expect_instance(np.int64(5), (int, np.integer), "my_output_size(7, 3)")
    with fails("my_output_size(7, 3): expected an int or a NumPy integer, got a float (5.0)"
               " — use //"):
        expect_instance(5.0, (int, np.integer), "my_output_size(7, 3)", "use //")
    with fails("conv1d: expected a NumPy array, got a list ([1, 2])"):
        expect_instance([1, 2], np.ndarray, "conv1d")
    with fails("conv1d: expected a NumPy array, got a list of length 30"):
        expect_instance(list(range(30)), np.ndarray, "conv1d")


def test_true():
    expect_true(True, "fine")
    expect_true(np.array([True, True]), "all true")
    with fails("the message should show 4.5; it was 'bad' — use an f-string"):
        expect_true(False, "the message should show 4.5; it was 'bad'", "use an f-string")


def test_raises_returns_the_exception():
    err = expect_raises(ValueError, lambda: int("4.5"), "int('4.5')")
    assert isinstance(err, ValueError) and "4.5" in str(err)


def test_raises_says_what_came_back_instead():
    with fails("same_padding(2): expected ValueError, but it returned 0 — raise for even F"):
        expect_raises(ValueError, lambda: 0, "same_padding(2)", "raise for even F")
    with fails("same_padding(2): expected ValueError, but it raised ZeroDivisionError: "
               "division by zero"):
        expect_raises(ValueError, lambda: 1 / 0, "same_padding(2)")


def test_raises_lets_an_unsolved_exercise_through():
    def stub():
        raise NotImplementedError("replace this line with your solution")

    with pytest.raises(NotImplementedError, match="your solution"):
        expect_raises(ValueError, stub, "same_padding(2)")


def test_failures_are_not_chained():
    """The student reads one message: no 'During handling of the above exception'."""
    for check in (lambda: expect_raises(ValueError, lambda: 1 / 0, "f()"),
                  lambda: expect_close([[1.0], []], np.ones(1), "f()"),
                  lambda: expect_equal(1, 2, "f()")):
        with pytest.raises(AssertionError) as info:
            check()
        assert info.value.__cause__ is None and info.value.__suppress_context__
