"""The backend chooses NumPy or the device module from the arrays, and says clearly why the
GPU cannot be used when it cannot."""
import subprocess
import sys

import numpy as np
import pytest

from cs231n_lib import backend


def test_numpy_arrays_and_scalars_give_numpy():
    assert backend.xp_of(np.zeros(3), None, 2.0) is np
    assert backend.xp_of() is np


def test_unknown_device_name_is_rejected():
    with pytest.raises(ValueError, match="device must be one of"):
        backend.use("tpu")


@pytest.mark.skipif(backend.gpu_available(), reason="this machine has a GPU")
def test_gpu_without_cupy_says_why_and_how():
    with pytest.raises(backend.DeviceError, match=r"pip install -e '\.\[gpu\]'"):
        backend.use("gpu")
    assert backend.device() == "cpu"  # a refused switch changes nothing
    report = backend.available()
    assert report["gpu"] is False and "CuPy" in report["gpu_reason"]


def test_to_host_and_to_device_on_cpu_keep_structure():
    x = {"w": np.ones(2), "b": [np.zeros(1), np.zeros(2)]}
    y = backend.to_device(x, "cpu")
    assert y["w"] is x["w"] and isinstance(y["b"], list) and len(y["b"]) == 2
    assert backend.to_host(np.arange(3)).tolist() == [0, 1, 2]


def test_environment_variable_selects_default_device():
    code = "from cs231n_lib import backend; print(backend.device())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"CS231N_DEVICE": "cpu", "PATH": ""})
    assert out.stdout.strip() == "cpu", out.stderr
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"CS231N_DEVICE": "quantum", "PATH": ""})
    assert out.returncode != 0 and "device must be one of" in out.stderr


def test_only_backend_imports_numpy_or_cupy():
    """The package's one door to the array libraries (tests may import numpy freely)."""
    import re
    from pathlib import Path
    root = Path(backend.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        if path.name == "backend.py":
            continue
        for line in path.read_text().splitlines():
            if re.match(r"\s*(import|from)\s+(numpy|cupy)\b", line):
                offenders.append(f"{path.relative_to(root)}: {line.strip()}")
    assert not offenders, "import numpy/cupy through cs231n_lib.backend:\n" + "\n".join(offenders)
