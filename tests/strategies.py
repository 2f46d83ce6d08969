"""Sample values of every supported type, and hypothesis strategies for them."""

from __future__ import annotations

import datetime as dt
import enum
import pathlib
import zoneinfo
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from jangada_like import register_enum


@register_enum
class Color(enum.Enum):
    RED = 1
    GREEN = "g"


@register_enum
class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def sample_frame() -> pd.DataFrame:
    n = 6
    return pd.DataFrame(
        {
            "f": np.linspace(0, 1, n),
            "i": np.arange(n, dtype=np.int64),
            "cat": pd.Categorical(list("abcabc"), categories=["c", "b", "a"], ordered=True),
            "when": pd.date_range("2024-10-27 00:00", periods=n, freq="30min", tz="Europe/Berlin"),
            "ok": [True, False] * 3,
            "s": pd.array(["x", None, "z", "w", "v", "u"], dtype="string"),
            "n": pd.array([1, None, 3, 4, None, 6], dtype="Int64"),
            "text": ["p", "q", "r", "s", "t", "u"],
        },
        index=pd.Index([10, 20, 30, 40, 50, 60], name="row"),
    )


def warm_values() -> list[Any]:
    """One value of every family (also used to import lazy modules before guarded loads)."""
    return [
        None,
        True,
        3,
        2**80,
        1.5,
        1 + 2j,
        "héllo",
        "a\x00b",
        b"\x00\x01",
        pathlib.Path("rel/f.txt"),
        [1, 2],
        (1, "a"),
        {1, 2},
        frozenset({"a"}),
        {"a": 1},
        {1: "x", (2, 3): None},
        np.arange(3),
        np.array(["ab", "c"]),
        np.array(["2024-01-01"], dtype="M8[s]"),
        np.float32(1.5),
        np.str_("x"),
        np.datetime64("2024-01-01"),
        dt.datetime(2024, 10, 27, 2, 30, tzinfo=BERLIN),
        dt.date(2024, 1, 1),
        dt.time(1, 2),
        dt.timedelta(days=1, seconds=3),
        pd.Timestamp("2024-01-01", tz="Europe/Berlin"),
        pd.NaT,
        pd.Timedelta("1h"),
        pd.date_range("2024-01-01", periods=3, freq="D", name="t"),
        pd.timedelta_range("1s", periods=2),
        pd.Series([1.0, 2.0], name="s"),
        sample_frame(),
        pd.Categorical(["a", "b"]),
        pd.RangeIndex(0, 10, 2),
        pd.Index(["a", "b"]),
        Color.RED,
        Level.HIGH,
    ]


# -- hypothesis -------------------------------------------------------------------------------

text = st.text(st.characters(codec="utf-8"), max_size=20)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.complex_numbers(allow_nan=False),
    text,
    st.binary(max_size=20),
)
keys = st.one_of(text, st.integers(-5, 5), st.tuples(st.integers(0, 3), text))
containers = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.lists(inner, max_size=5).map(tuple),
        st.dictionaries(keys, inner, max_size=5),
        st.frozensets(st.integers(), max_size=5),
    ),
    max_leaves=15,
)
array_dtypes = st.one_of(
    hnp.boolean_dtypes(),
    hnp.integer_dtypes(),
    hnp.unsigned_integer_dtypes(),
    hnp.floating_dtypes(),
    hnp.complex_number_dtypes(),
    hnp.byte_string_dtypes(max_len=4),
    hnp.unicode_string_dtypes(max_len=4),
    hnp.datetime64_dtypes(),
    hnp.timedelta64_dtypes(),
)
arrays = hnp.arrays(array_dtypes, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
zones = st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", None])
timestamps = st.builds(
    lambda ns, tz: pd.Timestamp(ns, tz="UTC").tz_convert(tz) if tz else pd.Timestamp(ns),
    st.integers(-(2**62), 2**62),
    zones,
)
