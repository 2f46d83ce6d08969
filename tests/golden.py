"""The objects stored in the golden files of tests/data (format version 1).

``python -m tests.golden`` rewrites the files; do that only when adding a new format version, never
to make a failing test pass: old files must stay readable forever.
"""

from __future__ import annotations

import datetime as dt
import pathlib
from pathlib import Path

import numpy as np
import pandas as pd

from jangada_like import Persistable, SerializableProperty
from tests.strategies import BERLIN, Color, sample_frame

DATA = Path(__file__).parent / "data"


class GoldenChild(Persistable, tag="tests.golden.child"):
    label = SerializableProperty(default="")
    values = SerializableProperty(default=None)


class GoldenRun(Persistable, tag="tests.golden.run"):
    name = SerializableProperty(default="")
    count = SerializableProperty(default=0)
    big = SerializableProperty(default=0)
    ratio = SerializableProperty(default=0.0)
    flag = SerializableProperty(default=False)
    nothing = SerializableProperty(default=None)
    path = SerializableProperty(default=None)
    raw = SerializableProperty(default=b"")
    numbers = SerializableProperty(default=None)
    mixed = SerializableProperty(default=None)
    table = SerializableProperty(default=None)
    odd_keys = SerializableProperty(default=None)
    array = SerializableProperty(default=None)
    texts = SerializableProperty(default=None)
    when = SerializableProperty(default=None)
    stamp = SerializableProperty(default=None)
    index = SerializableProperty(default=None)
    frame = SerializableProperty(default=None)
    color = SerializableProperty(default=None)
    children = SerializableProperty(default=None)
    shared = SerializableProperty(default=None)


def golden_run() -> GoldenRun:
    child = GoldenChild(label="c0", values=np.arange(4.0))
    return GoldenRun(
        name="golden \u00e9 \U0001f680",
        count=42,
        big=2**90,
        ratio=0.25,
        flag=True,
        nothing=None,
        path=pathlib.Path("data/raw.bin"),
        raw=b"\x00\x01\xff",
        numbers=list(range(20)),
        mixed=[1, "two", None, 3.0, [4]],
        table={"b": 1, "a": {"nested": [1.5, 2.5]}},
        odd_keys={"": 0, "a/b": 1, 3: "int key", (1, 2): "tuple key"},
        array=np.arange(12, dtype=np.int32).reshape(3, 4),
        texts=np.array(["ab", "日本"]),
        when=dt.datetime(2024, 10, 27, 2, 30, tzinfo=BERLIN, fold=1),
        stamp=pd.Timestamp("2024-10-27 01:30", tz="UTC").tz_convert("Europe/Berlin"),
        index=pd.date_range("2024-01-01", periods=4, freq="h", name="t", tz="UTC"),
        frame=sample_frame(),
        color=Color.GREEN,
        children=[child, GoldenChild(label="c1")],
        shared=child,
    )


def main() -> None:
    """Write the golden file of the current format (earlier ones are kept as they were written)."""
    from jangada_like.format import FORMAT_VERSION

    DATA.mkdir(exist_ok=True)
    target = DATA / f"format{FORMAT_VERSION}_run.hdf5"
    golden_run().save(target, incremental=False)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
