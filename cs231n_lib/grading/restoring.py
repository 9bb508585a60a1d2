"""Put the canonical tests back into a student's notebook.

A submission is whatever the student saved: test cells may have been edited, moved, deleted
or duplicated, cells added anywhere, markdown rewritten. The grader runs the student's own
code cells in the student's order, but every test cell is replaced by the canonical one (from
the instructor notebook, hidden tests included), exactly once, at a place chosen like this:

* The *landmarks* are the skeleton cells of the layout (markdown, set-up code, exercise cells)
  found in the submission, by nbformat cell id first (JupyterLab keeps it when a cell is
  edited or moved) and by content for untouched cells saved without ids. Landmarks found out
  of order are ignored, so that the ones kept always run in the canonical order.
* A test belongs between the landmark before it and the landmark after it in the layout. If
  the student's copy of the test sits there, the canonical test takes its place (student
  cells added before it, like a scratch cell after an exercise, still run first).
* Otherwise (the copy was moved elsewhere, or deleted) the test goes just before the next
  landmark, or just after the previous one, or at the end of the notebook.

Self-check cells are replaced by a comment: the grader must not start a grader. Everything
that was undone is reported per test: ``edited``, ``moved``, ``deleted``, ``duplicated``.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .notebook_format import (META_KEY, Landmark, Layout, TestSpec, cell_meta, cell_source, digest,
                              normalised)

SELF_CHECK_REMOVED = "# (the self-check cell is not run when grading)"
# A cell that calls the self-check, even one whose metadata was lost.
SELF_CHECK_CALL = re.compile(r"from\s+cs231n_lib\.grading\s+import\s+[^\n]*\bcheck\b|cs231n_lib\.grading\.check\(")


class InvalidSubmission(ValueError):
    """The file cannot be graded: not JSON, not a notebook, or a notebook of another
    assignment. The message says which, in words a student understands."""


@dataclass(frozen=True)
class RunCell:
    """A code cell of the notebook the grader runs: a student cell, or a canonical test."""
    source: str
    test: TestSpec | None = None


@dataclass
class Restored:
    cells: list[RunCell]
    facts: dict[str, list[str]] = field(default_factory=dict)   # test id -> facts
    notes: list[str] = field(default_factory=list)


def read_submission(path: str | Path) -> dict:
    """The JSON of a submitted notebook; InvalidSubmission if it is not one."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InvalidSubmission(f"cannot read the file ({exc.strerror})") from None
    try:
        nb = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidSubmission("the file is not text (not a .ipynb notebook)") from None
    except json.JSONDecodeError as exc:
        raise InvalidSubmission(f"the file is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                                f"{exc.msg}); was it saved by Jupyter?") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise InvalidSubmission("the file is JSON but not a Jupyter notebook (it has no list of cells)")
    if nb.get("nbformat") != 4:
        raise InvalidSubmission(f"the notebook format {nb.get('nbformat')!r} is not supported (4 is)")
    for index, cell in enumerate(nb["cells"]):
        source = cell.get("source", "") if isinstance(cell, dict) else None
        if not isinstance(source, (str, list)) or (isinstance(source, list)
                                                   and not all(isinstance(s, str) for s in source)):
            raise InvalidSubmission(f"cell {index} of the notebook is damaged (no text source)")
    return nb


def _cell_id(cell: dict) -> str | None:
    """The nbformat id of a cell, None if absent or not a string."""
    value = cell.get("id")
    return value if isinstance(value, str) else None


def _claimed_test(cell: dict) -> str | None:
    """The test id a cell's metadata claims, None if absent or not a string."""
    value = cell_meta(cell).get("id")
    return value if isinstance(value, str) else None


def _longest_increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Longest subsequence of (layout index, submission position) pairs, given in layout order,
    whose positions increase: the landmarks that are still in canonical order."""
    best: list[list[tuple[int, int]]] = []
    for pair in pairs:
        chains = [c for c in best if c[-1][1] < pair[1]]
        best.append((max(chains, key=len) if chains else []) + [pair])
    return max(best, key=len) if best else []


def _match_landmarks(layout: Layout, cells: list[dict]) -> dict[int, int]:
    """layout index -> submission position, for the landmarks found in order."""
    by_id = {}
    for pos, cell in enumerate(cells):
        by_id.setdefault(_cell_id(cell), pos)
    taken: set[int] = set()
    found: dict[int, int] = {}
    landmarks = [(i, item) for i, item in enumerate(layout.items) if isinstance(item, Landmark)]
    for i, mark in landmarks:
        pos = by_id.get(mark.cell_id)
        if pos is not None and pos not in taken:
            found[i] = pos
            taken.add(pos)
    digests = [digest(str(c.get("cell_type")), cell_source(c)) for c in cells]
    for i, mark in landmarks:
        if i in found:
            continue
        for pos, d in enumerate(digests):
            if pos not in taken and d == mark.digest:
                found[i] = pos
                taken.add(pos)
                break
    return dict(_longest_increasing(sorted(found.items())))


def _is_self_check(cell: dict) -> bool:
    return cell_meta(cell).get("self_check") is True or bool(SELF_CHECK_CALL.search(cell_source(cell)))


def assignment_mismatch(layout: Layout, nb: dict) -> str | None:
    """Why this notebook is not the layout's assignment, or None if it may well be."""
    meta = nb.get("metadata", {}) if isinstance(nb.get("metadata"), dict) else {}
    claimed = meta.get(META_KEY, {}).get("assignment") if isinstance(meta.get(META_KEY), dict) else None
    if isinstance(claimed, str) and claimed != layout.name:
        return f"this is the notebook of {claimed}, not of {layout.name}"
    test_ids, cell_ids = {t.test_id for t in layout.tests}, {t.cell_id for t in layout.tests}
    if any(_claimed_test(c) in test_ids or _cell_id(c) in cell_ids for c in nb["cells"]):
        return None
    # No test found: the landmarks must be there. Half of them, because notebooks started from
    # a copy of another share a few cell ids and a few identical cells (imports, headings).
    landmarks = sum(isinstance(i, Landmark) for i in layout.items)
    if 2 * len(_match_landmarks(layout, nb["cells"])) < landmarks or not landmarks:
        return f"none of the tests and few of the cells of {layout.name} are in this notebook"
    return None


def restore_tests(layout: Layout, nb: dict) -> Restored:
    """The cells to run for one submission, with the canonical tests put back.

    Raises InvalidSubmission if the notebook belongs to another assignment."""
    problem = assignment_mismatch(layout, nb)
    if problem:
        raise InvalidSubmission(problem)
    cells = nb["cells"]
    tests = {t.test_id: t for t in layout.tests}
    by_cell_id = {t.cell_id: t for t in layout.tests}
    landmarks = _match_landmarks(layout, cells)

    # Where are the student's copies of each test? (by test id, or by cell id when the
    # metadata was stripped)
    copies: dict[str, list[int]] = {t: [] for t in tests}
    replaced_silently: set[int] = set()    # cells of tests this layout does not run
    notes: list[str] = []
    for pos, cell in enumerate(cells):
        if cell.get("cell_type") != "code" or _is_self_check(cell):
            continue
        claimed = _claimed_test(cell)
        if claimed in layout.dropped:
            replaced_silently.add(pos)
        elif claimed in tests:
            copies[claimed].append(pos)
        elif _cell_id(cell) in by_cell_id:
            copies[by_cell_id[_cell_id(cell)].test_id].append(pos)
        elif claimed is not None:
            notes.append(f"cell {pos} claims to be test {claimed!r}, which this assignment does not "
                         "have: it ran as ordinary code and earned nothing")

    # Each run cell gets a sort key: (position, rank, layout order). Student cells keep their
    # position; a test inserted before a landmark sorts just before it (rank -1), one inserted
    # after a landmark just after it (rank +1).
    keyed: list[tuple[tuple[int, int, int], RunCell]] = []
    replaced: set[int] = set()
    facts: dict[str, list[str]] = {}
    for i, test in enumerate(layout.items):
        if not isinstance(test, TestSpec):
            continue
        before = [landmarks[j] for j in landmarks if j < i]
        after = [landmarks[j] for j in landmarks if j > i]
        lo, hi = (max(before) if before else -1), (min(after) if after else len(cells))
        found = copies[test.test_id]
        in_place = [p for p in found if lo < p < hi]
        if in_place:
            key = (in_place[0], 0, i)
            fact = ["edited"] if _is_edited(cells[in_place[0]], test) else []
        else:
            key = (hi, -1, i) if after else ((lo, 1, i) if before else (len(cells), 0, i))
            fact = ["moved"] if found else ["deleted"]
            if found and _is_edited(cells[found[0]], test):
                fact.append("edited")
        if len(found) > 1:
            fact.append("duplicated")
        replaced.update(found)
        keyed.append((key, RunCell(test.run_source, test)))
        if fact:
            facts[test.test_id] = fact

    for pos, cell in enumerate(cells):
        if pos in replaced or pos in replaced_silently or cell.get("cell_type") != "code":
            continue
        source = SELF_CHECK_REMOVED if _is_self_check(cell) else cell_source(cell)
        keyed.append(((pos, 0, -1), RunCell(source)))
    keyed.sort(key=lambda pair: pair[0])
    return Restored([cell for _, cell in keyed], facts, notes)


def _is_edited(copy: dict, test: TestSpec) -> bool:
    """Does the student's copy differ from the released test (source, id or points)?"""
    meta = cell_meta(copy)
    try:
        same_points = float(meta.get("points")) == test.points
    except (TypeError, ValueError):
        same_points = False
    source = normalised(cell_source(copy))
    return (source not in (normalised(test.released_source), normalised(test.source))
            or _claimed_test(copy) != test.test_id or not same_points)
