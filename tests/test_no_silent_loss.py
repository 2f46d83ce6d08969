"""Issue 15, item 1: every change reaches the file or raises (typos, objects outside their
session, reserved property names)."""

from __future__ import annotations

import collections.abc
from pathlib import Path

import h5py
import numpy as np
import pytest

from jangada_like import Persistable, Serializable, SerializableProperty
from jangada_like.errors import SessionClosedError


class Experiment(Persistable):
    name = SerializableProperty(default="")
    temperature = SerializableProperty(default=293.15)
    data = SerializableProperty(default=None)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return Experiment(name="e1", temperature=300.0, data=np.arange(4.0)).save(tmp_path / "e")


# -- typos of declared properties -----------------------------------------------------------------


def test_a_typo_of_a_property_raises_naming_the_class_and_the_closest_property() -> None:
    e = Experiment()
    with pytest.raises(
        AttributeError, match=r"Experiment has no property 'temprature' \(did you mean 'temperature'\?\)"
    ) as info:
        e.temprature = 4.2  # type: ignore[attr-defined]
    assert "name, temperature, data" in str(info.value) and "extra_attributes=True" in str(info.value)
    assert info.value.name == "temprature" and info.value.obj is e
    assert e.temperature == 293.15 and "temprature" not in e.__dict__


def test_a_typo_inside_an_r_plus_session_raises_and_the_file_keeps_its_value(path: Path) -> None:
    with Experiment(path, mode="r+") as e, pytest.raises(AttributeError, match="did you mean 'temperature'"):
        e.temprature = 4.2  # type: ignore[attr-defined]
    with h5py.File(path, "r") as f:
        assert f["root"].attrs["temperature"] == 300.0 and "temprature" not in f["root"].attrs


def test_private_names_class_attributes_and_the_loose_option_stay_free(tmp_path: Path) -> None:
    e = Experiment()
    e._cache = {"scratch": 1}  # private: free, never saved
    e.extension = ".h5"  # type: ignore[misc]  # a class attribute may be overridden per instance
    assert e.save(tmp_path / "x").name == "x.h5"

    class Loose(Persistable, extra_attributes=True):
        n = SerializableProperty(default=0)

    class LooseChild(Loose):  # the option is inherited
        m = SerializableProperty(default=0)

    loose = LooseChild()
    loose.note = "in memory only"
    saved = loose.save(tmp_path / "loose")
    with h5py.File(saved, "r") as f:
        assert "note" not in f["root"].attrs and "note" not in f["root"]

    class Strict(Loose, extra_attributes=False):  # and can be turned off again
        pass

    with pytest.raises(AttributeError, match="Strict has no property 'note'"):
        Strict().note = 1


# -- objects of a session outside their block -----------------------------------------------------


def test_an_object_opened_without_with_refuses_instead_of_looking_empty(path: Path, tmp_path: Path) -> None:
    exp = Experiment(path, mode="r")
    with pytest.raises(
        SessionClosedError, match=r"Experiment\.name: the file is opened by a `with` block"
    ) as info:
        exp.name
    assert info.value.file == str(path) and "Experiment.load(path)" in str(info.value)
    with pytest.raises(SessionClosedError):
        exp == Experiment()
    with pytest.raises(SessionClosedError):
        exp.save(tmp_path / "other")  # it used to write an empty object
    assert not (tmp_path / "other.hdf5").exists()
    with pytest.raises(SessionClosedError):
        exp.name = "x"
    assert "name=<not read>" in repr(exp)
    with exp:  # the `with` block is the way in
        assert exp.name == "e1" and exp.data[1] == 1.0


def test_after_the_block_assignments_raise_and_read_values_stay(path: Path) -> None:
    with Experiment(path, mode="r+") as e:
        e.name = "inside"
        assert e.temperature == 300.0
    assert e.name == "inside" and e.temperature == 300.0  # read inside: still readable
    with pytest.raises(
        SessionClosedError, match=r"cannot assign Experiment\.name: its `with` block has ended"
    ) as info:
        e.name = "goes nowhere"
    assert "mode='r+'" in str(info.value) and info.value.file == str(path)
    assert e.name == "inside"
    assert Experiment.load(path).name == "inside"
    with e:  # entering again reopens the file, and assignments write through again
        e.name = "again"
    assert Experiment.load(path).name == "again"


def test_after_a_w_block_nested_objects_refuse_too(tmp_path: Path) -> None:
    class Trial(Serializable):
        n = SerializableProperty(default=0)

    class Day(Persistable):
        trial = SerializableProperty(default=None)

    with Day(tmp_path / "day", mode="w", trial=Trial(n=1)) as day:
        trial = day.trial
        trial.n = 2
    with pytest.raises(SessionClosedError, match=r"cannot assign .*Trial\.n"):
        trial.n = 3
    assert Day.load(tmp_path / "day.hdf5").trial.n == 2


def test_in_memory_copies_of_session_objects_are_free(path: Path, tmp_path: Path) -> None:
    with Experiment(path, mode="r") as e:
        copy = e.copy()
    copy.name = "copy"  # a copy holds data, not the session
    assert Experiment.load(copy.save(tmp_path / "copy")).name == "copy"


# -- reserved property names ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["save", "load", "extension", "append", "flush", "copy", "open", "refresh"])
def test_property_names_that_hide_library_methods_are_refused_at_class_creation(name: str) -> None:
    with pytest.raises(TypeError, match=rf"property name '{name}' is reserved: it would hide \w+\.{name}"):
        type("Scan", (Persistable,), {name: SerializableProperty(default=0)})


def test_names_reserved_only_on_persistable_are_free_on_serializable() -> None:
    Plain = type("Plain", (Serializable,), {"save": SerializableProperty(default=0)})
    assert Plain(save=3).save == 3  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match="'copy' is reserved"):
        type("Plain2", (Serializable,), {"copy": SerializableProperty(default=0)})


def test_a_reserved_name_added_later_is_refused_too() -> None:
    class Late(Persistable):
        n = SerializableProperty(default=0)

    with pytest.raises(TypeError, match="'flush' is reserved"):
        Late.flush = SerializableProperty(default=0)  # type: ignore[assignment]
    assert Late.flush is Persistable.flush  # the class is left as it was


# -- containers of a read-only session --------------------------------------------------------------


class Run(Serializable):
    n = SerializableProperty(default=0)


class Day(Persistable):
    settings = SerializableProperty(default=None)
    runs = SerializableProperty(default=None)
    tags = SerializableProperty(default=None)
    counts = SerializableProperty(default=None)
    nested = SerializableProperty(default=None)
    many = SerializableProperty(default=None)


@pytest.fixture
def day_path(tmp_path: Path) -> Path:
    day = Day(
        settings={"gain": 2.0, "names": ["a", "b"]},
        runs=[Run(n=1), Run(n=2)],
        tags={"x", "y"},
        counts=[1, 2, 3],
        nested={"inner": {"deep": [Run(n=5), "mixed"]}},
        many={i: Run(n=i) for i in range(3)},  # int keys: the keys/values layout
    )
    return day.save(tmp_path / "day")


def test_in_mode_r_containers_refuse_in_place_changes_that_would_be_dropped(day_path: Path) -> None:
    from jangada_like.errors import ReadOnlyError

    before = day_path.read_bytes()
    with Day(day_path, mode="r") as day:
        changes = [
            lambda: day.settings.__setitem__("x", 1),
            lambda: day.settings.update(x=1),
            lambda: day.settings["names"].append("c"),
            lambda: day.runs.append(Run()),
            lambda: day.runs.sort(key=lambda r: r.n),
            lambda: day.tags.add("z"),
            lambda: day.counts.__setitem__(0, 9),
            lambda: day.counts.extend([4]),
            lambda: day.nested["inner"]["deep"].pop(),
            lambda: day.many.pop(0),
        ]
        for change in changes:
            with pytest.raises(ReadOnlyError, match=r"mode='r\+'") as info:
                change()
            assert info.value.file == str(day_path) and info.value.path.startswith("/root/")
        # reading works as with plain containers, and they compare equal to the eager load
        assert isinstance(day.settings, dict) and isinstance(day.tags, set)
        # a list of objects is read item by item: a Sequence that compares equal to the list
        assert isinstance(day.runs, collections.abc.Sequence) and day.runs == Day.load(day_path).runs
        assert day.settings == {"gain": 2.0, "names": ["a", "b"]}
        grown = day.counts + [4]  # noqa: RUF005  (a new list, the user's to change)
        assert grown == [1, 2, 3, 4] and type(grown) is list
        assert day == Day.load(day_path)
        mine = day.settings.copy()  # a copy is the user's to change
        mine["x"] = 1
        assert mine["x"] == 1
    assert day_path.read_bytes() == before


def test_read_only_containers_save_elsewhere_as_plain_containers(day_path: Path, tmp_path: Path) -> None:
    import copy
    import pickle

    with Day(day_path, mode="r") as day:
        eager = Day.load(day_path)
        clone = Day(settings=day.settings, runs=day.runs, tags=day.tags, counts=day.counts)
        saved = clone.save(tmp_path / "clone")
        assert (
            type(copy.deepcopy(day.settings)) is dict and type(pickle.loads(pickle.dumps(day.counts))) is list
        )
    back = Day.load(saved)
    assert type(back.settings) is dict and type(back.runs) is list and type(back.tags) is set
    assert back.settings == eager.settings and back.tags == eager.tags and back.counts == eager.counts
    with h5py.File(saved, "r") as f:
        assert f["root/runs"].attrs["__container_type__"] == "list"
        assert f["root/settings"].attrs["__container_type__"] == "dict"


def test_in_mode_r_plus_containers_stay_plain_and_changes_reach_the_file(day_path: Path) -> None:
    eager = Day.load(day_path)
    with Day(day_path, mode="r+") as day:
        # a list of objects is read item by item (TableRows): a Sequence equal to the list
        assert type(day.settings) is dict and day.runs == eager.runs
        day.settings["x"] = 1
        day.runs.append(Run(n=3))
    again = Day.load(day_path)
    assert again.settings["x"] == 1 and [r.n for r in again.runs] == [1, 2, 3]


# -- a base class opens its subclasses' files, as it loads them -----------------------------------


class Base(Persistable):
    name = SerializableProperty(default="")


class Child(Base):
    extra = SerializableProperty(default=0)
    data = SerializableProperty(default=None)


def test_base_open_accepts_a_subclass_file_as_base_load_does(tmp_path: Path) -> None:
    from jangada_like import ProxyDataset
    from jangada_like.errors import ClassMismatchError

    path = Child(name="c", extra=3, data=np.arange(3.0)).save(tmp_path / "child")
    assert type(Base.load(path)) is Child
    with Base.open(path) as obj:
        assert type(obj) is Child and obj.extra == 3 and isinstance(obj.data, ProxyDataset)
    with Base(path, mode="r+") as obj:
        assert isinstance(obj, Child)
        obj.extra = 4  # a property only the subclass has writes through
        obj.data.append([3.0])
    assert type(Base(path)) is Child  # Cls(path) loads, and gives the subclass too
    back = Child.load(path)
    assert back.extra == 4 and back.data.tolist() == [0.0, 1.0, 2.0, 3.0]
    base_path = Base(name="b").save(tmp_path / "base")
    with pytest.raises(ClassMismatchError, match="holds a Base"), Child.open(base_path):
        pass


# -- copies keep back-references ------------------------------------------------------------------


class Node(Serializable):
    label = SerializableProperty(default="")
    parent = SerializableProperty(default=None)
    children = SerializableProperty(default=None)


def test_copy_and_cls_of_obj_keep_back_references_as_deepcopy_does() -> None:
    import copy

    root = Node(label="root", children=[])
    root.children.append(Node(label="kid", parent=root, children=[]))
    for clone in (root.copy(), Node(root), copy.deepcopy(root), copy.copy(root)):
        assert clone is not root and clone == root
        kid = clone.children[0]
        assert kid is not root.children[0] and kid.parent is clone  # not the original, not a third


def test_objects_of_a_session_pickle_as_their_values_without_the_session(day_path: Path) -> None:
    import pickle

    with Day(day_path, mode="r") as day:
        run = pickle.loads(pickle.dumps(day.runs[0]))  # used to fail: "h5py objects cannot be pickled"
        whole = pickle.loads(pickle.dumps(day))
    assert run == Run(n=1) and "_jl_node_" not in run.__dict__
    run.n = 7  # an in-memory object now, free to change
    assert whole == Day.load(day_path) and type(whole.settings) is dict
    whole.settings["x"] = 1


# -- found by review: objects replaced in the file, nested blocks, sessions in missing folders -----


class Item(Serializable):
    x = SerializableProperty(default=0)


class Holder(Persistable):
    child = SerializableProperty(default=None)
    items = SerializableProperty(default=None)


@pytest.mark.parametrize("count", [3, 10])  # a group of objects, an object table
def test_an_object_replaced_in_the_file_refuses_assignments(tmp_path: Path, count: int) -> None:
    path = Holder(child=Item(x=1), items=[Item(x=i) for i in range(count)]).save(tmp_path / "h")
    with Holder(path, mode="r+") as h:
        old, old_row = h.child, h.items[0]
        h.child = Item(x=2)
        h.items = [Item(x=100 + i) for i in range(count)]
        for stale in (old, old_row):
            pattern = r"no longer in the file, since Holder\.\w+ was given"
            with pytest.raises(SessionClosedError, match=pattern):
                stale.x = 999  # it used to write into the new value's place
        assert old.x == 1  # still readable
        h.child.x = 3  # the new one writes through
        h.child = old  # an object assigned again belongs to the file again
        old.x = 7
    back = Holder.load(path)
    assert back.child.x == 7 and [i.x for i in back.items] == list(range(100, 100 + count))


def test_a_nested_with_on_the_same_object_leaves_the_open_block_intact(path: Path) -> None:
    e = Experiment(path, mode="r+")
    with e:
        with pytest.raises(SessionClosedError, match="already open in a `with` block"), e:
            pass  # pragma: no cover
        e.name = "still open"
    assert Experiment.load(path).name == "still open"  # and the lock was released at the end


def test_a_session_in_a_missing_folder_names_the_folder(tmp_path: Path) -> None:
    from jangada_like.errors import NotAFileError

    for mode in ("w", "a"):
        with (
            pytest.raises(NotAFileError, match=r"its folder .*nope does not exist"),
            Experiment(tmp_path / "nope" / "x.hdf5", mode=mode),
        ):
            pass  # pragma: no cover


def test_messages_about_nested_objects_name_the_class_the_file_is_opened_with(tmp_path: Path) -> None:
    with Holder(tmp_path / "h", mode="w") as h:
        item = Item(x=1)
        h.child = item
    with pytest.raises(
        SessionClosedError, match=r"reopen the file \(`with Holder\(path, mode='r\+'\)"
    ) as info:
        item.x = 2
    assert "Holder.load(path)" in str(info.value) and "Item.load" not in str(info.value)


def test_a_property_added_to_a_base_later_reaches_its_subclasses(tmp_path: Path) -> None:
    class Base2(Persistable):
        a = SerializableProperty(default=1)

    class Sub(Base2):
        b = SerializableProperty(default=2)

    Base2.later = SerializableProperty(default=0)  # type: ignore[attr-defined]
    s = Sub()
    s.later = 42  # type: ignore[attr-defined]
    assert list(Sub.serializable_properties) == ["a", "b", "later"]
    assert Sub.load(s.save(tmp_path / "s")).later == 42  # type: ignore[attr-defined]


def test_plain_class_attributes_and_fields_are_not_silently_shadowed() -> None:
    import functools

    class Run(Persistable):
        sample: str = "none"
        temperature = SerializableProperty(default=293.15)

        @property
        def kelvin(self) -> float:
            return float(self.temperature)

        @kelvin.setter
        def kelvin(self, value: float) -> None:
            self.temperature = value

        @functools.cached_property
        def summary(self) -> str:
            return "computed"

    r = Run()
    with pytest.raises(AttributeError, match="Run has no property 'sample'"):
        r.sample = "Si-42"  # a class attribute: the instance value would never be saved
    with pytest.raises(AttributeError, match="no property 'save'"):
        r.save = 1  # type: ignore[method-assign]
    r.kelvin = 300.0  # a property with a setter works
    r.summary = "mine"  # so does a cached_property
    assert r.temperature == 300.0 and r.summary == "mine"


def test_pickling_or_deepcopying_an_unopened_session_object_refuses(path: Path) -> None:
    import copy
    import pickle

    exp = Experiment(path, mode="r")
    for attempt in (lambda: pickle.dumps(exp), lambda: copy.deepcopy(exp)):
        with pytest.raises(SessionClosedError, match="has not started"):
            attempt()


def test_a_read_only_session_object_with_a_table_pickles(tmp_path: Path) -> None:
    import pickle

    saved = Holder(items=[Item(x=i) for i in range(9)]).save(tmp_path / "t")
    with Holder(saved, mode="r") as h:
        back = pickle.loads(pickle.dumps(h))
    assert type(back.items) is list and [i.x for i in back.items] == list(range(9))


def test_read_only_containers_given_to_other_objects_are_theirs_to_change(
    day_path: Path, tmp_path: Path
) -> None:
    with Day(day_path, mode="r") as day:
        mem = Day(settings=day.settings, runs=day.runs)
        other = Day()
        other.tags = day.tags
        with Day(tmp_path / "other", mode="w") as writable:
            writable.settings = day.settings
            writable.settings["gain"] = 5.0  # written at the end of the block
    mem.settings["names"].append("c")
    mem.runs.append(Run(n=3))
    other.tags.add("z")
    assert Day.load(tmp_path / "other.hdf5").settings["gain"] == 5.0
    assert dict.fromkeys(day.settings) == {"gain": None, "names": None}
    assert type(type(day.settings).fromkeys([1])) is dict


def test_written_is_refused_as_a_property_name() -> None:
    with pytest.raises(TypeError, match="'written__' is reserved"):
        type("X", (Persistable,), {"written__": SerializableProperty(default=5)})


def test_option_typos_name_the_option(path: Path) -> None:
    with pytest.raises(ValueError, match=r"'timout' \(did you mean the option 'timeout'\?\)"):
        Experiment(path, mode="r", timout=3)


def test_a_lock_held_by_this_process_says_so(path: Path) -> None:
    from jangada_like.errors import FileLockedError

    with Experiment(path, mode="r+"), pytest.raises(FileLockedError, match="this process holds the file"):
        Experiment.load(path)


def test_a_numeric_series_of_a_read_only_session_refuses_in_place_changes(tmp_path: Path) -> None:
    import pandas as pd

    class WithSeries(Persistable):
        ser = SerializableProperty(default=None)

    saved = WithSeries(ser=pd.Series([1.0, 2.0, 3.0])).save(tmp_path / "s")
    with WithSeries(saved, mode="r") as w:
        with pytest.raises(ValueError, match="read-only"):
            w.ser[0] = 99.0
        mine = w.ser.copy()
        mine[0] = 99.0  # a copy is the user's
    assert WithSeries.load(saved).ser.tolist() == [1.0, 2.0, 3.0]
    with WithSeries(saved, mode="r+") as w:
        w.ser[0] = 5.0  # written at the end of the block
    assert WithSeries.load(saved).ser.tolist() == [5.0, 2.0, 3.0]


# -- operators on lazy arrays: in place they write through, else they read ---------------------------


def test_in_place_operators_on_a_lazy_array_write_through_block_by_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``e.data *= 2`` was a bare TypeError; now it changes the stored data (found by a user)."""
    import jangada_like.proxy as proxy_module
    from jangada_like import ProxyDataset
    from jangada_like.errors import CastingError, ReadOnlyError, ShapeMismatchError

    monkeypatch.setattr(proxy_module, "_IN_PLACE_BLOCK_BYTES", 48)  # blocks of 3 rows: 20 = 6 * 3 + 2
    saved = Experiment(data=np.arange(40.0).reshape(20, 2)).save(tmp_path / "ops")
    with Experiment(saved, mode="r+") as e:  # a dataset grown by appends, with large chunks
        e.data.append(np.zeros((0, 2)))
    expected = np.arange(40.0).reshape(20, 2)
    with Experiment(saved, mode="r+") as e:
        handle = e.data
        e.data *= 2
        e.data += np.arange(20.0)[:, None]  # an operand aligned with the rows is cut per block
        e.data -= np.array([1.0, 2.0])  # one broadcast row
        expected = expected * 2 + np.arange(20.0)[:, None] - np.array([1.0, 2.0])
        assert e.data is handle and isinstance(e.data, ProxyDataset)
        np.testing.assert_array_equal(e.data[()], expected)
        with pytest.raises(ShapeMismatchError, match=r"`\+=` to this dataset \(shape \(20, 2\)") as info:
            e.data += np.ones((20, 3))
        assert info.value.path == "/root/data" and info.value.file == str(saved)
    with h5py.File(saved, "r") as f:
        np.testing.assert_array_equal(f["root/data"][()], expected)  # the shape is unchanged

    ints = Experiment(data=np.arange(6)).save(tmp_path / "ints")
    with Experiment(ints, mode="r+") as e:
        with pytest.raises(CastingError, match=r"`\*=`.*same_kind.*astype") as cast:
            e.data *= 1.5  # numpy refuses it for an int array: nothing is written
        assert cast.value.path == "/root/data"
        e.data //= 2
        e.data |= 8
    with h5py.File(ints, "r") as f:
        assert f["root/data"][()].tolist() == [8, 8, 9, 9, 10, 10]
    with Experiment(ints, mode="r") as e, pytest.raises(ReadOnlyError, match="mode='r'"):
        e.data += 1
    assert Experiment.load(ints).data.tolist() == [8, 8, 9, 9, 10, 10]


def test_other_operators_on_a_lazy_array_give_arrays_as_numpy_does(path: Path) -> None:
    with Experiment(path, mode="r") as e:
        data = np.arange(4.0)
        for got, want in [
            (e.data * 2, data * 2),
            (2 - e.data, 2 - data),
            (e.data / e.data[1:2], data / data[1:2]),
            (e.data**2, data**2),
            (e.data > 1, data > 1),
            (-e.data, -data),
            (abs(e.data - 2), abs(data - 2)),
            (e.data @ e.data, data @ data),
        ]:
            assert type(got) is type(want)
            np.testing.assert_array_equal(got, want)
        assert len({e.data, e.data}) == 1  # handles stay hashable (sessions keep them in sets)


_PANDAS_VALUES = {
    "Int64": (lambda pd: pd.Series([1, 2, None], dtype="Int64"), 7),
    "boolean": (lambda pd: pd.Series([True, None, False], dtype="boolean"), False),
    "string": (lambda pd: pd.Series(["a", None, "c"], dtype="string"), "z"),
    "str": (lambda pd: pd.Series(["a", "b", "c"]), "z"),
    "category": (lambda pd: pd.Series(["a", "b", "a"], dtype="category"), "b"),
    "datetime-tz": (
        lambda pd: pd.Series(pd.date_range("2026-01-01", periods=3, tz="Europe/Paris")),
        "2026-05-01 00:00+02:00",
    ),
    "timedelta": (lambda pd: pd.Series(pd.to_timedelta([1, 2, 3], unit="s")), "9s"),
    "Categorical": (lambda pd: pd.Categorical(["a", "b", "a"]), "b"),
}


@pytest.mark.parametrize("kind", sorted(_PANDAS_VALUES))
def test_pandas_values_with_extension_arrays_refuse_in_place_changes_in_mode_r(
    tmp_path: Path, kind: str
) -> None:
    """A nullable, string, categorical or datetime Series (and a Categorical) read in mode 'r'
    accepted ``s[0] = x`` and the change went nowhere (found by a user); in 'r+' it is written."""
    import pandas as pd

    class WithPandas(Persistable):
        value = SerializableProperty(default=None)

    make, new = _PANDAS_VALUES[kind]
    original = make(pd)
    saved = WithPandas(value=original).save(tmp_path / "p")
    replacement = (
        pd.Timestamp(new) if "datetime" in kind else pd.Timedelta(new) if kind == "timedelta" else new
    )
    with WithPandas(saved, mode="r") as w:
        with pytest.raises((ValueError, TypeError)):  # numpy's read-only flag, in pandas' words
            w.value[0] = replacement
        assert list(w.value) == list(original)
        mine = w.value.copy()
        mine[0] = replacement  # a copy is the user's
    assert list(WithPandas.load(saved).value) == list(original)
    with WithPandas(saved, mode="r+") as w:
        w.value[0] = replacement  # written at the end of the block
    assert list(WithPandas.load(saved).value) == [replacement, *list(original)[1:]]
