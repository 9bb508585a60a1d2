"""The ``sync``, ``release``, ``grade``, ``merge`` and ``check`` subcommands of the ``cs231n``
command.

Exit codes: 0 done; 1 ``release --check`` found ``assignments/`` out of date, ``check`` found a
public test failing, ``sync --check`` found a source and its notebook out of step, or ``merge``
found rows missing or twice; 2 a usage or format error (a broken instructor notebook, a missing
folder). ``grade`` exits 0 whatever the students' results: every row is in the CSV; stopped by
SIGINT or SIGTERM it exits 130 or 143, with the finished rows in the CSV (``--resume``).
"""
from __future__ import annotations

import argparse
import os
import sys
from collections import Counter

from .notebook_format import FormatError, format_points


def _release(args: argparse.Namespace) -> int:
    from .releasing import release

    try:
        report = release(args.src, args.dst, check=args.check)
    except FormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        for path in report.written:
            print(f"out of date: {path}")
        for path in report.removed:
            print(f"no longer released: {path}")
        if report.changes:
            print(f"{args.dst} is not up to date: run `cs231n release {args.src} {args.dst}`")
            return 1
        print(f"{args.dst} is up to date ({len(report.unchanged)} notebooks)")
        return 0
    print(f"released {len(report.written) + len(report.unchanged)} notebooks into {args.dst}: "
          f"{len(report.written)} written, {len(report.unchanged)} unchanged, {len(report.removed)} removed")
    return 0


def _grade(args: argparse.Namespace) -> int:
    from .grader import grade

    done = [0]

    def progress(r) -> None:
        done[0] += 1
        print(f"[{done[0]}] {r.student}/{r.notebook}: {r.status} {format_points(r.score)}/"
              f"{format_points(r.max_score)} ({r.seconds:.1f} s)", file=sys.stderr, flush=True)

    from .collecting import parse_shard
    from .grader import GradingStopped

    try:
        shard = parse_shard(args.shard) if args.shard else None
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        results = grade(args.source, args.submissions, args.out, timeout=args.timeout, jobs=args.jobs,
                        memory_mb=args.memory, total_timeout=args.total_timeout,
                        feedback=args.feedback, progress=progress, shard=shard, resume=args.resume,
                        sandbox=args.sandbox)
    except FormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except GradingStopped as exc:
        print(f"{exc}: the {done[0]} submission(s) finished are in {args.out}; run the same command "
              "with --resume to grade the rest", file=sys.stderr)
        return 128 + exc.signum
    counts = Counter(r.status for r in results)
    feedback = args.feedback or os.path.join(os.path.dirname(args.out) or ".", "feedback")
    print(f"graded {len(results)} submissions ({', '.join(f'{n} {s}' for s, n in sorted(counts.items()))}); "
          f"wrote {args.out} and {feedback}/")
    return 0


def _merge(args: argparse.Namespace) -> int:
    from .reports import merge

    problems = merge(args.csvs, args.out)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        print(f"{args.out} not written: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"merged {len(args.csvs)} CSVs into {args.out}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from .restoring import InvalidSubmission
    from .selfcheck import run_check, summary

    try:
        result = run_check(args.notebook, timeout=args.timeout, memory_mb=args.memory)
    except (InvalidSubmission, FormatError) as exc:
        print(f"self-check could not run: {exc}")
        return 2
    print(summary(result))
    return 0 if result.status == "ok" and all(t.passed for t in result.tests) else 1


def _sync(args: argparse.Namespace) -> int:
    from .authoring import sync

    try:
        report = sync(args.folder, only=args.only, check=args.check, execute=not args.no_execute,
                      timeout=args.timeout)
    except FormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check:
        for problem in report.problems:
            print(f"out of step: {problem}")
        if report.problems:
            print(f"sources and notebooks of {args.folder} disagree: run `cs231n sync {args.folder}`")
            return 1
        print(f"{args.folder}: every source is in step with its executed notebook")
    return 0


def register(sub) -> None:
    """Add ``sync``, ``release``, ``grade``, ``merge`` and ``check`` to the ``cs231n`` command's
    subparsers."""
    p = sub.add_parser("release", help="write the student versions of the instructor notebooks")
    p.add_argument("src", help="folder of instructor notebooks (e.g. notebooks/)")
    p.add_argument("dst", help="folder for the student notebooks (e.g. assignments/)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if DST is not what the release would write")
    p.set_defaults(func=_release)

    p = sub.add_parser("sync", help="write and execute each notebook from its MyST source (NN_name.md)")
    p.add_argument("folder", help="folder of sources and notebooks (e.g. notebooks/)")
    p.add_argument("only", nargs="*", help="notebooks whose names start with these (e.g. 02 04)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if a source and its notebook disagree")
    p.add_argument("--no-execute", action="store_true", help="write the cells, do not run them")
    p.add_argument("--timeout", type=int, default=600, metavar="SECONDS", help="time limit per cell")
    p.set_defaults(func=_sync)

    p = sub.add_parser("grade", help="grade SUBMISSIONS/<student>/<notebook>.ipynb with nbval")
    p.add_argument("--source", required=True, help="folder of instructor notebooks")
    p.add_argument("submissions", help="folder with one sub-folder per student")
    p.add_argument("--out", default="grades.csv", help="CSV to write (default: grades.csv)")
    p.add_argument("--feedback", default=None,
                   help="folder for feedback files (default: feedback/ beside the CSV)")
    p.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS",
                   help="time limit per cell (default: 120)")
    p.add_argument("--total-timeout", type=float, default=1800.0, metavar="SECONDS",
                   help="time limit per notebook (default: 1800)")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="submissions graded at once (default: number of CPU cores)")
    p.add_argument("--memory", type=int, default=4096, metavar="MB",
                   help="memory (address space) limit per notebook, 0 for none (default: 4096)")
    p.add_argument("--shard", metavar="K/N",
                   help="grade only shard K of N of the student folders (by a hash of the name); "
                        "join the shards' CSVs with `cs231n merge`")
    p.add_argument("--resume", action="store_true",
                   help="keep the rows already in --out (a run that was stopped), grade the rest")
    p.add_argument("--sandbox", choices=("auto", "require", "off"), default="auto",
                   help="run each kernel in bubblewrap: where it works (auto, the default), "
                        "always (require: stop if it cannot), or never (off)")
    p.set_defaults(func=_grade)

    p = sub.add_parser("merge", help="join the grades CSVs of shards (grade --shard K/N)")
    p.add_argument("csvs", nargs="+", help="the shards' CSVs")
    p.add_argument("--out", required=True, help="the CSV to write")
    p.set_defaults(func=_merge)

    p = sub.add_parser("check", help="run the public tests of a notebook as the grader does")
    p.add_argument("notebook", help="the notebook file (it is checked as saved)")
    p.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS", help="time limit per cell")
    p.add_argument("--memory", type=int, default=4096, metavar="MB", help="memory limit, 0 for none")
    p.set_defaults(func=_check)
