"""Kill saves and append sessions with SIGKILL at random moments and count what survives.

    python -m tools.crash_tally --kills 100

prints, for saves and for append sessions: kills, files intact, files recovered (opened after
clearing a crashed writer's flags, with every flushed row present), files lost.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.workers", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_for(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} never appeared")
        time.sleep(0.005)


def _run_and_kill(worker: str, path: Path, marker: Path, delay: float) -> None:
    """Start ``worker`` on ``path``, wait until it touches ``marker``, let it run ``delay``
    seconds, then SIGKILL it."""
    proc = _spawn(worker, str(path), str(marker))
    _wait_for(marker)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def kill_saves(folder: Path, kills: int, seed: int = 0) -> dict[str, int]:
    """Kill processes that save in a loop; the target must always hold one complete save."""
    from jangada_like.errors import JangadaError
    from tests.workers import Log

    rng = random.Random(seed)
    path = folder / "target.hdf5"
    Log(rows=np.zeros((1000, 2), dtype=np.int64), note="save 0").save(path)
    tally = {"kills": 0, "intact": 0, "recovered": 0, "lost": 0, "temporaries_seen": 0}
    for k in range(kills):
        _run_and_kill("save_forever", path, folder / f"ready{k}", rng.uniform(0.02, 0.8))
        tally["kills"] += 1
        tally["temporaries_seen"] += len(list(folder.glob("*.jltmp")))
        try:
            log = Log.load(path)
            n = int(log.note.split()[-1])
            expected = (1000 * (n % 7 + 1), 2) if n else (1000, 2)
            complete = log.rows.shape == expected and bool((log.rows == n).all())
        except (JangadaError, OSError, ValueError):
            complete = False
        tally["intact" if complete else "lost"] += 1
    Log(note="cleanup").save(path)  # a later save removes temporaries of dead processes
    tally["temporaries_left"] = len(list(folder.glob("*.jltmp")))
    return tally


def kill_incremental_saves(folder: Path, kills: int, seed: int = 0) -> dict[str, int]:
    """Kill processes that load, grow and save back a file (incremental saves)."""
    from jangada_like.errors import JangadaError
    from tests.workers import Log

    rng = random.Random(seed)
    path = folder / "grown.hdf5"
    Log(rows=np.zeros((0, 2), dtype=np.int64), note="save 0").save(path)
    tally = {"kills": 0, "intact": 0, "recovered": 0, "lost": 0}
    for k in range(kills):
        _run_and_kill("save_incrementally_forever", path, folder / f"inc{k}", rng.uniform(0.05, 0.8))
        tally["kills"] += 1
        try:
            log = Log.load(path)
            n = int(log.note.split()[-1])
            expected = np.repeat(np.arange(1, n + 1), 500)
            complete = log.rows.shape == (500 * n, 2) and bool(np.array_equal(log.rows[:, 0], expected))
        except (JangadaError, OSError, ValueError):
            complete = False
        tally["intact" if complete else "lost"] += 1
    return tally


def kill_appends(folder: Path, kills: int, seed: int = 0) -> dict[str, int]:
    """Kill processes appending rows in an ``r+`` session; every flushed row must survive."""
    from jangada_like.errors import JangadaError, RecoveredFileWarning
    from tests.workers import Log

    rng = random.Random(seed)
    path = folder / "series.hdf5"
    Log(rows=np.zeros((0, 2), dtype=np.int64)).save(path)
    tally = {"kills": 0, "intact": 0, "recovered": 0, "lost": 0}
    for k in range(kills):
        progress = folder / f"progress{k}"
        _run_and_kill("append_until_killed", path, progress, rng.uniform(0.02, 0.5))
        tally["kills"] += 1
        text = progress.read_text()
        flushed = int(text) if text.isdigit() else 0
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                rows = Log.load(path).rows
            recovered = any(issubclass(w.category, RecoveredFileWarning) for w in caught)
            ok = rows.shape[0] >= flushed and np.array_equal(rows[:, 0], np.arange(rows.shape[0]))
        except (JangadaError, OSError, ValueError):
            ok, recovered = False, False
        tally["lost" if not ok else "recovered" if recovered else "intact"] += 1
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        saves = kill_saves(Path(folder), args.kills, args.seed)
    print("saves killed:  ", ", ".join(f"{k} {v}" for k, v in saves.items()))
    with tempfile.TemporaryDirectory() as folder:
        grown = kill_incremental_saves(Path(folder), args.kills, args.seed)
    print("incremental saves killed:", ", ".join(f"{k} {v}" for k, v in grown.items()))
    with tempfile.TemporaryDirectory() as folder:
        appends = kill_appends(Path(folder), args.kills, args.seed)
    print("appends killed:", ", ".join(f"{k} {v}" for k, v in appends.items()))


if __name__ == "__main__":
    main()
