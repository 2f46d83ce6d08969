"""Issue 15, item 2: DataFrames in sessions are lazy handles (FrameProxy) that read only what is
asked and grow by rows, writing only the new ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jangada_like import Persistable, SerializableProperty
from jangada_like.codecs.frames import FrameProxy
from jangada_like.errors import CastingError, ProxyClosedError, ReadOnlyError, ShapeMismatchError


class Rec(Persistable):
    title = SerializableProperty(default="")
    table = SerializableProperty(default=None)


def _frame(n: int, start: int = 0) -> pd.DataFrame:
    i = np.arange(start, start + n)
    return pd.DataFrame(
        {
            "x": i * 0.5,
            "n": i.astype(np.int64),
            "kind": pd.Categorical(np.where(i % 2, "odd", "even"), categories=["even", "odd"]),
            "t": pd.date_range("2026-01-01", periods=n, freq="s", tz="Europe/Berlin", unit="ns")
            + pd.Timedelta(seconds=start),
            "opt": pd.array([None if k % 3 == 0 else int(k) for k in i], dtype="Int64"),
            "label": pd.array([None if k % 4 == 0 else f"r{k}" for k in i], dtype="string"),
        }
    )


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return Rec(title="t", table=_frame(50)).save(tmp_path / "rec")


def test_a_session_hands_out_a_lazy_frame_that_reads_only_what_is_asked(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str] = []
    real = h5py.Dataset.__getitem__

    def spying(self: h5py.Dataset, key: Any) -> Any:
        reads.append(self.name)
        return real(self, key)

    with Rec(path, mode="r") as rec:
        frame = rec.table
        assert isinstance(frame, FrameProxy) and "shape=(50, 6)" in repr(frame)
        monkeypatch.setattr(h5py.Dataset, "__getitem__", spying)
        assert len(frame) == 50 and frame.shape == (50, 6)
        assert reads == [] or all("columns" in r for r in reads)  # metadata only
        reads.clear()
        column = frame["x"]
        assert column.tolist() == (np.arange(50) * 0.5).tolist() and column.name == "x"
        assert all(not r.startswith("/root/table/data/") or r == "/root/table/data/0" for r in reads)
        rows = frame.iloc[10:13]
        assert rows.equals(_frame(50).iloc[10:13])
        assert frame.rows(40, 42, columns=["n", "kind"]).equals(_frame(50).iloc[40:42][["n", "kind"]])
        assert frame.head(3).equals(_frame(50).head(3)) and frame.tail(2).equals(_frame(50).tail(2))
        monkeypatch.undo()
        assert frame.read().equals(_frame(50)) and frame.equals(_frame(50)) and frame == _frame(50)
        assert dict(frame.dtypes) == dict(_frame(50).dtypes)
        with pytest.raises(ReadOnlyError, match="read-only"):
            frame.append(_frame(1))
        with pytest.raises(TypeError, match="not pickled"):
            import pickle

            pickle.dumps(frame)
    with pytest.raises(ProxyClosedError, match=r"FrameProxy '/root/table'.*closed: reopen"):
        len(frame)
    eager = Rec.load(path).table
    assert type(eager) is pd.DataFrame and eager.equals(_frame(50))


def test_append_writes_only_the_new_rows_and_loads_back_exactly(path: Path) -> None:
    with h5py.File(path, "r") as f:
        assert f["root/table/data/0"].shape == (50,)
    for start in (50, 53):
        with Rec(path, mode="r+") as rec:
            assert rec.table.append(_frame(3, start)) == (start + 3, 6)
    with h5py.File(path, "r") as f:  # plain h5py sees every column grown together
        data = f["root/table/data"]
        assert data["0"].shape == (56,) and data["2/codes"].shape == (56,) and data["3"].shape == (56,)
        assert (
            data["4/values"].shape == data["4/mask"].shape == (56,)
            and f["root/table/index"].attrs["stop"] == 56
        )
    assert Rec.load(path).table.equals(_frame(56))


def test_append_checks_everything_before_writing(path: Path) -> None:
    bad: list[tuple[pd.DataFrame, type[Exception], str]] = [
        (_frame(2)[["n", "x", "kind", "t", "opt", "label"]], ShapeMismatchError, "same names, same order"),
        (_frame(2).assign(x=[1, 2]), CastingError, r"stores float64, the rows have int64.*cast=True"),
        (_frame(2).assign(t=_frame(2)["t"].dt.tz_convert("UTC")), CastingError, "Europe/Berlin"),
        (_frame(2).set_index(pd.Index(["a", "b"])), ShapeMismatchError, "RangeIndex, which continues"),
    ]
    with Rec(path, mode="r+") as rec:
        for rows, error, pattern in bad:
            with pytest.raises(error, match=pattern):
                rec.table.append(rows)
        with pytest.raises(CastingError, match="would change values"):
            rec.table.append(_frame(2).assign(n=[1.5, 2.0]), cast=True)
        assert len(rec.table) == 50
    assert Rec.load(path).table.equals(_frame(50))
    with h5py.File(path, "r") as f:  # no column grew: nothing was written
        assert {f[f"root/table/data/{i}"].name for i in range(6)} and f["root/table/data/0"].shape == (50,)
    with Rec(path, mode="r+") as rec:
        rec.table.append(_frame(2, 50).assign(n=lambda d: d["n"].astype(np.int32)), cast=True)
    assert Rec.load(path).table.equals(_frame(52))


def test_appended_rows_may_bring_new_categories_and_stored_codes_keep_their_meaning(tmp_path: Path) -> None:
    """A value outside the stored categories was refused (found by a user logging event kinds):
    new categories now go after the stored ones, and the codes widen past 127 categories."""
    frame = pd.DataFrame({"v": [1.0, 2.0], "kind": pd.Categorical(["a", "b"]), "n": pd.Categorical([1, 2])})
    path = Rec(table=frame).save(tmp_path / "cats")
    more = pd.DataFrame({"v": [3.0, 4.0], "kind": pd.Categorical(["c", "a"]), "n": pd.Categorical([5, 1])})
    many = pd.DataFrame({"v": np.arange(200.0), "kind": [f"k{i}" for i in range(200)], "n": [1] * 200})
    with Rec(path, mode="r+") as rec:
        rec.table.append(more)
        assert list(rec.table.dtypes["kind"].categories) == ["a", "b", "c"]
        assert rec.table["kind"].tolist() == ["a", "b", "c", "a"]
        with pytest.raises(
            CastingError, match=r"categories of column .n.: the frame stores int64, the rows have float64"
        ):
            rec.table.append(more.assign(n=pd.Categorical([1.5, 1.0])))  # int categories stay ints
        rec.table.append(many)
    expected = pd.concat([frame, more, many.astype({"kind": "category", "n": "category"})], ignore_index=True)
    back = Rec.load(path).table
    assert back["kind"].tolist() == expected["kind"].tolist() and back["n"].tolist() == expected["n"].tolist()
    assert list(back["kind"].cat.categories) == ["a", "b", "c", *[f"k{i}" for i in range(200)]]
    assert list(back["n"].cat.categories) == [1, 2, 5]
    with h5py.File(path, "r") as f:  # plain h5py: the codes widened, the categories grew
        codes = f["root/table/data/1/codes"]
        assert codes.dtype == np.int16 and codes.shape == (204,) and codes.maxshape == (None,)
        assert codes[:4].tolist() == [0, 1, 2, 0] and f["root/table/data/2/codes"].dtype == np.int8

    ordered = pd.DataFrame({"level": pd.Categorical(["lo", "hi"], categories=["lo", "hi"], ordered=True)})
    path = Rec(table=ordered).save(tmp_path / "ordered")
    with (
        Rec(path, mode="r+") as rec,
        pytest.raises(CastingError, match=r"\['mid'\] are not among the ordered"),
    ):
        rec.table.append(pd.DataFrame({"level": ["mid"]}))
    assert Rec.load(path).table.equals(ordered)


def test_a_datetime_index_grows_with_the_rows(tmp_path: Path) -> None:
    frame = pd.DataFrame({"v": [1.0, 2.0]}, index=pd.date_range("2026-01-01", periods=2, freq="h", tz="UTC"))
    path = Rec(table=frame).save(tmp_path / "ts")
    more = pd.DataFrame({"v": [3.0]}, index=pd.date_range("2026-01-01 02:00", periods=1, tz="UTC"))
    with Rec(path, mode="r+") as rec:
        rec.table.append(more)
        with pytest.raises(CastingError, match="time zone"):
            rec.table.append(pd.DataFrame({"v": [4.0]}, index=pd.date_range("2026-01-02", periods=1)))
    back = Rec.load(path).table
    assert back["v"].tolist() == [1.0, 2.0, 3.0] and back.index[-1] == pd.Timestamp(
        "2026-01-01 02:00", tz="UTC"
    )


def test_rows_of_an_unfinished_append_are_ignored(path: Path) -> None:
    with Rec(path, mode="r+") as rec:
        rec.table.append(_frame(2, 50))
    with h5py.File(path, "r+") as f:  # what a crash before the index was written leaves
        f["root/table/index"].attrs["stop"] = np.int64(50)
    assert Rec.load(path).table.equals(_frame(50))
    with Rec(path, mode="r+") as rec:
        assert len(rec.table) == 50
        rec.table.append(_frame(1, 50))  # the next append writes over them
    assert Rec.load(path).table.equals(_frame(51))


def test_assigning_a_frame_replaces_it_and_gives_a_handle(path: Path, tmp_path: Path) -> None:
    with Rec(path, mode="r+") as rec:
        rec.table = _frame(3)
        assert isinstance(rec.table, FrameProxy) and len(rec.table) == 3
        rec.table.append(_frame(1, 3))
        copy = Rec(title="copy", table=rec.table)  # saved elsewhere: the frame is read through
        other = copy.save(tmp_path / "other")
    assert Rec.load(path).table.equals(_frame(4)) and Rec.load(other).table.equals(_frame(4))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=5))
def test_appends_equal_concat(tmp_path: Path, sizes: list[int]) -> None:
    path = Rec(table=_frame(1)).save(tmp_path / "h")
    n = 1
    for size in sizes:
        with Rec(path, mode="r+") as rec:
            rec.table.append(_frame(size, n))
        n += size
    assert Rec.load(path).table.equals(_frame(n))
