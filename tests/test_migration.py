"""Class versions and migrations: recipes for renamed classes and properties, split properties and
changed units, chained across three versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import pytest

from jangada_like import Persistable, Serializable, SerializableProperty
from jangada_like.errors import FormatVersionError


def _write_v1(path: Path) -> None:
    """What version 1 of the class wrote (built by hand, as an old release would have)."""

    class RunV1(Persistable, tag="tests.migration.run-v1-writer"):
        name = SerializableProperty(default="")
        duration_min = SerializableProperty(default=0.0)
        operator = SerializableProperty(default="")

    RunV1(name="ring-down", duration_min=2.5, operator="Ada Lovelace").save(path)
    with h5py.File(path, "r+") as f:
        f["root"].attrs["__class__"] = "tests.migration.run"
        f["root"].attrs["__class_version__"] = 1


class Run(Persistable, tag="tests.migration.run", version=3):
    """Version 3: ``title`` (was ``name``), ``duration_s`` (was minutes), operator split in two."""

    title = SerializableProperty(default="")
    duration_s = SerializableProperty(default=0.0)
    first_name = SerializableProperty(default="")
    last_name = SerializableProperty(default="")


@Run.migrate(from_version=1)
def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    data["title"] = data.pop("name")  # renamed property
    data["duration_s"] = data.pop("duration_min") * 60  # changed unit
    return data


@Run.migrate(from_version=2)
def _v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    first, _, last = data.pop("operator").partition(" ")  # one property split in two
    data["first_name"], data["last_name"] = first, last
    return data


def test_three_versions_chain(tmp_path: Path) -> None:
    path = tmp_path / "v1.hdf5"
    _write_v1(path)
    run = Run.load(path)
    assert (run.title, run.duration_s, run.first_name, run.last_name) == (
        "ring-down",
        150.0,
        "Ada",
        "Lovelace",
    )
    again = Run.load(run.save(tmp_path / "v3"))  # saved as version 3: no migration needed
    assert again == run
    with h5py.File(tmp_path / "v3.hdf5", "r") as f:
        assert f["root"].attrs["__class_version__"] == 3


def test_renamed_class_keeps_reading_old_files(tmp_path: Path) -> None:
    class Old(Persistable):
        v = SerializableProperty(default=0)

    path = Old(v=7).save(tmp_path / "old")
    old_tag = Old.__jangada_tag__

    # the class moved and was renamed: give it the old name as its stable tag
    class Renamed(Persistable, tag=old_tag):
        v = SerializableProperty(default=0)

    assert Renamed.load(path).v == 7


def test_newer_class_version_is_refused(tmp_path: Path) -> None:
    path = Run(title="t").save(tmp_path / "new")
    with h5py.File(path, "r+") as f:
        f["root"].attrs["__class_version__"] = 4
    with pytest.raises(FormatVersionError, match=r"version 4.*version 3"):
        Run.load(path)


def test_missing_migration_step_is_named(tmp_path: Path) -> None:
    class Gap(Serializable, version=3):
        x = SerializableProperty(default=0)

    with pytest.raises(FormatVersionError, match=r"migrate\(from_version=1\)"):
        Gap._migrate_values({"x": 1}, 1)


def test_undeclared_stored_property_is_kept_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "v1.hdf5"
    _write_v1(path)
    with h5py.File(path, "r+") as f:
        f["root"].attrs["__class_version__"] = 3  # pretend no migration is due
    with pytest.warns(UserWarning, match="does not declare"):
        run = Run.load(path)
    assert run._jl_extra_["operator"] == "Ada Lovelace"
    out = run.save(tmp_path / "kept")
    with h5py.File(out, "r") as f:
        assert f["root"].attrs["operator"] == "Ada Lovelace"  # never silently dropped
    import copy

    for clone in (run.copy(), Run(run), copy.deepcopy(run)):  # nor by a copy
        with h5py.File(clone.save(tmp_path / "clone"), "r") as f:
            assert f["root"].attrs["operator"] == "Ada Lovelace"


def test_current_version_opens_every_way(tmp_path: Path) -> None:
    """A file of the class's own (non-1) version: load, Cls(path) and every session mode."""
    path = Run(title="t", duration_s=3.0, first_name="A", last_name="B").save(tmp_path / "v3")
    assert Run(path).title == "t"
    with Run(path, mode="r") as run:
        assert run.duration_s == 3.0
    with Run(path, mode="r+") as run:
        run.title = "u"
    with Run(path, mode="a") as run:
        assert run.title == "u"
    assert Run.load(path).title == "u"


def test_old_version_migrates_read_only_and_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "v1.hdf5"
    _write_v1(path)
    assert Run(path).duration_s == 150.0
    with Run(path, mode="r") as run:
        assert (run.title, run.first_name) == ("ring-down", "Ada")
    before = path.read_bytes()
    with pytest.raises(FormatVersionError, match=r"version 1 of Run.*load\(path\)\.save\(path\)"):
        Run(path, mode="r+").__enter__()
    assert path.read_bytes() == before
    Run.load(path).save(path)  # the migration the error names
    with Run(path, mode="r+") as run:
        run.title = "migrated"
    with h5py.File(path, "r") as f:
        assert f["root"].attrs["__class_version__"] == 3
        assert f["root"].attrs["title"] == "migrated"


def test_newer_class_version_is_refused_every_way(tmp_path: Path) -> None:
    path = Run(title="t").save(tmp_path / "new")
    with h5py.File(path, "r+") as f:
        f["root"].attrs["__class_version__"] = 4
    with pytest.raises(FormatVersionError, match=r"version 4.*version 3"):
        Run(path)
    for mode in ("r", "r+", "a"):
        with pytest.raises(FormatVersionError, match=r"version 4.*version 3"):
            Run(path, mode=mode).__enter__()
