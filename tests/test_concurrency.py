"""Several processes on one file: writers wait for each other, live readers follow a SWMR writer,
a killed writer neither blocks others nor makes the file unreadable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pytest

from jangada_like.errors import FileLockedError, RecoveredFileWarning
from tests.workers import Log, append_rows, swmr_reader

ROOT = Path(__file__).resolve().parents[1]


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "tests.workers", *args], cwd=ROOT, env=env)


def _wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} never appeared")
        time.sleep(0.01)


def test_writers_wait_for_each_other(tmp_path: Path) -> None:
    path = tmp_path / "log.hdf5"
    Log(rows=np.zeros((0, 2), dtype=np.int64)).save(path)
    writers, count = 4, 15
    with ProcessPoolExecutor(writers, mp_context=get_context("spawn")) as pool:
        done = list(
            pool.map(append_rows, [str(path)] * writers, range(writers), [count] * writers, [60] * writers)
        )
    assert done == [count] * writers
    rows = Log.load(path).rows
    assert rows.shape == (writers * count, 2)
    assert sorted(map(tuple, rows.tolist())) == [(w, k) for w in range(writers) for k in range(count)]


def test_timeout_names_file_and_holder(tmp_path: Path) -> None:
    path = tmp_path / "held.hdf5"
    Log(rows=np.zeros((0, 2), dtype=np.int64)).save(path)
    ready = tmp_path / "ready"
    holder = _spawn("hold_lock", str(path), "5.0", str(ready))
    try:
        _wait_for(ready)
        start = time.monotonic()
        with pytest.raises(FileLockedError) as info, Log(path, mode="r+", timeout=0.3):
            pass
        assert time.monotonic() - start >= 0.25
        assert str(path) in str(info.value) and f"process {holder.pid}" in str(info.value)
        with pytest.raises(FileLockedError):
            Log.load(path)  # readers wait for the writer too (default timeout 0: at once)
    finally:
        holder.kill()
        holder.wait()
    # the killed holder's lock is gone; the flags it left are cleared with a warning
    with pytest.warns(RecoveredFileWarning), Log(path, mode="r+", timeout=5) as log:
        log.note = "after"
    assert Log.load(path).note == "after"


def test_writer_waits_then_proceeds(tmp_path: Path) -> None:
    path = tmp_path / "wait.hdf5"
    Log(rows=np.zeros((0, 2), dtype=np.int64)).save(path)
    ready = tmp_path / "ready"
    holder = _spawn("hold_lock", str(path), "1.0", str(ready))
    try:
        _wait_for(ready)
        with Log(path, mode="r+", timeout=30) as log:
            log.rows.append(np.array([9, 9]))
    finally:
        holder.wait()
    assert Log.load(path).rows.tolist() == [[9, 9]]


def test_swmr_reader_follows_writer(tmp_path: Path) -> None:
    path = tmp_path / "live.hdf5"
    Log(rows=np.zeros((0, 2), dtype=np.int64)).save(path)
    ready = tmp_path / "ready"
    writer = _spawn("swmr_writer", str(path), "60", str(ready))
    try:
        _wait_for(ready)
        lengths = swmr_reader(str(path), 1.5)
    finally:
        assert writer.wait(timeout=60) == 0
    assert lengths == sorted(lengths) and lengths[-1] > lengths[0]
    assert len(set(lengths)) > 2  # the reader saw the data grow several times
    assert Log.load(path).rows.shape == (600, 2)


def test_killed_appender_leaves_a_recoverable_file(tmp_path: Path) -> None:
    path = tmp_path / "crash.hdf5"
    Log(rows=np.zeros((0, 2), dtype=np.int64)).save(path)
    progress = tmp_path / "progress"
    proc = _spawn("append_until_killed", str(path), str(progress))
    _wait_for(progress)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = progress.read_text()
        if text.isdigit() and int(text) >= 200:
            break
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    text = progress.read_text()
    flushed = int(text) if text.isdigit() else 0
    with pytest.warns(RecoveredFileWarning, match="consistency flags were cleared"):
        rows = Log.load(path).rows
    assert rows.shape[0] >= flushed
    assert np.array_equal(rows[:, 0], np.arange(rows.shape[0]))


def test_save_over_a_file_another_process_writes_waits_or_refuses(tmp_path: Path) -> None:
    path = tmp_path / "busy.hdf5"
    Log(rows=np.zeros((0, 2), dtype=np.int64), note="old").save(path)
    ready = tmp_path / "ready"
    holder = _spawn("hold_lock", str(path), "1.0", str(ready))
    try:
        _wait_for(ready)
        with pytest.raises(FileLockedError):
            Log(note="new").save(path)
        assert sorted(p.name for p in tmp_path.iterdir() if p.suffix != "") == ["busy.hdf5"]
        Log(note="new").save(path, timeout=30)  # waits for the writer, then replaces the file
    finally:
        holder.wait()
    assert Log.load(path).note == "new"
