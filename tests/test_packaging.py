"""The two ways to install the workbook (pip with pyproject.toml, conda with environment.yml)
must ask for the same packages at the same versions, and the console script must answer."""
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# Extras that conda users install separately (GPU wheels, the benchmark's PyTorch).
NOT_IN_CONDA_ENV = {"gpu", "bench"}


def _split(req: str) -> tuple[str, str]:
    """'ipywidgets>=8,<9' -> ('ipywidgets', '>=8,<9'), with names normalised as pip does."""
    m = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(.*)$", req)
    name = re.sub(r"[-_.]+", "-", m.group(1)).lower()
    return name, m.group(2).replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra, items in project["optional-dependencies"].items():
        if extra not in NOT_IN_CONDA_ENV:
            reqs += items
    return dict(_split(r) for r in reqs)


def conda_requirements() -> dict[str, str]:
    deps = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    found = {}
    for dep in deps:
        items = dep["pip"] if isinstance(dep, dict) else [dep]
        for item in items:
            if item.startswith("-e"):  # the workbook itself
                continue
            name, spec = _split(item)
            if name not in {"python", "pip"}:
                found[name] = spec
    return found


def test_environment_yml_matches_pyproject():
    pip_side, conda_side = pyproject_requirements(), conda_requirements()
    missing = sorted(set(pip_side) - set(conda_side))
    extra = sorted(set(conda_side) - set(pip_side))
    assert not missing, f"in pyproject.toml but not environment.yml: {missing}"
    assert not extra, f"in environment.yml but not pyproject.toml: {extra}"
    differ = {n: (pip_side[n], conda_side[n]) for n in pip_side if pip_side[n] != conda_side[n]}
    assert not differ, f"version specs differ (pyproject, environment.yml): {differ}"


def test_drift_is_detected(tmp_path, monkeypatch):
    """The comparison above can fail: a dropped dependency is noticed."""
    text = (ROOT / "environment.yml").read_text().replace("  - tqdm>=4.66\n", "")
    fake = tmp_path / "environment.yml"
    fake.write_text(text)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    (tmp_path / "pyproject.toml").write_text((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert "tqdm" not in conda_requirements()
    assert "tqdm" in pyproject_requirements()


def test_console_script_help_and_doctor():
    out = subprocess.run([sys.executable, "-m", "cs231n_lib.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "doctor" in out.stdout
    out = subprocess.run([sys.executable, "-m", "cs231n_lib.cli", "doctor"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "numpy" in out.stdout and "default device: cpu" in out.stdout
