"""benchmarks/RESULTS.md holds the figures of several scripts, each in its own section.

A script rewrites only its section, between ``<!-- begin NAME -->`` and ``<!-- end NAME -->``,
so re-running the conv benchmark keeps the visualizer timings and the other way round.
"""
from __future__ import annotations

import re
from pathlib import Path

TITLE = "# Benchmark results\n"


def write_section(path: str | Path, name: str, text: str) -> None:
    """Replace (or append) section ``name`` of the markdown file at ``path`` with ``text``."""
    path = Path(path)
    begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
    block = f"{begin}\n{text.strip()}\n{end}"
    old = path.read_text(encoding="utf-8") if path.exists() else TITLE
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    new = pattern.sub(lambda _: block, old) if pattern.search(old) else old.rstrip() + "\n\n" + block
    path.write_text(new.rstrip() + "\n", encoding="utf-8")
