"""Grade the cheat zoo (tests/grading_fixtures/build.py) and check that every row has the
outcome a fair grader gives.

The class is graded once per test session (with two jobs in parallel), even when pytest-xdist
spreads these tests over several workers: the first worker grades, the others wait for its
results on a lock. Where bubblewrap cannot run, the kernels are not sandboxed and the tests of
what only the sandbox prevents are skipped, saying so.
"""
import csv
import fcntl
import hashlib
import json
import os
import pickle
import socket
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from cs231n_lib.grading import grade, release
from cs231n_lib.grading.collecting import feedback_name
from cs231n_lib.grading.executing import _read_records
from cs231n_lib.grading.grader import STATUSES
from cs231n_lib.grading.nbval_runner import sign
from cs231n_lib.grading.reports import inert
from cs231n_lib.grading.sandbox import unavailable
from grading_fixtures import build

CELL_TIMEOUT = 6
MEMORY_MB = 1024
NO_SANDBOX = unavailable()
needs_sandbox = pytest.mark.skipif(NO_SANDBOX is not None, reason=f"only the sandbox prevents this: {NO_SANDBOX}")
UNDECODABLE = os.fsencode(os.fsdecode(build.UNDECODABLE)).decode("utf-8", "backslashreplace")   # caf\xe9


def _listening_socket() -> socket.socket:
    """A TCP server on 127.0.0.1 that accepts every connection (the network cheat's target)."""
    server = socket.create_server(("127.0.0.1", 0))

    def accept():
        while True:
            try:
                server.accept()[0].close()
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    return server


def _fingerprint(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


class ClassRun:
    def __init__(self, root: Path):
        self.root = root
        self.src, self.subs, self.out = root / "src", root / "subs", root / "out"

    def prepare(self):
        build.write_sources(self.src)
        release(self.src, self.root / "rel")
        released = {n: build.read(self.root / "rel" / n) for n in (build.BASICS, build.OTHER)}
        server = _listening_socket()
        paths = build.ClassPaths(self.root, self.src, self.subs, self.out, server.getsockname()[1])
        build.write_class(self.subs, released, paths=paths)
        self.before = {"src": _fingerprint(self.src), "subs": _fingerprint(self.subs)}
        start = time.monotonic()
        results = grade(self.src, self.subs, self.out / "grades.csv", timeout=CELL_TIMEOUT, jobs=2,
                        memory_mb=MEMORY_MB)
        self.seconds = time.monotonic() - start
        server.close()
        self.results = {(r.student, r.notebook): r for r in results}
        self.after = {"src": _fingerprint(self.src), "subs": _fingerprint(self.subs)}
        self.detached = [p.pid for p in psutil.process_iter(["cmdline"])
                         if build.DETACHED_MARK in (p.info["cmdline"] or [])]
        for pid in self.detached:      # the cheat's process outlived its kernel: end it here
            psutil.Process(pid).kill()

    def rows(self) -> list[dict]:
        with open(self.out / "grades.csv", newline="") as f:
            return list(csv.DictReader(f))

    def row(self, student: str, notebook: str = build.BASICS) -> dict:
        return next(r for r in self.rows() if r["student"] == student and r["notebook"] == notebook)

    def feedback(self, student: str, notebook: str = build.BASICS) -> str:
        return (self.out / "feedback" / feedback_name(student, notebook)).read_text()

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
def test_every_folder_has_its_rows_with_a_known_status(graded):
    rows = graded.rows()
    students = sorted(os.fsencode(name).decode("utf-8", "backslashreplace") for name in os.listdir(graded.subs))
    assert len(students) >= 40, "the cheat zoo holds at least 40 submissions"
    expected = {(s, nb) for s in students for nb in (build.BASICS, build.OTHER)} | {
        ("renamed", "Basics.ipynb"), ("bad_notebook_name", "\\xff.ipynb")}
    assert {(r["student"], r["notebook"]) for r in rows} == expected
    assert len(rows) == len(expected)
    assert all(r["status"] in STATUSES for r in rows)
    assert all(r["status"] == "missing" for r in rows
               if r["notebook"] == build.OTHER and r["student"] not in ("only_other", "symlink_folder"))
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
    assert "| add | 0 / 2 | failed: a hidden check failed |" in feedback and "Not equal to tolerance" in feedback


def test_nothing_hidden_reaches_any_csv_or_feedback(graded):
    everything = (graded.out / "grades.csv").read_text() + "".join(
        p.read_text() for p in (graded.out / "feedback").rglob("*.md"))
    for secret in (build.SECRET, build.HIDDEN_CODE, "add(2, 2)", "HIDDEN TESTS", build.SECRET.encode().hex()):
        assert secret not in everything


@pytest.mark.parametrize("student, expected", [
    # add raises the whole test cell (from linecache, while it runs) in the public check
    ("frame_leak", {"status": "ok", "score": "4", "add": "0", "relu": "3", "numpy_fact": "1", "add_hidden": "0"}),
    # add prints the token that ends the hidden block, then fails with the source in hex
    ("forged_mark", {"status": "ok", "score": "6", "add": "0", "relu": "3", "numpy_fact": "1", "add_hidden": "2"}),
    # add silences the grader's marks, then fails inside the hidden block quoting it
    ("silenced_mark", {"status": "ok", "score": "4", "add": "0", "relu": "3", "numpy_fact": "1", "add_hidden": "0"}),
    # relu is right only if an earlier test's hidden source is still in linecache
    ("linecache_leak", {"status": "ok", "score": "5", "add": "2", "relu": "0", "numpy_fact": "1", "add_hidden": "2"}),
])
def test_hidden_checks_cannot_be_read_back_through_the_kernel(graded, student, expected):
    assert scores(graded, student) == expected
    add = next(t for t in graded.result(student).tests if t.test_id == "add")
    if student != "linecache_leak":
        assert add.failed_hidden and add.message == ""
        assert "| add | 0 / 2 | failed: a hidden check failed |" in graded.feedback(student)


def test_a_later_public_failure_cannot_carry_hidden_text_out(graded):
    """add keeps its hidden check's source (hex) when that check calls it; relu's public check
    then fails with it as the message. The message shown comes from a run without hidden blocks."""
    assert scores(graded, "later_leak") == {"status": "ok", "score": "5", "add": "2", "relu": "0",
                                            "numpy_fact": "1", "add_hidden": "2"}
    relu = next(t for t in graded.result("later_leak").tests if t.test_id == "relu")
    assert relu.message == "AssertionError", f"expected the message of the public-only run, got {relu.message!r}"
    assert build.SECRET.encode().hex() not in graded.feedback("later_leak")


@pytest.mark.parametrize("student, found", [
    ("rebinds_helper", "rel_error (imported by the notebook, rebound by a cell)"),
    ("code_swap", "cs231n_lib.gradient_check.rel_error (its code)"),
    ("dispatch_patch", "isclose"),
    ("compile_swap", "the class of ipykernel.compiler.XCachingCompiler"),
    ("class_patch", "transform_ast"),
])
def test_verdicts_cannot_be_forged_before_a_test(graded, student, found):
    """Each cheat, done in an exercise cell, would pass the check it aims at; the grader undoes
    it before every test and says what it undid."""
    expected = {"status": "ok", "add": "2", "relu": "0", "numpy_fact": "1", "add_hidden": "2", "score": "5"}
    if student in ("compile_swap", "class_patch"):     # these aim at add's asserts
        expected.update(add="0", add_hidden="0", relu="3", score="4")
    assert scores(graded, student) == expected
    assert found in graded.row(student)["details"], graded.row(student)["details"]


def test_a_change_made_while_a_test_runs_is_tampering(graded):
    """relu, called by its hidden check, swaps the code of the rel_error that check uses: the
    check passes, and the grader finds the change right after the test."""
    assert scores(graded, "mid_test_tamper") == {"status": "tampered", "score": "5", "add": "2", "relu": "0",
                                                 "numpy_fact": "1", "add_hidden": "2"}
    details = graded.row("mid_test_tamper")["details"]
    assert "relu: cs231n_lib.gradient_check.rel_error (its code)" in details, details
    feedback = graded.feedback("mid_test_tamper")
    assert "(status: tampered)" in feedback and "| relu | 0 / 3 | failed |" in feedback
    assert "- **relu**: not scored: the code it called changed how tests judge" in feedback


def test_the_librarys_answer_earns_nothing(graded):
    """relu returns the library's relu_forward, which its test forbids (the test itself calls
    it to compare: that is allowed, as the solved notebook's full marks show)."""
    assert scores(graded, "reference_relu") == {"status": "ok", "score": "5", "add": "2", "relu": "0",
                                                "numpy_fact": "1", "add_hidden": "2"}
    relu = next(t for t in graded.result("reference_relu").tests if t.test_id == "relu")
    assert relu.message.startswith("calls cs231n_lib.layers.relu_forward, the library's own answer"), relu.message


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
    assert f"- {inert(test_id)}: {fact}" in graded.feedback(student)


# --------------------------------------------------------------------------------------------
# Hostile text
# --------------------------------------------------------------------------------------------
HOSTILE = {  # student -> text of theirs that must show as it is
    "hostile_message": "<script>alert('x')</script> **bold** [click](http://example.com) | a | `code` &",
    "hostile_id": build.HOSTILE_ID,
    "hostile_first_line": build.HOSTILE_FIRST_LINE,
    "`mallory` <b>|*x*": "`mallory` <b>|*x*",
}


@pytest.mark.parametrize("student, shown", HOSTILE.items())
def test_student_text_renders_as_text(graded, student, shown):
    """Rendered as Markdown (CommonMark with tables), the feedback has only the grader's own
    markup: a heading, bold, the table, lists; student text shows as the characters it is."""
    markdown_it = pytest.importorskip("markdown_it")
    import html
    import re

    text = graded.feedback(student)
    rendered = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(text)
    tags = set(re.findall(r"<(\w+)", rendered))
    assert tags <= {"h1", "h2", "p", "strong", "table", "thead", "tbody", "tr", "th", "td", "ul", "li"}, tags
    assert all(row.count("<td") == 3 for row in re.findall(r"<tr>.*?</tr>", rendered, re.S)[1:])
    assert "http://" not in text and "](" not in text.replace("\\](", "")
    visible = html.unescape(re.sub(r"<[^>]+>", "", rendered))
    assert shown in visible


def test_hostile_strings_are_kept_readable(graded):
    assert "&lt;script&gt;alert('x')&lt;/script&gt; \\*\\*bold\\*\\*" in graded.feedback("hostile_message")
    assert "claims to be test" in graded.row("hostile_id")["details"]
    assert "&lt;img src=x onerror=alert(1)&gt;\\`\\|\\[x\\](y)" in graded.feedback("hostile_id")
    row = graded.row("hostile_first_line")
    assert row["status"] == "crashed" and '("# <b>bold</b> | `tick`' in row["details"]
    assert graded.feedback("`mallory` <b>|*x*").startswith("# 01\\_basics.ipynb — \\`mallory\\` &lt;b&gt;\\|\\*x\\*")


# --------------------------------------------------------------------------------------------
# Lost rows: names and links
# --------------------------------------------------------------------------------------------
def test_names_that_are_not_utf8_or_collide_keep_their_own_rows_and_feedback(graded):
    assert scores(graded, UNDECODABLE)["score"] == "8" and UNDECODABLE == "caf\\xe9"
    assert graded.row("bad_notebook_name", "\\xff.ipynb")["status"] == "invalid"
    assert scores(graded, ".dotted")["score"] == "8"
    assert scores(graded, "o'brien")["score"] == "8" and scores(graded, "o_brien")["score"] == "1"
    assert feedback_name("o'brien", build.BASICS) != feedback_name("o_brien", build.BASICS)
    assert "Score: 8 / 8" in graded.feedback("o'brien") and "Score: 1 / 8" in graded.feedback("o_brien")
    files = sorted(str(p.relative_to(graded.out / "feedback")) for p in (graded.out / "feedback").rglob("*.md"))
    assert len(files) == len(graded.rows())


@pytest.mark.parametrize("student, words", [
    ("symlink_folder", "folder is a symbolic link"),
    ("symlink_source", "notebook is a symbolic link"),
    ("hardlink_source", "instructor's notebook itself"),
    ("fifo", "not a regular file"),
])
def test_links_and_special_files_are_refused(graded, student, words):
    row = graded.row(student)
    assert (row["status"], row["score"]) == ("refused", "0") and words in row["details"]
    assert words in graded.feedback(student)


# --------------------------------------------------------------------------------------------
# Harm to others, leaks out of the kernel: what the sandbox prevents
# --------------------------------------------------------------------------------------------
def test_overwriting_a_classmate_changes_nothing_of_their_grade(graded):
    # victim handed in the untouched release; overwrites_classmate replaced the file with a
    # solved one while grading: the grader had copied it before any student code ran.
    assert scores(graded, "victim")["score"] == "1"


CHEATS = ["reads_source", "reads_classmate", "reads_grades", "reads_private", "proc_snoop", "network",
          "writes_outside", "writes_source", "overwrites_classmate"]


@needs_sandbox
@pytest.mark.parametrize("student", CHEATS)
def test_sandboxed_kernel_cannot_reach_anything_of_the_grader(graded, student):
    # add is right only if the cheat worked: it did not.
    assert scores(graded, student) == {"status": "ok", "score": "4", "add": "0", "relu": "3",
                                       "numpy_fact": "1", "add_hidden": "0"}
    assert "not sandboxed" not in graded.row(student)["details"]


@needs_sandbox
def test_sandboxed_kernel_leaves_files_and_processes_untouched(graded):
    assert graded.after == graded.before            # sources and submissions untouched
    assert not (graded.root / build.WRITTEN_NAME).exists()
    assert graded.detached == [], "a process the kernel started outlived it"


def test_without_the_sandbox_every_row_says_so(graded):
    rows = [r for r in graded.rows() if r["status"] not in ("missing", "invalid", "refused")]
    said = ["not sandboxed" in r["details"] for r in rows]
    assert all(said) if NO_SANDBOX else not any(said)


@pytest.mark.parametrize("student, words", [
    ("malformed_json", "not valid JSON"),
    ("not_notebook", "not a Jupyter notebook"),
    ("wrong_assignment", "notebook of 02_other.ipynb"),
])
def test_unreadable_or_foreign_notebooks_are_invalid(graded, student, words):
    row = graded.row(student)
    assert (row["status"], row["score"], row["max_score"]) == ("invalid", "0", "8")
    assert words in row["details"] and inert(words) in graded.feedback(student)


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
    # relu's cell kills its parent: without the sandbox that is pytest running nbval, and what
    # ran before it is scored; in the sandbox its parent is the sandbox's own first process,
    # which ignores the signal, and the notebook runs on.
    if NO_SANDBOX:
        assert scores(graded, "kills_runner") == {"status": "crashed", "score": "2", "add": "2", "relu": "0",
                                                  "numpy_fact": "0", "add_hidden": "0"}
        assert "stopped unexpectedly" in graded.row("kills_runner")["details"]
    else:
        assert scores(graded, "kills_runner")["score"] == "8"


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
    assert graded.row("solved")["score"] == "8"     # grades.csv is the grader's
    assert not list(graded.root.rglob("escape.txt"))


@pytest.mark.parametrize("student", ["monkeypatch", "ipython_tamper"])
def test_tests_judge_honestly_after_tampering(graded, student):
    # add returns 0 and relu returns x: only the NumPy fact may pass.
    assert scores(graded, student) == {"status": "ok", "score": "1", "add": "0", "relu": "0",
                                       "numpy_fact": "1", "add_hidden": "0"}
    assert "numpy.testing.assert_allclose" in graded.row(student)["details"]
    if student == "monkeypatch":
        undone = next(d for d in graded.row(student)["details"].split(" | ") if "undid changes" in d)
        assert {"numpy.allclose", "builtins.all"} <= set(undone.split(": ")[-1].split(", "))


# --------------------------------------------------------------------------------------------
def test_whole_notebook_time_limit_stops_the_kernel_too(tmp_path):
    src = build.write_sources(tmp_path / "src")
    release(src, tmp_path / "rel")
    mark = f"cs231n-test-slow-{os.getpid()}"
    slow = build.solved(build.read(tmp_path / "rel" / build.BASICS),
                        relu=build.GOOD_RELU + "\nimport subprocess, sys, time\n"
                                               f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)', {mark!r}])"
                                               "\ntime.sleep(120)")
    (tmp_path / "subs" / "slow").mkdir(parents=True)
    (tmp_path / "subs" / "slow" / build.BASICS).write_text(json.dumps(slow))
    start = time.monotonic()
    (result,) = grade(src, tmp_path / "subs", tmp_path / "grades.csv", timeout=100, total_timeout=12, jobs=1)
    assert time.monotonic() - start < 50
    assert result.status == "timeout" and "stopped after 12 s" in " ".join(result.details)
    assert {t.test_id: t.earned for t in result.tests} == {"add": 2, "relu": 0, "numpy_fact": 0, "add_hidden": 0}
    left = [p for p in psutil.process_iter(["cmdline"]) if mark in (p.info["cmdline"] or [])]
    assert not [p for p in left if p.status() != psutil.STATUS_ZOMBIE], "a process of the kernel outlived it"


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


def test_a_kernel_that_never_starts_is_said_once_not_for_every_cell(tmp_path, monkeypatch):
    """A sandbox that passes the probe but cannot start the kernel (a bwrap that runs ``true``
    only): the row says error, with the cause once, not once per cell of the notebook."""
    from cs231n_lib.grading import sandbox
    fake = tmp_path / "bwrap"
    fake.write_text('#!/bin/sh\nfor last; do :; done\n[ "$last" = true ] && exit 0\n'
                    'echo "bwrap: execvp: No such file or directory" >&2\nexit 1\n')
    fake.chmod(0o755)
    monkeypatch.setenv(sandbox.BWRAP_ENV, str(fake))
    src = build.write_sources(tmp_path / "src")
    (tmp_path / "subs" / "a").mkdir(parents=True)
    (tmp_path / "subs" / "a" / build.BASICS).write_bytes((src / build.BASICS).read_bytes())
    (result,) = grade(src, tmp_path / "subs", tmp_path / "grades.csv", jobs=1, timeout=CELL_TIMEOUT)
    details = " | ".join(result.details)
    assert result.status == "error" and result.score == 0, (result.status, details)
    assert "the kernel could not start" in details
    assert "the kernel died in" not in details, f"expected one line for the kernel that never started, got: {details}"
    assert len(details) < 400, f"expected a short account, got {len(details)} characters: {details}"


@needs_sandbox
def test_folders_under_tmp_stay_visible_inside_the_private_tmp(tmp_path, monkeypatch):
    """A clone, a virtual environment or pytest's folders under /tmp: the sandbox's private /tmp
    must not hide the folders bound into it (a clone in /tmp once lost its Python this way)."""
    import subprocess
    from cs231n_lib.grading import sandbox
    shown, home = tmp_path / "shown", tmp_path / "home"
    shown.mkdir(), home.mkdir()
    (shown / "note.txt").write_text("seen")
    (tmp_path / "hidden.txt").write_text("secret")
    python_dirs = sandbox.readable_dirs()        # as if the environment lived in tmp_path/shown
    monkeypatch.setattr(sandbox, "readable_dirs", lambda: python_dirs + [shown])
    args = sandbox.current()[0].prefix(home, [home])
    done = subprocess.run(args + ["/bin/sh", "-c", f"cat {shown}/note.txt; echo; ls {tmp_path}; "
                                  f"touch {home}/made && echo made; touch {shown}/no 2>/dev/null || echo read-only"],
                          capture_output=True, text=True, timeout=30)
    assert done.stdout.split() == ["seen", "home", "shown", "made", "read-only"], (done.stdout, done.stderr)


@needs_sandbox
def test_the_private_tmp_cannot_fill_the_machines_memory(tmp_path):
    """/tmp and /dev/shm inside the sandbox are memory (tmpfs): capped, a submission writing to
    them fails its own cell instead of taking the grading machine's memory."""
    import subprocess
    from cs231n_lib.grading import sandbox
    if not sandbox._sizes_tmpfs(sandbox.bwrap_path()):
        pytest.skip("this bubblewrap cannot cap a tmpfs (--size needs bubblewrap 0.8)")
    home = tmp_path / "home"
    home.mkdir()
    args = sandbox.current()[0].prefix(home, [home])
    mib = sandbox.TMP_BYTES // 2**20
    for folder in ("/tmp", "/dev/shm"):
        done = subprocess.run(args + ["/bin/sh", "-c", f"head -c {(mib + 64) * 2**20} /dev/zero > {folder}/big; "
                                      f"echo $?; wc -c < {folder}/big"], capture_output=True, text=True, timeout=60)
        status, size = done.stdout.split()
        assert status != "0" and int(size) <= sandbox.TMP_BYTES, (folder, done.stdout, done.stderr)
