"""The command line: ``python -m jangada_like tree FILE``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.golden import golden_run

ROOT = Path(__file__).resolve().parents[1]


def test_tree_prints_classes_tags_and_shapes(tmp_path: Path) -> None:
    path = golden_run().save(tmp_path / "run")
    out = subprocess.run(
        [sys.executable, "-m", "jangada_like", "tree", str(path), "--max-items", "50"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "root  [run]" in out.stdout and "array  dataset int32 (3, 4)" in out.stdout
    assert "shared  [child]  (hard link, shown above)" in out.stdout


def test_tree_of_a_missing_file_fails_cleanly(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "jangada_like", "tree", str(tmp_path / "nope.hdf5")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert out.returncode == 1 and "nope.hdf5" in out.stderr and not out.stdout
    assert np.__name__ == "numpy"
