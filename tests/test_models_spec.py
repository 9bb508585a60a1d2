"""The layer-pattern language: what it expands to, its defaults, and its error messages."""
import pytest

from cs231n_lib.models import (SpecError, SpecSyntaxError, as_spec, conv, fc, input_layer, parse,
                               pool, relu)

NOTES_PATTERN = "INPUT -> [[CONV -> RELU]*N -> POOL?]*M -> [FC -> RELU]*K -> FC"


def kinds(spec):
    return [layer.kind for layer in spec]


def caret_column(message):
    """(line shown, column of the first caret) from a SpecSyntaxError message."""
    lines = message.splitlines()
    i = next(k for k, line in enumerate(lines) if line.strip().startswith("^"))
    shown, carets = lines[i - 1], lines[i]
    return shown, len(carets) - len(carets.lstrip()), len(carets.strip())


def error_points_at(pattern, part, **kwargs):
    """Parse ``pattern`` expecting an error whose carets sit under ``part``."""
    with pytest.raises(SpecSyntaxError) as info:
        parse(pattern, **kwargs)
    shown, column, width = caret_column(str(info.value))
    assert shown.strip() == pattern.strip()
    indent = len(shown) - len(shown.lstrip())
    assert shown[column:column + len(part)] == part, (str(info.value), part)
    assert info.value.position == column - indent
    assert width >= 1
    return str(info.value)


# ---- what patterns expand to --------------------------------------------------------------
def test_the_notes_common_pattern_expands_with_counts():
    spec = parse("INPUT -> [[CONV -> RELU]*2 -> POOL]*3 -> [FC -> RELU]*2 -> FC")
    block = ["conv", "relu", "conv", "relu", "pool"]
    assert kinds(spec) == ["input"] + block * 3 + ["fc", "relu"] * 2 + ["fc"]


def test_symbolic_counts_and_optional_pool_are_given_as_keywords():
    spec = parse(NOTES_PATTERN, N=1, M=2, K=1, optional=[True, False])
    assert kinds(spec) == ["input", "conv", "relu", "pool", "conv", "relu", "fc", "relu", "fc"]
    assert kinds(parse(NOTES_PATTERN, N=2, M=1, K=0, optional=False)) == [
        "input", "conv", "relu", "conv", "relu", "fc"]


def test_n_m_k_zero_is_a_linear_classifier():
    assert kinds(parse(NOTES_PATTERN, N=0, M=0, K=0, optional=True)) == ["input", "fc"]


@pytest.mark.parametrize("pattern, expected", [
    pytest.param("INPUT -> CONV -> RELU -> FC", ["input", "conv", "relu", "fc"],
                 id="one-conv"),
    pytest.param("INPUT -> [CONV -> RELU -> POOL]*2 -> FC -> RELU -> FC",
                 ["input"] + ["conv", "relu", "pool"] * 2 + ["fc", "relu", "fc"],
                 id="pool-after-each-conv"),
    pytest.param("INPUT -> [CONV -> RELU -> CONV -> RELU -> POOL]*3 -> [FC -> RELU]*2 -> FC",
                 ["input"] + ["conv", "relu", "conv", "relu", "pool"] * 3
                 + ["fc", "relu"] * 2 + ["fc"], id="two-convs-per-pool"),
])
def test_the_notes_example_architectures(pattern, expected):
    assert kinds(parse(pattern)) == expected


def test_defaults_follow_the_sizing_rules():
    c, p = parse("CONV -> POOL")
    assert (c.params["F"], c.params["S"], c.params["P"]) == ((3, 3), (1, 1), (1, 1))
    assert (p.params["F"], p.params["S"], p.params["P"]) == ((2, 2), (2, 2), (0, 0))
    # "same" padding for other filter sizes: (F - 1)/2, and D*(F - 1)/2 with dilation
    assert parse("CONV(F=5)")[0].params["P"] == (2, 2)
    assert parse("CONV(F=3, dilation=2)")[0].params["P"] == (2, 2)
    # a pool moves by its own size unless told otherwise (AlexNet overlaps: F=3, S=2)
    assert parse("POOL3")[0].params["S"] == (3, 3)
    assert parse("POOL(F=3, S=2)")[0].params["S"] == (2, 2)


def test_sizes_come_from_filters_hidden_and_num_classes():
    spec = parse("[CONV -> RELU]*3 -> FC -> RELU -> FC -> RELU -> FC",
                 filters=[8, 16, 32], hidden=[100, 50], num_classes=7)
    assert [l.params["K"] for l in spec if l.kind == "conv"] == [8, 16, 32]
    assert [l.params["K"] for l in spec if l.kind == "fc"] == [100, 50, 7]
    # an int applies to all; a size written in the pattern wins
    spec = parse("CONV -> CONV(K=5) -> FC -> FC-3", filters=4, hidden=9, num_classes=2)
    assert [l.params["K"] for l in spec] == [4, 5, 9, 3]


def test_the_last_fc_in_a_repetition_gets_num_classes_only_once():
    spec = parse("[FC]*3", hidden=20, num_classes=4)
    assert [l.params["K"] for l in spec] == [20, 20, 4]


def test_short_forms_of_the_notes():
    spec = parse("CONV3-64 -> CONV5-32 -> POOL2 -> AVGPOOL7 -> FC-4096 -> FC1000")
    assert [l.label for l in spec] == ["CONV3-64", "CONV5-32", "POOL2", "AVGPOOL7",
                                       "FC-4096", "FC-1000"]


def test_settings_by_keyword_and_position_and_case():
    a = parse("CONV(64, 11, 4, 0)")[0]
    b = parse("conv(k=64, f=11, s=4, p=0)")[0]
    assert a == b
    assert a.params == {"K": 64, "F": (11, 11), "S": (4, 4), "P": (0, 0),
                        "dilation": (1, 1), "bias": True}
    assert parse("CONV(K=8, F=(3, 5), P=(1, 2), bias=False)")[0].params["F"] == (3, 5)
    assert parse("DROPOUT(0.25)")[0].params["p"] == 0.25
    assert parse("INPUT(3, 32, 32)")[0].params == {"C": 3, "H": 32, "W": 32}
    assert parse("INPUT → CONV → FC") == parse("INPUT -> CONV -> FC")


def test_patterns_may_span_lines():
    spec = parse("""INPUT(1, 8, 8)
                    -> [CONV -> RELU]*2
                    -> FC""")
    assert kinds(spec) == ["input", "conv", "relu", "conv", "relu", "fc"]


def test_list_specs_mix_layers_strings_and_dicts():
    spec = as_spec([input_layer(3, 8, 8), "[CONV3-4 -> RELU]*2", {"kind": "pool", "F": 2},
                    fc(10)])
    assert spec == [input_layer(3, 8, 8), conv(4), relu(), conv(4), relu(), pool(2), fc(10)]


# ---- errors point at the offending part ---------------------------------------------------
def test_unknown_layer_is_underlined():
    msg = error_points_at("INPUT -> CONV -> RELU -> CONVV -> FC", "CONVV")
    assert "unknown layer 'CONVV'" in msg and "RELU" in msg  # lists the known layers


def test_missing_bracket_points_at_the_open_bracket():
    error_points_at("INPUT -> [CONV -> RELU*2 -> FC", "[")


def test_stray_closing_bracket_and_missing_arrow():
    error_points_at("INPUT -> CONV] -> FC", "]")
    msg = error_points_at("INPUT -> CONV RELU", "RELU")
    assert "'->'" in msg


def test_star_needs_a_count():
    error_points_at("INPUT -> [CONV]* -> FC", "->")
    error_points_at("INPUT -> [CONV]*2.5 -> FC", "2.5")


def test_dangling_arrow_points_at_the_end():
    msg = error_points_at("INPUT -> CONV ->", "")
    assert "end of the pattern" in msg


def test_unknown_setting_and_too_many_positional_settings():
    msg = error_points_at("CONV(K=3, stride=2)", "stride")
    assert "K, F, S, P, dilation, bias" in msg
    error_points_at("FC(10, 20)", "20")
    error_points_at("CONV(K=3, K=4)", "K")
    error_points_at("CONV(K=3, F=x)", "x")


def test_invalid_values_point_at_the_layer():
    msg = error_points_at("INPUT -> CONV(K=0) -> FC", "CONV(K=0)")
    assert "K" in msg and ">= 1" in msg
    error_points_at("INPUT -> DROPOUT(p=1.5)", "DROPOUT(p=1.5)")
    error_points_at("INPUT -> FC3-4", "FC3-4")  # FC takes one size, not two
    error_points_at("INPUT -> RELU3", "RELU3")


def test_symbolic_count_without_value_points_at_the_symbol():
    msg = error_points_at(NOTES_PATTERN, "M", N=2, K=1, optional=True)
    assert "M=" in msg


def test_optional_part_needs_a_decision():
    msg = error_points_at(NOTES_PATTERN, "POOL?", N=1, M=2, K=1)
    assert "optional=True" in msg
    with pytest.raises(SpecError, match="2 optional part"):
        parse(NOTES_PATTERN, N=1, M=2, K=1, optional=[True])


def test_input_only_first_and_empty_pattern():
    error_points_at("CONV -> INPUT", "INPUT")
    with pytest.raises(SpecSyntaxError, match="empty"):
        parse("   ")
    with pytest.raises(SpecSyntaxError, match="unexpected character"):
        parse("CONV -> $FC")


def test_counts_the_pattern_does_not_use_are_refused():
    with pytest.raises(TypeError, match="Q=3.*symbolic counts: N"):
        parse("[CONV]*N", N=1, Q=3)


def test_wrong_number_of_sizes_is_explained():
    with pytest.raises(SpecError, match="filters lists 2 sizes but the pattern has 3"):
        parse("[CONV]*3", filters=[8, 16])
    with pytest.raises(SpecError, match="hidden lists 1 sizes but the pattern has 2"):
        parse("FC -> FC -> FC", hidden=[5])


def test_errors_are_value_errors():
    assert issubclass(SpecSyntaxError, ValueError) and issubclass(SpecError, ValueError)


def test_input_is_refused_after_the_first_layer_of_a_list():
    with pytest.raises(SpecError, match="INPUT may only be the first"):
        as_spec([conv(3), input_layer(1, 2, 2)])
    with pytest.raises(SpecError, match="kind"):
        as_spec([{"kind": "softmax"}])
    with pytest.raises(SpecError):
        as_spec(42)
