"""Grade a class of fixture submissions, one per fault, and check every row.

The class is graded once per test session (with two jobs in parallel), even when pytest-xdist
spreads these tests over several workers: the first worker grades, the others wait for its
results on a lock.
"""
import csv
import fcntl
import hashlib
import json
import os
import pickle
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from cs231n_lib.grading import grade, release
from cs231n_lib.grading.executing import _read_records
from cs231n_lib.grading.grader import STATUSES
from cs231n_lib.grading.nbval_runner import sign
from grading_fixtures import build

CELL_TIMEOUT = 6
MEMORY_MB = 1024


def _fingerprint(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


class ClassRun:
    def __init__(self, root: Path):
        self.root = root
        self.src, self.subs, self.out = root / "src", root / "subs", root / "out"

    def prepare(self):
        build.write_sources(self.src)
        release(self.src, self.root / "rel")
        released = {n: build.read(self.root / "rel" / n) for n in (build.BASICS, build.OTHER)}
        build.write_class(self.subs, released)
        self.before = {"src": _fingerprint(self.src), "subs": _fingerprint(self.subs)}
        start = time.monotonic()
        results = grade(self.src, self.subs, self.out / "grades.csv", timeout=CELL_TIMEOUT, jobs=2,
                        memory_mb=MEMORY_MB)
        self.seconds = time.monotonic() - start
        self.results = {(r.student, r.notebook): r for r in results}
        self.after = {"src": _fingerprint(self.src), "subs": _fingerprint(self.subs)}

    def rows(self) -> list[dict]:
        with open(self.out / "grades.csv", newline="") as f:
            return list(csv.DictReader(f))

    def row(self, student: str, notebook: str = build.BASICS) -> dict:
        return next(r for r in self.rows() if r["student"] == student and r["notebook"] == notebook)

    def feedback(self, student: str, notebook: str = build.BASICS) -> str:
        return (self.out / "feedback" / student / (Path(notebook).stem + ".md")).read_text()

    def result(self, student: str, notebook: str = build.BASICS):
        return self.results[(student, notebook)]


@pytest.fixture(scope="session")
def graded(tmp_path_factory) -> ClassRun:
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "grading-class"
    root.mkdir(exist_ok=True)
    with open(root / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        saved = root / "run.pickle"
        if saved.exists():
            return pickle.loads(saved.read_bytes())
        run = ClassRun(root)
        run.prepare()
        saved.write_bytes(pickle.dumps(run))
        return run


def scores(run: ClassRun, student: str) -> dict:
    row = run.row(student)
    return {k: row[k] for k in ("status", "score", "add", "relu", "numpy_fact", "add_hidden")}


# --------------------------------------------------------------------------------------------
def test_every_submission_has_a_row_with_a_known_status(graded):
    rows = graded.rows()
    students = sorted(p.name for p in graded.subs.iterdir())
    assert len(students) == 24
    expected = {(s, nb) for s in students for nb in (build.BASICS, build.OTHER)} | {("renamed", "Basics.ipynb")}
    assert {(r["student"], r["notebook"]) for r in rows} == expected
    assert len(rows) == len(expected)
    assert all(r["status"] in STATUSES for r in rows)
    assert all(r["status"] == "missing" for r in rows if r["notebook"] == build.OTHER and r["student"] != "only_other")
    header = list(rows[0])
    assert header[:5] == ["student", "notebook", "status", "score", "max_score"]
    assert header[5:10] == ["add", "relu", "numpy_fact", "add_hidden", "double"]


def test_solved_submission_gets_full_marks(graded):
    assert scores(graded, "solved") == {"status": "ok", "score": "8", "add": "2", "relu": "3",
                                        "numpy_fact": "1", "add_hidden": "2"}
    assert graded.row("solved")["max_score"] == "8"
    assert graded.row("only_other", build.OTHER)["score"] == "1"


def test_untouched_release_earns_only_tests_that_need_no_exercise(graded):
    assert scores(graded, "untouched") == {"status": "ok", "score": "1", "add": "0", "relu": "0",
                                           "numpy_fact": "1", "add_hidden": "0"}
    assert "NotImplementedError: replace this line with your solution" in graded.feedback("untouched")


def test_feedback_quotes_public_failures_and_never_hidden_tests(graded):
    result = {t.test_id: t for t in graded.result("wrong").tests}
    assert result["add"].failed_hidden and not result["add"].passed     # abs(a) + b fails only hidden
    assert result["add_hidden"].passed
    assert "Not equal to tolerance" in result["relu"].message            # public failure, explained
    feedback = graded.feedback("wrong")
    assert "| add | 0 / 2 | failed (hidden checks) |" in feedback and "Not equal to tolerance" in feedback
    everything = (graded.out / "grades.csv").read_text() + "".join(
        p.read_text() for p in (graded.out / "feedback").rglob("*.md"))
    for secret in (build.SECRET, build.HIDDEN_CODE, "add(2, 2)", "HIDDEN TESTS"):
        assert secret not in everything


@pytest.mark.parametrize("student, facts, score", [
    ("edited", {"add": ["edited"]}, "4"),          # add returns 0; its test was edited to pass
    ("deleted", {"relu": ["deleted"]}, "8"),
    ("duplicated", {"numpy_fact": ["duplicated"]}, "8"),
    ("moved", {"relu": ["moved"]}, "8"),           # moved above relu's exercise
])
def test_tampered_tests_are_restored_and_reported(graded, student, facts, score):
    result = graded.result(student)
    assert result.status == "ok" and result.restored == facts
    assert graded.row(student)["score"] == score
    assert graded.row(student)["restored"] == "; ".join(f"{k} {'+'.join(v)}" for k, v in facts.items())
    test_id, (fact,) = next(iter(facts.items()))
    assert f"- {test_id}: {fact}" in graded.feedback(student)


@pytest.mark.parametrize("student, words", [
    ("malformed_json", "not valid JSON"),
    ("not_notebook", "not a Jupyter notebook"),
    ("wrong_assignment", "notebook of 02_other.ipynb"),
])
def test_unreadable_or_foreign_notebooks_are_invalid(graded, student, words):
    row = graded.row(student)
    assert (row["status"], row["score"], row["max_score"]) == ("invalid", "0", "8")
    assert words in row["details"] and words in graded.feedback(student)


def test_missing_and_misnamed_notebooks_get_rows(graded):
    assert graded.row("only_other")["status"] == "missing"
    assert graded.row("renamed")["status"] == "missing"
    assert graded.row("renamed", "Basics.ipynb")["status"] == "invalid"


def test_infinite_loop_times_out_and_the_rest_is_scored(graded):
    assert scores(graded, "infinite_loop") == {"status": "timeout", "score": "5", "add": "2", "relu": "0",
                                               "numpy_fact": "1", "add_hidden": "2"}
    assert "ran out of time" in graded.row("infinite_loop")["details"]


def test_loop_that_swallows_the_interrupt_is_killed_and_the_kernel_restarted(graded):
    # add's cell never ends: add is lost, everything after it still runs in a new kernel.
    assert scores(graded, "stubborn_loop") == {"status": "timeout", "score": "4", "add": "0", "relu": "3",
                                               "numpy_fact": "1", "add_hidden": "0"}
    assert "restarted 1 time" in graded.row("stubborn_loop")["details"]


@pytest.mark.parametrize("student, expected", [
    # os._exit in add's cell: add is lost, relu and the fact still pass after the restart.
    ("os_exit", {"status": "crashed", "score": "4", "add": "0", "relu": "3", "numpy_fact": "1", "add_hidden": "0"}),
    # abort in relu's cell: the cells that had passed (add) ran again in the new kernel.
    ("abort", {"status": "crashed", "score": "5", "add": "2", "relu": "0", "numpy_fact": "1", "add_hidden": "2"}),
])
def test_dying_kernel_is_restarted_and_the_rest_is_scored(graded, student, expected):
    assert scores(graded, student) == expected
    assert "the kernel died in code cell" in graded.row(student)["details"]


def test_killing_the_nbval_process_costs_the_rest_of_the_notebook(graded):
    # relu's cell kills its parent (pytest running nbval): what ran before it is scored.
    assert scores(graded, "kills_runner") == {"status": "crashed", "score": "2", "add": "2", "relu": "0",
                                              "numpy_fact": "0", "add_hidden": "0"}
    assert "stopped unexpectedly" in graded.row("kills_runner")["details"]


def test_sys_exit_and_exit_are_errors_of_one_cell(graded):
    assert scores(graded, "sys_exit")["score"] == "8"
    assert graded.row("sys_exit")["status"] == "ok"
    # IPython's exit() would stop the kernel a moment later, in whichever cell runs next (a
    # test, at random); while grading it ends its own cell, like sys.exit()
    assert scores(graded, "ipython_exit")["score"] == "8"
    assert graded.row("ipython_exit")["status"] == "ok"


def test_runaway_memory_is_capped(graded):
    assert scores(graded, "memory") == {"status": "memory", "score": "8", "add": "2", "relu": "3",
                                        "numpy_fact": "1", "add_hidden": "2"}
    assert f"ran out of memory ({MEMORY_MB} MB)" in graded.row("memory")["details"]


def test_megabytes_of_output_are_capped(graded):
    assert scores(graded, "big_output")["score"] == "8"
    assert len(graded.feedback("big_output")) < 2000


def test_writes_outside_the_scratch_folder_do_not_reach_the_grader(graded):
    assert scores(graded, "escape")["score"] == "8"
    assert graded.after == graded.before            # sources and submissions untouched
    assert graded.row("solved")["score"] == "8"     # grades.csv is the grader's
    assert not list(graded.root.rglob("escape.txt"))


@pytest.mark.parametrize("student", ["monkeypatch", "ipython_tamper"])
def test_tests_judge_honestly_after_tampering(graded, student):
    # add returns 0 and relu returns x: only the NumPy fact may pass.
    assert scores(graded, student) == {"status": "ok", "score": "1", "add": "0", "relu": "0",
                                       "numpy_fact": "1", "add_hidden": "0"}
    assert "numpy.testing.assert_allclose" in graded.row(student)["details"]
    if student == "monkeypatch":
        assert {"numpy.allclose", "builtins.all"} <= set(graded.row(student)["details"].split(": ")[-1].split(", "))


# --------------------------------------------------------------------------------------------
def test_whole_notebook_time_limit_stops_the_kernel_too(tmp_path):
    src = build.write_sources(tmp_path / "src")
    release(src, tmp_path / "rel")
    pid_file = tmp_path / "kernel.pid"
    slow = build.solved(build.read(tmp_path / "rel" / build.BASICS),
                        relu=build.GOOD_RELU + f"\nimport os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))"
                                               "\ntime.sleep(120)")
    (tmp_path / "subs" / "slow").mkdir(parents=True)
    (tmp_path / "subs" / "slow" / build.BASICS).write_text(json.dumps(slow))
    start = time.monotonic()
    (result,) = grade(src, tmp_path / "subs", tmp_path / "grades.csv", timeout=100, total_timeout=12, jobs=1)
    assert time.monotonic() - start < 50
    assert result.status == "timeout" and "stopped after 12 s" in " ".join(result.details)
    assert {t.test_id: t.earned for t in result.tests} == {"add": 2, "relu": 0, "numpy_fact": 0, "add_hidden": 0}
    kernel = int(pid_file.read_text())
    assert not psutil.pid_exists(kernel) or psutil.Process(kernel).status() == psutil.STATUS_ZOMBIE


def test_memory_limit_reaches_the_kernel(tmp_path):
    """The limit is set in the nbval process; the kernel it starts must inherit it."""
    from cs231n_lib.grading.selfcheck import run_check

    big = np.empty(3 * 2**30, dtype=np.uint8)   # fine here (address space only, never touched)
    del big
    nb = build.other_source()
    nb.cells[2].source = ("import resource\nimport numpy as np\n"
                          "assert resource.getrlimit(resource.RLIMIT_AS)[0] == 700 * 2**20\n"
                          "try:\n    np.empty(3 * 2**30, dtype=np.uint8)\nexcept MemoryError:\n    pass\n"
                          "else:\n    raise AssertionError('no memory limit in the kernel')")
    path = build.write(nb, tmp_path / build.OTHER)
    result = run_check(path, memory_mb=700)
    assert [t.passed for t in result.tests] == [True], result.details


def test_result_lines_without_the_key_are_ignored(tmp_path):
    good = json.dumps({"cell": 0, "passed": False, "fault": None, "ename": "", "evalue": "",
                       "tokens": [], "seconds": 0.1})
    forged = json.dumps({"cell": 0, "passed": True, "fault": None, "ename": "", "evalue": "",
                         "tokens": ["0:done"], "seconds": 0.1})
    path = tmp_path / "results.jsonl"
    path.write_text(f"{sign('key', good)} {good}\n{sign('guess', forged)} {forged}\n")
    records, finished, _, forged_lines = _read_records(path, "key")
    assert records[0].passed is False and forged_lines == 1 and not finished


def test_a_memory_limit_too_small_to_start_is_an_error_row(tmp_path):
    src = build.write_sources(tmp_path / "src")
    release(src, tmp_path / "rel")
    (tmp_path / "subs" / "a").mkdir(parents=True)
    (tmp_path / "subs" / "a" / build.BASICS).write_bytes((tmp_path / "rel" / build.BASICS).read_bytes())
    (result,) = grade(src, tmp_path / "subs", tmp_path / "grades.csv", memory_mb=50, jobs=1)
    assert result.status == "error" and result.score == 0
    assert "memory limit (50 MB) is too small" in " ".join(result.details)
    assert "graded a second time after" in result.details[0]  # retried once, and said so


def test_a_run_that_fails_to_start_once_is_graded_again(tmp_path, monkeypatch):
    """A kernel that cannot start on a busy machine must not cost a student the points."""
    from cs231n_lib.grading import grader
    src = build.write_sources(tmp_path / "src")
    (tmp_path / "subs" / "a").mkdir(parents=True)
    (tmp_path / "subs" / "a" / build.BASICS).write_bytes((src / build.BASICS).read_bytes())
    real, calls = grader._grade_into, []

    def flaky(result, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("kernel did not start in time")
        return real(result, *args, **kwargs)

    monkeypatch.setattr(grader, "_grade_into", flaky)
    (result,) = grade(src, tmp_path / "subs", tmp_path / "grades.csv", jobs=1)
    assert len(calls) == 2
    assert result.status == "ok" and result.score == result.max_score
    assert "kernel did not start in time" in result.details[0]
