"""One contract class per codec: valid values round-trip to the same type and value; invalid ones
raise a clear error before any file is damaged."""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import fractions
import math
import pathlib
import zoneinfo
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from jangada_like._compare import values_equal
from jangada_like.errors import UnsupportedTypeError
from tests.conftest import Box
from tests.strategies import BERLIN, Color, Level, sample_frame


def same(a: Any, b: Any) -> bool:
    """Equal value and equal type, all the way down."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray):
        return (
            a.dtype == b.dtype
            and a.shape == b.shape
            and values_equal(a, b)
            and (a.flags.f_contiguous == b.flags.f_contiguous or a.ndim < 2)
        )
    if isinstance(a, np.generic):
        return a.dtype == b.dtype and values_equal(a, b)
    if isinstance(a, (pd.Timestamp, pd.Timedelta)):
        return a == b and a.unit == b.unit and str(getattr(a, "tz", None)) == str(getattr(b, "tz", None))
    return values_equal(a, b)


class CodecContract:
    valid: ClassVar[list[Any]] = []
    invalid: ClassVar[list[Any]] = []

    def test_valid_round_trips(self, roundtrip: Any) -> None:
        for value in self.valid:
            back = roundtrip(value)
            assert same(value, back), f"{value!r} came back as {back!r}"

    def test_invalid_is_refused(self, tmp_path: Any) -> None:
        path = tmp_path / "keep.hdf5"
        Box(x="previous").save(path)
        before = path.read_bytes()
        for value in self.invalid:
            with pytest.raises((TypeError, ValueError)) as info:
                Box(x=value).save(path)
            assert "Box.x" in str(info.value) or "Box.x" in " ".join(getattr(info.value, "__notes__", []))
            assert path.read_bytes() == before
            assert [p.name for p in tmp_path.iterdir()] == ["keep.hdf5"]


class TestNone(CodecContract):
    valid: ClassVar = [None]


class TestBool(CodecContract):
    valid: ClassVar = [True, False]


class TestInt(CodecContract):
    valid: ClassVar = [0, -1, 2**63 - 1, -(2**63), 2**63, 2**200, -(2**5000), 10**5000]


class TestFloat(CodecContract):
    valid: ClassVar = [0.0, -0.0, 1.5, math.inf, -math.inf, math.nan, 5e-324]
    invalid: ClassVar = [decimal.Decimal("1.1"), fractions.Fraction(1, 3)]

    def test_negative_zero_keeps_sign(self, roundtrip: Any) -> None:
        assert math.copysign(1, roundtrip(-0.0)) == -1


class TestComplex(CodecContract):
    valid: ClassVar = [1 + 2j, complex(math.inf, -1)]


class TestStr(CodecContract):
    valid: ClassVar = [
        "",
        "plain",
        "日本語 🚀",
        "a\x00b\x00",
        "\ud800 lone surrogate",
        "x" * 200_000,
        "NoneType:None",
        "Path:/etc",
        "__class__",
        "\x00" * 70_000,
    ]


class TestBytes(CodecContract):
    valid: ClassVar = [b"", b"\x00\xff", bytes(range(256)) * 300]
    invalid: ClassVar = [bytearray(b"x"), memoryview(b"x")]


class TestPaths(CodecContract):
    valid: ClassVar = [
        pathlib.Path("rel/a.txt"),
        pathlib.Path("/abs/b"),
        pathlib.PurePosixPath("p/q"),
        pathlib.PureWindowsPath("C:/x/y"),
        pathlib.Path("."),
    ]

    def test_relative_stays_relative(self, roundtrip: Any) -> None:
        assert not roundtrip(pathlib.Path("data/x.csv")).is_absolute()


class TestSequences(CodecContract):
    valid: ClassVar = [
        [],
        (),
        set(),
        frozenset(),
        [1, 2, 3],
        [1.5, 2.5],
        [True, False],
        ["a", "b"],
        [1j],
        [1, "a", None, 2.5, [1, [2]]],
        list(range(70_000)),
        [0.0] * 65_535,
        ["x"] * 70_000,
        (1, (2, 3)),
        {1, 2, 3},
        frozenset({"a", "b"}),
        [None] * 20,
        list(range(12)),
        [2**70, 1],
        [1, True],
        ["a\x00", "b"],
        [np.arange(3), np.arange(2)],
        [[], {}],
    ]
    invalid: ClassVar = [[object()], (1, object())]

    def test_order_kept_for_long_mixed_list(self, roundtrip: Any) -> None:
        value = [i if i % 2 else str(i) for i in range(1_000)]
        assert roundtrip(value) == value


class TestDict(CodecContract):
    valid: ClassVar = [
        {},
        {"a": 1, "b": [1, 2]},
        {"z": 1, "a": 2, "m": {"k": None}},
        {"": 1, ".": 2, "a/b": {"c": 3}, "__class__": "x", "__container_type__": "y", "..": 0},
        {1: "a", 2.5: "b", (1, 2): "c", None: "d", False: "e"},
        {f"k{i}": i for i in range(10_000)},
        {"a": np.arange(2), "b": "s"},
    ]
    invalid: ClassVar = [{"a": object()}, {object(): 1}]

    def test_key_order_kept(self, roundtrip: Any) -> None:
        value = {"b": np.zeros(2), "a": 1, "c": [1], "0": None}
        assert list(roundtrip(value)) == ["b", "a", "c", "0"]

    def test_dict_with_class_key_stays_a_dict(self, roundtrip: Any) -> None:
        assert roundtrip({"__class__": "tests.conftest.Box", "x": 1}) == {
            "__class__": "tests.conftest.Box",
            "x": 1,
        }


class TestNumpyArrays(CodecContract):
    valid: ClassVar = [
        np.array([True, False]),
        np.arange(5, dtype=np.int8),
        np.arange(5, dtype=np.uint64),
        np.linspace(0, 1, 7, dtype=np.float16),
        np.array([1.5, np.nan], dtype=np.float32),
        np.array([1 + 2j], dtype=np.complex64),
        np.array([b"ab", b"c"]),
        np.array(["ab", "日本"]),
        np.array(["2024-01-01", "NaT"], dtype="M8[ns]"),
        np.array([1, 2], dtype="m8[s]"),
        np.array([(1, 2.5, b"x")], dtype=[("a", "i4"), ("b", "f8"), ("c", "S2")]),
        np.array(3.5),
        np.array(7, dtype=np.int16),
        np.zeros((0,)),
        np.zeros((0, 3)),
        np.zeros((2, 0)),
        np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        np.arange(24).reshape(2, 3, 4),
        np.arange(10)[::2],
        np.array(["x"] * 3, dtype="U1"),
        np.array("scalar"),
        np.arange(4, dtype=">i4"),
    ]
    invalid: ClassVar = [np.array([object()]), np.ma.array([1, 2]), np.array([1], dtype=[("u", "U2")])]


class TestNumpyScalars(CodecContract):
    valid: ClassVar = [
        np.float32(1.5),
        np.float64(2.5),
        np.int64(3),
        np.int8(-1),
        np.uint16(9),
        np.bool_(True),
        np.complex128(1j),
        np.float16(0.5),
        np.str_("s"),
        np.bytes_(b"b"),
        np.datetime64("2024-01-01T00:00"),
        np.timedelta64(5, "ms"),
        np.longdouble(1.25),
    ]


class TestStdlibTimes(CodecContract):
    valid: ClassVar = [
        dt.datetime(2024, 1, 1, 12, 30, 5, 123456),
        dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
        dt.datetime(2024, 10, 27, 2, 30, tzinfo=BERLIN, fold=1),
        dt.date(1, 1, 1),
        dt.time(23, 59, 59, 999999),
        dt.time(1, 0, tzinfo=dt.timezone(dt.timedelta(hours=-3))),
        dt.timedelta(days=-3, microseconds=7),
        dt.timedelta.max,
    ]

    def test_dst_fold_is_exact(self, roundtrip: Any) -> None:
        first = dt.datetime(2024, 10, 27, 2, 30, tzinfo=BERLIN)
        second = first.replace(fold=1)
        assert roundtrip(first).utcoffset() == dt.timedelta(hours=2)
        assert roundtrip(second).utcoffset() == dt.timedelta(hours=1)


class TestEnums(CodecContract):
    class Unregistered(enum.Enum):
        A = 1

    valid: ClassVar = [Color.RED, Color.GREEN, Level.HIGH, [Color.RED, Level.LOW]]
    invalid: ClassVar = [Unregistered.A]


class TestPandasScalars(CodecContract):
    valid: ClassVar = [
        pd.Timestamp("2024-01-01 12:00"),
        pd.Timestamp("2024-10-27 00:30", tz="UTC").tz_convert("Europe/Berlin"),
        pd.Timestamp("2024-10-27 01:30", tz="UTC").tz_convert("Europe/Berlin"),
        pd.Timestamp("2024-01-01", tz="+05:30"),
        pd.Timestamp(np.datetime64("1500-01-01", "s")),
        pd.Timestamp(np.datetime64("9000-01-01", "ms")),
        pd.NaT,
        pd.Timedelta("1D 2h"),
        pd.Timedelta(np.timedelta64(5, "s")),
    ]

    def test_dst_fall_back_instants_are_distinct(self, roundtrip: Any) -> None:
        a = pd.Timestamp("2024-10-27 00:30", tz="UTC").tz_convert("Europe/Berlin")
        b = pd.Timestamp("2024-10-27 01:30", tz="UTC").tz_convert("Europe/Berlin")
        assert a.hour == b.hour == 2
        assert roundtrip(a) == a and roundtrip(b) == b and roundtrip(a) != roundtrip(b)

    def test_out_of_ns_range_keeps_date(self, roundtrip: Any) -> None:
        ts = pd.Timestamp(np.datetime64("1500-01-01", "s"))
        assert roundtrip(ts).year == 1500


class TestPandasIndexes(CodecContract):
    valid: ClassVar = [
        pd.date_range("2024-01-01", periods=5, freq="h", name="t"),
        pd.date_range("2024-10-26 23:00", periods=6, freq="30min", tz="Europe/Berlin"),
        pd.DatetimeIndex(["2024-01-01", None]),
        pd.DatetimeIndex([], dtype="M8[s]"),
        pd.timedelta_range("1s", periods=3, freq="s", name="dt"),
        pd.RangeIndex(3, 30, 3, name="r"),
        pd.Index([1.5, 2.5], name=("a", 1)),
        pd.Index(["a", "b"], name="s"),
        pd.Index([1, 2], dtype="int32"),
        pd.CategoricalIndex(["a", "b", "a"]),
        pd.MultiIndex.from_tuples([(1, "a"), (2, "b")], names=["n", "c"]),
    ]


class TestPandasContainers(CodecContract):
    valid: ClassVar = [
        pd.Series([1.0, np.nan], index=["a", "b"], name="s"),
        pd.Series([], dtype="float64"),
        pd.Series(pd.Categorical(["x", "y"])),
        pd.Series([1, None], dtype="Int64"),
        pd.Series(["a", None], dtype="string"),
        pd.Series([True, None], dtype="boolean"),
        pd.Categorical(["a", "b", None], categories=["b", "a"], ordered=True),
        sample_frame(),
        pd.DataFrame(),
        pd.DataFrame({"a": []}),
        pd.DataFrame({1: [1], "1": [2], (2, 3): [3]}),
        pd.DataFrame([[1, 2]], columns=["dup", "dup"]),
        pd.DataFrame({"x": [1.0]}, index=pd.date_range("2024", periods=1, tz="UTC")),
    ]
    invalid: ClassVar = [pd.Series(pd.arrays.IntervalArray.from_breaks([0, 1, 2]))]

    def test_frame_column_dtypes_kept(self, roundtrip: Any) -> None:
        frame = sample_frame()
        back = roundtrip(frame)
        assert list(back.dtypes) == list(frame.dtypes)
        assert list(back.columns) == list(frame.columns)
        assert back.index.name == "row"


class TestZoneInfoTimestamp:
    def test_zoneinfo_name_kept(self, roundtrip: Any) -> None:
        ts = pd.Timestamp("2024-06-01 12:00", tz=zoneinfo.ZoneInfo("America/New_York"))
        assert str(roundtrip(ts).tz) == "America/New_York"


def test_unsupported_type_error_names_type_and_property(tmp_path: Any) -> None:
    with pytest.raises(UnsupportedTypeError, match=r"object.*Box\.x"):
        Box(x=object()).save(tmp_path / "x.hdf5")
