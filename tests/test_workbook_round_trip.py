"""The workbook's own notebooks through the grader: each instructor notebook, handed in as it
is, earns every point; each released notebook, handed in untouched, earns only the points of
tests that need no exercise (and at least one such test exists per notebook)."""
import shutil
from pathlib import Path

import pytest

from cs231n_lib.grading import grade

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    subs = tmp_path_factory.mktemp("subs")
    for who, folder in (("solved", "notebooks"), ("untouched", "assignments")):
        (subs / who).mkdir()
        for name in NOTEBOOKS:
            shutil.copy(ROOT / folder / name, subs / who / name)
    results = grade(ROOT / "notebooks", subs, subs.parent / "grades.csv", jobs=2)
    return {(r.student, r.notebook): r for r in results}


def test_every_notebook_is_in_the_workbook():
    assert NOTEBOOKS[:4] == ["01_local_connectivity.ipynb", "02_spatial_arrangement.ipynb",
                             "03_parameter_sharing.ipynb", "04_conv_layer.ipynb"]


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
