"""Run a list of code cells under nbval, in a scratch folder, with limits; read back each cell.

The grader and the self-check both come through here (``run_cells``). One run:

1. writes the cells as a notebook into ``<scratch>/w/x/y/z/work/`` (a fresh private folder;
   relative paths like ``../../grades.csv`` written by a notebook stay inside the scratch
   folder, which is deleted afterwards);
2. starts ``python -m cs231n_lib.grading.nbval_runner`` there, in its own session, with a
   clean environment: CPU backend (``CS231N_DEVICE=cpu``), ``PYTHONHASHSEED=0``, one BLAS
   thread, no user IPython profile or startup files, ``CS231N_GRADING=1`` (the self-check
   refuses to run inside a graded notebook);
3. waits at most ``limits.total_timeout`` seconds, then kills the runner, its kernel and
   anything they started (found by a marker in their environment);
4. reads the signed per-cell records the runner wrote outside the scratch folder.

What this does NOT protect: a notebook runs as the grader's user, so it can read and write
anything that user can (absolute paths), use the network, or start processes that clear their
environment. Run the grader as an unprivileged user, in a container or a throw-away VM, when
that matters. The grader reads every input before any notebook runs and writes its outputs
after all of them have stopped, so a submission cannot change its own grade or others' by
writing files, except by knowing and replacing the grader's own code.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .nbval_runner import sign

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
        "MALLOC_ARENA_MAX": "2", "MPLBACKEND": "Agg",
        "IPYTHONDIR": str(ipython_dir), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "JUPYTER_RUNTIME_DIR": str(runtime_dir),   # connection files of killed kernels go too
        # The kernel must import the same cs231n_lib as the grader, wherever it is installed.
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    })
    return env


def prepare_ipython_dir(root: Path) -> Path:
    """An IPython directory with the grading kernel's profile (shared by all runs)."""
    profile = root / "ipython" / "profile_default"
    profile.mkdir(parents=True, exist_ok=True)
    (profile / "ipython_kernel_config.py").write_text(KERNEL_CONFIG)
    return root / "ipython"


def _kill_marked(marker: str, first: int | None) -> None:
    """Kill the runner and every process carrying the run's environment marker (the kernel
    lives in a session of its own, so killing the runner's process group is not enough)."""
    import psutil

    victims = []
    if first is not None:
        try:
            victims.append(psutil.Process(first))
            victims += victims[0].children(recursive=True)
        except psutil.Error:
            pass
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("CS231N_GRADE_RUN") == marker:
                victims.append(proc)
        except psutil.Error:
            continue
    for proc in victims:
        try:
            proc.send_signal(signal.SIGKILL)
        except psutil.Error:
            pass
    psutil.wait_procs(victims, timeout=5)


def notebook_json(sources: list[str]) -> str:
    """A minimal version-4.5 notebook holding the given code cells, no outputs."""
    cells = [{"cell_type": "code", "execution_count": None, "id": f"run-{i}", "metadata": {},
              "outputs": [], "source": src} for i, src in enumerate(sources)]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def run_cells(sources: list[str], name: str, limits: Limits, nonce: str, private: Path,
              ipython_dir: Path) -> RunOutcome:
    """Execute ``sources`` as the code cells of notebook ``name`` and report each cell.

    Inputs:
    - sources: cell sources, in order (cell i of the result is sources[i]).
    - name: file name of the notebook in the scratch folder (its kernel's cwd).
    - limits: see Limits.
    - nonce: the marker of completion tokens (see guard.py).
    - private: a folder of this run only; the scratch folder and the results go there.
    - ipython_dir: from prepare_ipython_dir.
    """
    work = private / "w" / "x" / "y" / "z" / "work"
    work.mkdir(parents=True)
    notebook = work / name
    notebook.write_text(notebook_json(sources), encoding="utf-8")
    ini = private / "pytest.ini"
    ini.write_text("[pytest]\n")
    results, log = private / "results.jsonl", private / "runner.log"
    key, marker = secrets.token_hex(16), secrets.token_hex(8)
    config = {"notebook": str(notebook), "results": str(results), "key": key, "nonce": nonce,
              "cell_timeout": limits.cell_timeout, "memory_mb": limits.memory_mb,
              "file_mb": limits.file_mb, "max_restarts": limits.max_restarts, "ini": str(ini)}
    start = time.monotonic()
    killed = False
    with open(log, "wb") as log_file:
        proc = subprocess.Popen([sys.executable, "-m", "cs231n_lib.grading.nbval_runner"], cwd=work,
                                env=_child_env(marker, ipython_dir, private / "runtime"), stdin=subprocess.PIPE,
                                stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            proc.stdin.write(json.dumps(config).encode())
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=limits.total_timeout)
        except subprocess.TimeoutExpired:
            killed = True
        _kill_marked(marker, proc.pid)
        proc.wait()
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


class PrivateDir:
    """A private temporary folder (mode 700), removed with everything in it afterwards."""

    def __init__(self, prefix: str = "cs231n-grade-"):
        self.path = Path(tempfile.mkdtemp(prefix=prefix))

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc) -> None:
        # A notebook may have made files read-only; make them writable so rmtree can remove
        # them.
        for root, dirs, _ in os.walk(self.path):
            for d in dirs:
                try:
                    os.chmod(os.path.join(root, d), 0o700)
                except OSError:
                    pass
        shutil.rmtree(self.path, ignore_errors=True)
