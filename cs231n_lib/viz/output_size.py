"""Output-size explorer: how many neurons fit across the input, and why some settings fail.

Along one axis a conv layer with filter size ``F``, stride ``S``, zero padding ``P`` and
dilation ``D`` over an input of size ``W`` places its windows at ``0, S, 2S, ...`` of the
padded input (``W + 2P`` cells). A window spans ``F_eff = D*(F - 1) + 1`` cells, so

    number of windows = (W - F_eff + 2P)/S + 1,

and the setting is valid only when that is a whole number: the last window must end exactly
at the last padded cell. Height and width follow the same rule; the depth of the output is the
number of filters ``K``, whatever the depth ``C`` of the input (each window covers all of it).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable

from ..geometry import (ConvGeometryError, _fraction_text, conv_output_size, effective_filter_size,
                        fitting_settings)
from ..validate import check_int
from .common import (FONT, MONO, PALETTE, Drawing, Html, LiveView, escape, fmt_int, int_slider,
                     message_html, plural)

__all__ = ["OutputSize", "compute_output_size", "repairs", "render_output_size",
           "output_size_widget"]


@dataclass(frozen=True)
class OutputSize:
    """The geometry of one axis of a conv layer, valid or not.

    ``starts``: padded-input index where each window that fits begins; ``taps``: for each of
    those windows, the padded indices its filter taps read (every ``D``-th cell).
    ``overhang``: taps of the next window when the windows do not tile (it runs past the end);
    ``unseen``: real input cells no window reads (they cannot influence the output).
    Padded index ``i`` is input cell ``i - P`` (the explorer numbers the input cells 0..W-1).
    ``repairs``: for an invalid setting, the changes that would make it fit (:func:`repairs`).
    """
    W: int
    F: int
    S: int
    P: int
    dilation: int
    C: int
    K: int
    span: int
    size: Fraction          # (W - span + 2P)/S + 1, possibly not whole (negative when too_large)
    valid: bool
    out: int | None          # the output size when valid
    formula: str             # the formula with the numbers filled in
    message: str | None      # the layer's error message when invalid
    suggestions: list[str] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    taps: list[list[int]] = field(default_factory=list)
    overhang: list[int] = field(default_factory=list)
    unseen: list[int] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)

    @property
    def weights_per_neuron(self) -> int:
        """Each neuron sees an ``F x F`` window through the full depth ``C``."""
        return self.F * self.F * self.C

    @property
    def output_shape(self) -> tuple[int, int, int] | None:
        """(height, width, depth) of the output volume, as the notes write volumes."""
        return None if self.out is None else (self.out, self.out, self.K)

    @property
    def too_large(self) -> bool:
        """The window is larger than the padded input: not one window fits, and the formula
        would give a count below 1 (the explorer then shows only the layer's message)."""
        return self.W + 2 * self.P < self.span


def compute_output_size(W: int, F: int, S: int = 1, P: int = 0, dilation: int = 1,
                        C: int = 3, K: int = 2) -> OutputSize:
    """The output size of a conv layer along one axis, and where each window sits.

    Inputs:
    - W: input size; F: filter size; S: stride; P: zero padding per side; dilation: 1 for a
      contiguous filter (PyTorch's convention); C: input depth; K: number of filters.

    Returns an :class:`OutputSize`. Settings whose windows do not tile the input are not an
    error here (``valid`` is False and ``message`` holds the layer's explanation): the explorer
    draws them. Non-integer or out-of-range arguments raise ``ValueError``/``TypeError``.
    """
    W, F, S = check_int(W, "W", 1), check_int(F, "F", 1), check_int(S, "S", 1)
    P, D = check_int(P, "P", 0), check_int(dilation, "dilation", 1)
    C, K = check_int(C, "C", 1), check_int(K, "K", 1)
    span = effective_filter_size(F, D)
    size = Fraction(W - span + 2 * P, S) + 1
    formula = f"({W} - {_f_text(F, D)} + 2*{P})/{S} + 1 = {_fraction_text(size)}"
    try:
        out: int | None = conv_output_size(W, F, S, P, D)
        message, suggestions, fixes = None, [], []
    except ConvGeometryError as exc:
        out, message = None, str(exc)
        suggestions, fixes = fitting_settings(W, F, S, P, D), repairs(W, F, S, P, D)
    padded = W + 2 * P
    # windows that fit: start + span <= padded
    fitting = (padded - span) // S + 1 if padded >= span else 0
    starts = [i * S for i in range(fitting)]
    taps = [[s + k * D for k in range(F)] for s in starts]
    overhang = [] if out is not None else [fitting * S + k * D for k in range(F)]
    seen = {t for window in taps for t in window}
    unseen = [i for i in range(P, P + W) if i not in seen]
    return OutputSize(W, F, S, P, D, C, K, span, size, out is not None, out, formula, message,
                      suggestions, starts, taps, overhang, unseen, fixes)


def _f_text(F: int, D: int) -> str:
    """F in the formula: the filter size, or its dilated span when the dilation is not 1."""
    return f"{F}" if D == 1 else f"{effective_filter_size(F, D)}"


# --------------------------------------------------------------------------------------------
# What would repair a setting that does not fit
# --------------------------------------------------------------------------------------------
def _fit(W: int, F: int, S: int, P: int, D: int) -> int | None:
    """The output size, or None where the layer's rule refuses the setting."""
    try:
        return conv_output_size(W, F, S, P, D)
    except ConvGeometryError:
        return None


def _nearest(name: str, now: int, candidates: range, out_of: Callable[[int], int | None]) -> str:
    """'W=223 (output 54) or W=227 (output 55)': the nearest fitting value below ``now`` and
    the nearest above, among ``candidates`` ('' when none fits)."""
    below = [v for v in candidates if v < now and out_of(v) is not None]
    above = [v for v in candidates if v > now and out_of(v) is not None]
    picked = ([below[-1]] if below else []) + ([above[0]] if above else [])
    return " or ".join(f"{name}={v} (output {out_of(v)})" for v in picked)


def repairs(W: int, F: int, S: int, P: int, dilation: int = 1) -> list[str]:
    """What would make a setting fit, one change at a time, each found with the layer's own
    rule (:func:`~cs231n_lib.geometry.conv_output_size`). Empty for a setting that fits.

    Inputs as for :func:`compute_output_size`. Returns lines such as, for W=224, F=11, S=4:
    ``input W=223 (output 54) or W=227 (output 55)``; ``no symmetric padding can: 224 - 11 +
    2P is odd for every P, ...``; ``3 more zeros on one side only ...``; the nearest strides;
    the nearest filter sizes.
    """
    D = dilation
    if _fit(W, F, S, P, D) is not None:
        return []
    span, f_text = effective_filter_size(F, D), _f_text(F, D)
    # one more input cell changes W - F + 2P by one: the next fit is fewer than S cells away
    lines = ["input " + _nearest("W", W, range(1, W + S + span + 1), lambda w: _fit(w, F, S, P, D))]
    # fits repeat every S paddings, and a padding of span/2 makes room for one window
    pad = _nearest("P", P, range(0, P + span + S + 1), lambda p: _fit(W, F, S, p, D))
    if pad:
        lines.append(f"padding {pad}")
    elif S % 2 == 0 and (W - span) % 2 == 1:
        # symmetric padding adds 2 zeros at a time: W - F + 2P stays odd, the stride is even
        lines.append(f"no symmetric padding can: {W} - {f_text} + 2P is odd for every P, "
                     f"and an odd number is never a multiple of the even stride {S}")
    # zeros on one side only (asymmetric padding, as some libraries do): any total can fit
    extra = max(0, span - W - 2 * P)
    extra += (-(W - span + 2 * P + extra)) % S
    if extra % 2 == 1:  # an even number of extra zeros is a symmetric padding, listed above
        out = (W - span + 2 * P + extra) // S + 1
        lines.append(f"{plural(extra, 'more zero')} on one side only (asymmetric padding, as "
                     f"some libraries do): ({W} - {f_text} + 2*{P} + {extra})/{S} + 1 = {out}")
    stride = _nearest("S", S, range(1, span + 1), lambda s: _fit(W, F, s, P, D))
    size = _nearest("F", F, range(1, W + 2 * P + 1), lambda f: _fit(W, f, S, P, D))
    if stride:
        lines.append(f"stride {stride}")
    if size:
        lines.append(f"filter {size}")
    return lines


# --------------------------------------------------------------------------------------------
# Rendering: the formula, the volumes, and one row of the input with the neurons above it
# --------------------------------------------------------------------------------------------
def _row_svg(r: OutputSize, max_width: int = 900) -> str:
    """SVG of one input row with each neuron above it, joined to its taps.

    Input cells are numbered 0..W-1; padding cells are grey and hatched, without a number;
    cells past the end (where a window that does not fit would read) are dashed red. The SVG
    is drawn at least 8 px per cell and scales down to the width of the output area.
    """
    padded = r.W + 2 * r.P
    extra = max(0, (max(r.overhang) + 1 - padded) if r.overhang else 0)
    n_cells = padded + extra
    cell = max(8, min(34, (max_width - 20) // max(n_cells, 1)))
    width = max(n_cells * cell + 20, 560)  # wide enough for the caption
    y_cells, y_neurons = 120, 30
    height = y_cells + cell + 24
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="100%" style="max-width:{width}px;height:auto;{FONT}">',
             f'<defs><pattern id="cs231n-pad" width="6" height="6" patternUnits="userSpaceOnUse">'
             f'<rect width="6" height="6" fill="{PALETTE["pad_light"]}"/><path d="M0,6 L6,0" '
             f'stroke="{PALETTE["pad"]}" stroke-width="1"/></pattern></defs>']
    x0 = 10
    centre = lambda i: x0 + i * cell + cell / 2  # noqa: E731  (cell i's horizontal centre)
    # neurons and their connections (drawn first, so the cells sit on top of the lines)
    windows = [(t, False) for t in r.taps] + ([(r.overhang, True)] if r.overhang else [])
    for n, (taps, ghost) in enumerate(windows):
        # neurons are spread evenly above their windows; the ghost one is dashed and red
        nx = sum(centre(t) for t in taps) / len(taps)
        colour = PALETTE["invalid"] if ghost else PALETTE["output"]
        dash = ' stroke-dasharray="4 3"' if ghost else ""
        for t in taps:
            parts.append(f'<line x1="{nx:.1f}" y1="{y_neurons + 8}" x2="{centre(t):.1f}" '
                         f'y2="{y_cells}" stroke="{colour}" stroke-opacity="0.55"{dash}/>')
        fill = "white" if ghost else PALETTE["output_light"]
        parts.append(f'<circle cx="{nx:.1f}" cy="{y_neurons}" r="{min(9, cell / 2.2):.1f}" '
                     f'fill="{fill}" stroke="{colour}" stroke-width="1.5"{dash}/>')
        if cell >= 16 and not ghost:
            parts.append(f'<text x="{nx:.1f}" y="{y_neurons + 4}" font-size="10" '
                         f'text-anchor="middle">{n}</text>')
    unseen = set(r.unseen)
    for i in range(n_cells):
        parts.append(_cell_svg(r, i, x0 + i * cell, y_cells, cell, i in unseen))
    caption = (f'one row of the input: cells 0..{r.W - 1}'
               + (f', with {plural(r.P, "zero")} of padding on each side (hatched grey)' if r.P else "")
               + (f'; red-bordered cells are never read ({len(r.unseen)})' if r.unseen else ""))
    parts.append(f'<text x="{x0}" y="{y_cells + cell + 16}" font-size="11" '
                 f'fill="{PALETTE["muted"]}">{caption}</text></svg>')
    return "".join(parts)


def _cell_svg(r: OutputSize, i: int, x: int, y: int, cell: int, unseen: bool) -> str:
    """Padded cell ``i`` as SVG: an input cell (numbered ``i - P``), a padding cell, or a cell
    past the end of the padded input."""
    if i >= r.W + 2 * r.P:  # where the window that does not fit would read
        return (f'<rect class="cell past-end" x="{x}" y="{y}" width="{cell}" height="{cell}" '
                f'fill="none" stroke="{PALETTE["invalid"]}" stroke-dasharray="3 2"/>')
    if i < r.P or i >= r.P + r.W:
        return (f'<rect class="cell pad" x="{x}" y="{y}" width="{cell}" height="{cell}" '
                f'fill="url(#cs231n-pad)" stroke="#888888"/>')
    stroke, width = (PALETTE["invalid"], 2.5) if unseen else ("#888888", 1)
    rect = (f'<rect class="cell input" x="{x}" y="{y}" width="{cell}" height="{cell}" '
            f'fill="{PALETTE["input_light"]}" stroke="{stroke}" stroke-width="{width}"/>')
    if cell < 14:
        return rect
    return rect + (f'<text class="cell-label" x="{x + cell / 2:.1f}" y="{y + cell / 2 + 4:.1f}" '
                   f'font-size="10" text-anchor="middle">{i - r.P}</text>')


def _overhang_text(r: OutputSize) -> str:
    """Where the window that does not fit would read, in the input's numbering."""
    first, last = r.overhang[0] - r.P, r.overhang[-1] - r.P
    fit = plural(len(r.starts), "window") + (" fits" if len(r.starts) == 1 else " fit")
    ends = f"the input ends at cell {r.W - 1}"
    if r.P:
        ends += f", followed by {plural(r.P, 'zero')} of padding"
    return f"{fit}; the next one would read cells {first}..{last}, but {ends} (dashed, red)."


def render_output_size(r: OutputSize) -> Html:
    """HTML: the volumes, the formula with the numbers, the verdict (with what would repair an
    invalid setting), and the 1-D picture."""
    colour = PALETTE["output"] if r.valid else PALETTE["invalid"]
    dil = (f" &nbsp; (dilation {r.dilation}: the {r.F} taps span F_eff = {r.dilation}*({r.F}-1)+1 "
           f"= {r.span} cells)" if r.dilation > 1 else "")
    lines = [
        f'<div style="{FONT} line-height: 1.5;">',
        f'input {r.W}x{r.W}x{r.C} &nbsp;·&nbsp; {plural(r.K, "filter")} of {r.F}x{r.F}x{r.C} '
        f'({plural(r.weights_per_neuron, "weight")} + 1 bias each) &nbsp;·&nbsp; '
        f'stride {r.S}, padding {r.P}{dil}',
    ]
    if not r.too_large:  # a window larger than the input: only the message says anything
        lines.append(f'<div style="{MONO} font-size: 16px; margin: 6px 0; color: {colour};">'
                     f'(W - F + 2P)/S + 1 = {escape(r.formula)}</div>')
    if r.valid:
        lines.append(f'<div>output volume: <b>{r.out}x{r.out}x{r.K}</b> '
                     f'({plural(r.out, "neuron")} across, {fmt_int(r.out * r.out * r.K)} in all)</div>')
    else:
        lines.append(message_html(r.message or ""))
        items = "".join(f"<li>{escape(line)}</li>" for line in r.repairs)
        lines.append(f'<div style="margin-top:4px">What would make it fit (one change at a time):'
                     f'<ul style="margin:2px 0 4px 0;">{items}</ul></div>')
        if r.overhang and r.starts:
            lines.append(f'<div style="margin-top:4px">{escape(_overhang_text(r))}</div>')
    lines.append(_row_svg(r))
    lines.append("</div>")
    return Html("".join(lines))


def output_size_widget(W: int = 5, F: int = 3, S: int = 2, P: int = 1, dilation: int = 1,
                       C: int = 3, K: int = 2) -> LiveView:
    """Sliders for W, F, S, P, dilation (and the depths C, K) above the live explorer.
    The defaults are the notes' one-dimensional example: W=5, F=3, P=1, stride 2 → 3.
    Every slider reaches past its starting value, so that a repair the explorer suggests
    (W=227 from the paper's W=224) can be set."""
    controls = {
        "W": int_slider("input W", W, 1, max(32, W + 32)),
        "F": int_slider("filter F", F, 1, max(11, F + 4)),
        "S": int_slider("stride S", S, 1, max(6, S + 2)),
        "P": int_slider("padding P", P, 0, max(6, P + 4)),
        "dilation": int_slider("dilation", dilation, 1, max(4, dilation + 2)),
        "C": int_slider("input depth C", C, 1, max(8, C)), "K": int_slider("filters K", K, 1, max(8, K)),
    }

    def view(**v: int) -> Drawing:
        r = compute_output_size(**v)
        if r.valid:
            return Drawing(r, render_output_size(r), f"{r.formula}: output {r.out}x{r.out}x{r.K}")
        summary = r.message if r.too_large else f"{r.formula}: invalid"
        return Drawing(r, render_output_size(r), f"{summary}; fits with {r.repairs[0]}")

    return LiveView("Output size: (W - F + 2P)/S + 1", controls, view, min_height="380px",
                    rows=[["W", "F", "S", "P"], ["dilation", "C", "K"]], name="output_size_widget")
