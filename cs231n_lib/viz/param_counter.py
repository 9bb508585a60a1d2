"""Parameter counter: the same output volume from a fully-connected, a locally-connected and a
convolutional layer, and what each costs.

For an input volume ``H x W x C`` and a layer of ``K`` filters of size ``F`` (stride ``S``,
padding ``P``) whose output is ``H_out x W_out x K``:

* fully connected: every output number is wired to every input number,
  ``(H*W*C) * (H_out*W_out*K)`` weights and one bias per output number;
* locally connected: each output neuron sees only its ``F x F x C`` window but owns its weights,
  ``H_out*W_out*K * (F*F*C + 1)`` parameters;
* convolutional: the neurons of one depth slice share one filter, ``K * F*F*C`` weights and
  ``K`` biases, whatever the size of the image.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import ipywidgets as widgets

from ..geometry import (conv_output_size, conv_param_count, fc_param_count,
                        locally_connected_param_count, memory_bytes)
from ..validate import check_int
from .common import (FONT, MONO, PALETTE, TABLE_CSS, TD_CSS, Drawing, Html, LiveView, escape,
                     fmt_int, int_slider)

__all__ = ["ParamCounts", "compute_param_counts", "UNITS", "bytes_text", "render_param_counts",
           "param_counter_widget"]


@dataclass(frozen=True)
class ParamCounts:
    """Counts for one layer setting; each of ``fully_connected``, ``locally_connected`` and
    ``conv`` is a dict with weights, biases, total (as :mod:`cs231n_lib.geometry` gives them)."""
    input_shape: tuple[int, int, int]     # (H, W, C)
    output_shape: tuple[int, int, int]    # (H_out, W_out, K)
    F: int
    S: int
    P: int
    fully_connected: dict[str, int]
    locally_connected: dict[str, int]
    conv: dict[str, int]

    @property
    def neurons(self) -> int:
        """Numbers in the output volume, one neuron each."""
        H_out, W_out, K = self.output_shape
        return H_out * W_out * K

    @property
    def per_neuron(self) -> int:
        """Weights one neuron of the conv (or locally-connected) layer reads: ``F*F*C``."""
        return self.F * self.F * self.input_shape[2]

    def float32_bytes(self, which: str) -> int:
        """Bytes to store the parameters of layer ``which`` once, in float32."""
        return memory_bytes(0, getattr(self, which)["total"], "float32", backward=False)["parameters"]


def compute_param_counts(W: int = 227, C: int = 3, K: int = 96, F: int = 11, S: int = 4,
                         P: int = 0, H: int | None = None) -> ParamCounts:
    """Parameters of three layers that map an ``H x W x C`` volume to the same output volume.

    The defaults are AlexNet's first layer (227x227x3, 96 filters of 11x11, stride 4): a
    locally-connected layer needs 105,705,600 parameters, the conv layer 34,944.
    Raises the geometry's ``ValueError`` (with the arithmetic) when the filters do not fit.
    """
    H = W if H is None else H
    W, H, C, K = check_int(W, "W", 1), check_int(H, "H", 1), check_int(C, "C", 1), check_int(K, "K", 1)
    H_out, W_out = conv_output_size(H, F, S, P), conv_output_size(W, F, S, P)
    return ParamCounts(
        (H, W, C), (H_out, W_out, K), F, S, P,
        fully_connected=fc_param_count(H * W * C, H_out * W_out * K),
        locally_connected=locally_connected_param_count(C, K, F, H_out, W_out),
        conv=conv_param_count(C, K, F),
    )


#: memory units (binary: 1 KiB = 1024 bytes); "auto" picks the largest that gives at least 1
UNITS = {"KiB": 2 ** 10, "MiB": 2 ** 20, "GiB": 2 ** 30, "TiB": 2 ** 40}


def bytes_text(n: int, unit: str = "auto") -> str:
    """``n`` bytes in ``unit`` ("auto" or one of :data:`UNITS`), thousands separated.

    >>> bytes_text(422_822_400), bytes_text(422_822_400, "KiB"), bytes_text(1000)
    ('403.2 MiB', '412,912 KiB', '1,000 B')
    """
    if unit == "auto":
        fitting = [name for name, size in UNITS.items() if n >= size]
        if not fitting:
            return f"{fmt_int(n)} B"
        unit = fitting[-1]
    if unit not in UNITS:
        raise ValueError(f"unit must be 'auto' or one of {list(UNITS)}, got {unit!r}")
    value = n / UNITS[unit]
    if value >= 1000 or value == 0:
        return f"{value:,.0f} {unit}"
    if value >= 1:
        return f"{value:.1f} {unit}"
    digits = 1 - math.floor(math.log10(value))  # two significant digits, never 1.3e-07
    return f"{value:.{digits}f} {unit}"


def render_param_counts(p: ParamCounts, unit: str = "auto") -> Html:
    """HTML: the arithmetic of each count, bars on a logarithmic scale, and the memory of
    each layer's parameters in float32, in ``unit`` (see :func:`bytes_text`)."""
    H, W, C = p.input_shape
    H_out, W_out, K = p.output_shape
    F = p.F
    rows = [
        ("fully connected", p.fully_connected,
         f"{fmt_int(H * W * C)} inputs × {fmt_int(p.neurons)} outputs + {fmt_int(p.neurons)} biases",
         PALETTE["invalid"]),
        ("locally connected", p.locally_connected,
         f"{fmt_int(p.neurons)} neurons × ({F}·{F}·{C} = {fmt_int(p.per_neuron)} weights + 1 bias)",
         PALETTE["highlight"]),
        ("convolution (shared)", p.conv,
         f"{K} filters × {F}·{F}·{C} = {fmt_int(p.conv['weights'])} weights + {K} biases",
         PALETTE["output"]),
    ]
    top = max(math.log10(max(r[1]["total"], 1)) for r in rows) or 1.0
    body = []
    for name, counts, how, colour in rows:
        width = max(2.0, 300 * math.log10(max(counts["total"], 1)) / top)
        body.append(
            f'<tr><td style="{TD_CSS}padding:4px 8px;"><b>{name}</b></td>'
            f'<td style="{TD_CSS}padding:4px 8px;text-align:right;{MONO}">'
            f'{fmt_int(counts["total"])}</td>'
            f'<td style="{TD_CSS}padding:4px 8px;"><div style="background:{colour};height:14px;'
            f'width:{width:.0f}px;"></div></td>'
            f'<td style="{TD_CSS}padding:4px 8px;color:{PALETTE["muted"]};">'
            f'{bytes_text(4 * counts["total"], unit)} in float32</td></tr>'
            f'<tr><td style="{TD_CSS}"></td><td colspan="3" style="{TD_CSS}padding:0 8px 6px 8px;'
            f'{MONO}font-size:12px;">'
            f'{escape(how)}</td></tr>')
    ratio = p.locally_connected["total"] / p.conv["total"]
    return Html(f'<div style="{FONT}">'
                f'<div>input {H}x{W}x{C} → output {H_out}x{W_out}x{K} '
                f'(F={F}, S={p.S}, P={p.P}: ({W} - {F} + 2*{p.P})/{p.S} + 1 = {W_out})</div>'
                f'<table style="{TABLE_CSS}margin-top:6px;">{"".join(body)}</table>'
                f'<div>Sharing one filter across each {H_out}x{W_out} depth slice divides the '
                f'locally-connected count by {ratio:,.0f} (bars: logarithmic scale).</div></div>')


def param_counter_widget(W: int = 227, C: int = 3, K: int = 96, F: int = 11, S: int = 4,
                         P: int = 0, unit: str = "auto") -> LiveView:
    """Sliders for the input volume and the layer, and a menu for the memory unit; the three
    counts side by side. Starts at AlexNet's first layer (105,705,600 vs 34,944)."""
    controls = {
        "W": int_slider("input W=H", W, 1, 256), "C": int_slider("depth C", C, 1, 64),
        "K": int_slider("filters K", K, 1, 512), "F": int_slider("filter F", F, 1, 15),
        "S": int_slider("stride S", S, 1, 8), "P": int_slider("padding P", P, 0, 8),
        "unit": widgets.Dropdown(options=["auto", *UNITS], value=unit, description="memory in",
                                 layout=widgets.Layout(width="180px")),
    }

    def view(unit: str, **v: int) -> Drawing:
        p = compute_param_counts(**v)
        return Drawing(p, render_param_counts(p, unit),
                       f"locally connected {fmt_int(p.locally_connected['total'])} vs conv "
                       f"{fmt_int(p.conv['total'])} parameters")

    return LiveView("Parameters: fully connected vs locally connected vs convolution", controls,
                    view, min_height="230px", rows=[["W", "C", "K"], ["F", "S", "P", "unit"]],
                    name="param_counter_widget")
