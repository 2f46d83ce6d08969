"""ruff (lint and format) and mypy, run as tests so that one command checks everything."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TREES = ["jangada_like", "tests", "examples", "benchmarks", "tools"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)


def _tool(name: str) -> str:
    exe = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if exe is None:
        pytest.fail(f"{name} is not installed: install the project with the [dev] extra")
    return exe


def test_ruff_check() -> None:
    out = _run(_tool("ruff"), "check", *[t for t in TREES if (ROOT / t).exists()])
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_format() -> None:
    out = _run(_tool("ruff"), "format", "--check", *[t for t in TREES if (ROOT / t).exists()])
    assert out.returncode == 0, out.stdout + out.stderr


def test_mypy() -> None:
    out = _run(sys.executable, "-m", "mypy")
    assert out.returncode == 0, out.stdout + out.stderr


USER_CODE = """
from jangada_like import Persistable, SerializableProperty, sproperty


class Run(Persistable):
    anything = SerializableProperty(default=None)
    count: SerializableProperty[int] = SerializableProperty(default=0)
    gain = SerializableProperty[float](default=1.0)

    @sproperty(default=0.5)
    def threshold(self, value: float) -> float:
        return float(value)


run = Run()
reveal_type(run.anything)
reveal_type(run.count)
reveal_type(run.gain)
reveal_type(Run.count)
run.count + 1
"""


def test_mypy_on_user_code(tmp_path: Path) -> None:
    """A user's class type-checks without annotating every property: an unannotated property
    is one of ``Any``, an annotated one of its type."""
    (tmp_path / "user.py").write_text(USER_CODE)
    out = _run(
        sys.executable,
        "-m",
        "mypy",
        "--no-incremental",
        "--strict",
        "--follow-imports=silent",
        str(tmp_path / "user.py"),
    )
    notes = [
        line.split("Revealed type is ", 1)[1].replace("builtins.", "")  # mypy < 2 names builtins.int
        for line in out.stdout.splitlines()
        if "Revealed type" in line
    ]
    expected = ['"Any"', '"int"', '"float"', '"jangada_like.properties.SerializableProperty[int]"']
    assert notes == expected, out.stdout
    assert "error" not in out.stdout, out.stdout
