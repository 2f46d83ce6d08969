"""Issue 15, item 2: ``compact()`` (and ``python -m jangada_like compact``) reclaims the space that
replaced values left, atomically, keeping shared objects shared."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from jangada_like import Persistable, SerializableProperty, compact
from jangada_like.errors import FileLockedError


class Run(Persistable):
    data = SerializableProperty(default=None)
    again = SerializableProperty(default=None)
    notes = SerializableProperty(default=None)


def test_compact_reclaims_replaced_values_and_keeps_everything(tmp_path: Path) -> None:
    shared = np.arange(1000.0)
    path = Run(data=np.zeros(200_000), again=shared, notes={"a": shared, "n": 3}).save(tmp_path / "run")
    full_save_size = (
        Run(data=np.ones(10), again=shared, notes={"a": shared, "n": 3}).save(tmp_path / "ref").stat().st_size
    )
    for _ in range(3):
        with Run(path, mode="r+") as run:
            run.data = np.ones(10)  # the old 1.6 MB stay in the file as dead space
    before, after = compact(path)
    assert before > 1_000_000 and after <= full_save_size * 2, (before, after, full_save_size)
    back = Run.load(path)
    assert back.data.tolist() == [1.0] * 10 and back.again.tolist() == shared.tolist()
    assert back.again is back.notes["a"]  # one object in two places stays one
    with h5py.File(path, "r") as f:  # the header and the layout are the same, read by plain h5py
        assert f.attrs["jangada_like_format"] == 2
        assert f["root/again"].id == f["root/notes/a"].id


def test_compact_waits_for_writers_and_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    path = Run(data=np.zeros(10)).save(tmp_path / "run")
    with Run(path, mode="r+") as run, pytest.raises(FileLockedError):
        run.data.append(np.ones(2))
        compact(path, timeout=0)  # a writer holds the file: not copied half written
    assert Run.load(path).data.tolist() == [0.0] * 10 + [1.0] * 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run")]  # no temporary left


def test_the_command_line_compacts(tmp_path: Path) -> None:
    path = Run(data=np.zeros(100_000)).save(tmp_path / "run")
    with Run(path, mode="r+") as run:
        run.data = np.ones(3)
    done = subprocess.run(
        [sys.executable, "-m", "jangada_like", "compact", str(path), str(tmp_path / "missing")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "ok      " in done.stdout and "FAILED" in done.stderr
    assert path.stat().st_size < 100_000 and Run.load(path).data.tolist() == [1.0] * 3
