"""One class holding a property of every supported type, driven by hypothesis."""

from __future__ import annotations

import datetime as dt
import pathlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from jangada_like import Persistable, SerializableProperty
from tests.strategies import Color, Level, arrays, containers, scalars, text, timestamps
from tests.test_codecs import same


class Inner(Persistable):
    label = SerializableProperty(default="")
    value = SerializableProperty(default=None)


class Everything(Persistable):
    scalar = SerializableProperty(default=None)
    container = SerializableProperty(default=None)
    array = SerializableProperty(default=None)
    numpy_scalar = SerializableProperty(default=None)
    path = SerializableProperty(default=None)
    when = SerializableProperty(default=None)
    stamp = SerializableProperty(default=None)
    index = SerializableProperty(default=None)
    series = SerializableProperty(default=None)
    frame = SerializableProperty(default=None)
    member = SerializableProperty(default=None)
    inner = SerializableProperty(default=None)
    inners = SerializableProperty(default=None)


frames = st.builds(
    lambda n, seed, tz: pd.DataFrame(
        {
            "f": np.random.default_rng(seed).normal(size=n),
            "i": np.arange(n, dtype=np.int64),
            "c": pd.Categorical(np.array(["a", "b", "c"])[np.arange(n) % 3]),
            "t": pd.date_range("2024-03-31", periods=n, freq="37min", tz=tz),
            "b": np.arange(n) % 2 == 0,
            "n": pd.array([None if k % 4 == 0 else k for k in range(n)], dtype="Int64"),
            "s": pd.array([None if k % 5 == 0 else f"s{k}" for k in range(n)], dtype="string"),
        }
    ),
    st.integers(0, 30),
    st.integers(0, 10),
    st.sampled_from(["UTC", "Europe/Berlin", None]),
)

everything = st.builds(
    Everything,
    scalar=scalars,
    container=containers,
    array=arrays,
    numpy_scalar=st.one_of(
        st.floats(width=32).map(np.float32), st.integers(-128, 127).map(np.int8), st.booleans().map(np.bool_)
    ),
    path=text.filter(lambda s: "\x00" not in s and s.isprintable()).map(pathlib.PurePosixPath),
    when=st.datetimes(
        timezones=st.sampled_from([None, dt.timezone.utc, dt.timezone(dt.timedelta(hours=-5))])
    ),
    stamp=timestamps,
    index=st.lists(timestamps.map(lambda t: t.tz_localize(None) if t.tz else t), max_size=5).map(
        pd.DatetimeIndex
    ),
    series=st.lists(st.floats(allow_nan=True), max_size=10).map(
        lambda v: pd.Series(v, dtype=float, name="s")
    ),
    frame=frames,
    member=st.sampled_from([Color.RED, Color.GREEN, Level.LOW, Level.HIGH]),
    inner=st.builds(Inner, label=text, value=scalars),
    inners=st.lists(st.builds(Inner, label=text, value=st.integers()), max_size=4),
)


@given(obj=everything)
def test_everything_round_trips(tmp_path: Path, obj: Everything) -> None:
    path = obj.save(tmp_path / "everything")
    back = Everything.load(path)
    for key in Everything.serializable_properties:
        a: Any = getattr(obj, key)
        b: Any = getattr(back, key)
        assert same(a, b) or (isinstance(a, Inner) and a == b) or (isinstance(a, list) and a == b), key
    assert back == obj
