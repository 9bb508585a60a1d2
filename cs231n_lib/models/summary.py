"""The per-layer table of a network: output shape, activations, weights and biases, totals
and memory, as in the notes' VGG16 walk-through.

``summary(spec, input_shape)`` returns a :class:`Summary`. It prints as a text table, shows as
an HTML table in a notebook, and gives plain rows for tests and further computation::

    >>> s = summary("INPUT(3, 32, 32) -> CONV3-16 -> RELU -> POOL2 -> FC-10")
    >>> s.total_params
    41418
    >>> [r.output_shape for r in s.rows]
    [(3, 32, 32), (16, 32, 32), (16, 16, 16), (10,)]
"""
from __future__ import annotations

import html
from dataclasses import asdict, dataclass
from typing import Any, Sequence

from ..geometry import activation_count, dtype_bytes, memory_bytes
from ..validate import check_int
from .parser import as_spec
from .spec import (Layer, input_layer, input_shape_of, kind_of, layer_name_list, output_shape,
                   param_counts)

__all__ = ["Row", "Summary", "summary", "format_bytes"]


@dataclass(frozen=True)
class Row:
    """One line of the table.

    ``output_shape`` is ``(C, H, W)`` for a volume or ``(D,)`` for a vector (the text table
    writes volumes the notes' way, ``H x W x C``); ``activations`` is how many numbers that
    output holds for one image; ``depth`` is 1 for the layers inside an inception or residual
    block (their counts are already part of the block's row and of no total).
    """
    name: str
    kind: str
    label: str
    output_shape: tuple[int, ...]
    activations: int
    weights: int
    biases: int
    depth: int = 0

    @property
    def params(self) -> int:
        """Weights plus biases."""
        return self.weights + self.biases


def format_bytes(n: float) -> str:
    """Bytes in binary units: ``60950432 -> '58.1 MiB'``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def _shape_text(shape: tuple[int, ...]) -> str:
    """The notes' way of writing a volume: H x W x C; a vector of D numbers is 1x1xD."""
    if len(shape) == 3:
        C, H, W = shape
        return f"{H}x{W}x{C}"
    return "1x1x" + "x".join(str(s) for s in shape)


class Summary:
    """The table of a network for one input shape (see :func:`summary`).

    Attributes: ``rows`` (list of :class:`Row`), ``input_shape``, ``batch_size``, ``dtype``.
    Totals count the rows of depth 0, so a block's inner layers are not counted twice.
    """

    def __init__(self, rows: list[Row], input_shape: tuple[int, ...], batch_size: int,
                 dtype: str, title: str | None = None):
        self.rows = rows
        self.input_shape = input_shape
        self.batch_size = batch_size
        self.dtype = dtype
        self.title = title

    # ---- totals ------------------------------------------------------------------------
    def _top(self) -> list[Row]:
        return [r for r in self.rows if r.depth == 0]

    @property
    def total_activations(self) -> int:
        """Numbers held by every layer's output (input included) for one image, forward only."""
        return sum(r.activations for r in self._top())

    @property
    def total_weights(self) -> int:
        return sum(r.weights for r in self._top())

    @property
    def total_biases(self) -> int:
        return sum(r.biases for r in self._top())

    @property
    def total_params(self) -> int:
        """Weights plus biases: every number training changes."""
        return self.total_weights + self.total_biases

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.rows[-1].output_shape

    def memory(self, batch_size: int | None = None, dtype: Any = None,
               backward: bool = False) -> dict[str, int]:
        """Bytes for ``batch_size`` images of ``dtype`` (defaults: the summary's own).

        Forward only (``backward=False``): every activation once, the parameters once.
        Forward and backward: activations twice (each gets a gradient) and parameters three
        times (values, gradients, an optimizer cache), the notes' rule of thumb.
        Returns ``{"activations", "parameters", "total"}`` in bytes.
        """
        return memory_bytes(self.total_activations, self.total_params,
                            dtype=self.dtype if dtype is None else dtype,
                            batch_size=self.batch_size if batch_size is None else batch_size,
                            backward=backward)

    # ---- plain structure -----------------------------------------------------------------
    def to_dicts(self) -> list[dict[str, Any]]:
        """The rows as plain dicts (with ``params``), e.g. for a DataFrame or a test."""
        return [{**asdict(r), "params": r.params} for r in self.rows]

    def totals(self) -> dict[str, int]:
        return {"activations": self.total_activations, "weights": self.total_weights,
                "biases": self.total_biases, "params": self.total_params}

    # ---- rendering ---------------------------------------------------------------------
    _HEAD = ("layer", "type", "output (HxWxC)", "activations", "weights", "biases")

    def _cells(self, r: Row) -> tuple[str, ...]:
        return ("  " * r.depth + r.name, r.label, _shape_text(r.output_shape),
                f"{r.activations:,}", f"{r.weights:,}", f"{r.biases:,}")

    def _footer(self) -> list[str]:
        fwd, both = self.memory(backward=False), self.memory(backward=True)
        per_image = self.total_activations * dtype_bytes(self.dtype)
        return [
            f"total: {self.total_activations:,} activations per image "
            f"({format_bytes(per_image)} in {self.dtype}, forward only); "
            f"{self.total_weights:,} weights + {self.total_biases:,} biases = "
            f"{self.total_params:,} parameters",
            f"memory for a batch of {self.batch_size} in {self.dtype}: forward only "
            f"{format_bytes(fwd['activations'])} activations + {format_bytes(fwd['parameters'])} "
            f"parameters = {format_bytes(fwd['total'])}",
            f"  training (activations x2 for their gradients, parameters x3 for gradients and "
            f"optimizer cache): {format_bytes(both['total'])}",
        ]

    def __str__(self) -> str:
        table = [self._HEAD] + [self._cells(r) for r in self.rows]
        widths = [max(len(row[c]) for row in table) for c in range(len(self._HEAD))]
        align = ["<", "<", ">", ">", ">", ">"]

        def line(cells: Sequence[str]) -> str:
            return "  ".join(f"{c:{a}{w}}" for c, a, w in zip(cells, align, widths)).rstrip()

        rule = "-" * len(line(self._HEAD))
        out = [self.title] if self.title else []
        out += [line(self._HEAD), rule] + [line(row) for row in table[1:]] + [rule]
        return "\n".join(out + self._footer())

    __repr__ = __str__

    def _repr_html_(self) -> str:
        right = 'style="text-align:right"'
        head = "".join(f"<th {right}>{html.escape(h)}</th>" if i > 1 else
                       f"<th>{html.escape(h)}</th>" for i, h in enumerate(self._HEAD))
        body = []
        for r in self.rows:
            cells = self._cells(r)
            pad = f' style="padding-left:{1.5 * r.depth:.1f}em"' if r.depth else ""
            body.append(
                f"<tr><td{pad}>{html.escape(r.name)}</td><td>{html.escape(cells[1])}</td>"
                + "".join(f"<td {right}>{html.escape(c)}</td>" for c in cells[2:]) + "</tr>")
        total = ("<tr style=\"font-weight:bold\"><td>total</td><td></td><td></td>"
                 f"<td {right}>{self.total_activations:,}</td><td {right}>{self.total_weights:,}"
                 f"</td><td {right}>{self.total_biases:,}</td></tr>")
        caption = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        notes = "".join(f"<div>{html.escape(t)}</div>" for t in self._footer())
        return (f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody>"
                f"<tfoot>{total}</tfoot></table>{notes}")


def _rows(spec: Sequence[Layer], shape: tuple[int, ...], depth: int, where: str,
          fold_relu: bool, prefix: str = "") -> tuple[list[Row], tuple[int, ...]]:
    """Rows for ``spec`` applied to ``shape``; returns them and the final output shape."""
    rows: list[Row] = []
    last: int | None = None  # index in `rows` of the previous layer at this depth
    for i, (layer, name) in enumerate(zip(spec, layer_name_list(spec))):
        name = prefix + name
        here = f"{where}layer {i} ({name}, {layer.label})"
        out = output_shape(layer, shape, here)
        if layer.kind == "input":
            rows.append(Row(name, "input", "INPUT", out, activation_count(out), 0, 0, depth))
            last, shape = len(rows) - 1, out
            continue
        if fold_relu and layer.kind == "relu" and last is not None and rows[last].kind not in (
                "input", "relu"):
            # ReLU overwrites its input in place (as frameworks do), so it adds no volume:
            # it becomes part of the layer before it, as in the notes' VGG table.
            prev = rows[last]
            rows[last] = Row(prev.name, prev.kind, prev.label + " +RELU", prev.output_shape,
                             prev.activations, prev.weights, prev.biases, prev.depth)
            continue
        weights, biases = param_counts(layer, shape)
        inner: list[Row] = []
        parts = kind_of(layer).parts  # a block: rows for the layers of each of its parts
        for tag, part in parts(layer.params) if parts else ():
            sub, _ = _rows(part, shape, depth + 1, f"{here} ", fold_relu, f"{name}.{tag}")
            inner += sub
        # A block holds its inner volumes and its own output (the stacked or summed volume).
        acts = activation_count(out) + sum(r.activations for r in inner if r.depth == depth + 1)
        rows.append(Row(name, layer.kind, layer.label, out, acts, weights, biases, depth))
        last = len(rows) - 1
        rows += inner
        shape = out
    return rows, shape


def summary(spec: Any, input_shape: Sequence[int] | None = None, *, batch_size: int = 1,
            dtype: Any = "float32", fold_relu: bool = True, title: str | None = None) -> Summary:
    """The per-layer table of a network.

    Inputs:
    - spec: a pattern string, or a list of layers (see :mod:`cs231n_lib.models.spec`).
    - input_shape: ``(C, H, W)`` of one image; may be left out when the spec starts with
      ``INPUT(C, H, W)``.
    - batch_size, dtype: what the memory lines of the table are computed for.
    - fold_relu: fold each RELU into the row before it (ReLU runs in place, so it holds no
      volume of its own; this is how the notes count). ``False`` lists it as its own row
      whose output counts as activations.
    - title: a caption for the table.

    Returns a :class:`Summary`. Raises ``ConvGeometryError``/``ShapeError`` naming the layer
    whose windows or shapes do not fit.
    """
    layers = as_spec(spec)
    shape = input_shape_of(layers, input_shape)
    batch_size = check_int(batch_size, "batch_size", 1)
    name = getattr(dtype, "name", None) or getattr(dtype, "__name__", None) or str(dtype)
    dtype_bytes(name)  # rejects dtypes it cannot size
    if not layers or layers[0].kind != "input":
        layers = [input_layer()] + layers
    rows, _ = _rows(layers, shape, 0, "", fold_relu)
    return Summary(rows, shape, batch_size, name, title)
