"""Load cost against size, for the shapes that were once quadratic (issue 14).

    python -m benchmarks.scaling [--repeat 3]

A group with N attributes (a dict saved by the library, given N more attributes by plain h5py,
as files of other tools have them) and a list of N mixed items (ints and strings: a group of N
members) are saved, then loaded; the table gives
the median load time and the time per item.  Linear cost shows as a flat time per item as N
doubles (a quadratic one doubles it).  Before the fix, 10,000 attributes took 2.5 s and 70,000
took 78 s; a 70,000-item mixed list 78 s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import h5py

from jangada_like import Persistable, SerializableProperty


class Holder(Persistable, tag="bench.scaling.holder"):
    value = SerializableProperty(default=None)


def _load_seconds(path: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        Holder.load(path)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(sizes: list[int], repeat: int) -> list[tuple[str, int, float]]:
    """[(case, N, median load seconds)]."""
    out = []
    with tempfile.TemporaryDirectory() as folder:
        for n in sizes:
            path = Holder(value={"k0": 0}).save(Path(folder) / f"attrs-{n}")
            with h5py.File(path, "r+") as f:
                group = f["root/value"]
                for i in range(1, n):
                    group.attrs[f"k{i}"] = i
            out.append(("group of N attributes", n, _load_seconds(path, repeat)))
            mixed = [i if i % 2 else str(i) for i in range(n)]
            path = Holder(value=mixed).save(Path(folder) / f"mixed-{n}")
            out.append(("list of N mixed items", n, _load_seconds(path, repeat)))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 20_000, 40_000, 80_000])
    args = parser.parse_args(argv)
    rows = run(args.sizes, args.repeat)
    print(f"{'case':32} {'N':>8} {'load s':>9} {'us/item':>8}")
    for case, n, seconds in sorted(rows):
        print(f"{case:32} {n:>8,} {seconds:>9.3f} {seconds / n * 1e6:>8.1f}")


if __name__ == "__main__":
    main()
