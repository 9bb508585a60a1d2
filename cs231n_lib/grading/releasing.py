"""``cs231n release notebooks/ assignments/``: the student versions of the instructor notebooks.

For every ``*.ipynb`` directly inside the source folder, the release writes a notebook of the
same name where

* each solution block is replaced by ``raise NotImplementedError("<hint>")``;
* hidden test blocks are removed (a test whose checks are all hidden says so in a comment);
* outputs, execution counts, run timestamps and saved widget state are cleared, and the
  jupytext pairing is dropped (students get plain notebooks);
* test cells keep ``{"cs231n": {"id", "points"}}`` so that students see what each test is
  worth, and are marked read-only (``editable``/``deletable`` false) in JupyterLab; the grader
  never trusts these copies: it re-reads points and test code from the instructor notebooks;
* the notebook metadata gets ``cs231n.assignment`` (the file name) and ``cs231n.layout`` (the
  public tests and the landmarks), which the self-check uses to run the public tests exactly as
  the grader does, even if a student edited a test cell.

Only notebooks are released; files beside them are not copied. The output is a pure function
of the input (same bytes every time), so CI can run ``cs231n release --check`` to verify that
``assignments/`` is up to date.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

from .notebook_format import (META_KEY, FormatError, cell_kind, fallback_cell_id, instructor_layout,
                              released_source, validate_instructor_notebook)


def load_notebook_json(path: Path) -> dict:
    """The JSON of a notebook file; FormatError if it is not a version-4 notebook."""
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"{path}: cannot be read as a notebook ({exc})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list) or nb.get("nbformat") != 4:
        raise FormatError(f"{path}: is not a Jupyter notebook in format version 4")
    return nb


def release_notebook(nb: dict, name: str) -> dict:
    """The student version of one validated instructor notebook (a new dict)."""
    validate_instructor_notebook(nb, name)
    layout = instructor_layout(nb, name)
    out = copy.deepcopy(nb)
    for index, cell in enumerate(out["cells"]):
        kind = cell_kind(nb["cells"][index])
        cell.setdefault("id", fallback_cell_id(name, index))
        cell["source"] = released_source(nb["cells"][index])
        meta = cell.setdefault("metadata", {})
        meta.pop("execution", None)            # run timestamps, like outputs
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
        if kind in ("test", "self_check"):
            meta["editable"], meta["deletable"] = False, False
    out["nbformat_minor"] = max(int(out.get("nbformat_minor", 0)), 5)  # 4.5: cells have ids
    out.setdefault("metadata", {}).pop("widgets", None)   # widget state saved with the outputs
    out["metadata"].pop("jupytext", None)    # students get plain notebooks, paired with nothing
    out["metadata"][META_KEY] = layout.to_metadata()
    return out


def notebook_bytes(nb: dict) -> bytes:
    """Serialise the way Jupyter does (sorted keys, one-space indent, trailing newline)."""
    import nbformat  # imported here: it is slow to import and only the release writes notebooks

    return nbformat.writes(nbformat.from_dict(nb), version=4).encode("utf-8") + b"\n"


@dataclass
class ReleaseReport:
    written: list[Path] = field(default_factory=list)    # new or changed
    unchanged: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)    # released earlier, source gone

    @property
    def changes(self) -> list[Path]:
        return self.written + self.removed


def _was_released(path: Path) -> bool:
    try:
        meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
        return isinstance(meta.get(META_KEY), dict) and "assignment" in meta[META_KEY]
    except (OSError, ValueError, AttributeError):
        return False


def release(src_dir: str | Path, dst_dir: str | Path, check: bool = False) -> ReleaseReport:
    """Write the student version of every notebook of ``src_dir`` into ``dst_dir``.

    Inputs:
    - src_dir: folder of instructor notebooks (``*.ipynb``, not recursive).
    - dst_dir: folder of student notebooks; created if needed. Notebooks in it that an earlier
      release wrote but whose source is gone are removed; other files are left alone.
    - check: write nothing, only report what would change (``report.changes`` empty means
      ``dst_dir`` is up to date).

    Raises FormatError (naming notebook and cell) before writing anything if any source
    notebook breaks the format.
    """
    src, dst = Path(src_dir), Path(dst_dir)
    if not src.is_dir():
        raise FormatError(f"{src}: no such folder of instructor notebooks")
    sources = sorted(p for p in src.glob("*.ipynb") if p.is_file())
    # Validate and render everything first: a format error must not leave a half release.
    rendered = {p.name: notebook_bytes(release_notebook(load_notebook_json(p), p.name)) for p in sources}
    report = ReleaseReport()
    if not check:
        dst.mkdir(parents=True, exist_ok=True)
    for name, data in rendered.items():
        target = dst / name
        if target.is_file() and target.read_bytes() == data:
            report.unchanged.append(target)
            continue
        report.written.append(target)
        if not check:
            target.write_bytes(data)
    if dst.is_dir():
        for stale in sorted(dst.glob("*.ipynb")):
            if stale.name not in rendered and _was_released(stale):
                report.removed.append(stale)
                if not check:
                    stale.unlink()
    return report
