"""What was handed in: the student folders, their names, private copies of their notebooks.

``collect`` turns ``SUBMISSIONS/<student>/<notebook>.ipynb`` into one ``Job`` per row of the
grades, and copies every notebook it will grade into the grader's private folder *before any
student code runs*: a notebook that overwrites a classmate's file, or the instructor's, when its
turn comes changes nothing.

Every folder gets rows, dot-folders included; what is not graded is refused with a reason:

* a student folder or a notebook that is a symbolic link (it could point at the instructor's
  notebook, or at another student's), a notebook that is not a regular file (a fifo would hang
  the grader), or the instructor's own notebook file under another name (a hard link): status
  ``refused``;
* a file too large to be a notebook: ``invalid``.

Names come from the file system, which does not promise text: a folder name that is not valid
UTF-8 is shown in a visible escaped form (``caf\\xe9``); two names that would look the same get
a short hash, so every folder keeps a row and a feedback file of its own (``feedback_name``).

``shard_of`` assigns each student folder to one of N shards by a hash of its name, so that
``grade --shard K/N`` grades a fixed part of the class and adding a student moves no one else.
"""
from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

MAX_NOTEBOOK_MB = 200          # a larger file is not a notebook a student wrote
SAFE_CHARS = "-_.@+ "          # besides letters and digits, kept in file names as they are
HASH_MARK = "~"                # never in a safe name: separates an altered name from its hash


@dataclass
class Job:
    """One row of the grades: a student's notebook to grade, or why there is nothing to grade."""
    student: str                   # the student's name as the CSV shows it (unique)
    notebook: str                  # file name as the CSV shows it
    path: Path | None = None       # the grader's private copy (None: nothing to grade)
    status: str | None = None      # "missing", "refused" or "invalid" when not graded
    reason: str = ""               # why, for the row's details

    @property
    def key(self) -> tuple[str, str]:
        return self.student, self.notebook


def visible(name: str) -> str:
    """A file name as text: an undecodable byte (kept by Python as a surrogate escape) becomes
    ``\\xNN``; a name that is valid UTF-8 is unchanged."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:8]


def file_label(name: str) -> str:
    """``name`` as one file-name component: letters, digits and ``-_.@+`` and spaces kept, the
    rest replaced by ``_``. A name that had to change gets ``~`` and a hash of the original, so
    ``o'brien`` (``o_brien~1c0f...``) and ``o_brien`` never share a file."""
    safe = "".join(c if c.isalnum() or c in SAFE_CHARS else "_" for c in name).strip(". ") or "_"
    return safe if safe == name else f"{safe}{HASH_MARK}{_hash(name)}"


def feedback_name(student: str, notebook: str) -> Path:
    """The feedback file of a row, relative to the feedback folder."""
    stem = notebook[: -len(".ipynb")] if notebook.endswith(".ipynb") else notebook
    return Path(file_label(student)) / (file_label(stem) + ".md")


def shard_of(name: str, shards: int) -> int:
    """The shard (1..shards) of a student folder: a stable hash of its name, so the same folder
    lands in the same shard on every machine, whatever else the class holds."""
    digest = hashlib.sha256(os.fsencode(name)).digest()
    return int.from_bytes(digest[:8], "big") % shards + 1


def parse_shard(text: str) -> tuple[int, int]:
    """'2/5' -> (2, 5); ValueError unless 1 <= K <= N."""
    k, sep, n = text.partition("/")
    try:
        k, n = int(k), int(n)
    except ValueError:
        raise ValueError(f"--shard {text!r}: expected K/N, e.g. 1/4") from None
    if not sep or n < 1 or not 1 <= k <= n:
        raise ValueError(f"--shard {text!r}: K must be between 1 and N, e.g. 1/4 ... 4/4")
    return k, n


def _copy(folder_fd: int, name: str, target: Path) -> str | None:
    """Copy one notebook (never following a link); None, or why it is not graded."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder_fd)
    except OSError as exc:
        return f"cannot read the file ({exc.strerror})"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return "not a regular file"
        if info.st_size > MAX_NOTEBOOK_MB * 2**20:
            return f"the file is larger than {MAX_NOTEBOOK_MB} MB: not a notebook"
        with os.fdopen(os.dup(fd), "rb") as src, open(target, "wb") as dst:
            while chunk := src.read(2**20):
                dst.write(chunk)
    except OSError as exc:
        return f"cannot read the file ({exc.strerror})"
    finally:
        os.close(fd)
    return None


def _unique(labels: list[str], names: list[str]) -> list[str]:
    """Labels made unique: one shared by several names gets a hash of each name."""
    seen: dict[str, int] = {}
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
    return [f"{label}{HASH_MARK}{_hash(name)}" if seen[label] > 1 else label
            for label, name in zip(labels, names)]


def collect(layouts, submissions: Path, inbox: Path, shard: tuple[int, int] | None = None,
            source_files: list[Path] = ()) -> tuple[list[Job], list[str], list[str]]:
    """The rows to grade, the expected notebooks, and warnings about what is not a student's
    folder.

    Every expected notebook (a source notebook that at least one student handed in, in any
    shard) gets a row per student: ``missing`` if absent. A notebook with a name the source
    does not have gets an ``invalid`` row, so that nothing handed in is silently left out.
    Notebooks to grade are copied into ``inbox`` (private, made by the caller)."""
    same_as_source = set()
    for path in source_files:
        info = os.stat(path)
        same_as_source.add((info.st_dev, info.st_ino))
    entries = sorted(os.scandir(submissions), key=lambda e: e.name)
    warnings, folders = [], []       # folders: (name, refusal or None)
    for entry in entries:
        if entry.is_symlink():
            if os.path.isdir(entry.path):
                folders.append((entry.name, "the student's folder is a symbolic link "
                                            f"(to {visible(os.readlink(entry.path))}): not graded"))
            else:
                warnings.append(f"{visible(entry.path)}: a symbolic link, not a student's folder: not graded")
        elif entry.is_dir(follow_symlinks=False):
            folders.append((entry.name, None))
        elif entry.name.endswith(".ipynb"):
            warnings.append(f"{visible(entry.path)}: not inside a student's folder, not graded")

    # The notebooks of each folder, by file name (never following links).
    handed_in: dict[str, dict[str, os.DirEntry]] = {}
    for name, refusal in folders:
        files = {}
        if refusal is None:
            try:
                files = {e.name: e for e in os.scandir(submissions / name) if e.name.endswith(".ipynb")}
            except OSError as exc:
                warnings.append(f"{visible(str(submissions / name))}: cannot be listed ({exc.strerror})")
        handed_in[name] = files
    expected = sorted({n for files in handed_in.values() for n in files if n in layouts})

    labels = _unique([visible(n) for n, _ in folders], [n for n, _ in folders])
    jobs: list[Job] = []
    for (name, refusal), label in zip(folders, labels):
        if shard is not None and shard_of(name, shard[1]) != shard[0]:
            continue
        files = handed_in[name]
        if refusal is not None:
            jobs += [Job(label, nb, status="refused", reason=refusal) for nb in expected]
            continue
        unknown = sorted(n for n in files if n not in layouts)
        wanted = expected + unknown
        nb_labels = _unique([visible(n) for n in wanted], wanted)
        folder_fd = os.open(submissions / name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        try:
            for notebook, nb_label in zip(wanted, nb_labels):
                job = Job(label, nb_label)
                entry = files.get(notebook)
                if entry is None:
                    job.status, job.reason = "missing", "not handed in"
                elif entry.is_symlink():
                    job.status, job.reason = "refused", "the notebook is a symbolic link: not graded"
                elif notebook not in layouts:
                    job.status = "invalid"
                    job.reason = (f"{nb_label} is not a notebook of this assignment (expected one of: "
                                  f"{', '.join(layouts)})")
                else:
                    info = entry.stat(follow_symlinks=False)
                    if (info.st_dev, info.st_ino) in same_as_source:
                        job.status, job.reason = "refused", "the file is the instructor's notebook itself (a hard link)"
                    else:
                        job.path = inbox / f"{len(jobs)}.ipynb"
                        problem = _copy(folder_fd, notebook, job.path)
                        if problem:
                            job.path = None
                            job.status = "refused" if problem == "not a regular file" else "invalid"
                            job.reason = problem
                jobs.append(job)
        finally:
            os.close(folder_fd)
    return jobs, expected, warnings
