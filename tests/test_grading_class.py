"""A class as a whole: a grader stopped by a signal or killed outright loses no finished row and
leaves nothing behind; ``--resume`` completes the rest; shards graded apart and merged give the
table of one run; grading without bubblewrap works and says so; nbgrader notebooks grade."""
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from cs231n_lib.cli import main
from cs231n_lib.grading import grade, release
from cs231n_lib.grading.collecting import parse_shard, shard_of
from cs231n_lib.grading.notebook_format import FormatError
from cs231n_lib.grading.sandbox import unavailable
from grading_fixtures import build

SLOW_MARK = "cs231n-test-slow-kernel"


def _class(root: Path, students: dict[str, str]) -> tuple[Path, Path]:
    """Sources and submissions: student -> "solved", "untouched", "wrong" or "slow"."""
    src = build.write_sources(root / "src")
    release(src, root / "rel")
    released = build.read(root / "rel" / build.BASICS)
    kinds = {
        "solved": build.solved(released),
        "untouched": released,
        "wrong": build.solved(released, add="def add(a, b):\n    return abs(a) + b"),
        # relu's cell starts a process and sleeps: the grader is stopped while it runs
        "slow": build.solved(released, relu=build.GOOD_RELU + "\nimport subprocess, sys, time\n"
                             f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)', {SLOW_MARK!r}])"
                             "\ntime.sleep(100)"),
    }
    for student, kind in students.items():
        (root / "subs" / student).mkdir(parents=True)
        (root / "subs" / student / build.BASICS).write_text(json.dumps(kinds[kind]))
    return src, root / "subs"


def _rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _cli(*args: str, tmp: Path) -> subprocess.Popen:
    env = dict(os.environ, TMPDIR=str(tmp))
    return subprocess.Popen([sys.executable, "-m", "cs231n_lib.cli", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_rows(path: Path, count: int, proc: subprocess.Popen, limit: float = 180) -> None:
    deadline = time.monotonic() + limit
    while len(_rows(path)) < count:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"no {count} rows in {limit} s"
        time.sleep(0.2)
    time.sleep(1.5)     # the next submission's kernel is running


def _slow_processes() -> list:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if SLOW_MARK in (proc.info["cmdline"] or []) and proc.status() != psutil.STATUS_ZOMBIE:
            found.append(proc)
    return found


def _gone_soon(limit: float = 10) -> bool:
    deadline = time.monotonic() + limit
    while _slow_processes() and time.monotonic() < deadline:
        time.sleep(0.2)
    return not _slow_processes()


# --------------------------------------------------------------------------------------------
# Nothing lost
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stopped_grader_keeps_its_rows_leaves_nothing_and_resumes(tmp_path, sig):
    src, subs = _class(tmp_path, {"a": "solved", "b": "untouched", "c": "wrong", "z": "slow"})
    out, tmp = tmp_path / "out" / "grades.csv", tmp_path / "tmp"
    tmp.mkdir()
    args = ["grade", "--source", str(src), str(subs), "--out", str(out), "--jobs", "1", "--timeout", "200"]
    proc = _cli(*args, tmp=tmp)
    _wait_for_rows(out, 3, proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    assert "run the same command with --resume" in err
    before = _rows(out)
    assert [(r["student"], r["score"]) for r in before] == [("a", "8"), ("b", "1"), ("c", "6")]
    assert not list(tmp.iterdir()), "a private folder (hidden tests) was left behind"
    assert _gone_soon(), "a process of the stopped run is still alive"

    proc = _cli(*args, "--resume", "--total-timeout", "8", tmp=tmp)
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    after = _rows(out)
    assert after[:3] == before and [(r["student"], r["status"]) for r in after[3:]] == [("z", "timeout")]
    assert sorted(p.parent.name for p in (out.parent / "feedback").rglob("*.md")) == ["a", "b", "c", "z"]
    assert not list(tmp.iterdir())


def test_a_killed_grader_leaves_a_folder_that_the_next_run_removes(tmp_path):
    src, subs = _class(tmp_path, {"a": "solved", "z": "slow"})
    out, tmp = tmp_path / "grades.csv", tmp_path / "tmp"
    tmp.mkdir()
    args = ["grade", "--source", str(src), str(subs), "--out", str(out), "--jobs", "1", "--timeout", "200"]
    proc = _cli(*args, tmp=tmp)
    _wait_for_rows(out, 1, proc)
    proc.kill()
    proc.communicate()
    assert [r["student"] for r in _rows(out)] == ["a"]          # the finished row survived
    assert [p.name[:13] for p in tmp.iterdir()] == ["cs231n-grade-"]
    if unavailable() is None:   # the sandbox ends with the runner, which ends with the grader
        assert _gone_soon(), "the kernel of a killed grader is still alive"
    proc = _cli(*args, "--resume", "--total-timeout", "8", tmp=tmp)
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    assert [r["student"] for r in _rows(out)] == ["a", "z"]
    assert not list(tmp.iterdir()), "the killed grader's folder is still there"
    for leftover in _slow_processes():
        leftover.kill()


def test_resume_refuses_a_csv_of_another_class(tmp_path):
    src, subs = _class(tmp_path, {"a": "solved"})
    out = tmp_path / "grades.csv"
    out.write_text("student,notebook,status,score,max_score,other,restored,details\n")
    with pytest.raises(FormatError, match="cannot resume"):
        grade(src, subs, out, resume=True)


# --------------------------------------------------------------------------------------------
# Shards
# --------------------------------------------------------------------------------------------
def test_shards_are_stable_and_balanced():
    names = [f"student{i:03d}" for i in range(300)]
    before = {n: shard_of(n, 4) for n in names}
    assert {n: shard_of(n, 4) for n in names + ["newcomer", "late"]} | before == \
        {n: shard_of(n, 4) for n in names + ["newcomer", "late"]}
    counts = [list(before.values()).count(k) for k in (1, 2, 3, 4)]
    assert min(counts) > 50, counts
    # Pinned: a changed hash would move every student of a class between machines.
    assert [shard_of(n, 4) for n in ("alice", "bob", "carol")] == [4, 3, 3]
    assert parse_shard("2/5") == (2, 5)
    for bad in ("0/3", "4/3", "1", "a/b", "1/0"):
        with pytest.raises(ValueError):
            parse_shard(bad)


def test_shards_graded_apart_and_merged_give_the_table_of_one_run(tmp_path, capsys):
    students = {"solved": "solved", "untouched": "untouched", "wrong": "wrong", "o'brien": "solved",
                "edited": "wrong", "moved": "untouched"}
    src, subs = _class(tmp_path, students)
    full = tmp_path / "full.csv"
    grade(src, subs, full, jobs=2)
    shards = [tmp_path / f"shard{k}.csv" for k in (1, 2, 3)]
    for k, path in enumerate(shards, start=1):
        assert main(["grade", "--source", str(src), str(subs), "--out", str(path), "--shard", f"{k}/3",
                     "--jobs", "2"]) == 0
    assert sorted(len(_rows(p)) for p in shards) == sorted(
        [sum(shard_of(s, 3) == k for s in students) for k in (1, 2, 3)])
    merged = tmp_path / "merged.csv"
    assert main(["merge", *map(str, shards), "--out", str(merged)]) == 0
    assert merged.read_text() == full.read_text()

    # What merge refuses: a shard missing, a shard twice, a shard that was stopped early.
    capsys.readouterr()
    bad = tmp_path / "bad.csv"
    assert main(["merge", str(shards[0]), str(shards[1]), "--out", str(bad)]) == 1
    assert "shard(s) 3/3 missing" in capsys.readouterr().err
    assert main(["merge", *map(str, shards), str(shards[0]), "--out", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "duplicate row" in err and "1/3 given twice" in err
    fuller = max(shards, key=lambda p: len(_rows(p)))
    lines = fuller.read_text().splitlines(keepends=True)
    fuller.write_text("".join(lines[:-1]))
    assert main(["merge", *map(str, shards), "--out", str(bad)]) == 1
    assert "missing 1 row(s)" in capsys.readouterr().err
    assert not bad.exists()


# --------------------------------------------------------------------------------------------
# Without bubblewrap
# --------------------------------------------------------------------------------------------
def test_without_bubblewrap_grading_works_and_says_what_is_off(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CS231N_BWRAP", str(tmp_path / "no-such-bwrap"))
    assert unavailable() == "bubblewrap (bwrap) is not installed"
    src, subs = _class(tmp_path, {"a": "solved", "b": "untouched"})
    results = grade(src, subs, tmp_path / "grades.csv", jobs=2)
    assert [r.score for r in results] == [8, 1]
    for r in results:
        assert "not sandboxed (bubblewrap (bwrap) is not installed)" in " | ".join(r.details)
    assert capsys.readouterr().err.count("not sandboxed") == 1
    with pytest.raises(FormatError, match="the sandbox is required"):
        grade(src, subs, tmp_path / "again.csv", sandbox="require")


# --------------------------------------------------------------------------------------------
# nbgrader
# --------------------------------------------------------------------------------------------
def test_nbgrader_notebooks_grade_without_conversion(tmp_path):
    src = tmp_path / "src"
    build.write(build.nbgrader_source(), src / build.NBGRADER)
    release(src, tmp_path / "rel")
    for student, origin in (("solved", src), ("untouched", tmp_path / "rel")):
        (tmp_path / "subs" / student).mkdir(parents=True)
        (tmp_path / "subs" / student / build.NBGRADER).write_bytes((origin / build.NBGRADER).read_bytes())
    results = {r.student: r for r in grade(src, tmp_path / "subs", tmp_path / "out" / "grades.csv", jobs=2)}
    assert (results["solved"].score, results["solved"].max_score) == (3, 3)
    assert results["untouched"].score == 0
    assert _rows(tmp_path / "out" / "grades.csv")[0]["test_square"] == "2"
    feedback = "".join(p.read_text() for p in (tmp_path / "out" / "feedback").rglob("*.md"))
    assert build.NBGRADER_SECRET not in feedback
