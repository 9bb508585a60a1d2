"""One training step of a small CIFAR-shaped ConvNet: ``Sequential`` against PyTorch CPU.

    python benchmarks/bench_step.py                      # 5 rounds, 30 steps per process
    python benchmarks/bench_step.py --write benchmarks/RESULTS.md
    python benchmarks/bench_step.py --profile            # where our step spends its time

The network, on both sides (float32, batch 64, inputs 3x32x32, seeded)::

    INPUT(3, 32, 32) -> [[CONV3x3 pad1 -> RELU]*2 -> POOL2x2]*2 -> FC(256) -> RELU -> FC(10)

with 32, 32, 64, 64 filters. One step is the forward pass, the softmax loss, the backward
pass and a plain SGD update (learning rate 1e-2, no momentum, no regularization). Ours is
``cs231n_lib.models.Sequential`` with ``cs231n_lib.optim.sgd`` (what ``Solver`` runs);
PyTorch's is ``torch.nn.Sequential`` with ``torch.optim.SGD``.

Method (see benchmarks/harness.py): each side in its own process, alternating, ``--rounds``
rounds of ``--reps`` timed steps after 3 warm-up steps; the figure is the median over every
timed step of a side; OPENBLAS_CORETYPE removed from the workers. The memory worker records
the peak of everything NumPy allocates during one step (``tracemalloc``, after a warm-up
step; the parameters and the data, allocated before, are not counted) and the process's
maximum resident set.
"""
from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import harness  # noqa: E402
from results_file import write_section  # noqa: E402

PATTERN = "INPUT(3, 32, 32) -> [[CONV -> RELU]*2 -> POOL]*2 -> FC -> RELU -> FC"
SIZES = {"filters": [32, 32, 64, 64], "hidden": 256, "num_classes": 10}
N, LR = 64, 1e-2
BAR, STRETCH = 1.5, 1.2


def numpy_data():
    import numpy as np

    rng = np.random.default_rng(0)
    return (rng.standard_normal((N, 3, 32, 32), dtype=np.float32),
            rng.integers(0, 10, N))


def our_step():
    from cs231n_lib.models import Sequential
    from cs231n_lib.optim import sgd

    X, y = numpy_data()
    model = Sequential(PATTERN, seed=0, **SIZES)
    config = {"learning_rate": LR}

    def step():
        loss, grads = model.loss(X, y)
        for key, dw in grads.items():
            model.params[key], _ = sgd(model.params[key], dw, config)
        return loss

    return step


def worker_ours(reps: int) -> dict:
    return {"step": harness.time_ms(our_step(), reps)}


def worker_torch(reps: int) -> dict:
    import torch
    from torch import nn

    torch.manual_seed(0)
    X, y = (torch.from_numpy(a) for a in numpy_data())

    def block(c_in, c_out):
        return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(),
                nn.Conv2d(c_out, c_out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]

    model = nn.Sequential(*block(3, 32), *block(32, 64), nn.Flatten(),
                          nn.Linear(64 * 8 * 8, 256), nn.ReLU(), nn.Linear(256, 10))
    opt = torch.optim.SGD(model.parameters(), lr=LR)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(model(X), y)
        loss.backward()
        opt.step()
        return loss

    return {"step": harness.time_ms(step, reps)}


def worker_memory() -> dict:
    import resource
    import tracemalloc

    step = our_step()
    step()  # warm-up: first-use allocations are not part of a step
    tracemalloc.start()
    step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"peak_bytes": peak, "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


def profile(reps: int) -> None:
    import cProfile
    import pstats

    step = our_step()
    step()
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(reps):
        step()
    prof.disable()
    stats = pstats.Stats(prof).sort_stats("tottime")
    stats.print_stats(25)


def report(res: dict, memory: dict, info: dict, args) -> str:
    ours = harness.pooled(res["ours"], "step")
    torch = harness.pooled(res["torch"], "step")
    mo, mt = harness.median(ours), harness.median(torch)
    ratio = mo / mt
    per_round = [harness.median(a["step"]) / harness.median(b["step"])
                 for a, b in zip(res["ours"], res["torch"])]
    verdict = ("met, and the stretch goal too" if ratio <= STRETCH else
               "met" if ratio <= BAR else "not met")
    lines = [
        "| | median (ms) | best (ms) | processes x steps |", "|---|---:|---:|---:|",
        f"| ours (`Sequential` + `optim.sgd`) | {mo:.1f} | {min(ours):.1f} | "
        f"{len(res['ours'])} x {args.reps} |",
        f"| PyTorch CPU | {mt:.1f} | {min(torch):.1f} | {len(res['torch'])} x {args.reps} |",
        f"| **ours / PyTorch** | **{ratio:.2f}x** | {min(ours) / min(torch):.2f}x | |", "",
        "Ratio of the medians in each round: " + ", ".join(f"{r:.2f}x" for r in per_round)
        + ".", "",
        f"Bar: at most {BAR}x PyTorch (stretch {STRETCH}x): **{verdict}**.", "",
        f"Memory of one step (ours): tracemalloc peak {memory['peak_bytes'] / 2**20:.1f} MiB "
        f"(everything NumPy allocated during the step); maximum resident set of the process "
        f"{memory['maxrss_kib'] / 1024:.0f} MiB.", "",
    ]
    lines += harness.method_lines(args, info, 'steps')
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = harness.arguments(__doc__)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    if args.worker:
        res = {"ours": lambda: worker_ours(args.reps), "torch": lambda: worker_torch(args.reps),
               "memory": worker_memory}[args.worker]()
        print(json.dumps(res))
        return 0
    if args.profile:
        profile(args.reps)
        return 0
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    env, was = harness.worker_env()
    info = harness.machine(was)
    info["load"] = harness.wait_until_quiet(log, args.max_load)
    log(f"{info['cpu']} ({info['cores']} cores), OPENBLAS_CORETYPE={was} (removed in workers)")
    res = harness.alternate(__file__, ["ours", "torch"], args.rounds, ["--reps", str(args.reps)],
                            env, log)
    memory = harness.run_worker(__file__, ["memory"], env)
    text = report(res, memory, info, args)
    print(text)
    if args.write:
        header = ["## One training step: `Sequential` against PyTorch CPU", "",
                  f"Recorded {datetime.date.today().isoformat()} with `python "
                  f"benchmarks/bench_step.py --write {args.write} --rounds {args.rounds} "
                  f"--reps {args.reps}` (the script's docstring gives the network and the "
                  "method). One step: forward, softmax loss, backward, SGD update; "
                  f"{PATTERN}, filters 32/32/64/64, hidden 256, batch {N}, float32.", ""]
        write_section(args.write, "step", "\n".join(header) + "\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
