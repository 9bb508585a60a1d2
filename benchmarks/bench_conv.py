"""How fast is ``conv_forward_fast`` + ``conv_backward_fast``, next to PyTorch?

Run ``make bench`` (or ``python benchmarks/bench_conv.py``). It times, in float32:

1. forward + backward of ``cs231n_lib.fast_layers`` against PyTorch's ``conv2d`` on the CPU
   (input and weight requiring grad, so PyTorch computes dx, dw and db too), on the four
   cases of the spec;
2. the reference ``conv_forward_naive`` + ``conv_backward_naive`` on the first case, for the
   fast/naive speed-up;
3. the memory of the fast conv: the unfolded matrix per case (its size, computed) and the
   peak of everything NumPy allocated during forward + backward (``tracemalloc``);
4. with ``--gpu``, or automatically when CuPy and a CUDA GPU are present, the fast layers on
   CuPy against PyTorch with cuDNN on the same cases.

How it measures, and why: every implementation runs in its OWN process (``--worker``), and
the processes alternate, ours, PyTorch, ours, ... for ``--rounds`` rounds; each side's figure
per case is the median over every timed repetition of all its processes (the best is shown
too). In one shared process the two libraries' thread pools (OpenBLAS's and PyTorch's OpenMP
workers keep spinning for a while after their work) steal the 2 cores from each other and
both look slower than they are. ``OPENBLAS_CORETYPE`` is removed from every worker's
environment, so that OpenBLAS chooses its own kernels; the driver waits for a quiet machine
(1-minute load average below 0.6) before the first round.

``--write benchmarks/RESULTS.md`` records the results with the date, the machine and the
library versions.
"""
from __future__ import annotations

import datetime
import json
import math
import os
import platform
import subprocess
import sys
from pathlib import Path

import harness  # benchmarks/ is on sys.path when run as a script
from results_file import write_section

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# (name, N, C, H, W, F, HH, stride, pad): the spec's four cases
CASES = [
    ("N64 3->32 32x32 F3 P1", 64, 3, 32, 32, 32, 3, 1, 1),
    ("N64 32->64 16x16 F3 P1", 64, 32, 16, 16, 64, 3, 1, 1),
    ("N8 64->64 56x56 F3 P1", 8, 64, 56, 56, 64, 3, 1, 1),
    ("N8 3->96 227x227 F11 S4", 8, 3, 227, 227, 96, 11, 4, 0),
]
BAR_CPU, BAR_GPU, BAR_NAIVE = 1.5, 2.0, 100.0


def out_size(size: int, f: int, stride: int, pad: int) -> int:
    # not geometry.conv_output_size: importing the library would load NumPy (and OpenBLAS's
    # threads) into the PyTorch worker, the interference this script exists to avoid
    return (size + 2 * pad - f) // stride + 1


def case_arrays(case: tuple, make, batch: int | None = None) -> tuple:
    """(x, w, b, dout) of one benchmark case, each made by ``make(shape)``; ``batch`` images
    instead of the case's N when given."""
    name, N, C, H, W, F, HH, S, P = case
    N = N if batch is None else batch
    Ho, Wo = out_size(H, HH, S, P), out_size(W, HH, S, P)
    return tuple(make(shape) for shape in ((N, C, H, W), (F, C, HH, HH), (F,), (N, F, Ho, Wo)))


def numpy_case_arrays(case: tuple, batch: int | None = None) -> tuple:
    """:func:`case_arrays` as float32 NumPy arrays from a normal distribution seeded with 0."""
    import numpy as np

    rng = np.random.default_rng(0)
    return case_arrays(case, lambda shape: rng.standard_normal(shape, dtype=np.float32), batch)


# --------------------------------------------------------------------------------------------
# Workers: each runs in its own process and prints one JSON object
# --------------------------------------------------------------------------------------------
def best_of(step, reps: int, sync=lambda: None) -> dict:
    """Run ``step`` twice untimed (warm-up), then ``reps`` times; best, median and every
    time, in ms."""
    times = harness.time_ms(step, reps, warmup=2, sync=sync)
    return {"best": min(times), "median": harness.median(times), "times": times}


def worker_ours(reps: int, gpu: bool) -> dict:
    from cs231n_lib import backend
    from cs231n_lib.fast_layers import conv_backward_fast, conv_forward_fast

    backend.use("gpu" if gpu else "cpu")
    xp = backend.default_xp()
    sync = (lambda: xp.cuda.Device().synchronize()) if gpu else (lambda: None)
    results = {}
    for case in CASES:
        name, N, C, H, W, F, HH, S, P = case
        x, w, b, dout = (xp.asarray(a) for a in numpy_case_arrays(case))
        conv_param = {"stride": S, "pad": P}

        def step():
            out, cache = conv_forward_fast(x, w, b, conv_param)
            conv_backward_fast(dout, cache)  # the cache (and its unfolded matrix) dies here

        results[name] = best_of(step, reps, sync)
    return results


def worker_textbook(reps: int) -> dict:
    """The straightforward NumPy version, for comparison: the textbook im2col layout of
    ``cs231n_lib.im2col`` (``im2col``/``col2im``), one matrix product each way."""
    import numpy as np

    from cs231n_lib.im2col import col2im, im2col

    results = {}
    for case in CASES:
        name, N, C, H, W, F, HH, S, P = case
        x, w, b, dout = numpy_case_arrays(case)
        Ho, Wo = dout.shape[2:]

        def step():
            cols = im2col(x, HH, HH, S, P)  # (C*HH*WW, N*Ho*Wo)
            w2 = w.reshape(F, -1)
            out = (w2 @ cols + b[:, None]).reshape(F, N, Ho, Wo).transpose(1, 0, 2, 3)
            out = np.ascontiguousarray(out)
            d2 = dout.transpose(1, 0, 2, 3).reshape(F, -1)
            dw, db = d2 @ cols.T, d2.sum(axis=1)
            dx = col2im(w2.T @ d2, x.shape, HH, HH, S, P)
            return out, dx, dw, db

        results[name] = best_of(step, reps)
    return results


def worker_torch(reps: int, gpu: bool) -> dict:
    import torch

    device = "cuda" if gpu else "cpu"
    if gpu:
        torch.backends.cudnn.benchmark = True  # let cuDNN pick its fastest algorithm
    sync = torch.cuda.synchronize if gpu else (lambda: None)
    results = {}
    for case in CASES:
        name, N, C, H, W, F, HH, S, P = case
        gen = torch.Generator().manual_seed(0)
        x, w, b, dout = case_arrays(case, lambda shape: torch.randn(shape, generator=gen).to(device))
        for t in (x, w, b):
            t.requires_grad_(True)

        def step():
            out = torch.nn.functional.conv2d(x, w, b, stride=S, padding=P)
            out.backward(dout)
            x.grad = w.grad = b.grad = None

        results[name] = best_of(step, reps, sync)
    return results


def worker_naive(reps: int, batch: int) -> dict:
    from cs231n_lib.layers import conv_backward_naive, conv_forward_naive

    name, N, C, H, W, F, HH, S, P = CASES[0]
    x, w, b, dout = numpy_case_arrays(CASES[0], batch)

    def step():
        out, cache = conv_forward_naive(x, w, b, {"stride": S, "pad": P})
        conv_backward_naive(dout, cache)

    timing = best_of(step, reps)
    return {name: {**timing, "batch": batch, "full_batch": N}}


def worker_memory() -> dict:
    """Peak bytes NumPy allocates during one forward + backward (inputs excluded)."""
    import tracemalloc

    from cs231n_lib.fast_layers import conv_backward_fast, conv_forward_fast

    results = {}
    for case in CASES:
        name, N, C, H, W, F, HH, S, P = case
        x, w, b, dout = numpy_case_arrays(case)
        Ho, Wo = dout.shape[2:]
        tracemalloc.start()
        out, cache = conv_forward_fast(x, w, b, {"stride": S, "pad": P})
        grads = conv_backward_fast(dout, cache)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        grid = cache[5]  # the wide grid: the unfolded matrix is (K, N*L), built a block at a time
        results[name] = {
            "peak": peak,
            "cols_shape": [grid.rows, N * grid.length],
            "cols_bytes": grid.rows * N * grid.length * 4,
            "textbook_cols_bytes": C * HH * HH * N * Ho * Wo * 4,
            "results_bytes": out.nbytes + sum(g.nbytes for g in grads),
        }
        del out, cache, grads
    return results


# --------------------------------------------------------------------------------------------
# The driver
# --------------------------------------------------------------------------------------------
def run_worker(*args: str, env: dict | None = None) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"worker {' '.join(args)} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def alternate(kinds: list[str], rounds: int, reps: int, log, env: dict | None = None) -> dict:
    """Each kind in its own process, alternating, ``rounds`` times. Per kind and case: the
    median over every timed repetition of every process, and the best."""
    times: dict = {k: {} for k in kinds}
    for r in range(rounds):
        order = kinds if r % 2 == 0 else kinds[::-1]
        for kind in order:
            res = run_worker(kind, "--reps", str(reps), env=env)
            for case, t in res.items():
                times[kind].setdefault(case, []).extend(t["times"])
            log(f"  round {r + 1}/{rounds} {kind:10s} " +
                "  ".join(f"{res[c[0]]['median']:7.1f}" for c in CASES) + "  ms (median)")
    return {k: {case: {"median": sorted(t)[len(t) // 2], "best": min(t)}
                for case, t in cases.items()} for k, cases in times.items()}


def gpu_present() -> bool:
    from cs231n_lib import backend
    return backend.gpu_available()


def machine() -> dict:
    import numpy as np

    info = {"cpu": harness.cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__}
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["blas"] = f"{blas.get('name')} {blas.get('version')}"
    except Exception:
        info["blas"] = "unknown"
    try:
        import torch
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        info["torch"] = "not installed"
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        info[var] = os.environ.get(var, "(unset)")  # as set here; the workers run without the first
    return info


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


def cpu_table(cpu: dict, title: str) -> list[str]:
    names = [c[0] for c in CASES]
    med = {k: {n: cpu[k][n]["median"] for n in names} for k in cpu}
    ratios = [med["ours"][n] / med["torch"][n] for n in names]
    lines = [title, "",
             "| case | ours, median (ms) | PyTorch, median (ms) | ours / PyTorch | "
             "ours / PyTorch, best of each | textbook im2col, median (ms) | textbook / PyTorch |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for n, r in zip(names, ratios):
        tb = med["textbook"][n]
        best = cpu["ours"][n]["best"] / cpu["torch"][n]["best"]
        lines.append(f"| {n} | {med['ours'][n]:.1f} | {med['torch'][n]:.1f} | {r:.2f}x | "
                     f"{best:.2f}x | {tb:.1f} | {tb / med['torch'][n]:.2f}x |")
    g = geomean(ratios)
    gt = geomean([med["textbook"][n] / med["torch"][n] for n in names])
    lines += [f"| **geometric mean** | | | **{g:.2f}x** | | | {gt:.2f}x |", "",
              f"Bar: every case at most {BAR_CPU}x PyTorch (medians): "
              f"**{'met' if max(ratios) <= BAR_CPU else 'not met'}** (worst case "
              f"{max(ratios):.2f}x; geometric mean {g:.2f}x).", ""]
    return lines


def report(cpu: dict, cpu_native: dict | None, naive: dict, memory: dict, gpu: dict | None,
           info: dict, args) -> str:
    names = [c[0] for c in CASES]
    lines = cpu_table(cpu, "### CPU, float32, forward + backward (dx, dw, db)")
    lines += ["'ours' is `conv_forward_fast` + `conv_backward_fast` (the wide im2col layout); "
              "'textbook im2col' is the same three matrix products on the (C*HH*WW, "
              "N*H_out*W_out) matrix of `cs231n_lib.im2col.im2col`/`col2im`, the "
              "straightforward NumPy version. Where the time goes: benchmarks/README.md, "
              "'Reading the results'.", ""]
    lines += [f"OPENBLAS_CORETYPE in this machine's environment: {info['OPENBLAS_CORETYPE']}. "
              "It is removed from every worker's environment, so that OpenBLAS chooses its own "
              "kernels (PyTorch's CPU kernels do not read it).", ""]

    n0 = names[0]
    nv = naive[n0]
    naive_ms = nv["best"] * nv["full_batch"] / nv["batch"]
    speedup = naive_ms / cpu["ours"][n0]["median"]
    batch = ("on the full batch" if nv["batch"] == nv["full_batch"] else
             f"on a batch of {nv['batch']}, scaled per image to {nv['full_batch']}")
    lines += ["### Fast vs naive", "",
              f"`conv_forward_naive` + `conv_backward_naive` on {n0}, timed {batch}: "
              f"{naive_ms:.1f} ms; fast: {cpu['ours'][n0]['median']:.1f} ms (median); speed-up **{speedup:.0f}x** "
              f"(bar: at least {BAR_NAIVE:.0f}x: **{'met' if speedup >= BAR_NAIVE else 'not met'}**"
              ").", ""]

    lines += ["### Memory of the fast conv", "",
              "The unfolded matrix (`cols`, float32) is never built whole: the fast layer "
              "builds it a block of images at a time (about 4 MiB), in the forward pass and "
              "again in the backward pass, and keeps only the padded input in its cache. The "
              "table gives the size the whole matrix would have ('wide': the layout the fast "
              "layer uses, each output row computed Wq wide; 'textbook': the (C*HH*WW, "
              "N*H_out*W_out) matrix of `im2col`). Peak: everything NumPy allocated during one "
              "forward + backward (tracemalloc), outputs and gradients included.", "",
              "| case | cols shape (wide) | cols (wide) | cols (textbook) | peak | "
              "outputs + gradients |", "|---|---|---:|---:|---:|---:|"]
    mb = 1 << 20
    for n in names:
        m = memory[n]
        lines.append(f"| {n} | {m['cols_shape'][0]} x {m['cols_shape'][1]} | "
                     f"{m['cols_bytes'] / mb:.1f} MiB | {m['textbook_cols_bytes'] / mb:.1f} MiB | "
                     f"{m['peak'] / mb:.1f} MiB | {m['results_bytes'] / mb:.1f} MiB |")
    lines.append("")

    lines += ["### GPU, float32: CuPy vs PyTorch + cuDNN", ""]
    if gpu is None:
        lines += ["Not measured: no GPU (CuPy and a CUDA device) was available on this machine. "
                  "`make bench` on a GPU machine fills this table (and `make gpu-test` checks "
                  "that the GPU numbers equal the CPU path's to float32 rounding).", "",
                  "| case | ours, CuPy (ms) | PyTorch cuDNN (ms) | ratio |", "|---|---:|---:|---:|"]
        lines += [f"| {n} | not measured | not measured | not measured |" for n in names]
    else:
        gratios = [gpu["ours-gpu"][n] / gpu["torch-gpu"][n] for n in names]
        lines += ["| case | ours, CuPy (ms) | PyTorch cuDNN (ms) | ours / PyTorch |",
                  "|---|---:|---:|---:|"]
        for n, r in zip(names, gratios):
            lines.append(f"| {n} | {gpu['ours-gpu'][n]:.2f} | {gpu['torch-gpu'][n]:.2f} | "
                         f"{r:.2f}x |")
        lines.append(f"| **geometric mean** | | | **{geomean(gratios):.2f}x** |")
        lines += ["", f"Bar: every case at most {BAR_GPU}x PyTorch + cuDNN: "
                  f"**{'met' if max(gratios) <= BAR_GPU else 'not met'}**."]
    lines.append("")

    lines += ["### Machine and method", "",
              f"- CPU: {info['cpu']}, {info['cores']} cores; Python {info['python']}, "
              f"NumPy {info['numpy']} ({info['blas']}), PyTorch {info['torch']} "
              f"({info.get('torch_threads', '?')} threads)",
              f"- environment: OPENBLAS_CORETYPE={info['OPENBLAS_CORETYPE']}, "
              f"OPENBLAS_NUM_THREADS={info['OPENBLAS_NUM_THREADS']}, "
              f"OMP_NUM_THREADS={info['OMP_NUM_THREADS']}",
              f"- every figure is the median (or the best) of all {args.reps} timed repetitions "
              f"(after 2 warm-up ones) of each of {args.rounds} separate processes per "
              "implementation, the processes alternating ours / PyTorch / textbook; float32, "
              "inputs from a seeded normal distribution; 1-minute load average before the "
              f"first round: {info['load']:.2f}",
              "- PyTorch: `conv2d(x, w, b)` then `out.backward(dout)` with x, w, b requiring "
              "grad; ours: `conv_forward_fast` then `conv_backward_fast`; all compute dx, dw "
              "and db", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = harness.arguments(__doc__, rounds=3, reps=10)
    parser.add_argument("--naive-batch", type=int, default=CASES[0][1],
                        help="batch for the naive conv (default: the full batch)")
    parser.add_argument("--gpu", action="store_true", help="also time CuPy vs cuDNN (required)")
    parser.add_argument("--no-gpu", action="store_true", help="skip the GPU rows")
    parser.add_argument("--native-blas", action="store_true",
                        help="kept for old command lines: OPENBLAS_CORETYPE is now always "
                             "removed from the workers")
    args = parser.parse_args(argv)

    if args.worker:  # inside a measuring process
        kind = args.worker
        if kind in ("ours", "ours-gpu"):
            res = worker_ours(args.reps, gpu=kind.endswith("gpu"))
        elif kind in ("torch", "torch-gpu"):
            res = worker_torch(args.reps, gpu=kind.endswith("gpu"))
        elif kind == "textbook":
            res = worker_textbook(args.reps)
        elif kind == "naive":
            res = worker_naive(args.reps, args.naive_batch)
        elif kind == "memory":
            res = worker_memory()
        else:
            raise SystemExit(f"unknown worker {kind!r}")
        print(json.dumps(res))
        return 0

    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    info = machine()
    log(f"{info['cpu']} ({info['cores']} cores), NumPy {info['numpy']}, PyTorch {info['torch']}, "
        f"OPENBLAS_CORETYPE={info['OPENBLAS_CORETYPE']}")
    info["load"] = harness.wait_until_quiet(log, args.max_load)
    env, _ = harness.worker_env()  # OpenBLAS chooses its own kernels in every worker
    log("CPU, forward + backward, median per process (ms): " + " | ".join(c[0] for c in CASES))
    kinds = ["ours", "torch", "textbook"]
    cpu = alternate(kinds, args.rounds, args.reps, log, env=env)
    cpu_native = None
    log("naive conv ...")
    naive = run_worker("naive", "--reps", "2", "--naive-batch", str(args.naive_batch), env=env)
    log("memory ...")
    memory = run_worker("memory", env=env)
    gpu = None
    if args.gpu and not gpu_present():
        raise SystemExit("--gpu: no GPU available (CuPy with a CUDA device); see `cs231n doctor`")
    if (args.gpu or gpu_present()) and not args.no_gpu:
        log("GPU ...")
        gpu = alternate(["ours-gpu", "torch-gpu"], args.rounds, args.reps, log, env=env)
        gpu = {k: {n: t["median"] for n, t in cases.items()} for k, cases in gpu.items()}

    text = report(cpu, cpu_native, naive, memory, gpu, info, args)
    print(text)
    if args.write:
        header = ["## Convolution: fast layers against PyTorch", "",
                  f"Recorded {datetime.date.today().isoformat()} with "
                  f"`python benchmarks/bench_conv.py --write {args.write}"
                  f" --rounds {args.rounds} --reps "
                  f"{args.reps}` (the script's docstring explains the method).", ""]
        write_section(args.write, "conv", "\n".join(header) + "\n" + text)
        log(f"written to {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
