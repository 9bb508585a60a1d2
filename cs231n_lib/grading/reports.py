"""What the grader writes: ``grades.csv`` and one feedback file per student and notebook.

Feedback names every test, its points and whether it passed; for a failed test whose failing
line is public it quotes the error (the student has that code anyway). A failure inside a hidden
block is reported as such, with nothing else: no code, no message (an assertion message or a
value in it could give the hidden test away).
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

from .notebook_format import Layout, format_points

FIXED_COLUMNS = ["student", "notebook", "status", "score", "max_score"]


def _points(value: float) -> str:
    return format_points(float(value))


def test_columns(layouts: dict[str, Layout]) -> list[tuple[str, str, str]]:
    """(column name, notebook, test id) in a stable order: notebooks by name, tests in notebook
    order. A test id used by two notebooks gets the notebook name as a prefix."""
    pairs = [(name, t.test_id) for name, layout in sorted(layouts.items()) for t in layout.tests]
    seen: dict[str, int] = {}
    for _, test_id in pairs:
        seen[test_id] = seen.get(test_id, 0) + 1
    return [(f"{nb}:{tid}" if seen[tid] > 1 else tid, nb, tid) for nb, tid in pairs]


def restored_text(facts: dict[str, list[str]]) -> str:
    return "; ".join(f"{test_id} {'+'.join(f)}" for test_id, f in facts.items())


def write_grades(path: Path, results, layouts: dict[str, Layout]) -> None:
    """One row per submission, sorted by student then notebook; written atomically."""
    graded = {r.notebook for r in results}
    columns = test_columns({name: layout for name, layout in layouts.items() if name in graded})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(FIXED_COLUMNS + [c for c, _, _ in columns] + ["restored", "details"])
        for r in sorted(results, key=lambda r: (r.student, r.notebook)):
            earned = {t.test_id: t.earned for t in r.tests}
            row = [r.student, r.notebook, r.status, _points(r.score), _points(r.max_score)]
            row += [_points(earned[tid]) if nb == r.notebook and tid in earned else ""
                    for _, nb, tid in columns]
            row += [restored_text(r.restored), " | ".join(r.details)]
            writer.writerow(row)
    os.replace(tmp, path)


def feedback_text(r) -> str:
    """The Markdown feedback of one submission."""
    lines = [f"# {r.notebook} — {r.student}", "",
             f"**Score: {_points(r.score)} / {_points(r.max_score)} points** (status: {r.status})", ""]
    if r.tests:
        lines += ["| test | points | result |", "|---|---|---|"]
        for t in r.tests:
            if t.passed:
                outcome = "passed"
            elif t.failed_hidden:
                outcome = "failed (hidden checks)"
            else:
                outcome = "failed"
            lines.append(f"| {t.test_id} | {_points(t.earned)} / {_points(t.points)} | {outcome} |")
        lines.append("")
    reasons = [t for t in r.tests if not t.passed and t.message]
    if reasons:
        lines += ["## Why tests failed", ""]
        lines += [f"- **{t.test_id}**: `{t.message.replace('`', chr(39))}`" for t in reasons]
        lines.append("")
    if r.restored:
        lines += ["## Test cells the grader put back", "",
                  "Test cells are graded as the instructor wrote them, wherever they were in your notebook:", ""]
        lines += [f"- {test_id}: {', '.join(facts)}" for test_id, facts in r.restored.items()]
        lines.append("")
    if r.details:
        lines += ["## How the run went", ""] + [f"- {d}" for d in r.details] + [""]
    if any(t.has_hidden for t in r.tests):
        lines += ["Some tests include hidden checks, run only when grading: their results are "
                  "shown, not their code.", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _safe(name: str) -> str:
    """A student or notebook name as one path component."""
    return "".join(c if c.isalnum() or c in "-_.@+ " else "_" for c in name).strip(". ") or "_"


def write_feedback(folder: Path, results) -> None:
    for r in results:
        target = folder / _safe(r.student) / (_safe(Path(r.notebook).stem) + ".md")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(feedback_text(r), encoding="utf-8")
