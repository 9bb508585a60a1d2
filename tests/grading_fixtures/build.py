"""Fixture notebooks for the grading tests and benchmark, built with nbformat.

Two tiny instructor notebooks (each cell runs in milliseconds):

``01_basics.ipynb`` (8 points)
    add(a, b)      exercise; test ``add`` (2 points, one public and one hidden assertion)
    relu(x)        exercise; test ``relu`` (3 points, public and hidden, with np.testing)
    test ``numpy_fact`` (1 point) needs no exercise: an untouched release earns it
    test ``add_hidden`` (2 points) is all hidden
    a self-check cell

``02_other.ipynb`` (1 point): double(x) and its test.

and one submission per fault the grader must survive (``write_class``).
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

BASICS, OTHER = "01_basics.ipynb", "02_other.ipynb"
BASICS_MAX = 8.0
# Text of a hidden assertion: must never reach a student (released notebook, feedback, CSV).
SECRET = "SECRET-HIDDEN-MESSAGE"
HIDDEN_CODE = "add(-5, 5) == 0"


def _code(cell_id: str, source: str, **meta) -> dict:
    return new_code_cell(source, id=cell_id, metadata={"cs231n": meta} if meta else {})


def _md(cell_id: str, source: str) -> dict:
    return new_markdown_cell(source, id=cell_id)


def _self_check(name: str) -> dict:
    cell = _code("self-check", f'from cs231n_lib.grading import check\ncheck("{name}")', self_check=True)
    cell.metadata["tags"] = ["nbval-ignore-output"]
    return cell


ADD_SOLUTION = '''def add(a, b):
    """Return a + b."""
    ### BEGIN SOLUTION
    ### HINT: Python adds numbers with +
    return a + b
    ### END SOLUTION'''

RELU_SOLUTION = '''def relu(x):
    ### BEGIN SOLUTION
    return np.maximum(x, 0)
    ### END SOLUTION'''


def basics_source() -> dict:
    """The instructor notebook 01_basics.ipynb (solutions and hidden tests)."""
    return new_notebook(cells=[
        _md("intro", "# Basics\nA tiny notebook for testing the grader."),
        _code("setup", "import numpy as np"),
        _md("ex1", "## Exercise 1: add"),
        _code("add-exercise", ADD_SOLUTION),
        _code("add-test", f'assert add(1, 2) == 3, "add(1, 2) should be 3"\n### BEGIN HIDDEN TESTS\n'
                          f'assert {HIDDEN_CODE}, "{SECRET}"\n### END HIDDEN TESTS', id="add", points=2),
        _md("ex2", "## Exercise 2: relu"),
        _code("relu-exercise", RELU_SOLUTION),
        _code("relu-test", "import numpy as np\n"
                           "np.testing.assert_allclose(relu(np.array([-1.0, 2.0])), [0.0, 2.0])\n"
                           "### BEGIN HIDDEN TESTS\n"
                           "np.testing.assert_allclose(relu(np.array([[-3.0], [4.0]])), [[0.0], [4.0]])\n"
                           "### END HIDDEN TESTS", id="relu", points=3),
        _md("fact", "## A fact about NumPy"),
        _code("fact-test", "import sys\nimport warnings\nimport numpy as np\n"
                           "warnings.warn('a warning costs nothing')\nprint('nor does stderr', file=sys.stderr)\n"
                           "assert np.zeros((2, 3)).shape == (2, 3)", id="numpy_fact", points=1),
        _code("add-hidden-test", "### BEGIN HIDDEN TESTS\nassert add(2, 2) == 4\nassert all([add(1, 1) == 2])\n"
                                 "### END HIDDEN TESTS", id="add_hidden", points=2),
        _md("check-md", "## Self-check"),
        _self_check(BASICS),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


def other_source() -> dict:
    """The instructor notebook 02_other.ipynb."""
    return new_notebook(cells=[
        _md("intro", "# Other"),
        _code("double-exercise", "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"),
        # A cell magic must stay the first line; the grader's tokens must escape %%capture.
        _code("double-test", "%%capture\nprint('captured')\nassert double(4) == 8", id="double", points=1),
        _self_check(OTHER),
    ])


def write(nb: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.from_dict(nb), str(path))
    return path


def write_sources(folder: Path) -> Path:
    write(basics_source(), folder / BASICS)
    write(other_source(), folder / OTHER)
    return folder


# --------------------------------------------------------------------------------------------
# Editing a released notebook the way a student would
# --------------------------------------------------------------------------------------------
def read(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def index_of(nb: dict, cell_id: str) -> int:
    return next(i for i, c in enumerate(nb["cells"]) if c.get("id") == cell_id)


def with_sources(nb: dict, **sources: str) -> dict:
    """A copy of ``nb`` with the cells of the given ids (``-`` written ``_``) replaced."""
    nb = copy.deepcopy(nb)
    for cell_id, source in sources.items():
        nb["cells"][index_of(nb, cell_id.replace("_", "-"))]["source"] = source
    return nb


GOOD_ADD = "def add(a, b):\n    return a + b"
GOOD_RELU = "def relu(x):\n    return np.maximum(x, 0)"


def solved(released: dict, add: str = GOOD_ADD, relu: str = GOOD_RELU) -> dict:
    return with_sources(released, add_exercise=add, relu_exercise=relu)


def _without(nb: dict, cell_id: str) -> dict:
    nb = copy.deepcopy(nb)
    del nb["cells"][index_of(nb, cell_id)]
    return nb


def _duplicate(nb: dict, cell_id: str) -> dict:
    nb = copy.deepcopy(nb)
    i = index_of(nb, cell_id)
    twin = copy.deepcopy(nb["cells"][i])
    twin["id"] = cell_id + "-copy"   # JupyterLab gives a pasted cell a new id, keeps metadata
    nb["cells"].insert(i + 1, twin)
    return nb


def _moved_to_top(nb: dict, cell_id: str) -> dict:
    nb = copy.deepcopy(nb)
    cell = nb["cells"].pop(index_of(nb, cell_id))
    nb["cells"].insert(0, cell)
    return nb


def _edited(nb: dict, cell_id: str, source: str, points=None) -> dict:
    nb = copy.deepcopy(nb)
    cell = nb["cells"][index_of(nb, cell_id)]
    cell["source"] = source
    if points is not None:
        cell["metadata"]["cs231n"]["points"] = points
    return nb


MONKEYPATCH = '''import builtins
import numpy as np
import numpy.testing
np.testing.assert_allclose = lambda *args, **kwargs: None
numpy.testing.assert_array_equal = lambda *args, **kwargs: None
np.allclose = lambda *args, **kwargs: True
builtins.all = lambda *args: True
def all(*args):
    return True
def add(a, b):
    return 0
def relu(x):
    return x'''

IPYTHON_TAMPER = '''import sys
import numpy as np
ip = get_ipython()
ip.set_custom_exc((Exception,), lambda *args, **kwargs: None)       # swallow every error
ip.input_transformers_cleanup.append(                              # blank every test
    lambda lines: ["pass\\n"] if any("assert" in line for line in lines) else lines)
def _repatch(*args):
    np.testing.assert_allclose = lambda *a, **k: None
ip.events.register("pre_run_cell", _repatch)
def add(a, b):
    return 0
def relu(x):
    return x'''

STUBBORN_LOOP = GOOD_ADD + '''
import time
while True:            # a loop that swallows the interrupt: the kernel must be killed
    try:
        time.sleep(0.05)
    except KeyboardInterrupt:
        pass'''

RUNAWAY_MEMORY = GOOD_RELU + '''

def _grow():
    blocks = []
    while True:
        blocks.append(bytearray(50 * 2**20))

_grow()'''

ESCAPE = GOOD_ADD + '''
import os, pathlib
for up in range(1, 8):   # ../escape.txt, ../../escape.txt, ...
    pathlib.Path("../" * up + "escape.txt").write_text("escaped")
    pathlib.Path("../" * up + "grades.csv").write_text("student,score\\nescape,1000\\n")
for name in os.listdir("."):   # the notebook being graded
    pathlib.Path(name).write_text("overwritten")
os.chmod(".", 0o500)     # and try to keep the scratch folder from being deleted'''


def class_submissions(released: dict[str, dict]) -> dict[str, dict[str, object]]:
    """student -> {file name: notebook dict, or str for raw file content}: one per fault."""
    basics, other = released[BASICS], released[OTHER]
    good = solved(basics)
    return {
        "solved": {BASICS: good},
        "untouched": {BASICS: basics},
        "wrong": {BASICS: solved(basics, add="def add(a, b):\n    return abs(a) + b",
                                 relu="def relu(x):\n    return x")},
        "malformed_json": {BASICS: '{"cells": [ this is not json'},
        "not_notebook": {BASICS: '{"name": "a JSON file, not a notebook"}'},
        "wrong_assignment": {BASICS: other},
        "edited": {BASICS: _edited(solved(basics, add="def add(a, b):\n    return 0"), "add-test",
                                   "assert True", points=100)},
        "deleted": {BASICS: _without(good, "relu-test")},
        "duplicated": {BASICS: _duplicate(good, "fact-test")},
        "moved": {BASICS: _moved_to_top(good, "relu-test")},
        "infinite_loop": {BASICS: solved(basics, relu="def relu(x):\n    while True:\n        pass")},
        "stubborn_loop": {BASICS: solved(basics, add=STUBBORN_LOOP)},
        "os_exit": {BASICS: solved(basics, add=GOOD_ADD + "\nimport os\nos._exit(1)")},
        "abort": {BASICS: solved(basics, relu=GOOD_RELU + "\nimport os\nos.abort()")},
        "sys_exit": {BASICS: solved(basics, add=GOOD_ADD + "\nimport sys\nsys.exit(3)")},
        "ipython_exit": {BASICS: solved(basics, add=GOOD_ADD + "\nexit()")},
        "memory": {BASICS: solved(basics, relu=RUNAWAY_MEMORY)},
        "big_output": {BASICS: solved(basics, add=GOOD_ADD + "\nfor _ in range(20):\n    print('x' * 1_000_000)\n"
                                                  "import os\nos.write(1, b'y' * 3_000_000)")},
        "escape": {BASICS: solved(basics, add=ESCAPE)},
        "kills_runner": {BASICS: solved(basics, relu=GOOD_RELU + "\nimport os, signal\n"
                                                       "os.kill(os.getppid(), signal.SIGKILL)")},
        "monkeypatch": {BASICS: with_sources(basics, add_exercise=MONKEYPATCH)},
        "ipython_tamper": {BASICS: with_sources(basics, add_exercise=IPYTHON_TAMPER)},
        "only_other": {OTHER: with_sources(other, double_exercise="def double(x):\n    return x + x")},
        "renamed": {"Basics.ipynb": good},
    }


def write_class(folder: Path, released: dict[str, dict], students=None) -> Path:
    """Write ``folder/<student>/<notebook>`` for the fault submissions (or a subset)."""
    for student, files in class_submissions(released).items():
        if students is not None and student not in students:
            continue
        for name, content in files.items():
            path = folder / student / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content if isinstance(content, str) else json.dumps(content, indent=1))
    return folder
