"""Issue 15: edits of lists read lazily in a session (``TableRows``, lists of objects inside
dicts or nested lists, shared items) reach the file, or raise before anything is lost.  Each test
here reproduces a loss an attacker found, and reads the file back afterwards."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from jangada_like import Persistable, Serializable, SerializableProperty
from jangada_like.errors import SessionClosedError


class Trial(Serializable):
    n = SerializableProperty(default=0)
    score = SerializableProperty(default=0.0)


class Arr(Serializable):
    x = SerializableProperty(default=None)


class Day(Persistable):
    trials = SerializableProperty(default=None)
    meta = SerializableProperty(default=None)
    a = SerializableProperty(default=None)
    b = SerializableProperty(default=None)


def _trials(n: int, start: int = 0) -> list[Trial]:
    return [Trial(n=i, score=i / 2) for i in range(start, start + n)]


def _ns(items: list[Trial]) -> list[int]:
    return [t.n for t in items]


def test_a_row_of_a_table_inside_a_dict_given_a_value_its_column_cannot_hold(tmp_path: Path) -> None:
    path = Day(meta={"trials": _trials(10)}).save(tmp_path / "day")
    with Day(path, mode="r+") as day:
        day.meta["trials"][0].score = "zero"
    back = Day.load(path).meta["trials"]
    assert _ns(back) == list(range(10)) and back[0].score == "zero" and back[1].score == 0.5


def test_a_row_of_a_table_inside_a_nested_list_given_another_kind(tmp_path: Path) -> None:
    path = Day(meta=[_trials(9), "x"]).save(tmp_path / "day")
    with Day(path, mode="r+") as day:
        day.meta[0][3].score = "three"
        day.meta[0][4].n = 4.5
    back = Day.load(path).meta[0]
    assert back[3].score == "three" and back[4].n == 4.5 and _ns(back)[:3] == [0, 1, 2]


@pytest.mark.parametrize("change", ["append", "setitem", "pop", "extend", "sort"])
def test_changes_to_a_table_inside_a_dict_reach_the_file(tmp_path: Path, change: str) -> None:
    path = Day(meta={"trials": _trials(10), "k": 1}).save(tmp_path / "day")
    expected = _trials(10)
    with Day(path, mode="r+") as day:
        for items in (day.meta["trials"], expected):
            if change == "append":
                items.append(Trial(n=99))
            elif change == "setitem":
                items[2] = Trial(n=77)
            elif change == "pop":
                items.pop(0)
            elif change == "extend":
                items.extend(_trials(3, 50))
            else:
                items.sort(key=lambda t: -t.n)
    assert _ns(Day.load(path).meta["trials"]) == _ns(expected)
    with Day(path, mode="r+") as day:  # and again, on what the first change wrote
        day.meta["trials"].append(Trial(n=100))
    assert _ns(Day.load(path).meta["trials"]) == [*_ns(expected), 100]


def test_two_lists_of_rows_swapped(tmp_path: Path) -> None:
    path = Day(a=_trials(8), b=_trials(8, 100)).save(tmp_path / "day")
    with Day(path, mode="r+") as day:
        day.a, day.b = day.b, day.a
        assert _ns(day.a) == list(range(100, 108)) and _ns(day.b) == list(range(8))
    back = Day.load(path)
    assert _ns(back.a) == list(range(100, 108)) and _ns(back.b) == list(range(8))
    with Day(path, mode="r+") as day:
        day.a[0].score = 1.25
        day.b.append(Trial(n=8))
    back = Day.load(path)
    assert back.a[0].score == 1.25 and _ns(back.b) == list(range(9))


def test_a_list_given_to_a_second_property_then_the_first_replaced(tmp_path: Path) -> None:
    path = Day(a=_trials(8)).save(tmp_path / "day")
    with Day(path, mode="r+") as day:
        rows = day.a
        day.b = rows
        day.a = None
        day.b[1].score = -1.0
    back = Day.load(path)
    assert back.a is None and _ns(back.b) == list(range(8)) and back.b[1].score == -1.0


class Holder(Serializable):
    runs = SerializableProperty(default=None)


class Box(Persistable):
    items = SerializableProperty(default=None)


def test_inner_rows_after_the_outer_list_was_written_anew(tmp_path: Path) -> None:
    path = Box(items=[Holder(runs=_trials(8, 10 * i)) for i in range(3)]).save(tmp_path / "box")
    with Box(path, mode="r+") as box:
        box.items.reverse()
        box.items[0].runs.append(Trial(n=1000))
        box.items[1].runs[0].score = 9.0
    back = Box.load(path).items
    assert _ns(back[0].runs) == [*range(20, 28), 1000]
    assert back[1].runs[0].score == 9.0 and _ns(back[2].runs) == list(range(8))


def test_an_item_stored_twice_stays_one_after_a_change_in_place(tmp_path: Path) -> None:
    s = [1, 2]
    path = Day(a=[s, s, "x"]).save(tmp_path / "day")
    with Day(path, mode="r+") as day:
        day.a[0].append(3)
    back = Day.load(path)
    assert back.a[0] == [1, 2, 3] and back.a[0] is back.a[1]
    with h5py.File(path, "r") as f:
        assert f["root/a/0"].id == f["root/a/1"].id  # still one dataset, linked twice


@pytest.mark.parametrize(
    "value",
    [np.int64(1000), np.float64(1 / 3), np.arange(3, dtype=np.int64) * 1000, np.array([1 / 3, 2.0])],
    ids=["int64", "float64", "int-array", "float-array"],
)
def test_a_cell_keeps_a_value_wider_than_its_column(tmp_path: Path, value: object) -> None:
    narrow = np.int8(1) if np.asarray(value).dtype.kind == "i" else np.float32(0.5)
    if np.ndim(value):
        items = [Arr(x=np.zeros(3, dtype=narrow.dtype)) for _ in range(8)]
    else:
        items = [Arr(x=narrow) for _ in range(8)]
    path = Day(a=items).save(tmp_path / "day")
    with Day(path, mode="r+") as day:
        day.a[2].x = value
    got = Day.load(path).a[2].x
    assert np.asarray(got).dtype == np.asarray(value).dtype and np.array_equal(got, value)
    assert Day.load(path).a[1].x.dtype == narrow.dtype


_KILLED_APPEND = """
import os, sys
import h5py
sys.path.insert(0, {root!r})
from tests.test_edits_keep_data import Day, Trial

setitem = h5py.AttributeManager.__setitem__

def dying(self, name, value):  # the rows are written: die before the table's length is
    if name == "__length__":
        os.kill(os.getpid(), 9)
    setitem(self, name, value)

h5py.AttributeManager.__setitem__ = dying
with Day({path!r}, mode="r+") as day:
    day.a.extend([Trial(n=100 + i, score="s" * (i % 50)) for i in range(500)])
"""


def test_an_append_killed_half_way_leaves_a_table_that_takes_the_next(tmp_path: Path) -> None:
    path = Day(a=[Trial(n=i, score=str(i)) for i in range(8)]).save(tmp_path / "day")
    code = _KILLED_APPEND.format(root=str(Path(__file__).parent.parent), path=str(path))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    with pytest.warns(Warning, match="left open for writing"):
        assert [t.score for t in Day.load(path).a] == [str(i) for i in range(8)]
    for k in range(3):
        with Day(path, mode="r+") as day:
            day.a.extend([Trial(n=7, score="t" * (40 + k)) for _ in range(20)])
        back = Day.load(path).a
        assert len(back) == 8 + 20 * (k + 1) and back[-1].score == "t" * (40 + k)
    with h5py.File(path, "r") as f:  # plain h5py reads every row of the column
        assert len(f["root/a/score"].asstr()[:]) == len(back)


def test_a_row_array_held_across_a_rewrite_as_groups_keeps_its_edits(tmp_path: Path) -> None:
    items = [Arr(x=np.zeros(3)) for _ in range(8)]
    path = Day(a=items).save(tmp_path / "day")
    with Day(path, mode="r+") as day:
        held = day.a[0].x
        day.a[1].x = "not an array"  # the table cannot hold it: written anew as groups
        held[0] = 5.0
    back = Day.load(path).a
    assert back[0].x.tolist() == [5.0, 0.0, 0.0] and back[1].x == "not an array"


@pytest.mark.parametrize("n", [7, 8])
def test_an_array_appended_to_a_list_of_objects_keeps_later_edits(tmp_path: Path, n: int) -> None:
    path = Day(a=[Holder(runs=i) for i in range(n)]).save(tmp_path / "day")
    mine = np.zeros(4)
    with Day(path, mode="r+") as day:
        day.a.append(mine)
        mine[1] = 3.0
    assert Day.load(path).a[-1].tolist() == [0.0, 3.0, 0.0, 0.0]


def test_rows_past_the_length_of_a_table_are_dropped_not_overwritten(tmp_path: Path) -> None:
    path = Day(a=[Trial(n=i, score=str(i)) for i in range(9)]).save(tmp_path / "day")
    with Day(path, mode="r+") as day:
        day.a.append(Trial(n=9, score="x"))  # the columns are chunked now
    with h5py.File(path, "r+") as f:  # rows of an append that died before writing __length__
        for name in ("n", "score"):
            f["root/a"][name].resize(14, axis=0)
        f["root/a/score"][10:] = ["junk"] * 4
    with Day(path, mode="r+") as day:
        assert len(day.a) == 10
        day.a.append(Trial(n=10, score="y"))
    with h5py.File(path, "r") as f:
        assert f["root/a/score"].shape == (11,) and f["root/a/n"].shape == (11,)
        assert list(f["root/a/score"].asstr()[-2:]) == ["x", "y"]
    assert [t.score for t in Day.load(path).a][-3:] == ["8", "x", "y"]


def test_a_lazy_list_iterates_compares_and_copies_as_a_list(tmp_path: Path) -> None:
    import copy
    import pickle

    path = Day(a=_trials(10), b=[1, "a", 2.0]).save(tmp_path / "day")
    with Day(path, mode="r+") as day:
        rows, plain = day.a, _trials(10)
        for items in (rows, plain):  # list semantics: deleting while iterating ends early
            seen = [t.n for t in items if (t.n != 2 or items.pop(0) is not None)]
        assert _ns(rows) == _ns(plain) and seen == [0, 1, 2, 4, 5, 6, 7, 8, 9]
        for items in (rows, plain):  # and items appended while iterating are reached
            count = 0
            for _item in items:
                count += 1
                if count == 1:
                    items.append(Trial(n=50))
            assert count == 10
        assert (day.b < [1, "b"]) is True and (day.b >= [1, "a"]) is True and (day.b > [0]) is True
        with pytest.raises(TypeError):
            day.b < 3
    selfish: list[object] = [1, "x"]
    selfish.append(selfish)
    path = Day(b=selfish).save(tmp_path / "selfish")
    with Day(path, mode="r") as day:
        for twin in (copy.deepcopy(day.b), pickle.loads(pickle.dumps(day.b))):
            assert type(twin) is list and twin[2] is twin and twin[:2] == [1, "x"]


def test_a_frame_inside_a_dict_opens_in_r_plus_and_grows(tmp_path: Path) -> None:
    import pandas as pd

    path = Day(meta={"df": pd.DataFrame({"a": [1, 2]}), "k": [1]}).save(tmp_path / "day")
    with Day(path, mode="r+") as day:  # was: FileFormatError, the session copied the frame handle
        day.meta["k"].append(2)
        day.meta["df"].append(pd.DataFrame({"a": [3]}))
    back = Day.load(path).meta
    assert back["k"] == [1, 2] and back["df"]["a"].tolist() == [1, 2, 3]


def test_a_value_replaced_twice_in_a_session_reads_as_written(tmp_path: Path) -> None:
    """The session's readers forget what they cached of a place once it is written (a frame's
    columns and index, a list's members): the value read back is the new one."""
    import pandas as pd

    path = Day(a=pd.DataFrame({"a": [1, 2]}), b=[1, "x", 2.0]).save(tmp_path / "day")
    with Day(path, mode="r+") as day:
        assert list(day.a.columns) == ["a"] and list(day.b) == [1, "x", 2.0]
        day.a = pd.DataFrame({"x": [1.5], "y": ["s"]}, index=pd.Index([7]))
        assert day.a[()].equals(pd.DataFrame({"x": [1.5], "y": ["s"]}, index=pd.Index([7])))
        day.a = pd.Series([1, 2], name="zz")
        day.a = pd.DataFrame({"q": [1, 2, 3]})
        assert day.a[()]["q"].tolist() == [1, 2, 3]
        day.b = ["y", 3, None, [4]]
        assert list(day.b) == ["y", 3, None, [4]]
    back = Day.load(path)
    assert back.a["q"].tolist() == [1, 2, 3] and back.b == ["y", 3, None, [4]]


class Item(Serializable):
    n = SerializableProperty(default=0)
    x = SerializableProperty(default=None)
    sub = SerializableProperty(default=None)


class Root(Persistable):
    a = SerializableProperty(default=None)
    b = SerializableProperty(default=None)
    c = SerializableProperty(default=None)


@pytest.mark.parametrize("inside", ["dict", "nested list"])
def test_an_object_appended_twice_at_exit_stays_one(tmp_path: Path, inside: str) -> None:
    value: object = (
        {"t": [Item(n=i) for i in range(7)]} if inside == "dict" else [[Item(n=i) for i in range(7)], "x"]
    )

    def get(root: Root) -> list[Item]:
        return root.a["t"] if inside == "dict" else root.a[0]  # type: ignore[no-any-return]

    path = Root(a=value).save(tmp_path / "root")
    with Root(path, mode="r+") as root:
        items = get(root)
        items.append(items[0])  # 8 items, one object twice: written at exit, never as a table
    with Root(path, mode="r+") as root:
        get(root)[0].n = -1
    back = get(Root.load(path))
    assert back[0] is back[-1] and back[-1].n == -1


@pytest.mark.parametrize("n", [7, 8])
def test_an_array_given_in_a_session_keeps_later_in_place_changes(tmp_path: Path, n: int) -> None:
    path = Root(a=[Item(n=i, x=np.zeros(3)) for i in range(n)]).save(tmp_path / "root")
    big = np.zeros((600, 300))  # remembered by a digest, not a copy
    with Root(path, mode="r+") as root:
        m1, m2, m3 = np.zeros(3), np.zeros(3), np.zeros(4)
        root.a[0].x = m1
        m1[0] = 8.0
        root.c = Item(x=m2)
        m2[0] = 8.0
        root.b = big
        big[5, 5] = 3.0
        root.a.append(Item(x=m3))
        m3[1] = 2.0
    back = Root.load(path)
    assert back.a[0].x[0] == 8.0 and back.c.x[0] == 8.0 and back.b[5, 5] == 3.0
    assert back.a[-1].x.tolist() == [0.0, 2.0, 0.0, 0.0]
    with Root(path, mode="r+") as root:  # appending through the lazy handle still works
        root.b = np.zeros((0, 3))
        root.b.append(np.ones((2, 3)))
    assert Root.load(path).b.shape == (2, 3)


def test_a_held_row_array_survives_a_list_written_twice(tmp_path: Path) -> None:
    path = Root(a=[Item(n=i, x=np.full(3, float(i))) for i in range(8)]).save(tmp_path / "root")
    with Root(path, mode="r+") as root:
        held = root.a[0].x
        root.a += [Item(n=8, x=np.zeros(4))]  # another shape: the list is written anew (twice)
        held[0] = 5.0
    assert Root.load(path).a[0].x.tolist() == [5.0, 0.0, 0.0]


# -- values the file stores at two places (saved shared) ---------------------------------------


@pytest.mark.parametrize("n", [7, 8, 9])
def test_a_list_saved_at_two_places_changed_in_place_changes_at_both(tmp_path: Path, n: int) -> None:
    shared = [Item(n=i) for i in range(n)]
    path = Root(a=shared, b=shared).save(tmp_path / "root")
    with Root(path, mode="r+") as root:
        assert root.a is root.b
        root.a.sort(key=lambda t: -t.n)  # the one list: b is sorted too
        root.a[1].x = "changed"
    back = Root.load(path)
    assert back.a is back.b and [t.n for t in back.b] == list(range(n - 1, -1, -1))
    assert back.b[1].x == "changed"
    with h5py.File(path, "r") as f:
        assert f["root/a"].id == f["root/b"].id


def test_an_object_saved_at_two_places_lives_on_when_one_is_reassigned(tmp_path: Path) -> None:
    o = Item(n=1, sub={"k": [1, 2]})
    path = Root(a=o, b=[o, Item(n=2)]).save(tmp_path / "root")
    with Root(path, mode="r+") as root:
        assert root.a is root.b[0]
        root.a = None  # o is still root.b[0]
        root.b[0].sub["k"].append(3)
        root.b[0].n = 5
        root.c = root.b[0]
    back = Root.load(path)
    assert back.b[0].sub == {"k": [1, 2, 3]} and back.b[0].n == 5 and back.c is back.b[0]


def test_an_object_saved_at_two_places_unread_at_one_lives_on(tmp_path: Path) -> None:
    o = Item(n=1)
    path = Root(a=o, b=Item(sub=o)).save(tmp_path / "root")
    with Root(path, mode="r+") as root:
        kept = root.a  # root.b never read: the file alone knows o is there too
        root.a = None
        kept.n = 9
    assert Root.load(path).b.sub.n == 9


def test_swapping_two_objects_that_share_one_keeps_it_shared(tmp_path: Path) -> None:
    o = Item(n=0)
    path = Root(a=Item(n=1, sub=o), b=Item(n=2, sub=o)).save(tmp_path / "root")
    with Root(path, mode="r+") as root:
        root.a, root.b = root.b, root.a
        assert root.a.sub is root.b.sub
        root.a.sub.n = 5
    back = Root.load(path)
    assert (back.a.n, back.b.n) == (2, 1) and back.a.sub is back.b.sub and back.a.sub.n == 5


def test_a_list_written_anew_keeps_one_object_for_one_stored_object(tmp_path: Path) -> None:
    o = Item(n=4, x=[1, 2])
    path = Root(a=[Item(n=1, sub=[o, Item(n=7)]), o]).save(tmp_path / "root")
    with Root(path, mode="r+") as root:
        root.a.reverse()  # a = [o, Item(n=1, sub=[o, ...])]
        assert root.a[1].sub[0] is root.a[0]
        root.a[0].x.append(3)
        root.a[1].sub[0].x.append(4)
    back = Root.load(path)
    assert back.a[0].x == [1, 2, 3, 4] and back.a[1].sub[0] is back.a[0]


def test_nested_edits_after_lists_are_written_anew(tmp_path: Path) -> None:
    inner = [Item(n=i) for i in range(8)]
    path = Root(a=[Item(n=3, sub=[Item(n=4, sub=inner), Item(n=5)]), Item()]).save(tmp_path / "root")
    with Root(path, mode="r+") as root:
        del root.a[1]
        root.a[0].sub[0].sub[0].n = 1.5  # a float into an int column: the table written anew
        del root.a[0].sub[1]
    back = Root.load(path)
    assert len(back.a) == 1 and len(back.a[0].sub) == 1 and back.a[0].sub[0].sub[0].n == 1.5
    assert [t.n for t in back.a[0].sub[0].sub[1:]] == list(range(1, 8))


def test_a_short_shared_list_read_at_its_second_place_takes_edits_after_the_first_goes(
    tmp_path: Path,
) -> None:
    shared = [Item(n=i) for i in range(3)]
    path = Root(a=shared, b=shared).save(tmp_path / "root")
    with Root(path, mode="r+") as root:
        held = root.b
        root.a = None
        held[0].n = 50  # was: KeyError, the items still wrote to the place of a
        held.append(Item(n=7))
    back = Root.load(path)
    assert back.a is None and [t.n for t in back.b] == [50, 1, 2, 7]


def test_an_object_held_after_one_of_its_places_goes_stays_the_one_at_the_other(tmp_path: Path) -> None:
    o = Item(n=1, x=[1])
    path = Root(b=[o, Item(n=2)], c=o).save(tmp_path / "root")
    with Root(path, mode="r+") as root:
        held = root.c
        root.c = None
        assert held is root.b[0]
        held.x.append(2)
        root.b[0].x.append(3)
        held.n = 5
    back = Root.load(path)
    assert back.b[0].x == [1, 2, 3] and back.b[0].n == 5


def test_a_given_array_changed_by_the_caller_and_through_its_proxy_keeps_both(tmp_path: Path) -> None:
    path = Root(a=np.zeros((1, 3)), b=np.zeros(3)).save(tmp_path / "root")
    arr, vec = np.zeros((1, 3)), np.zeros(3)
    with Root(path, mode="r+") as root:
        root.a = arr
        root.a.append(np.ones((2, 3)))  # grown through the proxy
        arr[0, 0] = 9.0  # then the caller's array: only the changed element is written
        root.b = vec
        root.b[1] = 5.0
        vec[0] = 1.0
    back = Root.load(path)
    assert back.a.tolist() == [[9.0, 0.0, 0.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    assert back.b.tolist() == [1.0, 5.0, 0.0]  # as one array would have it


def test_a_frame_given_in_a_session_keeps_the_callers_later_changes(tmp_path: Path) -> None:
    import pandas as pd

    path = Root(a=pd.DataFrame({"a": [1, 2]}), b={"k": 1}).save(tmp_path / "root")
    df, df2 = pd.DataFrame({"v": [1.5]}), pd.DataFrame({"w": [1, 2]})
    with Root(path, mode="r+") as root:
        root.a = df
        df["new"] = 3
        df.loc[1] = [2.5, 4]
        root.b["df"] = df2
        df2["w"] = [7, 8]
    back = Root.load(path)
    assert back.a.equals(df) and back.b["df"].equals(df2)


def test_a_lazy_list_given_to_a_second_property_stays_one_list(tmp_path: Path) -> None:
    path = Root(a=[Item(n=i) for i in range(3)]).save(tmp_path / "root")
    with Root(path, mode="r+") as root:
        held = root.a
        root.c = held
        assert root.c is held
        root.c.append(Item(n=9))
    back = Root.load(path)
    assert back.a is back.c and [t.n for t in back.a] == [0, 1, 2, 9]
    with Root(path, mode="r+") as root:  # then the first place goes: the list lives on at c
        held = root.a
        root.a = None
        held.append(Item(n=10))
    assert [t.n for t in Root.load(path).c] == [0, 1, 2, 9, 10]


@pytest.mark.parametrize("n", [3, 8])
def test_swapping_the_two_places_of_one_saved_list_keeps_it_one(tmp_path: Path, n: int) -> None:
    shared = [Item(n=i) for i in range(n)]
    path = Root(a=shared, b=shared).save(tmp_path / "root")
    with Root(path, mode="r+") as root:
        root.a, root.b = root.b, root.a
        assert root.a is root.b
        root.a.append(Item(n=100))
    back = Root.load(path)
    assert back.a is back.b and back.b[-1].n == 100


def test_a_list_held_after_its_place_went_and_given_to_another_takes_appends(tmp_path: Path) -> None:
    path = Root(a=[Item(n=i) for i in range(10)]).save(tmp_path / "root")
    with Root(path, mode="r+") as root:
        rows = root.a
        root.a = None
        root.b = rows  # was: later appends raised SessionClosedError
        rows.append(Item(n=50))
    back = Root.load(path)
    assert back.a is None and [t.n for t in back.b] == [*range(10), 50]


@pytest.mark.parametrize("new", ["list", "none", "frame"])
def test_a_frame_handle_given_to_another_property_keeps_reading_its_frame(tmp_path: Path, new: str) -> None:
    import pandas as pd

    path = Root(a=pd.DataFrame({"z": [1, 2]})).save(tmp_path / "root")
    replacement = {"list": [2], "none": None, "frame": pd.DataFrame({"q": [0.5]})}[new]
    with Root(path, mode="r+") as root:
        root.b = root.a
        root.a = replacement
        assert root.b[()].to_dict() == {"z": {0: 1, 1: 2}}
    assert Root.load(path).b.to_dict() == {"z": {0: 1, 1: 2}}


def test_one_array_given_to_two_properties_is_stored_once(tmp_path: Path) -> None:
    path = Root(a=np.zeros(3)).save(tmp_path / "root")
    arr = np.zeros(3)
    with Root(path, mode="r+") as root:
        root.a = arr
        root.b = arr
        arr[0] = 1.0
    back = Root.load(path)
    assert back.a is back.b and back.a[0] == 1.0


_MOVES = [
    "r.c, r.a = r.a, None; r.c.pop()",
    "r.a, r.c = r.c, r.a; r.c.reverse()",
    "r.b['t'].pop(); r.b['t'].pop(); r.a, r.c = r.c, r.a",
    "r.c = r.b['t']; r.a = 0; r.b['t'].pop()",
    "r.a = None; r.a = r.b['t']; r.a.pop()",
    "r.b['t'].sort(key=lambda t: -t.n); r.a = None; r.b['t'].pop()",
    "r.a *= 2; r.a.append(Item(n=99))",
]


@pytest.mark.parametrize("code", _MOVES)
def test_a_list_saved_at_two_places_moved_and_changed_matches_plain_python(tmp_path: Path, code: str) -> None:
    def ns(x: object) -> object:
        return x if x is None or isinstance(x, int) else [t.n for t in x]  # type: ignore[attr-defined]

    shared = [Item(n=i) for i in range(8 if "reverse" in code else 3)]
    path = Root(a=shared, b={"t": shared}).save(tmp_path / "root")
    r = Root.load(path)
    exec(code)
    want = (ns(r.a), ns(r.b["t"]), ns(r.c))  # plain Python on the tree in memory
    with Root(path, mode="r+") as r:
        exec(code)
        view = (ns(r.a), ns(r.b["t"]), ns(r.c))
    r = Root.load(path)
    assert (ns(r.a), ns(r.b["t"]), ns(r.c)) == want == view


@pytest.mark.parametrize("kind", ["dict", "nested list"])
def test_reorder_then_a_cell_the_table_cannot_hold_then_reorder_again(tmp_path: Path, kind: str) -> None:
    rows = [Item(n=i) for i in range(9)]
    path = Root(a={"t": rows} if kind == "dict" else [rows, "x"]).save(tmp_path / "root")

    def get(o: Root) -> list[Item]:
        return o.a["t"] if kind == "dict" else o.a[0]  # type: ignore[no-any-return]

    with Root(path, mode="r+") as root:
        t = get(root)
        t.reverse()
        t[1].sub = 5  # the table is written anew as groups
        t.reverse()  # and this order must reach the file too
        want = [(x.n, x.sub) for x in get(root)]
    assert [(x.n, x.sub) for x in get(Root.load(path))] == want


def test_giving_a_property_its_own_value_back_changes_nothing(tmp_path: Path) -> None:
    path = Root(a={"t": [Item(n=i, sub=[Item(n=10 * i)]) for i in range(3)]}).save(tmp_path / "root")
    with Root(path, mode="r+") as root:
        held = root.a["t"][1].sub
        root.a = root.a  # a no-op in Python
        held.append(Item(n=99))  # was: SessionClosedError
    assert [t.n for t in Root.load(path).a["t"][1].sub] == [10, 99]


def test_swapping_a_frame_with_another_value_keeps_the_frame(tmp_path: Path) -> None:
    import pandas as pd

    path = Root(a=pd.DataFrame({"v": [1.0, 2.0]}), b=5).save(tmp_path / "root")
    with Root(path, mode="r+") as root:
        old = root.a
        root.a, root.b = root.b, root.a  # was: KeyError, and the frame was gone from the file
        assert root.b[()]["v"].tolist() == [1.0, 2.0] and old[()]["v"].tolist() == [1.0, 2.0]
        with pytest.raises(SessionClosedError, match="no longer in the file"):
            old.append(pd.DataFrame({"v": [3.0]}))
    back = Root.load(path)
    assert back.a == 5 and back.b["v"].tolist() == [1.0, 2.0]
    path = Root(a=[1, 2, 3]).save(tmp_path / "two")
    with Root(path, mode="r+") as root:
        root.b = pd.DataFrame({"v": [1.0, 2.0]})
        root.a, root.b = root.b, root.a
        assert root.a[()]["v"].tolist() == [1.0, 2.0]
    back = Root.load(path)
    assert back.a["v"].tolist() == [1.0, 2.0] and back.b == [1, 2, 3]


@pytest.mark.parametrize("wrap", ["dict", "list"])
@pytest.mark.parametrize("clear", [False, True])
def test_a_lazy_list_put_inside_a_new_container_stays_one_list(
    tmp_path: Path, wrap: str, clear: bool
) -> None:
    path = Root(a=[Item(n=i) for i in range(3)]).save(tmp_path / "root")
    with Root(path, mode="r+") as root:
        root.b = {"t": root.a} if wrap == "dict" else [root.a]
        if clear:
            root.a = None  # was: SessionClosedError at the pop below
        inner = root.b["t"] if wrap == "dict" else root.b[0]
        inner.pop()
    back = Root.load(path)
    inner = back.b["t"] if wrap == "dict" else back.b[0]
    assert [t.n for t in inner] == [0, 1]
    assert back.a is None if clear else [t.n for t in back.a] == [0, 1]


def test_a_lazy_list_given_to_the_place_that_holds_it(tmp_path: Path) -> None:
    path = Root(a={"t": [Item(n=i, sub=[Item(n=10 * i), Item(n=10 * i + 1)]) for i in range(3)]}).save(
        tmp_path / "root"
    )
    with Root(path, mode="r+") as root:
        inner = root.a["t"][1].sub
        root.a = inner  # was: SessionClosedError at the append below
        root.a.append(Item(n=99))
        inner.append(Item(n=100))  # the same list in Python
    assert [t.n for t in Root.load(path).a] == [10, 11, 99, 100]
