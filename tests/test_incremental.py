"""Incremental saves: back to the file an object came from, only what changed is written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

import jangada_like._incremental as incremental
from jangada_like import Persistable, SerializableProperty
from jangada_like.errors import FileChangedError


class Part(Persistable, tag="tests.incremental.part"):
    label = SerializableProperty(default="")
    values = SerializableProperty(default=None)


class Run(Persistable, tag="tests.incremental.run"):
    name = SerializableProperty(default="")
    big = SerializableProperty(default=None)
    series = SerializableProperty(default=None)
    part = SerializableProperty(default=None)
    notes = SerializableProperty(default=None)


def _offset(path: Path, member: str) -> int:
    with h5py.File(path, "r") as f:
        dset = f[member]
        if dset.chunks is None:  # a small value stored contiguous (format 2)
            return int(dset.id.get_offset())
        return int(dset.id.get_chunk_info(0).byte_offset)


@pytest.fixture
def run_file(tmp_path: Path) -> Path:
    run = Run(
        name="r",
        big=np.arange(500_000.0),
        series=np.zeros((1000, 4)),  # 32 KB: chunked, so appended rows go to the tail
        part=Part(label="p", values=np.ones(1000)),
        notes={"a": 1},
    )
    return run.save(tmp_path / "run")


def test_only_changed_members_are_written(run_file: Path) -> None:
    big_before, part_before = _offset(run_file, "root/big"), _offset(run_file, "root/part/values")
    run = Run.load(run_file)
    run.name = "renamed"
    run.part.label = "relabelled"
    run.notes = {"a": 2}
    run.save(run_file, incremental=True)
    assert _offset(run_file, "root/big") == big_before  # untouched: same bytes, same place
    assert _offset(run_file, "root/part/values") == part_before
    back = Run.load(run_file)
    assert (back.name, back.part.label, back.notes) == ("renamed", "relabelled", {"a": 2})
    np.testing.assert_array_equal(back.big, np.arange(500_000.0))


def test_appended_rows_write_only_the_tail(run_file: Path) -> None:
    first = _offset(run_file, "root/series")
    run = Run.load(run_file)
    run.series = np.concatenate([run.series, np.ones((50, 4))])
    run.big[3] = -1.0  # an in-place change is found too
    run.save(run_file, incremental=True)
    assert _offset(run_file, "root/series") == first
    back = Run.load(run_file)
    assert back.series.shape == (1050, 4) and back.series[-1, 0] == 1.0 and back.big[3] == -1.0


def test_interrupted_incremental_save_leaves_the_previous_file(
    run_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = run_file.read_bytes()
    run = Run.load(run_file)
    run.name = "new"
    run.big = np.zeros(3)

    def crash(*args: Any, **kwargs: Any) -> None:
        raise OSError(5, "I/O error in the middle of the update")

    monkeypatch.setattr(incremental, "_grown", crash)
    with pytest.raises(OSError, match="middle of the update"):
        run.save(run_file)
    assert run_file.read_bytes() == before
    assert sorted(p.name for p in run_file.parent.iterdir()) == ["run.hdf5"]


def test_not_incremental_when_the_file_changed_or_elsewhere(run_file: Path, tmp_path: Path) -> None:
    run = Run.load(run_file)
    other = Run.load(run_file)
    other.name = "someone else"
    other.save(run_file)  # the file changed after `run` was loaded
    with pytest.raises(FileChangedError, match="since this Run was loaded"):
        run.save(run_file, incremental=True)  # the other save would be lost without a word
    with pytest.raises(FileChangedError, match="force=True"):
        run.save(run_file)
    with pytest.raises(ValueError, match="incremental save needs"):
        run.save(run_file, incremental=True, force=True)
    run.save(run_file, force=True)  # overwriting anyway: a full save, as always
    assert Run.load(run_file).name == "r"
    with pytest.raises(ValueError, match="incremental save needs"):
        Run.load(run_file).save(tmp_path / "elsewhere", incremental=True)


def test_partial_load_then_incremental_save_keeps_what_was_not_loaded(run_file: Path) -> None:
    big_before = _offset(run_file, "root/big")
    run = Run.load(run_file, exclude=["big"])
    run.name = "partial"
    run.save(run_file, incremental=True)
    assert _offset(run_file, "root/big") == big_before
    assert Run.load(run_file).big.shape == (500_000,)
