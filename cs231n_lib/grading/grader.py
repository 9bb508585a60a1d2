"""``cs231n grade``: score every student's notebooks against the instructor notebooks.

    SUBMISSIONS/<student>/<notebook>.ipynb      (notebook names as in the source folder)

For each submission (in parallel, ``jobs`` at a time):

1. read it (``invalid`` if it is not a notebook of this assignment);
2. put the canonical tests back (restoring.py), hidden blocks included;
3. run it under nbval in a fresh kernel in a scratch folder (executing.py) as::

       [guard.install]  student cells ...  [guard.enter_test]  test  [guard.leave_test] ...

   where each test is *instrumented*: it prints a token when it enters and leaves a hidden
   block and when its last line has run;
4. score each test all or nothing: it earns its points if the cell raised nothing *and*
   printed its completion token (warnings on stderr cost nothing).

The status of a submission says how the run went, not how good the work is:

    ok        the notebook ran to its end (tests may have failed)
    timeout   a cell ran out of time (interrupted; later cells still ran), or the whole
              notebook did (killed; the cells not reached earn nothing)
    crashed   the kernel died (restarted: the cells that had passed ran again, and later
              cells were still scored), or the runner itself died
    memory    the notebook ran out of its memory limit
    invalid   not JSON, not a notebook, or a notebook of another assignment
    missing   the student's folder has no such notebook
    error     the grader could not run the notebook at all (e.g. the kernel did not start)
"""
from __future__ import annotations

import hashlib
import os
import secrets
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .executing import Limits, PrivateDir, RunOutcome, prepare_ipython_dir, run_cells
from .notebook_format import (BEGIN_HIDDEN, END_HIDDEN, FormatError, Layout, TestSpec, first_line,
                              imported_modules, instructor_layout, validate_instructor_notebook)
from .releasing import load_notebook_json
from .reports import write_feedback, write_grades
from .restoring import InvalidSubmission, Restored, read_submission, restore_tests

STATUSES = ("ok", "timeout", "crashed", "memory", "invalid", "missing", "error")
MESSAGE_CHARS = 400
GUARD = '__import__("cs231n_lib.grading.guard", fromlist=["guard"])'


@dataclass
class TestResult:
    __test__ = False     # not a pytest test class
    test_id: str
    points: float
    earned: float
    has_hidden: bool
    message: str = ""          # why it failed; empty for a pass and for a hidden failure
    failed_hidden: bool = False
    passed: bool = False


@dataclass
class SubmissionResult:
    student: str
    notebook: str
    status: str
    max_score: float
    tests: list[TestResult] = field(default_factory=list)
    restored: dict[str, list[str]] = field(default_factory=dict)   # test id -> facts
    details: list[str] = field(default_factory=list)               # how the run went
    seconds: float = 0.0             # wall clock of this submission, reading to scoring
    student_seconds: float = 0.0     # of which executing the student's own cells

    @property
    def score(self) -> float:
        return sum(t.earned for t in self.tests)

    @property
    def overhead_seconds(self) -> float:
        return self.seconds - self.student_seconds


# --------------------------------------------------------------------------------------------
# The notebook the grader runs
# --------------------------------------------------------------------------------------------
def instrument(test: TestSpec, nonce: str, cell: int) -> str:
    """The test's full source with completion tokens: one at each hidden marker (so that a
    failure can be placed in a public or a hidden block) and one after the last line."""
    def token(what: str, indent: str = "") -> str:
        return f"{indent}{GUARD}.mark({nonce!r}, {f'{cell}:{what}'!r})"

    source = test.run_source.splitlines()
    # A cell magic (%%...) and `from __future__` imports must stay first.
    head = 0
    while head < len(source) and source[head].startswith(("%%", "from __future__")):
        head += 1
    lines = source[:head] + [token("start")]
    for line in source[head:]:
        indent = line[: len(line) - len(line.lstrip())]
        if line.strip() == BEGIN_HIDDEN:
            lines.append(token("hidden", indent))
        elif line.strip() == END_HIDDEN:
            lines.append(token("public", indent))
        else:
            lines.append(line)
    lines.append(token("done"))
    return "\n".join(lines)


@dataclass
class RunPlan:
    sources: list[str]
    roles: list[str]                    # "prelude", "student", "enter", "test", "leave"
    tests: dict[int, TestSpec]          # run cell index -> test
    labels: list[str]                   # how feedback names each run cell


def plan_run(layout: Layout, restored: Restored, nonce: str, limits: Limits) -> RunPlan:
    modules = sorted({m for t in layout.tests for m in imported_modules(t.run_source)})
    plan = RunPlan([f"{GUARD}.install(modules={modules!r}, output_limit={limits.output_chars})"],
                   ["prelude"], {}, ["the grader's set-up cell"])
    student_cell = 0
    for cell in restored.cells:
        if cell.test is None:
            student_cell += 1
            plan.sources.append(cell.source)
            plan.roles.append("student")
            plan.labels.append(f"code cell {student_cell} (`{first_line(cell.source)}`)")
            continue
        index = len(plan.sources) + 1
        plan.sources += [f"{GUARD}.enter_test({nonce!r})", instrument(cell.test, nonce, index),
                         f"{GUARD}.leave_test()"]
        plan.roles += ["enter", "test", "leave"]
        plan.labels += ["", f"test {cell.test.test_id}", ""]
        plan.tests[index] = cell.test
    return plan


# --------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------
def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 1] + "…"


def score_run(plan: RunPlan, outcome: RunOutcome, limits: Limits) -> tuple[list[TestResult], list[str], str]:
    """Test results, details of the run, and the status."""
    results, details, faults = [], [], set()
    restored_names: set[str] = set()
    for index, record in sorted(outcome.records.items()):
        for token in record.tokens:
            if token.startswith("restored:"):
                restored_names.update(token[len("restored:"):].split(";"))
        if record.fault and index < len(plan.roles):
            faults.add(record.fault)
            label = plan.labels[index] or "a cell the grader added"
            details.append({"timeout": f"{label} ran out of time ({limits.cell_timeout:g} s per cell)",
                            "died": f"the kernel died in {label}",
                            "memory": f"{label} ran out of memory ({limits.memory_mb} MB)",
                            "start": "the kernel could not start"}[record.fault])
    if restored_names:
        details.append("the grader undid changes an earlier cell made to: " + ", ".join(sorted(restored_names)))
    if outcome.killed_at_limit:
        faults.add("timeout")
        details.append(f"the notebook was stopped after {limits.total_timeout:g} s in all; "
                       "cells not reached earn nothing")
    elif not outcome.finished and not outcome.records:
        faults.add("start")
        last = [line for line in outcome.log_tail.splitlines() if line.strip()][-1:] or ["no output"]
        details.append(f"the notebook could not be run: {_short(last[0])}")
        if "MemoryError" in outcome.log_tail:
            details.append(f"the memory limit ({limits.memory_mb} MB) is too small to start pytest and a kernel")
    elif not outcome.finished:
        faults.add("died")
        details.append("the notebook runner stopped unexpectedly; cells not reached earn nothing")
    if outcome.restarts:
        details.append(f"the kernel was restarted {outcome.restarts} time(s); cells that had passed "
                       "were run again first")
    if outcome.forged_lines:
        details.append(f"{outcome.forged_lines} forged result line(s) were ignored")
    details = list(dict.fromkeys(details))   # a kernel that never started fails every cell

    for index, test in plan.tests.items():
        record = outcome.records.get(index)
        result = TestResult(test.test_id, test.points, 0.0, test.has_hidden)
        if record is None:
            result.message = "not run: the notebook stopped before this test"
        elif record.fault == "timeout":
            result.message = f"ran out of time ({limits.cell_timeout:g} s)"
        elif record.fault == "died":
            result.message = "the kernel died while running this test"
        elif record.fault == "start":
            result.message = "not run: the kernel could not start"
        else:
            marks = [t.split(":", 1)[1] for t in record.tokens if t.split(":", 1)[0] == str(index)]
            if record.passed and "done" in marks:
                result.earned, result.passed = test.points, True
            elif record.passed:
                result.message = ("did not run to completion: an earlier cell changed how cells "
                                  "run or print")
            elif test.has_hidden and (not marks or marks[-1] not in ("start", "public")):
                # Failed in a hidden block, or where cannot be told: never say why, the message
                # could give the hidden test away.
                result.failed_hidden = True
            else:
                result.message = _short(f"{record.ename}: {record.evalue}" if record.evalue else record.ename)
        results.append(result)

    if "start" in faults:
        status = "error"
    elif "memory" in faults:
        status = "memory"
    elif "died" in faults:
        status = "crashed"
    elif "timeout" in faults:
        status = "timeout"
    else:
        status = "ok"
    return results, details, status


# --------------------------------------------------------------------------------------------
# One submission
# --------------------------------------------------------------------------------------------
def grade_notebook(layout: Layout, path: Path, student: str, limits: Limits, ipython_dir: Path) -> SubmissionResult:
    """Grade one submitted notebook against ``layout``; never raises.

    A run that ends in ``error`` (a kernel that could not start, say on a machine busy with
    the rest of the class) is tried once more before the row says so: the student's work was
    never judged, so a second attempt is fair, and its details say it happened."""
    start = time.monotonic()
    result = _grade_once(layout, path, student, limits, ipython_dir)
    if result.status == "error":
        first = "; ".join(result.details) or "error"
        result = _grade_once(layout, path, student, limits, ipython_dir)
        result.details.insert(0, f"graded a second time after: {first}")
    result.seconds = time.monotonic() - start
    return result


def _grade_once(layout: Layout, path: Path, student: str, limits: Limits, ipython_dir: Path) -> SubmissionResult:
    result = SubmissionResult(student, layout.name, "ok", layout.max_score)
    try:
        _grade_into(result, layout, path, limits, ipython_dir)
    except InvalidSubmission as exc:
        result.status, result.details = "invalid", [str(exc)]
    except Exception as exc:  # a grader bug must cost one row, not the whole class
        result.status = "error"
        result.details.append(f"grader error: {exc.__class__.__name__}: {exc}")
    if result.status in ("invalid", "error"):
        result.tests = [TestResult(t.test_id, t.points, 0.0, t.has_hidden, "not run") for t in layout.tests]
    return result


def _grade_into(result: SubmissionResult, layout: Layout, path: Path, limits: Limits, ipython_dir: Path) -> None:
    restored = restore_tests(layout, read_submission(path))
    result.restored = restored.facts
    result.details += restored.notes
    nonce = secrets.token_hex(8)
    plan = plan_run(layout, restored, nonce, limits)
    with PrivateDir() as private:
        outcome = run_cells(plan.sources, layout.name, limits, nonce, private, ipython_dir)
    result.tests, details, result.status = score_run(plan, outcome, limits)
    result.details += details
    result.student_seconds = sum(r.seconds for i, r in outcome.records.items()
                                 if i < len(plan.roles) and plan.roles[i] == "student")


# --------------------------------------------------------------------------------------------
# A class
# --------------------------------------------------------------------------------------------
def load_layouts(source: str | Path) -> dict[str, Layout]:
    """Layouts of all instructor notebooks of a folder (FormatError if one is broken)."""
    source = Path(source)
    if not source.is_dir():
        raise FormatError(f"{source}: no such folder of instructor notebooks")
    layouts = {}
    for path in sorted(source.glob("*.ipynb")):
        nb = load_notebook_json(path)
        validate_instructor_notebook(nb, path.name)
        layouts[path.name] = instructor_layout(nb, path.name)
    if not layouts:
        raise FormatError(f"{source}: no notebooks (*.ipynb) to grade against")
    return layouts


def _fingerprint(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.ipynb"))}


def plan_class(layouts: dict[str, Layout], submissions: Path):
    """(student, notebook name, path or None) for every submission to grade, plus warnings.

    Every expected notebook (a source notebook that at least one student handed in) gets a row
    per student, ``missing`` if absent; a notebook with a name the source does not have gets
    an ``invalid`` row, so that nothing handed in is silently left out."""
    students = sorted(p for p in submissions.iterdir() if p.is_dir() and not p.name.startswith("."))
    handed_in = {s.name: sorted(p for p in s.glob("*.ipynb") if p.is_file()) for s in students}
    expected = sorted({p.name for files in handed_in.values() for p in files if p.name in layouts})
    jobs = []
    for student in students:
        names = {p.name: p for p in handed_in[student.name]}
        for notebook in expected:
            jobs.append((student.name, notebook, names.get(notebook)))
        for name in sorted(set(names) - set(layouts)):
            jobs.append((student.name, name, names[name]))
    stray = sorted(p.name for p in submissions.glob("*.ipynb"))
    warnings = [f"{submissions / n}: not inside a student's folder, not graded" for n in stray]
    return jobs, warnings


def grade(source: str | Path, submissions: str | Path, out: str | Path = "grades.csv", *,
          timeout: float = 120.0, jobs: int | None = None, memory_mb: int = 4096,
          total_timeout: float = 1800.0, feedback: str | Path | None = None,
          progress=None) -> list[SubmissionResult]:
    """Grade ``submissions/<student>/<notebook>.ipynb`` against the notebooks of ``source``.

    Inputs:
    - source: folder of instructor notebooks (solutions and hidden tests).
    - submissions: folder with one sub-folder per student.
    - out: the CSV to write (student, notebook, status, score, max_score, one column per test,
      restored, details).
    - timeout: seconds per cell; total_timeout: seconds per notebook; memory_mb: 0 for no cap.
    - jobs: submissions graded at once (default: all CPU cores).
    - feedback: folder for ``<student>/<notebook>.md`` (default: ``feedback/`` beside ``out``).
    - progress: called with each SubmissionResult as it is done (the CLI prints a line).

    Returns one SubmissionResult per row of the CSV. Raises FormatError for a broken source.
    """
    source, submissions, out = Path(source), Path(submissions), Path(out)
    layouts = load_layouts(source)
    if not submissions.is_dir():
        raise FormatError(f"{submissions}: no such folder of submissions")
    before = _fingerprint(source)
    todo, warnings = plan_class(layouts, submissions)
    limits = Limits(cell_timeout=timeout, total_timeout=total_timeout, memory_mb=memory_mb)
    for warning in warnings:
        print("warning:", warning, file=sys.stderr)

    with PrivateDir("cs231n-ipython-") as shared:
        ipython_dir = prepare_ipython_dir(shared)

        def one(job) -> SubmissionResult:
            student, notebook, path = job
            if notebook not in layouts:
                result = SubmissionResult(student, notebook, "invalid", 0.0, details=[
                    f"{notebook} is not a notebook of this assignment (expected one of: "
                    f"{', '.join(layouts)})"])
            elif path is None:
                layout = layouts[notebook]
                result = SubmissionResult(student, notebook, "missing", layout.max_score,
                                          [TestResult(t.test_id, t.points, 0.0, t.has_hidden, "not handed in")
                                           for t in layout.tests], details=["not handed in"])
            else:
                result = grade_notebook(layouts[notebook], path, student, limits, ipython_dir)
            if progress is not None:
                progress(result)
            return result

        with ThreadPoolExecutor(max_workers=max(1, jobs or os.cpu_count() or 1)) as pool:
            results = list(pool.map(one, todo))

    if _fingerprint(source) != before:
        print(f"warning: a notebook in {source} changed while grading (a submission wrote to it?); "
              "grades used the copies read before any submission ran", file=sys.stderr)
    write_grades(out, results, layouts)
    write_feedback(Path(feedback) if feedback else out.parent / "feedback", results)
    return results


__all__ = ["grade", "grade_notebook", "SubmissionResult", "TestResult", "STATUSES", "Limits"]
