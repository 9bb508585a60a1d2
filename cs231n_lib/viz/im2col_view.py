"""im2col view: the sliding window beside the column it becomes and the filter row it meets.

im2col copies every window of the (padded) input into one column of a matrix ``X_col``
(``C*F*F`` rows, one per tap of every depth slice; one column per output position). The
filters, each flattened the same way, are the rows of ``W_row`` (``K x C*F*F``). Then the whole
layer is one matrix product: ``W_row @ X_col`` is ``K x (H_out*W_out)``, and entry ``(k, p)``
is filter ``k`` dotted with window ``p`` — the number a conv layer writes at output position
``p`` of depth slice ``k``. Reshaped, it is the ``K x H_out x W_out`` output volume.

Windows overlap when the stride is smaller than the filter, so input numbers are copied into
several columns: ``X_col`` is larger than the input (the price of one fast matrix product).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from ..backend import to_host
from ..geometry import conv_output_size, effective_filter_size
from ..im2col import im2col
from ..validate import check_float_array, check_int
from ..windows import pad_spatial
from .common import (FONT, HIGHLIGHT_CSS, MONO, PALETTE, TABLE_CSS, TD_CSS, Drawing, Html, LiveView,
                     escape, fmt_int, int_slider, play_button, table_html)
from .conv_stepper import demo_volume

__all__ = ["compute_im2col_shapes", "Im2colView", "compute_im2col_view", "render_im2col_view",
           "im2col_widget"]


def compute_im2col_shapes(input_shape: tuple[int, int, int], K: int, F: int, S: int = 1, P: int = 0,
                          dilation: int = 1, N: int = 1) -> dict[str, Any]:
    """The matrix shapes of a conv layer done as one product, for any setting.

    Inputs:
    - input_shape: (C, H, W) of one image; K filters of F x F; stride S, padding P, dilation;
      N images in the batch

    Returns a dict: ``X_col`` (C*F*F, N*H_out*W_out), ``W_row`` (K, C*F*F), ``product``
    (K, N*H_out*W_out), ``output`` (N, K, H_out, W_out), and ``copies``: how many numbers
    ``X_col`` holds per number of the input (overlapping windows copy pixels), with
    ``input_size`` = N*C*H*W.

    >>> compute_im2col_shapes((3, 227, 227), K=96, F=11, S=4)["X_col"]
    (363, 3025)
    """
    C, H, W = (check_int(v, n, 1) for v, n in zip(input_shape, ("C", "H", "W")))
    K, N = check_int(K, "K", 1), check_int(N, "N", 1)
    H_out, W_out = conv_output_size(H, F, S, P, dilation), conv_output_size(W, F, S, P, dilation)
    rows, cols = C * F * F, N * H_out * W_out
    return {"X_col": (rows, cols), "W_row": (K, rows), "product": (K, cols),
            "output": (N, K, H_out, W_out), "input_size": N * C * H * W,
            "copies": rows * cols / (N * C * H * W)}


@dataclass(frozen=True)
class Im2colView:
    """One window of a convolution seen three ways.

    Arrays on the input's device: ``x_pad`` (C, Hp, Wp), ``X_col`` (C*F*F, H_out*W_out),
    ``W_row`` (K, C*F*F), ``product`` (K, H_out*W_out) = ``W_row @ X_col``, ``out``
    (K, H_out, W_out) = ``product`` reshaped. ``position`` is the highlighted column (output
    position ``(i, j)``), ``k`` the highlighted filter row; ``rows``/``cols`` are the padded
    input indices of the window's taps.
    """
    x_pad: Any
    X_col: Any
    W_row: Any
    product: Any
    out: Any
    position: int
    k: int
    i: int
    j: int
    rows: list[int]
    cols: list[int]
    pad: int
    shapes: dict[str, Any]


def compute_im2col_view(x: Any, w: Any, conv_param: dict, position: int = 0, k: int = 0) -> Im2colView:
    """im2col of one input volume, the filters as rows, and their product.

    Inputs:
    - x: shape (C, H, W) (or (1, C, H, W)); w: shape (K, C, F, F) (square filters)
    - conv_param: 'stride', 'pad' (ints) and optional 'dilation'
    - position: which window/column to highlight, 0 .. H_out*W_out - 1; k: which filter row

    Returns an :class:`Im2colView` computed with :func:`cs231n_lib.im2col.im2col`.
    """
    if getattr(x, "ndim", None) == 3:
        x = x[None]
    check_float_array(x, "x", 4, "(C, H, W) or (1, C, H, W)")
    check_float_array(w, "w", 4, "(K, C, F, F)")
    if x.shape[0] != 1:
        raise ValueError(f"x must hold one input volume, got a batch of {x.shape[0]}")
    K, C, F, F2 = w.shape
    if F != F2 or C != x.shape[1]:
        raise ValueError(f"w must be (K, C, F, F) with C = {x.shape[1]} (the depth of x) and square "
                         f"filters, got shape {tuple(w.shape)}")
    S = check_int(conv_param.get("stride", 1), "conv_param['stride']", 1)
    P = check_int(conv_param.get("pad", 0), "conv_param['pad']", 0)
    D = check_int(conv_param.get("dilation", 1), "conv_param['dilation']", 1)
    shapes = compute_im2col_shapes(tuple(x.shape[1:]), K, F, S, P, D)
    H_out, W_out = shapes["output"][2:]
    position, k = check_int(position, "position", 0), check_int(k, "k", 0)
    if position >= H_out * W_out:
        raise ValueError(f"position must be < H_out*W_out = {H_out}*{W_out} = {H_out * W_out}, "
                         f"got {position}")
    if k >= K:
        raise ValueError(f"k must be < K = {K}, got {k}")
    X_col = im2col(x, F, F, S, P, D)
    W_row = w.reshape(K, -1)
    product = W_row @ X_col
    i, j = divmod(position, W_out)
    span = effective_filter_size(F, D)
    rows = list(range(i * S, i * S + span, D))
    cols = list(range(j * S, j * S + span, D))
    return Im2colView(pad_spatial(x, (P, P))[0], X_col, W_row, product,
                      product.reshape(K, H_out, W_out), position, k, i, j, rows, cols, P, shapes)


# --------------------------------------------------------------------------------------------
# Rendering: the matrix product laid out so the highlighted row and column meet at their cell
#
#     input volume + window  |  X_col
#     -----------------------+---------------------
#     W_row                  |  W_row @ X_col  ->  output volume
# --------------------------------------------------------------------------------------------
MAX_CELLS = 60  # draw matrices cell by cell up to this many rows or columns


def _grid(values: Any, styles: list, title: str, cell_px: int = 20) -> str:
    return table_html(values, styles, title, cell_px=cell_px, number_format="{:.3g}")


def _fill(colour: str) -> str:
    return f"background:{PALETTE[colour]};"


def render_im2col_view(v: Im2colView) -> Html:
    """HTML: the window on the input, its column in ``X_col``, the filter rows ``W_row`` and
    the product, with the highlighted row and column meeting at the output number."""
    x_pad, X_col, W_row, product, out = to_host((v.x_pad, v.X_col, v.W_row, v.product, v.out))
    rows_n, cols_n = X_col.shape
    K = W_row.shape[0]
    s = v.shapes
    head = (f'<div style="{MONO} font-size:13px;margin-bottom:6px;">'
            f'W_row {K}x{rows_n} @ X_col {rows_n}x{cols_n} = {K}x{cols_n} → reshaped to '
            f'{K}x{out.shape[1]}x{out.shape[2]}<br>'
            f'X_col holds {fmt_int(X_col.size)} numbers, the input {fmt_int(s["input_size"])}: '
            f'{s["copies"]:.2f} per input number (overlapping windows copy pixels; padding adds '
            'zeros)</div>')
    if rows_n > MAX_CELLS or cols_n > MAX_CELLS:
        return Html(f'<div style="{FONT}">{head}<div>The matrices are too large to draw cell by '
                    'cell here; choose a smaller setting to see them.</div></div>')
    taps = {(r, q) for r in v.rows for q in v.cols}
    C, Hp, Wp = x_pad.shape
    pad = f"color:{PALETTE['pad']};" + _fill("pad_light")

    def input_css(r: int, q: int) -> str:
        if (r, q) in taps:
            return HIGHLIGHT_CSS
        border = r < v.pad or r >= Hp - v.pad or q < v.pad or q >= Wp - v.pad
        return pad if border else _fill("input_light")

    grids = "".join(_grid(x_pad[c], [[input_css(r, q) for q in range(Wp)] for r in range(Hp)],
                          f"x[{c}]") for c in range(C))
    col_styles = [[HIGHLIGHT_CSS if q == v.position else _fill("input_light") for q in range(cols_n)]
                  for _ in range(rows_n)]
    row_styles = [[HIGHLIGHT_CSS if r == v.k else _fill("filter_light") for _ in range(rows_n)]
                  for r in range(K)]
    prod_styles = [[HIGHLIGHT_CSS if (r, q) == (v.k, v.position) else
                    (_fill("output_light") if q == v.position or r == v.k else "")
                    for q in range(cols_n)] for r in range(K)]
    out_grids = "".join(
        _grid(out[r], [[HIGHLIGHT_CSS if (r, a, b) == (v.k, v.i, v.j) else _fill("output_light")
                        for b in range(out.shape[2])] for a in range(out.shape[1])],
              f"out[{r}]", cell_px=26)
        for r in range(K))
    value = escape(f"{float(product[v.k, v.position]):.4g}")
    td = f'<td style="{TD_CSS}padding:4px 10px 4px 0;">'

    def title(text: str, colour: str) -> str:
        return f'<b style="color:{PALETTE[colour]}">{text}</b><br>'

    return Html(
        f'<div style="{FONT}">{head}<table style="{TABLE_CSS}"><tr>'
        f'{td}{title(f"input, window {v.position} (output {v.i}, {v.j})", "input")}{grids}</td>'
        f'{td}{title(f"X_col: column {v.position} is that window", "input")}'
        f'{_grid(X_col, col_styles, f"{rows_n} x {cols_n}")}</td></tr>'
        f'<tr>{td}{title(f"W_row: row {v.k} is filter {v.k}", "filter")}'
        f'{_grid(W_row, row_styles, f"{K} x {rows_n}")}</td>'
        f'{td}{title(f"W_row @ X_col: row {v.k} · column {v.position} = {value}", "output")}'
        f'{_grid(product, prod_styles, f"{K} x {cols_n}")}'
        f'<div style="margin-top:4px;">reshaped:</div>{out_grids}</td></tr></table></div>')


def im2col_widget(W: int = 5, C: int = 2, K: int = 2, F: int = 3, S: int = 2, P: int = 1,
                  dilation: int = 1, seed: int = 0) -> LiveView:
    """Sliders for the layer, the window (column) and the filter (row) to look at."""
    controls = {
        "W": int_slider("input W=H", W, 1, 8), "C": int_slider("depth C", C, 1, 3),
        "K": int_slider("filters K", K, 1, 3), "F": int_slider("filter F", F, 1, 4),
        "S": int_slider("stride S", S, 1, 3), "P": int_slider("padding P", P, 0, 2),
        "dilation": int_slider("dilation", dilation, 1, 2),
        "position": int_slider("window (column)", 0, 0, 8, width="360px"),
        "k": int_slider("filter (row)", 0, 0, K - 1),
    }
    play = play_button(controls["position"])

    def view(W: int, C: int, K: int, F: int, S: int, P: int, dilation: int, position: int,
             k: int) -> Drawing:
        x, w, _ = demo_volume(C, W, W, K, F, seed)
        v = compute_im2col_view(x, w, {"stride": S, "pad": P, "dilation": dilation}, position, k)
        return Drawing(v, render_im2col_view(v),
                       f"X_col {v.X_col.shape[0]}x{v.X_col.shape[1]}, W_row {v.W_row.shape[0]}x"
                       f"{v.W_row.shape[1]}: window {position}, filter {k}")

    def adjust(live: LiveView, name: str) -> None:
        if name in ("position", "k"):
            return
        side = live.output_side()
        if side is None:
            return  # the view shows why
        live.controls["position"].max = play.max = side * side - 1
        live.controls["k"].max = live.values()["K"] - 1

    live = LiveView("im2col: windows become columns, filters become rows", controls, view,
                    adjust=adjust, min_height="660px",
                    rows=[["W", "C", "K", "F"], ["S", "P", "dilation", "k"]],
                    extra=[widgets.HBox([play, controls["position"]])], name="im2col_widget")
    adjust(live, "W")
    return live
