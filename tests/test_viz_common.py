"""The live-widget pattern shared by every visualizer: one output replaced per change, invalid
settings as messages, bugs reported without a traceback, figures as PNG."""
import ipywidgets as widgets
import pytest

from cs231n_lib.viz.common import (Drawing, LiveView, cell_color, int_slider, message_html,
                                   new_figure, table_html)


def _live(view, adjust=None):
    controls = {"a": int_slider("a", 1, 0, 10), "b": int_slider("b", 2, 0, 10)}
    return LiveView("test", controls, view, adjust=adjust, min_height="100px")


def test_each_change_replaces_the_output_once():
    calls = []

    def view(a, b):
        calls.append((a, b))
        return Drawing(a + b, f"<p>{a} + {b} = {a + b}</p>", f"sum {a + b}")

    live = _live(view)
    assert calls == [(1, 2)] and live.shown()["text/html"] == "<p>1 + 2 = 3</p>"
    live.controls["a"].value = 5
    assert live.result == 7 and live.shown()["text/plain"] == "sum 7"
    live.set(a=0, b=0)  # several controls, one redraw
    assert calls == [(1, 2), (5, 2), (0, 0)]
    assert len(live.output.outputs) == 1
    assert repr(live) == "LiveView(a=0, b=0) -> sum 0"  # the class name when no name is given
    assert live.redraw_seconds > 0


def test_invalid_settings_are_messages_and_bugs_are_reported_without_traceback():
    def view(a, b):
        if a > 5:
            raise ValueError(f"(a - 5)/1 = {a - 5} is too many")
        if b > 5:
            raise RuntimeError("oops")
        return Drawing(a, "<p>fine</p>", "fine")

    live = _live(view)
    live.controls["a"].value = 7
    html = live.shown()["text/html"]
    assert "does not work" in html and "(a - 5)/1 = 2 is too many" in html
    assert live.result is None and live.error == "(a - 5)/1 = 2 is too many"
    live.set(a=1, b=9)
    html = live.shown()["text/html"]
    assert "visualizer failed" in html and "RuntimeError: oops" in html and "Traceback" not in html
    live.controls["b"].value = 0
    assert live.error is None and live.shown()["text/html"] == "<p>fine</p>"


def test_adjust_runs_before_the_redraw_without_extra_redraws():
    seen = []

    def adjust(live, name):
        if name == "a":
            live.controls["b"].max = live.controls["a"].value
            live.controls["b"].value = min(live.controls["b"].value, live.controls["a"].value)

    def view(a, b):
        seen.append((a, b))
        return Drawing(None, "", "")

    live = _live(view, adjust)
    live.controls["a"].value = 0
    assert live.controls["b"].value == 0 and seen == [(1, 2), (0, 0)]


def test_set_rejects_unknown_controls():
    live = _live(lambda a, b: Drawing(None, "", ""))
    with pytest.raises(ValueError, match="unknown control 'c'"):
        live.set(c=1)


def test_figures_become_png_and_html_is_escaped():
    fig = new_figure(2, 1)
    fig.add_subplot().plot([0, 1])
    bundle = Drawing(None, fig, "a line").bundle()
    assert set(bundle["data"]) == {"image/png", "text/plain"}
    assert "<script>" not in message_html("<script>alert(1)</script>")
    assert isinstance(_live(lambda a, b: Drawing(None, "", "")), widgets.VBox)


def test_html_helpers():
    assert cell_color(0, 1) == "#ffffff" and cell_color(1, 1) != cell_color(-1, 1)
    html = table_html([[1, 2], [3, 4]], title="t")
    assert html.count("<td") == 4 and "<caption" in html


# -------------------------------------------------------------------------------------------
# Every widget of the workbook: an output area that grows, and a short text form
# -------------------------------------------------------------------------------------------
def _every_widget():
    from cs231n_lib import viz
    return [viz.output_size_widget(), viz.output_size_widget(W=224, F=11, S=4, P=0, C=3, K=96),
            viz.conv_stepper_widget(), viz.im2col_widget(), viz.param_counter_widget(),
            viz.receptive_field_widget(), viz.filters_widget(size=32)]


def test_every_output_area_grows_with_its_content():
    for live in _every_widget():
        layout = live.output.layout
        assert layout.height is None, f"{live.name}: a fixed height cuts a tall drawing off"
        assert layout.min_height and layout.min_height.endswith("px"), \
            f"{live.name}: without a minimum height a short message makes the page jump"
        assert len(live.output.outputs) == 1  # still one output, replaced in one step


def test_a_widget_not_rendered_reads_as_a_short_placeholder():
    """What a notebook opened without running shows (and saves) for a widget: the text/plain
    of its display, which ipywidgets would make from repr() cut at 110 characters."""
    from IPython.core.formatters import DisplayFormatter

    for live in _every_widget():
        expected = f'Run this cell to explore "{live.title}".'
        bundle = live._repr_mimebundle_()
        assert bundle["text/plain"] == expected and len(expected) <= 110, live.name
        assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == live.model_id
        shown, _ = DisplayFormatter().format(live)  # as IPython displays a cell's last value
        assert shown["text/plain"] == expected, live.name
        assert repr(live).startswith(f"{live.name}(")  # the repr itself still tells the settings
