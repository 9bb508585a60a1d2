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

from ..geometry import (ConvGeometryError, _fraction_text, conv_output_size, effective_filter_size,
                        fitting_settings)
from ..validate import check_int
from .common import FONT, MONO, PALETTE, Drawing, Html, LiveView, escape, int_slider, message_html

__all__ = ["OutputSize", "compute_output_size", "render_output_size", "output_size_widget"]


@dataclass(frozen=True)
class OutputSize:
    """The geometry of one axis of a conv layer, valid or not.

    ``starts``: padded-input index where each window that fits begins; ``taps``: for each of
    those windows, the padded indices its filter taps read (every ``D``-th cell).
    ``overhang``: taps of the next window when the windows do not tile (it runs past the end);
    ``unseen``: real input cells no window reads (they cannot influence the output).
    """
    W: int
    F: int
    S: int
    P: int
    dilation: int
    C: int
    K: int
    span: int
    size: Fraction          # (W - span + 2P)/S + 1, possibly not whole
    valid: bool
    out: int | None          # the output size when valid
    formula: str             # the formula with the numbers filled in
    message: str | None      # the layer's error message when invalid
    suggestions: list[str] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    taps: list[list[int]] = field(default_factory=list)
    overhang: list[int] = field(default_factory=list)
    unseen: list[int] = field(default_factory=list)

    @property
    def weights_per_neuron(self) -> int:
        """Each neuron sees an ``F x F`` window through the full depth ``C``."""
        return self.F * self.F * self.C

    @property
    def output_shape(self) -> tuple[int, int, int] | None:
        """(height, width, depth) of the output volume, as the notes write volumes."""
        return None if self.out is None else (self.out, self.out, self.K)


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
    f_text = f"{F}" if D == 1 else f"{span}"
    formula = f"({W} - {f_text} + 2*{P})/{S} + 1 = {_fraction_text(size)}"
    try:
        out: int | None = conv_output_size(W, F, S, P, D)
        message, suggestions = None, []
    except ConvGeometryError as exc:
        out, message = None, str(exc)
        suggestions = fitting_settings(W, F, S, P, D)
    padded = W + 2 * P
    # windows that fit: start + span <= padded
    fitting = (padded - span) // S + 1 if padded >= span else 0
    starts = [i * S for i in range(fitting)]
    taps = [[s + k * D for k in range(F)] for s in starts]
    overhang = [] if out is not None else [fitting * S + k * D for k in range(F)]
    seen = {t for window in taps for t in window}
    unseen = [i for i in range(P, P + W) if i not in seen]
    return OutputSize(W, F, S, P, D, C, K, span, size, out is not None, out, formula, message,
                      suggestions, starts, taps, overhang, unseen)


# --------------------------------------------------------------------------------------------
# Rendering: the formula, the volumes, and one row of the input with the neurons above it
# --------------------------------------------------------------------------------------------
def _row_svg(r: OutputSize, max_width: int = 640) -> str:
    """SVG of one input row (padding grey) with each neuron above it, joined to its taps."""
    padded = r.W + 2 * r.P
    extra = max(0, (max(r.overhang) + 1 - padded) if r.overhang else 0)
    n_cells = padded + extra
    cell = max(8, min(34, (max_width - 20) // max(n_cells, 1)))
    width = max(n_cells * cell + 20, 560)  # wide enough for the caption
    y_cells, y_neurons = 120, 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{y_cells + cell + 24}" '
             f'style="{FONT}">']
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
        x = x0 + i * cell
        if i >= padded:  # past the end of the padded input: where the ghost window would read
            parts.append(f'<rect x="{x}" y="{y_cells}" width="{cell}" height="{cell}" fill="none" '
                         f'stroke="{PALETTE["invalid"]}" stroke-dasharray="3 2"/>')
            continue
        is_pad = i < r.P or i >= r.P + r.W
        fill = PALETTE["pad_light"] if is_pad else PALETTE["input_light"]
        stroke = PALETTE["invalid"] if i in unseen else "#888888"
        width_px = 2.5 if i in unseen else 1
        parts.append(f'<rect x="{x}" y="{y_cells}" width="{cell}" height="{cell}" fill="{fill}" '
                     f'stroke="{stroke}" stroke-width="{width_px}"/>')
        if cell >= 14:
            label = "0" if is_pad else str(i - r.P)
            colour = PALETTE["pad"] if is_pad else PALETTE["text"]
            parts.append(f'<text x="{centre(i):.1f}" y="{y_cells + cell / 2 + 4:.1f}" font-size="10" '
                         f'text-anchor="middle" fill="{colour}">{label}</text>')
    parts.append(f'<text x="{x0}" y="{y_cells + cell + 16}" font-size="11" fill="{PALETTE["muted"]}">'
                 f'one row of the input: {r.W} cells'
                 + (f' + {r.P} zero{"s" if r.P > 1 else ""} of padding on each side' if r.P else "")
                 + (f'; red-bordered cells are never read ({len(r.unseen)})' if r.unseen else "")
                 + '</text></svg>')
    return "".join(parts)


def render_output_size(r: OutputSize) -> Html:
    """HTML: the volumes, the formula with the numbers, the verdict, and the 1-D picture."""
    colour = PALETTE["output"] if r.valid else PALETTE["invalid"]
    dil = (f" &nbsp; (dilation {r.dilation}: the {r.F} taps span F_eff = {r.dilation}*({r.F}-1)+1 "
           f"= {r.span} cells)" if r.dilation > 1 else "")
    lines = [
        f'<div style="{FONT} line-height: 1.5;">',
        f'input {r.W}x{r.W}x{r.C} &nbsp;·&nbsp; {r.K} filters of {r.F}x{r.F}x{r.C} '
        f'({r.weights_per_neuron} weights + 1 bias each) &nbsp;·&nbsp; '
        f'stride {r.S}, padding {r.P}{dil}',
        f'<div style="{MONO} font-size: 16px; margin: 6px 0; color: {colour};">'
        f'(W - F + 2P)/S + 1 = {escape(r.formula)}</div>',
    ]
    if r.valid:
        lines.append(f'<div>output volume: <b>{r.out}x{r.out}x{r.K}</b> '
                     f'({r.out} neurons across, {r.out * r.out * r.K} in all)</div>')
    else:
        lines.append(message_html(r.message or ""))
        if r.overhang and r.starts:
            lines.append(f'<div style="margin-top:4px">{len(r.starts)} windows fit; the next one would '
                         f'read padded cells {r.overhang[0]}..{r.overhang[-1]}, but the padded input '
                         f'ends at cell {r.W + 2 * r.P - 1} (dashed, red).</div>')
    lines.append(_row_svg(r))
    lines.append("</div>")
    return Html("".join(lines))


def output_size_widget(W: int = 5, F: int = 3, S: int = 2, P: int = 1, dilation: int = 1,
                       C: int = 3, K: int = 2) -> LiveView:
    """Sliders for W, F, S, P, dilation (and the depths C, K) above the live explorer.
    The defaults are the notes' one-dimensional example: W=5, F=3, P=1, stride 2 → 3."""
    controls = {
        # ranges wide enough for the starting values (227 for AlexNet) and for exploring
        "W": int_slider("input W", W, 1, max(32, W)), "F": int_slider("filter F", F, 1, max(11, F)),
        "S": int_slider("stride S", S, 1, max(6, S)), "P": int_slider("padding P", P, 0, max(6, P)),
        "dilation": int_slider("dilation", dilation, 1, max(4, dilation)),
        "C": int_slider("input depth C", C, 1, max(8, C)), "K": int_slider("filters K", K, 1, max(8, K)),
    }

    def view(**v: int) -> Drawing:
        r = compute_output_size(**v)
        verdict = (f"output {r.out}x{r.out}x{r.K}" if r.valid else "invalid")
        return Drawing(r, render_output_size(r), f"{r.formula}: {verdict}")

    return LiveView("Output size: (W - F + 2P)/S + 1", controls, view, height="380px",
                    rows=[["W", "F", "S", "P"], ["dilation", "C", "K"]], name="output_size_widget")
