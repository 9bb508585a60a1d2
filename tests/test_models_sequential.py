"""Sequential and ThreeLayerConvNet: numeric vs analytic gradients of the whole loss, the
cs231n model interface, initialisation, and a real overfitting check on the digits."""
import math

import numpy as np
import pytest

from cs231n_lib.gradient_check import eval_numerical_gradient, rel_error
from cs231n_lib.models import (KINDS, Sequential, ShapeError, SpecError, ThreeLayerConvNet, conv,
                               fc, inception_module, input_layer, relu)


def numeric_vs_analytic(model, X, y, h=1e-6):
    """Largest relative error over all parameters, each checked at every entry."""
    _, grads = model.loss(X, y)
    errors = {}
    for name, value in model.params.items():
        numeric = eval_numerical_gradient(lambda _: model.loss(X, y)[0], value, h=h)
        errors[name] = rel_error(numeric, grads[name])
    return errors


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    return rng.standard_normal((4, 2, 6, 6)), np.array([0, 1, 2, 1])


@pytest.mark.parametrize("pattern", [
    # conv with batchnorm, max pool, a dilated conv, FC with batchnorm
    "CONV3-3 -> BN -> RELU -> POOL2 -> CONV(K=4, F=2, dilation=2, P=0) -> RELU -> FC-5 -> BN"
    " -> RELU -> FC",
    # strided conv, average pooling, a conv without bias
    "CONV(K=3, F=3, S=1) -> RELU -> AVGPOOL2 -> CONV(K=2, F=3, P=1, bias=False) -> RELU -> FC",
])
def test_sequential_gradients_match_numeric(batch, pattern):
    X, y = batch
    model = Sequential(pattern, (2, 6, 6), num_classes=3, hidden=5, dtype=np.float64,
                       reg=0.3, seed=0)
    errors = numeric_vs_analytic(model, X, y)
    assert max(errors.values()) < 1e-6, errors


def test_three_layer_convnet_gradients_match_numeric():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((3, 3, 8, 8)), np.array([0, 4, 2])
    model = ThreeLayerConvNet((3, 8, 8), num_filters=3, filter_size=3, hidden_dim=7,
                              num_classes=5, weight_scale=0.1, reg=0.2, dtype=np.float64, seed=0)
    errors = numeric_vs_analytic(model, X, y)
    assert max(errors.values()) < 1e-5, errors


def test_three_layer_convnet_is_the_cs231n_model():
    model = ThreeLayerConvNet(seed=0)
    shapes = {k: v.shape for k, v in model.params.items()}
    assert shapes == {"W1": (32, 3, 7, 7), "b1": (32,), "W2": (32 * 16 * 16, 100),
                      "b2": (100,), "W3": (100, 10), "b3": (10,)}
    assert all(v.dtype == np.float32 for v in model.params.values())
    assert not model.params["b2"].any()
    assert model.params["W2"].std() == pytest.approx(1e-3, rel=0.02)
    X = np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)
    scores = model.loss(X)
    assert scores.shape == (2, 10) and scores.dtype == np.float32
    loss, grads = model.loss(X, np.array([1, 2]))
    assert loss.dtype == np.float32 and all(g.dtype == np.float32 for g in grads.values())
    # tiny weights give near-uniform scores: the loss starts at log(10)
    assert float(loss) == pytest.approx(math.log(10), abs=0.01)


def test_regularization_adds_half_reg_times_squared_weights():
    X, y = np.ones((2, 1, 4, 4)), np.array([0, 1])
    plain = Sequential("CONV3-2 -> RELU -> FC", (1, 4, 4), num_classes=2, dtype=np.float64, seed=3)
    reg = Sequential("CONV3-2 -> RELU -> FC", (1, 4, 4), num_classes=2, dtype=np.float64, seed=3,
                     reg=0.7)
    penalty = 0.5 * 0.7 * sum((plain.params[k] ** 2).sum() for k in ("W1", "W2"))
    assert float(reg.loss(X, y)[0]) == pytest.approx(float(plain.loss(X, y)[0]) + penalty)
    assert reg.weight_names == ["W1", "W2"]


def test_he_and_xavier_initialisation_scales():
    he = Sequential("FC-400", (1000,), seed=0, dtype=np.float64)
    xavier = Sequential("FC-400", (1000,), init="xavier", seed=0, dtype=np.float64)
    assert he.params["W1"].std() == pytest.approx(math.sqrt(2 / 1000), rel=0.01)
    assert xavier.params["W1"].std() == pytest.approx(math.sqrt(1 / 1000), rel=0.01)
    conv_net = Sequential("CONV(K=64, F=5)", (20, 8, 8), seed=0)
    assert conv_net.params["W1"].std() == pytest.approx(math.sqrt(2 / (20 * 25)), rel=0.02)


def test_seed_fixes_the_initial_network():
    a = Sequential("CONV3-4 -> RELU -> FC", (1, 5, 5), seed=7)
    b = Sequential("CONV3-4 -> RELU -> FC", (1, 5, 5), seed=7)
    c = Sequential("CONV3-4 -> RELU -> FC", (1, 5, 5), seed=8)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert not np.array_equal(a.params["W1"], c.params["W1"])


def test_bias_free_conv_has_no_bias_parameter():
    model = Sequential([conv(2, bias=False), relu(), fc(3)], (1, 4, 4), seed=0)
    assert sorted(model.params) == ["W1", "W2", "b2"]
    _, grads = model.loss(np.ones((1, 1, 4, 4), dtype=np.float32), np.array([2]))
    assert sorted(grads) == sorted(model.params)


def test_dropout_is_off_at_test_time_and_seeded_in_training():
    X = np.random.default_rng(0).standard_normal((8, 20)).astype(np.float32)
    y = np.zeros(8, dtype=int)
    a = Sequential("FC-50 -> RELU -> DROPOUT(0.5) -> FC", (20,), num_classes=3, seed=1)
    b = Sequential("FC-50 -> RELU -> DROPOUT(0.5) -> FC", (20,), num_classes=3, seed=1)
    np.testing.assert_array_equal(a.loss(X), a.loss(X))  # test mode: deterministic, no masks
    la, lb = a.loss(X, y)[0], b.loss(X, y)[0]
    assert la == lb  # the same seed draws the same masks
    assert a.loss(X, y)[0] != la  # and a new mask every training pass


def test_batchnorm_uses_running_averages_at_test_time():
    model = Sequential("FC-6 -> BN -> RELU -> FC", (4,), num_classes=2, seed=0, dtype=np.float64)
    X = np.random.default_rng(0).normal(5.0, 3.0, (50, 4))
    before = model.loss(X)
    for _ in range(30):
        model.loss(X, np.zeros(50, dtype=int))
    after = model.loss(X)
    assert not np.allclose(before, after)
    assert np.allclose(model.bn_params["batchnorm1"]["running_mean"],
                       (X @ model.params["W1"] + model.params["b1"]).mean(axis=0), rtol=0.1)


def test_params_can_be_given_and_are_checked():
    base = Sequential("CONV3-2 -> FC", (1, 4, 4), num_classes=3, seed=0)
    copy = Sequential("CONV3-2 -> FC", (1, 4, 4), num_classes=3, params=base.params)
    X = np.ones((1, 1, 4, 4), dtype=np.float32)
    np.testing.assert_array_equal(copy.loss(X), base.loss(X))
    with pytest.raises(ValueError, match=r"missing \['b2'\]"):
        Sequential("CONV3-2 -> FC", (1, 4, 4), params={k: v for k, v in base.params.items()
                                                       if k != "b2"})
    with pytest.raises(ValueError, match=r"params\['W1'\] has shape"):
        Sequential("CONV3-2 -> FC", (1, 4, 4), params={**base.params, "W1": np.zeros((2, 1, 5, 5))})


def test_bad_inputs_are_clear_errors():
    model = Sequential("CONV3-2 -> FC", (1, 4, 4), num_classes=3, seed=0)
    with pytest.raises(ShapeError, match=r"built for inputs of shape \(N, 1, 4, 4\)"):
        model.loss(np.ones((2, 1, 5, 5), dtype=np.float32))
    with pytest.raises(ValueError, match="4-D"):
        model.loss(np.ones((2, 16), dtype=np.float32))
    with pytest.raises(ValueError, match="labels outside"):
        model.loss(np.ones((1, 1, 4, 4), dtype=np.float32), np.array([3]))
    with pytest.raises(SpecError, match="summary\\(\\) only"):
        Sequential(inception_module(C=4, H=6, W=6, widths=(1, 1, 1, 1, 1, 1)))
    with pytest.raises(ShapeError, match="end the spec with an FC layer"):
        Sequential("CONV3-2", (1, 4, 4)).loss(np.ones((1, 1, 4, 4), dtype=np.float32),
                                              np.array([0]))
    with pytest.raises(ValueError, match="init"):
        Sequential("FC", (3,), init="glorot")
    with pytest.raises(TypeError, match="float32 or float64"):
        Sequential("FC", (3,), dtype=np.int32)
    with pytest.raises(TypeError, match="only apply when spec is a pattern string"):
        Sequential([input_layer(1, 2, 2), fc(3)], filters=4)


def test_models_train_on_the_fast_layers():
    from cs231n_lib import fast_layers, layer_utils
    from cs231n_lib.models import spec
    assert layer_utils.conv_forward is fast_layers.conv_forward_fast
    assert layer_utils.conv_backward is fast_layers.conv_backward_fast
    assert layer_utils.max_pool_forward is fast_layers.max_pool_forward_fast
    assert layer_utils.max_pool_backward is fast_layers.max_pool_backward_fast
    assert layer_utils.avg_pool_forward is fast_layers.avg_pool_forward_fast
    assert layer_utils.avg_pool_backward is fast_layers.avg_pool_backward_fast
    # the layer table runs those same functions
    assert KINDS["conv"].backward is fast_layers.conv_backward_fast
    for name in ("conv_forward", "max_pool_forward", "max_pool_backward", "avg_pool_forward",
                 "avg_pool_backward"):
        assert getattr(spec, name) is getattr(layer_utils, name), name


def test_three_layer_convnet_overfits_100_digits():
    from cs231n_lib.data import load_digits
    from cs231n_lib.solver import Solver
    digits = load_digits()
    small = {"X_train": digits["X_train"][:100], "y_train": digits["y_train"][:100],
             "X_val": digits["X_val"], "y_val": digits["y_val"]}
    model = ThreeLayerConvNet((1, 8, 8), num_filters=16, filter_size=3, hidden_dim=50,
                              weight_scale=1e-2, seed=0)
    solver = Solver(model, small, update_rule="adam", optim_config={"learning_rate": 1e-2},
                    batch_size=25, num_epochs=15, verbose=False, progress=False, seed=0)
    solver.train()
    assert max(solver.train_acc_history) >= 0.95
    # far better on what it memorised than on what it has not seen
    assert solver.train_acc_history[-1] - solver.val_acc_history[-1] > 0.1


def test_predict_and_summary():
    model = Sequential("INPUT(1, 4, 4) -> CONV3-2 -> RELU -> FC", num_classes=3, seed=0)
    X = np.random.default_rng(0).standard_normal((7, 1, 4, 4)).astype(np.float32)
    np.testing.assert_array_equal(model.predict(X, batch_size=3), model.loss(X).argmax(axis=1))
    assert model.summary().total_params == sum(v.size for v in model.params.values())
    assert "CONV3-2" in repr(model) and model.num_classes == 3


def test_forward_and_score_map_stay_on_the_device():
    """With the strict CPU stand-in for CuPy (tests/device_double.py) as the default device:
    parameters are created there, and scores, predictions and score maps come back as device
    arrays without any implicit trip to the host."""
    import device_double
    from cs231n_lib import backend
    from cs231n_lib.models import score_map, sliding_scores

    X = np.random.default_rng(0).standard_normal((2, 1, 12, 12)).astype(np.float32)
    spec = "INPUT(1, 8, 8) -> CONV(K=4, F=3, P=0) -> RELU -> POOL2 -> BN -> FC-8 -> RELU -> FC"
    host = Sequential(spec, num_classes=3, seed=0)
    with device_double.installed(default_device=True):
        model = Sequential(spec, num_classes=3, seed=0)
        assert all(backend.is_device_array(v) for v in model.params.values())
        X_dev = backend.to_device(X, "gpu")
        scores = model.loss(X_dev[:, :, :8, :8])
        labels = model.predict(X_dev[:, :, :8, :8])
        maps = score_map(model, X_dev)
        crops = sliding_scores(model, X_dev)
        assert all(backend.is_device_array(a) for a in (scores, labels, maps, crops))
        scores, labels, maps, crops = backend.to_host((scores, labels, maps, crops))
    np.testing.assert_allclose(scores, host.loss(X[:, :, :8, :8]), rtol=1e-6)
    np.testing.assert_array_equal(labels, host.predict(X[:, :, :8, :8]))
    np.testing.assert_allclose(maps, crops, rtol=1e-4, atol=1e-5)
