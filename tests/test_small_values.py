"""Small values stay small (format 2, issue 15 item 3): a save stores small arrays and sequences
contiguous, the first append makes them chunked and resizable; format 1 files keep format 1."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from jangada_like import Persistable, SerializableProperty
from tests.golden import DATA


class Box(Persistable):
    x = SerializableProperty(default=None)
    y = SerializableProperty(default=None)


def _h5py_size(path: Path, values: dict[str, object]) -> int:
    with h5py.File(path, "w") as f:
        for key, value in values.items():
            f[key] = value
    return path.stat().st_size


def test_many_small_lists_are_within_1_5x_of_hand_written_h5py(tmp_path: Path) -> None:
    lists = {f"k{i}": [i] for i in range(1000)}
    ours = Box(x=lists).save(tmp_path / "ours").stat().st_size
    theirs = _h5py_size(tmp_path / "h5py.h5", lists)
    assert ours < 1.5 * theirs, (ours, theirs)  # format 1: 17 MB against 0.37 MB

    rng = np.random.default_rng(0)
    rois = [rng.random((int(rng.integers(5, 60)), 2)) for _ in range(200)]
    ours = Box(x=rois).save(tmp_path / "rois").stat().st_size
    theirs = _h5py_size(tmp_path / "rois.h5", {str(i): r for i, r in enumerate(rois)})
    assert ours < 1.5 * theirs, (ours, theirs)


def test_small_values_are_contiguous_and_large_ones_chunked(tmp_path: Path) -> None:
    path = Box(x=np.arange(3.0), y=np.zeros(100_000)).save(tmp_path / "b")
    with h5py.File(path, "r") as f:
        assert f.attrs["jangada_like_format"] == 2
        assert f["root/x"].chunks is None and f["root/x"].maxshape == (3,)
        assert f["root/y"].chunks is not None and f["root/y"].maxshape == (None,)


@pytest.mark.parametrize("how", ["append", "setitem past the end"])
def test_first_append_makes_a_small_array_growable(tmp_path: Path, how: str) -> None:
    path = Box(x=np.array([1.0, 2.0]), y="kept").save(tmp_path / "g")
    with h5py.File(path, "r") as f:
        before = dict(f["root/x"].attrs)
    with Box(path, mode="r+") as box:
        if how == "append":
            box.x.append(np.array([3.0, 4.0]))
            box.x.append(5.0)
        else:
            box.x[2:5] = np.array([3.0, 4.0, 5.0])
        assert box.x[()].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    with h5py.File(path, "r") as f:
        dset = f["root/x"]
        assert dset.chunks is not None and dset.maxshape == (None,)
        assert dict(dset.attrs) == before and dset[()].tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
        assert not [n for n in f["root"] if "growing" in n]
    back = Box.load(path)
    assert back.x.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0] and back.y == "kept"
    with Box(path, mode="r+") as box:  # and it keeps growing the ordinary way
        box.x.append(6.0)
    assert Box.load(path).x.tolist()[-1] == 6.0


def test_converted_times_keep_their_unit_and_zone(tmp_path: Path) -> None:
    import pandas as pd

    index = pd.DatetimeIndex(["2024-01-01 10:00", "2024-01-02 10:00"], tz="Europe/Berlin")
    path = Box(x=index).save(tmp_path / "t")
    with Box(path, mode="r+") as box:
        box.x.append(pd.DatetimeIndex(["2024-01-03 10:00"], tz="Europe/Berlin"))
    back = Box.load(path).x
    assert list(back.strftime("%d %H")) == ["01 10", "02 10", "03 10"] and str(back.tz) == "Europe/Berlin"


def test_a_shared_small_array_is_stored_growable(tmp_path: Path) -> None:
    shared = np.arange(3.0)
    path = Box(x=shared, y=[shared]).save(tmp_path / "s")
    with h5py.File(path, "r") as f:
        assert f["root/x"].chunks is not None and f["root/x"] == f["root/y/0"]
    with Box(path, mode="r+") as box:
        box.x.append(3.0)
    back = Box.load(path)
    assert back.x is back.y[0] and back.x.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_lazy_reads_of_contiguous_values(tmp_path: Path) -> None:
    value = np.arange(12.0).reshape(4, 3)
    path = Box(x=value).save(tmp_path / "r")
    with Box(path, mode="r") as box:
        assert box.x[1:3].tolist() == value[1:3].tolist() and box.x[-1, 2] == 11.0
        assert np.array_equal(np.asarray(box.x), value)


def test_format1_files_keep_format1(tmp_path: Path) -> None:
    """Sessions on a format 1 file write format 1 layouts only (a full save writes format 2)."""
    from tests.golden import GoldenRun

    path = tmp_path / "old.hdf5"
    shutil.copyfile(DATA / "format1_run.hdf5", path)
    with GoldenRun(path, mode="r+") as run:
        run.numbers = [7, 8, 9]  # a new small sequence written by a session
        run.name = "renamed"
    with GoldenRun(path, mode="r+") as run:
        run.array = np.arange(5.0)  # a replaced small array

    def chunked(f: h5py.File) -> list[tuple[str, bool]]:
        out: list[tuple[str, bool]] = []
        f.visititems(
            lambda n, o: (
                out.append((n, o.chunks is not None)) if isinstance(o, h5py.Dataset) and o.ndim else None
            )
        )
        return out

    with h5py.File(path, "r") as f:
        assert f.attrs["jangada_like_format"] == 1
        layouts = chunked(f)
        assert layouts and all(is_chunked for _n, is_chunked in layouts), layouts
    back = GoldenRun.load(path)
    assert back.numbers == [7, 8, 9] and back.name == "renamed" and back.array.tolist() == [0, 1, 2, 3, 4]


def test_a_conversion_cut_short_leaves_nothing_a_load_sees(tmp_path: Path) -> None:
    path = Box(x=np.array([1.0, 2.0]), y="kept").save(tmp_path / "cut")
    with h5py.File(path, "r+") as f:  # what a crash before the scratch copy is moved in leaves
        f["root"].create_dataset("__jl_growing__x", data=np.zeros(7))
    back = Box.load(path)  # no undeclared-property warning (warnings are errors here)
    assert back.x.tolist() == [1.0, 2.0] and back.y == "kept"
    with Box(path, mode="r+") as box:
        box.x.append(3.0)  # the next conversion clears the leftover
    with h5py.File(path, "r") as f:
        assert sorted(f["root"]) == ["x"] and f["root/x"][()].tolist() == [1.0, 2.0, 3.0]
