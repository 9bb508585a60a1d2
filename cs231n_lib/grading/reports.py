"""What the grader writes: ``grades.csv`` and one feedback file per student and notebook.

Feedback names every test, its points and whether it passed; for a failed test whose failing
line is public it quotes the error (the student has that code anyway), escaped and shortened. A
failure inside a hidden block says "a hidden check failed", with nothing else: no code, no
message (an assertion message or a value in it could give the hidden test away).

Every string that a student controls (folder and file names, a test id a cell claims, the
first line of a cell, an exception's message, whatever a kernel prints) goes through one
function before it is written: ``plain`` for the CSV (one line of visible characters) and
``inert`` for the Markdown feedback (``plain``, shortened, and every character that Markdown
or HTML would act on escaped), so nothing in it becomes markup, a link or a table cell.

``GradesWriter`` rewrites ``grades.csv`` each time a submission is done, atomically (a temporary
file, then ``os.replace``): a grader that is killed leaves every finished row, and
``grade(..., resume=True)`` grades only the rest. ``merge`` joins the CSVs of shards.
"""
from __future__ import annotations

import csv
import json
import os
import re
import threading
from pathlib import Path

from .collecting import feedback_name
from .notebook_format import Layout, format_points

FIXED_COLUMNS = ["student", "notebook", "status", "score", "max_score"]
MESSAGE_CHARS = 400               # the longest message quoted in feedback
SHARD_SUFFIX = ".shard.json"      # beside a shard's CSV: which shard, which rows it must have


# --------------------------------------------------------------------------------------------
# Student-controlled text
# --------------------------------------------------------------------------------------------
def plain(text: str) -> str:
    """One line of visible text: whitespace runs (newlines included) become one space;
    invisible or unencodable characters (control characters, bidirectional overrides, lone
    surrogates) become escapes like ``\\x1e`` or ``\\u202e``."""
    out = []
    for c in " ".join(str(text).split()):
        if c.isprintable() and not 0xD800 <= ord(c) <= 0xDFFF:
            out.append(c)
        else:
            out.append(c.encode("unicode_escape").decode("ascii") if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
    return "".join(out)


# What Markdown acts on in the middle of a line (our strings never start one): code spans,
# emphasis, links and images, table cells, strikethrough, and the escape character itself.
_MARKDOWN = re.compile(r"([\\`*_\[\]|~])")
_AUTOLINK = re.compile(r"(?i):(?=//)|\bwww\.")


def inert(text: str, limit: int = MESSAGE_CHARS) -> str:
    """``text`` as Markdown that shows exactly these characters: ``plain``, at most ``limit``
    characters, then ``& < >`` as HTML entities, Markdown's punctuation backslash-escaped, and
    the ``:`` of ``://`` and the ``.`` of ``www.`` too (no bare URL becomes a link)."""
    text = plain(text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKDOWN.sub(r"\\\1", text)
    # GitHub-flavoured renderers turn bare URLs into links: break what they look for.
    return _AUTOLINK.sub(lambda m: m.group(0)[:-1] + "\\" + m.group(0)[-1], text)


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


def header(columns) -> list[str]:
    return FIXED_COLUMNS + [c for c, _, _ in columns] + ["restored", "details"]


def grade_row(r, columns) -> list[str]:
    """The CSV row of one SubmissionResult."""
    earned = {t.test_id: t.earned for t in r.tests}
    row = [plain(r.student), plain(r.notebook), r.status, _points(r.score), _points(r.max_score)]
    row += [_points(earned[tid]) if nb == r.notebook and tid in earned else "" for _, nb, tid in columns]
    return row + [plain(restored_text(r.restored)), plain(" | ".join(r.details))]


def write_csv(path: Path, head: list[str], rows) -> None:
    """Rows sorted by student then notebook, written atomically (never half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8", errors="backslashreplace") as f:
        writer = csv.writer(f)
        writer.writerow(head)
        writer.writerows(sorted(rows, key=lambda row: (row[0], row[1])))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8", errors="backslashreplace") as f:
        rows = list(csv.reader(f))
    return (rows[0], rows[1:]) if rows else ([], [])


class GradesWriter:
    """``grades.csv`` and the feedback files, written as each submission is done.

    Inputs:
    - path: the CSV; columns: from ``test_columns``.
    - feedback: the feedback folder.
    - kept: rows of an earlier run (``resume``), kept as they are.
    """

    def __init__(self, path: Path, columns, feedback: Path, kept: dict | None = None):
        self.path, self.columns, self.feedback = path, columns, feedback
        self.head = header(columns)
        self.rows: dict[tuple[str, str], list[str]] = dict(kept or {})
        self.lock = threading.Lock()

    def add(self, result) -> None:
        with self.lock:
            self.rows[(plain(result.student), plain(result.notebook))] = grade_row(result, self.columns)
            write_feedback(self.feedback, [result])
            write_csv(self.path, self.head, self.rows.values())

    def finish(self) -> None:
        with self.lock:
            write_csv(self.path, self.head, self.rows.values())


def feedback_text(r) -> str:
    """The Markdown feedback of one submission (every name and message through ``inert``)."""
    lines = [f"# {inert(r.notebook)} — {inert(r.student)}", "",
             f"**Score: {_points(r.score)} / {_points(r.max_score)} points** (status: {r.status})", ""]
    if r.tests:
        lines += ["| test | points | result |", "|---|---|---|"]
        for t in r.tests:
            if t.passed:
                outcome = "passed"
            elif t.failed_hidden:
                outcome = "failed: a hidden check failed"
            else:
                outcome = "failed"
            lines.append(f"| {inert(t.test_id)} | {_points(t.earned)} / {_points(t.points)} | {outcome} |")
        lines.append("")
    reasons = [t for t in r.tests if not t.passed and t.message]
    if reasons:
        lines += ["## Why tests failed", ""]
        lines += [f"- **{inert(t.test_id)}**: {inert(t.message)}" for t in reasons]
        lines.append("")
    if r.restored:
        lines += ["## Test cells the grader put back", "",
                  "Test cells are graded as the instructor wrote them, wherever they were in your notebook:", ""]
        lines += [f"- {inert(test_id)}: {inert(', '.join(facts))}" for test_id, facts in r.restored.items()]
        lines.append("")
    if r.details:
        lines += ["## How the run went", ""] + [f"- {inert(d, 2 * MESSAGE_CHARS)}" for d in r.details] + [""]
    if any(t.has_hidden for t in r.tests):
        lines += ["Some tests include hidden checks, run only when grading: their results are "
                  "shown, not their code.", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def write_feedback(folder: Path, results) -> None:
    for r in results:
        target = folder / feedback_name(plain(r.student), plain(r.notebook))
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(feedback_text(r), encoding="utf-8", errors="backslashreplace")
        os.replace(tmp, target)


# --------------------------------------------------------------------------------------------
# Shards
# --------------------------------------------------------------------------------------------
def shard_file(csv_path: Path) -> Path:
    return csv_path.with_name(csv_path.name + SHARD_SUFFIX)


def write_shard_plan(csv_path: Path, shard: tuple[int, int], keys) -> None:
    """Beside a shard's CSV: which shard it is and the rows it must hold once complete."""
    target = shard_file(csv_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(json.dumps({"shard": shard[0], "of": shard[1], "rows": sorted(map(list, keys))},
                              ensure_ascii=True, indent=0), encoding="utf-8")
    os.replace(tmp, target)


def merge(paths, out: Path) -> list[str]:
    """Join shard CSVs into ``out``; the problems found (nothing is written if there are any).

    Checks: the same columns everywhere; no row twice; every student with a row for every
    notebook the others have; and, where a shard's plan lies beside its CSV (``grade
    --shard`` writes one), every shard 1..N there once, each with all of its planned rows."""
    paths = [Path(p) for p in paths]
    problems, head, rows = [], None, {}
    plans = []
    for path in paths:
        this_head, these = read_csv(path)
        if not this_head:
            problems.append(f"{path}: empty (no header)")
            continue
        if head is None:
            head = this_head
        elif this_head != head:
            problems.append(f"{path}: other columns than {paths[0]} (graded against another source?)")
            continue
        for row in these:
            key = (row[0], row[1])
            if key in rows:
                problems.append(f"duplicate row {key[0]}/{key[1]}: in {rows[key][0]} and {path}")
            else:
                rows[key] = (path, row)
        plan_path = shard_file(path)
        if plan_path.exists():
            plan = json.loads(plan_path.read_text(encoding="utf-8"))
            plans.append(plan)
            missing = {tuple(k) for k in plan["rows"]} - {(r[0], r[1]) for r in these}
            if missing:
                listed = ", ".join(f"{s}/{n}" for s, n in sorted(missing)[:10])
                problems.append(f"{path}: shard {plan['shard']}/{plan['of']} is missing {len(missing)} "
                                f"row(s) ({listed}{', ...' if len(missing) > 10 else ''}): "
                                "was it stopped? Rerun it with --resume")
    if plans:
        without = [str(p) for p in paths if not shard_file(p).exists()]
        if without:
            problems.append("some CSVs have a shard plan beside them and others do not: " + ", ".join(without))
        counts = {plan["of"] for plan in plans}
        if len(counts) > 1:
            problems.append(f"the shards were cut in different numbers of parts: {sorted(counts)}")
        else:
            (n,) = counts
            got = sorted(plan["shard"] for plan in plans)
            absent = sorted(set(range(1, n + 1)) - set(got))
            twice = sorted({k for k in got if got.count(k) > 1})
            if absent:
                problems.append(f"shard(s) {', '.join(f'{k}/{n}' for k in absent)} missing")
            if twice:
                problems.append(f"shard(s) {', '.join(f'{k}/{n}' for k in twice)} given twice")
    notebooks: dict[str, set[str]] = {}
    for (student, notebook), (_, row) in rows.items():
        if row[2] != "invalid":
            notebooks.setdefault(student, set()).add(notebook)
    everyone = set().union(*notebooks.values()) if notebooks else set()
    for student, have in sorted(notebooks.items()):
        for notebook in sorted(everyone - have):
            problems.append(f"missing row {student}/{notebook}")
    if not problems and head is not None:
        write_csv(Path(out), head, [row for _, row in rows.values()])
    return problems
