"""Input checks name the argument and the expectation."""
import numpy as np
import pytest

from cs231n_lib import validate as v


def test_params_missing_and_unknown_keys_are_named():
    with pytest.raises(ValueError, match=r"conv_param is missing key 'stride'"):
        v.check_params({"pad": 1}, "conv_param", required=("stride", "pad"))
    with pytest.raises(ValueError, match=r"conv_param has unknown key 'padding'.*'stride', 'pad', 'dilation'"):
        v.check_params({"stride": 1, "pad": 1, "padding": 2}, "conv_param",
                       required=("stride", "pad"), optional={"dilation": 1})
    filled = v.check_params({"stride": 1, "pad": 0}, "conv_param", ("stride", "pad"), {"dilation": 1})
    assert filled == {"stride": 1, "pad": 0, "dilation": 1}
    with pytest.raises(TypeError, match="conv_param must be a dict"):
        v.check_params([1, 2], "conv_param")


def test_integers_refuse_floats_and_bools():
    assert v.check_int(np.int64(3), "S", 1) == 3
    for bad in (2.0, True, "2"):
        with pytest.raises(TypeError, match="S must be an integer"):
            v.check_int(bad, "S")
    with pytest.raises(ValueError, match="S must be >= 1, got 0"):
        v.check_int(0, "S", 1)
    assert v.check_pair((1, 2), "stride") == (1, 2)
    with pytest.raises(ValueError, match="pair"):
        v.check_pair((1, 2, 3), "stride")


def test_arrays_shape_dtype_and_finiteness():
    with pytest.raises(ValueError, match=r"x must be 4-D \(N, C, H, W\), got shape \(2, 3\)"):
        v.check_array(np.zeros((2, 3)), "x", 4, "(N, C, H, W)")
    with pytest.raises(TypeError, match="x must be an array, got list"):
        v.check_array([1, 2], "x")
    with pytest.raises(TypeError, match="float array"):
        v.check_float_array(np.zeros(3, dtype=int), "x")
    with pytest.raises(ValueError, match="scores contains NaN or inf"):
        v.check_finite(np.array([1.0, np.inf]), "scores")
    v.check_finite(np.array([1.0, 2.0]), "scores")


def test_labels_in_range():
    with pytest.raises(ValueError, match=r"labels outside \[0, 3\)"):
        v.check_labels(np.array([0, 3]), 3, 2)
    with pytest.raises(ValueError, match="2 labels but the scores have 3 rows"):
        v.check_labels(np.array([0, 1]), 3, 3)
    with pytest.raises(TypeError, match="integer class labels"):
        v.check_labels(np.array([0.0, 1.0]), 3, 2)
    v.check_labels(np.array([0, 2]), 3, 2)
