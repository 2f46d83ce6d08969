"""Issue 15: a list of objects stored as a table opens in a session without reading its rows
(``TableRows``), so reopening a file and appending one object costs the same at 100 objects as at
10,000; every other change still reaches the file, and objects keep their identity."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jangada_like import Persistable, Serializable, SerializableProperty
from jangada_like._engine import Context
from jangada_like.codecs.tables import TableRows
from jangada_like.errors import ProxyClosedError, SessionClosedError


class Trial(Serializable):
    n = SerializableProperty(default=0)
    score = SerializableProperty(default=0.0)
    trace = SerializableProperty(default=None)


class Other(Serializable):
    name = SerializableProperty(default="")


class Day(Persistable):
    trials = SerializableProperty(default=None)
    best = SerializableProperty(default=None)
    also = SerializableProperty(default=None)


def _trials(n: int, trace: bool = False) -> list[Trial]:
    return [Trial(n=i, score=i / 2, trace=np.full(3, float(i)) if trace else None) for i in range(n)]


def _layout(path: Path) -> str:
    with h5py.File(path, "r") as f:
        return str(f["root/trials"].attrs["__container_type__"])


@pytest.mark.parametrize("n", [100, 3000])
def test_reopening_and_appending_builds_no_stored_row(tmp_path: Path, n: int, monkeypatch: Any) -> None:
    path = Day(trials=_trials(n)).save(tmp_path / "day")
    built: list[str] = []
    original = Context.build_object

    def counting(self: Context, cls: Any, *args: Any, **kwargs: Any) -> Any:
        built.append(cls.__qualname__)
        return original(self, cls, *args, **kwargs)

    monkeypatch.setattr(Context, "build_object", counting)
    for i in range(3):
        with Day(path, mode="r+") as day:
            assert isinstance(day.trials, TableRows) and len(day.trials) == n + i
            day.trials.append(Trial(n=n + i, score=1.0))
    assert built.count("Trial") == 0  # no stored row was read: the cost does not grow with n
    monkeypatch.undo()
    back = Day.load(path)
    assert [t.n for t in back.trials] == list(range(n + 3)) and _layout(path) == "object.table"
    with h5py.File(path, "r") as f:
        assert f["root/trials"].attrs["__length__"] == n + 3 and f["root/trials/n"].shape == (n + 3,)


def test_the_rows_of_a_session_are_a_list_in_all_but_type(tmp_path: Path) -> None:
    path = Day(trials=_trials(10)).save(tmp_path / "day")
    whole = Day.load(path)
    eager = whole.trials
    for mode in ("r", "r+"):
        with Day(path, mode=mode) as day:
            rows = day.trials
            assert isinstance(rows, Sequence) and not isinstance(rows, list)
            assert rows == eager and eager == rows and list(rows) == eager and rows.copy() == eager
            assert rows + [] == eager and [] + rows == eager and rows[2:4] == eager[2:4]  # noqa: RUF005
            assert rows[-1] is rows[9] and Trial(n=3, score=1.5) in rows and rows.index(rows[4]) == 4
            assert day == whole


@st.composite
def _changes(draw: Any) -> list[tuple[str, Any]]:
    ops = []
    for _ in range(draw(st.integers(1, 5))):
        op = draw(
            st.sampled_from(["append", "extend", "iadd", "set", "del", "insert", "pop", "sort", "other"])
        )
        ops.append((op, draw(st.integers(0, 30))))
    return ops


def _apply(items: Any, op: str, k: int) -> None:
    if op == "append":
        items.append(Trial(n=100 + k, score=float(k)))
    elif op == "extend":
        items.extend([Trial(n=200 + k), Trial(n=300 + k)])
    elif op == "iadd":
        items += [Trial(n=400 + k)]
    elif op == "set" and len(items):
        items[k % len(items)] = Trial(n=500 + k)
    elif op == "del" and len(items):
        del items[k % len(items)]
    elif op == "insert":
        items.insert(k, Trial(n=600 + k))
    elif op == "pop" and len(items):
        items.pop(k % len(items))
    elif op == "sort":
        items.sort(key=lambda t: -getattr(t, "n", 0))
    elif op == "other":
        items.append(Other(name=str(k)))  # a table cannot hold it: the list is written anew


def _summary(items: Any) -> list[Any]:
    return [(type(t).__name__, getattr(t, "n", None), getattr(t, "score", None)) for t in items]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=_changes(), n=st.sampled_from([8, 12]))
def test_any_sequence_of_changes_reaches_the_file(tmp_path: Path, changes: list[Any], n: int) -> None:
    path = Day(trials=_trials(n)).save(tmp_path / "day", force=True)
    expected = _trials(n)
    with Day(path, mode="r+") as day:
        rows = day.trials
        for op, k in changes:
            _apply(rows, op, k)
            _apply(expected, op, k)
            assert _summary(rows) == _summary(expected)  # the handle the user holds stays true
    assert _summary(Day.load(path).trials) == _summary(expected)
    with Day(path, mode="r+") as day:  # and the file opens again for more
        day.trials.append(Trial(n=-1))
    assert _summary(Day.load(path).trials) == [*_summary(expected), ("Trial", -1, 0.0)]


def test_a_row_assigned_to_a_second_place_stays_one_object(tmp_path: Path) -> None:
    path = Day(trials=_trials(10)).save(tmp_path / "day")
    with Day(path, mode="r+") as day:
        day.best = day.trials[3]
        day.best.score = 33.0  # reaches both places: they are one object in the file
    back = Day.load(path)
    assert back.best is back.trials[3] and back.best.score == 33.0
    assert [t.n for t in back.trials] == list(range(10))  # the list kept every object, in order


def test_an_object_assigned_to_two_places_in_a_session_is_stored_once(tmp_path: Path) -> None:
    path = Day(trials=_trials(10)).save(tmp_path / "day")
    with Day(path, mode="r+") as day:
        t = Trial(n=-5)
        day.best = t
        day.also = t
        day.trials.append(t)  # stored elsewhere already: not a row (a row would be a copy)
        day.trials.extend([Trial(n=-6)] * 2)
        t.score = 7.0
    back = Day.load(path)
    assert back.best is back.also is back.trials[10] and back.also.score == 7.0
    assert back.trials[11] is back.trials[12]


def test_rows_after_the_block_or_after_their_place_was_replaced_refuse_changes(tmp_path: Path) -> None:
    path = Day(trials=_trials(10)).save(tmp_path / "day")
    with Day(path, mode="r+") as day:
        rows = day.trials
        first = rows[0]
        day.trials = [Trial(n=42)]
        with pytest.raises(SessionClosedError, match="no longer in the file"):
            rows.append(Trial())
        old = rows[5]  # the rows it had stay readable, but they are in no file any more
        assert old.n == 5
        with pytest.raises(SessionClosedError, match="no longer in the file"):
            old.n = 6
        kept = day.trials
    assert first.n == 0 and [t.n for t in Day.load(path).trials] == [42]
    assert kept == [Trial(n=42)]
    path = Day(trials=_trials(10)).save(tmp_path / "day2")
    with Day(path, mode="r+") as day:
        rows = day.trials
        read = rows[1]
    with pytest.raises(SessionClosedError, match="after its `with` block ended"):
        rows.append(Trial())
    with pytest.raises(ProxyClosedError, match="file was closed"):
        rows[7]
    assert read.n == 1 and rows[1] is read  # what was read stays readable
    assert len(Day.load(path).trials) == 10


def test_a_rows_array_changed_in_place_reaches_the_file_or_refuses(tmp_path: Path) -> None:
    path = Day(trials=_trials(10, trace=True)).save(tmp_path / "day")
    assert _layout(path) == "object.table"
    with Day(path, mode="r+") as day:
        day.trials[2].trace[0] = -1.0
    assert Day.load(path).trials[2].trace.tolist() == [-1.0, 2.0, 2.0]
    with Day(path, mode="r") as day, pytest.raises(ValueError, match="read-only"):
        day.trials[2].trace[0] = 5.0
    assert Day.load(path).trials[2].trace.tolist() == [-1.0, 2.0, 2.0]


def test_augmented_assignment_appends_rows(tmp_path: Path) -> None:
    path = Day(trials=_trials(10)).save(tmp_path / "day")
    with Day(path, mode="r+") as day:
        day.trials += [Trial(n=10), Trial(n=11)]
        assert isinstance(day.trials, TableRows)
    assert [t.n for t in Day.load(path).trials] == list(range(12)) and _layout(path) == "object.table"
