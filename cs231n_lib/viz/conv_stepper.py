"""Conv stepper: the notes' convolution demo, for any setting the layer accepts.

One output number of a conv layer, at filter ``k`` and position ``(i, j)``, is

    out[k, i, j] = sum over c, u, v of x_pad[c, i*S + u*D, j*S + v*D] * w[k, c, u, v] + b[k]

(``x_pad``: the input with ``P`` zeros around it, ``D``: dilation). The stepper walks through
the output numbers one by one and shows that sum: the highlighted window of every input depth
slice, the filter it meets, the elementwise products, their sum per slice, the bias, and the
output cell being written. The output itself comes from the library's reference layer
:func:`cs231n_lib.layers.conv_forward_naive`, so what is drawn is what the layer computes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from ..backend import np, to_host
from ..layers import conv_forward_naive
from ..validate import check_float_array, check_int
from ..windows import conv_window, pad_spatial
from .common import (FONT, HIGHLIGHT_CSS, MONO, PALETTE, Drawing, Html, LiveView, escape,
                     int_slider, play_button, table_html)

__all__ = ["ConvStep", "demo_volume", "compute_conv_step", "render_conv_step", "conv_stepper_widget"]


def demo_volume(C: int = 3, H: int = 5, W: int = 5, K: int = 2, F: int = 3, seed: int = 0
                ) -> tuple[Any, Any, Any]:
    """Small whole numbers to convolve by hand, like the notes' demo.

    Returns ``x`` (C, H, W) with entries in {0, 1, 2}, ``w`` (K, C, F, F) with entries in
    {-1, 0, 1} and ``b`` (K,) alternating 1, 0, 1, ... — all float64, drawn from ``seed``.
    """
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, size=(C, H, W)).astype(np.float64)
    w = rng.integers(-1, 2, size=(K, C, F, F)).astype(np.float64)
    b = ((np.arange(K) + 1) % 2).astype(np.float64)
    return x, w, b


@dataclass(frozen=True)
class ConvStep:
    """One step of the demo: output number ``(k, i, j)`` and everything that makes it.

    Arrays live where the input lives (NumPy or CuPy); shapes:
    ``x_pad`` (C, H + 2P_h, W + 2P_w), ``out`` (K, H_out, W_out), ``window``/``products``
    (C, F_h, F_w), ``channel_sums`` (C,). ``rows``/``cols`` are the padded indices read.
    """
    x_pad: Any
    w: Any
    b: Any
    out: Any
    pad: tuple[int, int]
    k: int
    i: int
    j: int
    step: int
    n_steps: int
    rows: list[int]
    cols: list[int]
    window: Any
    products: Any
    channel_sums: Any
    total: float            # sum of the products plus the bias, computed here
    value: float            # out[k, i, j] as the layer computed it


def compute_conv_step(x: Any, w: Any, b: Any, conv_param: dict, step: int = 0) -> ConvStep:
    """Output number ``step`` of a convolution (filters first, then rows, then columns).

    Inputs:
    - x: one input volume, shape (C, H, W) (or (1, C, H, W))
    - w: filters, shape (K, C, F_h, F_w); b: biases, shape (K,)
    - conv_param: as for :func:`conv_forward_naive` ('stride', 'pad', optional 'dilation')
    - step: which output number, 0 .. K*H_out*W_out - 1

    Returns a :class:`ConvStep`. Raises the layer's errors (``ValueError``, with the
    arithmetic) for a setting that does not fit.
    """
    if getattr(x, "ndim", None) == 3:
        x = x[None]
    check_float_array(x, "x", 4, "(C, H, W) or (1, C, H, W)")
    if x.shape[0] != 1:
        raise ValueError(f"x must hold one input volume, got a batch of {x.shape[0]} "
                         f"(shape {tuple(x.shape)})")
    out, _ = conv_forward_naive(x, w, b, conv_param)  # the layer's numbers, and its errors
    win = conv_window(x, w.shape[2], w.shape[3], conv_param, "compute_conv_step")
    K, (H_out, W_out) = w.shape[0], win.out
    n_steps = K * H_out * W_out
    step = check_int(step, "step", 0)
    if step >= n_steps:
        raise ValueError(f"step must be < K*H_out*W_out = {K}*{H_out}*{W_out} = {n_steps}, "
                         f"got {step}")
    k, rest = divmod(step, H_out * W_out)
    i, j = divmod(rest, W_out)
    x_pad = pad_spatial(x, win.pad)[0]
    rows, cols = win.rows(i), win.cols(j)
    window = x_pad[:, rows, cols]
    products = window * w[k]
    channel_sums = products.sum(axis=(1, 2))
    # two numbers for the display: the one explicit copy to the host of a step
    total = float(to_host(channel_sums.sum() + b[k]))
    return ConvStep(x_pad, w, b, out[0], win.pad, k, i, j, step, n_steps,
                    list(range(x_pad.shape[1]))[rows], list(range(x_pad.shape[2]))[cols],
                    window, products, channel_sums, total, float(to_host(out[0, k, i, j])))


# --------------------------------------------------------------------------------------------
# Rendering: the arithmetic on top, then the input and output volumes, then the filters
# --------------------------------------------------------------------------------------------
def _num(v: float) -> str:
    return f"{v:.3g}" if v != int(v) else f"{int(v)}"


def _signed(v: float) -> str:
    """A factor written so that ``2*-1`` reads ``2*(-1)``."""
    return f"({_num(v)})" if v < 0 else _num(v)


def _input_grids(s: ConvStep, x_pad: Any) -> str:
    C, Hp, Wp = x_pad.shape
    ph, pw = s.pad
    taps = {(r, c) for r in s.rows for c in s.cols}
    span_r, span_c = (s.rows[0], s.rows[-1]), (s.cols[0], s.cols[-1])
    grids = []
    for c in range(C):
        styles = []
        for r in range(Hp):
            row = []
            for q in range(Wp):
                padded = r < ph or r >= Hp - ph or q < pw or q >= Wp - pw
                css = (f"color:{PALETTE['pad']};background:{PALETTE['pad_light']};" if padded
                       else f"background:{PALETTE['input_light']};")
                if (r, q) in taps:
                    css += HIGHLIGHT_CSS
                elif span_r[0] <= r <= span_r[1] and span_c[0] <= q <= span_c[1]:
                    css += f"outline:1px dashed {PALETTE['highlight']};"  # skipped by dilation
                row.append(css)
            styles.append(row)
        grids.append(table_html(x_pad[c], styles, f"x[{c}] (padded)", cell_px=20,
                                number_format="{:.3g}"))
    return "".join(grids)  # side by side, wrapping when they do not fit


def _filter_grids(s: ConvStep, w: Any, b: Any) -> str:
    K, C, FH, FW = w.shape
    blocks = []
    for k in range(K):
        active = k == s.k
        weight = "font-weight:bold;" if active else "color:#777;"  # the active filter stands out
        css = f"background:{PALETTE['filter_light']};{weight}"
        grids = [table_html(w[k, c], [[css] * FW for _ in range(FH)], f"w{k}[{c}]",
                            number_format="{:.3g}") for c in range(C)]
        border = PALETTE["filter"] if active else "#dddddd"
        blocks.append(f'<div style="display:inline-block;vertical-align:top;border:2px solid {border};'
                      f'padding:2px 4px;margin:0 8px 4px 0;">'
                      f'{"".join(grids)}<div style="{MONO}">b{k} = {_num(float(b[k]))}</div></div>')
    return "".join(blocks)


def _output_grids(s: ConvStep, out: Any) -> str:
    K, H_out, W_out = out.shape
    grids = []
    for k in range(K):
        values, styles = [], []
        for i in range(H_out):
            vrow, srow = [], []
            for j in range(W_out):
                index = (k * H_out + i) * W_out + j
                written = index <= s.step
                vrow.append(_num(float(out[k, i, j])) if written else "")
                css = f"background:{PALETTE['output_light']};" if written else ""
                if index == s.step:
                    css += HIGHLIGHT_CSS
                srow.append(css)
            values.append(vrow)
            styles.append(srow)
        grids.append(table_html(np.array(values, dtype=object), styles, f"out[{k}]",
                                cell_px=30, number_format="{}"))
    return "".join(grids)


def _arithmetic(s: ConvStep, window: Any, w: Any, sums: Any, b: Any) -> str:
    lines = []
    for c in range(window.shape[0]):
        pairs = zip(window[c].ravel(), w[s.k, c].ravel())
        terms = [f"{_num(float(a))}*{_signed(float(f))}" for a, f in pairs]
        shown = " + ".join(terms) if len(terms) <= 25 else f"{len(terms)} products"
        lines.append(f"slice {c}: {shown} = {_num(float(sums[c]))}")
    parts = " + ".join(_num(float(v)) for v in sums)
    bias = _num(float(b[s.k]))
    lines.append(f"out[{s.k}, {s.i}, {s.j}] = {parts} + b{s.k} ({bias}) = {_num(s.total)}")
    return "<br>".join(escape(line) for line in lines)


def render_conv_step(s: ConvStep) -> Html:
    """HTML: input depth slices with the window, the K filters and biases, the output being
    written, and the sum that gives the highlighted output number."""
    x_pad, w, b, out, window, sums = to_host((s.x_pad, s.w, s.b, s.out, s.window, s.channel_sums))
    C, K = x_pad.shape[0], w.shape[0]
    H_out, W_out = out.shape[1:]

    def block(title: str, colour: str, body: str, inline: bool = True) -> str:
        display = "display:inline-block;vertical-align:top;margin-right:18px;" if inline else ""
        return (f'<div style="{display}"><div style="color:{colour};font-weight:bold;">{title}</div>'
                f'{body}</div>')

    return Html(f'<div style="{FONT}">'
                f'<div style="{MONO} font-size:12px; margin-bottom:8px;">'
                f'output number {s.step} of 0..{s.n_steps - 1}<br>'
                f'{_arithmetic(s, window, w, sums, b)}</div>'
                + block(f"input volume ({C} slices, padded)", PALETTE["input"], _input_grids(s, x_pad))
                + block(f"output volume {H_out}x{W_out}x{K}", PALETTE["output"], _output_grids(s, out))
                + block(f"{K} filters + biases", PALETTE["filter"], _filter_grids(s, w, b), inline=False)
                + "</div>")


def conv_stepper_widget(W: int = 5, C: int = 3, K: int = 2, F: int = 3, S: int = 2, P: int = 1,
                        dilation: int = 1, seed: int = 0) -> LiveView:
    """The notes' demo (5x5x3 input, K=2, F=3, S=2, P=1) with every number on a slider and a
    Play button that walks through the output."""
    controls = {
        "W": int_slider("input W=H", W, 1, 9), "C": int_slider("depth C", C, 1, 4),
        "K": int_slider("filters K", K, 1, 4), "F": int_slider("filter F", F, 1, 5),
        "S": int_slider("stride S", S, 1, 4), "P": int_slider("padding P", P, 0, 3),
        "dilation": int_slider("dilation", dilation, 1, 3),
        "seed": int_slider("numbers (seed)", seed, 0, 9),
        "step": int_slider("output number", 0, 0, 17, width="420px"),
    }
    play = play_button(controls["step"])

    def view(W: int, C: int, K: int, F: int, S: int, P: int, dilation: int, seed: int,
             step: int) -> Drawing:
        x, w, b = demo_volume(C, W, W, K, F, seed)
        s = compute_conv_step(x, w, b, {"stride": S, "pad": P, "dilation": dilation}, step)
        return Drawing(s, render_conv_step(s),
                       f"out[{s.k}, {s.i}, {s.j}] = {_num(s.total)} "
                       f"(output number {s.step} of 0..{s.n_steps - 1})")

    def adjust(live: LiveView, name: str) -> None:
        if name in ("step", "seed"):
            return
        side = live.output_side()
        if side is None:
            return  # an invalid setting: the view will say why
        n = live.values()["K"] * side * side
        live.controls["step"].max = play.max = n - 1
        live.controls["step"].value = min(live.controls["step"].value, n - 1)

    live = LiveView("Convolution, one output number at a time", controls, view, adjust=adjust,
                    min_height="520px", rows=[["W", "C", "K", "F"], ["S", "P", "dilation", "seed"]],
                    extra=[widgets.HBox([play, controls["step"]])], name="conv_stepper_widget")
    adjust(live, "W")  # size the step slider for the starting setting
    return live
