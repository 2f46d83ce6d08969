"""The context manager (modes r, r+, w, a) and ProxyDataset."""

from __future__ import annotations

import gc
import pickle
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
import pytest

from jangada_like import Persistable, ProxyDataset, SerializableProperty
from jangada_like.errors import (
    CastingError,
    ProxyClosedError,
    ReadOnlyError,
    SessionClosedError,
    ShapeMismatchError,
)


class Child(Persistable):
    label = SerializableProperty(default="")
    samples = SerializableProperty(default=None)


class Run(Persistable):
    name = SerializableProperty(default="")
    gain = SerializableProperty(default=1.0)
    data = SerializableProperty(default=None)
    table = SerializableProperty(default=None)
    child = SerializableProperty(default=None)
    arrays = SerializableProperty(default=None)
    time = SerializableProperty(default=None)


@pytest.fixture
def run_file(tmp_path: Path) -> Path:
    run = Run(
        name="old",
        data=np.arange(10.0),
        table={"a": 1, "nested": {"arr": np.ones(3)}},
        child=Child(label="c", samples=np.zeros((4, 2))),
        arrays=[np.arange(3), np.arange(2)],
        time=pd.date_range("2024-01-01", periods=3, freq="s", tz="Europe/Berlin"),
    )
    return run.save(tmp_path / "run")


def test_arrays_at_any_depth_are_proxies(run_file: Path) -> None:
    with Run(run_file, mode="r") as run:
        assert isinstance(run.data, ProxyDataset) and isinstance(run.data, Run.ProxyDataset)
        assert isinstance(run.table["nested"]["arr"], ProxyDataset)
        assert isinstance(run.child.samples, ProxyDataset)
        assert all(isinstance(a, ProxyDataset) for a in run.arrays)
        assert isinstance(run.time, ProxyDataset)
        assert run.name == "old" and run.table["a"] == 1


def test_open_reads_no_array_data(run_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("array data was read")

    real_getitem = h5py.Dataset.__getitem__

    def guarded(self: h5py.Dataset, key: Any) -> Any:
        if self.ndim > 0:
            forbidden()
        return real_getitem(self, key)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", guarded)
    monkeypatch.setattr(h5py.Dataset, "read_direct", forbidden)
    import jangada_like._h5 as h5

    monkeypatch.setattr(h5.ChunkTable, "read", forbidden)  # the direct path for plain row slices
    with Run(run_file, mode="r") as run:
        assert run.data.shape == (10,) and run.child.samples.shape == (4, 2)
        with pytest.raises(AssertionError, match="array data was read"):
            run.data[0:2]
    monkeypatch.setattr(h5py.Dataset, "__getitem__", real_getitem)


def test_read_mode_refuses_assignment(run_file: Path) -> None:
    with Run(run_file, mode="r") as run:
        with pytest.raises(ReadOnlyError, match=r"Run\.name"):
            run.name = "new"
        with pytest.raises(ReadOnlyError, match="mode='r'"):
            run.data[0] = 1.0
        with pytest.raises(ReadOnlyError):
            run.data.append([1.0])
    assert Run.load(run_file).name == "old"


def test_r_plus_persists_every_assignment(run_file: Path) -> None:
    with Run(run_file, mode="r+") as run:
        run.name = "new"
        run.gain = 2.5
        run.table = {"b": [1, 2]}
        run.child.label = "renamed"
        run.data = np.arange(3)  # replace the array with a new one
        assert isinstance(run.data, ProxyDataset)
        run.data.append([3])
        run.arrays[0][0] = 42
    back = Run.load(run_file)
    assert back.name == "new" and back.gain == 2.5 and back.table == {"b": [1, 2]}
    assert back.child.label == "renamed"
    np.testing.assert_array_equal(back.data, np.arange(4))
    assert back.arrays[0][0] == 42


def test_in_place_container_changes_are_written_at_exit(run_file: Path) -> None:
    with Run(run_file, mode="r+") as run:
        run.table["c"] = "added"
        del run.table["a"]
    back = Run.load(run_file).table
    assert list(back) == ["nested", "c"] and back["c"] == "added"
    np.testing.assert_array_equal(back["nested"]["arr"], np.ones(3))


def test_new_nested_object_assigned_in_r_plus_stays_live(run_file: Path) -> None:
    with Run(run_file, mode="r+") as run:
        run.child = Child(label="fresh", samples=np.zeros(2))
        run.child.label = "changed later"
        run.child.samples.append([1.0, 2.0])
    back = Run.load(run_file)
    assert back.child.label == "changed later"
    np.testing.assert_array_equal(back.child.samples, [0, 0, 1, 2])


def test_mode_w_creates_from_defaults_and_kwargs(tmp_path: Path) -> None:
    path = tmp_path / "new"
    with Run(path, mode="w", name="made", data=np.arange(2.0)) as run:
        run.gain = 3.0
        run.data.append([2.0])
    back = Run.load(path)
    assert back.name == "made" and back.gain == 3.0
    np.testing.assert_array_equal(back.data, [0.0, 1.0, 2.0])
    with Run(path, mode="w") as run:
        assert run.name == ""
    assert Run.load(path).data is None


def test_mode_a_creates_or_opens(tmp_path: Path) -> None:
    path = tmp_path / "a.hdf5"
    with Run.open(path, "a", name="first") as run:
        run.data = np.zeros(1)
    with Run.open(path, "a", name="first") as run:  # "create it like this, or open it"
        assert run.name == "first"
        run.data.append([1.0])
    assert Run.load(path).data.tolist() == [0.0, 1.0]
    refused = pytest.raises(ValueError, match=r"holds other values of Run\.name .* would be ignored")
    with refused, Run.open(path, "a", name="other"):
        pass  # pragma: no cover
    with Run.open(path, "r+") as run:  # the failed open left the file closed and unlocked
        assert run.name == "first"


def test_bad_open_arguments(run_file: Path) -> None:
    with pytest.raises(ValueError, match="Unexpected keyword arguments"):
        Run(run_file, mode="r", foo=1)
    with pytest.raises(ValueError, match="mode must be one of"):
        Run(run_file, mode="x")
    with pytest.raises(ValueError, match="Unexpected keyword arguments"):
        Run(run_file, foo=1)
    with Run(run_file, "r") as run:  # positional mode
        assert isinstance(run.data, ProxyDataset)
    with pytest.raises(TypeError, match="not opened on a file"), Run():
        pass


def test_failed_enter_leaks_no_handle(tmp_path: Path) -> None:
    path = Child(label="x").save(tmp_path / "child")
    before = _open_ids()
    with pytest.raises(TypeError), Run(path, mode="r"):
        pass
    gc.collect()
    assert _open_ids() == before
    with Child(path, mode="r") as child:
        assert child.label == "x"


def _open_ids() -> int:
    return len(
        h5py.h5f.get_obj_ids(h5py.h5f.OBJ_ALL, h5py.h5f.OBJ_FILE) if hasattr(h5py.h5f, "get_obj_ids") else []
    )


def test_proxies_after_exit_name_dataset_file_and_how_to_reopen(run_file: Path) -> None:
    with Run(run_file, mode="r") as run:
        proxy = run.data
    with pytest.raises(ProxyClosedError, match=r"'/root/data'.*run\.hdf5.*mode='r'"):
        proxy[0]
    assert "closed" in repr(proxy)
    assert run.name == "old"  # read inside the block: still readable
    with pytest.raises(SessionClosedError, match=r"Run\.name: its `with` block has ended.*mode='r\+'"):
        run.name = "would go nowhere"  # refused, never silently dropped


def test_parsers_do_not_break_on_proxies(tmp_path: Path) -> None:
    class Parsed(Persistable):
        values = SerializableProperty(
            default=None, parser=lambda s, v: None if v is None else np.asarray(v, float)
        )

    path = Parsed(values=[1, 2, 3]).save(tmp_path / "p")
    with Parsed(path, mode="r") as p:
        assert isinstance(p.values, ProxyDataset) and p.values[1] == 2.0


def test_save_inside_block_writes_complete_independent_file(run_file: Path, tmp_path: Path) -> None:
    with Run(run_file, mode="r+") as run:
        run.data.append([10.0])
        out = run.save(tmp_path / "copy")
        copy = run.copy()
    assert isinstance(copy.data, np.ndarray) and copy.data.shape == (11,)
    back = Run.load(out)
    assert back.data.shape == (11,) and back.child.samples.shape == (4, 2)


# -- ProxyDataset ---------------------------------------------------------------------------------


@pytest.fixture
def grid(tmp_path: Path) -> Path:
    return Run(data=np.arange(20.0).reshape(5, 4), table={"ints": np.arange(5)}).save(tmp_path / "grid")


def test_metadata_and_array_protocol(grid: Path) -> None:
    with Run(grid, mode="r") as run:
        p = run.data
        assert (p.shape, p.ndim, p.size, p.nbytes, len(p)) == ((5, 4), 2, 20, 160, 5)
        assert p.dtype == np.float64 and p.attrs == {}
        assert "'/root/data'" in repr(p) and "(5, 4)" in repr(p) and "float64" in repr(p)
        np.testing.assert_array_equal(np.asarray(p), np.arange(20.0).reshape(5, 4))
        assert np.asarray(p, dtype=np.int32).dtype == np.int32
        assert [row.tolist() for row in p][1] == [4.0, 5.0, 6.0, 7.0]
        assert sum(len(block) for block in p.iter_chunks()) == 5
        with pytest.raises(ValueError, match="without copying"):
            p.__array__(copy=False)


@pytest.mark.parametrize(
    "key",
    [
        0,
        -1,
        np.int64(2),
        slice(1, 4),
        slice(None, None, 2),
        slice(None, None, -1),
        Ellipsis,
        (1, 2),
        (slice(0, 2), slice(1, 3)),
        [0, 3],
        [3, 0, 3],
        np.array([4, 1]),
        np.array([True, False, True, False, True]),
        (Ellipsis, 1),
        (-2, -1),
    ],
)
def test_getitem_matches_numpy(grid: Path, key: Any) -> None:
    ref = np.arange(20.0).reshape(5, 4)
    with Run(grid, mode="r") as run:
        np.testing.assert_array_equal(run.data[key], ref[key])


def test_datetime_index_proxy_returns_pandas_types(tmp_path: Path) -> None:
    idx = pd.date_range("2024-01-01", periods=5, freq="D", tz="Europe/Berlin", name="t")
    path = Run(time=idx).save(tmp_path / "t")
    with Run(path, mode="r+") as run:
        assert run.time[0] == idx[0] and isinstance(run.time[0], pd.Timestamp)
        assert isinstance(run.time[1:3], pd.DatetimeIndex) and run.time[1:3].equals(idx[1:3])
        assert run.time.dtype == idx.dtype
        run.time.append(pd.Timestamp("2024-02-01", tz="Europe/Berlin"))
        run.time.append(pd.date_range("2024-03-01", periods=2, tz="UTC").tz_convert("Europe/Berlin"))
        with pytest.raises(CastingError, match="time zone"):
            run.time.append(pd.Timestamp("2024-04-01", tz="UTC"))
        with pytest.raises(CastingError, match="time zone"):
            run.time.append(pd.Timestamp("2024-04-01"))
    back = Run.load(path).time
    assert len(back) == 8 and back[5] == pd.Timestamp("2024-02-01", tz="Europe/Berlin") and back.name == "t"


def test_setitem_and_exact_growth(tmp_path: Path) -> None:
    path = Run(data=np.arange(5.0), table={"m": np.zeros((2, 3))}).save(tmp_path / "s")
    with Run(path, mode="r+") as run:
        p = run.data
        p[0:5] = np.zeros(5)
        assert p.shape == (5,)  # jangada grows to 6 here (B4)
        p[:] = np.ones(5)
        p[4:8] = np.full(4, 2.0)
        assert p.shape == (8,)
        p[np.int64(10)] = 99.0
        assert p.shape == (11,) and np.isnan(p[9])  # the documented fill value of floats is NaN
        p[-1] = 5.0
        assert p[10] == 5.0
        m = run.table["m"]
        m[3, 0] = 1.0  # a tuple key grows axis 0
        assert m.shape == (4, 3) and m[3, 0] == 1.0
        p[:] = np.arange(12.0)  # [:] with longer data grows to fit
        assert p.shape == (12,)
        with pytest.raises(ShapeMismatchError, match=r"\(3,\)"):
            m[0] = np.zeros(3 + 1)[:4]


def test_append_variants(tmp_path: Path) -> None:
    path = Run(
        data=np.zeros((3, 2)), table={"v": np.arange(3), "s": np.array(7), "w": np.zeros((2, 2))}
    ).save(tmp_path / "a")
    with Run(path, mode="r+") as run:
        p, v = run.data, run.table["v"]
        assert p.append(np.array([1.0, 2.0])) == (4, 2)  # one row, not broadcast (B7)
        assert p.append(np.ones((2, 2))) == (6, 2)
        assert p.append([[5.0, 6.0]]) == (7, 2)
        assert v.append(3) == (4,)
        assert v.append([4, 5]) == (6,)
        with pytest.raises(CastingError, match="cast=True"):
            v.append(1.7)
        assert v.append(1.7, cast=True) == (7,) and v[-1] == 1
        assert v.append(8.0) == (8,)  # exactly representable: fine
        with pytest.raises(ShapeMismatchError, match=r"\(1, 3\).*\(7, 2\)"):
            p.append(np.zeros((1, 3)))
        with pytest.raises(ShapeMismatchError, match="0-d dataset cannot grow"):
            run.table["s"].append(1)
        with pytest.raises(ShapeMismatchError, match="grow only along axes"):
            p.append(np.zeros((7, 1)), axis=1)
    assert Run.load(path).table["v"].tolist() == [0, 1, 2, 3, 4, 5, 1, 8]


def test_pickled_proxy_is_read_only_handle(grid: Path) -> None:
    with Run(grid, mode="r+") as run:
        blob = pickle.dumps(run.data)
    clone = pickle.loads(blob)
    assert clone.shape == (5, 4) and clone[1, 1] == 5.0
    with pytest.raises(ReadOnlyError):
        clone[0, 0] = 1.0


def test_aligned_append_checks_everything_before_writing(tmp_path: Path) -> None:
    idx = pd.date_range("2024-01-01", periods=2, freq="s", tz="UTC")
    path = Run(time=idx, data=np.zeros(2)).save(tmp_path / "aligned")
    with Run(path, mode="r+") as run:
        t = pd.date_range("2024-01-01 00:00:02", periods=3, freq="s", tz="UTC")
        assert run.append(time=t, data=np.ones(3)) == {"time": (5,), "data": (5,)}
        with pytest.raises(ShapeMismatchError, match="same number of rows"):
            run.append(time=t[:1], data=np.ones(2))
        with pytest.raises(CastingError):
            run.append(time=t.tz_convert(None), data=np.ones(3))
        assert run.refresh() == 5 and run.refresh("data") == 5
        with pytest.raises(TypeError, match="not a lazy dataset"):
            run.append(name=["x"])
    back = Run.load(path)
    assert len(back.time) == len(back.data) == 5


def test_chunks_can_be_overridden_per_property(tmp_path: Path) -> None:
    class Tuned(Persistable):
        series = SerializableProperty(default=None, chunks=(4096, 2))
        rows = SerializableProperty(default=None, chunks=256)

    path = Tuned(series=np.zeros((10, 2)), rows=np.zeros((3, 5))).save(tmp_path / "tuned")
    with h5py.File(path, "r") as f:
        assert f["root/series"].chunks == (4096, 2)
        assert f["root/rows"].chunks == (256, 5)


class Reading(Persistable, tag="tests.lazy.reading"):
    value = SerializableProperty(default=0.0)
    label = SerializableProperty(default="")


class Logbook(Persistable, tag="tests.lazy.logbook"):
    readings = SerializableProperty(default=None)


def test_assignments_to_objects_of_a_table_persist(tmp_path: Path) -> None:
    path = Logbook(readings=[Reading(value=float(i), label=f"r{i}") for i in range(10)]).save(
        tmp_path / "log"
    )
    with Logbook(path, mode="r+") as log:
        log.readings[3].value = 33.0  # fits the column: one cell written
        log.readings[4].label = "renamed"
        log.readings[5].value = "not a float"  # does not fit: the table is written again
        log.readings.append(Reading(value=99.0))  # in place: written at exit
    back = Logbook.load(path).readings
    assert [r.value for r in back][3:6] == [33.0, 4.0, "not a float"]
    assert back[4].label == "renamed" and len(back) == 11 and back[-1].value == 99.0
    with Logbook(path, mode="r") as log, pytest.raises(ReadOnlyError):
        log.readings[0].value = 1.0


def test_to_dask_with_worker_processes(tmp_path: Path) -> None:
    dask_array = pytest.importorskip("dask.array")
    distributed = pytest.importorskip("distributed")
    data = np.arange(40_000.0).reshape(10_000, 4)
    path = Run(data=data).save(tmp_path / "dask")
    with Run(path, mode="r") as run:
        lazy = run.data.to_dask(chunks=(2_500, 4))
        assert isinstance(lazy, dask_array.Array) and lazy.shape == (10_000, 4)
        with (
            distributed.LocalCluster(
                n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0", scheduler_port=0
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            total = client.compute(lazy.sum(axis=0)).result()
    np.testing.assert_allclose(total, data.sum(axis=0))


def test_r_plus_reassignments_keep_exact_types(tmp_path: Path) -> None:
    import pathlib

    path = Run(name=pathlib.Path("a/b"), gain=np.float32(1.5)).save(tmp_path / "types")
    values = [
        pathlib.Path("c/d"),
        np.int64(3),
        "plain",
        2**70,
        ["x", 1],
        pathlib.PurePosixPath("e"),
    ]  # None: default
    for value in values:
        with Run(path, mode="r+") as run:
            run.name = value
            run.gain = value
        back = Run.load(path)
        for got in (back.name, back.gain):
            assert type(got) is type(value) and got == value
    with h5py.File(path, "r") as f:
        assert not [n for n in [*f["root"], *f["root"].attrs] if n.startswith("__jl_new__")]


def test_bad_assignment_in_r_plus_names_property_and_keeps_file(run_file: Path) -> None:
    from jangada_like.errors import UnsupportedTypeError

    with pytest.raises(UnsupportedTypeError, match=r"Run\.table"), Run(run_file, mode="r+") as run:
        run.table = {"bad": [object()]}
    back = Run.load(run_file)
    assert back.table["a"] == 1  # the old value is still there


class Link(Persistable, tag="tests.lazy.link"):
    nxt = SerializableProperty(default=None)
    v = SerializableProperty(default=0)
    up = SerializableProperty(default=None)


def test_nested_objects_are_read_only_when_reached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import jangada_like._engine as engine

    head = None
    for i in range(5_000):
        head = Link(nxt=head, v=i)
    root = Link(nxt=head, v=-1)
    head.up = root  # a reference back to the root keeps its identity
    path = root.save(tmp_path / "chain")
    reads: list[str] = []
    real = engine.Context.decode

    def counting(self: Any, node: Any) -> Any:
        reads.append(getattr(node, "name", "attr"))
        return real(self, node)

    monkeypatch.setattr(engine.Context, "decode", counting)
    with Link(path, mode="r") as lazy:
        opened = len(reads)
        assert opened < 10  # the root and its direct members, not 5,000 objects
        assert lazy.nxt.nxt.v == 4_998 and lazy.nxt.up is lazy
        assert len(reads) < opened + 20
        untouched = lazy.nxt.nxt
    with pytest.raises(ProxyClosedError, match=r"cannot read Link\.nxt: .* ended before nxt was read"):
        untouched.nxt


@pytest.mark.parametrize("key", ["a", 0.5])
def test_a_key_h5py_refuses_is_reported_with_the_dataset_and_file(run_file: Path, key: Any) -> None:
    with (
        Run(run_file, mode="r") as run,
        pytest.raises((TypeError, ValueError), match=r"ProxyDataset '/root/data' of .*run\.hdf5"),
    ):
        run.data[key]
