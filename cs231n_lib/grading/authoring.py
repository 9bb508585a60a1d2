"""Notebook sources: one MyST Markdown file per notebook, paired with its executed ``.ipynb``.

An instructor writes ``notebooks/NN_name.md`` (prose as Markdown, code in ``{code-cell}``
blocks, the grading metadata as cell options) or edits ``NN_name.ipynb`` in JupyterLab, where
jupytext keeps the two files paired. ``cs231n sync notebooks/`` turns each source into its
executed notebook:

1. read the ``.md`` with jupytext (if only the ``.ipynb`` was edited, and it is the newer file,
   the ``.md`` is first rewritten from it, so no edit is lost);
2. give every cell a **stable id** (the grader finds a student's cells by these ids):

   * a test cell: ``test-<test id>``; the self-check cell: ``self-check``;
   * any other cell keeps the id it had in the previous ``.ipynb``: the old and new cell lists
     are aligned like the lines of a diff, so inserting, deleting or editing one cell leaves
     the ids of all the others alone;
   * a new cell gets an id made from its content;

3. write the notebook (the self-check cell reads the saved file), execute it top to bottom in a
   fresh kernel and write it again with its outputs, which nbval compares.

``cs231n sync notebooks/ --check`` writes nothing and lists every pair that disagrees: a cell
added, removed or changed on one side only, different grading metadata or tags, ids that are
not the stable ones, code cells never executed, a notebook without its source.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .notebook_format import cell_kind, cell_meta, cell_source, normalised

PAIRED_FORMATS = "ipynb,md:myst"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


# --------------------------------------------------------------------------------------------
# Stable cell ids
# --------------------------------------------------------------------------------------------
def _key(cell: dict) -> str:
    return f"{cell.get('cell_type')}\0{normalised(cell_source(cell))}"


def fixed_cell_id(cell: dict) -> str | None:
    """The id a test or self-check cell always has; None for other cells."""
    kind = cell_kind(cell)
    if kind == "self_check":
        return "self-check"
    test_id = cell_meta(cell).get("id")
    if kind == "test" and isinstance(test_id, str):
        return "test-" + re.sub(r"[^A-Za-z0-9_-]", "-", test_id)[:59]
    return None


def assign_ids(cells: list[dict], previous: list[dict]) -> None:
    """Give ``cells`` stable ids in place, reusing those of ``previous`` (the cells of the last
    written notebook) for the cells that correspond to them."""
    inherited: dict[int, str] = {}
    matcher = difflib.SequenceMatcher(None, [_key(c) for c in previous], [_key(c) for c in cells],
                                      autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        # equal runs, and edited runs of the same length (a cell rewritten in place), keep ids
        if op == "equal" or (op == "replace" and a1 - a0 == b1 - b0):
            for a, b in zip(range(a0, a1), range(b0, b1)):
                if previous[a].get("cell_type") == cells[b].get("cell_type"):
                    inherited[b] = str(previous[a].get("id", ""))
    taken = {fixed_cell_id(c) for c in cells} - {None}
    for index, cell in enumerate(cells):
        fixed = fixed_cell_id(cell)
        if fixed:
            cell["id"] = fixed
            continue
        candidate = inherited.get(index, "")
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", candidate) or candidate in taken:
            candidate = "c-" + hashlib.sha1(_key(cell).encode()).hexdigest()[:10]
            n = 1
            while candidate in taken:
                n += 1
                candidate = "c-" + hashlib.sha1(f"{_key(cell)}\0{n}".encode()).hexdigest()[:10]
        cell["id"] = candidate
        taken.add(candidate)


# --------------------------------------------------------------------------------------------
# Reading and writing the pair
# --------------------------------------------------------------------------------------------
def read_source(md_path: Path) -> dict:
    """The cells and metadata of a MyST source, as notebook JSON (no outputs, no ids yet)."""
    import jupytext

    nb = json.loads(jupytext.writes(jupytext.read(md_path), fmt="ipynb"))
    for cell in nb["cells"]:
        cell.pop("id", None)    # jupytext makes up random ones
        cell["source"] = cell_source(cell)
    return nb


def _notebook_metadata(source_meta: dict) -> dict:
    meta = {k: v for k, v in source_meta.items() if k not in ("jupytext", "kernelspec")}
    meta["jupytext"] = {"formats": PAIRED_FORMATS}
    meta["kernelspec"] = dict(KERNELSPEC)
    meta.setdefault("language_info", {"name": "python"})
    return meta


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _cells_differ(a: list[dict], b: list[dict]) -> list[str]:
    """What differs between two cell lists, ignoring outputs and ids, in words."""
    problems = []
    if len(a) != len(b):
        problems.append(f"{len(a)} cells in the source, {len(b)} in the notebook")
    for index, (x, y) in enumerate(zip(a, b)):
        if _key(x) != _key(y):
            problems.append(f"cell {index} differs ({x.get('cell_type')} "
                            f"`{normalised(cell_source(x))[:40]}`)")
        elif cell_meta(x) != cell_meta(y) or x.get("metadata", {}).get("tags") != y.get("metadata", {}).get("tags"):
            problems.append(f"cell {index}: grading metadata or tags differ")
    return problems


def notebook_from_source(md_path: Path, previous: dict | None) -> dict:
    """The notebook a source describes, with stable ids; outputs of cells unchanged since
    ``previous`` are kept (they are replaced when the notebook is executed)."""
    nb = read_source(md_path)
    old_cells = previous["cells"] if previous else []
    assign_ids(nb["cells"], old_cells)
    old = {c.get("id"): c for c in old_cells}
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            before = old.get(cell["id"])
            same = before is not None and _key(before) == _key(cell)
            cell["outputs"] = before.get("outputs", []) if same else []
            cell["execution_count"] = before.get("execution_count") if same else None
    nb["metadata"] = _notebook_metadata(nb.get("metadata", {}))
    nb["nbformat"], nb["nbformat_minor"] = 4, 5
    return nb


def _write(nb: dict, path: Path) -> None:
    import nbformat

    node = nbformat.from_dict(nb)
    nbformat.validate(node)
    path.write_text(nbformat.writes(node, version=4) + "\n", encoding="utf-8")


def _execute(nb: dict, folder: Path, timeout: int) -> dict:
    import nbformat
    from nbclient import NotebookClient

    node = nbformat.from_dict(nb)
    # no widget state and no timing metadata: the saved file depends on the cells only
    NotebookClient(node, timeout=timeout, kernel_name="python3", store_widget_state=False,
                   record_timing=False, resources={"metadata": {"path": str(folder)}}).execute()
    return json.loads(nbformat.writes(node, version=4))


def source_from_notebook(ipynb: Path, md_path: Path) -> None:
    """Rewrite the MyST source from a notebook edited on its own."""
    import jupytext

    nb = jupytext.read(ipynb)
    nb.metadata.setdefault("jupytext", {})["formats"] = PAIRED_FORMATS
    jupytext.write(nb, md_path, fmt="md:myst")


@dataclass
class SyncReport:
    written: list[Path] = field(default_factory=list)
    sources_updated: list[Path] = field(default_factory=list)   # .md rewritten from its .ipynb
    problems: list[str] = field(default_factory=list)            # --check: what disagrees


def sources(folder: Path, only: list[str] | None = None) -> list[Path]:
    """The MyST sources of a folder (``NN_name.md``), or those whose name starts with one of
    ``only`` (e.g. ``["02", "04_conv"]``)."""
    found = sorted(p for p in Path(folder).glob("*.md") if re.match(r"\d\d_", p.name))
    return [p for p in found if not only or any(p.stem.startswith(o) for o in only)]


def sync_one(md_path: Path, execute: bool = True, timeout: int = 600) -> tuple[Path, bool]:
    """Write ``md_path``'s notebook (executed unless ``execute`` is False). Returns the notebook
    path and whether the source was first rewritten from a newer, different notebook."""
    ipynb = md_path.with_suffix(".ipynb")
    previous = _read_json(ipynb)
    updated = False
    if previous is not None and ipynb.stat().st_mtime > md_path.stat().st_mtime \
            and _cells_differ(read_source(md_path)["cells"], previous["cells"]):
        source_from_notebook(ipynb, md_path)
        updated = True
    nb = notebook_from_source(md_path, previous)
    _write(nb, ipynb)                 # the self-check cell reads the saved file
    if execute:
        nb = _execute(nb, md_path.parent, timeout)
        _write(nb, ipynb)
    return ipynb, updated


def check_pair(md_path: Path) -> list[str]:
    """Why ``md_path`` and its notebook disagree (empty when they are in step)."""
    ipynb = md_path.with_suffix(".ipynb")
    name = f"{md_path.name} / {ipynb.name}"
    nb = _read_json(ipynb)
    if nb is None:
        return [f"{name}: the notebook is missing or not JSON"]
    expected = read_source(md_path)["cells"]
    problems = _cells_differ(expected, nb["cells"])
    if not problems:
        assign_ids(expected, nb["cells"])
        if [c["id"] for c in expected] != [c.get("id") for c in nb["cells"]]:
            problems.append("cell ids are not the stable ones")
        unrun = sum(1 for c in nb["cells"] if c["cell_type"] == "code"
                    and cell_source(c).strip() and c.get("execution_count") is None)
        if unrun:
            problems.append(f"{unrun} code cells were never executed")
        if nb.get("metadata", {}).get("jupytext", {}).get("formats") != PAIRED_FORMATS:
            problems.append(f"not paired (metadata jupytext.formats should be {PAIRED_FORMATS!r})")
    return [f"{name}: {p}" for p in problems]


def sync(folder: str | Path, only: list[str] | None = None, check: bool = False,
         execute: bool = True, timeout: int = 600, progress=print) -> SyncReport:
    """Sync (or, with ``check``, only compare) every source of ``folder`` with its notebook."""
    folder = Path(folder)
    report = SyncReport()
    chosen = sources(folder, only)
    if check:
        for md in chosen:
            report.problems += check_pair(md)
        named = {p.stem for p in chosen}
        for nb in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
            if nb.stem not in named and not only:
                report.problems.append(f"{nb.name}: has no MyST source {nb.stem}.md")
        return report
    for md in chosen:
        ipynb, updated = sync_one(md, execute=execute, timeout=timeout)
        report.written.append(ipynb)
        if updated:
            report.sources_updated.append(md)
        progress(f"{ipynb}" + (" (source updated from the edited notebook first)" if updated else "")
                 + (", executed" if execute else ""))
    return report


__all__ = ["assign_ids", "check_pair", "sync", "sync_one", "sources"]
