"""``cs231n grade``: score every student's notebooks against the instructor notebooks.

    SUBMISSIONS/<student>/<notebook>.ipynb      (notebook names as in the source folder)

First, before any student code runs, every notebook to grade is copied into the grader's
private folder (collecting.py: links and anything else not plainly handed in are refused).
Then for each submission (in parallel, ``jobs`` at a time):

1. read it (``invalid`` if it is not a notebook of this assignment);
2. put the canonical tests back (restoring.py), hidden blocks included;
3. run it under nbval with a fresh kernel (executing.py), sandboxed where bubblewrap can run
   (sandbox.py), as::

       [guard.install]  student cells ...  [guard.enter_test]  test  [guard.leave_test] ...

   where each test is *instrumented*: it prints a token when it enters and leaves a hidden
   block and when its last line has run;
4. score each test all or nothing: it earns its points if the cell raised nothing, printed
   its completion token (warnings on stderr cost nothing) *and* the check after it found
   nothing the tests rely on changed while it ran, and no library function it forbids called
   by the student's code;
5. write its row into the grades (rewritten atomically after every submission, so a grader
   that is stopped keeps what it finished; ``resume`` grades only the rest) and its feedback.

The status of a submission says how the run went, not how good the work is:

    ok        the notebook ran to its end (tests may have failed)
    tampered  it ran to its end, but something the tests rely on (a library function, NumPy,
              IPython's machinery) changed while a test ran: that test earns nothing, and the
              details say what changed, for the instructor to review
    timeout   a cell ran out of time (interrupted; later cells still ran), or the whole
              notebook did (killed; the cells not reached earn nothing)
    crashed   the kernel died (restarted: the cells that had passed ran again, and later
              cells were still scored), or the runner itself died
    memory    the notebook ran out of its memory limit
    invalid   not JSON, not a notebook, or a notebook of another assignment
    missing   the student's folder has no such notebook
    refused   not graded because of how it was handed in: a symbolic link (folder or
              notebook), not a regular file, or the instructor's notebook file itself
    error     the grader could not run the notebook at all (e.g. the kernel did not start)
"""
from __future__ import annotations

import hashlib
import os
import secrets
import signal
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import sandbox as sandboxing
from .collecting import Job, collect
from .executing import (CellRecord, Limits, PrivateDir, RunOutcome, prepare_ipython_dir, remove_stale, resume_runs,
                        run_cells, stop_all, stopping)
from .notebook_format import (BEGIN_HIDDEN, END_HIDDEN, FormatError, Layout, TestSpec, first_line,
                              imported_modules, instructor_layout, split_blocks, validate_instructor_notebook)
from .releasing import load_notebook_json
from .reports import (MESSAGE_CHARS, GradesWriter, header, plain, read_csv, test_columns,
                      write_shard_plan)
from .restoring import InvalidSubmission, Restored, read_submission, restore_tests

STATUSES = ("ok", "tampered", "timeout", "crashed", "memory", "invalid", "missing", "refused", "error")
GUARD = '__import__("cs231n_lib.grading.guard", fromlist=["guard"])'
SECRET_MIN_CHARS = 8     # a hidden line or string this long is never quoted back to a student


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
    quoted: bool = False       # the message quotes the notebook's own exception


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

    @classmethod
    def from_row(cls, row: dict, layout: Layout | None) -> "SubmissionResult":
        """A row of grades.csv read back (``resume``): points per test, facts and details; the
        messages of failed tests are in the feedback file already written."""
        result = cls(row["student"], row["notebook"], row["status"], float(row["max_score"] or 0))
        for t in layout.tests if layout is not None and row["status"] != "invalid" else []:
            value = row.get(t.test_id, row.get(f"{layout.name}:{t.test_id}", "")) or "0"
            result.tests.append(TestResult(t.test_id, t.points, float(value), t.has_hidden,
                                           passed=float(value) == t.points))
        for part in filter(None, row.get("restored", "").split("; ")):
            test_id, _, facts = part.partition(" ")
            result.restored[test_id] = facts.split("+")
        result.details = [d for d in row.get("details", "").split(" | ") if d]
        return result


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
    secrets: frozenset[str] = frozenset()   # hidden text no message may quote (hidden_text)


def hidden_text(tests) -> frozenset[str]:
    """The lines and string literals of hidden blocks (at least SECRET_MIN_CHARS long, and not
    also in a public part): a failure message quoting one of them is not shown, wherever the
    failure seems to be (code that read the hidden source could raise it in a public check)."""
    import ast

    public, hidden = set(), set()
    for test in tests:
        for block in split_blocks(test.source, BEGIN_HIDDEN, END_HIDDEN, "hidden"):
            lines = {" ".join(line.split()) for line in block.lines}
            (hidden if block.kind == "hidden" else public).update(lines)
            if block.kind == "hidden":
                try:
                    tree = ast.parse(textwrap.dedent("\n".join(block.lines)))
                except SyntaxError:
                    continue
                hidden.update(" ".join(node.value.split()) for node in ast.walk(tree)
                              if isinstance(node, ast.Constant) and isinstance(node.value, str))
    return frozenset(t for t in hidden - public if len(t) >= SECRET_MIN_CHARS)


def plan_run(layout: Layout, restored: Restored, nonce: str, limits: Limits) -> RunPlan:
    # Imported by the first cell, so that their pristine functions are in the guard's snapshot.
    modules = sorted({m for t in layout.tests for m in imported_modules(t.run_source)}
                     | {module for _, module, _ in layout.bindings})
    plan = RunPlan([f"{GUARD}.install(modules={modules!r}, output_limit={limits.output_chars})"],
                   ["prelude"], {}, ["the grader's set-up cell"], hidden_text(layout.tests))
    student_cell = 0
    for cell in restored.cells:
        if cell.test is None:
            student_cell += 1
            plan.sources.append(cell.source)
            plan.roles.append("student")
            plan.labels.append(f'code cell {student_cell} ("{first_line(cell.source)}")')
            continue
        index = len(plan.sources) + 1
        plan.sources += [f"{GUARD}.enter_test({nonce!r}, {layout.bindings!r}, {cell.test.forbid!r})",
                         instrument(cell.test, nonce, index), f"{GUARD}.leave_test({nonce!r})"]
        plan.roles += ["enter", "test", "leave"]
        plan.labels += ["", f"test {cell.test.test_id}", ""]
        plan.tests[index] = cell.test
    return plan


# --------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------
def _short(text: str) -> str:
    """Student-controlled text (an error message, a kernel's output) as one short plain line."""
    text = plain(text)
    return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 1] + "…"


def _quotes_hidden(message: str, secrets: frozenset[str]) -> bool:
    flat = " ".join(message.split())
    return any(secret in flat for secret in secrets)


def score_run(plan: RunPlan, outcome: RunOutcome, limits: Limits) -> tuple[list[TestResult], list[str], str]:
    """Test results, details of the run, and the status."""
    results, details, faults = [], [], set()
    restored_names: set[str] = set()
    faulty: dict[str, list[str]] = {}    # fault -> the labels of the cells it hit, in order
    for index, record in sorted(outcome.records.items()):
        for token in record.tokens:
            if token.startswith("restored:"):
                restored_names.update(_short(name) for name in token[len("restored:"):].split(";"))
        if record.fault and index < len(plan.roles):
            faults.add(record.fault)
            faulty.setdefault(record.fault, []).append(plan.labels[index] or "a cell the grader added")
    if "start" in faulty:
        faulty.pop("died", None)          # the restarts that followed failed the same way
    for fault, labels in faulty.items():
        # The first cell hit says what happened; the rest are counted (a kernel that could not
        # start, or died for good, fails every later cell the same way).
        first = labels[0]
        more = f" (and {len(labels) - 1} later cell{'s' * (len(labels) > 2)})" if len(labels) > 1 else ""
        details.append({"timeout": f"{first} ran out of time ({limits.cell_timeout:g} s per cell){more}",
                        "died": f"the kernel died in {first}{more}",
                        "memory": f"{first} ran out of memory ({limits.memory_mb} MB){more}",
                        "start": "the kernel could not start"}[fault])
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

    tampered = []
    for index, test in plan.tests.items():
        record = outcome.records.get(index)
        result = TestResult(test.test_id, test.points, 0.0, test.has_hidden)
        found, references = _left(outcome.records.get(index + 1), record)
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
            if references:
                result.message = (f"calls {', '.join(references)}, the library's own answer: "
                                  "this exercise must be solved by your own code")
            elif record.passed and "done" in marks and found:
                # Passed, but what the test relies on changed while it ran: not a verdict.
                result.message = "not scored: the code it called changed how tests judge"
                tampered.append(f"{test.test_id}: {', '.join(found)}")
            elif record.passed and "done" in marks:
                result.earned, result.passed = test.points, True
            elif record.passed:
                result.message = ("did not run to completion: an earlier cell changed how cells "
                                  "run or print")
            elif test.has_hidden and (not marks or "hidden" in marks) or \
                    _quotes_hidden(f"{record.ename}: {record.evalue}", plan.secrets):
                # Failed in or after a hidden block, or where cannot be told (student code can
                # print tokens too, but cannot take back a hidden mark), or with a message that
                # quotes hidden code: never say why, the message could give the test away.
                result.failed_hidden = True
            else:
                result.message = _short(f"{record.ename}: {record.evalue}" if record.evalue else record.ename)
                result.quoted = True
        results.append(result)

    if tampered:
        details.append("changed while a test ran (the test earns nothing; for the instructor to "
                       "review): " + "; ".join(tampered))
    if "start" in faults:
        status = "error"
    elif "memory" in faults:
        status = "memory"
    elif "died" in faults:
        status = "crashed"
    elif "timeout" in faults:
        status = "timeout"
    elif tampered:
        status = "tampered"
    else:
        status = "ok"
    return results, details, status


def _left(record: CellRecord | None, test: CellRecord | None) -> tuple[list[str], list[str]]:
    """What the check after a test found (``guard.leave_test``): (what changed while the test
    ran, the forbidden functions the student's code called). A check that ran but did not
    report, after a test that ran, counts as a change: student code stopped it."""
    if test is None or test.fault or record is None:
        return [], []      # the test or the run did not finish: said elsewhere
    left = [t[len("left:"):] for t in record.tokens if t.startswith("left:")]
    if not left:
        return ["the grader's check after the test did not report"], []
    parts = [_short(p) for p in left[-1].split(";") if p]
    return ([p for p in parts if not p.startswith("reference:")],
            [p[len("reference:"):] for p in parts if p.startswith("reference:")])


# --------------------------------------------------------------------------------------------
# One submission
# --------------------------------------------------------------------------------------------
def grade_notebook(layout: Layout, path: Path, student: str, limits: Limits, ipython_dir: Path,
                   private: Path | None = None, sandbox: sandboxing.Sandbox | None = None,
                   protections: str | None = None) -> SubmissionResult:
    """Grade one submitted notebook against ``layout``; never raises.

    Inputs: ``private``, the folder its run's private folder goes into (default: the system's
    temporary folder); ``sandbox``, where its kernel runs (None: a plain process), and
    ``protections``, the sentence saying which protections are off without one, for its details.

    A run that ends in ``error`` (a kernel that could not start, say on a machine busy with
    the rest of the class) is tried once more before the row says so: the student's work was
    never judged, so a second attempt is fair, and its details say it happened."""
    start = time.monotonic()
    args = (layout, path, student, limits, ipython_dir, private, sandbox)
    result = _grade_once(*args)
    if result.status == "error" and not stopping():
        first = "; ".join(result.details) or "error"
        result = _grade_once(*args)
        result.details.insert(0, f"graded a second time after: {first}")
    if protections and result.status not in ("invalid", "refused"):
        result.details.append(protections)
    result.seconds = time.monotonic() - start
    return result


def _grade_once(layout: Layout, path: Path, student: str, limits: Limits, ipython_dir: Path,
                private: Path | None, sandbox) -> SubmissionResult:
    result = SubmissionResult(student, layout.name, "ok", layout.max_score)
    try:
        _grade_into(result, layout, path, limits, ipython_dir, private, sandbox)
    except InvalidSubmission as exc:
        result.status, result.details = "invalid", [str(exc)]
    except Exception as exc:  # a grader bug must cost one row, not the whole class
        result.status = "error"
        result.details.append(f"grader error: {exc.__class__.__name__}: {exc}")
    if result.status in ("invalid", "error"):
        result.tests = [TestResult(t.test_id, t.points, 0.0, t.has_hidden, "not run") for t in layout.tests]
    return result


def _grade_into(result: SubmissionResult, layout: Layout, path: Path, limits: Limits, ipython_dir: Path,
                private: Path | None, sandbox) -> None:
    submission = read_submission(path)
    restored = restore_tests(layout, submission)
    result.restored = restored.facts
    result.details += restored.notes
    plan, outcome = _run(layout, restored, limits, ipython_dir, private, sandbox)
    result.tests, details, result.status = score_run(plan, outcome, limits)
    result.details += details
    result.student_seconds = sum(r.seconds for i, r in outcome.records.items()
                                 if i < len(plan.roles) and plan.roles[i] == "student")
    exposed = _exposed(plan, result.tests)
    if exposed:
        # Once a hidden block has run, student code may hold its text and could raise it, in
        # any encoding, in a later public failure. Those failures are explained by a second
        # run with no hidden block anywhere (as the self-check runs): its messages cannot carry
        # what that kernel never had.
        public = layout.public_only()
        plan, outcome = _run(public, restore_tests(public, submission), limits, ipython_dir, private, sandbox)
        again = {t.test_id: t for t in score_run(plan, outcome, limits)[0]}
        for test in exposed:
            twin = again.get(test.test_id)
            test.message = twin.message if twin is not None and twin.quoted else UNEXPLAINED


UNEXPLAINED = "failed (its message is not shown: it was raised after hidden checks had run)"


def _run(layout: Layout, restored: Restored, limits: Limits, ipython_dir: Path, private: Path | None,
         sandbox) -> tuple[RunPlan, RunOutcome]:
    nonce = secrets.token_hex(8)
    plan = plan_run(layout, restored, nonce, limits)
    with PrivateDir("run-", parent=private) as run_dir:
        return plan, run_cells(plan.sources, layout.name, limits, nonce, run_dir, ipython_dir, sandbox)


def _exposed(plan: RunPlan, results: list[TestResult]) -> list[TestResult]:
    """The failed tests whose message quotes the notebook after a hidden block had run (in an
    earlier test, or in the test itself)."""
    first_hidden = min((i for i, t in plan.tests.items() if t.has_hidden), default=None)
    if first_hidden is None:
        return []
    by_id = {t.test_id: i for i, t in plan.tests.items()}
    return [r for r in results if r.quoted and by_id[r.test_id] >= first_hidden]


def unrun_result(layout: Layout | None, job: Job) -> SubmissionResult:
    """The row of a notebook that is not run: missing, refused, or not of this assignment."""
    if layout is None:
        return SubmissionResult(job.student, job.notebook, job.status, 0.0, details=[job.reason])
    words = {"missing": "not handed in", "refused": "refused", "invalid": "not run"}[job.status]
    return SubmissionResult(job.student, job.notebook, job.status, layout.max_score,
                            [TestResult(t.test_id, t.points, 0.0, t.has_hidden, words) for t in layout.tests],
                            details=[job.reason])


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


class GradingStopped(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped ``grade``: the runs in progress were ended, their rows not
    written; the rows finished before are in the CSV (``resume`` grades the rest)."""

    def __init__(self, signum: int):
        super().__init__(f"grading stopped by {signal.Signals(signum).name}")
        self.signum = signum


@contextmanager
def _stopped_by_signals():
    """While grading: SIGINT and SIGTERM end every run, then stop ``grade`` (GradingStopped);
    the private folders go as the ``with`` blocks unwind. Only the main thread can install
    handlers; elsewhere ``grade`` runs without (the atexit clean-up still holds)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        stop_all()
        raise GradingStopped(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _Cancelled(Exception):
    """A run ended by stop_all: its result is not a grade."""


def _resumed_rows(out: Path, head: list[str], jobs: list[Job]) -> dict:
    """The rows of an earlier run of the same class in ``out`` (for ``resume``)."""
    if not out.exists():
        return {}
    old_head, rows = read_csv(out)
    if old_head != head:
        raise FormatError(f"cannot resume: {out} has other columns than this class would get "
                          "(another source, or another shard?); grade without resume or into another file")
    wanted = {job.key for job in jobs}
    return {(row[0], row[1]): row for row in rows if (row[0], row[1]) in wanted and len(row) == len(head)}


def grade(source: str | Path, submissions: str | Path, out: str | Path = "grades.csv", *,
          timeout: float = 120.0, jobs: int | None = None, memory_mb: int = 4096,
          total_timeout: float = 1800.0, feedback: str | Path | None = None,
          progress=None, shard: tuple[int, int] | None = None, resume: bool = False,
          sandbox: str = "auto") -> list[SubmissionResult]:
    """Grade ``submissions/<student>/<notebook>.ipynb`` against the notebooks of ``source``.

    Inputs:
    - source: folder of instructor notebooks (solutions and hidden tests).
    - submissions: folder with one sub-folder per student.
    - out: the CSV to write (student, notebook, status, score, max_score, one column per test,
      restored, details), rewritten as each submission is done.
    - timeout: seconds per cell; total_timeout: seconds per notebook; memory_mb: 0 for no cap.
    - jobs: submissions graded at once (default: all CPU cores).
    - feedback: folder for ``<student>/<notebook>.md`` (default: ``feedback/`` beside ``out``).
    - progress: called with each SubmissionResult as it is done (the CLI prints a line).
    - shard: (K, N) to grade only the student folders of shard K of N (collecting.shard_of);
      a plan of its rows is written beside ``out`` for ``merge``.
    - resume: keep the rows already in ``out`` (from a run that was stopped), grade the rest.
    - sandbox: "auto" (bubblewrap where it runs), "require" (FormatError where it does not) or
      "off".

    Returns one SubmissionResult per row of the CSV. Raises FormatError for a broken source,
    GradingStopped on SIGINT or SIGTERM.
    """
    source, submissions, out = Path(source), Path(submissions), Path(out)
    layouts = load_layouts(source)
    if not submissions.is_dir():
        raise FormatError(f"{submissions}: no such folder of submissions")
    box, protections = sandboxing.current() if sandbox != "off" else (None, sandboxing.PROTECTIONS_OFF.format(
        why="turned off by the grader's options"))
    if box is None and sandbox == "require":
        raise FormatError(f"the sandbox is required, but {protections}")
    feedback = Path(feedback) if feedback else out.parent / "feedback"
    for what, path in (("instructor notebooks", source), ("submissions", submissions), ("grades", out.parent),
                       ("feedback", feedback)):
        seen_through = box.exposes(path) if box is not None else None
        if seen_through is not None:
            note = f"the sandbox shows {seen_through} to every kernel, read-only, and the {what} are in it"
            protections = f"{protections}; {note}" if protections else note
    if protections:
        print(f"warning: {protections}", file=sys.stderr)
    limits = Limits(cell_timeout=timeout, total_timeout=total_timeout, memory_mb=memory_mb)
    before = _fingerprint(source)
    resume_runs()
    remove_stale()

    with _stopped_by_signals(), PrivateDir("cs231n-grade-") as private:
        (private / "inbox").mkdir()
        todo, expected, warnings = collect(layouts, submissions, private / "inbox", shard,
                                           sorted(source.glob("*.ipynb")))
        for warning in warnings:
            print("warning:", warning, file=sys.stderr)
        columns = test_columns({name: layouts[name] for name in expected})
        kept = _resumed_rows(out, header(columns), todo) if resume else {}
        writer = GradesWriter(out, columns, feedback, kept)
        if shard is not None:
            write_shard_plan(out, shard, [(plain(j.student), plain(j.notebook)) for j in todo])
        writer.finish()       # the header (and any kept rows) at once
        ipython_dir = prepare_ipython_dir(private)

        def one(job: Job) -> SubmissionResult:
            layout = layouts.get(job.notebook)
            if job.status is not None:
                result = unrun_result(layout, job)
            else:
                result = grade_notebook(layout, job.path, job.student, limits, ipython_dir, private, box,
                                        protections)
            if stopping():
                raise _Cancelled()
            writer.add(result)
            if progress is not None:
                progress(result)
            return result

        results = [SubmissionResult.from_row(dict(zip(writer.head, row)), layouts.get(row[1]))
                   for row in kept.values()]
        pool = ThreadPoolExecutor(max_workers=max(1, jobs or os.cpu_count() or 1))
        try:
            futures = [pool.submit(one, job) for job in todo if job.key not in kept]
            results += [f.result() for f in futures]
        except BaseException:
            stop_all()        # a signal, or a grader that cannot write: end every run now
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        writer.finish()

    if _fingerprint(source) != before:
        print(f"warning: a notebook in {source} changed while grading (a submission wrote to it?); "
              "grades used the copies read before any submission ran", file=sys.stderr)
    return sorted(results, key=lambda r: (r.student, r.notebook))


__all__ = ["grade", "grade_notebook", "SubmissionResult", "TestResult", "STATUSES", "Limits", "GradingStopped"]
