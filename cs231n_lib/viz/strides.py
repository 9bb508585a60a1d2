"""Strides explorer: an array is a flat buffer plus a rule for walking it.

A NumPy array (a PyTorch tensor too) keeps its numbers in one flat block of memory, the
*buffer*, and describes how to read it with a ``shape`` and ``strides``: ``strides[k]`` is how
many bytes to jump to move one step along axis ``k``. Element ``x[i0, i1, ...]`` sits at byte

    offset + i0 * strides[0] + i1 * strides[1] + ...

of the buffer. Many operations only write a new shape, new strides and a new offset over the
*same* buffer: transposing swaps the strides, ``x[:, ::2]`` doubles one, ``x[::-1]`` makes one
negative, ``x[None]`` inserts an axis whose stride does not matter. Those results are *views*:
nothing is copied, and writing into the view writes into ``x``. An array is C-contiguous when
its strides are the ones of a fresh array of its shape (the last axis moves one element, each
axis before it by the size of everything after it); ``reshape`` can only return a view when
the new shape can be walked with strides over the old buffer, otherwise it copies.

:func:`compute_strides` applies one operation of :data:`OPERATIONS` to ``x = arange(n)`` (so
every value is its own position in the buffer) and returns the layout of the result: shape,
strides, contiguity by the rule above, view or copy, and which buffer elements it reads, in
order. :func:`render_strides` draws the buffer with those elements marked;
:func:`strides_widget` puts the shape, the dtype and the operation on controls.

These are NumPy's arrays (CuPy's follow the same rules). The names PyTorch gives the same
operations are listed beside each one; PyTorch counts strides in elements, not bytes.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable

import ipywidgets as widgets

from ..backend import np
from .common import (FONT, MONO, PALETTE, Drawing, Html, LiveView, escape, table_html)

__all__ = ["Operation", "OPERATIONS", "DTYPES", "StrideLayout", "parse_shape", "c_strides",
           "is_c_contiguous", "is_f_contiguous", "compute_strides", "render_strides",
           "strides_widget"]

#: the element types the explorer offers (their sizes in bytes: 1, 2, 4, 8, 4, 8)
DTYPES = ("int8", "int16", "int32", "int64", "float32", "float64")

#: the largest buffer the explorer draws
MAX_ELEMENTS = 96


@dataclass(frozen=True)
class Operation:
    """One thing to do to ``x``: the NumPy ``expression`` (what the dropdown shows, valid
    Python with ``x`` and ``np``), the function that does it, the PyTorch spelling (a function
    of ``x.ndim``), the fewest axes it needs, and a note on what it does to the layout."""
    expression: str
    apply: Callable[[Any], Any]
    torch: Callable[[int], str]
    min_ndim: int
    note: str


def _reversed_axes(ndim: int) -> str:
    return ", ".join(str(k) for k in reversed(range(ndim)))


def _moved_axes(ndim: int) -> str:
    return ", ".join(str(k) for k in [*range(1, ndim), 0])


def _same(text: str) -> Callable[[int], str]:
    return lambda ndim: text


#: the operations of the explorer, in the order of its dropdown
OPERATIONS = {op.expression: op for op in [
    Operation("x", lambda x: x, _same("x"), 1,
              "the array itself: C-contiguous, the last axis moves one element"),
    Operation("x.T", lambda x: x.T, lambda n: f"x.permute({_reversed_axes(n)})", 1,
              "all axes reversed: the strides are the same numbers in reverse order"),
    Operation("np.swapaxes(x, 0, 1)", lambda x: np.swapaxes(x, 0, 1), _same("x.transpose(0, 1)"),
              2, "two axes swapped: their strides swap, nothing moves in memory"),
    Operation("np.moveaxis(x, 0, -1)", lambda x: np.moveaxis(x, 0, -1),
              lambda n: f"x.permute({_moved_axes(n)})", 2,
              "the first axis moved to the end, as (C, H, W) -> (H, W, C)"),
    Operation("x[::2]", lambda x: x[::2], _same("x[::2]"), 1,
              "every second entry of axis 0: that stride doubles"),
    Operation("x[:, ::2]", lambda x: x[:, ::2], _same("x[:, ::2]"), 2,
              "every second entry of axis 1: that stride doubles"),
    Operation("x[..., ::2]", lambda x: x[..., ::2], _same("x[..., ::2]"), 1,
              "every second entry of the last axis: the last stride doubles, so the rows have gaps"),
    Operation("x[::-1]", lambda x: x[::-1],
              _same("x.flip(0)  (a copy: PyTorch has no negative strides)"), 1,
              "axis 0 backwards: a negative stride, starting from the last block"),
    Operation("x[1:]", lambda x: x[1:], _same("x[1:]"), 1,
              "drops the first block: the same strides, the view starts further into the buffer"),
    Operation("x[1]", lambda x: x[1], _same("x[1]  (or x.select(0, 1))"), 1,
              "one block of axis 0: one axis fewer, starting at an offset"),
    Operation("x[:, 1]", lambda x: x[:, 1], _same("x[:, 1]"), 2,
              "one entry of axis 1 in every block: the rows left keep their stride"),
    Operation("x[None]", lambda x: x[None], _same("x.unsqueeze(0)"), 1,
              "a new axis of length 1 in front (a batch of one): no element moves"),
    Operation("x.reshape(-1)", lambda x: x.reshape(-1), _same("x.view(-1)"), 1,
              "all in one row: a view, since x is contiguous"),
    Operation("x.reshape(x.shape[0], -1)", lambda x: x.reshape(x.shape[0], -1),
              _same("x.view(x.size(0), -1)  (or x.flatten(1))"), 1,
              "one row per entry of axis 0, as a batch is flattened for a fully-connected layer"),
    Operation("x.T.reshape(-1)", lambda x: x.T.reshape(-1),
              lambda n: f"x.permute({_reversed_axes(n)}).reshape(-1)  (.view(-1) raises)", 1,
              "the transpose in one row: no single stride walks it, so reshape copies"),
    Operation("x.flatten()", lambda x: x.flatten(), _same("x.flatten().clone()"), 1,
              "NumPy's flatten always copies (PyTorch's flatten returns a view when it can)"),
    Operation("np.ascontiguousarray(x.T)", lambda x: np.ascontiguousarray(x.T),
              lambda n: f"x.permute({_reversed_axes(n)}).contiguous()", 1,
              "the transpose copied into a fresh buffer in its own order: contiguous again"),
    Operation("x[[0, -1]]", lambda x: x[[0, -1]], _same("x[[0, -1]]"), 1,
              "indexing with a list (fancy indexing) always copies"),
    Operation("np.broadcast_to(x[:1], x.shape)", lambda x: np.broadcast_to(x[:1], x.shape),
              _same("x[:1].expand(x.shape)"), 1,
              "the first block repeated without copying: stride 0 along axis 0"),
]}


def parse_shape(shape: Any) -> tuple[int, ...]:
    """A shape from a tuple of ints or a text such as ``"2, 3, 4"`` or ``"(4, 3)"``.

    1 to 4 axes, each of length 1 to 8, at most :data:`MAX_ELEMENTS` elements (what the
    explorer can draw). Raises ValueError naming ``shape``.
    """
    if isinstance(shape, str):
        text = shape.strip().strip("()[]").strip()
        parts = [p for p in re.split(r"[,x\s]+", text) if p]
        if not parts or not all(re.fullmatch(r"\d+", p) for p in parts):
            raise ValueError(f"shape: cannot read {shape!r}; write the lengths of the axes "
                             "separated by commas, e.g. 2, 3, 4")
        dims = tuple(int(p) for p in parts)
    else:
        try:
            dims = tuple(int(n) for n in shape)
        except TypeError:
            raise ValueError(f"shape must be a tuple of ints or a text like '2, 3, 4', "
                             f"got {shape!r}") from None
    if not 1 <= len(dims) <= 4:
        raise ValueError(f"shape must have 1 to 4 axes, got {len(dims)} in {dims}")
    if not all(1 <= n <= 8 for n in dims):
        raise ValueError(f"shape: every axis must have length 1 to 8, got {dims}")
    size = math.prod(dims)
    if size > MAX_ELEMENTS:
        product = " * ".join(map(str, dims))
        raise ValueError(f"shape {dims} holds {product} = {size} elements; the explorer draws "
                         f"at most {MAX_ELEMENTS}")
    return dims


def c_strides(shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    """The strides (bytes) of a fresh C-ordered array: the last axis moves one element, each
    axis before it as many bytes as one block of everything after it.

    ``c_strides((2, 3, 4), 4) == (48, 16, 4)``.
    """
    strides, step = [], itemsize
    for n in reversed(shape):
        strides.append(step)
        step *= n
    return tuple(reversed(strides))


def _contiguous(shape: tuple[int, ...], strides: tuple[int, ...], itemsize: int,
                order: str) -> bool:
    # Walk the axes from the fastest one (the last in C order, the first in Fortran order):
    # each must step over exactly one block of the axes walked before it. An axis of length 1
    # is never stepped along, so its stride does not matter (NumPy ignores it too).
    pairs = list(zip(shape, strides))
    if order == "C":
        pairs.reverse()
    expected = itemsize
    for n, s in pairs:
        if n == 1:
            continue
        if s != expected:
            return False
        expected *= n
    return True


def is_c_contiguous(shape: tuple[int, ...], strides: tuple[int, ...], itemsize: int) -> bool:
    """Whether an array of this shape and these strides (bytes) reads its elements, in C order,
    from one gap-free run of memory going forwards (what NumPy's ``flags.c_contiguous`` and
    PyTorch's ``is_contiguous()`` report)."""
    return _contiguous(tuple(shape), tuple(strides), itemsize, "C")


def is_f_contiguous(shape: tuple[int, ...], strides: tuple[int, ...], itemsize: int) -> bool:
    """The same for Fortran (column-major) order: the *first* axis moves one element."""
    return _contiguous(tuple(shape), tuple(strides), itemsize, "F")


@dataclass(frozen=True)
class StrideLayout:
    """One operation on ``x = arange(n)`` and the layout of what came back.

    - ``base``: x, C-contiguous, shape ``base_shape``; ``result``: the array the operation made
    - ``shape``, ``strides`` (bytes), ``element_strides`` (strides / itemsize, PyTorch's unit)
    - ``c_contiguous``, ``f_contiguous``: by the rule of :func:`is_c_contiguous`
    - ``is_view``: the result reads x's buffer (``np.shares_memory``); otherwise a copy
    - ``offset``: for a view, the buffer element its first entry reads (None for a copy)
    - ``walk``: for a view, the buffer element each entry reads, in C order, computed from
      the offset and the strides (None for a copy)
    - ``sources``: the element of x's buffer each entry holds, in C order (the values
      themselves, since x holds 0, 1, 2, ...); for a view equal to ``walk``
    """
    expression: str
    torch: str
    note: str
    dtype: str
    itemsize: int
    base_shape: tuple[int, ...]
    base: Any
    result: Any
    shape: tuple[int, ...]
    strides: tuple[int, ...]
    element_strides: tuple[int, ...]
    c_contiguous: bool
    f_contiguous: bool
    is_view: bool
    offset: int | None
    walk: tuple[int, ...] | None
    sources: tuple[int, ...]


def _walk(offset: int, shape: tuple[int, ...], element_strides: tuple[int, ...]) -> tuple[int, ...]:
    """offset + sum_k i_k * stride_k for every index (i_0, i_1, ...) in C order."""
    positions = np.full(shape, offset, dtype=np.int64)
    for axis, (n, s) in enumerate(zip(shape, element_strides)):
        index_shape = [1] * len(shape)
        index_shape[axis] = n
        positions = positions + np.arange(n).reshape(index_shape) * s
    return tuple(int(p) for p in positions.ravel())


def compute_strides(shape: Any = (2, 3, 4), dtype: str = "int8",
                    operation: str = "x.T") -> StrideLayout:
    """Apply ``operation`` to ``x = np.arange(prod(shape), dtype=dtype).reshape(shape)``.

    Inputs:
    - shape: a tuple or a text such as "2, 3, 4" (see :func:`parse_shape`)
    - dtype: one of :data:`DTYPES`
    - operation: one of the expressions of :data:`OPERATIONS`

    Returns a :class:`StrideLayout`. Raises ValueError for an unknown dtype or operation, or
    one that needs more axes than ``shape`` has (or a longer axis 0, for ``x[1]``).
    """
    dims = parse_shape(shape)
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if operation not in OPERATIONS:
        raise ValueError(f"operation must be one of {list(OPERATIONS)}, got {operation!r}")
    op = OPERATIONS[operation]
    if len(dims) < op.min_ndim:
        raise ValueError(f"{operation} needs at least {op.min_ndim} axes; x of shape {dims} "
                         f"has {len(dims)}")
    if operation in ("x[1]", "x[1:]") and dims[0] < 2:
        raise ValueError(f"{operation} needs axis 0 of length at least 2; x of shape {dims} "
                         f"has {dims[0]} (x[1] would be out of range)")
    if operation == "x[:, 1]" and dims[1] < 2:
        raise ValueError(f"x[:, 1] needs axis 1 of length at least 2; x of shape {dims} "
                         f"has {dims[1]}")
    base = np.arange(math.prod(dims), dtype=dtype).reshape(dims)
    result = np.asarray(op.apply(base))
    itemsize = base.itemsize
    out_shape, strides = tuple(result.shape), tuple(int(s) for s in result.strides)
    is_view = bool(np.shares_memory(result, base))
    element_strides = tuple(s // itemsize for s in strides)
    offset = walk = None
    if is_view:
        # where the view starts, in elements from the start of x's buffer
        start = result.__array_interface__["data"][0] - base.__array_interface__["data"][0]
        offset = start // itemsize
        walk = _walk(offset, out_shape, element_strides)
    sources = tuple(int(v) for v in result.ravel())
    return StrideLayout(operation, op.torch(len(dims)), op.note, dtype, itemsize, dims, base,
                        result, out_shape, strides, element_strides,
                        is_c_contiguous(out_shape, strides, itemsize),
                        is_f_contiguous(out_shape, strides, itemsize), is_view, offset, walk,
                        sources)


# --------------------------------------------------------------------------------------------
# Rendering: the facts, the buffer with the elements read (numbered in order), the result
# --------------------------------------------------------------------------------------------
def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _buffer_row(n: int, reads: tuple[int, ...], title: str, colour: str) -> str:
    """The buffer as one row of cells 0..n-1; read cells coloured, with the order(s) in which
    the result reads them underneath."""
    order: dict[int, list[int]] = {}
    for k, p in enumerate(reads):
        order.setdefault(p, []).append(k)
    values = np.array([[str(p) for p in range(n)],
                       [",".join(map(str, order.get(p, []))) for p in range(n)]], dtype=object)
    read = f"background:{colour};font-weight:bold;"
    styles = [[read if p in order else "" for p in range(n)],
              ["font-size:9px;color:#555;border:none;" for p in range(n)]]
    caption = f'<div style="font-size:11px;color:{PALETTE["muted"]};">{escape(title)}</div>'
    return (f'<div style="display:inline-block;vertical-align:top;margin-right:12px;">{caption}'
            + table_html(values, styles, "", cell_px=22, number_format="{}") + "</div>")


def _result_grids(values: Any) -> str:
    """The result as grids: a 2-D block per index of the leading axes."""
    if values.ndim == 0:
        values = values.reshape(1, 1)
    if values.ndim == 1:
        styles = [[f"background:{PALETTE['output_light']};"] * values.shape[0]]
        return table_html(values[None], styles, f"result, shape {values.shape}", number_format="{:g}")
    blocks = values.reshape(-1, *values.shape[-2:])
    lead = values.shape[:-2]
    grids = []
    for k, block in enumerate(blocks):
        index = np.unravel_index(k, lead) if lead else ()
        label = "result" + ("[" + ", ".join(map(str, index)) + ", :, :]" if lead else "")
        styles = [[f"background:{PALETTE['output_light']};"] * block.shape[1]
                  for _ in range(block.shape[0])]
        grids.append(table_html(block, styles, label, number_format="{:g}"))
    return "".join(grids)


def render_strides(s: StrideLayout) -> Html:
    """HTML: the expression and its PyTorch name, shape, strides (bytes and elements),
    contiguity, view or copy; x's buffer with the elements the result reads (numbered in the
    order it reads them); for a copy, its own new buffer; and the result's values."""
    n = s.base.size
    strides_el = ", ".join(map(str, s.element_strides))
    facts = [
        ("x", f"np.arange({n}, dtype=np.{s.dtype}).reshape{s.base_shape}, strides "
              f"{tuple(s.base.strides)} bytes ({s.itemsize} byte{'s' if s.itemsize > 1 else ''} "
              "per element)"),
        ("result", s.expression),
        ("in PyTorch", s.torch),
        ("shape", str(s.shape)),
        ("strides", f"{s.strides} bytes = ({strides_el}{',' if len(s.shape) == 1 else ''}) elements"),
        ("C-contiguous", _yes(s.c_contiguous) + (f" (a fresh array of this shape has strides "
                                                 f"{c_strides(s.shape, s.itemsize)})"
                                                 if not s.c_contiguous else "")),
        ("F-contiguous", _yes(s.f_contiguous)),
        ("view or copy", (f"view: reads x's buffer from element {s.offset} on, nothing copied"
                          if s.is_view else f"copy: a new buffer of {len(s.sources)} elements")),
    ]
    rows = "".join(f'<tr><td style="padding:1px 10px 1px 0;color:{PALETTE["muted"]};border:none;">'
                   f'{escape(k)}</td><td style="{MONO}padding:1px 0;border:none;">{escape(v)}</td></tr>'
                   for k, v in facts)
    reads = s.walk if s.is_view else s.sources
    what = "read by the view" if s.is_view else "copied into the new buffer"
    parts = [f'<div style="{FONT}">',
             f'<table style="border-collapse:collapse;margin-bottom:6px;">{rows}</table>',
             f'<div style="color:{PALETTE["muted"]};margin-bottom:4px;">{escape(s.note)}</div>',
             _buffer_row(n, reads, f"x's buffer: the elements {what}; below each, its place(s) "
                         "in the result, in C order",
                         PALETTE["highlight_light"] if s.is_view else PALETTE["filter_light"])]
    if not s.is_view:
        parts.append(_buffer_row(len(s.sources), tuple(range(len(s.sources))),
                                 "the copy's own buffer, read straight through",
                                 PALETTE["output_light"]))
    parts.append("<div>" + _result_grids(np.asarray(s.result)) + "</div></div>")
    return Html("".join(parts))


def strides_widget(shape: str = "2, 3, 4", dtype: str = "int8", operation: str = "x.T") -> LiveView:
    """Controls: ``shape`` (a text, e.g. "4, 3"), ``dtype`` and ``operation`` (menus); the
    view: x's buffer with the elements the result reads, and its shape, strides, contiguity,
    view or copy."""
    controls = {
        "shape": widgets.Text(value=shape, description="shape of x", continuous_update=False,
                              layout=widgets.Layout(width="200px")),
        "dtype": widgets.Dropdown(options=list(DTYPES), value=dtype, description="dtype",
                                  layout=widgets.Layout(width="170px")),
        "operation": widgets.Dropdown(options=list(OPERATIONS), value=operation,
                                      description="result =", layout=widgets.Layout(width="360px")),
    }

    def view(shape: str, dtype: str, operation: str) -> Drawing:
        s = compute_strides(shape, dtype, operation)
        kind = "view" if s.is_view else "copy"
        contiguous = "C-contiguous" if s.c_contiguous else "not contiguous"
        return Drawing(s, render_strides(s), f"{operation}: shape {s.shape}, strides {s.strides} "
                                             f"({contiguous}, {kind})")

    return LiveView("Strides: which buffer elements a view reads", controls, view,
                    name="strides_widget")
