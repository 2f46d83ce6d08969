"""Partial and selective loading, and saving partially loaded objects without losing data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from jangada_like import Persistable, SerializableProperty, load
from jangada_like.partial import NotLoaded


class Probe(Persistable, tag="tests.partial.probe"):
    label = SerializableProperty(default="")
    samples = SerializableProperty(default=None)


class Scan(Persistable, tag="tests.partial.scan"):
    name = SerializableProperty(default="")
    image = SerializableProperty(default=None)
    probe = SerializableProperty(default=None)
    probes = SerializableProperty(default=None)
    notes = SerializableProperty(default=None)


@pytest.fixture
def scan_file(tmp_path: Path) -> Path:
    scan = Scan(
        name="s1",
        image=np.arange(16.0).reshape(4, 4),
        probe=Probe(label="p", samples=np.ones(5)),
        probes=[Probe(label=f"q{i}", samples=np.full(3, i)) for i in range(10)],
        notes={"a": [1, 2]},
    )
    return scan.save(tmp_path / "scan")


def _forbid_reads(monkeypatch: pytest.MonkeyPatch, forbidden: tuple[str, ...]) -> list[str]:
    read: list[str] = []
    real = h5py.Dataset.__getitem__

    def guarded(self: h5py.Dataset, key: Any) -> Any:
        if any(self.name.startswith(f) for f in forbidden):
            raise AssertionError(f"{self.name} was read")
        read.append(self.name)
        return real(self, key)

    monkeypatch.setattr(h5py.Dataset, "__getitem__", guarded)
    return read


def test_exclude_reads_nothing_of_the_excluded(scan_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _forbid_reads(monkeypatch, ("/root/image", "/root/probe/samples"))
    scan = Scan.load(scan_file, exclude=["image", "probe.samples"])
    assert isinstance(scan.image, NotLoaded) and "Scan.image" in repr(scan.image)
    assert isinstance(scan.probe.samples, NotLoaded) and scan.probe.label == "p"
    assert scan.name == "s1" and scan.notes == {"a": [1, 2]}


def test_only_reads_only_the_named(scan_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    read = _forbid_reads(monkeypatch, ("/root/image", "/root/probes"))
    scan = load(scan_file, only=["name", "probe.label"])
    assert scan.name == "s1" and scan.probe.label == "p"
    assert isinstance(scan.image, NotLoaded) and isinstance(scan.probe.samples, NotLoaded)
    assert isinstance(scan.probes, NotLoaded) and isinstance(scan.notes, NotLoaded)
    assert read == []


def test_dotted_path_through_a_list_of_objects(scan_file: Path) -> None:
    scan = Scan.load(scan_file, exclude=["probes.samples"])
    assert [p.label for p in scan.probes] == [f"q{i}" for i in range(10)]
    assert all(isinstance(p.samples, NotLoaded) for p in scan.probes)


def test_saving_a_partial_object_keeps_what_was_not_loaded(scan_file: Path, tmp_path: Path) -> None:
    full = Scan.load(scan_file)
    partial = Scan.load(scan_file, exclude=["image", "probe.samples", "probes.samples", "notes"])
    partial.name = "renamed"
    out = partial.save(tmp_path / "other")
    again = Scan.load(out)
    assert again.name == "renamed"
    np.testing.assert_array_equal(again.image, full.image)
    np.testing.assert_array_equal(again.probe.samples, full.probe.samples)
    assert [p.samples.tolist() for p in again.probes] == [p.samples.tolist() for p in full.probes]
    assert again.notes == full.notes
    partial.save(scan_file)  # back over the file it came from: still complete
    assert Scan.load(scan_file).image.shape == (4, 4)


def test_bad_selection_arguments(scan_file: Path) -> None:
    with pytest.raises(TypeError, match="lists of dotted names"):
        Scan.load(scan_file, only="name")
    with pytest.raises(ValueError, match="bad property path"):
        Scan.load(scan_file, exclude=["probe..x"])


class Cell(Persistable, tag="tests.partial.cell"):
    index = SerializableProperty(default=0)
    label = SerializableProperty(default="")


class Grid(Persistable, tag="tests.partial.grid"):
    cells = SerializableProperty(default=None)


def test_lazy_open_of_many_objects_builds_only_those_touched(tmp_path: Path) -> None:
    built: list[int] = []
    cells = [Cell(index=i, label=f"c{i}") for i in range(10_000)]
    path = Grid(cells=cells).save(tmp_path / "grid")
    Cell.index = SerializableProperty(default=0, observers=[lambda self, old, new: built.append(new)])
    try:
        with Grid(path, mode="r") as grid:
            assert len(grid.cells) == 10_000
            assert grid.cells[4321].label == "c4321" and grid.cells[-1].index == 9_999
            assert grid.cells[4321] is grid.cells[4321]
            assert sorted(set(built)) == [4321, 9_999]  # two objects built, not 10,000
            copy = grid.save(tmp_path / "copy")  # saving reads them all
        assert Grid.load(copy).cells == cells
    finally:
        Cell.index = SerializableProperty(default=0)
