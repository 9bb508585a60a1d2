"""The notebook format, the release and the restoring of tests (no kernel runs here)."""
import copy
import json

import pytest

from cs231n_lib.grading import release
from cs231n_lib.grading.notebook_format import (DEFAULT_HINT, FormatError, Layout, instructor_layout,
                                                notebook_layout, stub_solutions, validate_instructor_notebook)
from cs231n_lib.grading.restoring import (SELF_CHECK_REMOVED, InvalidSubmission, read_submission,
                                          restore_tests)
from grading_fixtures import build


@pytest.fixture
def released(tmp_path):
    src = build.write_sources(tmp_path / "src")
    release(src, tmp_path / "rel")
    return {name: build.read(tmp_path / "rel" / name) for name in (build.BASICS, build.OTHER)}


def basics_layout() -> Layout:
    return instructor_layout(build.basics_source(), build.BASICS)


# --------------------------------------------------------------------------------------------
# Stubs
# --------------------------------------------------------------------------------------------
def test_stub_keeps_marker_indentation_and_hint():
    src = ("def f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    ### HINT: use y\n    return x + y\n"
           "    ### END SOLUTION\n\n### BEGIN SOLUTION\nz = f(2)\n### END SOLUTION\nprint(z)")
    assert stub_solutions(src) == ("def f(x):\n    y = 1\n    raise NotImplementedError('use y')\n\n"
                                   f"raise NotImplementedError({DEFAULT_HINT!r})\nprint(z)")


def test_stub_hint_with_quotes_is_valid_python():
    src = "### BEGIN SOLUTION\n### HINT: it's \"easy\" \\ really\nx = 1\n### END SOLUTION"
    stub = stub_solutions(src)
    with pytest.raises(NotImplementedError, match="it's \"easy\" \\\\ really"):
        exec(stub, {})


# --------------------------------------------------------------------------------------------
# Release
# --------------------------------------------------------------------------------------------
def test_release_is_deterministic_and_check_mode_detects_changes(tmp_path):
    src = build.write_sources(tmp_path / "src")
    first = release(src, tmp_path / "a")
    assert sorted(p.name for p in first.written) == [build.BASICS, build.OTHER]
    again = release(src, tmp_path / "a")
    assert again.written == [] and len(again.unchanged) == 2
    release(src, tmp_path / "b")
    for name in (build.BASICS, build.OTHER):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert release(src, tmp_path / "a", check=True).changes == []
    # A changed source makes --check fail without writing anything.
    nb = build.basics_source()
    nb.cells[1].source = "import numpy as np  # changed"
    build.write(nb, src / build.BASICS)
    before = (tmp_path / "a" / build.BASICS).read_bytes()
    assert [p.name for p in release(src, tmp_path / "a", check=True).written] == [build.BASICS]
    assert (tmp_path / "a" / build.BASICS).read_bytes() == before
    # A source that disappears takes its released notebook with it (other files stay).
    (tmp_path / "a" / "notes.txt").write_text("keep me")
    (src / build.OTHER).unlink()
    report = release(src, tmp_path / "a")
    assert [p.name for p in report.removed] == [build.OTHER]
    assert (tmp_path / "a" / "notes.txt").exists() and not (tmp_path / "a" / build.OTHER).exists()


def test_release_content(released, tmp_path):
    nb = released[build.BASICS]
    text = (tmp_path / "rel" / build.BASICS).read_text()
    by_id = {c["id"]: c for c in nb["cells"]}
    add = "".join(by_id["add-exercise"]["source"])
    assert "return a + b" not in add and "BEGIN SOLUTION" not in add and "HINT" not in add
    assert "    raise NotImplementedError('Python adds numbers with +')" in add
    assert "relu" in "".join(by_id["relu-exercise"]["source"])
    # Hidden tests are gone from the whole file, markers included.
    assert build.SECRET not in text and build.HIDDEN_CODE not in text and "HIDDEN TESTS" not in text
    assert "".join(by_id["add-test"]["source"]) == 'assert add(1, 2) == 3, "add(1, 2) should be 3"'
    assert "hidden" in "".join(by_id["add-hidden-test"]["source"])
    # Outputs and counts cleared; test ids and points kept; tests read-only in JupyterLab.
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None
    assert by_id["relu-test"]["metadata"]["cs231n"] == {"id": "relu", "points": 3, "forbid": [build.RELU_REFERENCE]}
    assert by_id["relu-test"]["metadata"]["editable"] is False
    assert nb["metadata"]["cs231n"]["assignment"] == build.BASICS
    # The embedded layout gives the self-check the public tests, and nothing hidden.
    layout = notebook_layout(nb, "renamed.ipynb").public_only()
    assert layout.name == build.BASICS
    assert [t.test_id for t in layout.tests] == ["add", "relu", "numpy_fact"]
    assert layout.dropped == {"add_hidden"}


def test_release_drops_run_state_but_keeps_other_metadata(tmp_path):
    nb = build.basics_source()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb.cells[1].metadata.update(execution={"iopub.status.idle": "2024-01-01T00:00:00Z"}, tags=["setup"])
    nb.cells[1].outputs = [{"output_type": "stream", "name": "stdout", "text": "hi\n"}]
    nb.cells[1].execution_count = 3
    build.write(nb, tmp_path / "src" / build.BASICS)
    release(tmp_path / "src", tmp_path / "rel")
    out = build.read(tmp_path / "rel" / build.BASICS)
    assert "widgets" not in out["metadata"] and out["metadata"]["kernelspec"]["name"] == "python3"
    assert out["cells"][1]["metadata"] == {"tags": ["setup"]}
    assert out["cells"][1]["outputs"] == [] and out["cells"][1]["execution_count"] is None


def test_release_of_a_notebook_without_cell_ids_is_deterministic(tmp_path):
    nb = build.basics_source()
    for cell in nb.cells:
        del cell["id"]
    nb.nbformat_minor = 4
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / build.BASICS).write_text(json.dumps(nb))
    release(tmp_path / "src", tmp_path / "a")
    release(tmp_path / "src", tmp_path / "b")
    a = (tmp_path / "a" / build.BASICS).read_bytes()
    assert a == (tmp_path / "b" / build.BASICS).read_bytes()
    assert all(c["id"].startswith("cell-") for c in json.loads(a)["cells"])


def _broken(change):
    nb = copy.deepcopy(build.basics_source())
    change(nb.cells)
    return nb


@pytest.mark.parametrize("change, cell, words", [
    (lambda c: c[9].metadata["cs231n"].update(id="add"), 9, "already used by cell 4"),
    (lambda c: c[9].metadata["cs231n"].pop("id"), 9, "no test `id`"),
    (lambda c: c[9].metadata["cs231n"].pop("points"), 9, "has no `points`"),
    (lambda c: c[9].metadata["cs231n"].update(points="two"), 9, "must be a number"),
    (lambda c: c[9].metadata["cs231n"].update(id="has space"), 9, "test id"),
    (lambda c: c[9].metadata["cs231n"].update(point=1), 9, "unknown key"),
    (lambda c: setattr(c[3], "source", c[3].source.replace("    ### END SOLUTION", "")), 3, "never closed"),
    (lambda c: setattr(c[6], "source", "### END SOLUTION\nx = 1"), 6, "without a `### BEGIN SOLUTION`"),
    (lambda c: setattr(c[6], "source", "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION"), 6, "inside another"),
    (lambda c: setattr(c[1], "source", "### BEGIN HIDDEN TESTS\nx = 1\n### END HIDDEN TESTS"), 1, "belong in a test cell"),
    (lambda c: setattr(c[9], "source", c[9].source + "\n### BEGIN SOLUTION\n### END SOLUTION"), 9, "solution block"),
    (lambda c: setattr(c[0], "source", "### BEGIN SOLUTION"), 0, "only allowed in code cells"),
    (lambda c: setattr(c[7], "source", "for i in range(2):\n    ### BEGIN HIDDEN TESTS\n    assert i < 2\n"
                                       "    ### END HIDDEN TESTS"), 7, "does not parse as released"),
    (lambda c: setattr(c[12], "source", 'from cs231n_lib.grading import check\ncheck("other.ipynb")'), 12, "must check this notebook"),
    (lambda c: c[7].metadata["cs231n"].update(forbid="cs231n_lib.layers:relu_forward"), 7, "`forbid` must be a list"),
    (lambda c: c[7].metadata["cs231n"].update(forbid=["relu_forward"]), 7, '"package.module:function"'),
])
def test_format_errors_name_the_cell(change, cell, words):
    nb = _broken(change)
    first = next(line.strip() for line in nb.cells[cell].source.splitlines() if line.strip())[:60]
    with pytest.raises(FormatError) as err:
        validate_instructor_notebook(nb, build.BASICS)
    message = str(err.value)
    assert f"cell {cell} (`{first}`)" in message and words in message, message


def test_release_refuses_a_broken_source_and_writes_nothing(tmp_path):
    nb = _broken(lambda c: c[9].metadata["cs231n"].update(id="add"))
    build.write(nb, tmp_path / "src" / build.BASICS)
    with pytest.raises(FormatError, match="already used"):
        release(tmp_path / "src", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_release_and_check_exit_codes(tmp_path, capsys):
    from cs231n_lib.cli import main

    src = build.write_sources(tmp_path / "src")
    assert main(["release", str(src), str(tmp_path / "a"), "--check"]) == 1
    assert main(["release", str(src), str(tmp_path / "a")]) == 0
    assert main(["release", str(src), str(tmp_path / "a"), "--check"]) == 0
    build.write(_broken(lambda c: c[9].metadata["cs231n"].pop("id")), src / build.BASICS)
    assert main(["release", str(src), str(tmp_path / "a")]) == 2
    assert "no test `id`" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# Restoring tests into a submission
# --------------------------------------------------------------------------------------------
def _tests_in_order(restored) -> list[str]:
    return [c.test.test_id for c in restored.cells if c.test is not None]


def _position(restored, needle: str) -> int:
    return next(i for i, c in enumerate(restored.cells) if needle in c.source)


def test_restore_puts_every_test_back_once_after_its_exercise(released):
    layout = basics_layout()
    cases = build.class_submissions(released)
    for student in ("solved", "deleted", "duplicated", "moved", "edited", "untouched"):
        restored = restore_tests(layout, cases[student][build.BASICS])
        assert _tests_in_order(restored) == ["add", "relu", "numpy_fact", "add_hidden"], student
        assert _position(restored, "def add") < _position(restored, "assert add(1, 2)")
        assert _position(restored, "def relu") < _position(restored, "relu(np.array([-1.0")
        # The canonical source, hidden blocks included, is what runs.
        assert build.SECRET in restored.cells[_position(restored, "assert add(1, 2)")].source
        assert restored.cells[-1].source == SELF_CHECK_REMOVED
    facts = {s: restore_tests(layout, cases[s][build.BASICS]).facts
             for s in ("solved", "deleted", "duplicated", "moved", "edited")}
    assert facts == {"solved": {}, "deleted": {"relu": ["deleted"]}, "duplicated": {"numpy_fact": ["duplicated"]},
                     "moved": {"relu": ["moved"]}, "edited": {"add": ["edited"]}}


def test_restore_keeps_student_cells_before_the_test_in_their_gap(released):
    nb = build.solved(released[build.BASICS])
    scratch = {"cell_type": "code", "id": "scratch", "metadata": {}, "outputs": [], "execution_count": None,
               "source": "def relu(x):\n    return abs(x) * 0 + (x > 0) * x"}
    nb["cells"].insert(build.index_of(nb, "relu-test"), scratch)
    del nb["cells"][build.index_of(nb, "relu-test")]           # and the test deleted
    restored = restore_tests(basics_layout(), nb)
    assert _position(restored, "abs(x)") < _position(restored, "relu(np.array([-1.0")
    assert restored.facts == {"relu": ["deleted"]}


def test_restore_finds_landmarks_by_content_when_cell_ids_are_lost(released):
    nb = build.solved(released[build.BASICS])
    moved = nb["cells"].pop(build.index_of(nb, "relu-test"))
    nb["cells"].insert(0, moved)
    for cell in nb["cells"]:
        cell.pop("id", None)
    restored = restore_tests(basics_layout(), nb)
    # The markdown before relu's test was found by content: the test follows relu's exercise.
    assert _position(restored, "def relu") < _position(restored, "relu(np.array([-1.0")
    assert restored.facts["relu"] == ["moved"]


def test_restore_rejects_another_assignment(released):
    with pytest.raises(InvalidSubmission, match="notebook of 02_other.ipynb"):
        restore_tests(basics_layout(), released[build.OTHER])
    anonymous = copy.deepcopy(released[build.OTHER])
    del anonymous["metadata"]["cs231n"]
    with pytest.raises(InvalidSubmission, match="none of the tests"):
        restore_tests(basics_layout(), anonymous)


def test_read_submission_rejects_what_is_not_a_notebook(tmp_path):
    cases = {"bad.ipynb": "{ not json", "list.ipynb": "[1, 2]", "dict.ipynb": '{"a": 1}',
             "v3.ipynb": '{"cells": [], "nbformat": 3}', "bin.ipynb": b"\xff\xfe\x00",
             "cell.ipynb": '{"cells": [{"source": 5}], "nbformat": 4}'}
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        with pytest.raises(InvalidSubmission):
            read_submission(path)


def test_restore_survives_garbage_metadata(released):
    nb = build.solved(released[build.BASICS])
    nb["cells"][0]["id"] = ["not", "a", "string"]
    nb["cells"][build.index_of(nb, "add-test")]["metadata"] = {"cs231n": {"id": {"x": 1}, "points": "lots"}}
    nb["cells"][build.index_of(nb, "ex2")]["metadata"] = "nonsense"
    nb["metadata"] = {"cs231n": ["weird"]}
    restored = restore_tests(basics_layout(), nb)
    assert _tests_in_order(restored) == ["add", "relu", "numpy_fact", "add_hidden"]
    assert restored.facts == {"add": ["edited"]}     # found by its cell id, metadata mangled


def test_instrumented_test_marks_start_hidden_blocks_and_end():
    from cs231n_lib.grading.grader import instrument
    from cs231n_lib.grading.notebook_format import TestSpec

    src = "%%capture\nx = 1\nif x:\n    ### BEGIN HIDDEN TESTS\n    assert x\n    ### END HIDDEN TESTS\nassert x == 1"
    lines = instrument(TestSpec("t", 1.0, src, "c"), "n0", 7).splitlines()
    assert lines[0] == "%%capture" and lines[1].endswith(".mark('n0', '7:start')")
    assert lines[4].startswith("    ") and lines[4].endswith(".mark('n0', '7:hidden')")
    assert lines[6].startswith("    ") and lines[6].endswith(".mark('n0', '7:public')")
    assert lines[-1].endswith(".mark('n0', '7:done')") and "HIDDEN" not in "\n".join(lines)
    public = instrument(TestSpec("t", 1.0, src, "c", run_hidden=False), "n0", 7)
    assert "assert x\n" not in public and "7:hidden" not in public


# --------------------------------------------------------------------------------------------
# Notebooks written for nbgrader
# --------------------------------------------------------------------------------------------
def test_nbgrader_notebook_releases_without_conversion(tmp_path):
    build.write(build.nbgrader_source(), tmp_path / "src" / build.NBGRADER)
    release(tmp_path / "src", tmp_path / "rel")
    text = (tmp_path / "rel" / build.NBGRADER).read_text()
    nb = json.loads(text)
    by_id = {c["id"]: c for c in nb["cells"]}
    assert "return x * x" not in text and "x ** 3" not in text           # both kinds of solution cell
    assert "".join(by_id["cube"]["source"]) == f"raise NotImplementedError({DEFAULT_HINT!r})"
    assert build.NBGRADER_SECRET not in text and build.NBGRADER_ANSWER not in text
    assert "".join(by_id["essay"]["source"]) == "YOUR ANSWER HERE"
    assert by_id["test-square"]["metadata"]["nbgrader"]["grade_id"] == "test_square"   # kept
    layout = instructor_layout(build.nbgrader_source(), build.NBGRADER)
    assert [(t.test_id, t.points) for t in layout.tests] == [("test_square", 2.0), ("test_cube", 1.0)]
    # The released notebook's own layout (the self-check's) and restoring a student's copy work.
    assert [t.test_id for t in notebook_layout(nb, build.NBGRADER).tests] == ["test_square", "test_cube"]
    restored = restore_tests(layout, nb)
    assert _tests_in_order(restored) == ["test_square", "test_cube"] and restored.facts == {}


def test_the_layout_knows_what_the_instructor_imports_and_the_tests_forbid():
    """Tests get the instructor's imports back (whatever a student cell bound to those names),
    except names an exercise defines: those are the student's to give."""
    nb = build.basics_source()
    nb.cells[1].source += "\nimport numpy.linalg\nfrom cs231n_lib.layers import relu_forward as relu"
    layout = instructor_layout(nb, build.BASICS)
    assert layout.bindings == (("np", "numpy", ""), ("numpy", "numpy", ""),
                               ("rel_error", "cs231n_lib.gradient_check", "rel_error"))
    relu = next(t for t in layout.tests if t.test_id == "relu")
    assert relu.forbid == (build.RELU_REFERENCE,) and layout.public_only().tests[1].forbid == relu.forbid
