"""Time from a slider change to a finished redraw, for each visualizer at its default settings.

A "redraw" is everything the kernel does when a learner releases a slider: the widget's
observer runs, the view is computed, drawn (HTML, or a matplotlib figure encoded as PNG) and
the output area is replaced. The browser then paints the new output (a few milliseconds for
HTML and PNG of this size; the browser test measures one case end to end).

Each visualizer is built once, then one control is moved back and forth between two valid
values; the table gives the median and the best of the repeats. Goal: under 150 ms.

    python benchmarks/bench_viz.py               # print the table
    python benchmarks/bench_viz.py --write benchmarks/RESULTS.md
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time

from pathlib import Path

from cs231n_lib import viz
from results_file import write_section  # benchmarks/ is on sys.path when run as a script

BROWSER_TIMINGS = Path(__file__).resolve().parents[1] / "test-artifacts" / "browser-timings.json"

# (name, widget factory, control, two values to alternate between)
CASES = [
    ("output-size explorer", viz.output_size_widget, "S", (1, 2)),
    ("conv stepper", viz.conv_stepper_widget, "step", (1, 0)),
    ("receptive-field viewer", viz.receptive_field_widget, "row", (65, 64)),
    ("im2col view", viz.im2col_widget, "position", (1, 0)),
    ("parameter counter", viz.param_counter_widget, "K", (95, 96)),
    ("filters and activations", viz.filters_widget, "relu", (False, True)),
    ("augmentation explorer", viz.augmentation_widget, "rotation", (5, 0)),
    ("strides explorer", viz.strides_widget, "operation", ("x.T", "x")),
    ("gradient-descent comparison", viz.gd_widget, "epochs", (2, 3)),
    ("pooling stepper", viz.pool_stepper_widget, "step", (1, 0)),
    ("batchnorm explorer", viz.batchnorm_widget, "batches_seen", (11, 10)),
    ("score map", viz.score_map_widget, "col", (4, 3)),
    ("memory explorer", viz.memory_explorer_widget, "batch_size", (33, 32)),
]

GOAL_MS = 150.0


def time_case(factory, control: str, values: tuple, repeats: int) -> list[float]:
    """Seconds per redraw, measured around the assignment that a slider release makes."""
    live = factory()
    slider = live.controls[control]
    for value in values:  # warm caches (photos, fonts) as a second move would
        slider.value = value
    times = []
    for r in range(repeats):
        start = time.perf_counter()
        slider.value = values[r % 2]
        times.append(time.perf_counter() - start)
        if live.error is not None:
            raise RuntimeError(f"{control}={values[r % 2]} is invalid: {live.error}")
    return times


def time_training() -> dict:
    """One Train click of the hyperparameter explorer, waited for: its own timings."""
    live = viz.hyperparams_widget()
    live.train_button.click()
    run = live.wait()
    return dict(live.timings, val_acc=run.points[-1].val_acc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--write", metavar="PATH", help="also write the table as markdown")
    args = parser.parse_args(argv)
    rows = []
    for name, factory, control, values in CASES:
        t = time_case(factory, control, values, args.repeats)
        median, best = statistics.median(t) * 1e3, min(t) * 1e3
        rows.append((name, control, median, best))
        print(f"{name:<26} {control:<9} median {median:7.1f} ms   best {best:7.1f} ms", flush=True)
    lines = [
        "## Visualizers: slider change to finished redraw",
        "",
        "Measured by `benchmarks/bench_viz.py` (default settings of each widget, one control "
        f"moved back and forth, {args.repeats} moves): compute, render, PNG/HTML, output replaced. "
        f"Goal: under {GOAL_MS:.0f} ms.",
        "",
        f"Measured {datetime.date.today()}. Machine: {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}.",
        "",
        "| visualizer | control moved | median (ms) | best (ms) | goal met |",
        "|---|---|---:|---:|:---:|",
    ]
    for name, control, median, best in rows:
        lines.append(f"| {name} | `{control}` | {median:.1f} | {best:.1f} | "
                     f"{'yes' if median < GOAL_MS else 'no'} |")
    train = time_training()
    lines += ["", "The hyperparameter explorer (digits, default settings, "
              f"{train['points']} curve points): Train pressed to the first curve point drawn "
              f"{train['first_point'] * 1e3:.0f} ms; {train['redraws']} redraws in "
              f"{train['seconds']:.2f} s of training ({train['redraws'] / train['seconds']:.1f} "
              "per second); final validation accuracy "
              f"{train['val_acc']:.3f}."]
    print(f"hyperparameter explorer: first point {train['first_point'] * 1e3:.0f} ms, "
          f"{train['redraws'] / train['seconds']:.1f} redraws/s, run {train['seconds']:.2f} s", flush=True)
    if BROWSER_TIMINGS.exists():  # written by tests/test_browser.py
        lines += ["", "End to end in the browser (JupyterLab in headless Chromium, "
                  "`tests/test_browser.py`, last run): key press on a slider to the new output "
                  "shown.", ""]
        for what, cases in json.loads(BROWSER_TIMINGS.read_text()).items():
            for case, ms in cases.items():
                lines.append(f"- {what}: {case}: {ms} ms")
    if args.write:
        write_section(args.write, "viz", "\n".join(lines))
    return 0 if all(median < GOAL_MS for _, _, median, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
