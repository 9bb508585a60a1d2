"""The layer table (models.KINDS): every kind is one record, and the parser, summary and
Sequential agree with it and with the reference layers of cs231n_lib.layers."""
import math

import numpy as np
import pytest

from cs231n_lib import layers as L
from cs231n_lib.gradient_check import eval_numerical_gradient, rel_error
from cs231n_lib.models import (KINDS, Kind, Layer, Sequential, SpecError, as_spec, avgpool,
                               batchnorm, conv, dropout, fc, inception, input_layer, parse, pool,
                               relu, residual, summary)
from cs231n_lib.models.spec import param_counts

# One layer of every kind, with settings away from the defaults, and the (C, H, W) or (D,)
# input it is given below.
EXAMPLES = {
    "input": (input_layer(2, 9, 9), (2, 9, 9)),
    "conv": (conv(3, (3, 2), 2, (1, 0), dilation=(1, 2)), (2, 9, 9)),
    "relu": (relu(), (2, 5, 5)),
    "pool": (pool(3, 2, 1), (2, 9, 9)),
    "avgpool": (avgpool((2, 3), 1), (2, 6, 7)),
    "fc": (fc(4), (2, 3, 3)),
    "dropout": (dropout(0.6), (2, 4, 4)),
    "batchnorm": (batchnorm(), (3, 4, 4)),
    "inception": (inception([conv(2, 1)], [pool(3, 1, 1), conv(3, 1), relu()]), (2, 5, 5)),
    "residual": (residual([conv(2, 3), relu()]), (2, 5, 5)),
}
TRAINABLE = [k for k in EXAMPLES if KINDS[k].forward is not None]


def conv_param(p):
    return {"stride": p["S"], "pad": p["P"], "dilation": p["dilation"]}


def pool_param(p):
    return {"pool_height": p["F"][0], "pool_width": p["F"][1], "stride": p["S"], "pad": p["P"]}


# kind -> (reference forward(x, arrays, params, seed), reference backward): the naive layers,
# called with the cs231n parameter dicts written out here rather than taken from the table
REFERENCE = {
    "conv": (lambda x, a, p, seed: L.conv_forward_naive(x, *a, conv_param(p)),
             L.conv_backward_naive),
    "relu": (lambda x, a, p, seed: L.relu_forward(x), L.relu_backward),
    "pool": (lambda x, a, p, seed: L.max_pool_forward_naive(x, pool_param(p)),
             L.max_pool_backward_naive),
    "avgpool": (lambda x, a, p, seed: L.avg_pool_forward_naive(x, pool_param(p)),
                L.avg_pool_backward_naive),
    "fc": (lambda x, a, p, seed: L.affine_forward(x, *a), L.affine_backward),
    "dropout": (lambda x, a, p, seed: L.dropout_forward(x, {"p": p["p"], "mode": "train",
                                                           "seed": seed}),
                L.dropout_backward),
    "batchnorm": (lambda x, a, p, seed: L.spatial_batchnorm_forward(x, *a, {"mode": "train"}),
                  L.spatial_batchnorm_backward),
}


def as_tuple(grads):
    return grads if isinstance(grads, tuple) else (grads,)


def test_the_table_covers_every_kind_and_names_them_consistently():
    assert set(EXAMPLES) == set(KINDS)
    assert set(REFERENCE) == set(TRAINABLE), "every trainable kind needs a reference layer"
    for name, kind in KINDS.items():
        assert isinstance(kind, Kind) and kind.name == name
        assert set(kind.positional) <= set(kind.settings), name
        layer, _ = EXAMPLES[name]
        assert layer.kind == name and set(layer.params) == set(kind.settings), name


@pytest.mark.parametrize("name", [k for k in KINDS if KINDS[k].make is not None])
def test_every_spelling_keywords_and_dicts_build_what_the_constructor_builds(name):
    """A layer written as NAME(setting=value, ...) under each of its spellings, and as a dict,
    is the layer its constructor makes."""
    kind = KINDS[name]
    layer, _ = EXAMPLES[name]

    def value(v):
        return f"({v[0]}, {v[1]})" if isinstance(v, tuple) else repr(v)

    settings = ", ".join(f"{k}={value(v)}" for k, v in layer.params.items())
    for spelling in kind.names:
        text = f"{spelling}({settings})" if settings else spelling
        (parsed,) = parse(text)
        assert parsed == layer, text
        assert parse(spelling.lower() + text[len(spelling):]) == [layer]  # any case
    assert as_spec([{"kind": name, **layer.params}]) == [layer]
    assert kind.make(**layer.params) == layer


@pytest.mark.parametrize("name", [k for k in KINDS if KINDS[k].positional])
def test_positional_settings_follow_the_records_order(name):
    kind = KINDS[name]
    layer, _ = EXAMPLES[name]
    values = [layer.params[k] for k in kind.positional]
    text = ", ".join(f"({v[0]}, {v[1]})" if isinstance(v, tuple) else repr(v) for v in values)
    assert parse(f"{kind.names[0]}({text})")[0] == kind.make(**dict(zip(kind.positional, values)))


@pytest.mark.parametrize("name", TRAINABLE)
def test_sequential_runs_each_kind_as_the_reference_layer_does(name):
    """Forward and backward of a one-layer Sequential (through the table's fast layers) match
    the naive reference layer; parameter names and counts match the summary."""
    layer, shape = EXAMPLES[name]
    model = Sequential([input_layer(*shape), layer], dtype=np.float64, seed=1)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3,) + shape)
    arrays = []
    for key in model._steps[0].keys:  # random parameters, so that no gradient is trivial
        model.params[key] = rng.standard_normal(model.params[key].shape)
        arrays.append(model.params[key])

    seed = int(np.random.default_rng(7).integers(2 ** 31))  # what the model draws for dropout
    model._rng = np.random.default_rng(7)
    out, caches = model.forward(x, mode="train")
    forward, backward = REFERENCE[name]
    expected, cache = forward(x, arrays, layer.params, seed)
    assert out.shape == expected.shape == (3,) + summary(model.spec, shape).output_shape
    assert rel_error(out, expected) < 1e-9, name

    dout = rng.standard_normal(out.shape)
    grads = model.backward(dout, caches)
    dx, *darrays = as_tuple(backward(dout, cache))
    assert list(grads) == list(model._steps[0].keys)
    for key, d in zip(model._steps[0].keys, darrays):
        assert rel_error(grads[key], d) < 1e-9, (name, key)
    # dx through the table's record, as Sequential passes it to the layer before
    record_dx, *_ = KINDS[name].backward(dout, caches[0])
    assert rel_error(record_dx, dx) < 1e-9, name

    weights, biases = param_counts(layer, shape)
    assert weights + biases == sum(v.size for v in model.params.values())
    row = summary(model.spec, shape).rows[-1]
    assert (row.kind, row.weights, row.biases) == (name, weights, biases)


def test_batchnorm_on_vectors_is_the_plain_batchnorm():
    model = Sequential([input_layer(6, 1, 1), fc(5), batchnorm()], dtype=np.float64, seed=0)
    x = np.random.default_rng(0).standard_normal((4, 6, 1, 1))
    out, caches = model.forward(x, mode="train")
    h, _ = L.affine_forward(x, model.params["W1"], model.params["b1"])
    expected, _ = L.batchnorm_forward(h, model.params["gamma1"], model.params["beta1"],
                                      {"mode": "train"})
    assert rel_error(out, expected) < 1e-12
    assert set(model.backward(np.ones_like(out), caches)) == {"W1", "b1", "gamma1", "beta1"}


@pytest.mark.parametrize("name", [k for k in KINDS if KINDS[k].parts is not None])
def test_blocks_count_their_parts_and_are_not_trained(name):
    layer, shape = EXAMPLES[name]
    parts = KINDS[name].parts(layer.params)
    total = [0, 0]
    for _, part in parts:
        rows = summary(part, shape).rows
        total[0] += sum(r.weights for r in rows)
        total[1] += sum(r.biases for r in rows)
    assert param_counts(layer, shape) == tuple(total)
    with pytest.raises(SpecError, match="for summary\\(\\) only"):
        Sequential([input_layer(*shape), layer])


def test_a_kind_added_to_the_table_is_parsed_counted_and_trained(monkeypatch):
    """Adding a kind is adding one record: here tanh, written TANH in patterns."""
    def tanh_forward(x, arrays, config, mode, rng):
        out = np.tanh(x)
        return out, out

    def tanh_backward(dout, cache):
        return (dout * (1 - cache ** 2),)

    record = Kind("tanh", (), "elementwise tanh(x)", make=lambda text="": Layer("tanh", {}, text),
                  names=("TANH",), forward=tanh_forward, backward=tanh_backward)
    monkeypatch.setitem(KINDS, "tanh", record)

    spec = parse("INPUT(1, 4, 4) -> CONV3-2 -> TANH -> FC", num_classes=3)
    assert [layer.label for layer in spec] == ["INPUT (1, 4, 4)", "CONV3-2", "TANH", "FC-3"]
    table = summary(spec)
    assert table.rows[2].kind == "tanh" and table.rows[2].output_shape == (2, 4, 4)
    assert table.total_params == (2 * 9 + 2) + (32 * 3 + 3)

    model = Sequential(spec, dtype=np.float64, seed=0)
    X = np.random.default_rng(0).standard_normal((2, 1, 4, 4))
    y = np.array([0, 2])
    _, grads = model.loss(X, y)
    for key, value in model.params.items():
        numeric = eval_numerical_gradient(lambda _: model.loss(X, y)[0], value, h=1e-6)
        assert rel_error(numeric, grads[key]) < 1e-6, key


def test_the_parser_knows_the_spellings_of_the_table():
    spellings = sorted(n for kind in KINDS.values() for n in kind.names)
    with pytest.raises(SpecError) as info:
        parse("NOPE")
    assert f"known layers: {', '.join(spellings)}" in str(info.value)


def test_networks_of_every_trainable_kind_keep_their_shapes():
    """A chain using every trainable kind: the summary's shapes are the shapes Sequential
    produces, and every parameter the table names gets a gradient of its own shape."""
    spec = [input_layer(2, 11, 11), conv(4), batchnorm(), relu(), pool(3, 2, 1),
            avgpool(2, 1), dropout(0.8), conv(3, 3, 1, 0, bias=False), fc(6), relu(), fc(3)]
    model = Sequential(spec, dtype=np.float64, seed=0)
    X = np.random.default_rng(1).standard_normal((2, 2, 11, 11))
    out, caches = model.forward(X, mode="train")
    assert out.shape == (2,) + summary(spec).output_shape
    grads = model.backward(np.ones_like(out), caches)
    assert {k: g.shape for k, g in grads.items()} == {k: v.shape for k, v in model.params.items()}
    assert "b2" not in model.params  # the conv without bias holds a constant zero bias
    assert model.weight_names == ["W1", "W2", "W3", "W4"]
    assert summary(spec).total_params == sum(v.size for v in model.params.values())
    assert math.isfinite(float(model.loss(X, np.array([0, 1]))[0]))
