"""Release, autograde and self-check for notebooks written in the workbook's format.

    from cs231n_lib.grading import release, grade, check

    release("notebooks", "assignments")                    # student versions
    grade("notebooks", "submissions", "grades.csv")        # a class, with nbval
    check("03_conv.ipynb")                                 # a student's self-check

The format is described in ``notebook_format``; the steps of grading in ``grader``. The names
are imported lazily so that ``check`` in a notebook cell costs nothing until it runs.
"""
from __future__ import annotations


def release(src_dir, dst_dir, check=False):
    from .releasing import release as _release
    return _release(src_dir, dst_dir, check=check)


def grade(source, submissions, out="grades.csv", **options):
    from .grader import grade as _grade
    return _grade(source, submissions, out, **options)


def check(path, **options):
    from .selfcheck import check as _check
    return _check(path, **options)


release.__doc__ = "Write the student versions of the notebooks of src_dir into dst_dir (see releasing.release)."
grade.__doc__ = "Grade submissions/<student>/<notebook>.ipynb against source (see grader.grade)."
check.__doc__ = "Print the self-check 'public tests passed: k/n' of a notebook (see selfcheck.check)."

__all__ = ["release", "grade", "check"]
