"""The workbook's own notebooks through the grader: each instructor notebook, handed in as it
is, earns every point; each released notebook, handed in untouched, earns only the points of
tests that need no exercise (and at least one such test exists per notebook)."""
import json
import shutil
from pathlib import Path

import pytest

from cs231n_lib.grading import grade

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))


# Exercises answered by calling the library (directly, or through its fast layers): the tests
# forbid it. (notebook -> (exercise cell's start, test id, the cell handed in))
LIBRARY_ANSWERS = {
    "04_conv_layer.ipynb": [
        ("def conv_forward_student", "conv_forward",
         "from cs231n_lib.layers import conv_forward_naive as _answer\n"
         "def conv_forward_student(x, w, b, conv_param):\n    return _answer(x, w, b, conv_param)")],
    "05_pooling.ipynb": [
        ("def max_pool_forward_student", "max_pool_forward",
         "from cs231n_lib import fast_layers\n"
         "def max_pool_forward_student(x, pool_param):\n    return fast_layers.max_pool_forward_fast(x, pool_param)")],
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    subs = tmp_path_factory.mktemp("subs")
    for who, folder in (("solved", "notebooks"), ("untouched", "assignments")):
        (subs / who).mkdir()
        for name in NOTEBOOKS:
            shutil.copy(ROOT / folder / name, subs / who / name)
    (subs / "library").mkdir()
    for name, cases in LIBRARY_ANSWERS.items():
        nb = json.loads((ROOT / "notebooks" / name).read_text())
        for cell in nb["cells"]:
            for start, _, answer in cases:
                if "".join(cell["source"]).startswith(start):
                    cell["source"] = answer
        (subs / "library" / name).write_text(json.dumps(nb))
    results = grade(ROOT / "notebooks", subs, subs.parent / "grades.csv", jobs=2)
    return {(r.student, r.notebook): r for r in results}


def test_the_workbook_has_notebooks():
    assert NOTEBOOKS, "notebooks/ holds the instructor notebooks"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_notebook_has_a_release_and_a_self_check_naming_itself(name):
    assert (ROOT / "assignments" / name).is_file(), f"{name} has no student version: run `make release`"
    cells = json.loads((ROOT / "notebooks" / name).read_text())["cells"]
    checks = [c for c in cells if c.get("metadata", {}).get("cs231n", {}).get("self_check")]
    assert len(checks) == 1, f"{name} needs exactly one self-check cell, has {len(checks)}"
    assert f'check("{name}")' in "".join(checks[0]["source"])
    assert cells[-1] is checks[0], "the self-check is the notebook's last cell"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_instructor_notebook_earns_every_point(graded, name):
    r = graded[("solved", name)]
    assert r.status == "ok", r.details
    assert r.score == r.max_score > 0, [(t.test_id, t.message) for t in r.tests if not t.passed]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_untouched_release_earns_only_the_facts(graded, name):
    r = graded[("untouched", name)]
    assert r.status == "ok", r.details
    passed = {t.test_id for t in r.tests if t.passed}
    failed = [t for t in r.tests if not t.passed]
    assert passed, "every notebook has a test that needs no exercise"
    assert failed, "an untouched release must not pass the exercise tests"
    assert all("NotImplementedError" in (t.message or "") or t.failed_hidden for t in failed), \
        [(t.test_id, t.message) for t in failed]


@pytest.mark.parametrize("name", sorted(LIBRARY_ANSWERS))
def test_the_librarys_own_answer_earns_nothing(graded, name):
    r = graded[("library", name)]
    tests = {t.test_id: t for t in r.tests}
    for _, test_id, _ in LIBRARY_ANSWERS[name]:
        assert not tests[test_id].passed, f"{test_id} passed with the library's answer"
        assert "the library's own answer" in tests[test_id].message, tests[test_id].message
    others = [t for t in r.tests if t.test_id not in {c[1] for c in LIBRARY_ANSWERS[name]}]
    assert all(t.passed for t in others), [(t.test_id, t.message) for t in others if not t.passed]
