"""Fixture notebooks for the grading tests and benchmark, built with nbformat.

Two tiny instructor notebooks (each cell runs in milliseconds):

``01_basics.ipynb`` (8 points)
    add(a, b)      exercise; test ``add`` (2 points, one public and one hidden assertion)
    relu(x)        exercise; test ``relu`` (3 points, public and hidden, with np.testing)
    test ``numpy_fact`` (1 point) needs no exercise: an untouched release earns it
    test ``add_hidden`` (2 points) is all hidden
    a self-check cell

``02_other.ipynb`` (1 point): double(x) and its test.

and the cheat zoo (``write_class``): one submission per fault the grader must survive and per
cheat it must defeat, each with the outcome a fair grader gives (tests/test_grading_faults.py):

* faults: malformed files, loops, dying kernels, memory, output, tests edited or moved;
* leaks: reading the instructor notebook, a classmate's, the grades, the grader's private
  folder, other processes, the hidden source through frames or ``linecache``;
* harm to others: overwriting a classmate's submission or the source, writing outside its
  folder, the network, a process that outlives the kernel;
* lost rows: symbolic and hard links, a fifo, dot-folders, names that are not UTF-8 or that
  collide once made safe for a file name;
* hostile text: markup in a claimed test id, an error message, a cell's first line, a name.

A cheat earns the points of ``add`` (or ``relu``) only if it worked: ``LEAKED`` decides which
``add`` it defines. Cheats that need the class's paths get them from ``ClassPaths``.
"""
from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

BASICS, OTHER = "01_basics.ipynb", "02_other.ipynb"
BASICS_MAX = 8.0
# Text of a hidden assertion: must never reach a student (released notebook, feedback, CSV).
SECRET = "SECRET-HIDDEN-MESSAGE"
RELU_REFERENCE = "cs231n_lib.layers:relu_forward"
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
        _code("setup", "import numpy as np\nfrom cs231n_lib.gradient_check import rel_error"),
        _md("ex1", "## Exercise 1: add"),
        _code("add-exercise", ADD_SOLUTION),
        _code("add-test", f'assert add(1, 2) == 3, "add(1, 2) should be 3"\n### BEGIN HIDDEN TESTS\n'
                          f'assert {HIDDEN_CODE}, "{SECRET}"\n### END HIDDEN TESTS', id="add", points=2),
        _md("ex2", "## Exercise 2: relu"),
        _code("relu-exercise", RELU_SOLUTION),
        # The hidden check compares with the library's relu, which relu itself must not call;
        # rel_error comes from the set-up cell.
        _code("relu-test", "import numpy as np\n"
                           "np.testing.assert_allclose(relu(np.array([-1.0, 2.0])), [0.0, 2.0])\n"
                           "### BEGIN HIDDEN TESTS\n"
                           "from cs231n_lib.layers import relu_forward\n"
                           "x2 = np.array([[-3.0], [4.0]])\n"
                           "assert rel_error(relu(x2), relu_forward(x2)[0]) < 1e-12\n"
                           "### END HIDDEN TESTS", id="relu", points=3, forbid=[RELU_REFERENCE]),
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


NBGRADER = "03_nbgrader.ipynb"
NBGRADER_SECRET = "NBGRADER-HIDDEN-CHECK"
NBGRADER_ANSWER = "The model answer the students must not see."


def _nbgrader(cell_id: str, source: str, markdown: bool = False, **meta) -> dict:
    """A cell as nbgrader's "Create Assignment" toolbar writes it (schema version 3)."""
    entry = {"grade": False, "locked": False, "solution": False, "schema_version": 3, "task": False, **meta}
    cell = (new_markdown_cell if markdown else new_code_cell)(source, id=cell_id)
    cell.metadata["nbgrader"] = entry
    return cell


def nbgrader_source() -> dict:
    """An instructor notebook written for nbgrader: cs231n metadata nowhere."""
    return new_notebook(cells=[
        _md("intro", "# Squares (an nbgrader assignment)"),
        _nbgrader("imports", "import numpy as np", locked=True, grade_id="imports"),
        _nbgrader("square", "def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION",
                  solution=True, grade_id="square"),
        _nbgrader("cube", "def cube(x):\n    return x ** 3", solution=True, grade_id="cube"),  # no markers
        _nbgrader("test-square", "assert square(3) == 9\n### BEGIN HIDDEN TESTS\n"
                                 f"assert square(-2) == 4, {NBGRADER_SECRET!r}\n### END HIDDEN TESTS",
                  grade=True, locked=True, points=2, grade_id="test_square"),
        _nbgrader("test-cube", "assert cube(2) == 8", grade=True, locked=True, points=1, grade_id="test_cube"),
        _nbgrader("essay", NBGRADER_ANSWER, markdown=True, solution=True, grade=True, points=3,
                  grade_id="essay"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


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


@dataclass(frozen=True)
class ClassPaths:
    """Where a class lies, for the cheats that aim at absolute paths."""
    root: Path
    src: Path
    subs: Path
    out: Path
    port: int = 0          # a TCP port on 127.0.0.1 that accepts connections (network cheat)


# Markers of the processes and files the cheats leave, so that tests can look for them.
DETACHED_MARK = "cs231n-zoo-detached-process"
WRITTEN_NAME = "written-by-a-cheat.txt"


def _if_leaked(probe: str, exercise: str = "add") -> str:
    """An exercise cell that runs ``probe`` (which sets LEAKED) and solves the exercise only
    if the probe worked."""
    good = {"add": "a + b", "relu": "np.maximum(x, 0)"}[exercise]
    bad = {"add": "0", "relu": "x"}[exercise]
    args = {"add": "a, b", "relu": "x"}[exercise]
    return (f"LEAKED = False\n{probe}\n"
            f"def {exercise}({args}):\n    return {good} if LEAKED else {bad}")


def _try(body: str) -> str:
    return "try:\n" + "".join(f"    {line}\n" for line in body.splitlines()) + "except Exception:\n    pass"


FRAME_LEAK = '''import linecache, sys
def add(a, b):
    # The public check calls add: the whole test cell, hidden block included, is in linecache
    # while it runs (for tracebacks); raise it back in the failure message.
    raise AssertionError(" ".join(linecache.getlines(sys._getframe(1).f_code.co_filename)))'''

FORGED_MARK = '''import linecache, re, sys
def add(a, b):
    if a == -5:      # called from the hidden block: print the mark that ends it, then fail
        source = "".join(linecache.getlines(sys._getframe(1).f_code.co_filename))
        for nonce, mark in re.findall(r"mark\\('([0-9a-f]+)', '([0-9]+:public)'\\)", source):
            print(f"\\x1ecs231n:{nonce}:{mark}")
        raise AssertionError(source.encode().hex())      # not verbatim: hex
    return a + b'''

SILENCED_MARK = '''import sys
def add(a, b):
    # Stop the grader's hidden-block marks, so that the hidden failure looks public.
    sys.modules["cs231n_lib.grading.guard"].mark = lambda *args: None
    if a == -5:
        raise AssertionError("leak: " + " ".join(c for c in sys._getframe(1).f_code.co_consts
                                                 if isinstance(c, str)))
    return a + b'''

# (The secret is put together at run time: this cell's own source, in linecache too, must not
# hold it.)
LINECACHE_LEAK = _if_leaked("import linecache\n" + _try(
    f"LEAKED = any({SECRET[:7]!r} + {SECRET[7:]!r} in ''.join(entry[2]) for entry in linecache.cache.values() "
    "if len(entry) > 2)"), "relu")

# relu right on the public 1-D check only; each cheat then tries to pass the hidden 2-D one.
HALF_RELU = "def relu(x):\n    return np.maximum(x, 0) if x.ndim == 1 else x"

REBINDS_HELPER = HALF_RELU + "\nrel_error = lambda x, y: 0.0        # the helper the hidden check uses"

CODE_SWAP = HALF_RELU + """
import cs231n_lib.gradient_check
cs231n_lib.gradient_check.rel_error.__code__ = (lambda x, y: 0.0).__code__"""

DISPATCH_PATCH = """def relu(x):
    return x
import numpy as np
# NumPy's dispatchers run a Python implementation: change its code, not the dispatcher.
np.isclose._implementation.__code__ = (lambda a, b, rtol=0, atol=0, equal_nan=False: np.ones(np.shape(a), bool)).__code__
np.max._implementation.__code__ = (lambda a, axis=None, out=None, keepdims=False, initial=None, where=True: 0.0).__code__"""

COMPILE_SWAP = """def add(a, b):
    return 0
import ast
ip = get_ipython()
class _NoAsserts(type(ip.compile)):      # compiles every later cell with its asserts removed
    def __call__(self, source, filename, symbol):
        return compile(source, filename, symbol, self.flags, True, optimize=1)
ip.compile.__class__ = _NoAsserts"""

CLASS_PATCH = """def add(a, b):
    return 0
import ast
class _DropAsserts(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.Pass()
shell_class = type(get_ipython())
for cls in shell_class.__mro__:           # on the class, not the instance
    if "transform_ast" in vars(cls):
        _original = vars(cls)["transform_ast"]
        cls.transform_ast = lambda self, node: _original(self, ast.fix_missing_locations(_DropAsserts().visit(node)))
        break"""

MID_TEST_TAMPER = """def relu(x):
    if x.ndim == 2:   # called by the hidden check: make its comparison always pass, then answer wrong
        import cs231n_lib.gradient_check
        cs231n_lib.gradient_check.rel_error.__code__ = (lambda x, y: 0.0).__code__
        return x
    return np.maximum(x, 0)"""

REFERENCE_RELU = """from cs231n_lib.layers import relu_forward as _library_relu
def relu(x):
    return _library_relu(x)[0]"""

LATER_LEAK = GOOD_ADD.replace("    return a + b", """    global STOLEN
    if a == -5:        # called by add's hidden check: keep its source, hex-encoded, for later
        STOLEN = " ".join(c for c in sys._getframe(1).f_code.co_consts if isinstance(c, str)).encode().hex()
    return a + b""").replace("def add", "import sys\nSTOLEN = ''\ndef add") + """
def relu(x):
    raise AssertionError(STOLEN)         # a public failure, later, carrying it out"""

HOSTILE_MESSAGE = '''def add(a, b):
    raise AssertionError("<script>alert('x')</script> **bold** [click](http://example.com) | a | `code` & \\n# heading")'''

HOSTILE_ID = "<img src=x onerror=alert(1)>`|[x](y)"
HOSTILE_FIRST_LINE = "# <b>bold</b> | `tick` [x](http://example.com) *em*"


def cheat_submissions(released: dict[str, dict], paths: ClassPaths) -> dict[str, dict[str, object]]:
    """The cheats that aim at the class's files, the network and other processes."""
    basics = released[BASICS]
    good = solved(basics)
    source, classmate = paths.src / BASICS, paths.subs / "solved" / BASICS
    victim = paths.subs / "victim" / BASICS
    detached = (f"import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', "
                f"{DETACHED_MARK!r}], start_new_session=True, env={{}}, stdin=subprocess.DEVNULL, "
                "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\nLEAKED = True")
    probes = {
        "reads_source": _try(f"LEAKED = 'BEGIN HIDDEN TESTS' in open({str(source)!r}).read()"),
        "reads_classmate": _try(f"LEAKED = len(open({str(classmate)!r}).read()) > 0"),
        "reads_grades": _try(f"import os\nLEAKED = os.path.isdir({str(paths.out)!r}) and len(os.listdir({str(paths.out)!r})) > 0"),
        "reads_private": _try("import glob, tempfile\nLEAKED = any(" + repr(SECRET) + " in open(p).read() for p in "
                              "glob.glob(tempfile.gettempdir() + '/cs231n-grade-*/**/*.ipynb', recursive=True) + "
                              "glob.glob('/tmp/cs231n-grade-*/**/*.ipynb', recursive=True))"),
        "proc_snoop": _try("import glob\nLEAKED = any(b'nbval_runner' in open(p, 'rb').read() "
                           "for p in glob.glob('/proc/[0-9]*/cmdline'))"),
        "network": _try(f"import socket\nsocket.create_connection(('127.0.0.1', {paths.port}), timeout=3).close()\n"
                        "LEAKED = True"),
        "writes_outside": _try(f"open({str(paths.root / WRITTEN_NAME)!r}, 'w').write('escaped')\nLEAKED = True"),
        "writes_source": _try(f"import json\nnb = json.load(open({str(source)!r}))\n"
                              f"nb['cells'] = nb['cells'][:4]\njson.dump(nb, open({str(source)!r}, 'w'))\nLEAKED = True"),
        "overwrites_classmate": _try(f"open({str(victim)!r}, 'w').write(open({str(classmate)!r}).read())\n"
                                     "LEAKED = True"),
        "detached": _try(detached),
    }
    cases = {name: {BASICS: with_sources(good, add_exercise=_if_leaked(probe))} for name, probe in probes.items()}
    cases["victim"] = {BASICS: basics}          # untouched: 1 point, whatever the others do
    return cases


def class_submissions(released: dict[str, dict], paths: ClassPaths | None = None) -> dict[str, dict[str, object]]:
    """student -> {file name: notebook dict, or str for raw file content}: one per fault and
    per cheat (those aiming at the class's files only with ``paths``)."""
    basics, other = released[BASICS], released[OTHER]
    good = solved(basics)
    claims = copy.deepcopy(good)
    claims["cells"].insert(1, new_code_cell("x = 1", id="claimer", metadata={"cs231n": {"id": HOSTILE_ID, "points": 99}}))
    cases = {
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
        # Leaks of the hidden tests through the kernel itself.
        "frame_leak": {BASICS: with_sources(good, add_exercise=FRAME_LEAK)},
        "forged_mark": {BASICS: with_sources(good, add_exercise=FORGED_MARK)},
        "silenced_mark": {BASICS: with_sources(good, add_exercise=SILENCED_MARK)},
        "linecache_leak": {BASICS: with_sources(good, relu_exercise=LINECACHE_LEAK)},
        "later_leak": {BASICS: with_sources(good, add_exercise=LATER_LEAK, relu_exercise="pass")},
        # Verdicts forged from inside the kernel.
        "rebinds_helper": {BASICS: with_sources(good, relu_exercise=REBINDS_HELPER)},
        "code_swap": {BASICS: with_sources(good, relu_exercise=CODE_SWAP)},
        "dispatch_patch": {BASICS: with_sources(good, relu_exercise=DISPATCH_PATCH)},
        "compile_swap": {BASICS: with_sources(good, add_exercise=COMPILE_SWAP)},
        "class_patch": {BASICS: with_sources(good, add_exercise=CLASS_PATCH)},
        "mid_test_tamper": {BASICS: with_sources(good, relu_exercise=MID_TEST_TAMPER)},
        "reference_relu": {BASICS: with_sources(good, relu_exercise=REFERENCE_RELU)},
        # Hostile text.
        "hostile_message": {BASICS: with_sources(good, add_exercise=HOSTILE_MESSAGE)},
        "hostile_id": {BASICS: claims},
        "hostile_first_line": {BASICS: with_sources(good, relu_exercise=HOSTILE_FIRST_LINE + "\n" + GOOD_RELU
                                                    + "\nimport os\nos._exit(1)")},
        "`mallory` <b>|*x*": {BASICS: good},
        # Names: a dot-folder, two names that collide once made safe for a file name.
        ".dotted": {BASICS: good},
        "o'brien": {BASICS: good},
        "o_brien": {BASICS: basics},
    }
    if paths is not None:
        cases.update(cheat_submissions(released, paths))
    return cases


UNDECODABLE = b"caf\xe9"            # a folder name that is not UTF-8 (Latin-1 "café")
UNDECODABLE_NOTEBOOK = b"\xff.ipynb"


def write_class(folder: Path, released: dict[str, dict], students=None, paths: ClassPaths | None = None) -> Path:
    """Write ``folder/<student>/<notebook>`` for the zoo (or a subset), and, with ``paths``,
    the cases made of the file system itself: links, a fifo, a name that is not UTF-8."""
    for student, files in class_submissions(released, paths).items():
        if students is not None and student not in students:
            continue
        for name, content in files.items():
            path = folder / student / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content if isinstance(content, str) else json.dumps(content, indent=1))
    if paths is None:
        return folder
    good = json.dumps(solved(released[BASICS]), indent=1)
    (folder / "symlink_folder").symlink_to(folder / "solved", target_is_directory=True)
    (folder / "symlink_source").mkdir()
    (folder / "symlink_source" / BASICS).symlink_to(paths.src / BASICS)
    (folder / "hardlink_source").mkdir()
    try:
        os.link(paths.src / BASICS, folder / "hardlink_source" / BASICS)
    except OSError:          # another file system: a copy, which is graded (full marks)
        (folder / "hardlink_source" / BASICS).write_bytes((paths.src / BASICS).read_bytes())
    (folder / "fifo").mkdir()
    os.mkfifo(folder / "fifo" / BASICS)
    raw = os.path.join(os.fsencode(folder), UNDECODABLE)
    os.mkdir(raw)
    with open(os.path.join(raw, BASICS.encode()), "w") as f:
        f.write(good)
    os.mkdir(os.path.join(os.fsencode(folder), b"bad_notebook_name"))
    with open(os.path.join(os.fsencode(folder), b"bad_notebook_name", UNDECODABLE_NOTEBOOK), "w") as f:
        f.write(good)
    return folder
