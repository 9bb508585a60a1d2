"""The ``cs231n`` command: ``doctor`` (what can run here) and the grading commands
(``release``, ``grade``, ``check``), which live in :mod:`cs231n_lib.grading`."""
from __future__ import annotations

import argparse
import platform
import sys
from importlib import metadata

from . import __version__, backend

# Packages whose versions `cs231n doctor` reports (installed or not).
_REPORTED = ["numpy", "matplotlib", "ipywidgets", "jupyterlab", "nbval", "scikit-learn",
             "scikit-image", "cupy-cuda12x", "torch", "playwright"]


def doctor(_args: argparse.Namespace | None = None) -> int:
    """Print versions and which backends and devices are usable; exit 0."""
    print(f"cs231n_lib {__version__} on Python {platform.python_version()} ({platform.machine()})")
    for name in _REPORTED:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "not installed"
        print(f"  {name:<14} {version}")
    info = backend.available()
    print(f"default device: {info['default_device']} (set with CS231N_DEVICE=cpu|gpu)")
    print("  cpu: NumPy", info["numpy"])
    if info["gpu"]:
        print("  gpu: CuPy", info["cupy"], "—", ", ".join(info["gpus"]) or "device found")
    else:
        print("  gpu: not available —", info["gpu_reason"])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cs231n", description="The ConvNet workbook: check the set-up, release and grade notebooks.")
    parser.add_argument("--version", action="version", version=f"cs231n_lib {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("doctor", help="show versions and which backends/devices are usable")
    p.set_defaults(func=doctor)
    try:
        from .grading import cli as grading_cli
    except ImportError:  # the grading package is optional at this layer
        grading_cli = None
    if grading_cli is not None:
        grading_cli.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
