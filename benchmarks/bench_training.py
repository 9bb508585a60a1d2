"""Train a small ConvNet, written as a pattern string, on scikit-learn's handwritten digits and
report the wall time and the test accuracy (the bar: >= 97% in under 60 s on 2 CPU cores).

    python benchmarks/bench_training.py            # three seeds
    python benchmarks/bench_training.py --seeds 0  # one

The figures are recorded in benchmarks/TRAINING.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import time

from cs231n_lib.data import load_digits
from cs231n_lib.models import Sequential
from cs231n_lib.solver import Solver

PATTERN = "INPUT(1, 8, 8) -> [[CONV -> RELU]*2 -> POOL]*2 -> FC -> RELU -> FC"
SIZES = {"filters": [32, 32, 64, 64], "hidden": 128, "num_classes": 10}
TRAINING = {"update_rule": "adam", "optim_config": {"learning_rate": 2e-3}, "lr_decay": 0.9,
            "batch_size": 32, "num_epochs": 10}


def run(seed: int) -> dict:
    start, cpu = time.perf_counter(), time.process_time()
    data = load_digits(seed=0)  # one fixed split; the seed varies the network and the order
    model = Sequential(PATTERN, seed=seed, **SIZES)
    solver = Solver(model, data, seed=seed, verbose=False, progress=False, **TRAINING)
    solver.train()
    accuracy = float((model.predict(data["X_test"]) == data["y_test"]).mean())
    return {"seed": seed, "seconds": time.perf_counter() - start,
            "cpu_seconds": time.process_time() - cpu, "test_accuracy": accuracy,
            "best_val_accuracy": solver.best_val_acc}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    print(f"pattern: {PATTERN}  sizes: {SIZES}")
    print(f"training: {TRAINING}")
    print(f"CPU cores: {os.cpu_count()}; "
          f"{platform.processor() or platform.machine()}")
    print("| seed | wall time (s) | CPU time (s, both cores) | test accuracy | best val accuracy |")
    print("|---|---|---|---|---|")
    for seed in args.seeds:
        r = run(seed)
        print(f"| {r['seed']} | {r['seconds']:.1f} | {r['cpu_seconds']:.1f} | "
              f"{r['test_accuracy']:.4f} | "
              f"{r['best_val_accuracy']:.4f} |", flush=True)


if __name__ == "__main__":
    main()
