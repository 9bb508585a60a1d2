"""The student self-check: ``check("03_conv.ipynb")`` in the notebook's last cell, or
``cs231n check 03_conv.ipynb`` in a terminal.

It grades the *saved* notebook with exactly the grader's machinery (restore the tests, run
everything in a fresh kernel under nbval, score all or nothing per test), but with the public
tests only: the layout it restores comes from the notebook's own metadata, written by the
release, and hidden blocks are not in it. It says ``public tests passed: k/n (p of q public points)`` and never "all
tests passed": hidden tests may still fail when the instructor grades.

Called from a cell, it first warns when the kernel ran code that the saved file does not hold
(the student forgot to save). When everything passes it prints that one line and nothing else, so its output is the same
on every run (nbval can compare it). Inside a notebook being graded it does nothing (the
grader replaces self-check cells anyway, and ``CS231N_GRADING=1`` stops a call hidden
elsewhere).
"""
from __future__ import annotations

import os
from pathlib import Path

from .executing import Limits, PrivateDir, prepare_ipython_dir
from .grader import SubmissionResult, grade_notebook
from .notebook_format import FormatError, cell_source, format_points, normalised, notebook_layout
from .restoring import SELF_CHECK_CALL, InvalidSubmission, read_submission
from .sandbox import current as current_sandbox


def run_check(path: str | Path, timeout: float = 120.0, memory_mb: int = 4096,
              total_timeout: float = 1800.0) -> SubmissionResult:
    """Run the public tests of a notebook as the grader would; return the result.

    Raises InvalidSubmission if the file is not a notebook, FormatError if it is an instructor
    notebook that breaks the format."""
    path = Path(path)
    nb = read_submission(path)
    layout = notebook_layout(nb, path.name).public_only()
    limits = Limits(cell_timeout=timeout, total_timeout=total_timeout, memory_mb=memory_mb)
    box, _ = current_sandbox()
    with PrivateDir("cs231n-check-") as private:
        return grade_notebook(layout, path, "self-check", limits, prepare_ipython_dir(private), private, box)


def points_text(points: float) -> str:
    """'1 point', '2.5 points'."""
    return f"{format_points(points)} point" + ("" if points == 1 else "s")


def summary(result: SubmissionResult) -> str:
    """'public tests passed: k/n (p of q public points)', then (only if something is wrong)
    what and why."""
    passed = [t for t in result.tests if t.passed]
    earned, total = sum(t.points for t in passed), sum(t.points for t in result.tests)
    lines = [f"public tests passed: {len(passed)}/{len(result.tests)} "
             f"({format_points(earned)} of {format_points(total)} public point{'' if total == 1 else 's'})"]
    for t in result.tests:
        if not t.passed:
            lines.append(f"  failed: {t.test_id} ({points_text(t.points)})"
                         + (f": {t.message}" if t.message else ""))
    for test_id, facts in result.restored.items():
        lines.append(f"  test {test_id} was {' and '.join(facts)} in your notebook: "
                     "the check used the released test")
    if result.status != "ok" or len(lines) > 1:
        lines += [f"  run: {d}" for d in result.details]
        if result.status != "ok":
            lines.append(f"  status: {result.status}")
        lines.append("The check runs the saved file: save the notebook before checking again.")
    return "\n".join(lines)


UNSAVED_WARNING = ("you have unsaved changes: this kernel ran code that is not in the saved "
                   "notebook. Save with Ctrl-S, then check again (the check reads the saved file).")


def unsaved_code(nb: dict) -> list[str]:
    """The code this IPython session ran that is not in the notebook ``nb`` as saved (empty
    outside IPython). Cells that call the self-check itself do not count."""
    try:
        from IPython import get_ipython
    except ImportError:
        return []
    shell = get_ipython()
    if shell is None:
        return []
    saved = {normalised(cell_source(c)) for c in nb.get("cells", []) if c.get("cell_type") == "code"}
    ran = [normalised(src) for src in shell.history_manager.input_hist_raw]
    return [src for src in ran if src and src not in saved and not SELF_CHECK_CALL.search(src)]


def check(path: str | Path, timeout: float = 120.0, memory_mb: int = 4096) -> None:
    """Print the self-check of the notebook at ``path`` (relative to the notebook's folder when
    called from a cell), warning first when the kernel ran code the saved file does not hold."""
    if os.environ.get("CS231N_GRADING") == "1":
        print("self-check skipped: this notebook is being graded")
        return
    try:
        if unsaved_code(read_submission(path)):
            print(UNSAVED_WARNING)
        result = run_check(path, timeout=timeout, memory_mb=memory_mb)
    except (InvalidSubmission, FormatError) as exc:
        print(f"self-check could not run: {exc}")
        return
    print(summary(result))
