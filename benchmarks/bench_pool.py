"""Max pooling, forward + backward, ours (``fast_layers``) against PyTorch's ``max_pool2d``.

    python benchmarks/bench_pool.py                      # 5 rounds, 30 repetitions
    python benchmarks/bench_pool.py --write benchmarks/RESULTS.md

On a realistic activation, float32 (the output of a ReLU, so with the ties of its zeros):
x of shape (64, 64, 32, 32), pools 2x2 stride 2 (windows that tile) and 3x3 stride 2
(overlapping windows, on 33x33 so that they fit). Ours: ``max_pool_forward_fast`` then
``max_pool_backward_fast``; PyTorch: ``max_pool2d`` on an x requiring grad, then
``out.backward(dout)``. Same method as the other scripts (benchmarks/harness.py): each side
in its own process, alternating, medians over every timed repetition.
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

# (name, x shape, pool size, stride)
CASES = [("2x2 S2 on 64x64x32x32", (64, 64, 32, 32), 2, 2),
         ("3x3 S2 on 64x64x33x33", (64, 64, 33, 33), 3, 2)]
BAR = 2.0


def arrays(shape, F, S):
    import numpy as np

    rng = np.random.default_rng(0)
    x = np.maximum(rng.standard_normal(shape, dtype=np.float32), 0)  # after a ReLU
    out = (shape[2] - F) // S + 1, (shape[3] - F) // S + 1
    return x, rng.standard_normal(shape[:2] + out, dtype=np.float32)


def worker_ours(reps: int) -> dict:
    from cs231n_lib.fast_layers import max_pool_backward_fast, max_pool_forward_fast

    res = {}
    for name, shape, F, S in CASES:
        x, dout = arrays(shape, F, S)
        param = {"pool_height": F, "pool_width": F, "stride": S}

        def step():
            out, cache = max_pool_forward_fast(x, param)
            return max_pool_backward_fast(dout, cache)

        res[name] = harness.time_ms(step, reps)
    return res


def worker_torch(reps: int) -> dict:
    import torch

    res = {}
    for name, shape, F, S in CASES:
        x, dout = (torch.from_numpy(a) for a in arrays(shape, F, S))
        x.requires_grad_(True)

        def step():
            out = torch.nn.functional.max_pool2d(x, F, S)
            out.backward(dout)
            x.grad = None

        res[name] = harness.time_ms(step, reps)
    return res


def report(res: dict, info: dict, args) -> str:
    lines = ["| case | ours, median (ms) | PyTorch, median (ms) | ours / PyTorch |",
             "|---|---:|---:|---:|"]
    ratios = []
    for name, *_ in CASES:
        mo = harness.median(harness.pooled(res["ours"], name))
        mt = harness.median(harness.pooled(res["torch"], name))
        ratios.append(mo / mt)
        lines.append(f"| {name} | {mo:.2f} | {mt:.2f} | {mo / mt:.2f}x |")
    met = "met" if max(ratios) <= BAR else "not met"
    lines += ["", f"Bar: every case within {BAR}x PyTorch: **{met}**.", ""]
    lines += harness.method_lines(args, info, 'repetitions per case')
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = harness.arguments(__doc__)
    args = parser.parse_args(argv)
    if args.worker:
        fn = {"ours": worker_ours, "torch": worker_torch}[args.worker]
        print(json.dumps(fn(args.reps)))
        return 0
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    env, was = harness.worker_env()
    info = harness.machine(was)
    info["load"] = harness.wait_until_quiet(log, args.max_load)
    res = harness.alternate(__file__, ["ours", "torch"], args.rounds, ["--reps", str(args.reps)],
                            env, log)
    text = report(res, info, args)
    print(text)
    if args.write:
        header = ["## Max pooling: forward + backward against PyTorch", "",
                  f"Recorded {datetime.date.today().isoformat()} with `python "
                  f"benchmarks/bench_pool.py --write {args.write} --rounds {args.rounds} "
                  f"--reps {args.reps}` (the script's docstring gives the cases).", ""]
        write_section(args.write, "pool", "\n".join(header) + "\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
