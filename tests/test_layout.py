"""The file layout, checked with plain h5py and with h5dump 1.10; golden files of format 1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd
import pytest

from jangada_like import Persistable, SerializableProperty, __version__
from jangada_like._compare import values_equal
from tests.golden import DATA, GoldenRun, golden_run


class Layout(Persistable):
    name = SerializableProperty(default="")
    temperature = SerializableProperty(default=293.15)
    nothing = SerializableProperty(default=None)
    metadata = SerializableProperty(default=None)
    measurements = SerializableProperty(default=None)
    floats = SerializableProperty(default=None)
    marker = SerializableProperty(default="NoneType:None")
    when = SerializableProperty(default=None)


@pytest.fixture
def layout_file(tmp_path: Path) -> Path:
    obj = Layout(
        name="Test",
        metadata={"pi": 3.14, "items": [1, 2, 3]},
        measurements=np.array([1.1, 2.2, 3.3]),
        floats=[0.5] * 70_000,
        when=pd.Timestamp("2024-06-01 12:00", tz="Europe/Berlin"),
    )
    return obj.save(tmp_path / "layout.hdf5")


def test_layout_with_plain_h5py(layout_file: Path) -> None:
    with h5py.File(layout_file, "r") as f:
        assert f.attrs["jangada_like_format"] == 2
        assert f.attrs["jangada_like_version"] == __version__
        root = f["root"]
        assert root.attrs["__class__"].endswith("Layout")
        assert root.attrs["__container_type__"] == "dict"
        assert root.attrs["__class_version__"] == 1
        assert root.attrs["name"] == "Test" and root.attrs["temperature"] == 293.15
        assert isinstance(root.attrs["nothing"], h5py.Empty)
        assert root.attrs["marker"] == "NoneType:None"  # a user string, never a marker
        assert "__attr_types__" not in root.attrs  # every value here is implied by its HDF5 type
        meta = root["metadata"]
        assert meta.attrs["__container_type__"] == "dict" and meta.attrs["pi"] == 3.14
        items = meta["items"]
        assert isinstance(items, h5py.Dataset) and items.attrs["__dataset_type__"] == "list"
        assert items[()].tolist() == [1, 2, 3]
        data = root["measurements"]
        assert data.attrs["__dataset_type__"] == "numpy.ndarray"
        # format 2: small values are contiguous, exactly their size; large ones chunked and growable
        assert data.maxshape == (3,) and data.chunks is None and items.chunks is None
        floats = root["floats"]
        assert floats.maxshape == (None,) and floats.chunks is not None
        assert floats.shape == (70_000,) and len(floats.attrs) == 2  # one dataset, not 70,000 attributes
        when = root["when"]
        assert when.attrs["__dataset_type__"] == "pandas.Timestamp"
        assert when.attrs["timezone"] == "Europe/Berlin" and when.attrs["unit"] in ("s", "us", "ns")
        utc = pd.Timestamp(int(when[()]), unit=when.attrs["unit"], tz="UTC")
        assert utc == pd.Timestamp("2024-06-01 10:00", tz="UTC")  # stored as UTC, not wall time


def test_ambiguous_attributes_are_tagged(tmp_path: Path) -> None:
    import pathlib

    path = Layout(name=pathlib.Path("a/b"), metadata={"n": np.int64(3), "i": 3, "f": np.float32(1)}).save(
        tmp_path / "t"
    )
    with h5py.File(path, "r") as f:
        assert json.loads(f["root"].attrs["__attr_types__"]) == {"name": "pathlib.Path"}
        assert json.loads(f["root/metadata"].attrs["__attr_types__"]) == {"n": "numpy.scalar"}
        assert f["root"].attrs["name"] == "a/b"


def test_chunks_are_row_major_and_sized_for_growth(tmp_path: Path) -> None:
    big = Layout(measurements=np.zeros((100_000, 8))).save(tmp_path / "big")
    with h5py.File(big, "r") as f:
        chunks = f["root/measurements"].chunks
        assert chunks[1] == 8 and chunks[0] * 8 * 8 <= 4 * 1024 * 1024 and chunks[0] >= 1024
    wide = Layout(measurements=np.zeros((2, 300_000))).save(tmp_path / "wide")
    with h5py.File(wide, "r") as f:
        assert np.prod(f["root/measurements"].chunks) * 8 <= 4 * 1024 * 1024


def test_attribute_limit_moves_large_values_to_datasets(tmp_path: Path) -> None:
    path = Layout(name="x" * 100_000, metadata={"blob": b"\x01" * 100_000}).save(tmp_path / "l")
    with h5py.File(path, "r") as f:
        assert isinstance(f["root/name"], h5py.Dataset)
        assert isinstance(f["root/metadata/blob"], h5py.Dataset)
    assert Layout.load(path).name == "x" * 100_000


def test_h5dump_reads_every_file(layout_file: Path, h5dump: Any) -> None:
    out = h5dump(layout_file, "-A")
    assert 'GROUP "root"' in out and '"__class__"' in out and "jangada_like_format" in out
    full = h5dump(DATA / "format1_run.hdf5")
    assert 'DATASET "array"' in full and "H5T_STD_I32LE" in full


def test_h5dump_reads_a_file_with_every_type(tmp_path: Path, h5dump: Any) -> None:
    path = golden_run().save(tmp_path / "every")
    assert "HARDLINK" in h5dump(path)  # the shared child is one object, linked twice


@pytest.mark.parametrize("name", ["format1_run.hdf5", "format2_run.hdf5"])
def test_golden_files_still_load(name: str) -> None:
    loaded = GoldenRun.load(DATA / name)
    expected = golden_run()
    # the file was written with pandas 3; pandas 2 builds the expected values with its own
    # defaults (ns times, object text), while the file keeps what was stored (us, str)
    pandas_defaults = ("index", "frame") if int(pd.__version__.split(".")[0]) < 3 else ()
    for key in GoldenRun.serializable_properties:
        if key not in pandas_defaults:
            assert values_equal(getattr(loaded, key), getattr(expected, key)), key
    if pandas_defaults:
        assert str(loaded.index.dtype) == "datetime64[us, UTC]"
        assert str(loaded.frame["when"].dtype) == "datetime64[us, Europe/Berlin]"
        pd.testing.assert_index_equal(loaded.index, expected.index.as_unit("us"))
        pd.testing.assert_frame_equal(
            loaded.frame, expected.frame, check_dtype=False, check_categorical=False, check_column_type=False
        )
    else:
        assert loaded == expected
    assert loaded.shared is loaded.children[0]
    assert type(loaded.big) is int and loaded.big == 2**90
    assert loaded.when.fold == 1 and loaded.stamp.hour == 2


def test_list_order_with_many_groups(tmp_path: Path) -> None:
    class Item(Persistable):
        v = SerializableProperty(default=0)

    items = [Item(v=i if i % 2 else str(i)) for i in range(25)]  # mixed types: one group each
    path = Layout(metadata={"items": items}).save(tmp_path / "i")
    with h5py.File(path, "r") as f:
        assert sorted(f["root/metadata/items"], key=int) == [str(i) for i in range(25)]
    assert [i.v for i in Layout.load(path).metadata["items"]] == [i.v for i in items]


def test_same_class_siblings_are_an_object_table(tmp_path: Path) -> None:
    class Row(Persistable, tag="tests.layout.row"):
        n = SerializableProperty(default=0)
        label = SerializableProperty(default="")
        vec = SerializableProperty(default=None)
        ok = SerializableProperty(default=None)

    rows = [Row(n=i, label=f"r{i}", vec=np.full(3, float(i)), ok=None) for i in range(20)]
    path = Layout(measurements=rows).save(tmp_path / "t")
    with h5py.File(path, "r") as f:
        table = f["root/measurements"]
        assert table.attrs["__container_type__"] == "object.table"
        assert table.attrs["__item_class__"] == "tests.layout.row" and table.attrs["__length__"] == 20
        assert table["n"][()].tolist() == list(range(20))
        assert table["label"].asstr()[3] == "r3" and table["vec"].shape == (20, 3)
    back = Layout.load(path).measurements
    assert back == rows and all(type(r.n) is int for r in back)
    shared = [*rows[:10], rows[0]]  # a repeated object keeps its identity: no table then
    again = Layout.load(Layout(measurements=shared).save(tmp_path / "s")).measurements
    assert again[0] is again[-1]
