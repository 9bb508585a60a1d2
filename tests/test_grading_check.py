"""The student self-check: the grader's machinery with the public tests only."""
import os

import nbclient
import nbformat
import pytest

from cs231n_lib.cli import main
from cs231n_lib.grading import check, release
from cs231n_lib.grading.selfcheck import run_check, summary
from grading_fixtures import build


@pytest.fixture
def folder(tmp_path):
    src = build.write_sources(tmp_path / "src")
    release(src, tmp_path / "rel")
    return tmp_path


def _write(folder, nb, name=build.BASICS):
    path = folder / "student" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(nbformat.writes(nbformat.from_dict(nb)))
    return path


def test_untouched_release_passes_only_the_public_test_without_exercise(folder):
    result = run_check(folder / "rel" / build.BASICS)
    # add_hidden has no public check: it is not counted.
    assert [(t.test_id, t.passed) for t in result.tests] == [("add", False), ("relu", False), ("numpy_fact", True)]
    text = summary(result)
    assert text.splitlines()[0] == "public tests passed: 1/3 (1 of 6 public points)"
    assert "failed: add (2 points): NotImplementedError: Python adds numbers with +" in text


def test_solved_notebook_says_public_tests_passed_and_nothing_else(folder):
    path = _write(folder, build.solved(build.read(folder / "rel" / build.BASICS)))
    assert summary(run_check(path)) == "public tests passed: 3/3 (6 of 6 public points)"


def test_check_says_when_an_exercise_calls_the_librarys_answer(folder):
    """The released notebook carries what each test forbids: the student hears it before
    handing in, as the grader will say it."""
    nb = build.read(folder / "rel" / build.BASICS)
    text = summary(run_check(_write(folder, build.with_sources(build.solved(nb), relu_exercise=build.REFERENCE_RELU))))
    assert text.splitlines()[0] == "public tests passed: 2/3 (3 of 6 public points)", text
    assert "failed: relu (3 points): calls cs231n_lib.layers.relu_forward, the library's own answer" in text


def test_check_runs_the_released_tests_not_the_students_edits(folder):
    nb = build.read(folder / "rel" / build.BASICS)
    broken = build.with_sources(build.solved(nb, add="def add(a, b):\n    return 0"), add_test="assert True")
    text = summary(run_check(_write(folder, broken)))
    assert text.splitlines()[0] == "public tests passed: 2/3 (4 of 6 public points)"
    assert "failed: add (2 points): AssertionError: add(1, 2) should be 3" in text
    assert "test add was edited in your notebook" in text
    assert "all tests passed" not in text.lower()


def test_check_of_an_instructor_notebook_runs_its_public_tests(folder):
    result = run_check(folder / "src" / build.BASICS)
    assert summary(result) == "public tests passed: 3/3 (6 of 6 public points)"
    assert not any(t.has_hidden for t in result.tests)


def _run_in_kernel(nb, path):
    """Execute ``nb`` as JupyterLab would, in the folder of ``path``; the last cell's text."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "CS231N_GRADING"))}
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.km = client.create_kernel_manager()
    client.start_new_kernel(env=env)
    client.start_new_kernel_client()
    try:
        client.execute(cleanup_kc=False)
    finally:
        client._cleanup_kernel()
    return "".join(o.get("text", "") for o in nb.cells[-1].outputs)


def test_self_check_cell_runs_inside_a_notebook_without_recursion(folder):
    """The last cell calls check(): one line, no grader inside the grader."""
    path = _write(folder, build.solved(build.read(folder / "rel" / build.BASICS)))
    output = _run_in_kernel(nbformat.read(str(path), as_version=4), path)
    assert output == "public tests passed: 3/3 (6 of 6 public points)\n"


def test_self_check_warns_when_the_kernel_ran_unsaved_code(folder):
    """The student ran a cell they never saved: the check reads the saved file, and says so."""
    path = _write(folder, build.solved(build.read(folder / "rel" / build.BASICS)))
    nb = nbformat.read(str(path), as_version=4)
    nb.cells.insert(len(nb.cells) - 1, nbformat.v4.new_code_cell("scratch = 41 + 1"))
    output = _run_in_kernel(nb, path)
    assert output.startswith("you have unsaved changes: "), output
    assert "Save with Ctrl-S, then check again" in output
    assert output.splitlines()[-1] == "public tests passed: 3/3 (6 of 6 public points)"


def test_points_are_counted_in_words():
    from cs231n_lib.grading.selfcheck import points_text
    assert (points_text(1.0), points_text(2.0), points_text(0.5)) == ("1 point", "2 points", "0.5 points")


def test_check_refuses_to_run_while_grading(monkeypatch, capsys, folder):
    monkeypatch.setenv("CS231N_GRADING", "1")
    check(folder / "rel" / build.BASICS)
    assert capsys.readouterr().out == "self-check skipped: this notebook is being graded\n"


def test_cli_check_exit_codes(folder, capsys):
    assert main(["check", str(folder / "rel" / build.BASICS)]) == 1
    assert "public tests passed: 1/3 (1 of 6 public points)" in capsys.readouterr().out
    assert main(["check", str(folder / "src" / build.BASICS)]) == 0
    bad = folder / "bad.ipynb"
    bad.write_text("{ nope")
    assert main(["check", str(bad)]) == 2
    assert "not valid JSON" in capsys.readouterr().out


def test_cli_grade_writes_grades_and_feedback(folder, capsys):
    subs = folder / "subs" / "alice"
    subs.mkdir(parents=True)
    (subs / build.BASICS).write_text(nbformat.writes(nbformat.from_dict(
        build.solved(build.read(folder / "rel" / build.BASICS)))))
    out = folder / "results" / "grades.csv"
    assert main(["grade", "--source", str(folder / "src"), str(folder / "subs"), "--out", str(out), "--jobs", "1"]) == 0
    rows = out.read_text().splitlines()
    assert rows[0] == "student,notebook,status,score,max_score,add,relu,numpy_fact,add_hidden,restored,details"
    # details are empty, or (without the sandbox) say so
    assert rows[1:] in (["alice,01_basics.ipynb,ok,8,8,2,3,1,2,,"],) or rows[1].startswith(
        'alice,01_basics.ipynb,ok,8,8,2,3,1,2,,"not sandboxed')
    assert (folder / "results" / "feedback" / "alice" / "01_basics.md").exists()
    assert "graded 1 submissions (1 ok)" in capsys.readouterr().out
    assert main(["grade", "--source", str(folder / "nowhere"), str(folder / "subs"), "--out", str(out)]) == 2
