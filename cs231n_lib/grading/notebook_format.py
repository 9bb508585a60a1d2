"""The notebook format shared by the instructor's notebooks, the release and the grader.

An instructor notebook is an ordinary Jupyter notebook with three kinds of special cells:

* **exercise cells** hold the reference solution between two marker lines::

      def add(a, b):
          ### BEGIN SOLUTION
          ### HINT: Python adds numbers with +
          return a + b
          ### END SOLUTION

  A cell may hold several such blocks. The release replaces each block by one line,
  ``raise NotImplementedError("<hint>")``, indented like the ``### BEGIN SOLUTION`` marker; the
  hint comes from an optional ``### HINT:`` line inside the block.

* **test cells** carry ``{"cs231n": {"id": "<test id>", "points": <number>}}`` in their cell
  metadata. Assertions between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` are
  removed from the student version and put back by the grader. An optional ``"forbid"`` lists
  the library functions that solve the exercise (``["cs231n_lib.layers.conv:conv_forward_naive"]``,
  module and name): while the test runs, the student's code must not call them (the test may,
  to compare), or the test earns nothing.

* the **self-check cell** carries ``{"cs231n": {"self_check": true}}`` and calls
  ``check("NN_name.ipynb")``; the grader never runs it.

Notebooks written for nbgrader need no conversion: its autograded test cells (``nbgrader``
metadata with ``grade: true``, ``points`` and a ``grade_id``, no solution) are test cells with
the ``grade_id`` as their id, and its ``### BEGIN SOLUTION`` and ``### BEGIN HIDDEN TESTS``
markers are the same as ours. (Manually graded cells are not scored: they are ordinary cells.)

Every other cell (markdown, set-up code, plots) is part of the notebook's *skeleton*: the
grader uses the skeleton cells it finds in a submission as landmarks to put tests back where
they belong.

This module parses and validates that format. It reads notebooks as plain dictionaries (the
JSON of an ``.ipynb`` file) so that it costs nothing to import.
"""
from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass
from typing import Any, Iterable

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
HINT_PREFIX = "### HINT:"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
MARKERS = (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN)

META_KEY = "cs231n"               # the cell and notebook metadata key of this format
NBGRADER_KEY = "nbgrader"         # nbgrader's, read for its autograded test cells (cell_meta)
DEFAULT_HINT = "replace this line with your solution"
# What a released test cell says when all of its assertions are hidden.
HIDDEN_ONLY_NOTE = "# The checks of this test are hidden: they run when your notebook is graded."

# Test ids become CSV column names and file-name-safe labels.
TEST_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*\Z")
FORBID_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_.]*\Z")   # "package.module:name"


class FormatError(ValueError):
    """An instructor notebook breaks the format; the message names the cell (index and first
    line) and what is wrong with it."""


# --------------------------------------------------------------------------------------------
# Cells as plain dictionaries
# --------------------------------------------------------------------------------------------
def cell_source(cell: dict) -> str:
    """The source of a cell as one string (the JSON may store it as a list of lines)."""
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip():
            return line.strip()[:60]
    return "<empty>"


def describe_cell(index: int, cell: dict) -> str:
    """'cell 4 (`def add(a, b):`)' — how errors and feedback name a cell."""
    return f"cell {index} (`{first_line(cell_source(cell))}`)"


def cell_meta(cell: dict) -> dict:
    """The ``cs231n`` entry of a cell's metadata, or {} (also when it is malformed).

    A cell without one that nbgrader marks as an autograded test (``"nbgrader": {"grade":
    true, "solution": false, "grade_id": ..., "points": ...}``, a code cell) reads as
    ``{"id": grade_id, "points": points}``: notebooks written for nbgrader release and grade
    as they are (its solution and hidden-test markers are ours)."""
    meta = cell.get("metadata")
    entry = meta.get(META_KEY) if isinstance(meta, dict) else None
    if isinstance(entry, dict):
        return entry
    nbgrader = meta.get(NBGRADER_KEY) if isinstance(meta, dict) else None
    if (isinstance(nbgrader, dict) and cell.get("cell_type") == "code" and nbgrader.get("grade") is True
            and not nbgrader.get("solution") and "grade_id" in nbgrader and "points" in nbgrader):
        return {"id": nbgrader["grade_id"], "points": nbgrader["points"]}
    return {}


def fallback_cell_id(notebook_name: str, index: int) -> str:
    """A deterministic id for a cell saved without one (nbformat < 4.5), so that releasing
    twice gives the same bytes and the grader derives the same landmarks."""
    return "cell-" + hashlib.sha1(f"{notebook_name}:{index}".encode()).hexdigest()[:12]


def normalised(source: str) -> str:
    """Source with trailing whitespace and trailing blank lines removed: saving a notebook in
    another editor must not count as editing a cell."""
    return "\n".join(line.rstrip() for line in source.strip("\n").splitlines()).strip("\n")


def digest(cell_type: str, source: str) -> str:
    """Fingerprint of a released cell, used to recognise untouched cells in a submission whose
    cell ids were lost."""
    return hashlib.sha1(f"{cell_type}\0{normalised(source)}".encode()).hexdigest()[:16]


# --------------------------------------------------------------------------------------------
# Marker blocks
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Block:
    """A run of source lines: plain code, or the inside of a marker pair.

    ``indent`` is the indentation of the opening marker line (blocks of plain code have '')."""
    kind: str          # "code", "solution" or "hidden"
    lines: tuple[str, ...]
    indent: str = ""


def split_blocks(source: str, begin: str, end: str, kind: str) -> list[Block]:
    """Split ``source`` into plain code and the blocks between ``begin``/``end`` marker lines.

    Raises FormatError (without naming the cell; the caller does) for a marker pair that is
    nested, unopened or unclosed."""
    blocks: list[Block] = []
    current: list[str] = []
    opened_at = None  # (line number, indentation) of the open marker
    for number, line in enumerate(source.splitlines(), start=1):
        marker = line.strip()
        if marker == begin:
            if opened_at is not None:
                raise FormatError(f"line {number}: `{begin}` inside another one (opened at line {opened_at[0]})")
            blocks.append(Block("code", tuple(current)))
            current, opened_at = [], (number, line[: len(line) - len(line.lstrip())])
        elif marker == end:
            if opened_at is None:
                raise FormatError(f"line {number}: `{end}` without a `{begin}` before it")
            blocks.append(Block(kind, tuple(current), opened_at[1]))
            current, opened_at = [], None
        else:
            current.append(line)
    if opened_at is not None:
        raise FormatError(f"line {opened_at[0]}: `{begin}` is never closed by `{end}`")
    blocks.append(Block("code", tuple(current)))
    return [b for b in blocks if b.kind != "code" or b.lines]


def join_lines(lines: Iterable[str]) -> str:
    return "\n".join(lines)


def solution_hint(block: Block) -> str:
    """The text of the block's ``### HINT:`` line, or the generic hint."""
    for line in block.lines:
        if line.strip().startswith(HINT_PREFIX):
            return line.strip()[len(HINT_PREFIX):].strip() or DEFAULT_HINT
    return DEFAULT_HINT


def stub_solutions(source: str) -> str:
    """The student version of an exercise cell: every solution block becomes
    ``raise NotImplementedError("<hint>")`` at the indentation of its marker."""
    out: list[str] = []
    for block in split_blocks(source, BEGIN_SOLUTION, END_SOLUTION, "solution"):
        if block.kind == "solution":
            # repr() of a str is a valid Python literal whatever the hint contains.
            out.append(f"{block.indent}raise NotImplementedError({solution_hint(block)!r})")
        else:
            out.extend(block.lines)
    return join_lines(out)


def public_part(source: str) -> str:
    """A test cell without its hidden blocks (the marker lines go too)."""
    kept = [line for b in split_blocks(source, BEGIN_HIDDEN, END_HIDDEN, "hidden")
            if b.kind == "code" for line in b.lines]
    return join_lines(kept)


def has_hidden(source: str) -> bool:
    return any(b.kind == "hidden" for b in split_blocks(source, BEGIN_HIDDEN, END_HIDDEN, "hidden"))


def has_public_code(source: str) -> bool:
    """Does the public part hold any statement (not only comments and blank lines)?"""
    return any(line.strip() and not line.strip().startswith("#")
               for line in public_part(source).splitlines())


def python_syntax_error(source: str) -> str | None:
    """None if ``source`` is valid IPython cell code, else the syntax error in words.

    IPython syntax (``%magic``, ``!shell``) is translated to Python first, as the kernel does."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        python = TransformerManager().transform_cell(source)
    except Exception:  # IPython missing or unable to transform: judge the raw source
        python = source
    try:
        ast.parse(python)
    except SyntaxError as exc:
        return f"line {exc.lineno}: {exc.msg}"
    return None


def imported_modules(source: str) -> list[str]:
    """Absolute module names imported anywhere in a cell (``import a.b``, ``from a import b``)."""
    tree = _parsed(source)
    if tree is None:
        return []
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


def _parsed(source: str):
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        return ast.parse(TransformerManager().transform_cell(source))
    except Exception:
        return None


def import_bindings(source: str) -> dict[str, tuple[str, str, str]]:
    """The names a cell's top-level imports bind: name -> (name, module, attribute), attribute
    "" for a module (``import numpy as np``: ("np", "numpy", "")); relative imports skipped."""
    tree, found = _parsed(source), {}
    for node in tree.body if tree is not None else ():
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    found[alias.asname] = (alias.asname, alias.name, "")
                else:
                    top = alias.name.split(".")[0]
                    found[top] = (top, top, "")
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if alias.name != "*":
                    local = alias.asname or alias.name
                    found[local] = (local, node.module, alias.name)
    return found


def defined_names(source: str) -> set[str]:
    """The names a cell binds at top level (functions, classes, assignments, imports)."""
    tree, names = _parsed(source), set()
    for node in tree.body if tree is not None else ():
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


# --------------------------------------------------------------------------------------------
# The canonical layout of a notebook
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Landmark:
    """A skeleton cell: identified by its nbformat cell id and by the digest of its released
    source."""
    cell_id: str
    digest: str


@dataclass(frozen=True)
class TestSpec:
    """One test cell. ``source`` is the instructor's source with its hidden markers (or, in a
    layout read from a released notebook, the public source only). ``run_hidden`` is False in
    the self-check's layout: its hidden blocks are not run."""
    __test__ = False     # not a pytest test class
    test_id: str
    points: float
    source: str
    cell_id: str
    run_hidden: bool = True
    forbid: tuple[str, ...] = ()      # "module:function" the student's code must not call

    @property
    def public_source(self) -> str:
        return public_part(self.source)

    @property
    def released_source(self) -> str:
        """The test cell as students receive it."""
        return self.public_source if self.has_public else HIDDEN_ONLY_NOTE

    @property
    def run_source(self) -> str:
        """What the grader runs (hidden markers kept: they are instrumented)."""
        return self.source if self.run_hidden else self.public_source

    @property
    def has_hidden(self) -> bool:
        """Does the run include hidden checks?"""
        return self.run_hidden and has_hidden(self.source)

    @property
    def has_public(self) -> bool:
        return has_public_code(self.source)


@dataclass(frozen=True)
class Layout:
    """The canonical order of landmarks and tests of one assignment notebook.

    ``dropped`` holds the ids of tests this layout knows but does not run (the self-check drops
    the tests that are all hidden); their cells are removed from a submission silently."""
    name: str                                  # file name, e.g. "03_conv.ipynb"
    items: tuple[Landmark | TestSpec, ...]
    dropped: frozenset[str] = frozenset()
    # (name, module, attribute) of what the instructor's own code cells import: tests get the
    # library's objects under those names, whatever a student cell rebound them to.
    bindings: tuple[tuple[str, str, str], ...] = ()

    @property
    def tests(self) -> list[TestSpec]:
        return [item for item in self.items if isinstance(item, TestSpec)]

    @property
    def max_score(self) -> float:
        return sum(t.points for t in self.tests)

    def public_only(self) -> "Layout":
        """The layout the self-check runs: hidden blocks not run, tests with nothing public
        dropped (there is nothing to check before grading)."""
        items, dropped = [], set(self.dropped)
        for item in self.items:
            if isinstance(item, TestSpec):
                if not item.has_public:
                    dropped.add(item.test_id)
                    continue
                item = TestSpec(item.test_id, item.points, item.source, item.cell_id, run_hidden=False,
                                forbid=item.forbid)
            items.append(item)
        return Layout(self.name, tuple(items), frozenset(dropped), self.bindings)

    def to_metadata(self) -> dict:
        """The layout as JSON without anything hidden, embedded by the release in the student
        notebook so that the self-check can restore the tests without the instructor's
        notebook."""
        entries = []
        for item in self.items:
            if isinstance(item, TestSpec):
                entries.append({"test": item.test_id, "points": item.points,
                                "cell_id": item.cell_id, "source": item.public_source,
                                **({"forbid": list(item.forbid)} if item.forbid else {})})
            else:
                entries.append({"cell_id": item.cell_id, "digest": item.digest})
        return {"assignment": self.name, "layout": entries}

    @classmethod
    def from_metadata(cls, meta: dict) -> "Layout":
        """Inverse of ``to_metadata``; raises KeyError, TypeError or ValueError if malformed."""
        items: list[Landmark | TestSpec] = []
        for entry in meta["layout"]:
            if "test" in entry:
                items.append(TestSpec(str(entry["test"]), float(entry["points"]),
                                      str(entry["source"]), str(entry["cell_id"]),
                                      forbid=tuple(str(f) for f in entry.get("forbid", ()))))
            else:
                items.append(Landmark(str(entry["cell_id"]), str(entry["digest"])))
        return cls(str(meta["assignment"]), tuple(items))


# --------------------------------------------------------------------------------------------
# Validation of an instructor notebook
# --------------------------------------------------------------------------------------------
def _test_entry(meta: dict, where: str) -> tuple[str, float] | None:
    """(test id, points) of a test cell, None for any other cell; FormatError if half-made."""
    if not meta or meta.get("self_check") is True and set(meta) == {"self_check"}:
        return None
    unknown = set(meta) - {"id", "points", "forbid"}
    if unknown:
        raise FormatError(f"{where}: unknown key(s) {sorted(unknown)} in the `{META_KEY}` metadata "
                          "(a test cell has `id`, `points` and optionally `forbid`, the self-check "
                          "cell `self_check: true`)")
    forbid = meta.get("forbid", [])
    if not isinstance(forbid, list) or not all(isinstance(f, str) and FORBID_PATTERN.match(f) for f in forbid):
        raise FormatError(f"{where}: `forbid` must be a list of \"package.module:function\" strings, "
                          f"got {forbid!r}")
    if "id" not in meta:
        raise FormatError(f"{where}: has `points` but no test `id` in its `{META_KEY}` metadata")
    if "points" not in meta:
        raise FormatError(f"{where}: test id {meta['id']!r} has no `points` in its `{META_KEY}` metadata")
    test_id, points = meta["id"], meta["points"]
    if not isinstance(test_id, str) or not TEST_ID_PATTERN.match(test_id):
        raise FormatError(f"{where}: test id {test_id!r} must be a string of letters, digits, "
                          "'_', '.', ':' or '-'")
    if isinstance(points, bool) or not isinstance(points, (int, float)) or not points >= 0:
        raise FormatError(f"{where}: points of test {test_id!r} must be a number >= 0, got {points!r}")
    return test_id, float(points)


def _nbgrader_solution(cell: dict) -> bool:
    """Does nbgrader's metadata mark this cell as a solution (the student writes it)?"""
    meta = cell.get("metadata")
    entry = meta.get(NBGRADER_KEY) if isinstance(meta, dict) else None
    return isinstance(entry, dict) and entry.get("solution") is True


def cell_kind(cell: dict) -> str:
    """'markdown', 'raw', 'code', 'exercise', 'test', 'self_check' or 'answer' (an nbgrader
    written answer: a markdown solution cell), without validation."""
    if cell.get("cell_type") != "code":
        if cell.get("cell_type") == "markdown" and _nbgrader_solution(cell):
            return "answer"
        return str(cell.get("cell_type", "raw"))
    meta = cell_meta(cell)
    if meta.get("self_check") is True:
        return "self_check"
    if "id" in meta or "points" in meta:
        return "test"
    if any(line.strip() == BEGIN_SOLUTION for line in cell_source(cell).splitlines()) or _nbgrader_solution(cell):
        return "exercise"
    return "code"


NBGRADER_ANSWER = "YOUR ANSWER HERE"    # what nbgrader, and this release, leave of a written answer


def stub_exercise(source: str) -> str:
    """The student version of an exercise cell: ``stub_solutions``; a cell without markers
    (an nbgrader solution cell) is a solution as a whole and becomes one ``raise`` line."""
    if not any(line.strip() == BEGIN_SOLUTION for line in source.splitlines()):
        return f"raise NotImplementedError({DEFAULT_HINT!r})"
    return stub_solutions(source)


def validate_instructor_notebook(nb: dict, name: str) -> None:
    """Raise FormatError, naming the cell, for anything the release or the grader cannot
    handle: unbalanced or misplaced markers, half-made or duplicated test metadata, code that
    would not parse once stubbed, a self-check cell that checks another notebook."""
    seen: dict[str, str] = {}
    for index, cell in enumerate(nb.get("cells", [])):
        where = f"{name}: {describe_cell(index, cell)}"
        source, kind = cell_source(cell), cell_kind(cell)
        lines = {line.strip() for line in source.splitlines()}
        if kind == "answer":       # replaced as a whole by the release, markers and all
            continue
        if kind in ("markdown", "raw"):
            if lines & set(MARKERS):
                raise FormatError(f"{where}: grading markers are only allowed in code cells")
            continue
        try:
            entry = _test_entry(cell_meta(cell), where)
            if kind == "self_check":
                if lines & set(MARKERS):
                    raise FormatError(f"{where}: the self-check cell cannot hold grading markers")
                if name not in source:
                    raise FormatError(f"{where}: the self-check cell must check this notebook, "
                                      f'i.e. call check("{name}")')
                continue
            if entry is not None:
                test_id = entry[0]
                if test_id in seen:
                    raise FormatError(f"{where}: test id {test_id!r} is already used by {seen[test_id]}")
                seen[test_id] = describe_cell(index, cell)
                if lines & {BEGIN_SOLUTION, END_SOLUTION}:
                    raise FormatError(f"{where}: a test cell cannot hold a solution block")
                split_blocks(source, BEGIN_HIDDEN, END_HIDDEN, "hidden")
                for label, text in (("as graded", source), ("as released", public_part(source))):
                    error = python_syntax_error(text)
                    if error:
                        raise FormatError(f"{where}: the test does not parse {label}: {error}")
                continue
            if lines & {BEGIN_HIDDEN, END_HIDDEN}:
                raise FormatError(f"{where}: hidden tests belong in a test cell "
                                  f'(metadata {{"{META_KEY}": {{"id": ..., "points": ...}}}})')
            split_blocks(source, BEGIN_SOLUTION, END_SOLUTION, "solution")
            error = python_syntax_error(stub_exercise(source))
            if error:
                raise FormatError(f"{where}: the released (stubbed) cell does not parse: {error}")
        except FormatError as exc:
            if str(exc).startswith(where):
                raise
            raise FormatError(f"{where}: {exc}") from None


def instructor_layout(nb: dict, name: str) -> Layout:
    """The layout of a validated instructor notebook (hidden tests included).

    The landmark digests are those of the *released* cells, which is what students receive."""
    items: list[Landmark | TestSpec] = []
    bindings, exercise_names = {}, set()
    for index, cell in enumerate(nb.get("cells", [])):
        kind = cell_kind(cell)
        cell_id = cell.get("id") or fallback_cell_id(name, index)
        if kind == "self_check":
            continue
        if kind == "test":
            meta = cell_meta(cell)
            items.append(TestSpec(meta["id"], float(meta["points"]), cell_source(cell), cell_id,
                                  forbid=tuple(meta.get("forbid", ()))))
        else:
            items.append(Landmark(cell_id, digest(str(cell.get("cell_type")), released_source(cell))))
        if kind == "code":
            bindings.update(import_bindings(cell_source(cell)))
        elif kind == "exercise":
            exercise_names |= defined_names(cell_source(cell))
    return Layout(name, tuple(items), bindings=tuple(v for k, v in sorted(bindings.items())
                                                     if k not in exercise_names))


def released_source(cell: dict) -> str:
    """The source a student receives for one instructor cell."""
    kind, source = cell_kind(cell), cell_source(cell)
    if kind == "exercise":
        return stub_exercise(source)
    if kind == "answer":
        return NBGRADER_ANSWER
    if kind == "test":
        return TestSpec("", 0.0, source, "").released_source
    return source


def notebook_layout(nb: dict, name: str) -> Layout:
    """The layout of a notebook as far as the notebook itself tells: the one the release
    embedded in it (public tests only), or, for a notebook without one (an instructor
    notebook), the layout read from its cells."""
    meta = nb.get("metadata", {}).get(META_KEY) if isinstance(nb.get("metadata"), dict) else None
    if isinstance(meta, dict) and "layout" in meta:
        try:
            return Layout.from_metadata(meta)
        except (KeyError, TypeError, ValueError):
            pass  # damaged: fall back to the cells themselves
    validate_instructor_notebook(nb, name)
    return instructor_layout(nb, name)


def format_points(value: Any) -> str:
    """Points as people write them: 2, not 2.0."""
    return f"{value:g}" if isinstance(value, float) else str(value)
