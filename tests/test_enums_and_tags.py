"""Issue 15, item 6: enums keep their value and degrade like unknown classes; classes and enums
defined in scripts warn about their ``__main__.`` tag, and loading suggests ``tag=``."""

from __future__ import annotations

import enum
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

from jangada_like import Persistable, SerializableProperty, default_registry, load, register_enum
from jangada_like.errors import ClassMismatchError, UnknownClassError, UnknownClassWarning
from jangada_like.generic import UnknownEnumMember


class Laser(enum.Enum):
    IR = 2
    UV = "ultra"


register_enum(Laser, tag="tests.Laser")


class Setup(Persistable):
    laser = SerializableProperty(default=None)
    lasers = SerializableProperty(default=None)


def test_an_enum_member_is_stored_with_its_value(tmp_path: Path) -> None:
    path = Setup(laser=Laser.IR, lasers=[Laser.UV, Laser.IR]).save(tmp_path / "s")
    with h5py.File(path, "r") as f:
        root = f["root"]
        assert root.attrs["laser"] == "tests.Laser.IR" and root.attrs["__enum_value__laser"] == 2
        assert root["lasers"].attrs["__enum_value__0"] == "ultra"
    back = Setup.load(path)
    assert back.laser is Laser.IR and back.lasers == [Laser.UV, Laser.IR]


def test_an_unknown_enum_degrades_like_an_unknown_class_and_saves_back(tmp_path: Path) -> None:
    path = Setup(laser=Laser.IR, lasers=[Laser.UV]).save(tmp_path / "s")
    without = default_registry.copy()  # a registry without the enum: the default one is untouched
    without.remove_enum(Laser)
    assert default_registry.enum_for_tag("tests.Laser") is Laser
    with pytest.warns(
        UnknownClassWarning,
        match=r"unregistered enum 'tests.Laser'.*register_enum\(Laser, tag='tests.Laser'\)",
    ):
        back = Setup.load(path, registry=without)
    assert back.laser == UnknownEnumMember("tests.Laser", "IR", 2) and back.lasers[0].value == "ultra"
    with pytest.raises(UnknownClassError, match=r"enum 'tests\.Laser' is not registered"):
        Setup.load(path, strict=True, registry=without)
    with pytest.warns(UnknownClassWarning):
        again = Setup.load(back.save(tmp_path / "again", registry=without), registry=without)
    assert again.laser == back.laser  # written back as it was
    assert Setup.load(tmp_path / "again.hdf5").laser is Laser.IR


def test_a_renamed_member_is_found_by_its_stored_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = Setup(laser=Laser.IR).save(tmp_path / "s")

    class Renamed(enum.Enum):
        INFRARED = 2

    renamed = default_registry.copy()
    renamed.remove_enum(Laser)
    renamed.register_enum(Renamed, tag="tests.Laser")
    assert Setup.load(path, registry=renamed).laser is Renamed.INFRARED


def test_in_place_replacement_of_an_enum_keeps_its_value_beside_it(tmp_path: Path) -> None:
    path = Setup(laser=Laser.IR).save(tmp_path / "s")
    with Setup(path, mode="r+") as s:
        s.laser = Laser.UV
    with h5py.File(path, "r") as f:
        names = set(f["root"].attrs)
        assert f["root"].attrs["__enum_value__laser"] == "ultra" and not any("__jl_new__" in n for n in names)
    with Setup(path, mode="r+") as s:
        s.laser = 5  # no longer an enum: the value beside it goes too
    with h5py.File(path, "r") as f:
        assert "__enum_value__laser" not in f["root"].attrs
    assert Setup.load(path).laser == 5


_SCRIPT = """
import enum, sys, warnings
from jangada_like import Persistable, SerializableProperty, register_enum
class Scan(Persistable):
    n = SerializableProperty(default=0)
    mode = SerializableProperty(default=None)
@register_enum
class Mode(enum.Enum):
    FAST = 1
warnings.simplefilter("always")
Scan(n=1, mode=Mode.FAST).save(sys.argv[1])
Scan(n=2, mode=Mode.FAST).save(sys.argv[1])
"""


def test_a_script_class_warns_once_and_loading_it_elsewhere_suggests_tag(tmp_path: Path) -> None:
    path = tmp_path / "scan.hdf5"
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(path)], capture_output=True, text=True, check=True
    )
    assert done.stderr.count("UnstableTagWarning: class Scan is defined in a script") == 1
    assert done.stderr.count("UnstableTagWarning: enum Mode is defined in a script") == 1
    assert "tag='yourlab.Scan'" in done.stderr and "<string>:" in done.stderr  # points at the save

    class Scan(Persistable):  # the class, moved into a module
        n = SerializableProperty(default=0)
        mode = SerializableProperty(default=None)

    with pytest.raises(ClassMismatchError, match=r"class Scan\(\.\.\., tag='__main__.Scan'\)"):
        Scan.load(path)
    with pytest.warns(UnknownClassWarning) as seen:
        record = load(path)
    assert record.n == 2 and any("tag='__main__.Scan'" in str(w.message) for w in seen)

    class Scan2(Persistable, tag="__main__.Scan"):  # the fix the message suggests
        n = SerializableProperty(default=0)
        mode = SerializableProperty(default=None)

    with pytest.warns(UnknownClassWarning, match=r"unregistered enum '__main__\.Mode'"):
        fixed = Scan2.load(path)
    assert fixed.n == 2 and fixed.mode.value == 1


def test_enums_live_in_the_registry_and_a_copy_isolates_them() -> None:
    class Gain(enum.Enum):
        LOW = 1

    class Other(enum.Enum):
        LOW = 1

    plugin = default_registry.copy()
    plugin.register_enum(Gain, tag="tests.Gain")
    assert plugin.tag_of_enum(Gain) == "tests.Gain" and default_registry.tag_of_enum(Gain) is None
    with pytest.raises(ValueError, match=r"enum tag 'tests.Gain' of .*Other is already used by .*Gain"):
        plugin.register_enum(Other, tag="tests.Gain")
    with pytest.raises(TypeError, match="expects an Enum class"):
        plugin.register_enum(int)  # type: ignore[type-var]


def test_a_removed_member_loads_as_an_unknown_member(tmp_path: Path) -> None:
    path = Setup(laser=Laser.IR).save(tmp_path / "s")

    class Smaller(enum.Enum):
        OTHER = 99

    reg = default_registry.copy()
    reg.remove_enum(Laser)
    reg.register_enum(Smaller, tag="tests.Laser")
    with pytest.warns(UnknownClassWarning, match=r"has no member 'IR' \(any more\)"):
        back = Setup.load(path, registry=reg)
    assert back.laser == UnknownEnumMember("tests.Laser", "IR", 2)
    with pytest.raises(UnknownClassError, match="has no member 'IR'"):
        Setup.load(path, registry=reg, strict=True)
