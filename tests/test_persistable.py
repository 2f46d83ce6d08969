"""Persistable: save/load forms, extensions, class checks, atomic saves, unknown classes, errors."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from jangada_like import GenericRecord, Persistable, SerializableProperty, load
from jangada_like.errors import (
    ClassMismatchError,
    FileFormatError,
    FormatVersionError,
    MissingRootError,
    UnknownClassError,
    UnknownClassWarning,
)


class Experiment(Persistable):
    name = SerializableProperty(default="")
    temperature = SerializableProperty(default=293.15)
    data = SerializableProperty(default=None)


class Other(Persistable):
    v = SerializableProperty(default=0)


class SubExperiment(Experiment):
    extra = SerializableProperty(default="x")


class Cached(Persistable):
    keep = SerializableProperty(default=1)
    cache = SerializableProperty(default=None, copiable=False)


def test_three_ways_to_load(tmp_path: Path) -> None:
    path = tmp_path / "experiment.hdf5"
    exp = Experiment(name="Test1", temperature=373.15, data=np.array([1.2, 3.4, 5.6]))
    exp.save(path)
    for loaded in (Experiment.load(path), Experiment(path), load(path), Experiment(str(path))):
        assert type(loaded) is Experiment and loaded == exp


def test_extension_added_only_when_missing(tmp_path: Path) -> None:
    class H5(Persistable):
        extension = ".h5"
        x = SerializableProperty(default=1)

    assert H5().save(tmp_path / "out").name == "out.h5"
    assert H5().save(tmp_path / "x.hdf5").name == "x.hdf5"
    assert H5().save(tmp_path / "run.2024").name == "run.2024"
    assert H5().save(tmp_path / "plain", use_default_extension=False).name == "plain"
    assert H5.load(tmp_path / "out").x == 1  # load finds the file with the default extension
    out = tmp_path / "out"
    for given in (out, str(out), str(out) + os.sep):  # every form, in sessions too
        with H5(given, mode="r") as h5:
            assert h5.x == 1 and h5._jl_session_.path == str(tmp_path / "out.h5")
    assert H5._existing(tmp_path / "plain") == str(tmp_path / "plain")  # exists as given: kept


def test_overwrite_false(tmp_path: Path) -> None:
    path = Other(v=1).save(tmp_path / "o")
    with pytest.raises(FileExistsError, match="already exists"):
        Other(v=2).save(path, overwrite=False)
    assert Other.load(path).v == 1


def test_load_checks_class(tmp_path: Path) -> None:
    path = Other(v=1).save(tmp_path / "o")
    with pytest.raises(ClassMismatchError, match=r"holds a Other.*not a Experiment"):
        Experiment.load(path)
    with pytest.raises(TypeError):
        Experiment(path)
    sub = SubExperiment(name="s").save(tmp_path / "sub")
    assert type(Experiment.load(sub)) is SubExperiment  # a subclass is fine
    assert type(load(sub)) is SubExperiment


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Experiment.load(tmp_path / "nope.hdf5")


def test_non_copiable_properties_are_not_saved(tmp_path: Path) -> None:
    path = Cached(keep=2, cache="big").save(tmp_path / "c")
    with h5py.File(path, "r") as f:
        assert "cache" not in f["root"].attrs and "cache" not in f["root"]
    assert Cached.load(path).cache is None


def test_failed_save_leaves_old_file_byte_identical(tmp_path: Path) -> None:
    path = Experiment(name="good", data=np.arange(5)).save(tmp_path / "e")
    before = path.read_bytes()
    with pytest.raises(TypeError):
        Experiment(name="bad", data={1: object()}).save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.hdf5"]


def test_exception_in_observer_during_save_leaves_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = Experiment(name="good").save(tmp_path / "e")
    before = path.read_bytes()
    import jangada_like._fileio as fileio

    def boom(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileio, "_fsync", boom)
    with pytest.raises(OSError, match="No space left"):
        Experiment(name="new", data=np.zeros(1000)).save(path, durable=True)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.hdf5"]


@pytest.mark.parametrize("durable", [True, False])
def test_durable_save_syncs_file_then_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durable: bool
) -> None:
    import jangada_like._fileio as fileio

    calls: list[str] = []
    real_fsync, real_dir = fileio._fsync, fileio._fsync_dir

    def fsync(path: Path) -> None:
        assert path.name.endswith(".jltmp") and path.is_file()  # before the rename
        calls.append("file")
        real_fsync(path)

    def fsync_dir(path: Path) -> None:
        assert (tmp_path / "e.hdf5").is_file()  # after the rename
        calls.append("folder")
        real_dir(path)

    monkeypatch.setattr(fileio, "_fsync", fsync)
    monkeypatch.setattr(fileio, "_fsync_dir", fsync_dir)
    Experiment(name="d").save(tmp_path / "e", durable=durable)
    assert calls == (["file", "folder"] if durable else [])
    assert Experiment.load(tmp_path / "e.hdf5").name == "d"


def test_stale_temporary_of_dead_process_is_removed(tmp_path: Path) -> None:
    stale = tmp_path / ".e.hdf5.999999999.abcd1234.jltmp"
    stale.write_bytes(b"partial")
    mine = tmp_path / f".e.hdf5.{os.getpid()}.abcd1234.jltmp"
    mine.write_bytes(b"in progress")
    Experiment().save(tmp_path / "e")
    assert not stale.exists() and mine.exists()


def test_stale_temporaries_with_pattern_characters_in_the_name(tmp_path: Path) -> None:
    target = tmp_path / "run[1]*?.hdf5"
    stale = tmp_path / ".run[1]*?.hdf5.999999999.abcd1234.jltmp"
    other = tmp_path / ".run[1]*?.hdf5x.999999999.abcd1234.jltmp"  # another file's temporary
    stale.write_bytes(b"partial")
    other.write_bytes(b"partial")
    Experiment(name="x").save(target)
    assert not stale.exists() and other.exists()
    assert Experiment.load(target).name == "x"


def test_unknown_class_gives_read_only_record_or_strict_error(tmp_path: Path) -> None:
    path = tmp_path / "u.hdf5"
    Experiment(name="n", data=np.arange(2)).save(path)
    with h5py.File(path, "r+") as f:
        f["root"].attrs["__class__"] = "os.system"
        f["root"].attrs["cmd"] = "echo pwned"
    with pytest.warns(UnknownClassWarning, match="os.system"):
        rec = load(path)
    assert isinstance(rec, GenericRecord) and rec.class_name == "os.system" and rec.cmd == "echo pwned"
    assert not hasattr(GenericRecord, "cmd")
    with pytest.raises(UnknownClassError, match=r"os\.system"):
        load(path, strict=True)
    with pytest.raises(ClassMismatchError):
        Experiment.load(path)


def test_record_saves_back_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "u.hdf5"
    Other(v=5).save(path)
    with h5py.File(path, "r+") as f:
        f["root"].attrs["__class__"] = "gone.Module"

    class Wrapper(Persistable):
        inner = SerializableProperty(default=None)

    with pytest.warns(UnknownClassWarning):
        rec = load(path)
    out = Wrapper(inner=rec).save(tmp_path / "w")
    with pytest.warns(UnknownClassWarning):
        again = Wrapper.load(out).inner
    assert again == rec and again.v == 5


def test_newer_format_is_refused_with_both_versions(tmp_path: Path) -> None:
    path = Other().save(tmp_path / "o")
    with h5py.File(path, "r+") as f:
        f.attrs["jangada_like_format"] = 99
    with pytest.raises(FormatVersionError, match=r"version 99.*newer than.*format version 2"):
        Other.load(path)


def test_file_without_root_or_header(tmp_path: Path) -> None:
    path = tmp_path / "plain.hdf5"
    with h5py.File(path, "w") as f:
        f.attrs["jangada_like_format"] = 1
    with pytest.raises(MissingRootError) as info:
        Other.load(path)
    assert isinstance(info.value, KeyError) and str(path) in str(info.value)
    with h5py.File(path, "w") as f:
        f.create_group("root")
    with pytest.raises(FileFormatError, match="not a jangada_like file"):
        Other.load(path)


def test_random_bytes_give_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.hdf5"
    path.write_bytes(os.urandom(4096))
    with pytest.raises(FileFormatError, match=r"junk\.hdf5"):
        load(path)


def test_class_property_not_declared_is_kept_and_reported(tmp_path: Path) -> None:
    path = Other(v=3).save(tmp_path / "o")
    with h5py.File(path, "r+") as f:
        f["root"].attrs["legacy"] = "kept"
    with pytest.warns(UserWarning, match="legacy"):
        obj = Other.load(path)
    out = obj.save(tmp_path / "again")
    with h5py.File(out, "r") as f:
        assert f["root"].attrs["legacy"] == "kept"


def test_observers_and_parsers_run_on_load_but_file_values_never_become_class_attributes(
    tmp_path: Path,
) -> None:
    log: list[Any] = []

    class Watched(Persistable):
        v = SerializableProperty(
            default=0, parser=lambda s, v: int(v), observers=[lambda s, old, new: log.append(new)]
        )

    path = Watched(v=4).save(tmp_path / "w")
    log.clear()
    assert Watched.load(path).v == 4 and log == [4]
    assert Watched.__dict__["v"].__class__ is SerializableProperty


def test_subclass_init_with_other_signature_still_loads(tmp_path: Path) -> None:
    class Custom(Persistable):
        v = SerializableProperty(default=0)

        def __init__(self, value: int = 0, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.v = value

    path = Custom(5).save(tmp_path / "c")
    assert Custom.load(path).v == 5


def test_save_and_load_under_python_O(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = (
        "from jangada_like import Persistable, SerializableProperty as P\n"
        "class B(Persistable):\n    x = P(default=1)\n"
        f"p = B(x=2).save({str(tmp_path / 'b')!r})\n"
        "assert B(p).x == 2 and B.load(p).x == 2 and B(B(x=3)).x == 3 and B(x=4).copy().x == 4\n"
        "with B(p, mode='r') as b:\n    assert b.x == 2\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-O", "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr


def test_deep_chain_saves_and_loads(tmp_path: Path) -> None:
    class Node(Persistable):
        nxt = SerializableProperty(default=None)
        v = SerializableProperty(default=0)

    head = None
    for i in range(2_000):
        head = Node(nxt=head, v=i)
    path = head.save(tmp_path / "chain")
    back = Node.load(path)
    depth = 0
    while back is not None:
        depth += 1
        back = back.nxt
    assert depth == 2_000


def test_warning_free_round_trip_of_nested_objects(tmp_path: Path) -> None:
    class Measurement(Persistable):
        value = SerializableProperty(default=0.0)

    class Holder(Persistable):
        items = SerializableProperty(default=None)

    h = Holder(items=[Measurement(value=float(i)) for i in range(15)])
    path = h.save(tmp_path / "h")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = Holder.load(path)
    assert [m.value for m in back.items] == [float(i) for i in range(15)]
