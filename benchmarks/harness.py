"""What the benchmark scripts share: quiet-machine check, worker processes, medians.

The method (benchmarks/README.md): every implementation runs in its own process, the
processes alternate (ours, PyTorch, then the reverse order, ...) for several rounds, and each
side's figure is the median over all its timed repetitions. ``OPENBLAS_CORETYPE`` is removed
from the workers' environment, so that OpenBLAS chooses its own kernels (whether it was set
is recorded). Before the first round the driver waits until the machine is quiet: the
1-minute load average below ``max_load`` (the machine is shared).

Nothing here imports NumPy or PyTorch: the driver stays free of both thread pools.
"""
from __future__ import annotations

import argparse

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]


def wait_until_quiet(log: Callable[[str], None], max_load: float = 0.6, pause: float = 60,
                     give_up: float = 1800) -> float:
    """Sleep ``pause`` seconds at a time until the 1-minute load average is below
    ``max_load`` (at most ``give_up`` seconds); returns the load average seen last."""
    start = time.monotonic()
    while True:
        load = os.getloadavg()[0]
        if load < max_load or time.monotonic() - start > give_up:
            return load
        log(f"  load average {load:.2f} >= {max_load}: waiting {pause:.0f} s")
        time.sleep(pause)


def worker_env() -> tuple[dict, str]:
    """The workers' environment (``OPENBLAS_CORETYPE`` removed) and what that variable was."""
    was = os.environ.get("OPENBLAS_CORETYPE", "(unset)")
    return {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}, was


def run_worker(script: str, args: list[str], env: dict) -> dict:
    """Run ``script --worker ARGS`` in a fresh process; its last stdout line is JSON."""
    cmd = [sys.executable, str(Path(script).resolve()), "--worker", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"worker {' '.join(args)} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def alternate(script: str, kinds: list[str], rounds: int, extra: list[str], env: dict,
              log: Callable[[str], None]) -> dict[str, list[dict]]:
    """Each kind in its own process, alternating (reversed every other round), ``rounds``
    times. Returns, per kind, the list of the workers' results (one per round)."""
    results: dict[str, list[dict]] = {k: [] for k in kinds}
    for r in range(rounds):
        for kind in (kinds if r % 2 == 0 else kinds[::-1]):
            res = run_worker(script, [kind, *extra], env)
            results[kind].append(res)
            log(f"  round {r + 1}/{rounds} {kind:8s} {summary_line(res)}")
    return results


def summary_line(res: dict) -> str:
    return "  ".join(f"{name}: {median(t):6.2f}" for name, t in res.items()
                     if isinstance(t, list)) + "  ms (median)"


def time_ms(step: Callable[[], object], reps: int, warmup: int = 3,
            sync: Callable[[], object] = lambda: None) -> list[float]:
    """``warmup`` untimed calls, then the times of ``reps`` calls, in ms."""
    for _ in range(warmup):
        step()
    sync()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    return times


def median(values: list[float]) -> float:
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


def pooled(results: list[dict], name: str) -> list[float]:
    """Every timed repetition of ``name`` over all of one side's processes."""
    return [t for res in results for t in res[name]]


def cpu_model() -> str:
    """The CPU's model name, as lscpu gives it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(blas_var: str) -> dict:
    """CPU model and count (as lscpu and nproc give them), Python, and the BLAS variable."""
    model = cpu_model()
    versions = subprocess.run(
        [sys.executable, "-c", "import numpy, torch; print(numpy.__version__, torch.__version__,"
         " torch.get_num_threads())"], capture_output=True, text=True).stdout.split()
    numpy_v, torch_v, threads = (versions + ["?", "not installed", "?"])[:3]
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": numpy_v, "torch": torch_v, "torch_threads": threads,
            "OPENBLAS_CORETYPE": blas_var,
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "(unset)"),
            "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "(unset)")}


def machine_lines(info: dict) -> list[str]:
    return [f"- machine: {info['cpu']}, {info['cores']} cores (lscpu / nproc); Python "
            f"{info['python']}, NumPy {info['numpy']}, PyTorch {info['torch']} "
            f"({info['torch_threads']} threads)",
            f"- OPENBLAS_CORETYPE in the environment: {info['OPENBLAS_CORETYPE']}; removed from "
            f"every worker's environment (OpenBLAS chooses its own kernels); OMP_NUM_THREADS="
            f"{info['OMP_NUM_THREADS']}, OPENBLAS_NUM_THREADS={info['OPENBLAS_NUM_THREADS']}"]


def arguments(doc: str, rounds: int = 5, reps: int = 30) -> argparse.ArgumentParser:
    """The options every benchmark of this folder takes (rounds, repetitions, where to write,
    the load to wait for, and the hidden --worker of the processes it starts)."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=rounds, help=f"alternating rounds (default {rounds})")
    parser.add_argument("--reps", type=int, default=reps, help="timed repetitions per process")
    parser.add_argument("--write", metavar="PATH", help="write the markdown report there")
    parser.add_argument("--max-load", type=float, default=0.6,
                        help="wait until the 1-minute load average is below this (default 0.6)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser


def method_lines(args, info: dict, what: str) -> list[str]:
    """The report's account of how it was measured: the machine, then the rounds."""
    return machine_lines(info) + [
        f"- {args.rounds} rounds, each side in its own process, alternating; {args.reps} timed "
        f"{what} per process after 3 warm-up ones; 1-minute load average before the first round: "
        f"{info['load']:.2f}", ""]
