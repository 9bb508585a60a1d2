"""Notebook sources: each notebooks/NN_name.md paired with its executed .ipynb, stable cell ids,
and the round trip an instructor makes (edit the source, sync, grade last week's release)."""
import json
import os
import shutil
from pathlib import Path

import pytest

from cs231n_lib.cli import main
from cs231n_lib.grading import grade, release
from cs231n_lib.grading.authoring import assign_ids, check_pair, sources, sync, sync_one
from cs231n_lib.grading.notebook_format import instructor_layout
from cs231n_lib.grading.restoring import restore_tests

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sources(ROOT / "notebooks")


def _cells(path):
    return json.loads(Path(path).read_text())["cells"]


def test_every_notebook_has_a_source_and_every_source_a_notebook():
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert notebooks, "the workbook has notebooks"
    assert notebooks == [p.stem for p in SOURCES]


@pytest.mark.parametrize("md", SOURCES, ids=lambda p: p.stem)
def test_committed_source_and_notebook_are_in_step(md):
    assert check_pair(md) == []


# --------------------------------------------------------------------------------------------
# Stable ids
# --------------------------------------------------------------------------------------------
def _md(text):
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def _test(test_id, code="assert True"):
    return {"cell_type": "code", "metadata": {"cs231n": {"id": test_id, "points": 1}}, "source": code}


def test_ids_survive_an_inserted_an_edited_and_a_deleted_cell():
    old = [_md("# Title"), _md("intro"), _test("a"), _md("middle"), _md("end")]
    assign_ids(old, [])
    new = [_md("# Title"), _md("a new paragraph"), _md("intro"), _test("a"), _md("middle, edited"),
           _md("end")]
    assign_ids(new, old)
    ids = {c["source"]: c["id"] for c in new}
    old_ids = {c["source"]: c["id"] for c in old}
    assert ids["# Title"] == old_ids["# Title"] and ids["intro"] == old_ids["intro"]
    assert ids["end"] == old_ids["end"]
    assert ids["middle, edited"] == old_ids["middle"], "a cell edited in place keeps its id"
    assert ids["a new paragraph"] not in old_ids.values()
    assert ids["assert True"] == "test-a", "a test cell's id comes from its test id"
    assert len(set(ids.values())) == len(new)


def test_identical_cells_get_distinct_ids_and_test_ids_are_made_safe():
    cells = [_md("same"), _md("same"), _test("q1.b:2")]
    assign_ids(cells, [])
    assert cells[0]["id"] != cells[1]["id"]
    assert cells[2]["id"] == "test-q1-b-2"


# --------------------------------------------------------------------------------------------
# The instructor's round trip
# --------------------------------------------------------------------------------------------
@pytest.fixture
def course(tmp_path):
    """notebooks/01 (source and notebook) copied, released as 'last week's' assignment."""
    src = tmp_path / "notebooks"
    src.mkdir()
    for suffix in (".md", ".ipynb"):
        shutil.copy(ROOT / "notebooks" / f"01_local_connectivity{suffix}", src)
    sync_one(src / "01_local_connectivity.md", execute=False)   # ids as sync gives them
    release(src, tmp_path / "old_release")
    return tmp_path


def _insert_prose_near_the_top(md: Path) -> None:
    """A new markdown cell just after the first one (the title and introduction)."""
    text = md.read_text()
    first_code = text.index("```{code-cell}")
    md.write_text(text[:first_code] + "+++\n\nA paragraph the instructor added this week.\n\n"
                  + text[first_code:])


def test_inserting_a_prose_cell_moves_no_test_of_an_old_submission(course):
    md = course / "notebooks" / "01_local_connectivity.md"
    old_release = json.loads((course / "old_release" / "01_local_connectivity.ipynb").read_text())
    _insert_prose_near_the_top(md)
    os.utime(md.with_suffix(".ipynb"), (1, 1))   # the source is the newer file
    sync_one(md, execute=False)
    new_nb = json.loads(md.with_suffix(".ipynb").read_text())
    assert len(new_nb["cells"]) == len(old_release["cells"]) + 1
    assert "added this week" in "".join(new_nb["cells"][1]["source"])

    layout = instructor_layout(new_nb, md.with_suffix(".ipynb").name)
    restored = restore_tests(layout, old_release)
    assert restored.facts == {} and restored.notes == []
    # every test runs exactly where the student's copy of it stood
    old_code = [c for c in old_release["cells"] if c["cell_type"] == "code"]
    assert len(restored.cells) == len(old_code)
    for run, cell in zip(restored.cells, old_code):
        claimed = cell["metadata"].get("cs231n", {}).get("id")
        assert (run.test.test_id if run.test else None) == claimed


def test_grading_an_untouched_old_release_after_the_insert_reports_nothing(course):
    md = course / "notebooks" / "01_local_connectivity.md"
    _insert_prose_near_the_top(md)
    os.utime(md.with_suffix(".ipynb"), (1, 1))
    sync_one(md, execute=False)
    (course / "notebooks" / "01_local_connectivity.md").unlink()   # the grader reads notebooks only
    student = course / "subs" / "ada"
    student.mkdir(parents=True)
    shutil.copy(course / "old_release" / "01_local_connectivity.ipynb", student)
    [row] = grade(course / "notebooks", course / "subs", course / "grades.csv", jobs=1)
    assert row.status == "ok", row.details
    assert row.restored == {}
    assert {t.test_id for t in row.tests if t.passed} == {"facts"}


def test_check_names_a_source_edited_but_not_synced(course):
    md = course / "notebooks" / "01_local_connectivity.md"
    assert check_pair(md) == []
    md.write_text(md.read_text().replace("# 01 · Local connectivity", "# 01 · Local connectivity!"))
    [problem] = check_pair(md)
    assert "cell 0 differs" in problem
    assert main(["sync", str(course / "notebooks"), "--check"]) == 1


def test_a_notebook_edited_on_its_own_updates_its_source_first(course):
    md, ipynb = course / "notebooks" / "01_local_connectivity.md", course / "notebooks" / "01_local_connectivity.ipynb"
    nb = json.loads(ipynb.read_text())
    nb["cells"][0]["source"] = "# 01 · Local connectivity (edited in JupyterLab)"
    ipynb.write_text(json.dumps(nb))
    os.utime(md, (1, 1))                           # the notebook is the newer file
    _, updated = sync_one(md, execute=False)
    assert updated
    assert "# 01 · Local connectivity (edited in JupyterLab)" in md.read_text()
    assert check_pair(md) == [], "only prose changed: the code cells keep their outputs"


def test_sync_executes_and_the_release_drops_the_pairing(tmp_path):
    src = tmp_path / "notebooks"
    src.mkdir()
    (src / "00_tiny.md").write_text(
        "---\njupytext:\n  formats: ipynb,md:myst\nkernelspec:\n  display_name: Python 3\n"
        "  language: python\n  name: python3\n---\n\n# Tiny\n\n```{code-cell} ipython3\n1 + 1\n```\n")
    report = sync(src, progress=lambda _: None)
    assert report.written == [src / "00_tiny.ipynb"]
    [_, cell] = _cells(src / "00_tiny.ipynb")
    assert "".join(cell["outputs"][0]["data"]["text/plain"]) == "2"
    assert check_pair(src / "00_tiny.md") == []
    release(src, tmp_path / "assignments")
    released = json.loads((tmp_path / "assignments" / "00_tiny.ipynb").read_text())
    assert "jupytext" not in released["metadata"]


def test_the_readme_example_notebook_builds_releases_and_checks(tmp_path):
    """The minimal notebook of the README's authoring section works as the README says."""
    readme = (ROOT / "README.md").read_text()
    example = readme.split("````markdown\n", 1)[1].split("````", 1)[0]
    src = tmp_path / "notebooks"
    src.mkdir()
    (src / "99_relu.md").write_text(example)
    sync(src, progress=lambda _: None)
    nb = json.loads((src / "99_relu.ipynb").read_text())
    last = "".join(nb["cells"][-1]["outputs"][0]["text"])
    assert last == "public tests passed: 1/1 (2 of 2 public points)\n"
    release(src, tmp_path / "assignments")
    assert main(["check", str(tmp_path / "assignments" / "99_relu.ipynb")]) == 1
