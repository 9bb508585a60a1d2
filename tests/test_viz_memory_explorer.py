"""The memory explorer's numbers against hand formulas from the summary rows and the notes'
worked numbers; the largest batch is the largest; the widget, driven headless, shows them and
reports settings a network cannot take."""
import re

import numpy as np
import pytest

from cs231n_lib.geometry import ConvGeometryError, memory_bytes
from cs231n_lib.models import ZOO, summary, vgg16
from cs231n_lib.viz.memory_explorer import (GPU_PRESETS_GIB, MEMORY_KINDS, compute_memory,
                                            memory_explorer_widget, render_memory)

VGG16_ACTIVATIONS = 15_237_608    # the sum of the notes' rows, per image
VGG16_PARAMS = 138_357_544        # weights and biases


def test_vgg16_forward_batch_of_one_in_float32_is_the_notes_table():
    m = compute_memory("VGG16", batch_size=1, dtype="float32", training=False)
    assert (m.activation_values, m.param_values) == (VGG16_ACTIVATIONS, VGG16_PARAMS)
    assert m.by_kind == {"activations": VGG16_ACTIVATIONS * 4, "activation_gradients": 0,
                         "parameters": VGG16_PARAMS * 4, "parameter_gradients": 0,
                         "optimizer_state": 0}
    assert round(m.by_kind["activations"] / 2 ** 20, 1) == 58.1   # MiB, not the notes' ~93MB
    assert m.total == m.batch_one_bytes == (VGG16_ACTIVATIONS + VGG16_PARAMS) * 4


@pytest.mark.parametrize("dtype, b", [("float16", 2), ("float32", 4), ("float64", 8),
                                      (np.float32, 4)])
@pytest.mark.parametrize("optimizer, k", [("none", 0), ("sgd", 0), ("momentum", 1),
                                          ("rmsprop", 1), ("adam", 2)])
def test_training_kinds_follow_the_hand_formulas(dtype, b, optimizer, k):
    N = 7
    m = compute_memory("VGG16", batch_size=N, dtype=dtype, training=True, optimizer=optimizer)
    A, Q = VGG16_ACTIVATIONS, VGG16_PARAMS
    assert m.by_kind == {"activations": N * A * b, "activation_gradients": N * A * b,
                         "parameters": Q * b, "parameter_gradients": Q * b,
                         "optimizer_state": k * Q * b}
    assert m.optimizer_copies == k and m.bytes_per_value == b
    assert m.per_image_bytes == 2 * A * b and m.fixed_bytes == (2 + k) * Q * b
    assert m.total == m.bytes_for_batch(N)


@pytest.mark.parametrize("net", ["VGG16", "AlexNet", "LeNet-5", "Inception module",
                                 "ResNet basic block"])
@pytest.mark.parametrize("N, dtype", [(1, "float32"), (16, "float64")])
def test_momentum_training_is_the_library_rule_of_thumb(net, N, dtype):
    # the notes' "parameters x3, activations x2" is training with one optimizer cache
    s = summary(ZOO[net]())
    rule = memory_bytes(s.total_activations, s.total_params, dtype, N, backward=True)
    m = compute_memory(net, batch_size=N, dtype=dtype, training=True, optimizer="momentum")
    assert m.by_kind["activations"] + m.by_kind["activation_gradients"] == rule["activations"]
    assert m.fixed_bytes == rule["parameters"] and m.total == rule["total"]
    forward = memory_bytes(s.total_activations, s.total_params, dtype, N, backward=False)
    assert compute_memory(net, batch_size=N, dtype=dtype).total == forward["total"]


def test_inference_ignores_the_optimizer():
    a = compute_memory("VGG16", batch_size=3, training=False, optimizer="adam")
    b = compute_memory("VGG16", batch_size=3, training=False, optimizer="none")
    assert a.by_kind == b.by_kind and a.optimizer_copies == 0


@pytest.mark.parametrize("net", sorted(ZOO))
@pytest.mark.parametrize("training", [False, True])
def test_layers_are_the_summary_rows_and_add_up_to_the_kinds(net, training):
    N, b = 5, 2
    m = compute_memory(net, batch_size=N, dtype="float16", training=training, optimizer="adam")
    rows = [r for r in summary(ZOO[net]()).rows if r.depth == 0]
    assert [layer.name for layer in m.layers] == [r.name for r in rows]
    for layer, r in zip(m.layers, rows):
        assert layer.activation_bytes == r.activations * N * b * (2 if training else 1)
        assert layer.parameter_bytes == r.params * b * (4 if training else 1)   # Adam: 2 copies
    assert sum(x.activation_bytes for x in m.layers) == (
        m.by_kind["activations"] + m.by_kind["activation_gradients"])
    assert sum(x.parameter_bytes for x in m.layers) == m.fixed_bytes
    assert sum(x.total for x in m.layers) == m.total


def test_where_memory_and_parameters_sit_in_vgg16():
    m = compute_memory("VGG16")
    assert m.top_activation_layer.name in ("conv1", "conv2")
    assert m.top_activation_layer.activations == 224 * 224 * 64
    assert m.top_parameter_layer.name == "fc1"
    assert m.top_parameter_layer.params == 7 * 7 * 512 * 4096 + 4096
    assert m.top_parameter_layer.params > VGG16_PARAMS / 2   # the notes: 100M out of 140M


def test_the_notes_three_224x224x64_volumes():
    m = compute_memory("INPUT(3, 224, 224) -> [CONV3-64 -> RELU]*3", training=True)
    convs = [layer for layer in m.layers if layer.name.startswith("conv")]
    assert [layer.output_shape for layer in convs] == [(64, 224, 224)] * 3
    assert sum(layer.activations for layer in convs) == 9_633_792            # "about 10M"
    # activations and their gradients in float32: 73.5 MiB (the notes say "72MB")
    assert sum(layer.activation_bytes for layer in convs) == 77_070_336
    assert round(77_070_336 / 2 ** 20, 1) == 73.5


def test_streaming_inference_holds_two_neighbouring_volumes():
    m = compute_memory("VGG16", batch_size=2, dtype="float32")
    pairs = [a.activations + b.activations for a, b in zip(m.layers, m.layers[1:])]
    assert m.streaming_activation_bytes == max(pairs) * 2 * 4 == 2 * 224 * 224 * 64 * 2 * 4
    assert m.streaming_activation_bytes < m.by_kind["activations"] / 2


CASES = [("VGG16", "float32", True, "momentum", 12), ("VGG16", "float16", True, "adam", 8),
         ("VGG16", "float32", False, "none", 8), ("AlexNet", "float64", True, "adam", 3.5),
         ("LeNet-5", "float32", True, "momentum", 0.01), ("ZF Net", "float32", True, "none", 80),
         ("ResNet basic block", "float16", False, "none", 1)]


@pytest.mark.parametrize("net, dtype, training, optimizer, gib", CASES)
def test_largest_batch_fits_and_one_more_does_not(net, dtype, training, optimizer, gib):
    m = compute_memory(net, batch_size=1, dtype=dtype, training=training, optimizer=optimizer,
                       gpu_gib=gib)
    n = m.max_batch
    assert n >= 1
    capacity = int(gib * 2 ** 30)
    at_n = compute_memory(net, batch_size=n, dtype=dtype, training=training,
                          optimizer=optimizer, gpu_gib=gib)
    beyond = compute_memory(net, batch_size=n + 1, dtype=dtype, training=training,
                            optimizer=optimizer, gpu_gib=gib)
    assert at_n.total <= capacity and at_n.fits
    assert beyond.total > capacity and not beyond.fits
    assert at_n.max_batch == beyond.max_batch == n   # the batch asked for changes nothing


def test_vgg16_training_in_12_gib():
    m = compute_memory("VGG16", batch_size=32, training=True, optimizer="momentum", gpu_gib=12)
    per_image = 2 * 4 * VGG16_ACTIVATIONS
    fixed = 3 * 4 * VGG16_PARAMS
    assert m.max_batch == (12 * 2 ** 30 - fixed) // per_image == 92
    assert m.batch_one_bytes == fixed + per_image


def test_when_even_one_image_does_not_fit_the_largest_batch_is_zero():
    m = compute_memory("VGG16", dtype="float64", training=True, optimizer="adam", gpu_gib=4)
    # values, gradients and two Adam copies: 4 x 8 bytes per parameter, over 4 GiB already
    assert m.fixed_bytes == 4 * 8 * VGG16_PARAMS and m.fixed_bytes > 4 * 2 ** 30
    assert m.max_batch == 0 and m.fits is False
    html = render_memory(m)
    assert "Does not fit" in html and "<b>0</b>" in html and "even one image" in html
    assert compute_memory("VGG16").max_batch is None and compute_memory("VGG16").fits is None


def test_an_input_size_the_net_cannot_take_is_a_geometry_error():
    with pytest.raises(ConvGeometryError, match=r"conv1.*\(224 - 11 \+ 2\*0\)/4 \+ 1 = 54\.25"):
        compute_memory("AlexNet", input_size=224)
    # VGG16 takes 256 (five halvings: 8x8x512 before the FC layers), with a larger fc1
    m = compute_memory("VGG16", input_size=256)
    assert m.input_shape == (3, 256, 256) and m.default_input_shape == (3, 224, 224)
    fc1 = next(layer for layer in m.layers if layer.name == "fc1")
    assert fc1.params == 8 * 8 * 512 * 4096 + 4096
    assert "its first FC layer" in render_memory(m)


@pytest.mark.parametrize("kwargs, name", [
    ({"batch_size": 0}, "batch_size"), ({"batch_size": 2.5}, "batch_size"),
    ({"dtype": "int8"}, "dtype"), ({"optimizer": "lbfgs"}, "optimizer"),
    ({"gpu_gib": 0}, "gpu_gib"), ({"gpu_gib": -8}, "gpu_gib"), ({"gpu_gib": "12"}, "gpu_gib"),
    ({"training": "yes"}, "training"), ({"input_size": 0}, "input_size"),
    ({"network": "VGG19"}, "network"),
])
def test_bad_arguments_name_themselves(kwargs, name):
    with pytest.raises((ValueError, TypeError), match=name):
        compute_memory(**kwargs)


def test_a_spec_can_be_given_instead_of_a_name():
    m = compute_memory(vgg16(), name="my VGG")
    assert m.network == "my VGG" and m.param_values == VGG16_PARAMS
    assert compute_memory("INPUT(1, 8, 8) -> FC-10").param_values == 64 * 10 + 10


def test_render_says_the_numbers():
    m = compute_memory("VGG16", batch_size=32, training=True, optimizer="momentum", gpu_gib=12)
    html = render_memory(m)
    assert "VGG16" in html and "224x224x3" in html and "batch 32" in html
    assert "15,237,608 values × 32 images × 4 B" in html
    assert "138,357,544 values × 4 B" in html and "1 × 138,357,544 values × 4 B" in html
    assert f"{m.total:,} bytes" in html
    assert "Fits" in html and "Largest batch that fits 12 GiB: <b>92</b>" in html
    assert f"93 images would need {m.bytes_for_batch(93):,})" in html
    assert f"{m.bytes_for_batch(92):,} bytes of {12 * 2 ** 30:,}" in html
    assert "A batch of one already costs" in html
    assert "<b>conv1</b>" in html and "<b>fc1</b>" in html
    assert html.count('<tr class="layer">') == len(m.layers) == 22
    inference = render_memory(compute_memory("VGG16"))
    assert "none: no backward pass" in inference and "freed" in inference
    assert "Largest batch" not in inference   # no GPU memory given


def _html(live):
    return live.shown()["text/html"]


def test_widget_starts_on_vgg16_and_follows_its_controls():
    live = memory_explorer_widget()
    assert set(live.controls) == {"network", "input_size", "batch_size", "dtype", "mode",
                                  "optimizer", "gpu", "gpu_gib"}
    assert live.controls["input_size"].value == 224
    assert live.result.max_batch == 92 and "<b>92</b>" in _html(live)
    assert live.summary == "VGG16 224x224x3, batch 32: 5.2 GiB (fits in 12 GiB; largest batch 92)"
    live.set(dtype="float16")
    assert live.result.max_batch == compute_memory(
        "VGG16", dtype="float16", training=True, optimizer="momentum", gpu_gib=12).max_batch
    live.set(mode="inference")
    assert live.controls["optimizer"].disabled
    assert live.result.by_kind["optimizer_state"] == 0 and "inference" in _html(live)
    live.set(mode="training", optimizer="adam", batch_size=1)
    assert not live.controls["optimizer"].disabled
    assert live.result.optimizer_copies == 2 and "batch 1 ·" in _html(live)


def test_widget_gpu_presets_and_any_number():
    live = memory_explorer_widget()
    live.set(gpu=80.0)
    assert live.controls["gpu_gib"].value == 80 and "fits 80 GiB" in _html(live)
    live.set(gpu_gib=6.5)
    assert live.controls["gpu"].value == "other" and live.result.gpu_bytes == int(6.5 * 2 ** 30)
    live.set(gpu_gib=24.0)
    assert live.controls["gpu"].value == 24.0
    assert [o[1] for o in live.controls["gpu"].options][:-1] == [float(g) for g in GPU_PRESETS_GIB]
    live.set(gpu_gib=-1.0)
    assert live.result is None and "gpu_gib" in live.error and "does not work" in _html(live)


def test_widget_network_choice_sets_its_input_and_reports_sizes_it_cannot_take():
    live = memory_explorer_widget()
    live.controls["network"].value = "AlexNet"
    assert live.controls["input_size"].value == 227 and live.error is None
    live.controls["input_size"].value = 224
    html = _html(live)
    assert live.result is None and "does not work" in html and "54.25" in html
    assert "Traceback" not in html
    live.controls["network"].value = "LeNet-5"
    assert live.controls["input_size"].value == 32 and live.error is None
    assert re.search(r"LeNet-5</b> on 32x32x1", _html(live))


def test_widget_takes_its_own_networks():
    live = memory_explorer_widget(network="tiny", networks={
        "tiny": "INPUT(1, 8, 8) -> CONV3-4 -> RELU -> FC-10", "VGG16": vgg16})
    assert live.controls["input_size"].value == 8
    assert live.result.param_values == (4 * 9 + 4) + (4 * 64 * 10 + 10)
    with pytest.raises(ValueError, match="network"):
        memory_explorer_widget(network="VGG19")


def test_every_kind_is_named_in_the_widget():
    html = _html(memory_explorer_widget())
    for kind in MEMORY_KINDS:
        assert kind.replace("_", " ") in html
