"""Pooling stepper: a pooling layer, one window at a time, forward and backward.

A pooling layer slides an ``F x F`` window with stride ``S`` over each depth slice of its input
on its own, and turns every window into one number: its maximum, its mean, or its L2 norm
``sqrt(sum of squares)``. The stepper walks through the output positions in row-major order
and shows, for each one, the window on the (padded) input, the number it becomes and, for max
pooling, which input won: the *switch*. Ties go to the first maximum in row-major order, as in
the library's layers.

In backward mode it also sends an upstream gradient ``dout`` back, one window per step, and
shows the input gradient ``dx`` filling up:

* max: all of ``dout[i, j]`` goes to the switch of window ``(i, j)``;
* average: ``dout[i, j] / (F*F)`` to every position of the window;
* L2: ``dout[i, j] * x / out[i, j]`` to every position (0 for a window of zeros).

Where windows overlap (F > S), a pixel collects from every window it belongs to. After the
last step ``dx`` is the layer's input gradient: the tests check it against the library's
``*_pool_backward_naive``. The forward numbers come from the library's ``*_pool_forward_naive``,
so what is drawn is what the layer computes.

Padding (``pool_param['pad']``, at most half the window): max pooling pads with ``-inf``, so a
padded position never wins; average pooling pads with zeros that count in the mean; L2 pooling
pads with zeros, which add nothing to the sum of squares.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import ipywidgets as widgets

from ..backend import np, to_host, xp_of
from ..fast_layers import conv_forward_fast
from ..geometry import pool_output_size
from ..layers import avg_pool_forward_naive, l2_pool_forward_naive, max_pool_forward_naive
from ..validate import check_float_array, check_int
from ..windows import pad_spatial, pool_window, unpad_spatial
from .common import (FONT, HIGHLIGHT_CSS, MONO, PALETTE, Drawing, Html, LiveView, escape,
                     int_slider, play_button, table_html)

__all__ = ["KINDS", "PoolStep", "demo_plane", "photo_plane", "upstream_gradient",
           "compute_pool_step", "compute_switches", "render_pool_step", "pool_stepper_widget"]

#: the pooling functions: kind -> (the library's forward layer, what the padding holds)
KINDS = {
    "max": (max_pool_forward_naive, float("-inf")),
    "avg": (avg_pool_forward_naive, 0.0),
    "l2": (l2_pool_forward_naive, 0.0),
}
#: the photos the widget offers (scikit-image's samples, through cs231n_lib.data)
PHOTOS = ("chelsea", "camera", "astronaut", "coins")
MAP_SIZE = 48  # side of the activation map a photo patch is cut from


# --------------------------------------------------------------------------------------------
# Inputs: small whole numbers, a patch of a real activation map, an upstream gradient
# --------------------------------------------------------------------------------------------
def demo_plane(W: int = 6, H: int | None = None, seed: int = 0) -> Any:
    """One depth slice of small whole numbers (0 to 9) to pool by hand.

    Returns ``x`` of shape (H, W) (H = W unless given), float64, drawn from ``seed``. Whole
    numbers repeat, so some windows hold a tie for their maximum.
    """
    W = check_int(W, "W", 1)
    H = W if H is None else check_int(H, "H", 1)
    return np.random.default_rng(seed).integers(0, 10, size=(H, W)).astype(np.float64)


@lru_cache(maxsize=8)
def _activation_map(photo: str) -> Any:
    """A vertical-edge filter's activation map (after ReLU) on a grey ``photo`` of
    MAP_SIZE x MAP_SIZE: what a first conv layer hands to a pooling layer."""
    from ..data import load_photo
    from .filters import hand_made_filters

    image = load_photo(photo, size=MAP_SIZE, grayscale=True)  # (1, MAP_SIZE, MAP_SIZE)
    w, b, _ = hand_made_filters("edges", channels=1)
    out, _ = conv_forward_fast(image[None], w[:1], b[:1], {"stride": 1, "pad": 1})
    return np.round(np.maximum(out[0, 0], 0), 2)


def photo_plane(W: int = 6, photo: str = "chelsea", seed: int = 0) -> Any:
    """A W x W patch of a real activation map: the vertical-edge response (ReLU) of a
    photograph, cut at a place chosen by ``seed``.

    Returns ``x`` of shape (W, W), float32, values in [0, 1] rounded to two decimals (so the
    grid shows exactly the numbers that are pooled); many are exactly 0 (the ReLU), so ties
    for the maximum are common.
    """
    W = check_int(W, "W", 1)
    if W > MAP_SIZE:
        raise ValueError(f"W must be at most {MAP_SIZE} for a photo patch, got {W}")
    if photo not in PHOTOS:
        raise ValueError(f"photo must be one of {list(PHOTOS)}, got {photo!r}")
    full = _activation_map(photo)
    # the patch: among a few seeded places, the one with the most going on (largest sum)
    rng = np.random.default_rng(seed)
    corners = rng.integers(0, MAP_SIZE - W + 1, size=(8, 2))
    r, c = max(corners.tolist(), key=lambda rc: float(full[rc[0]:rc[0] + W, rc[1]:rc[1] + W].sum()))
    return np.ascontiguousarray(full[r:r + W, c:c + W])


def upstream_gradient(shape: tuple[int, int], kind: str = "ones", seed: int = 0) -> Any:
    """An upstream gradient ``dout`` for the backward pass.

    Inputs:
    - shape: (H_out, W_out), the pooling layer's output shape
    - kind: "ones" (every output gets gradient 1) or "random" (whole numbers 1 to 5,
      drawn from ``seed``, easy to follow as they add up)

    Returns ``dout`` of shape ``shape``, float64.
    """
    if kind == "ones":
        return np.ones(shape)
    if kind == "random":
        return np.random.default_rng(seed).integers(1, 6, size=shape).astype(np.float64)
    raise ValueError(f"kind must be 'ones' or 'random', got {kind!r}")


# --------------------------------------------------------------------------------------------
# One step
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PoolStep:
    """Output position ``(i, j)`` of a pooling layer on one depth slice, and how it is made.

    Arrays live where the input lives (NumPy or CuPy); shapes: ``x`` (H, W), ``x_pad``
    (H + 2P_h, W + 2P_w) padded with the kind's padding value, ``out`` (H_out, W_out),
    ``window`` and ``share`` (F_h, F_w). ``rows``/``cols`` are the padded indices of the
    window. ``switch`` is the padded (row, col) of the window's first maximum (max pooling
    only, else None); ``ties`` how many positions of the window hold that maximum.

    Backward mode (``dout`` given, shape (H_out, W_out)): ``share`` is what this step sends
    back to the positions of its window and ``dx`` (H, W) the input gradient collected over
    steps 0 .. ``step``; otherwise all three are None.
    """
    x: Any
    x_pad: Any
    out: Any
    kind: str
    pool_param: dict
    pad: tuple[int, int]
    i: int
    j: int
    step: int
    n_steps: int
    rows: list[int]
    cols: list[int]
    window: Any
    value: float                      # out[i, j] as the layer computed it
    switch: tuple[int, int] | None
    ties: int
    dout: Any = None
    share: Any = None
    dx: Any = None

    @property
    def input_switch(self) -> tuple[int, int] | None:
        """The switch in the coordinates of the unpadded input ``x``."""
        if self.switch is None:
            return None
        return self.switch[0] - self.pad[0], self.switch[1] - self.pad[1]

    @property
    def backward(self) -> bool:
        return self.dout is not None


def _as_plane(x: Any) -> Any:
    """``x`` as (1, 1, H, W) for the layers: a plane (H, W) or one slice (1, 1, H, W)."""
    if getattr(x, "ndim", None) == 2:
        x = x[None, None]
    check_float_array(x, "x", 4, "(H, W) or (1, 1, H, W)")
    if x.shape[:2] != (1, 1):
        raise ValueError(f"x must be one depth slice, (H, W) or (1, 1, H, W), got shape "
                         f"{tuple(x.shape)}; pooling treats every slice alike, so pick one")
    return x


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)}, got {kind!r}")


def _first_max(xp: Any, window: Any) -> Any:
    """Index of the first maximum of the window flattened in row-major order (a 0-d array
    on the window's device): the switch, with ties broken as the library breaks them."""
    return window.reshape(-1).argmax()


def _route(kind: str, xp: Any, window: Any, out_ij: Any, g: Any) -> Any:
    """What output ``out_ij`` with upstream gradient ``g`` sends back to each position of its
    window (shape of ``window``): the local derivative d out_ij / d x times g."""
    if kind == "max":
        # d max / d x is 1 at the switch, 0 elsewhere
        one_hot = xp.arange(window.size) == _first_max(xp, window)
        return one_hot.reshape(window.shape) * g
    if kind == "avg":
        # every position counts 1/(F*F) in the mean (padded zeros too)
        return xp.ones_like(window) * (g / window.size)
    # l2: d sqrt(sum x^2) / d x = x / out; a window of zeros (out = 0) sends back 0
    safe = xp.where(out_ij == 0, 1, out_ij)
    return window / safe * g


def compute_pool_step(x: Any, pool_param: dict, kind: str = "max", step: int = 0,
                      dout: Any = None) -> PoolStep:
    """Output position ``step`` (row-major) of a pooling layer on one depth slice.

    Inputs:
    - x: one depth slice, shape (H, W) (or (1, 1, H, W))
    - pool_param: as for the library's pooling layers: 'pool_height', 'pool_width',
      'stride' and optionally 'pad'
    - kind: "max", "avg" or "l2"
    - step: which output position, 0 .. H_out*W_out - 1
    - dout: optional upstream gradient, shape (H_out, W_out): route it back through the
      windows of steps 0 .. ``step`` (backward mode)

    Returns a :class:`PoolStep`. Raises the layer's errors (``ValueError`` subclasses, with
    the arithmetic) for a setting that does not fit.
    """
    _check_kind(kind)
    x4 = _as_plane(x)
    forward, pad_value = KINDS[kind]
    out, _ = forward(x4, pool_param)  # the layer's numbers, and its errors for bad settings
    win = pool_window(x4, pool_param, forward.__name__)
    H_out, W_out = win.out
    n_steps = H_out * W_out
    step = check_int(step, "step", 0)
    if step >= n_steps:
        raise ValueError(f"step must be < H_out*W_out = {H_out}*{W_out} = {n_steps}, got {step}")
    i, j = divmod(step, W_out)
    xp = xp_of(x4)
    x_pad = pad_spatial(x4, win.pad, pad_value)[0, 0]
    out = out[0, 0]
    window = x_pad[win.rows(i), win.cols(j)]

    switch, ties = None, 0
    if kind == "max":
        # the display needs the switch's place: one explicit copy of one index to the host
        u, v = divmod(int(to_host(_first_max(xp, window))), win.size[1])
        switch = (win.rows(i).start + u, win.cols(j).start + v)
        ties = int(to_host((window == window.max()).sum()))

    share = dx = None
    if dout is not None:
        check_float_array(dout, "dout", 2, "(H_out, W_out)")
        if tuple(dout.shape) != (H_out, W_out):
            raise ValueError(f"dout must have the output's shape (H_out, W_out) = "
                             f"{(H_out, W_out)}, got {tuple(dout.shape)}")
        xp = xp_of(x4, dout)
        dx_pad = xp.zeros(x_pad.shape, dtype=xp.result_type(x_pad, dout))
        for s in range(step + 1):  # the windows visited so far, in order
            si, sj = divmod(s, W_out)
            rows, cols = win.rows(si), win.cols(sj)
            share = _route(kind, xp, x_pad[rows, cols], out[si, sj], dout[si, sj])
            dx_pad[rows, cols] += share  # += : overlapping windows add up
        dx = unpad_spatial(dx_pad, win.pad).copy()  # the padding's gradient is dropped

    return PoolStep(x4[0, 0], x_pad, out, kind, dict(pool_param), win.pad, i, j, step, n_steps,
                    list(range(x_pad.shape[0]))[win.rows(i)],
                    list(range(x_pad.shape[1]))[win.cols(j)], window,
                    float(to_host(out[i, j])), switch, ties, dout, share, dx)


def compute_switches(x: Any, pool_param: dict) -> Any:
    """Where each window of max pooling found its maximum.

    Inputs:
    - x: one depth slice, shape (H, W) (or (1, 1, H, W))
    - pool_param: as for :func:`cs231n_lib.layers.max_pool_forward_naive`

    Returns ``switches``, a host int array of shape (H_out, W_out, 2): ``switches[i, j]`` is
    the (row, col) of ``x`` that won window ``(i, j)`` (the first maximum in row-major order).
    """
    x4 = _as_plane(x)
    win = pool_window(x4, pool_param, "compute_switches")
    xp = xp_of(x4)
    x_pad = pad_spatial(x4, win.pad, float("-inf"))[0, 0]
    H_out, W_out = win.out
    flat = xp.stack([_first_max(xp, x_pad[win.rows(i), win.cols(j)])
                     for i in range(H_out) for j in range(W_out)])
    u, v = np.divmod(to_host(flat).reshape(H_out, W_out), win.size[1])  # one copy to the host
    rows = np.arange(H_out)[:, None] * win.stride[0] + u - win.pad[0]
    cols = np.arange(W_out)[None, :] * win.stride[1] + v - win.pad[1]
    return np.stack([rows, cols], axis=-1).astype(int)


# --------------------------------------------------------------------------------------------
# Rendering: the arithmetic on top; input, output and (backward) dout and dx as grids
# --------------------------------------------------------------------------------------------
SWITCH_CSS = (f"background:{PALETTE['filter']};color:#ffffff;"
              f"outline:2px solid {PALETTE['highlight']};font-weight:bold;")
NAMES = {"max": "max pooling", "avg": "average pooling", "l2": "L2-norm pooling"}


def _num(v: float) -> str:
    if v == float("-inf"):
        return "-inf"
    return f"{v:.3g}" if v != int(v) else f"{int(v)}"


def _cell(v: float) -> str:
    """A number as a grid cell shows it: short enough for a small square."""
    if v == float("-inf"):
        return "−∞"
    return f"{int(v)}" if v == int(v) else f"{v:.2f}"


def _arithmetic(s: PoolStep, window: Any) -> list[str]:
    terms = [_num(float(v)) for v in window.ravel()]
    many = len(terms) > 25
    at = f"out[{s.i}, {s.j}]"
    if s.kind == "max":
        r, c = s.input_switch
        line = (f"{at} = max({', '.join(terms) if not many else f'{len(terms)} numbers'}) = "
                f"{_num(s.value)}: the switch is x[{r}, {c}]")
        if s.ties > 1:
            line += (f" ({_num(s.value)} appears {s.ties} times in the window; the first in "
                     f"row-major order wins)")
        return [line]
    if s.kind == "avg":
        total = float(window.sum())
        shown = " + ".join(terms) if not many else f"the sum of {len(terms)} numbers"
        return [f"{at} = ({shown})/{len(terms)} = {_num(total)}/{len(terms)} = {_num(s.value)}"]
    squares = " + ".join(f"{t}²" for t in terms) if not many else f"{len(terms)} squares"
    total = float((window * window).sum())
    return [f"{at} = sqrt({squares}) = sqrt({_num(total)}) = {_num(s.value)}"]


def _routing(s: PoolStep, window: Any, dout: Any, dx: Any) -> list[str]:
    g = float(dout[s.i, s.j])
    at = f"dout[{s.i}, {s.j}] = {_num(g)}"
    ph, pw = s.pad
    inside = [(r - ph, c - pw) for r in s.rows for c in s.cols
              if 0 <= r - ph < dx.shape[0] and 0 <= c - pw < dx.shape[1]]
    if s.kind == "max":
        r, c = s.input_switch
        return [f"backward: {at} goes to the switch x[{r}, {c}] only; "
                f"dx[{r}, {c}] is now {_num(float(dx[r, c]))}"]
    lost = "" if len(inside) == window.size else (
        f"; what the {window.size - len(inside)} padded positions get is dropped")
    if s.kind == "avg":
        return [f"backward: {at} is shared equally, {_num(g)}/{window.size} = "
                f"{_num(g / window.size)} to each position of the window{lost}"]
    return [f"backward: {at} goes to each position in proportion to x/out[{s.i}, {s.j}]: "
            f"{_num(g)}*x/{_num(s.value)}{lost}"]


def _grid(values: Any, styles: list[list[str]], title: str, cell_px: int) -> str:
    text = np.array([[_cell(float(v)) if v is not None else "" for v in row] for row in values],
                    dtype=object)
    return table_html(text, styles, title, cell_px=cell_px, number_format="{}")


def _input_grid(s: PoolStep, x_pad: Any, cell_px: int) -> str:
    Hp, Wp = x_pad.shape
    ph, pw = s.pad
    taps = {(r, c) for r in s.rows for c in s.cols}
    styles = []
    for r in range(Hp):
        row = []
        for c in range(Wp):
            padded = r < ph or r >= Hp - ph or c < pw or c >= Wp - pw
            css = (f"color:{PALETTE['pad']};background:{PALETTE['pad_light']};" if padded
                   else f"background:{PALETTE['input_light']};")
            if (r, c) == s.switch:
                css += SWITCH_CSS
            elif (r, c) in taps:
                css += HIGHLIGHT_CSS
            row.append(css)
        styles.append(row)
    title = "x (padded)" if ph or pw else "x"
    return _grid(x_pad, styles, title, cell_px)


def _written_grid(values: Any, s: PoolStep, title: str, colour: str, cell_px: int,
                  show_all: bool = False) -> str:
    """An output-shaped grid: entries up to the current step shown (all with ``show_all``),
    the current one highlighted."""
    H_out, W_out = values.shape
    shown, styles = [], []
    for i in range(H_out):
        vrow, srow = [], []
        for j in range(W_out):
            index = i * W_out + j
            done = index <= s.step
            vrow.append(values[i, j] if (done or show_all) else None)
            css = f"background:{colour};" if done else ""
            if index == s.step:
                css += HIGHLIGHT_CSS
            srow.append(css)
        shown.append(vrow)
        styles.append(srow)
    return _grid(shown, styles, title, cell_px)


def _dx_grid(s: PoolStep, dx: Any, cell_px: int) -> str:
    ph, pw = s.pad
    touched = {(r - ph, c - pw) for r in s.rows for c in s.cols}
    styles = []
    for r in range(dx.shape[0]):
        row = []
        for c in range(dx.shape[1]):
            css = f"background:{PALETTE['filter_light']};" if dx[r, c] != 0 else ""
            if s.input_switch == (r, c) or (s.kind != "max" and (r, c) in touched):
                css += HIGHLIGHT_CSS
            row.append(css)
        styles.append(row)
    return _grid(dx, styles, f"dx after {s.step + 1} of {s.n_steps} windows", cell_px)


def render_pool_step(s: PoolStep) -> Html:
    """HTML: what this output position computes (and, backward, sends back), then the input
    with the window (orange) and the switch (red), the output written so far, and in
    backward mode the upstream gradient and the input gradient filled so far."""
    x_pad, out, window = to_host((s.x_pad, s.out, s.window))
    whole = bool(np.all(np.isin(x_pad[np.isfinite(x_pad)], np.arange(-99, 100))))
    cell_px = 26 if whole else 36
    lines = [f"{NAMES[s.kind]} {s.window.shape[0]}x{s.window.shape[1]}, "
             f"stride {s.pool_param['stride']}, padding {s.pool_param.get('pad', 0)}: "
             f"window {s.step} of 0..{s.n_steps - 1}"] + _arithmetic(s, window)
    parts = [_input_grid(s, x_pad, cell_px),
             _written_grid(out, s, f"out {out.shape[0]}x{out.shape[1]}",
                           PALETTE["output_light"], cell_px)]
    if s.backward:
        dout, dx = to_host((s.dout, s.dx))
        lines += _routing(s, window, dout, dx)
        parts += [_written_grid(dout, s, "dout (upstream)", PALETTE["highlight_light"], cell_px,
                                show_all=True),
                  _dx_grid(s, dx, cell_px)]
    legend = ("orange: the window and the output it writes"
              + ("; red: the switch, the window's first maximum" if s.kind == "max" else "")
              + ("; padding in grey" if any(s.pad) else ""))
    return Html(f'<div style="{FONT}">'
                f'<div style="{MONO} font-size:12px; margin-bottom:6px;">'
                + "<br>".join(escape(line) for line in lines) + "</div>"
                + "".join(parts)
                + f'<div style="color:{PALETTE["muted"]};font-size:11px;">{escape(legend)}</div>'
                "</div>")


# --------------------------------------------------------------------------------------------
# The widget
# --------------------------------------------------------------------------------------------
def pool_stepper_widget(W: int = 6, F: int = 2, S: int = 2, P: int = 0, kind: str = "max",
                        mode: str = "forward", source: str = "numbers", upstream: str = "ones",
                        seed: int = 0, photo: str = "chelsea") -> LiveView:
    """A pooling layer on one depth slice, window by window, with a Play button.

    Controls (their names are the keyword arguments of ``LiveView.set``): ``W`` input size,
    ``F`` window, ``S`` stride, ``P`` padding, ``kind`` (max/avg/l2), ``mode``
    (forward/backward), ``source`` (numbers: seeded whole numbers; photo: a patch of an
    edge filter's activation map on ``photo``), ``upstream`` (ones/random: the gradient sent
    back in backward mode), ``seed``, and ``step`` (which window).
    """
    _check_kind(kind)
    toggle = dict(style={"button_width": "84px", "description_width": "initial"})
    controls = {
        "W": int_slider("input W=H", W, 1, 12), "F": int_slider("window F", F, 1, 5),
        "S": int_slider("stride S", S, 1, 4), "P": int_slider("padding P", P, 0, 2),
        "kind": widgets.ToggleButtons(options=["max", "avg", "l2"], value=kind,
                                      description="pool", **toggle),
        "mode": widgets.ToggleButtons(options=["forward", "backward"], value=mode,
                                      description="pass", **toggle),
        "source": widgets.Dropdown(options=["numbers", "photo"], value=source,
                                   description="input", layout=widgets.Layout(width="180px")),
        "upstream": widgets.Dropdown(options=["ones", "random"], value=upstream,
                                     description="dout", layout=widgets.Layout(width="160px")),
        "seed": int_slider("seed", seed, 0, 9),
        "step": int_slider("window", 0, 0, 3, width="420px"),
    }
    play = play_button(controls["step"])

    def view(W: int, F: int, S: int, P: int, kind: str, mode: str, source: str, upstream: str,
             seed: int, step: int) -> Drawing:
        x = demo_plane(W, seed=seed) if source == "numbers" else photo_plane(W, photo, seed)
        param = {"pool_height": F, "pool_width": F, "stride": S, "pad": P}
        s = compute_pool_step(x, param, kind, step)
        if mode == "backward":
            dout = upstream_gradient(s.out.shape, upstream, seed)
            s = compute_pool_step(x, param, kind, step, dout)
        summary = f"out[{s.i}, {s.j}] = {_num(s.value)} (window {s.step} of 0..{s.n_steps - 1})"
        if s.switch is not None:
            summary += f", switch x[{s.input_switch[0]}, {s.input_switch[1]}]"
        if s.backward:
            summary += f"; dx sums to {_num(float(to_host(s.dx.sum())))} so far"
        return Drawing(s, render_pool_step(s), summary)

    def adjust(live: LiveView, name: str) -> None:
        if name not in ("W", "F", "S", "P"):
            return
        v = live.values()
        try:
            side = pool_output_size(v["W"], v["F"], v["S"], v["P"])
        except ValueError:
            return  # an invalid setting: the view says why
        n = side * side
        live.controls["step"].max = play.max = n - 1
        live.controls["step"].value = min(live.controls["step"].value, n - 1)

    live = LiveView("Pooling, one window at a time", controls, view, adjust=adjust,
                    rows=[["W", "F", "S", "P", "seed"], ["kind", "mode"],
                          ["source", "upstream"]],
                    extra=[widgets.HBox([play, controls["step"]])], name="pool_stepper_widget")
    adjust(live, "W")  # size the step slider for the starting setting
    return live
