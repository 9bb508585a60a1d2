"""Run a list of code cells under nbval, with limits, in a private folder; read back each cell.

The grader and the self-check both come through here (``run_cells``). One run uses a private
folder of its own (inside the grader's, mode 700, deleted afterwards)::

    <run>/nb/<name>.ipynb        the notebook nbval runs (hidden tests: never shown to the kernel)
    <run>/results.jsonl          signed per-cell records, runner.log, pytest.ini
    <run>/box/                   the only folder the kernel may write
        w/x/y/z/work/            the kernel's working directory (empty: relative paths such as
                                 ../../grades.csv land inside box/)
        ipc/                     the kernel's connection file and sockets (sandboxed runs)

1. it writes the notebook and starts ``python -m cs231n_lib.grading.nbval_runner`` in its own
   session with a clean environment: CPU backend (``CS231N_DEVICE=cpu``),
   ``PYTHONHASHSEED=0``, one BLAS thread, no user IPython profile or startup files,
   ``CS231N_GRADING=1`` (the self-check refuses to run inside a graded notebook);
2. the runner starts the kernel in the sandbox (sandbox.py) where bubblewrap can run, talking
   to it over unix sockets; elsewhere as a plain process (TCP on localhost);
3. it waits at most ``limits.total_timeout`` seconds, then kills the runner, its kernel and
   anything they started (found by a marker in their environment);
4. it reads the signed per-cell records the runner wrote outside the kernel's folder.

Without the sandbox a notebook runs as the grader's user: it can read and write anything that
user can (absolute paths), use the network, or start processes that clear their environment.
``remove_stale`` and ``stop_all`` make sure that nothing holding hidden tests stays behind when
the grader is stopped: a signal ends every run and removes every private folder, and a folder
left by a grader that was killed outright (SIGKILL) is removed when the next one starts.
"""
from __future__ import annotations

import atexit
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .nbval_runner import sign
from .sandbox import Sandbox

# The kernel's IPython profile: no history database (kernels run side by side), and output
# written straight to file descriptor 1 is not forwarded as cell output (it goes to the
# runner's log, whose size the file limit caps); the cap on printed text is in guard.py.
KERNEL_CONFIG = """\
c.HistoryManager.enabled = False
c.IPKernelApp.capture_fd_output = False
"""
LOG_TAIL = 4000


@dataclass(frozen=True)
class Limits:
    """How much a notebook may use.

    - cell_timeout: seconds per cell (the cell is interrupted, later cells still run).
    - total_timeout: seconds for the whole notebook, start-up included (then it is killed).
    - memory_mb: address-space limit of the kernel (0: none). NumPy, ipykernel and their
      threads reserve about 300 MB before any student code runs; PyTorch about 800 MB.
    - file_mb: largest file a notebook may write.
    - output_chars: text a notebook may print (per stream, whole notebook).
    - max_restarts: kernel restarts after crashes before the rest of the notebook is failed.
    """
    cell_timeout: float = 120.0
    total_timeout: float = 1800.0
    memory_mb: int = 4096
    file_mb: int = 1024
    output_chars: int = 1_000_000
    max_restarts: int = 3


@dataclass
class CellRecord:
    """What the runner reported about one cell."""
    cell: int
    passed: bool
    fault: str | None = None        # None, "timeout", "died", "memory" or "start"
    ename: str = ""
    evalue: str = ""
    tokens: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class RunOutcome:
    records: dict[int, CellRecord]
    finished: bool            # the runner reached its end (not killed, not crashed)
    killed_at_limit: bool     # total_timeout reached
    restarts: int
    seconds: float            # wall clock of the whole run
    log_tail: str
    forged_lines: int = 0     # result lines with a bad signature (written by the notebook?)


def _child_env(marker: str, ipython_dir: Path, runtime_dir: Path) -> dict:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV", "USER", "LOGNAME", "LD_LIBRARY_PATH")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update({
        "CS231N_DEVICE": "cpu", "CS231N_GRADING": "1", "CS231N_GRADE_RUN": marker,
        "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2", "MPLBACKEND": "Agg", "MPLCONFIGDIR": str(runtime_dir / "matplotlib"),
        "IPYTHONDIR": str(ipython_dir), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "JUPYTER_RUNTIME_DIR": str(runtime_dir),   # connection files of killed kernels go too
        # The kernel must import the same cs231n_lib as the grader, wherever it is installed
        # (in the sandbox, only the package's own folder of this one is visible).
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    })
    return env


def prepare_ipython_dir(root: Path) -> Path:
    """An IPython directory with the grading kernel's profile (shared by all runs)."""
    profile = root / "ipython" / "profile_default"
    for sub in ("security", "startup", "log", "pid"):   # made now: kernels see the folder read-only
        (profile / sub).mkdir(parents=True, exist_ok=True)
    (profile / "ipython_kernel_config.py").write_text(KERNEL_CONFIG)
    return root / "ipython"


def _kill_marked(markers: set[str], first: list[int]) -> None:
    """Kill the given runners and every process carrying one of the environment markers (the
    kernel lives in a session of its own, so killing the runner's process group is not
    enough)."""
    import psutil

    victims = []
    for pid in first:
        try:
            victims.append(psutil.Process(pid))
            victims += victims[-1].children(recursive=True)
        except psutil.Error:
            pass
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("CS231N_GRADE_RUN") in markers:
                victims.append(proc)
        except psutil.Error:
            continue
    for proc in victims:
        try:
            proc.send_signal(signal.SIGKILL)
        except psutil.Error:
            pass
    psutil.wait_procs(victims, timeout=5)


class _Runs:
    """The runs in progress (marker -> runner pid), so that a signal can end all of them."""

    def __init__(self):
        self.lock = threading.Lock()
        self.live: dict[str, int] = {}
        self.stopping = threading.Event()

    def add(self, marker: str, pid: int) -> bool:
        """Register a run; False if grading is being stopped (the caller kills it)."""
        with self.lock:
            self.live[marker] = pid
            return not self.stopping.is_set()

    def remove(self, marker: str) -> None:
        with self.lock:
            self.live.pop(marker, None)


RUNS = _Runs()


def stop_all() -> None:
    """End every run in progress and refuse new ones (for a signal handler: grading stops)."""
    RUNS.stopping.set()
    with RUNS.lock:
        live = dict(RUNS.live)
    if live:
        _kill_marked(set(live), list(live.values()))


def stopping() -> bool:
    return RUNS.stopping.is_set()


def resume_runs() -> None:
    """Allow runs again (a new ``grade`` in the same process after one was stopped)."""
    RUNS.stopping.clear()


def notebook_json(sources: list[str]) -> str:
    """A minimal version-4.5 notebook holding the given code cells, no outputs."""
    cells = [{"cell_type": "code", "execution_count": None, "id": f"run-{i}", "metadata": {},
              "outputs": [], "source": src} for i, src in enumerate(sources)]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def run_cells(sources: list[str], name: str, limits: Limits, nonce: str, private: Path,
              ipython_dir: Path, sandbox: Sandbox | None = None) -> RunOutcome:
    """Execute ``sources`` as the code cells of notebook ``name`` and report each cell.

    Inputs:
    - sources: cell sources, in order (cell i of the result is sources[i]).
    - name: file name of the notebook nbval runs.
    - limits: see Limits.
    - nonce: the marker of completion tokens (see guard.py).
    - private: a folder of this run only (see the layout above).
    - ipython_dir: from prepare_ipython_dir.
    - sandbox: where to run the kernel (None: as a plain process).
    """
    box = private / "box"
    work = box / "w" / "x" / "y" / "z" / "work"
    work.mkdir(parents=True)
    ipc, short = box / "ipc", None
    if sandbox and len(str(ipc)) > SOCKET_DIR_CHARS:
        # A unix socket's path has at most 107 bytes: under a long TMPDIR, sockets go to /tmp.
        short = PrivateDir("cs231n-ipc-", base=SHORT_TMP)
        ipc = short.path
    else:
        ipc.mkdir()
    (private / "nb").mkdir()
    notebook = private / "nb" / name
    notebook.write_text(notebook_json(sources), encoding="utf-8")
    ini = private / "pytest.ini"
    ini.write_text("[pytest]\n")
    results, log = private / "results.jsonl", private / "runner.log"
    key, marker = secrets.token_hex(16), secrets.token_hex(8)
    config = {"notebook": str(notebook), "results": str(results), "key": key, "nonce": nonce,
              "cell_timeout": limits.cell_timeout, "memory_mb": limits.memory_mb,
              "file_mb": limits.file_mb, "max_restarts": limits.max_restarts, "ini": str(ini),
              "kernel_cwd": str(work), "ipc": str(ipc) if sandbox else None,
              "sandbox": sandbox.prefix(work, [box, ipc], [ipython_dir]) if sandbox else None}
    start = time.monotonic()
    killed = False
    with open(log, "wb") as log_file:
        proc = subprocess.Popen([sys.executable, "-m", "cs231n_lib.grading.nbval_runner"], cwd=work,
                                env=_child_env(marker, ipython_dir, private / "runtime"), stdin=subprocess.PIPE,
                                stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            if RUNS.add(marker, proc.pid):
                try:
                    proc.stdin.write(json.dumps(config).encode())
                    proc.stdin.close()
                except OSError:
                    pass
                try:
                    proc.wait(timeout=limits.total_timeout)
                except subprocess.TimeoutExpired:
                    killed = True
        finally:
            _kill_marked({marker}, [proc.pid])
            proc.wait()
            RUNS.remove(marker)
            if short is not None:
                short.__exit__()
    seconds = time.monotonic() - start
    records, finished, restarts, forged = _read_records(results, key)
    with open(log, "rb") as f:
        f.seek(max(0, log.stat().st_size - LOG_TAIL))
        tail = f.read().decode("utf-8", "replace")
    return RunOutcome(records, finished and not killed, killed, restarts, seconds, tail, forged)


def _read_records(path: Path, key: str):
    records: dict[int, CellRecord] = {}
    finished, restarts, forged = False, 0, 0
    if not path.exists():
        return records, finished, restarts, forged
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        mac, _, payload = line.partition(" ")
        if not secrets.compare_digest(mac, sign(key, payload)):
            forged += 1
            continue
        data = json.loads(payload)
        if data.get("finished"):
            finished, restarts = True, int(data.get("restarts", 0))
        else:
            records[data["cell"]] = CellRecord(**data)
    return records, finished, restarts, forged


# --------------------------------------------------------------------------------------------
# Private folders
# --------------------------------------------------------------------------------------------
OWNER_FILE = ".cs231n-owner"      # "<pid> <process start time>" of the grader that made it
PRIVATE_PREFIXES = ("cs231n-grade-", "cs231n-check-", "cs231n-ipython-", "cs231n-ipc-")
SOCKET_DIR_CHARS = 90             # longest folder for a kernel's sockets (names up to 16 bytes)
SHORT_TMP = Path("/tmp")          # where sockets go when the private folder's path is too long
_LIVE: set[Path] = set()         # private folders of this process not yet removed


def _process_id(pid: int) -> str:
    import psutil
    return f"{pid} {psutil.Process(pid).create_time():.2f}"


def _remove(path: Path) -> None:
    # A notebook may have made files read-only; make them writable so rmtree can remove them.
    for root, dirs, _ in os.walk(path):
        for d in dirs:
            try:
                os.chmod(os.path.join(root, d), 0o700)
            except OSError:
                pass
    shutil.rmtree(path, ignore_errors=True)
    _LIVE.discard(path)


def remove_all_private() -> None:
    """Remove every private folder this process still holds (a signal handler, atexit)."""
    for path in list(_LIVE):
        _remove(path)


def remove_stale(folder: str | Path | None = None) -> list[Path]:
    """Remove the private folders of graders that no longer run (killed with SIGKILL, or a
    machine that went down): ours by name, owner (this user) and the owner file, whose process
    is gone; in ``folder`` (default: the temporary folder, and /tmp for sockets). Returns what
    was removed."""
    import psutil

    folders = [Path(folder)] if folder else list(dict.fromkeys([Path(tempfile.gettempdir()), SHORT_TMP]))
    entries, removed = [], []
    for place in folders:
        try:
            entries += list(os.scandir(place))
        except OSError:
            continue
    for entry in entries:
        if not entry.name.startswith(PRIVATE_PREFIXES):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False) or entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
            pid, _, started = (Path(entry.path) / OWNER_FILE).read_text().partition(" ")
            alive = psutil.pid_exists(int(pid)) and _process_id(int(pid)) == f"{pid} {started}"
        except (OSError, ValueError, psutil.Error):
            continue                      # not identifiable as ours: left alone
        if not alive:
            _remove(Path(entry.path))
            removed.append(Path(entry.path))
    return removed


atexit.register(remove_all_private)


class PrivateDir:
    """A private temporary folder (mode 700), removed with everything in it afterwards.

    Made in the system's temporary folder, it carries an owner file (so that ``remove_stale``
    can tell, after a SIGKILL, that it is left over) and is removed at exit or by
    ``remove_all_private`` if the ``with`` block never ends; ``base`` puts it elsewhere. With
    ``parent``, it is a plain sub-folder of another private folder."""

    def __init__(self, prefix: str = "cs231n-grade-", parent: Path | None = None, base: Path | None = None):
        self.path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent or base))
        if parent is None:
            _LIVE.add(self.path)
            (self.path / OWNER_FILE).write_text(_process_id(os.getpid()))

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc) -> None:
        _remove(self.path)
