"""How long grading takes beyond running the students' own code, and a class of 40 in parallel.

    python benchmarks/bench_grading.py                  # fixture notebooks (tests/grading_fixtures)
    python benchmarks/bench_grading.py --source notebooks --notebook 03_conv.ipynb

1. Overhead: ``--repeat`` solved submissions graded one at a time (``jobs=1``). For each, the
   grader's wall clock from reading the file to scoring, minus the time the student's own
   cells took to execute (as nbval timed them): what remains is reading, restoring the
   tests, starting pytest, nbval and a fresh kernel, the guard cells, the tests themselves,
   shutting down and scoring. The target is under 3 s.
2. A class: ``--students`` submissions (a mix of solved, untouched, wrong, tampered, crashing
   and invalid ones) graded with ``--jobs`` at a time; every one must have its row.

With ``--source`` the submissions are copies of the instructor notebook itself (solutions in
place, so a solved submission) or of its released version (untouched).
"""
from __future__ import annotations

import argparse
import csv
import json
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from cs231n_lib.grading import grade, release  # noqa: E402
from cs231n_lib.grading.sandbox import unavailable  # noqa: E402
from grading_fixtures import build  # noqa: E402

MIX = ["solved", "untouched", "wrong", "edited", "deleted", "moved", "duplicated", "sys_exit",
       "os_exit", "monkeypatch", "malformed_json", "wrong_assignment"]


def fixture_class(work: Path, students: int) -> tuple[Path, Path, str]:
    src = build.write_sources(work / "src")
    release(src, work / "rel")
    released = {n: build.read(work / "rel" / n) for n in (build.BASICS, build.OTHER)}
    cases = build.class_submissions(released)
    subs = work / "subs"
    for i in range(students):
        kind = MIX[i % len(MIX)]
        path = subs / f"{kind}-{i:02d}" / build.BASICS
        path.parent.mkdir(parents=True)
        content = cases[kind][build.BASICS]
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    return src, subs, build.BASICS


def real_class(work: Path, source: Path, notebook: str, students: int) -> tuple[Path, Path, str]:
    src = work / "src"
    src.mkdir(parents=True)
    (src / notebook).write_bytes((source / notebook).read_bytes())
    release(src, work / "rel")
    subs = work / "subs"
    for i in range(students):
        origin = src if i % 2 == 0 else work / "rel"   # solved, untouched, alternately
        path = subs / f"{'solved' if i % 2 == 0 else 'untouched'}-{i:02d}" / notebook
        path.parent.mkdir(parents=True)
        path.write_bytes((origin / notebook).read_bytes())
    return src, subs, notebook


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, help="folder of instructor notebooks (default: fixtures)")
    parser.add_argument("--notebook", help="which notebook of --source")
    parser.add_argument("--repeat", type=int, default=8, help="submissions for the overhead")
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        work = Path(tmp)
        if args.source:
            src, subs, notebook = real_class(work / "class", args.source, args.notebook, args.students)
        else:
            src, subs, notebook = fixture_class(work / "class", args.students)

        # 1. Overhead, one submission at a time.
        one = work / "one"
        solved = sorted(p for p in subs.iterdir() if p.name.startswith("solved"))[0] / notebook
        for i in range(args.repeat):
            (one / f"s{i}").mkdir(parents=True)
            (one / f"s{i}" / notebook).write_bytes(solved.read_bytes())
        results = grade(src, one, work / "one.csv", jobs=1, timeout=args.timeout)
        assert all(r.status == "ok" and r.score == r.max_score for r in results), [r.details for r in results]
        overhead = [r.overhead_seconds for r in results]
        print(f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}; "
              f"kernels {'sandboxed (bubblewrap)' if unavailable() is None else 'not sandboxed: ' + unavailable()}")
        print(f"overhead per submission over {len(results)} solved submissions of {notebook} (jobs=1): "
              f"median {statistics.median(overhead):.2f} s, min {min(overhead):.2f} s, max {max(overhead):.2f} s; "
              f"student cells took {statistics.median(r.student_seconds for r in results):.3f} s (median), "
              f"the whole submission {statistics.median(r.seconds for r in results):.2f} s")

        # 2. A class in parallel.
        start = time.monotonic()
        results = grade(src, subs, work / "grades.csv", jobs=args.jobs, timeout=args.timeout)
        wall = time.monotonic() - start
        with open(work / "grades.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        students = sorted(p.name for p in subs.iterdir())
        missing = set(students) - {r["student"] for r in rows}
        statuses = Counter(r["status"] for r in rows)
        print(f"class: {len(students)} submissions, jobs={args.jobs}: {wall:.1f} s wall "
              f"({wall / len(students):.2f} s per submission); rows {len(rows)}, missing {len(missing)}; "
              f"statuses {dict(sorted(statuses.items()))}")
        assert not missing and len(rows) == len(students)
    return 0


if __name__ == "__main__":
    sys.exit(main())
