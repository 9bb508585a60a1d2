"""The sandbox a submission's kernel runs in: bubblewrap (``bwrap``) on Linux.

The grader runs pytest and nbval outside the sandbox (they hold the hidden tests and the key
that signs the results) and only the *kernel*, where student code runs, inside it::

    grader ── nbval_runner (pytest + nbval, hidden tests) ══ipc sockets══ bwrap ── ipykernel
                                                                          └ student code

Inside, the kernel sees:

* read-only: the system (``/usr`` and its links, a few files of ``/etc``), the Python
  installation (``sys.prefix``, ``sys.base_prefix``) and this package's folder;
* read-write: one folder of its own, holding its working directory (empty at the start: the
  kernel never needs the notebook, nbval sends it cell by cell) and the unix sockets it talks
  to nbval over (``transport="ipc"``);
* a private ``/tmp`` and ``/dev/shm`` of at most 256 MiB each (bubblewrap 0.8 and later), a
  private ``/proc`` (``--unshare-pid``: it sees only its own processes), a minimal ``/dev``, no
  network (``--unshare-net``), no capabilities.

It does not see the instructor notebooks, the other submissions, the grades and feedback being
written, the grader's private folder or the rest of the repository. Every process it starts
ends with it (``--die-with-parent``; the pid namespace ends when its first process does), and
``--new-session`` keeps it from writing into the grader's terminal.

Where bubblewrap is missing or cannot start a sandbox (macOS, Windows, a container without user
namespaces), :func:`unavailable` says why; the grader then runs kernels as before and says in
every row which protections are off.
"""
from __future__ import annotations

import functools
import os
import shutil
import site
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# The environment variable that points the grader at another bwrap (or, set to "", turns the
# sandbox off).
BWRAP_ENV = "CS231N_BWRAP"
# What is off without the sandbox, in the words the grades and stderr use.
PROTECTIONS_OFF = ("not sandboxed ({why}): the notebook could read and write the grader's files "
                   "(instructor notebooks, other submissions, the grades), use the network, and "
                   "start processes that outlive it")
_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "passwd", "group", "nsswitch.conf",
        "fonts", "alternatives", "mime.types")
_ROOT_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
# The private /tmp's size (and /dev/shm's): enough for matplotlib's cache and a student's
# scratch files, not enough to fill the grading machine's memory.
TMP_BYTES = 256 * 2**20


def bwrap_path() -> str | None:
    """The bwrap executable to use, or None (not installed, or turned off with CS231N_BWRAP="")."""
    chosen = os.environ.get(BWRAP_ENV)
    if chosen is not None:
        return (shutil.which(chosen) or None) if chosen else None
    return shutil.which("bwrap")


def _isolation_flags() -> list[str]:
    flags = ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
             "--die-with-parent", "--new-session"]
    if os.geteuid() == 0:
        # bwrap run by root keeps every capability unless told otherwise (with them a process
        # could mount file systems or open files by handle, outside the sandbox).
        flags += ["--cap-drop", "ALL"]
    return flags


@functools.lru_cache(maxsize=None)
def _probe(bwrap: str | None, chosen: str | None) -> str | None:
    if bwrap is None:
        return f"turned off with {BWRAP_ENV}=" if chosen == "" else "bubblewrap (bwrap) is not installed"
    try:
        done = subprocess.run([bwrap, "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev",
                               *_isolation_flags(), "true"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap could not run: {exc}"
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        return f"bwrap cannot start a sandbox here: {why[0]}"
    return None


@functools.lru_cache(maxsize=None)
def _sizes_tmpfs(bwrap: str) -> bool:
    """Whether this bwrap can cap a tmpfs's size (``--size``, bubblewrap 0.8 and later)."""
    done = subprocess.run([bwrap, "--ro-bind", "/", "/", "--size", "4096", "--tmpfs", "/tmp",
                           *_isolation_flags(), "true"], capture_output=True, timeout=30)
    return done.returncode == 0


def unavailable() -> str | None:
    """None if kernels can be sandboxed here, else why not (probed once per process)."""
    return _probe(bwrap_path(), os.environ.get(BWRAP_ENV))


def _package_dir() -> Path:
    return Path(__file__).resolve().parents[1]


def readable_dirs() -> list[Path]:
    """The folders the kernel sees read-only besides the system: the Python installation and
    this package (not the folder above it, which may hold the instructor's notebooks)."""
    dirs = {Path(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    dirs.add(Path(os.path.realpath(sys.executable)).parent)
    for p in site.getsitepackages() + [site.getusersitepackages()]:
        if os.path.isdir(p):
            dirs.add(Path(p))
    dirs.add(_package_dir())
    return sorted({Path(os.path.realpath(d)) for d in dirs if d.is_dir()})


def system_dirs() -> list[Path]:
    return [Path("/usr")] + [Path("/etc") / name for name in _ETC if (Path("/etc") / name).exists()]


@dataclass(frozen=True)
class Sandbox:
    """How to start a kernel in a sandbox; ``prefix`` goes before the kernel's own argv."""
    bwrap: str

    def exposes(self, path: Path) -> Path | None:
        """The read-only folder through which the kernel would see ``path``, or None."""
        real = Path(os.path.realpath(path))
        for folder in system_dirs() + readable_dirs():
            if real == folder or folder in real.parents:
                return folder
        return None

    def prefix(self, home: Path, writable: list[Path], readonly: list[Path] = ()) -> list[str]:
        """bwrap's arguments for a kernel whose working directory is ``home``, inside the
        ``writable`` folders (its own, and the one of its sockets); ``readonly``: more folders
        it may read (its IPython profile)."""
        # The private /tmp first: every bind below may lie under /tmp (a clone in /tmp/ci, pytest's
        # folders) and must be mounted over it, not hidden by it. Its size is capped, so that a
        # submission cannot fill the machine's memory through it.
        size = ["--size", str(TMP_BYTES)] if _sizes_tmpfs(self.bwrap) else []
        args = [self.bwrap, *size, "--tmpfs", "/tmp"]
        for name in _ROOT_LINKS:
            path = Path("/") / name
            if path.is_symlink():
                args += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                args += ["--ro-bind", str(path), str(path)]
        for folder in system_dirs() + readable_dirs():
            args += ["--ro-bind", str(folder), str(folder)]
        for folder in readonly:
            args += ["--ro-bind", str(folder), str(folder)]
        for folder in dict.fromkeys(writable):
            args += ["--bind", str(folder), str(folder)]
        args += ["--proc", "/proc", "--dev", "/dev", *size, "--tmpfs", "/dev/shm", *_isolation_flags(),
                 # ipykernel stops when its parent seems gone; inside a pid namespace its parent
                 # is always pid 1, so it must not watch (bwrap ends it with the runner instead).
                 "--unsetenv", "JPY_PARENT_PID", "--setenv", "HOME", "/tmp", "--setenv", "TMPDIR", "/tmp",
                 "--setenv", "MPLCONFIGDIR", "/tmp/matplotlib",
                 "--chdir", str(home), "--"]
        return args


def current() -> tuple[Sandbox | None, str | None]:
    """(the sandbox, None) where one can run, else (None, the protections that are off)."""
    why = unavailable()
    if why is None:
        return Sandbox(bwrap_path()), None
    return None, PROTECTIONS_OFF.format(why=why)
