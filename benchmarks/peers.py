"""The peer libraries' virtual environments, shared by the benchmarks.

Each peer runs in a venv of its own under ``benchmarks/.work/``, created on first use with pip.
The versions are pinned, the peer's and those of the libraries its speed depends on (pandas,
numpy, scipy): lifetimes' summary took 27 s with one pandas and 48 s with another in earlier
sessions, so unpinned venvs made figures of different sessions incomparable. A venv made with
other pins (an older one) is made again.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

WORK = Path(__file__).resolve().parent / ".work"

#: What each peer's venv gets (the versions measured with in the README).
LIFETIMES_PACKAGES = [
    "lifetimes==0.11.3",
    "autograd==1.9.1",
    "pandas==3.1.2",
    "numpy==2.4.6",
    "scipy==1.17.1",
    "pyarrow==26.0.1",
]
PYMC_PACKAGES = [
    "pymc-marketing==1.3.0",
    "pymc==6.3.2",
    "pymc-extras==0.15.1",
    "pytensor==3.3.8",
    "arviz==1.3.0",
    "pandas==3.1.2",
    "numpy==2.4.6",
    "scipy==1.18.1",
    "pyarrow==26.0.1",
]
LIFETIMES_VENV = WORK / "venv-lifetimes"
PYMC_VENV = WORK / "venv-pymc"

#: The file in a venv that records what it was made with.
PINS_FILE = "lifevalue-benchmark-pins.txt"


def ensure_venv(venv: Path, python: str | None, packages: list[str]) -> Path | None:
    """The Python of ``venv``, made with ``python`` and ``packages`` unless it already was;
    None when it cannot be made (no such Python, or pip failed)."""
    py = venv / "bin" / "python"
    pins = venv / PINS_FILE
    wanted = "\n".join(packages) + "\n"
    if py.exists() and pins.exists() and pins.read_text(encoding="utf-8") == wanted:
        return py
    if python is None:
        return None
    if venv.exists():
        print(f"{venv.name} was made with other versions: making it again", flush=True)
        shutil.rmtree(venv)
    print(f"creating {venv.name} (pip install {' '.join(packages)}) ...", flush=True)
    try:
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", *packages], check=True)
    except subprocess.CalledProcessError:
        shutil.rmtree(venv, ignore_errors=True)
        return None
    pins.write_text(wanted, encoding="utf-8")
    return py


def lifetimes_python() -> Path | None:
    """The lifetimes venv's Python (made with Python 3.11, which lifetimes 0.11.3 runs on)."""
    base = sys.executable if sys.version_info[:2] == (3, 11) else shutil.which("python3.11")
    return ensure_venv(LIFETIMES_VENV, base, LIFETIMES_PACKAGES)


def python312() -> str | None:
    """A Python 3.12 or 3.13 (PyMC-Marketing's newest release needs 3.12 or newer)."""
    for name in ("python3.12", "python3.13"):
        found = shutil.which(name)
        if found and subprocess.run([found, "--version"], capture_output=True).returncode == 0:
            return found
    for base in sorted(Path.home().glob(".pyenv/versions/3.1[23]*/bin/python3")):
        return str(base)
    return None


def pymc_python() -> Path | None:
    """The PyMC-Marketing venv's Python."""
    return ensure_venv(PYMC_VENV, python312(), PYMC_PACKAGES)


def versions(py: Path, packages: tuple[str, ...]) -> str:
    """``name version`` of each of ``packages`` as installed for ``py``, comma separated."""
    names = ", ".join(repr(p) for p in packages)
    return subprocess.run(
        [
            str(py),
            "-c",
            "import importlib.metadata as m; "
            f"print(', '.join(f'{{p}} {{m.version(p)}}' for p in ({names},)))",
        ],
        capture_output=True,
        text=True,
    ).stdout.strip()
