"""Issue 15, item 2: in ``r+``/``a``, appending to a list property or adding dict items writes
only what was added: earlier items are not rewritten and the file grows by about one item."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from jangada_like import Persistable, Serializable, SerializableProperty


class Trial(Serializable):
    n = SerializableProperty(default=0)
    label = SerializableProperty(default="")
    score = SerializableProperty(default=0.0)


class Day(Persistable):
    trials = SerializableProperty(default=None)
    mixed = SerializableProperty(default=None)
    counts = SerializableProperty(default=None)
    settings = SerializableProperty(default=None)


def _address(path: Path, hdf5_path: str) -> int:
    with h5py.File(path, "r") as f:
        return int(h5py.h5o.get_info(f[hdf5_path].id).addr)


def _trials(n: int) -> list[Trial]:
    return [Trial(n=i, label=f"t{i}", score=i / 2) for i in range(n)]


def _append_one(path: Path, i: int) -> None:
    with Day(path, mode="r+") as day:
        day.trials.append(Trial(n=i, label=f"t{i}", score=i / 2))


@pytest.mark.parametrize("layout", ["table", "members"])
def test_appending_an_object_writes_only_the_new_item(tmp_path: Path, layout: str) -> None:
    start = 100 if layout == "table" else 5  # 8 or more of one class: an object table
    path = Day(trials=_trials(start)).save(tmp_path / "day")
    first = "root/trials/n" if layout == "table" else "root/trials/0"
    _append_one(path, start)  # the first append may make a small column growable
    before = _address(path, first)
    sizes = [path.stat().st_size]
    for i in range(start + 1, start + 21):
        _append_one(path, i)
        sizes.append(path.stat().st_size)
    assert _address(path, first) == before  # the old items stayed where they were
    growth = np.diff(sizes)
    assert growth.max() < 20_000, growth  # about one item per append, never the whole list again
    with h5py.File(path, "r") as f:
        tag = f["root/trials"].attrs["__container_type__"]
        assert tag == ("object.table" if layout == "table" else "list")
        if layout == "table":
            assert f["root/trials"].attrs["__length__"] == start + 21 and f["root/trials/n"].shape == (
                start + 21,
            )
    back = Day.load(path)
    assert [t.n for t in back.trials] == list(range(start + 21))
    assert back.trials[-1] == Trial(n=start + 20, label=f"t{start + 20}", score=(start + 20) / 2)


def test_the_cost_of_an_append_does_not_depend_on_the_length(tmp_path: Path) -> None:
    growths = []
    for n in (100, 3000):
        path = Day(trials=_trials(n)).save(tmp_path / f"day{n}")
        _append_one(path, n)
        size = path.stat().st_size
        for i in range(10):
            _append_one(path, n + 1 + i)
        growths.append((path.stat().st_size - size) / 10)
    assert growths[1] < 2 * growths[0] + 4096, growths


def test_appended_objects_are_attached_and_assignments_write_through(tmp_path: Path) -> None:
    path = Day(trials=_trials(10), mixed=[Trial(n=1), "text", 3]).save(tmp_path / "day")
    with Day(path, mode="r+") as day:
        new = Trial(n=99)
        day.trials.append(new)
        day.mixed.append(new)  # the same object in two lists
        day.mixed.append(2.5)
        day.flush()  # written now ...
        new.label = "changed after the append"  # ... and later assignments still reach the file
    back = Day.load(path)
    assert back.trials[-1].n == 99 and back.trials[-1].label == "changed after the append"
    assert back.mixed[:3] == [Trial(n=1), "text", 3] and back.mixed[3].n == 99 and back.mixed[4] == 2.5
    with Day(path, mode="r+") as day:
        day.trials[-1].score = 7.0  # a row appended earlier is a row like the others
    assert Day.load(path).trials[-1].score == 7.0


def test_scalar_lists_and_dicts_grow_in_place(tmp_path: Path) -> None:
    path = Day(counts=[1, 2, 3], settings={"gain": 1.0, "mode": "fast"}).save(tmp_path / "day")
    gain_before = None
    with h5py.File(path, "r") as f:
        assert f["root/counts"].chunks is None  # small: contiguous until it grows
    with Day(path, mode="r+") as day:
        day.counts.extend([4, 5])
        day.settings["offset"] = np.arange(3.0)  # added
        day.settings["mode"] = "slow"  # replaced
    with h5py.File(path, "r") as f:
        assert f["root/counts"][()].tolist() == [1, 2, 3, 4, 5] and f["root/counts"].chunks is not None
        assert [k.decode() if isinstance(k, bytes) else k for k in f["root/settings"].attrs["__keys__"]] == [
            "gain",
            "mode",
            "offset",
        ]
        assert not [n for n in f["root/settings"].attrs if "__jl_new__" in n]
        gain_before = f["root/settings"].attrs["gain"]
    back = Day.load(path)
    assert back.counts == [1, 2, 3, 4, 5] and list(back.settings) == ["gain", "mode", "offset"]
    assert back.settings["mode"] == "slow" and back.settings["offset"].tolist() == [0.0, 1.0, 2.0]
    assert gain_before == 1.0


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.trials.insert(0, Trial(n=-1)),
        lambda d: d.trials.pop(0),
        lambda d: d.trials.reverse(),
        lambda d: d.trials.append("not a trial"),  # the table cannot hold it: written anew
        lambda d: d.trials.append(Trial(n=1, label=5)),  # a column of another type
        lambda d: d.counts.append("x"),
        lambda d: d.settings.pop("gain"),
        lambda d: d.settings.update({1: "int key"}),
    ],
)
def test_other_changes_still_reach_the_file(tmp_path: Path, change: Any) -> None:
    path = Day(trials=_trials(10), counts=[1, 2], settings={"gain": 1.0, "mode": "a"}).save(tmp_path / "d")
    with Day(path, mode="r+") as day:
        change(day)
        expected = Day(trials=list(day.trials), counts=list(day.counts), settings=dict(day.settings))
    back = Day.load(path)
    assert back.trials == expected.trials and back.counts == expected.counts
    assert back.settings == expected.settings and list(back.settings) == list(expected.settings)


def test_a_table_column_longer_than_its_length_holds_an_unfinished_append(tmp_path: Path) -> None:
    path = Day(trials=_trials(10)).save(tmp_path / "day")
    _append_one(path, 10)
    with h5py.File(path, "r+") as f:  # what a crash between the columns and __length__ leaves
        f["root/trials"].attrs["__length__"] = np.int64(10)
    assert [t.n for t in Day.load(path).trials] == list(range(10))
    with Day(path, mode="r") as day:
        assert len(day.trials) == 10 and day.trials[9].n == 9


def test_a_dict_with_int_keys_grows_by_what_is_added(tmp_path: Path) -> None:
    table = {i: Trial(n=i, label=f"t{i}") for i in range(20)}
    many = {f"k{i}": float(i) for i in range(600)}  # more keys than a named group takes
    path = Day(settings=table, mixed=many).save(tmp_path / "day")
    with h5py.File(path, "r") as f:
        assert f["root/settings"].attrs["__container_type__"] == "dict.items"
        assert f["root/mixed"].attrs["__container_type__"] == "dict.items"
    with Day(path, mode="r+") as day:  # the first change may make small lists growable
        day.settings[20] = Trial(n=20)
        day.mixed["k600"] = 600.0
    first = _address(path, "root/settings/values/n")
    sizes = [path.stat().st_size]
    for i in range(21, 31):
        with Day(path, mode="r+") as day:
            day.settings[i] = Trial(n=i, label=f"t{i}")
            day.mixed[f"k{i + 580}"] = float(i)
        sizes.append(path.stat().st_size)
    assert _address(path, "root/settings/values/n") == first  # the stored values were not rewritten
    assert np.diff(sizes).max() < 20_000, np.diff(sizes)
    back = Day.load(path)
    assert list(back.settings) == list(range(31)) and [t.n for t in back.settings.values()] == list(range(31))
    assert back.settings[25].label == "t25" and len(back.mixed) == 611 and back.mixed["k601"] == 21.0
    with Day(path, mode="r+") as day:  # a replaced value: the dict is written anew, correctly
        day.settings[3] = Trial(n=-3)
    assert Day.load(path).settings[3].n == -3 and len(Day.load(path).settings) == 31


def test_a_dict_append_cut_short_before_its_keys_leaves_the_dict_it_had(tmp_path: Path) -> None:
    path = Day(settings={i: float(i) for i in range(5)}).save(tmp_path / "day")
    with Day(path, mode="r+") as day:
        day.settings[5] = 5.0
    with h5py.File(path, "r+") as f:  # what a crash between the values and the keys leaves
        f["root/settings/keys"].resize(5, axis=0)
    assert Day.load(path).settings == {i: float(i) for i in range(5)}
    with Day(path, mode="r") as day:
        assert day.settings == {i: float(i) for i in range(5)}
