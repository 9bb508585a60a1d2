"""The notes' layer-pattern language, read into a spec (a list of layers).

::

    INPUT -> [[CONV -> RELU]*N -> POOL?]*M -> [FC -> RELU]*K -> FC

Grammar (``->`` or ``→`` joins layers; names are case-insensitive)::

    pattern := item ('->' item)*
    item    := atom ['?'] ['*' count]          '?' optional, '*' repetition
    atom    := '[' pattern ']' | layer
    layer   := NAME ['(' settings ')']         e.g. CONV, CONV3-64, POOL2, FC-4096, FC(100)
    count   := integer | NAME                  symbolic counts (N, M, K) are given as keywords

Layer names: ``INPUT``, ``CONV``, ``RELU``, ``POOL`` (max; ``MAXPOOL`` too), ``AVGPOOL``,
``FC`` (``AFFINE`` too), ``DROPOUT``, ``BATCHNORM`` (``BN``). The notes' short forms put the
filter size after the name and the number of filters or outputs after a dash: ``CONV3-64``
is 64 filters of 3x3, ``POOL2`` a 2x2 pool, ``FC-4096`` 4096 outputs. Settings in brackets
are keywords (``CONV(K=64, F=5, S=2)``) or, in order, positional: INPUT (C, H, W), CONV (K, F,
S, P), POOL/AVGPOOL (F, S, P), FC (K), DROPOUT (p).

Sizes left out follow the sizing rules (see :mod:`.spec`); the numbers of filters and outputs
come from the keywords of :func:`parse`: ``filters`` for the CONVs, ``hidden`` for the FCs
before the last and ``num_classes`` for the last FC, which gives the class scores.

Everything the language knows about a kind (its spellings, its settings, its short form) comes
from that kind's record in :data:`.spec.KINDS`.

:func:`as_spec` reads a spec in any of its forms (a pattern string, a list of layers, pattern
strings and dicts); the two blocks that hold sub-networks, :func:`inception` and
:func:`residual`, are built here because their branches may be written in any of those forms.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from ..validate import check_int
from .spec import KINDS, Layer, SpecError

__all__ = ["parse", "SpecSyntaxError", "as_spec", "inception", "residual"]


class SpecSyntaxError(SpecError):
    """A pattern string that cannot be read. The message quotes the line and puts carets
    under the offending part; ``position`` is its offset in the string."""

    def __init__(self, message: str, text: str, start: int, end: int | None = None):
        self.text, self.position = text, start
        end = start + 1 if end is None or end <= start else end
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", start)
        line = text[line_start:None if line_end < 0 else line_end]
        column = start - line_start
        carets = "^" * max(1, min(end, line_start + len(line)) - start)
        super().__init__(f"{message}\n    {line}\n    {' ' * column}{carets}")


def _spellings() -> dict[str, str]:
    """Every spelling of a layer name (``MAXPOOL``, ``BN``...) -> its kind, from the records
    of :data:`KINDS` (read at each call, so that a kind added to the table is known at once)."""
    return {name: kind.name for kind in KINDS.values() for name in kind.names}


def _known() -> str:
    return ", ".join(sorted(_spellings()))

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<arrow>->|→)
  | (?P<number>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z_]*(?:\d+)?(?:-\d+)?)
  | (?P<op>[\[\]*?(),=])
""", re.VERBOSE)
_SHORT = re.compile(r"^(?P<kind>[A-Za-z_]+?)(?P<size>\d+)?(?:-(?P<count>\d+))?$")


@dataclass
class _Tok:
    kind: str   # 'arrow', 'number', 'name', 'op', 'end'
    text: str
    start: int

    @property
    def end(self) -> int:
        return self.start + max(1, len(self.text))


def _tokenize(text: str) -> list[_Tok]:
    tokens, i = [], 0
    while i < len(text):
        m = _TOKEN.match(text, i)
        if m is None:
            raise SpecSyntaxError(f"unexpected character {text[i]!r}", text, i)
        if m.lastgroup != "space":
            tokens.append(_Tok(m.lastgroup, m.group(), i))
        i = m.end()
    tokens.append(_Tok("end", "", len(text)))
    return tokens


# --------------------------------------------------------------------------------------------
# The syntax tree
# --------------------------------------------------------------------------------------------
@dataclass
class _LayerNode:
    kind: str
    settings: dict[str, Any]
    text: str
    start: int
    end: int


@dataclass
class _Group:
    items: list[Any]


@dataclass
class _Repeat:
    node: Any
    count: int | str       # an int, or a symbol to look up
    start: int
    end: int


@dataclass
class _Optional:
    node: Any
    start: int
    end: int


@dataclass
class _Parser:
    text: str
    tokens: list[_Tok]
    i: int = 0
    symbols: list[_Tok] = field(default_factory=list)

    @property
    def tok(self) -> _Tok:
        return self.tokens[self.i]

    def error(self, message: str, tok: _Tok | None = None) -> SpecSyntaxError:
        tok = tok or self.tok
        return SpecSyntaxError(message, self.text, tok.start, tok.end)

    def take(self, text: str) -> _Tok:
        if self.tok.text != text:
            found = "the end of the pattern" if self.tok.kind == "end" else repr(self.tok.text)
            raise self.error(f"expected {text!r} but found {found}")
        self.i += 1
        return self.tokens[self.i - 1]

    # pattern := item ('->' item)*
    def pattern(self, closing: str | None) -> _Group:
        items = [self.item()]
        while self.tok.kind == "arrow":
            self.i += 1
            items.append(self.item())
        if closing is None and self.tok.kind != "end":
            hint = " (layers are joined with '->')" if self.tok.kind == "name" else ""
            raise self.error(f"unexpected {self.tok.text!r}{hint}")
        return _Group(items)

    # item := atom ['?'] ['*' count]
    def item(self) -> Any:
        start = self.tok.start
        node = self.atom()
        if self.tok.text == "?":
            node = _Optional(node, start, self.tok.end)
            self.i += 1
        if self.tok.text == "*":
            star = self.tok
            self.i += 1
            count_tok = self.tok
            if count_tok.kind == "number" and count_tok.text.isdigit():
                count: int | str = int(count_tok.text)
            elif count_tok.kind == "name" and count_tok.text.isidentifier():
                count = count_tok.text
                self.symbols.append(count_tok)
            else:
                raise self.error("'*' must be followed by a whole number of repetitions or a "
                                 "symbol such as N", count_tok if count_tok.kind != "end" else star)
            self.i += 1
            node = _Repeat(node, count, start, count_tok.end)
        return node

    # atom := '[' pattern ']' | layer
    def atom(self) -> Any:
        tok = self.tok
        if tok.text == "[":
            self.i += 1
            if self.tok.text == "]":
                raise self.error("empty brackets: put layers inside, e.g. [CONV -> RELU]*2")
            group = self.pattern(closing="]")
            if self.tok.text != "]":
                raise (self.error("missing ']' to close this '['", tok) if self.tok.kind == "end"
                       else self.error(f"expected '->' or ']' but found {self.tok.text!r}"))
            self.i += 1
            return group
        if tok.kind != "name":
            what = "the end of the pattern" if tok.kind == "end" else repr(tok.text)
            raise self.error(f"expected a layer name ({_known()}) but found {what}")
        return self.layer()

    # layer := NAME ['(' settings ')']
    def layer(self) -> _LayerNode:
        tok = self.tok
        self.i += 1
        m = _SHORT.match(tok.text)
        base = m.group("kind").upper() if m else tok.text.upper()
        spellings = _spellings()
        if base not in spellings:
            raise self.error(f"unknown layer {tok.text!r}; known layers: {_known()}", tok)
        kind = spellings[base]
        settings: dict[str, Any] = {}
        size, count = (None if g is None else int(g) for g in m.group("size", "count"))
        if size is not None or count is not None:
            short_form = KINDS[kind].short_form
            short = short_form(size, count) if short_form else None
            if short is None:
                raise self.error(f"{tok.text!r} is not a short form this language knows "
                                 "(CONV3-64, POOL2, AVGPOOL7, FC-4096)", tok)
            settings.update(short)
        end = tok.end
        if self.tok.text == "(":
            end = self.settings(kind, settings)
        return _LayerNode(kind, settings, self.text[tok.start:end], tok.start, end)

    # settings := setting (',' setting)*     setting := [NAME '='] value
    def settings(self, kind: str, settings: dict[str, Any]) -> int:
        self.take("(")
        accepted, positional = KINDS[kind].settings, KINDS[kind].positional
        n_positional = 0
        while True:
            tok = self.tok
            if tok.kind == "name" and self.tokens[self.i + 1].text == "=":
                lookup = {a.lower(): a for a in accepted}
                key = lookup.get(tok.text.lower())
                if key is None:
                    raise self.error(f"{kind.upper()} has no setting {tok.text!r} "
                                     f"(it accepts {', '.join(accepted) or 'none'})", tok)
                self.i += 2
            else:
                if n_positional >= len(positional):
                    raise self.error(f"{kind.upper()} takes at most {len(positional)} settings "
                                     f"without names ({', '.join(positional) or 'none'}); name "
                                     "the others, e.g. S=2", tok)
                key = positional[n_positional]
                n_positional += 1
            if key in settings:
                raise self.error(f"{kind.upper()} setting {key} is given twice", tok)
            settings[key] = self.value()
            if self.tok.text == ",":
                self.i += 1
                continue
            return self.take(")").end

    def value(self) -> Any:
        tok = self.tok
        if tok.kind == "number":
            self.i += 1
            return float(tok.text) if any(c in tok.text for c in ".eE") else int(tok.text)
        if tok.kind == "name" and tok.text in ("True", "False"):
            self.i += 1
            return tok.text == "True"
        if tok.text == "(":  # a (height, width) pair
            self.i += 1
            first = self.value()
            self.take(",")
            second = self.value()
            self.take(")")
            return (first, second)
        raise self.error("expected a number, True/False or a pair (h, w)")


# --------------------------------------------------------------------------------------------
# Expansion: repetitions and optional layers, then sizes
# --------------------------------------------------------------------------------------------
def _expand(node: Any, counts: dict[str, int], choices: list[bool] | None, text: str,
            used: list[bool], out: list[_LayerNode]) -> None:
    if isinstance(node, _LayerNode):
        out.append(node)
    elif isinstance(node, _Group):
        for item in node.items:
            _expand(item, counts, choices, text, used, out)
    elif isinstance(node, _Repeat):
        for _ in range(counts[node.count] if isinstance(node.count, str) else node.count):
            _expand(node.node, counts, choices, text, used, out)
    elif isinstance(node, _Optional):
        if choices is None:
            raise SpecSyntaxError(
                "this part is optional ('?'): say whether to include it with optional=True, "
                "optional=False, or a list of one True/False per occurrence", text,
                node.start, node.end)
        if len(used) >= len(choices):
            raise SpecSyntaxError(f"optional= lists {len(choices)} choices but the pattern "
                                  "has more optional parts than that", text, node.start, node.end)
        include = choices[len(used)]
        used.append(include)
        if include:
            _expand(node.node, counts, choices, text, used, out)


def _count_optionals(node: Any, counts: dict[str, int]) -> int:
    if isinstance(node, _Group):
        return sum(_count_optionals(i, counts) for i in node.items)
    if isinstance(node, _Repeat):
        n = counts[node.count] if isinstance(node.count, str) else node.count
        return n * _count_optionals(node.node, counts)
    if isinstance(node, _Optional):
        return 1 + _count_optionals(node.node, counts)
    return 0


def _sizes(value: int | Sequence[int], name: str, needed: int) -> list[int]:
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int or a list of ints, got {value!r}")
    if isinstance(value, int):
        return [value] * needed
    values = list(value)
    if len(values) != needed:
        raise SpecError(f"{name} lists {len(values)} sizes but the pattern has {needed} "
                        f"layer(s) that take their size from {name}")
    return values


def parse(pattern: str, *, filters: int | Sequence[int] = 32, hidden: int | Sequence[int] = 100,
          num_classes: int = 10, optional: bool | Sequence[bool] | None = None,
          **counts: int) -> list[Layer]:
    """Read a layer pattern into a spec (a list of :class:`~.spec.Layer`).

    Inputs:
    - pattern: e.g. ``"INPUT -> [[CONV -> RELU]*2 -> POOL]*3 -> [FC -> RELU]*2 -> FC"``.
    - filters: the number of filters of every CONV that does not state one; an int for all,
      or a list with one entry per such CONV, in order (e.g. ``[32, 32, 64, 64]``).
    - hidden: the outputs of every FC but the last (int, or one per such FC).
    - num_classes: the outputs of the last FC layer (the class scores).
    - optional: whether the optional parts (``POOL?``) are included: a bool for all of
      them, or one bool per occurrence after expanding the repetitions.
    - counts: values of symbolic repetition counts, e.g. ``N=2, M=3, K=2``.

    Returns the list of layers. Raises :class:`SpecSyntaxError` (a ``ValueError``) that
    points at the offending part of the string.

    >>> [layer.label for layer in parse("CONV3-64 -> RELU -> POOL2 -> FC", num_classes=10)]
    ['CONV3-64', 'RELU', 'POOL2', 'FC-10']
    """
    if not isinstance(pattern, str):
        raise TypeError(f"pattern must be a string, got {type(pattern).__name__}")
    if not pattern.strip():
        raise SpecSyntaxError("the pattern is empty; write layers such as "
                              "'INPUT -> CONV -> RELU -> FC'", pattern, 0)
    parser = _Parser(pattern, _tokenize(pattern))
    tree = parser.pattern(closing=None)

    symbols = {t.text for t in parser.symbols}
    unused = sorted(set(counts) - symbols)
    if unused:
        used = ", ".join(sorted(symbols)) or "none"
        raise TypeError(f"parse() got {unused[0]}={counts[unused[0]]!r}, but the pattern has no "
                        f"'*{unused[0]}' (its symbolic counts: {used})")
    for tok in parser.symbols:
        if tok.text not in counts:
            raise SpecSyntaxError(f"the repetition count {tok.text} has no value: pass it as a "
                                  f"keyword, e.g. parse(pattern, {tok.text}=2)", pattern,
                                  tok.start, tok.end)
    counts = {k: check_int(v, f"repetition count {k}", 0) for k, v in counts.items()}

    choices: list[bool] | None = None
    if optional is not None:
        n_optional = _count_optionals(tree, counts)
        choices = [optional] * n_optional if isinstance(optional, bool) else list(optional)
        if any(not isinstance(c, bool) for c in choices):
            raise TypeError(f"optional must be a bool or a list of bools, got {optional!r}")
        if len(choices) != n_optional:
            raise SpecError(f"optional lists {len(choices)} choices but the pattern has "
                            f"{n_optional} optional part(s) after expanding the repetitions")
    nodes: list[_LayerNode] = []
    _expand(tree, counts, choices, pattern, [], nodes)

    # Sizes: CONVs without K take `filters`; the last FC takes `num_classes`, the others
    # `hidden`. A repeated layer appears several times in `nodes`, so work with positions.
    convs = [i for i, n in enumerate(nodes) if n.kind == "conv" and "K" not in n.settings]
    fcs = [i for i, n in enumerate(nodes) if n.kind == "fc"]
    last_fc = fcs[-1] if fcs else None
    open_fcs = [i for i in fcs if "K" not in nodes[i].settings and i != last_fc]
    sizes = dict(zip(convs, _sizes(filters, "filters", len(convs))))
    sizes.update(zip(open_fcs, _sizes(hidden, "hidden", len(open_fcs))))
    if last_fc is not None and "K" not in nodes[last_fc].settings:
        sizes[last_fc] = num_classes
    layers = []
    for i, node in enumerate(nodes):
        settings = dict(node.settings)
        if i in sizes:
            settings["K"] = sizes[i]
        try:
            layers.append(KINDS[node.kind].make(**settings, text=node.text))
        except (ValueError, TypeError) as exc:
            raise SpecSyntaxError(str(exc), pattern, node.start, node.end) from None
    if any(layer.kind == "input" for layer in layers[1:]):
        bad = next(n for n in nodes[1:] if n.kind == "input")
        raise SpecSyntaxError("INPUT may only come first", pattern, bad.start, bad.end)
    return layers


# --------------------------------------------------------------------------------------------
# Specs in any form, and the blocks whose branches are specs
# --------------------------------------------------------------------------------------------
def as_spec(spec: Any, allow_input: bool = True) -> list[Layer]:
    """A spec as a list of :class:`Layer`.

    Accepts a pattern string (parsed with the default sizes of :func:`parse`), a list of
    ``Layer`` objects, or a list whose items are ``Layer``, a pattern string for one or more
    layers (``"CONV3-64"``, ``"[CONV -> RELU]*2"``), or a dict ``{"kind": "conv", "K": 64}``.
    """
    if isinstance(spec, str):
        layers = parse(spec)
    elif isinstance(spec, Layer):
        layers = [spec]
    elif isinstance(spec, Iterable) and not isinstance(spec, Mapping):
        layers = []
        for i, item in enumerate(spec):
            if isinstance(item, Layer):
                layers.append(item)
            elif isinstance(item, str):
                layers.extend(parse(item))
            elif isinstance(item, Mapping):
                layers.append(_from_dict(item, i))
            else:
                raise SpecError(f"spec[{i}] must be a Layer, a pattern string or a dict, "
                                f"got {type(item).__name__}")
    else:
        raise SpecError(f"a spec must be a pattern string or a list of layers, "
                        f"got {type(spec).__name__}")
    for i, layer in enumerate(layers):
        if layer.kind not in KINDS:
            raise SpecError(f"layer {i} has unknown kind {layer.kind!r}")
        if layer.kind == "input" and (i > 0 or not allow_input):
            raise SpecError(f"INPUT may only be the first layer of a network (found at "
                            f"position {i})")
    return layers


def _from_dict(item: Mapping[str, Any], i: int) -> Layer:
    """``{"kind": "conv", "K": 64}`` (item ``i`` of a list spec) built by its kind's
    constructor."""
    settings = dict(item)
    kind = settings.pop("kind", None)
    makers = {name: k.make for name, k in KINDS.items() if k.make is not None}
    if kind not in makers:
        raise SpecError(f"spec[{i}] must have 'kind' in {sorted(makers)}, got {kind!r}")
    try:
        return makers[kind](**settings)
    except TypeError as exc:
        raise SpecError(f"spec[{i}] ({kind}): {exc}") from None


def inception(*branches: Iterable[Any]) -> Layer:
    """GoogLeNet's module: every branch (a list of layers) sees the same input; their outputs,
    which must agree in height and width, are stacked along the channels."""
    if len(branches) < 2:
        raise SpecError(f"inception needs at least two branches, got {len(branches)}")
    return Layer("inception", {"branches": tuple(tuple(as_spec(b, allow_input=False))
                                                 for b in branches)})


def residual(body: Iterable[Any], shortcut: Iterable[Any] | None = None) -> Layer:
    """ResNet's block: ``body(x) + shortcut(x)``. With no ``shortcut`` the input itself is
    added (an identity skip connection), so ``body`` must keep the shape; a projection
    shortcut (e.g. a strided 1x1 conv) reshapes the input to match."""
    return Layer("residual", {"body": tuple(as_spec(body, allow_input=False)),
                              "shortcut": tuple(as_spec(shortcut, allow_input=False))
                              if shortcut else ()})
