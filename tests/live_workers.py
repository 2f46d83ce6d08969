"""Writers run in child processes by tests/test_live.py: each step waits for the reader to ask
for it (``go<k>``) and reports it is flushed (``done<k>``), so the reader knows exactly what the
file holds at every step without timing anything."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

from tests.workers import Log

ROWS_PER_STEP = 10


def wait_for(path: Path, timeout: float = 60) -> None:
    """Wait until ``path`` exists (``TimeoutError`` after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} never appeared")
        time.sleep(0.005)


def step_rows(step: int) -> np.ndarray:
    """The rows a writer appends at ``step`` (1-based): consecutive integers in both columns."""
    values = np.arange((step - 1) * ROWS_PER_STEP, step * ROWS_PER_STEP, dtype=np.int64)
    return np.stack([values, values], axis=1)


def stepped_swmr_writer(path: str, folder: str, steps: int) -> None:
    """A SWMR writer: at each step append rows, set ``note`` to ``"step <k>"`` and flush."""
    where = Path(folder)
    with Log(path, mode="r+", swmr=True) as log:
        (where / "done0").touch()
        for k in range(1, steps + 1):
            wait_for(where / f"go{k}")
            log.rows.append(step_rows(k))
            log.note = f"step {k}"
            log.flush()
            (where / f"done{k}").touch()
        wait_for(where / "close")


if __name__ == "__main__":
    stepped_swmr_writer(sys.argv[1], sys.argv[2], int(sys.argv[3]))
    os._exit(0)
