"""Functions run in child processes by the concurrency and crash tests (importable by spawn)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

from jangada_like import Persistable, SerializableProperty


class Log(Persistable, tag="tests.workers.log"):
    """Rows of (writer, sequence number) appended by several processes."""

    rows = SerializableProperty(default=None)
    note = SerializableProperty(default="")


def append_rows(path: str, writer: int, count: int, timeout: float) -> int:
    """Open ``count`` sessions one after the other, each appending one row."""
    for k in range(count):
        with Log(path, mode="r+", timeout=timeout) as log:
            log.rows.append(np.array([writer, k], dtype=np.int64))
    return count


def hold_lock(path: str, seconds: float, ready: str) -> None:
    """Hold the write lock for ``seconds``; touch ``ready`` once it is held."""
    with Log(path, mode="r+"):
        Path(ready).touch()
        time.sleep(seconds)


def swmr_writer(path: str, batches: int, ready: str) -> None:
    """Append ``batches`` batches of consecutive integers in SWMR mode, flushing each."""
    with Log(path, mode="r+", swmr=True) as log:
        Path(ready).touch()
        start = log.rows.shape[0]
        for b in range(batches):
            values = np.arange(start + 10 * b, start + 10 * (b + 1), dtype=np.int64)
            log.rows.append(np.stack([values, values], axis=1))
            log.flush()
            time.sleep(0.01)


def swmr_reader(path: str, seconds: float) -> list[int]:
    """Follow a SWMR writer; return the lengths seen, checking each is a consistent prefix."""
    lengths = []
    deadline = time.monotonic() + seconds
    with Log(path, mode="r", swmr=True) as log:
        while time.monotonic() < deadline:
            n = log.rows.refresh()[0]
            data = log.rows[:n]
            expected = np.arange(n)
            if not (np.array_equal(data[:, 0], expected) and np.array_equal(data[:, 1], expected)):
                raise AssertionError(f"torn or inconsistent prefix of length {n}")
            lengths.append(n)
            time.sleep(0.005)
    return lengths


def append_until_killed(path: str, ready: str) -> None:
    """Append rows forever, flushing every 10; the parent kills this process."""
    with Log(path, mode="r+") as log:
        n = log.rows.shape[0]
        Path(ready).touch()
        while True:
            log.rows.append(np.array([n, n], dtype=np.int64))
            n += 1
            if n % 10 == 0:
                log.flush()
                Path(ready + ".tmp").write_text(str(n))
                os.replace(ready + ".tmp", ready)  # readers never see a half-written number


def save_forever(path: str, ready: str) -> None:
    """Save objects of growing size to ``path`` until killed."""
    n = 0
    Path(ready).touch()
    while True:
        n += 1
        Log(rows=np.full((1000 * (n % 7 + 1), 2), n, dtype=np.int64), note=f"save {n}").save(path)


def save_incrementally_forever(path: str, ready: str) -> None:
    """Load, change and save back (incremental saves) until killed: rows and note stay in step."""
    Path(ready).touch()
    while True:
        log = Log.load(path)
        n = int(log.note.split()[-1]) + 1
        log.rows = np.concatenate([log.rows, np.full((500, 2), n, dtype=np.int64)])
        log.note = f"save {n}"
        log.save(path, incremental=True)


def save_pausing_before_rename(path: str, renaming: str, go: str) -> None:
    """Save a new Log over ``path``, stopping just before the rename (the write lock of the old
    file held) until ``go`` exists; touch ``renaming`` once stopped there."""
    real_replace = os.replace

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if os.fspath(dst) == path:
            Path(renaming).touch()
            while not os.path.exists(go):
                time.sleep(0.01)
        real_replace(src, dst)

    os.replace = replace  # type: ignore[assignment]
    Log(rows=np.zeros((0, 2), dtype=np.int64), note="saved").save(path, timeout=60)


def append_once_inside(path: str, inside: str, release: str) -> None:
    """Open ``path`` for writing (waiting for it), touch ``inside``, wait for ``release``, then
    append the row (7, 7)."""
    with Log(path, mode="r+", timeout=120) as log:
        Path(inside).touch()
        while not os.path.exists(release):
            time.sleep(0.01)
        log.rows.append(np.array([7, 7], dtype=np.int64))


if __name__ == "__main__":
    func = globals()[sys.argv[1]]
    args = [float(a) if a.replace(".", "", 1).isdigit() and "." in a else a for a in sys.argv[2:]]
    func(*[int(a) if isinstance(a, str) and a.isdigit() else a for a in args])
    os._exit(0)
