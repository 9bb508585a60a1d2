"""Geometry: the output-size and receptive-field rules as properties (checked against the
layers themselves), and every worked number of the notes about sizes, counts and memory."""
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cs231n_lib.geometry import (ConvGeometryError, activation_count, conv_output_size,
                                 conv_param_count, effective_filter_size, fc_param_count,
                                 fitting_settings, locally_connected_param_count, memory_bytes,
                                 pool_output_size, receptive_field, receptive_fields)
from cs231n_lib.layers import conv_backward_naive, conv_forward_naive

small = st.integers(min_value=1, max_value=40)


# ----------------------------------------------------------------------------------------------
# The output-size rule
# ----------------------------------------------------------------------------------------------
@settings(max_examples=400, deadline=None)
@given(W=small, F=st.integers(1, 12), S=st.integers(1, 6), P=st.integers(0, 6), D=st.integers(1, 4))
def test_output_size_rule(W, F, S, P, D):
    F_eff = D * (F - 1) + 1
    assert effective_filter_size(F, D) == F_eff
    try:
        o = conv_output_size(W, F, S, P, D)
    except ConvGeometryError as exc:
        # it refuses exactly when the window does not fit or the windows do not tile
        assert W + 2 * P < F_eff or (W + 2 * P - F_eff) % S != 0
        message = str(exc)
        if W + 2 * P < F_eff:
            assert f"{F_eff} > {W} + 2*{P} = {W + 2 * P}" in message
        else:  # the arithmetic is shown with its non-whole result
            assert f"({W} - {F_eff} + 2*{P})/{S} + 1 = " in message and "not a whole number" in message
    else:
        assert isinstance(o, int) and o >= 1
        assert (o - 1) * S + F_eff == W + 2 * P  # the last window ends exactly at the padded edge


@settings(max_examples=200, deadline=None)
@given(W=small, F=st.integers(1, 8), S=st.integers(1, 4), P=st.integers(0, 3))
def test_pool_output_size_is_the_same_rule(W, F, S, P):
    try:
        expected = conv_output_size(W, F, S, P)
    except ConvGeometryError:
        with pytest.raises(ConvGeometryError):
            pool_output_size(W, F, S, P)
    else:
        assert pool_output_size(W, F, S, P) == expected


@settings(max_examples=60, deadline=None)
@given(H=st.integers(1, 9), W=st.integers(1, 9), HH=st.integers(1, 4), WW=st.integers(1, 4),
       S=st.tuples(st.integers(1, 3), st.integers(1, 3)), P=st.tuples(st.integers(0, 2), st.integers(0, 2)),
       D=st.tuples(st.integers(1, 3), st.integers(1, 3)))
def test_conv_layer_output_shape_follows_the_rule(H, W, HH, WW, S, P, D):
    x = np.ones((1, 1, H, W))
    w = np.ones((2, 1, HH, WW))
    conv_param = {"stride": S, "pad": P, "dilation": D}
    try:
        expected = (conv_output_size(H, HH, S[0], P[0], D[0]), conv_output_size(W, WW, S[1], P[1], D[1]))
    except ConvGeometryError:
        with pytest.raises(ConvGeometryError):
            conv_forward_naive(x, w, np.zeros(2), conv_param)
        return
    out, _ = conv_forward_naive(x, w, np.zeros(2), conv_param)
    assert out.shape == (1, 2) + expected


@settings(max_examples=200, deadline=None)
@given(W=small, F=st.integers(1, 7), S=st.integers(1, 5), P=st.integers(0, 3), D=st.integers(1, 3))
def test_every_suggested_setting_fits(W, F, S, P, D):
    """The error message's "settings that fit" really fit and give the output they promise."""
    for hint in fitting_settings(W, F, S, P, D):
        name, rest = hint.split("=", 1)
        value, promised = (int(v) for v in rest.replace("(output", "").rstrip(")").split())
        args = {"W": W, "S": S, "P": P, name: value}
        assert conv_output_size(args["W"], F, args["S"], args["P"], D) == promised


def test_counts_accept_numpy_integers():
    assert conv_param_count(np.int64(3), np.int64(2), np.int64(3))["total"] == 3 * 2 * 9 + 2
    assert conv_param_count(3, 2, (np.int64(3), 5))["weights"] == 3 * 2 * 15


# ----------------------------------------------------------------------------------------------
# The receptive-field rule
# ----------------------------------------------------------------------------------------------
@given(n=st.integers(1, 30))
def test_stacked_3x3_stride1_convs_see_2n_plus_1(n):
    assert receptive_field([(3, 1, 1)] * n) == 2 * n + 1


layer = st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(1, 3))  # (F, S, dilation)


@settings(max_examples=40, deadline=None)
@given(layers=st.lists(layer, min_size=1, max_size=3), top=st.integers(1, 3), data=st.data())
def test_receptive_field_matches_the_pixels_that_influence_a_neuron(layers, top, data):
    """Brute force: build the stack on an input just large enough for ``top`` neurons at the
    top, send a gradient from one top neuron back through conv_backward_naive with all-ones
    filters, and measure which input pixels receive any of it."""
    sizes = [top]
    for F, S, D in reversed(layers):  # input size of each layer, from the top down (P = 0)
        sizes.insert(0, (sizes[0] - 1) * S + D * (F - 1) + 1)
    assume(sizes[0] <= 200)
    x = np.ones((1, 1, 1, sizes[0]))
    caches = []
    for F, S, D in layers:
        x, cache = conv_forward_naive(x, np.ones((1, 1, 1, F)), np.zeros(1),
                                      {"stride": (1, S), "pad": 0, "dilation": (1, D)})
        caches.append(cache)
    j = data.draw(st.integers(0, top - 1), label="top neuron")
    grad = np.zeros_like(x)
    grad[0, 0, 0, j] = 1.0
    for cache in reversed(caches):
        grad = conv_backward_naive(grad, cache)[0]
    seen = np.flatnonzero(grad[0, 0, 0])  # all weights are 1: no cancellation can hide a pixel
    field = receptive_fields([(F, S, 0, D) for F, S, D in layers])[-1]
    assert seen.max() - seen.min() + 1 == field.size
    assert seen.min() == field.start + j * field.jump - field.size / 2  # start: centre of neuron 0
    assert receptive_field([(F, S, 0, D) for F, S, D in layers]) == field.size


def test_dilation_grows_the_receptive_field_faster():
    contiguous = receptive_field([(3, 1, 1, 1)] * 3)
    dilated = receptive_field([(3, 1, 1, 1), (3, 1, 2, 2), (3, 1, 4, 4)])  # dilations 1, 2, 4
    assert (contiguous, dilated) == (7, 15)


# ----------------------------------------------------------------------------------------------
# The notes' worked numbers: sizes
# ----------------------------------------------------------------------------------------------
def test_notes_output_sizes():
    assert conv_output_size(7, 3, 1, 0) == 5
    assert conv_output_size(7, 3, 2, 0) == 3
    assert conv_output_size(5, 3, 1, 1) == 5
    assert conv_output_size(5, 3, 2, 1) == 3
    with pytest.raises(ConvGeometryError, match=r"\(5 - 3 \+ 2\*1\)/3 \+ 1 = 7/3"):
        conv_output_size(5, 3, 3, 1)
    with pytest.raises(ConvGeometryError, match=r"\(10 - 3 \+ 2\*0\)/2 \+ 1 = 4\.5 is not a whole number"):
        conv_output_size(10, 3, 2, 0)


def test_notes_numpy_example_and_conv_demo_sizes():
    assert conv_output_size(11, 5, 2, 0) == 4  # X of shape (11, 11, 4), F=5, S=2 -> 4x4
    assert conv_output_size(5, 3, 2, 1) == 3  # the demo: 5x5x3, F=3, S=2, P=1 -> 3x3x2


def test_notes_alexnet_conv1():
    assert conv_output_size(227, 11, 4, 0) == 55
    with pytest.raises(ConvGeometryError, match=r"\(224 - 11 \+ 2\*0\)/4 \+ 1 = 54\.25"):
        conv_output_size(224, 11, 4, 0)


def test_notes_pooling_sizes():
    assert pool_output_size(224, 2, 2) == 112
    assert activation_count((112, 112, 64)) / activation_count((224, 224, 64)) == 0.25
    assert pool_output_size(55, 3, 2) == 27  # the overlapping F=3, S=2 setting (AlexNet)


# ----------------------------------------------------------------------------------------------
# The notes' worked numbers: counts
# ----------------------------------------------------------------------------------------------
def test_notes_fully_connected_weights():
    assert fc_param_count(32 * 32 * 3, 1)["weights"] == 3_072
    assert fc_param_count(200 * 200 * 3, 1)["weights"] == 120_000


def test_notes_receptive_field_connections():
    one_neuron = conv_param_count(C=3, K=1, F=5)
    assert (one_neuron["weights"], one_neuron["biases"]) == (75, 1)
    assert conv_param_count(C=20, K=1, F=3)["weights"] == 180


def test_notes_parameter_sharing_counts():
    neurons = activation_count((55, 55, 96))
    assert neurons == 290_400
    assert conv_param_count(C=3, K=1, F=11)["total"] == 364  # 11*11*3 weights + 1 bias
    local = locally_connected_param_count(C=3, K=96, F=11, H_out=55, W_out=55)
    assert local["total"] == 290_400 * 364 == 105_705_600
    shared = conv_param_count(C=3, K=96, F=11)
    assert (shared["weights"], shared["biases"], shared["total"]) == (34_848, 96, 34_944)


def test_notes_im2col_shapes_from_the_arithmetic():
    per_window = 11 * 11 * 3  # one column of X_col: a stretched-out receptive field
    positions = conv_output_size(227, 11, 4, 0) ** 2  # one column per output position
    assert (per_window, positions) == (363, 3025)
    W_row = (96, conv_param_count(C=3, K=1, F=11)["weights"])
    assert W_row == (96, 363)
    assert (W_row[0], positions) == (96, 3025) and 96 * 3025 == activation_count((55, 55, 96))


def test_notes_small_filter_stacks():
    assert receptive_field([(3, 1, 1)] * 2) == 5
    assert receptive_field([(3, 1, 1)] * 3) == 7


@given(C=st.integers(1, 1024))
def test_notes_three_3x3_cost_27C2_versus_one_7x7_49C2(C):
    three = 3 * conv_param_count(C=C, K=C, F=3, bias=False)["weights"]
    one = conv_param_count(C=C, K=C, F=7, bias=False)["weights"]
    assert (three, one) == (27 * C * C, 49 * C * C)
    assert receptive_field([(3, 1, 1)] * 3) == receptive_field([(7, 1, 3)]) == 7


# ----------------------------------------------------------------------------------------------
# The memory rule
# ----------------------------------------------------------------------------------------------
@given(activations=st.integers(0, 10**9), params=st.integers(0, 10**9), batch=st.integers(1, 256))
def test_memory_rule(activations, params, batch):
    m32 = memory_bytes(activations, params, "float32", batch)
    m64 = memory_bytes(activations, params, "float64", batch)
    assert m32["parameters"] == params * 3 * 4  # values, gradients, optimizer cache
    assert m32["activations"] == activations * batch * 2 * 4  # values and gradients
    assert m64["total"] == 2 * m32["total"]  # 8 bytes instead of 4
    forward_only = memory_bytes(activations, params, np.float32, batch, backward=False)
    assert forward_only == {"activations": activations * batch * 4, "parameters": params * 4,
                            "total": (activations * batch + params) * 4}


def test_notes_three_224x224x64_volumes():
    values = 3 * activation_count((224, 224, 64))
    assert values == 9_633_792 and round(values / 1e6) == 10  # "about 10M"
    mem = memory_bytes(values, 0, "float32")["activations"]  # activations and their gradients
    assert mem == 77_070_336
    # the notes round this to "72MB"; the exact figure is 77.1 MB = 73.5 MiB
    assert math.isclose(mem / 2**20, 73.5, abs_tol=0.01)
