"""summary(): per-layer shapes and counts against the notes' worked numbers and hand formulas;
the named architectures of the case studies; rendering; geometry errors that name the layer."""
import re

import numpy as np
import pytest

from cs231n_lib.geometry import ConvGeometryError, memory_bytes
from cs231n_lib.models import (ShapeError, alexnet, conv, convert_spec, digits_convnet, fc,
                               inception, inception_module, input_layer, lenet5, parse, relu,
                               resnet_basic_block, summary, vgg16, vgg_small, zfnet)

# The notes' VGG16 table, row by row: (output H, W, C; weights). Typed from the notes.
VGG16_NOTES_ROWS = [
    ((224, 224, 3), 0),
    ((224, 224, 64), 1_728), ((224, 224, 64), 36_864), ((112, 112, 64), 0),
    ((112, 112, 128), 73_728), ((112, 112, 128), 147_456), ((56, 56, 128), 0),
    ((56, 56, 256), 294_912), ((56, 56, 256), 589_824), ((56, 56, 256), 589_824),
    ((28, 28, 256), 0),
    ((28, 28, 512), 1_179_648), ((28, 28, 512), 2_359_296), ((28, 28, 512), 2_359_296),
    ((14, 14, 512), 0),
    ((14, 14, 512), 2_359_296), ((14, 14, 512), 2_359_296), ((14, 14, 512), 2_359_296),
    ((7, 7, 512), 0),
    ((1, 1, 4096), 102_760_448), ((1, 1, 4096), 16_777_216), ((1, 1, 1000), 4_096_000),
]


def hwc(shape):
    return (shape[1], shape[2], shape[0]) if len(shape) == 3 else (1, 1, shape[0])


def test_vgg16_reproduces_the_notes_rows_and_parameter_count():
    s = summary(vgg16())
    assert [(hwc(r.output_shape), r.weights) for r in s.rows] == VGG16_NOTES_ROWS
    assert s.total_weights == 138_344_128
    assert s.total_params == 138_357_544
    assert s.total_biases == 64 * 2 + 128 * 2 + 256 * 3 + 512 * 6 + 4096 * 2 + 1000
    # most parameters sit in the first FC layer (the notes: "100M ... out of 140M")
    assert max(s.rows, key=lambda r: r.params).name == "fc1"


def test_vgg16_activations_are_the_honest_sum_of_the_rows():
    s = summary(vgg16())
    rows_sum = sum(h * w * c for (h, w, c), _ in VGG16_NOTES_ROWS)
    assert s.total_activations == rows_sum == 15_237_608
    # ~58 MiB forward in float32, not the "24M ... ~93MB" printed under the notes' table
    fwd = s.memory(dtype="float32", backward=False)
    assert fwd["activations"] == 15_237_608 * 4
    assert round(fwd["activations"] / 2 ** 20, 1) == 58.1
    assert abs(s.total_activations - 24_000_000) > 8_000_000
    # most activations sit in the early convs
    assert max(s.rows[1:], key=lambda r: r.activations).name in ("conv1", "conv2")


def test_memory_follows_the_rule_of_thumb_for_batch_and_dtype():
    s = summary(vgg16(), batch_size=32, dtype="float64")
    assert s.memory() == memory_bytes(s.total_activations, s.total_params, "float64", 32,
                                      backward=False)
    both = s.memory(backward=True)
    assert both["activations"] == 2 * 8 * 32 * s.total_activations
    assert both["parameters"] == 3 * 8 * s.total_params
    assert s.memory(batch_size=1, dtype="float32")["activations"] == 4 * s.total_activations


def test_alexnet_conv1_is_55x55x96_with_34944_parameters():
    s = summary(alexnet())
    conv1 = s.rows[1]
    assert conv1.output_shape == (96, 55, 55)
    assert conv1.activations == 290_400
    assert (conv1.weights, conv1.biases, conv1.params) == (34_848, 96, 34_944)
    assert [r.output_shape for r in s.rows if r.kind == "pool"] == [
        (96, 27, 27), (256, 13, 13), (256, 6, 6)]


def test_alexnet_on_224_fails_naming_conv1_and_showing_the_arithmetic():
    with pytest.raises(ConvGeometryError) as info:
        summary(alexnet(), (3, 224, 224))
    msg = str(info.value)
    assert "conv1" in msg and "CONV11-96" in msg
    assert "(224 - 11 + 2*0)/4 + 1 = 54.25" in msg


def test_geometry_errors_name_the_layer():
    with pytest.raises(ConvGeometryError, match=r"layer 3 \(conv2, CONV3-4 \(S2 P0\)\).*4\.5"):
        summary("INPUT(1, 10, 10) -> CONV3-4 -> RELU -> CONV(K=4, F=3, S=2, P=0)")
    with pytest.raises(ConvGeometryError, match=r"pool1.*larger than the padded input"):
        summary("INPUT(1, 1, 1) -> POOL2")


def test_a_conv_after_an_fc_is_a_shape_error_naming_the_layer():
    with pytest.raises(ShapeError, match=r"layer 2 \(conv1, CONV3-8\).*flat vector"):
        summary("INPUT(1, 8, 8) -> FC-10 -> CONV3-8")


def test_input_shape_is_needed_or_overrides_the_input_layer():
    with pytest.raises(ShapeError, match="input_shape is needed"):
        summary("CONV3-8")
    assert summary("CONV3-8 -> POOL", (2, 6, 6)).output_shape == (8, 3, 3)
    assert summary(vgg16(), (3, 32, 32)).rows[-4].output_shape == (512, 1, 1)


def test_lenet5_counts_by_hand():
    s = summary(lenet5())
    expected = ((6 * 25 + 6) + (16 * 6 * 25 + 16) + (400 * 120 + 120) + (120 * 84 + 84)
                + (84 * 10 + 10))
    assert s.total_params == expected == 61_706
    assert [r.output_shape for r in s.rows if r.kind == "conv"] == [(6, 28, 28), (16, 10, 10)]


def test_zfnet_sizes_fit_exactly():
    s = summary(zfnet())
    assert [r.output_shape[1] for r in s.rows if r.kind in ("conv", "pool")] == [
        111, 55, 27, 13, 13, 13, 13, 6]
    assert [r.output_shape[0] for r in s.rows if r.kind == "conv"] == [96, 256, 512, 1024, 512]


def test_small_vgg_nets_halve_the_size_per_block():
    s = summary(vgg_small())
    assert [r.output_shape for r in s.rows if r.kind == "pool"] == [
        (32, 16, 16), (64, 8, 8), (128, 4, 4)]
    d = summary(digits_convnet())
    assert d.rows[0].output_shape == (1, 8, 8)
    assert [r.output_shape for r in d.rows if r.kind == "pool"] == [(16, 4, 4), (32, 2, 2)]
    assert d.output_shape == (10,)
    assert summary(vgg_small(use_batchnorm=True)).total_params > summary(vgg_small()).total_params


@pytest.mark.parametrize("C", [8, 64])
def test_three_3x3_convs_have_27C2_weights_one_7x7_49C2(C):
    three = summary([conv(C, 3, bias=False), relu()] * 3, (C, 32, 32))
    one = summary([conv(C, 7, bias=False)], (C, 32, 32))
    assert three.total_params == 27 * C * C
    assert one.total_params == 49 * C * C


def test_three_224x224x64_volumes_are_about_10M_values():
    s = summary("INPUT(3, 224, 224) -> [CONV3-64 -> RELU]*3")
    volumes = s.total_activations - s.rows[0].activations
    assert volumes == 3 * 224 * 224 * 64 == 9_633_792
    # activations and their gradients in float32: 73.5 MiB (the notes say "72MB")
    assert 2 * 4 * volumes == 77_070_336


def test_inception_module_counts_by_hand():
    s = summary(inception_module())
    C = 192
    weights = C * 64 + C * 96 + 96 * 128 * 9 + C * 16 + 16 * 32 * 25 + C * 32
    biases = 64 + 96 + 128 + 16 + 32 + 32
    block = s.rows[1]
    assert block.output_shape == (64 + 128 + 32 + 32, 28, 28)
    assert (block.weights, block.biases) == (weights, biases)
    assert s.total_params == weights + biases
    inner = [r for r in s.rows if r.depth == 1]
    assert sum(r.weights for r in inner) == weights  # the rows inside add up to the block
    assert block.activations == sum(r.activations for r in inner) + 256 * 28 * 28


def test_inception_branches_must_agree_in_size():
    bad = inception([conv(4, 1)], [conv(4, 3, P=0)])
    with pytest.raises(ShapeError, match="branches must all give volumes of one height"):
        summary([input_layer(3, 8, 8), bad])


def test_resnet_basic_block_counts_by_hand():
    s = summary(resnet_basic_block(C=64, H=56, W=56))
    assert s.output_shape == (64, 56, 56)
    assert s.total_params == 2 * (64 * 64 * 9) + 2 * (2 * 64)  # two convs, two batchnorms
    p = summary(resnet_basic_block(C=64, H=57, W=57, K=128, stride=2))
    assert p.output_shape == (128, 29, 29)
    assert p.total_params == (64 * 128 * 9 + 128 * 128 * 9 + 64 * 128) + 3 * (2 * 128)


def test_resnet_block_without_projection_cannot_change_shape():
    from cs231n_lib.models import residual
    with pytest.raises(ShapeError, match="must match to be added"):
        summary([input_layer(8, 4, 4), residual([conv(16)])])


def test_fold_relu_false_lists_relu_rows_with_their_volumes():
    folded = summary(vgg16())
    unfolded = summary(vgg16(), fold_relu=False)
    relus = [r for r in unfolded.rows if r.kind == "relu"]
    assert len(relus) == 15
    relu_volumes = sum(r.activations for r in relus)
    assert unfolded.total_activations == folded.total_activations + relu_volumes
    assert unfolded.total_params == folded.total_params


def test_converted_vgg16_on_384_gives_a_6x6_score_map():
    s = summary(convert_spec(vgg16()), (3, 384, 384))
    assert s.rows[-4].output_shape == (512, 12, 12)
    assert s.output_shape == (1000, 6, 6)
    assert s.total_params == 138_357_544  # the same weights, only reshaped


def test_text_table_is_aligned_and_shows_totals():
    s = summary(parse("INPUT(3, 32, 32) -> CONV3-16 -> RELU -> POOL2 -> FC-10"))
    text = str(s)
    assert repr(s) == text
    lines = text.splitlines()
    header = lines[0]
    assert header.split()[:3] == ["layer", "type", "output"]
    rule = lines[1]
    assert set(rule) == {"-"}
    body = lines[2:2 + len(s.rows)]
    assert [line.split()[0] for line in body] == [r.name for r in s.rows]
    # numbers are right-aligned: every row of the body ends in the same column
    assert len({len(line) for line in body}) == 1
    assert f"{s.total_params:,} parameters" in text
    assert "32x32x16" in text  # the notes' H x W x C
    assert "+RELU" in text


def test_html_table_has_one_row_per_layer_and_a_total():
    s = summary(inception_module())
    html = s._repr_html_()
    assert html.count("<tr>") + html.count("<tr ") == 1 + len(s.rows) + 1
    assert f"{s.total_weights:,}" in html
    assert "padding-left" in html  # inner rows are indented


def test_plain_rows_for_tests():
    rows = summary("INPUT(1, 4, 4) -> CONV3-2 -> FC-3").to_dicts()
    assert rows[1] == {"name": "conv1", "kind": "conv", "label": "CONV3-2",
                       "output_shape": (2, 4, 4), "activations": 32, "weights": 18,
                       "biases": 2, "depth": 0, "params": 20}
    assert rows[2]["weights"] == 32 * 3


def test_bad_dtype_and_batch_size():
    with pytest.raises(ValueError, match="dtype"):
        summary(lenet5(), dtype="int8")
    with pytest.raises(ValueError, match="batch_size"):
        summary(lenet5(), batch_size=0)
    assert summary(lenet5(), dtype=np.float64).dtype == "float64"


def test_labels_read_like_the_notes():
    labels = [r.label for r in summary(alexnet()).rows]
    assert labels[1] == "CONV11-96 (S4 P0) +RELU"
    assert labels[2] == "POOL3 (S2)"
    assert re.fullmatch(r"FC-1000", labels[-1])
    assert fc(10).label == "FC-10"
