"""Live readers of a file a SWMR writer has open (a real writer process in every test): plain h5py
SWMR readers, ``load(swmr=True)``, ``refresh()`` of scalars, and what a reader that is not SWMR is
told."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pytest

import jangada_like
from jangada_like.errors import FileLockedError
from tests.live_workers import step_rows, wait_for
from tests.workers import Log

ROOT = Path(__file__).resolve().parents[1]
STEPS = 4


class Writer:
    """A ``stepped_swmr_writer`` process driven one step at a time."""

    def __init__(self, path: Path, folder: Path) -> None:
        self.folder = folder
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        args = [sys.executable, "-m", "tests.live_workers", str(path), str(folder), str(STEPS)]
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env)
        wait_for(folder / "done0")

    def step(self, k: int) -> None:
        """Have the writer append step ``k``'s rows, set the note and flush; wait for it."""
        (self.folder / f"go{k}").touch()
        wait_for(self.folder / f"done{k}")

    def close(self) -> int:
        for k in range(1, STEPS + 1):
            (self.folder / f"go{k}").touch()
        (self.folder / "close").touch()
        return self.proc.wait(timeout=60)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[Path, Writer]]:
    path = tmp_path / "live.hdf5"
    Log(rows=np.zeros((0, 2), dtype=np.int64), note="step 0").save(path)
    folder = tmp_path / "steps"
    folder.mkdir()
    writer = Writer(path, folder)
    try:
        yield path, writer
    finally:
        code = writer.close()
    assert code == 0
    assert Log.load(path).rows.shape == (STEPS * 10, 2)


def _expected(k: int) -> np.ndarray:
    return np.concatenate([np.zeros((0, 2), dtype=np.int64)] + [step_rows(i) for i in range(1, k + 1)])


def test_plain_h5py_swmr_reader_follows_the_writer(live: tuple[Path, Writer]) -> None:
    path, writer = live
    with h5py.File(path, "r", swmr=True) as f:  # h5py's defaults: HDF5's own file locking on
        rows = f["root/rows"]
        assert rows.shape == (0, 2)
        for k in range(1, STEPS + 1):
            writer.step(k)
            rows.refresh()
            assert rows.shape == (10 * k, 2)
            np.testing.assert_array_equal(rows[()], _expected(k))


def test_load_with_swmr_reads_a_file_being_written(live: tuple[Path, Writer]) -> None:
    path, writer = live
    for k in (1, 2):
        writer.step(k)
        log = Log.load(path, swmr=True)
        np.testing.assert_array_equal(log.rows, _expected(k))
        assert log.note == f"step {k}"
    writer.step(3)
    whatever = jangada_like.load(path, swmr=True)
    assert type(whatever) is Log and whatever.note == "step 3" and whatever.rows.shape == (30, 2)


def test_reader_without_swmr_is_told_the_swmr_way_and_leaves_the_writer_alone(
    live: tuple[Path, Writer],
) -> None:
    path, writer = live
    writer.step(1)
    for attempt in (lambda: Log.load(path), lambda: Log(path, mode="r").__enter__()):
        with pytest.raises(FileLockedError) as info:
            attempt()
        text = str(info.value)
        assert str(path) in text and f"process {writer.proc.pid}" in text
        assert "Cls.load(path, swmr=True)" in text and "mode='r', swmr=True" in text
    writer.step(2)  # the writer's file was left as it was: it goes on, and so does a live reader
    np.testing.assert_array_equal(Log.load(path, swmr=True).rows, _expected(2))


def test_refresh_updates_scalars_of_a_live_reader(live: tuple[Path, Writer]) -> None:
    path, writer = live
    with Log(path, mode="r", swmr=True) as log:
        assert log.note == "step 0" and log.rows.shape == (0, 2)
        for k in range(1, STEPS + 1):
            writer.step(k)
            assert log.note == f"step {k - 1}"  # nothing changes until asked
            assert log.refresh() == 10 * k
            assert log.note == f"step {k}"
            np.testing.assert_array_equal(log.rows[:], _expected(k))
        writer.step(STEPS)
        assert log.refresh("note") == 0  # scalars only: no array among them


def test_reader_blocked_by_a_writer_is_told_the_swmr_way(tmp_path: Path) -> None:
    path = tmp_path / "held.hdf5"
    Log(rows=np.zeros((0, 2), dtype=np.int64)).save(path)
    ready = tmp_path / "ready"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-m", "tests.workers", "hold_lock", str(path), "30.0", str(ready)]
    holder = subprocess.Popen(args, cwd=ROOT, env=env)
    try:
        wait_for(ready)
        with pytest.raises(FileLockedError) as info:
            Log.load(path, timeout=0.1)
        text = str(info.value)
        assert f"process {holder.pid}" in text and "larger timeout=" in text
        assert "Cls.load(path, swmr=True)" in text and "mode='r+', swmr=True" in text
        with pytest.raises(FileLockedError) as info, Log(path, mode="r+"):
            pass
        assert "swmr" not in str(info.value)  # writers are just told to wait
    finally:
        holder.kill()
        holder.wait()
