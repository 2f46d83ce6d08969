"""The holes of issue 14 that the one checked door closes, each pinned by the case that found it.

Each test here failed before the fix it names: a side path (the pandas and table codecs, the quick root
reader, the object table) reached the file or traded identity for speed where the main path did not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
import pytest

from jangada_like import Persistable, SerializableProperty
from jangada_like.errors import DatasetTooLargeError, FileFormatError, ReadOnlyError, UnsupportedTypeError


class Rec(Persistable):
    x = SerializableProperty(default=None)
    y = SerializableProperty(default=None)


class Item(Persistable):
    a = SerializableProperty(default=None)


# -- links and raw storage that leave the file ---------------------------------------------------


def _other_file(tmp_path: Path) -> Path:
    other = tmp_path / "other.hdf5"
    with h5py.File(other, "w") as f:
        f["idx"] = np.arange(3)
        f["codes"] = np.zeros(3, dtype="i1")
    return other


@pytest.mark.parametrize("lazy", [False, True])
def test_external_link_at_a_dataframe_index_is_refused(tmp_path: Path, lazy: bool) -> None:
    path = tmp_path / "df.hdf5"
    Rec(x=pd.DataFrame({"a": [1, 2, 3]})).save(path)
    other = _other_file(tmp_path)
    with h5py.File(path, "r+") as f:
        del f["root/x/index"]
        f["root/x/index"] = h5py.ExternalLink(str(other), "idx")
    with pytest.raises(FileFormatError) as info:
        if lazy:
            with Rec(path, mode="r") as r:
                r.x.read()  # a session's frame is a handle: the door refuses the link when read
        else:
            Rec.load(path)
    assert str(path) in str(info.value) and "/root/x/index" in str(info.value)
    assert "link" in str(info.value)


def test_external_link_at_categorical_codes_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cat.hdf5"
    Rec(x=pd.Categorical(["a", "b", "a"])).save(path)
    other = _other_file(tmp_path)
    with h5py.File(path, "r+") as f:
        names = list(f["root/x"])
        assert "codes" in names, names
        del f["root/x/codes"]
        f["root/x/codes"] = h5py.ExternalLink(str(other), "codes")
    with pytest.raises(FileFormatError, match="link"):
        Rec.load(path)


def _external_storage(tmp_path: Path, secret: Path) -> Path:
    path = tmp_path / "ext.hdf5"
    Rec(x=np.arange(10, dtype="u1")).save(path)
    with h5py.File(path, "r+") as f:
        attrs = dict(f["root/x"].attrs)
        del f["root/x"]
        ds = f["root"].create_dataset("x", shape=(10,), dtype="u1", external=[(str(secret), 0, 10)])
        for key, value in attrs.items():
            ds.attrs[key] = value
    return path


@pytest.mark.parametrize("how", ["load", "session", "session-rplus"])
def test_external_raw_storage_is_refused(tmp_path: Path, how: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"TOPSECRET!")
    path = _external_storage(tmp_path, secret)
    with pytest.raises(FileFormatError) as info:
        if how == "load":
            Rec.load(path)
        else:
            with Rec(path, mode="r" if how == "session" else "r+") as r:
                np.asarray(r.x[:])
    assert "external" in str(info.value) and "/root/x" in str(info.value)
    assert "TOPSECRET" not in str(info.value)


def test_external_raw_storage_is_refused_by_the_quick_root_reader(tmp_path: Path) -> None:
    """A root made only of attributes and small datasets goes through the quick reader: same rules."""

    class Small(Persistable):
        n = SerializableProperty(default=0)
        data = SerializableProperty(default=None)

    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"TOPSECRET!")
    path = tmp_path / "small.hdf5"
    Small(n=1, data=np.arange(10, dtype="u1")).save(path)
    with h5py.File(path, "r+") as f:
        attrs = dict(f["root/data"].attrs)
        del f["root/data"]
        ds = f["root"].create_dataset("data", shape=(10,), dtype="u1", external=[(str(secret), 0, 10)])
        for key, value in attrs.items():
            ds.attrs[key] = value
    with pytest.raises(FileFormatError, match="external"):
        Small.load(path)
    with pytest.raises(FileFormatError, match="external"), Small(path, mode="r") as s:
        np.asarray(s.data[:])


# -- identity is never traded for speed ----------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: pd.DataFrame({"a": [1, 2, 3], "b": [0.5, 1.5, 2.5]}),
        lambda: pd.Series([1.0, 2.0, 3.0], name="s"),
        lambda: pd.Index([3, 1, 2]),
        lambda: pd.RangeIndex(0, 10, 2),
        lambda: pd.DatetimeIndex(["2024-01-01", "2024-02-01"]),
        lambda: pd.Categorical(["a", "b", "a"]),
    ],
    ids=["DataFrame", "Series", "Index", "RangeIndex", "DatetimeIndex", "Categorical"],
)
def test_shared_pandas_objects_stay_shared(tmp_path: Path, make: Any) -> None:
    value = make()
    path = tmp_path / "shared.hdf5"
    Rec(x=value, y=[value, value]).save(path)
    back = Rec.load(path)
    assert back.x is back.y[0] is back.y[1]
    with Rec(path, mode="r") as lazy:
        assert lazy.x is lazy.y[0]
    # written once: one group or dataset, the others are hard links to it
    with h5py.File(path, "r") as f:
        assert f["root/x"] == f["root/y/0"] == f["root/y/1"]


@pytest.mark.parametrize("n", [7, 8, 20])
def test_object_lists_keep_shared_arrays_byte_order_and_memory_order(tmp_path: Path, n: int) -> None:
    """The column table used for many same-class objects must not change what comes back at 8."""
    path = tmp_path / "items.hdf5"
    shared = np.arange(3.0)
    Rec(x=[Item(a=shared) for _ in range(n)]).save(path)
    back = Rec.load(path)
    assert all(item.a is back.x[0].a for item in back.x)
    with h5py.File(path, "r") as f:  # stored once
        assert sum(isinstance(v, h5py.Dataset) and v.shape == (3,) for v in _walk(f)) <= 1

    Rec(x=[Item(a=np.arange(3, dtype=">f8")) for _ in range(n)]).save(path)
    assert {item.a.dtype.str for item in Rec.load(path).x} == {">f8"}

    Rec(x=[Item(a=np.asfortranarray(np.ones((2, 3)))) for _ in range(n)]).save(path)
    back = Rec.load(path)
    assert all(item.a.flags.f_contiguous and not item.a.flags.c_contiguous for item in back.x)

    same = np.arange(2)
    Rec(x=[Item(a=same if i < 2 else np.arange(2)) for i in range(n)]).save(path)
    back = Rec.load(path)
    assert back.x[0].a is back.x[1].a and back.x[2].a is not back.x[0].a


def _walk(f: h5py.File) -> list[Any]:
    out: list[Any] = []
    f.visititems(lambda _name, obj: out.append(obj))
    return out


@pytest.mark.parametrize("n", [7, 8, 30])
def test_lazy_object_lists_behave_as_the_eager_list(tmp_path: Path, n: int) -> None:
    path = tmp_path / "rows.hdf5"
    Rec(x=[Item(a=i) for i in range(n)]).save(path)
    eager = Rec.load(path)
    with Rec(path, mode="r") as lazy:
        rows = lazy.x
        assert lazy == eager
        assert rows == eager.x and eager.x == rows
        assert len(rows + []) == n and len([] + rows) == n and len(rows * 2) == 2 * n  # noqa: RUF005
        assert [item.a for item in rows[::-1]] == list(range(n))[::-1]
        assert rows.copy() == eager.x and isinstance(rows.copy(), list)
        if n >= 8:  # an object table's rows; shorter lists are plain lists (read-only lists: issue 15)
            with pytest.raises(ReadOnlyError) as info:
                rows.append(Item(a=-1))
            assert str(path) in str(info.value)
        assert len(lazy.x) == n


@pytest.mark.parametrize("n", [7, 8])
def test_dict_with_int_keys_of_many_objects_opens_lazily(tmp_path: Path, n: int) -> None:
    path = tmp_path / "d.hdf5"
    Rec(x={i: Item(a=i) for i in range(n)}, y={f"k{i}": Item(a=i) for i in range(600)}).save(path)
    eager = Rec.load(path)
    with Rec(path, mode="r") as lazy:
        assert {k: v.a for k, v in lazy.x.items()} == {i: i for i in range(n)}
        assert len(lazy.y) == 600 and lazy.y["k599"].a == 599
        assert lazy == eager


# -- numpy strings and element types -------------------------------------------------------------


def test_numpy_stringdtype_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "s.hdf5"
    value = np.array(["a", "bb", "ünïcode", ""], dtype=np.dtypes.StringDType())
    Rec(x=value).save(path)
    back = Rec.load(path).x
    assert back.dtype == value.dtype and back.tolist() == value.tolist()
    with Rec(path, mode="r") as lazy:
        assert np.asarray(lazy.x[:]).tolist() == value.tolist()
    with h5py.File(path, "r") as f:  # a plain vlen UTF-8 dataset any HDF5 reader understands
        assert h5py.check_string_dtype(f["root/x"].dtype).encoding == "utf-8"


def test_stringdtype_with_na_object_is_refused_clearly(tmp_path: Path) -> None:
    value = np.array(["a", None], dtype=np.dtypes.StringDType(na_object=None))
    with pytest.raises(UnsupportedTypeError, match="na_object"):
        Rec(x=value).save(tmp_path / "na.hdf5")
    assert not (tmp_path / "na.hdf5").exists()


def test_embedded_nul_in_unicode_array_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "nul.hdf5"
    Rec(x="kept").save(path)
    with pytest.raises(UnsupportedTypeError) as info:
        Rec(x=np.array(["a\x00b"])).save(path)
    assert "NUL" in str(info.value) and "Rec.x" in str(info.value)
    assert Rec.load(path).x == "kept"


def test_lazy_elements_have_the_eager_element_types(tmp_path: Path) -> None:
    path = tmp_path / "t.hdf5"
    Rec(x=np.array(["ab", "c"]), y=np.array(["2020-01-01", "2021-01-01"], dtype="M8[D]")).save(path)
    eager = Rec.load(path)
    with Rec(path, mode="r") as lazy:
        for name in ("x", "y"):
            got, want = getattr(lazy, name)[0], getattr(eager, name)[0]
            assert type(got) is type(want) and got == want


# -- light import --------------------------------------------------------------------------------


def test_import_does_not_import_pandas_until_a_pandas_value_is_met(tmp_path: Path) -> None:
    """pandas loads the first time a pandas value is saved or a pandas-tagged node is read."""
    import subprocess
    import sys

    code = f"""
import sys
import numpy as np
import jangada_like
from jangada_like import Persistable, SerializableProperty, load
assert "pandas" not in sys.modules, "import"

class Rec(Persistable):
    x = SerializableProperty(default=None)

path = {str(tmp_path / "plain.hdf5")!r}
Rec(x={{"a": np.arange(3), "b": [1.5, "s"]}}).save(path)
back = Rec.load(path)
with Rec(path, mode="r") as lazy:
    assert lazy == back
assert "pandas" not in sys.modules, "plain save and load"

import pandas as pd
Rec(x=pd.Series([1.0, 2.0])).save(path)
print(type(load(path).x).__name__)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Series"
    reader = f"""
import sys
import jangada_like
x = jangada_like.load({str(tmp_path / "plain.hdf5")!r}).x
print(type(x).__name__, "pandas" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", reader], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["Series", "True"]


def test_a_registry_copy_loads_the_pandas_family_on_its_own() -> None:
    from jangada_like.registry import CodecRegistry, default_registry

    reg = default_registry.copy()
    assert reg.lookup_tag("pandas.DataFrame").tag == "pandas.DataFrame"
    assert reg.find_type(pd.Timestamp) is reg.lookup_tag("pandas.Timestamp")
    assert "pandas.Series" in reg.tags()
    reg.unregister("pandas.Series")
    assert reg.find_type(pd.Series) is None
    assert default_registry.find_type(pd.Series) is not None
    empty = CodecRegistry()
    assert empty.find_type(pd.Series) is None


# -- declared sizes against the memory budget ----------------------------------------------------


@pytest.fixture
def small_budget() -> Any:
    import jangada_like

    jangada_like.set_memory_budget(20_000)
    yield
    jangada_like.set_memory_budget(None)


def test_a_tiny_file_declaring_billions_of_list_items_is_refused_up_front(tmp_path: Path) -> None:
    path = tmp_path / "huge.hdf5"
    Rec(x=[1, 2, 3]).save(path)
    with h5py.File(path, "r+") as f:
        attrs = dict(f["root/x"].attrs)
        del f["root/x"]
        ds = f["root"].create_dataset("x", shape=(3_000_000_000,), dtype="i8", chunks=(1 << 20,))
        for key, value in attrs.items():
            ds.attrs[key] = value
    assert path.stat().st_size < 100_000
    for opener in (Rec.load, lambda p: Rec(p, mode="r").__enter__().x):
        with pytest.raises(DatasetTooLargeError) as info:
            opener(path)
        assert "3000000000" in str(info.value).replace(",", "") and "/root/x" in str(info.value)
        assert "set_memory_budget" in str(info.value)


def test_budget_applies_to_lists_tables_and_arrays(tmp_path: Path, small_budget: None) -> None:
    path = tmp_path / "b.hdf5"
    Rec(x=list(range(1000))).save(path)  # 1000 * (8 + 40) bytes > 20,000
    with pytest.raises(DatasetTooLargeError, match="1,000 items"):
        Rec.load(path)
    Rec(x=[Item(a=i) for i in range(200)]).save(path)
    with pytest.raises(DatasetTooLargeError, match="an object table declares 200 items"):
        Rec.load(path)
    Rec(x=np.zeros(4000)).save(path)
    with pytest.raises(DatasetTooLargeError, match="32,000 bytes"):
        Rec.load(path)
    Rec(x=list(range(100))).save(path)  # within the budget
    assert Rec.load(path).x == list(range(100))


def test_set_memory_budget_rejects_nonsense() -> None:
    import jangada_like

    with pytest.raises(TypeError, match="number of bytes"):
        jangada_like.set_memory_budget("1GB")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        jangada_like.set_memory_budget(-1)


def test_a_lazy_datetime_index_reads_any_key_through_the_door(tmp_path: Path) -> None:
    """A handle's reads go through ``Door.read_part``: numpy keys are passed on as they are (a
    comparison with ``()`` would fail on them) and the handle, not the budget, chose the size."""
    path = tmp_path / "t.hdf5"
    index = pd.date_range("2024-03-30", periods=4, freq="D", tz="Europe/Berlin", name="t")
    Rec(x=index).save(path)
    with Rec(path, mode="r") as lazy:
        assert list(lazy.x[np.array([0, 2])]) == [index[0], index[2]]
        assert list(lazy.x[np.array([True, False, False, True])]) == [index[0], index[3]]
        assert lazy.x[()].equals(index)
