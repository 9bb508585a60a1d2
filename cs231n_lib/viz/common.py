"""What every visualizer shares: one palette, figure and HTML helpers, and the live widget.

Each visualizer of this package has three layers:

* ``compute_*``: a pure function from numbers and arrays to numbers and arrays (tested);
* ``render_*``: draws a computed result, as a matplotlib figure or as HTML;
* ``*_widget``: controls (sliders, menus) above one output area. When a control changes, the
  view is computed and drawn again and the output area is replaced in one step (no clearing
  first, so nothing flickers). The area has a minimum height, so that a short message does not
  make the page jump, and grows with a larger drawing instead of cutting it off. A setting the
  layer would reject is shown as a message with its arithmetic, never as a traceback.

:class:`LiveView` is that widget layer, written once.
"""
from __future__ import annotations

import base64
import html
import io
import time
from dataclasses import dataclass
from typing import Any, Callable

import ipywidgets as widgets
from matplotlib import colormaps
from matplotlib.figure import Figure
from PIL import Image  # Pillow comes with matplotlib

from ..backend import np
from ..geometry import conv_output_size

__all__ = [
    "PALETTE", "HIGHLIGHT_CSS", "TABLE_CSS", "TD_CSS", "VizFigure", "Html", "new_figure",
    "figure_png", "Drawing", "LiveView", "message_html",
    "escape", "cell_color", "table_html", "int_slider", "fmt_int", "colorize", "as_rgb8",
    "img_html", "hex_rgb", "plural",
]

# One palette for the whole workbook, after the notes' demo: input volumes blue, weights red,
# outputs green; the thing being looked at right now is orange; zero padding is grey.
PALETTE = {
    "input": "#4c78a8", "input_light": "#dbe6f1",
    "filter": "#c8423f", "filter_light": "#f6dada",
    "output": "#3f8f3a", "output_light": "#dcefd9",
    "highlight": "#f58518", "highlight_light": "#fde3c8",
    "pad": "#9d9d9d", "pad_light": "#eeeeee",
    "invalid": "#b3261e", "invalid_light": "#fbe9e7",
    "text": "#222222", "muted": "#6b6b6b",
}

#: colour maps used by the matplotlib renderers
IMAGE_CMAP = "gray"
SIGNED_CMAP = "RdBu_r"
COUNT_CMAP = "magma"

FONT = "font-family: 'DejaVu Sans', Arial, sans-serif; font-size: 13px;"
# JupyterLab styles the tables of HTML outputs (centred, right-aligned cells, striped rows):
# the layout tables of the renderers reset that, so they look the same everywhere
TABLE_CSS = "border-collapse:collapse;margin:0;table-layout:auto;width:auto;"
TD_CSS = "background:#ffffff;text-align:left;vertical-align:top;border:none;"
# the cell being looked at right now, in every grid
HIGHLIGHT_CSS = (f"background:{PALETTE['highlight_light']};outline:2px solid {PALETTE['highlight']};"
                 "font-weight:bold;")
MONO = "font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace;"


# --------------------------------------------------------------------------------------------
# Figures and HTML
# --------------------------------------------------------------------------------------------
class VizFigure(Figure):
    """A matplotlib figure that shows itself as a PNG when it is a cell's last expression.

    It is not managed by pyplot, so it is never shown twice and never leaks: it is garbage
    like any other object once nothing refers to it.
    """

    def _repr_png_(self) -> bytes:
        return figure_png(self)


def new_figure(width: float, height: float, dpi: int = 80) -> VizFigure:
    """A figure of ``width x height`` inches (the renderers keep their figures small:
    drawing time grows with the number of pixels)."""
    return VizFigure(figsize=(width, height), dpi=dpi)


def figure_png(fig: Figure) -> bytes:
    """The figure as PNG bytes, at the figure's own size (the same size on every redraw)."""
    buffer = io.BytesIO()
    # light compression: a third of the encoding time, the bytes only a little larger
    fig.savefig(buffer, format="png", dpi=fig.dpi, facecolor="white", pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


class Html(str):
    """An HTML string that shows itself rendered when it is a cell's last expression (and as
    a short note, not pages of markup, in plain-text views)."""

    def _repr_html_(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return f"<HTML drawing, {len(self)} characters>"


def escape(text: Any) -> str:
    """Text made safe to put inside HTML."""
    return html.escape(str(text), quote=True)


def fmt_int(n: int) -> str:
    """12345678 -> '12,345,678' (the notes write big counts this way)."""
    return f"{int(n):,}"


def plural(n: int, noun: str) -> str:
    """(1, "neuron") -> '1 neuron', (3, "neuron") -> '3 neurons' (thousands separated)."""
    return f"{fmt_int(n)} {noun}" + ("" if n == 1 else "s")


def message_html(text: str, kind: str = "invalid") -> str:
    """A boxed message: ``kind`` is "invalid" (a setting the layer rejects) or "error"
    (the visualizer itself failed, which is a bug to report)."""
    title = "This setting does not work" if kind == "invalid" else "The visualizer failed"
    return (f'<div class="cs231n-message cs231n-{kind}" style="{FONT} border-left: 4px solid '
            f'{PALETTE["invalid"]}; background: {PALETTE["invalid_light"]}; padding: 8px 12px; '
            f'color: {PALETTE["text"]};"><b>{title}.</b><br><span style="{MONO}">'
            f'{escape(text)}</span></div>')


def cell_color(value: float, vmax: float) -> str:
    """Background colour of a number in an HTML grid: blue for negative, red for positive,
    white for zero, stronger the larger ``|value| / vmax``."""
    if vmax <= 0 or value == 0:
        return "#ffffff"
    t = min(abs(value) / vmax, 1.0)
    base = (200, 66, 63) if value > 0 else (76, 120, 168)
    rgb = [round(255 + (c - 255) * 0.55 * t) for c in base]
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def table_html(values: Any, styles: Any = None, title: str = "", cell_px: int = 24,
               number_format: str = "{:g}", show_numbers: bool = True) -> str:
    """A 2-D array as an HTML grid of small square cells.

    ``styles`` (same shape, optional) holds extra CSS per cell, e.g. a background or border.
    """
    values = np.asarray(values)
    rows = []
    for r in range(values.shape[0]):
        cells = []
        for c in range(values.shape[1]):
            css = styles[r][c] if styles is not None else ""
            text = number_format.format(values[r, c]) if show_numbers else ""
            size = f"width:{cell_px}px;height:{cell_px}px;min-width:{cell_px}px;"
            cells.append(f'<td style="background:#ffffff;{size}padding:0;text-align:center;'
                         f'border:1px solid #ccc;{css}">{text}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    caption = (f'<caption style="caption-side: top; text-align: left; padding: 2px 0; '
               f'color: {PALETTE["muted"]}; white-space: nowrap;">{title}</caption>' if title else "")
    return (f'<table style="border-collapse: collapse; table-layout: auto; {MONO} font-size: 11px; '
            f'margin: 2px 10px 6px 0; display: inline-table; vertical-align: top;">'
            f'{caption}{"".join(rows)}</table>')


def colorize(values: Any, cmap: str = IMAGE_CMAP, vmin: float | None = None,
             vmax: float | None = None) -> Any:
    """A 2-D array as an (H, W, 3) uint8 picture through a matplotlib colour map (a lookup,
    no figure): the fast way to show arrays inside HTML."""
    values = np.asarray(values, dtype=np.float64)
    lo = float(values.min()) if vmin is None else vmin
    hi = float(values.max()) if vmax is None else vmax
    scaled = (values - lo) / (hi - lo) if hi > lo else np.zeros_like(values)
    return (colormaps[cmap](np.clip(scaled, 0, 1))[..., :3] * 255).astype(np.uint8)


def as_rgb8(image: Any) -> Any:
    """An image with values in [0, 1], (C, H, W) with C = 1 or 3, or (H, W), as (H, W, 3)
    uint8."""
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 2:
        image = image[None]
    image = np.moveaxis(image, 0, -1)
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


def img_html(rgb: Any, scale: int = 1, title: str = "", style: str = "") -> str:
    """An (H, W, 3) uint8 picture as an inline PNG ``<img>``, enlarged ``scale`` times with
    square pixels (nearest neighbour), with an optional caption above it."""
    if scale > 1:
        rgb = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buffer, format="png", compress_level=1)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    caption = (f'<div style="font-size:11px;color:{PALETTE["muted"]};white-space:nowrap;'
               f'text-align:left;">{escape(title)}</div>' if title else "")
    return (f'<div style="display:inline-block;vertical-align:top;margin:0 8px 6px 0;{style}">'
            f'{caption}<img src="data:image/png;base64,{data}" width="{rgb.shape[1]}" '
            f'height="{rgb.shape[0]}" style="image-rendering:pixelated;"></div>')


def hex_rgb(colour: str) -> tuple[int, int, int]:
    """'#f58518' -> (245, 133, 24)."""
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


# --------------------------------------------------------------------------------------------
# The live widget
# --------------------------------------------------------------------------------------------
@dataclass
class Drawing:
    """What a widget's view function returns: the computed ``result``, what to show
    (``content``: a matplotlib figure or an HTML string) and a one-line ``summary``
    (plain text, used as the text form of the output and in the widget's repr)."""
    result: Any
    content: Any
    summary: str

    def bundle(self) -> dict:
        """A Jupyter display_data output holding the drawing."""
        if isinstance(self.content, Figure):
            data = {"image/png": base64.b64encode(figure_png(self.content)).decode("ascii")}
        else:
            data = {"text/html": str(self.content)}
        data["text/plain"] = self.summary
        return {"output_type": "display_data", "data": data, "metadata": {}}


def int_slider(description: str, value: int, lo: int, hi: int, step: int = 1,
               width: str = "225px") -> widgets.IntSlider:
    """A slider that reports its value once, on release (``continuous_update=False``), so
    that dragging across ten values redraws once, not ten times."""
    return widgets.IntSlider(value=value, min=lo, max=hi, step=step, description=description,
                             continuous_update=False, layout=widgets.Layout(width=width),
                             style={"description_width": "initial"})


def play_button(slider: widgets.IntSlider, interval_ms: int = 900) -> widgets.Play:
    """A play button that steps ``slider`` through its values, linked in the browser (so it
    plays without the kernel); keep its ``max`` equal to the slider's when that changes."""
    play = widgets.Play(value=slider.min, min=slider.min, max=slider.max, interval=interval_ms,
                        description="play")
    widgets.jslink((play, "value"), (slider, "value"))
    return play


class LiveView(widgets.VBox):
    """Controls above an output area that is redrawn whenever a control changes.

    Inputs:
    - title: a line shown above the controls
    - controls: name -> widget (anything with a ``value`` trait); the names are the keyword
      arguments of ``view``
    - view: ``view(**values) -> Drawing``; a ``ValueError``/``TypeError`` it raises is an
      invalid setting and is shown as a message (with the arithmetic the message holds)
    - adjust: optional ``adjust(live, name)`` called after control ``name`` changed and before
      the redraw, to keep dependent controls consistent (e.g. a slider's maximum); changes it
      makes do not trigger further redraws
    - min_height / width: the output area's size; it never gets shorter than ``min_height``
      (so a short message does not make the page jump) and grows with a taller drawing
      (so nothing is cut off); a drawing wider than ``width`` scrolls sideways
    - rows: how the controls are laid out, a list of lists of names (default: one row)
    - extra: widgets shown between the controls and the output that are not view inputs
      (a Play button, a note)
    - name: what the widget is called in its text form (default: the class name)

    After each redraw: ``result`` is the computed result (``None`` when invalid), ``error`` the
    message of an invalid setting (``None`` when valid), ``summary`` the one-line text, and
    ``redraw_seconds`` how long the compute-render-display step took.
    """

    def __init__(self, title: str, controls: dict[str, widgets.Widget],
                 view: Callable[..., Drawing], adjust: Callable[["LiveView", str], None] | None = None,
                 min_height: str = "420px", width: str = "100%",
                 rows: list[list[str]] | None = None, extra: list[widgets.Widget] | None = None,
                 name: str | None = None) -> None:
        self.name = name or type(self).__name__
        self.title = title
        self.controls = dict(controls)
        # no fixed height: the area is as tall as its content, and at least min_height
        self.output = widgets.Output(layout=widgets.Layout(
            min_height=min_height, width=width, overflow="auto", border="1px solid #dddddd",
            padding="4px"))
        self._view = view
        self._adjust = adjust
        self._busy = False
        self.result: Any = None
        self.error: str | None = None
        self.summary = ""
        self.redraw_seconds = 0.0
        rows = rows or [list(self.controls)]
        boxes = [widgets.HBox([self.controls[name] for name in row],
                              layout=widgets.Layout(flex_flow="row wrap")) for row in rows]
        header = widgets.HTML(f'<b style="{FONT}">{escape(title)}</b>')
        super().__init__([header, *boxes, *(extra or []), self.output])
        for name, control in self.controls.items():
            control.observe(self._changed(name), names="value")
        self.refresh()

    # -- reading and setting ------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        """The current value of every control, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def output_side(self) -> int | None:
        """Output size of the square conv set by the W, F, S, P and dilation controls, or
        None for a setting that does not fit (the view then says why)."""
        v = self.values()
        try:
            return conv_output_size(v["W"], v["F"], v["S"], v["P"], v["dilation"])
        except ValueError:
            return None

    def set(self, **values: Any) -> "LiveView":
        """Set several controls and redraw once (as a learner would, one after the other,
        but without the intermediate redraws)."""
        unknown = sorted(set(values) - set(self.controls))
        if unknown:
            raise ValueError(f"unknown control {unknown[0]!r}; this widget has {sorted(self.controls)}")
        self._busy = True
        try:
            for name, value in values.items():
                self.controls[name].value = value
                if self._adjust is not None:
                    self._adjust(self, name)
        finally:
            self._busy = False
        self.refresh()
        return self

    def shown(self) -> dict:
        """The output area's current content: a mime bundle ({"text/html": ...} or
        {"image/png": ...}, always with "text/plain")."""
        return dict(self.output.outputs[0]["data"]) if self.output.outputs else {}

    # -- redrawing ----------------------------------------------------------------------------
    def _changed(self, name: str) -> Callable[[dict], None]:
        def on_change(_change: dict) -> None:
            if self._busy:
                return
            self._busy = True
            try:
                if self._adjust is not None:
                    self._adjust(self, name)
            finally:
                self._busy = False
            self.refresh()
        return on_change

    def refresh(self) -> None:
        """Compute, render and replace the output area (one assignment: no flicker)."""
        start = time.perf_counter()
        try:
            drawing = self._view(**self.values())
            self.result, self.error, self.summary = drawing.result, None, drawing.summary
            bundle = drawing.bundle()
        except (ValueError, TypeError) as exc:  # a setting the layer rejects
            self.result, self.error = None, str(exc)
            self.summary = f"invalid setting: {exc}"
            bundle = Drawing(None, message_html(str(exc)), self.summary).bundle()
        except Exception as exc:  # a bug in the visualizer: say so, without a traceback
            self.result, self.error = None, f"{type(exc).__name__}: {exc}"
            self.summary = f"visualizer error: {self.error}"
            bundle = Drawing(None, message_html(self.error, kind="error"), self.summary).bundle()
        self.output.outputs = (bundle,)
        self.redraw_seconds = time.perf_counter() - start

    # -- the text form ------------------------------------------------------------------------
    def placeholder(self) -> str:
        """What a notebook shows where the widget would be when it is opened without running."""
        return f'Run this cell to explore "{self.title}".'

    def _repr_mimebundle_(self, **kwargs: Any) -> dict | None:
        """The widget's display: ipywidgets' bundle, with the text form (shown by a notebook
        opened without a kernel, and saved in the file) replaced by :meth:`placeholder`.
        ipywidgets would write ``repr(self)`` cut to 110 characters, often mid-word."""
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            bundle["text/plain"] = self.placeholder()
        return bundle

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.values().items())
        return f"{self.name}({settings}) -> {self.summary}"
