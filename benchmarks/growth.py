"""File sizes of many small values, and the cost of growing a collection (issue 15).

    python -m benchmarks.growth

Part 1, deterministic: bytes on disk for small values saved by jangada_like against the same
values written by hand-written h5py (one ``f[name] = value`` each).

Part 2, timed (median and min of ``--repeat`` runs): one reopen in ``r+`` that appends one object
to a list property of N objects (100 and 10,000), and how much the file grew; only the new object
is written, so the growth does not depend on N (the reopen still reads the list's table).

Part 3, timed: one reopen that appends 1,000 rows to a 1,000,000-row DataFrame (a float, an int,
a category and a tz-aware time column) through the session's FrameProxy, against pandas
``HDFStore.append(..., format="table")`` on the same data (when PyTables is installed: the
``bench`` extra), with the growth of each file.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from jangada_like import Persistable, SerializableProperty


class Box(Persistable, tag="bench.growth.box"):
    x = SerializableProperty(default=None)


class Trial(Persistable, tag="bench.growth.trial"):
    index = SerializableProperty(default=0)
    label = SerializableProperty(default="")
    score = SerializableProperty(default=0.0)


class Day(Persistable, tag="bench.growth.day"):
    trials = SerializableProperty(default=None)


class Table(Persistable, tag="bench.growth.table"):
    rows = SerializableProperty(default=None)


def frame(n: int, start: int = 0) -> pd.DataFrame:
    """``n`` rows of a typical measurement table, numbered from ``start``."""
    i = np.arange(start, start + n)
    return pd.DataFrame(
        {
            "value": i * 0.5,
            "count": i.astype(np.int64),
            "channel": pd.Categorical(np.array(["a", "b", "c", "d"])[i % 4], categories=["a", "b", "c", "d"]),
            "time": pd.Timestamp("2026-01-01", tz="Europe/Berlin") + pd.to_timedelta(i, unit="ms"),
        },
        index=pd.RangeIndex(start, start + n),
    )


def append_rows(folder: Path, n: int, k: int, repeat: int) -> dict[str, tuple[float, float, int]]:
    """{library: (median s, min s, bytes grown per append)} of one reopen appending ``k`` rows."""
    out = {}
    path = Table(rows=frame(n)).save(folder / "frame")
    times, growth = [], []
    for r in range(repeat):
        rows = frame(k, n + r * k)
        before = path.stat().st_size
        start = time.perf_counter()
        with Table(path, mode="r+") as table:
            table.rows.append(rows)
        times.append(time.perf_counter() - start)
        growth.append(path.stat().st_size - before)
    assert len(Table.load(path).rows) == n + repeat * k
    out["jangada_like"] = (statistics.median(times), min(times), int(statistics.median(growth)))
    try:
        import tables  # noqa: F401
    except ImportError:
        return out
    store_path = folder / "store.h5"
    frame(n).to_hdf(store_path, key="rows", format="table", mode="w")
    times, growth = [], []
    for r in range(repeat):
        rows = frame(k, n + r * k)
        before = store_path.stat().st_size
        start = time.perf_counter()
        with pd.HDFStore(store_path, mode="a") as store:
            store.append("rows", rows, format="table")
        times.append(time.perf_counter() - start)
        growth.append(store_path.stat().st_size - before)
    out["pandas HDFStore"] = (statistics.median(times), min(times), int(statistics.median(growth)))
    return out


def _h5py(path: Path, values: dict[str, Any]) -> int:
    with h5py.File(path, "w") as f:
        for key, value in values.items():
            f[key] = value
    return path.stat().st_size


def sizes(folder: Path) -> list[tuple[str, int, int]]:
    """(case, jangada_like bytes, h5py bytes)."""
    rng = np.random.default_rng(0)
    cases: dict[str, Any] = {
        "one list [1, 2, 3]": {"x": [1, 2, 3]},
        "1,000 one-item lists": {f"k{i}": [i] for i in range(1000)},
        "200 ragged ROIs (5-60 x 2)": {str(i): rng.random((int(rng.integers(5, 60)), 2)) for i in range(200)},
        "100 arrays of 1,000 floats": {f"a{i}": np.arange(1000.0) + i for i in range(100)},
    }
    out = []
    for name, values in cases.items():
        value = values["x"] if list(values) == ["x"] else values
        ours = Box(x=value).save(folder / "ours").stat().st_size
        out.append((name, ours, _h5py(folder / "h5py.h5", values)))
    return out


def append_one(folder: Path, n: int, repeat: int) -> tuple[float, float, int]:
    """(median s, min s, bytes the file grew by) of appending one Trial to a list of ``n``."""
    path = Day(trials=[Trial(index=i, label=f"t{i}", score=i / 2) for i in range(n)]).save(folder / f"day{n}")
    times, growth = [], []
    for k in range(repeat):
        before = path.stat().st_size
        start = time.perf_counter()
        with Day(path, mode="r+") as day:
            day.trials.append(Trial(index=n + k, label="new", score=0.0))
        times.append(time.perf_counter() - start)
        growth.append(path.stat().st_size - before)
    with Day(path, mode="r") as day:
        assert len(day.trials) == n + repeat
    return statistics.median(times), min(times), int(statistics.median(growth))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print(f"{'small values':32} {'jangada_like':>14} {'h5py':>10} {'ratio':>6}")
        for name, ours, theirs in sizes(folder):
            print(f"{name:32} {ours:14,} {theirs:10,} {ours / theirs:6.2f}")
        print()
        print(f"{'append 1 object in r+':32} {'median s':>10} {'min s':>10} {'file grew':>12}")
        for n in (100, 10_000):
            median, best, grew = append_one(folder, n, args.repeat)
            print(f"{'to a list of ' + format(n, ','):32} {median:10.4f} {best:10.4f} {grew:12,}")
        print()
        print(f"{'append 1,000 rows to 1,000,000':32} {'median s':>10} {'min s':>10} {'file grew':>12}")
        for lib, (median, best, grew) in append_rows(folder, 1_000_000, 1_000, args.repeat).items():
            print(f"{lib:32} {median:10.4f} {best:10.4f} {grew:12,}")


if __name__ == "__main__":
    main()
