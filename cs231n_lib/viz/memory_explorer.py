"""Memory explorer: what a network costs in memory, layer by layer and kind by kind, and the
largest batch that fits a given GPU.

The numbers follow the notes' rule of thumb, applied to the per-layer table of
:func:`cs231n_lib.models.summary` (one row per layer: its output volume and its parameters).
With ``b`` bytes per value (float16 2, float32 4, float64 8), a batch of ``N`` images, ``A``
activation values per image (the sum of the rows' output volumes, input included) and ``Q``
parameters (weights and biases):

====================  ==========================  ========================================
kind                  bytes                       why it is there
====================  ==========================  ========================================
activations           ``N * A * b``               every layer's output, kept for backprop
activation gradients  ``N * A * b`` (training)    one gradient per activation
parameters            ``Q * b``                   the weights and biases
parameter gradients   ``Q * b`` (training)        one gradient per parameter
optimizer state       ``k * Q * b`` (training)    k = 0 plain SGD, 1 momentum/RMSProp, 2 Adam
====================  ==========================  ========================================

Training with momentum is the notes' "parameters x3" (values, gradients, one cache) and
"activations x2"; it gives the same bytes as :func:`cs231n_lib.geometry.memory_bytes` with
``backward=True``. Only the activations grow with the batch, so the largest batch that fits a
memory of ``M`` bytes is ``floor((M - fixed) / per_image)`` with ``fixed`` the parameter kinds
and ``per_image`` the activation kinds of one image (0 when even one image does not fit).

This visualizer computes with counts, not arrays: there is nothing to keep on a device.
"""
from __future__ import annotations

from dataclasses import dataclass
from numbers import Real
from typing import Any, Mapping

import ipywidgets as widgets

from ..geometry import dtype_bytes
from ..models import ZOO, as_spec, summary
from ..models.spec import input_shape_of
from ..models.summary import format_bytes
from ..validate import check_int
from .common import (FONT, MONO, PALETTE, TABLE_CSS, TD_CSS, Drawing, Html, LiveView, escape,
                     fmt_int, int_slider)

__all__ = ["OPTIMIZER_COPIES", "GPU_PRESETS_GIB", "MEMORY_KINDS", "LayerMemory",
           "MemoryBreakdown", "compute_memory", "render_memory", "memory_explorer_widget"]

#: extra copies of the parameters an optimizer keeps (its "step cache")
OPTIMIZER_COPIES = {"none": 0, "sgd": 0, "momentum": 1, "rmsprop": 1, "adagrad": 1, "adam": 2}

#: GPU memory sizes to choose from, in GiB (common cards); the widget also takes any number
GPU_PRESETS_GIB = (8, 12, 16, 24, 40, 80)

#: the five kinds of memory, in the order they are shown
MEMORY_KINDS = ("activations", "activation_gradients", "parameters", "parameter_gradients",
                "optimizer_state")

_KIND_TEXT = {"activations": "activations", "activation_gradients": "activation gradients",
              "parameters": "parameters", "parameter_gradients": "parameter gradients",
              "optimizer_state": "optimizer state"}
_KIND_COLOUR = {"activations": PALETTE["input"], "activation_gradients": "#93b4d6",
                "parameters": PALETTE["filter"], "parameter_gradients": "#e39a98",
                "optimizer_state": PALETTE["highlight"]}
_OPTIMIZER_TEXT = {"none": "plain SGD", "sgd": "plain SGD", "momentum": "momentum",
                   "rmsprop": "RMSProp", "adagrad": "Adagrad", "adam": "Adam"}
_GIB = 2 ** 30


@dataclass(frozen=True)
class LayerMemory:
    """One layer's share: ``activation_bytes`` (its output for the batch, with gradients when
    training) and ``parameter_bytes`` (its weights and biases, with gradients and optimizer
    state when training). ``activations`` and ``params`` are the counts of the summary row."""
    name: str
    label: str
    output_shape: tuple[int, ...]
    activations: int
    params: int
    activation_bytes: int
    parameter_bytes: int

    @property
    def total(self) -> int:
        return self.activation_bytes + self.parameter_bytes


@dataclass(frozen=True)
class MemoryBreakdown:
    """What :func:`compute_memory` returns. ``by_kind`` maps each of :data:`MEMORY_KINDS` to
    bytes; ``layers`` has one :class:`LayerMemory` per top-level row of the summary (the layers
    inside an inception or residual block are part of their block's row)."""
    network: str
    input_shape: tuple[int, ...]
    default_input_shape: tuple[int, ...]
    batch_size: int
    dtype: str
    bytes_per_value: int
    training: bool
    optimizer: str
    optimizer_copies: int
    activation_values: int      # per image, forward (the sum of the rows)
    param_values: int           # weights + biases
    by_kind: dict[str, int]
    layers: tuple[LayerMemory, ...]
    gpu_bytes: int | None
    streaming_activation_bytes: int

    @property
    def total(self) -> int:
        """Bytes of all five kinds for this batch."""
        return sum(self.by_kind.values())

    @property
    def per_image_bytes(self) -> int:
        """What one more image in the batch adds (its activations, and their gradients)."""
        return self.activation_values * self.bytes_per_value * (2 if self.training else 1)

    @property
    def fixed_bytes(self) -> int:
        """What does not depend on the batch: parameters, their gradients, optimizer state."""
        return self.by_kind["parameters"] + self.by_kind["parameter_gradients"] + \
            self.by_kind["optimizer_state"]

    @property
    def batch_one_bytes(self) -> int:
        """What a batch of one image already costs."""
        return self.fixed_bytes + self.per_image_bytes

    def bytes_for_batch(self, batch_size: int) -> int:
        """Total bytes for another batch size, all else equal."""
        return self.fixed_bytes + batch_size * self.per_image_bytes

    @property
    def fits(self) -> bool | None:
        """Whether this batch fits the GPU memory (None when no memory was given)."""
        return None if self.gpu_bytes is None else self.total <= self.gpu_bytes

    @property
    def max_batch(self) -> int | None:
        """The largest batch that fits the GPU memory: 0 when one image is already too much,
        None when no memory was given."""
        if self.gpu_bytes is None:
            return None
        if self.gpu_bytes < self.fixed_bytes:
            return 0
        return (self.gpu_bytes - self.fixed_bytes) // self.per_image_bytes

    @property
    def top_activation_layer(self) -> LayerMemory:
        """The layer whose output holds the most values (the input image excluded)."""
        return max(self.layers[1:] or self.layers, key=lambda r: r.activations)

    @property
    def top_parameter_layer(self) -> LayerMemory:
        """The layer with the most parameters."""
        return max(self.layers, key=lambda r: r.params)


def _training_flag(training: Any) -> bool:
    if not isinstance(training, bool):
        raise TypeError(f"training must be True or False, got {training!r}")
    return training


def compute_memory(network: Any = "VGG16", input_size: int | None = None, batch_size: int = 1,
                   dtype: Any = "float32", training: bool = False, optimizer: str = "none",
                   gpu_gib: float | None = None, name: str | None = None) -> MemoryBreakdown:
    """Memory of a network for one batch, by kind and by layer, and what fits a GPU.

    Inputs:
    - network: a name of :data:`cs231n_lib.models.ZOO` (e.g. "VGG16", "AlexNet") or a spec
      (a pattern string or a list of layers starting with ``INPUT(C, H, W)``)
    - input_size: height = width of the input image; None keeps the spec's own. An FC layer
      takes whatever arrives, so at another size its weight count changes with it
    - batch_size: images per batch, N >= 1
    - dtype: "float16", "float32" or "float64" (or a NumPy dtype)
    - training: False for a forward pass only (inference), True for forward and backward
    - optimizer: "none"/"sgd" (no state), "momentum"/"rmsprop"/"adagrad" (one copy of the
      parameters), "adam" (two copies); ignored when not training
    - gpu_gib: the GPU memory in GiB (2**30 bytes), or None
    - name: what to call the network (default: its ZOO name, or "network")

    Returns a :class:`MemoryBreakdown`. Raises ``ValueError``/``TypeError`` naming the bad
    argument, and the summary's ``ConvGeometryError`` (a ``ValueError``, with the arithmetic)
    for an input size some layer's windows do not fit.
    """
    if isinstance(network, str) and network in ZOO:
        name = name or network
        spec = as_spec(ZOO[network]())
    else:
        try:
            spec = as_spec(network)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"network must be one of {sorted(ZOO)} or a spec: {exc}") from None
        name = name or "network"
    default_shape = input_shape_of(spec, None)
    shape = default_shape
    if input_size is not None:
        size = check_int(input_size, "input_size", 1)
        shape = (default_shape[0], size, size)
    batch_size = check_int(batch_size, "batch_size", 1)
    b = dtype_bytes(dtype)  # rejects what it cannot size, naming dtype
    training = _training_flag(training)
    if not isinstance(optimizer, str) or optimizer.lower() not in OPTIMIZER_COPIES:
        raise ValueError(f"optimizer must be one of {list(OPTIMIZER_COPIES)}, got {optimizer!r}")
    optimizer = optimizer.lower()
    copies = OPTIMIZER_COPIES[optimizer] if training else 0
    gpu_bytes = None
    if gpu_gib is not None:
        if isinstance(gpu_gib, bool) or not isinstance(gpu_gib, Real) or not gpu_gib > 0:
            raise ValueError(f"gpu_gib (GPU memory in GiB) must be a number > 0, got {gpu_gib!r}")
        gpu_bytes = int(gpu_gib * _GIB)

    s = summary(spec, shape, batch_size=batch_size, dtype=dtype)
    rows = [r for r in s.rows if r.depth == 0]
    act_factor = batch_size * b * (2 if training else 1)       # values (+ gradients)
    par_factor = b * ((2 + copies) if training else 1)          # values (+ gradients + state)
    layers = tuple(LayerMemory(r.name, r.label, r.output_shape, r.activations, r.params,
                               r.activations * act_factor, r.params * par_factor) for r in rows)
    A, Q = s.total_activations, s.total_params
    by_kind = {
        "activations": A * batch_size * b,
        "activation_gradients": A * batch_size * b if training else 0,
        "parameters": Q * b,
        "parameter_gradients": Q * b if training else 0,
        "optimizer_state": copies * Q * b,
    }
    # a forward pass that frees each volume once the next one exists holds at most two
    # neighbouring volumes at a time: the notes' "clever implementation" at test time
    pairs = [rows[i - 1].activations + rows[i].activations for i in range(1, len(rows))]
    streaming = max(pairs or [rows[0].activations]) * batch_size * b
    return MemoryBreakdown(name, tuple(shape), tuple(default_shape), batch_size, s.dtype, b,
                           training, optimizer, copies, A, Q, by_kind, layers, gpu_bytes,
                           streaming)


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------
def _shape_text(shape: tuple[int, ...]) -> str:
    if len(shape) == 3:
        C, H, W = shape
        return f"{H}x{W}x{C}"
    return "1x1x" + "x".join(map(str, shape))


def _gib(n: float) -> str:
    g = n / _GIB
    return f"{g:.0f} GiB" if g == int(g) else f"{g:.3g} GiB"


def _mode_text(m: MemoryBreakdown) -> str:
    if not m.training:
        return "inference (forward only)"
    copies = {0: "no optimizer state", 1: "1 extra copy of the parameters",
              2: "2 extra copies of the parameters"}[m.optimizer_copies]
    return f"training with {_OPTIMIZER_TEXT[m.optimizer]} ({copies})"


def _bar(segments: list[tuple[float, str]], scale: float, height: int = 14) -> str:
    """Adjacent coloured blocks; ``scale`` pixels per byte."""
    blocks = "".join(f'<div style="display:inline-block;height:{height}px;width:{w * scale:.1f}px;'
                     f'background:{c};"></div>' for w, c in segments if w > 0)
    return f'<div style="white-space:nowrap;line-height:0;">{blocks}</div>'


def _kind_arithmetic(m: MemoryBreakdown, kind: str) -> str:
    A, Q, N, b = m.activation_values, m.param_values, m.batch_size, m.bytes_per_value
    if kind in ("activations", "activation_gradients"):
        if kind == "activation_gradients" and not m.training:
            return "none: no backward pass"
        return f"{fmt_int(A)} values × {fmt_int(N)} images × {b} B"
    if kind == "parameters":
        return f"{fmt_int(Q)} values × {b} B"
    if kind == "parameter_gradients":
        return f"{fmt_int(Q)} values × {b} B" if m.training else "none: no backward pass"
    if not m.training:
        return "none: no optimizer step"
    if m.optimizer_copies == 0:
        return f"none: {_OPTIMIZER_TEXT[m.optimizer]} keeps no state"
    return f"{m.optimizer_copies} × {fmt_int(Q)} values × {b} B"


def _kind_table(m: MemoryBreakdown) -> str:
    """The five kinds, their bytes and the arithmetic behind each, and the total."""
    cell = f"{TD_CSS}padding:2px 8px;font-size:13px;"
    how = f"{TD_CSS}padding:2px 8px;{MONO}font-size:12px;color:{PALETTE['muted']};"
    rows = []
    for kind in MEMORY_KINDS:
        swatch = (f'<span style="display:inline-block;width:10px;height:10px;'
                  f'background:{_KIND_COLOUR[kind]};"></span>')
        rows.append(f'<tr><td style="{cell}">{swatch} {_KIND_TEXT[kind]}</td>'
                    f'<td style="{cell}text-align:right;{MONO}">{format_bytes(m.by_kind[kind])}'
                    f'</td><td style="{how}">{escape(_kind_arithmetic(m, kind))}</td></tr>')
    rows.append(f'<tr><td style="{cell}"><b>total</b></td>'
                f'<td style="{cell}text-align:right;{MONO}"><b>{format_bytes(m.total)}</b></td>'
                f'<td style="{how}">{fmt_int(m.total)} bytes</td></tr>')
    return f'<table style="{TABLE_CSS}margin-top:6px;">{"".join(rows)}</table>'


def _gpu_bar(m: MemoryBreakdown, width: int = 420) -> str:
    """The five kinds as one stacked bar; with a GPU, inside a grey track of its size, with a
    line where its memory ends."""
    scale = width / (max(m.total, m.gpu_bytes or 0) or 1)
    bar = _bar([(m.by_kind[k], _KIND_COLOUR[k]) for k in MEMORY_KINDS], scale, 18)
    if m.gpu_bytes is None:
        return f'<div style="margin:4px 8px;">{bar}</div>'
    x = m.gpu_bytes * scale
    line = (f'<div style="position:absolute;top:-3px;left:{x - 1:.1f}px;width:2px;height:24px;'
            f'background:{PALETTE["text"]};"></div>')
    label = (f'<div style="position:relative;height:14px;font-size:11px;color:{PALETTE["muted"]};">'
             f'<span style="position:absolute;left:{max(x - 60, 0):.1f}px;width:60px;'
             f'text-align:right;">{_gib(m.gpu_bytes)}</span></div>')
    return (f'<div style="margin:4px 8px;"><div style="position:relative;width:{width}px;'
            f'height:18px;background:{PALETTE["pad_light"]};">{bar}{line}</div>{label}</div>')


def _verdict(m: MemoryBreakdown) -> str:
    """Whether the batch fits, the largest batch that does, and what one image costs."""
    lines = []
    if m.gpu_bytes is not None:
        gpu = _gib(m.gpu_bytes)
        if m.fits:
            lines.append(f'<div style="color:{PALETTE["output"]};"><b>Fits</b> in {gpu} '
                         f'({format_bytes(m.gpu_bytes - m.total)} to spare).</div>')
        else:
            lines.append(f'<div style="color:{PALETTE["invalid"]};"><b>Does not fit</b> in {gpu}: '
                         f'{format_bytes(m.total - m.gpu_bytes)} too much.</div>')
        n = m.max_batch
        if n == 0:
            lines.append(f'<div>Largest batch that fits {gpu}: <b>0</b>: even one image needs '
                         f'{format_bytes(m.batch_one_bytes)}.</div>')
        else:
            lines.append(f'<div>Largest batch that fits {gpu}: <b>{fmt_int(n)}</b> '
                         f'({fmt_int(m.bytes_for_batch(n))} bytes of {fmt_int(m.gpu_bytes)}; '
                         f'{fmt_int(n + 1)} images would need '
                         f'{fmt_int(m.bytes_for_batch(n + 1))}).</div>')
    lines.append(f'<div>A batch of one already costs <b>{format_bytes(m.batch_one_bytes)}</b>: '
                 f'{format_bytes(m.fixed_bytes)} for the parameters and what goes with them '
                 f'(whatever the batch) + {format_bytes(m.per_image_bytes)} for each image.</div>')
    return "".join(lines)


def _layer_chart(m: MemoryBreakdown, max_layers: int, width: int = 300) -> str:
    """One row per layer: name, type, output, a bar (activations blue, parameters red), bytes;
    and which layers hold the most of each."""
    muted = f"color:{PALETTE['muted']};"
    cell = f"{TD_CSS}padding:1px 6px;font-size:12px;"
    shown = m.layers[:max_layers]
    scale = width / (max((r.total for r in shown), default=0) or 1)
    rows = []
    for r in shown:
        bar = _bar([(r.activation_bytes, PALETTE["input"]), (r.parameter_bytes, PALETTE["filter"])],
                   scale, 12)
        rows.append(f'<tr class="layer"><td style="{cell}{MONO}">{escape(r.name)}</td>'
                    f'<td style="{cell}">{escape(r.label)}</td>'
                    f'<td style="{cell}{MONO}text-align:right;">{_shape_text(r.output_shape)}</td>'
                    f'<td style="{cell}vertical-align:middle;">{bar}</td>'
                    f'<td style="{cell}{MONO}text-align:right;">{format_bytes(r.total)}</td></tr>')
    more = (f'<div style="{muted}">… and {len(m.layers) - max_layers} more layers</div>'
            if len(m.layers) > max_layers else "")
    act_total = sum(r.activation_bytes for r in m.layers) or 1
    par_total = sum(r.parameter_bytes for r in m.layers) or 1
    ta, tp = m.top_activation_layer, m.top_parameter_layer
    where = (f'<div style="margin-top:8px;">Most activation memory: <b>{escape(ta.name)}</b> '
             f'({100 * ta.activation_bytes / act_total:.1f}% of it); most parameters: '
             f'<b>{escape(tp.name)}</b> ({100 * tp.parameter_bytes / par_total:.1f}% of them).'
             f'</div>')
    grads = " and their gradients" if m.training else ""
    extras = " with gradients and optimizer state" if m.training else ""
    legend = (f'<div style="{muted}font-size:12px;">per layer: <span style="color:'
              f'{PALETTE["input"]};">■</span> activations{grads} · <span style="color:'
              f'{PALETTE["filter"]};">■</span> parameters{extras}</div>')
    return (f'{where}{legend}<table style="{TABLE_CSS}margin-top:4px;">{"".join(rows)}</table>'
            f'{more}')


def render_memory(m: MemoryBreakdown, max_layers: int = 40) -> Html:
    """HTML: the setting, the memory by kind against the GPU, what a batch of one costs, the
    largest batch that fits, and a bar per layer (activations blue, parameters red)."""
    head = (f'<div><b>{escape(m.network)}</b> on {_shape_text(m.input_shape)} · batch '
            f'{fmt_int(m.batch_size)} · {m.dtype} ({m.bytes_per_value} bytes a value) · '
            f'{escape(_mode_text(m))}</div>')
    notes = []
    if m.input_shape != m.default_input_shape and any(r.label.startswith("FC") for r in m.layers):
        notes.append(f"Not the net's own input ({_shape_text(m.default_input_shape)}): its first "
                     "FC layer takes whatever volume arrives, so its weight count changes too.")
    if not m.training:
        notes.append("At test time each volume could be freed once the next one is computed: "
                     "the largest two neighbouring volumes need only "
                     f"{format_bytes(m.streaming_activation_bytes)} of activations for this batch.")
    note_html = "".join(f'<div style="color:{PALETTE["muted"]};">{escape(t)}</div>' for t in notes)
    return Html(f'<div style="{FONT}">{head}{_kind_table(m)}{_gpu_bar(m)}{_verdict(m)}'
                f'{note_html}{_layer_chart(m, max_layers)}</div>')


def _summary_line(m: MemoryBreakdown) -> str:
    """The one-line text form: total, whether it fits, the largest batch."""
    text = (f"{m.network} {_shape_text(m.input_shape)}, batch {m.batch_size}: "
            f"{format_bytes(m.total)}")
    if m.gpu_bytes is not None:
        text += (f" ({'fits' if m.fits else 'does not fit'} in {_gib(m.gpu_bytes)}; largest "
                 f"batch {fmt_int(m.max_batch)})")
    return text


# --------------------------------------------------------------------------------------------
# Widget
# --------------------------------------------------------------------------------------------
def memory_explorer_widget(network: str = "VGG16", batch_size: int = 32, dtype: str = "float32",
                           mode: str = "training", optimizer: str = "momentum",
                           gpu_gib: float = 12,
                           networks: Mapping[str, Any] | None = None) -> LiveView:
    """Controls for the network, input size, batch size, dtype, training or inference, the
    optimizer and the GPU memory; shows :func:`render_memory`.

    ``networks`` (name -> spec, or a function returning one) replaces the choice of networks
    (default: every net of :data:`cs231n_lib.models.ZOO`). Control names, for tests:
    ``network``, ``input_size``, ``batch_size``, ``dtype``, ``mode`` ("training" or
    "inference"), ``optimizer`` ("none", "momentum", "adam"), ``gpu`` (a preset in GiB or
    "other") and ``gpu_gib`` (any number of GiB; choosing a preset sets it).
    """
    nets = dict(networks) if networks is not None else dict(ZOO)
    if network not in nets:
        raise ValueError(f"network must be one of {list(nets)}, got {network!r}")
    if mode not in ("training", "inference"):
        raise ValueError(f"mode must be 'training' or 'inference', got {mode!r}")

    def spec_of(key: str) -> Any:
        value = nets[key]
        return value() if callable(value) else value

    def own_size(key: str) -> int:
        return input_shape_of(as_spec(spec_of(key)), None)[1]

    presets = [(f"{g} GiB", float(g)) for g in GPU_PRESETS_GIB]
    controls = {
        "network": widgets.Dropdown(options=list(nets), value=network, description="network",
                                    layout=widgets.Layout(width="280px")),
        "input_size": int_slider("input size", own_size(network), 1, 512, width="300px"),
        "batch_size": int_slider("batch size", batch_size, 1, 1024, width="300px"),
        "dtype": widgets.ToggleButtons(options=["float16", "float32", "float64"], value=dtype,
                                       description="dtype",
                                       style={"button_width": "70px"}),
        "mode": widgets.ToggleButtons(options=["training", "inference"], value=mode,
                                      description="mode", style={"button_width": "80px"}),
        "optimizer": widgets.Dropdown(
            options=[("none (plain SGD): 0 copies", "none"),
                     ("momentum / RMSProp: 1 copy", "momentum"), ("Adam: 2 copies", "adam")],
            value=optimizer, description="optimizer", disabled=mode == "inference",
            layout=widgets.Layout(width="300px")),
        "gpu": widgets.Dropdown(options=presets + [("other", "other")],
                                value=float(gpu_gib) if gpu_gib in GPU_PRESETS_GIB else "other",
                                description="GPU memory", layout=widgets.Layout(width="220px")),
        "gpu_gib": widgets.FloatText(value=float(gpu_gib), description="GiB",
                                     continuous_update=False,
                                     layout=widgets.Layout(width="160px")),
    }

    def view(network: str, input_size: int, batch_size: int, dtype: str, mode: str,
             optimizer: str, gpu: Any, gpu_gib: float) -> Drawing:
        m = compute_memory(spec_of(network), input_size, batch_size, dtype,
                           training=mode == "training", optimizer=optimizer, gpu_gib=gpu_gib,
                           name=network)
        return Drawing(m, render_memory(m), _summary_line(m))

    def adjust(live: LiveView, name: str) -> None:
        c = live.controls
        if name == "network":
            c["input_size"].value = own_size(c["network"].value)
        elif name == "mode":
            c["optimizer"].disabled = c["mode"].value == "inference"
        elif name == "gpu" and c["gpu"].value != "other":
            c["gpu_gib"].value = c["gpu"].value
        elif name == "gpu_gib":
            value = c["gpu_gib"].value
            c["gpu"].value = float(value) if value in GPU_PRESETS_GIB else "other"

    return LiveView("Memory: what a network needs, and the largest batch that fits", controls,
                    view, adjust=adjust,
                    rows=[["network", "input_size", "batch_size"], ["dtype", "mode", "optimizer"],
                          ["gpu", "gpu_gib"]],
                    name="memory_explorer_widget")
