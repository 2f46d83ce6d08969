"""Issue 15, item 6: messages that help (each names the file, the path or property, what was
expected and what to do)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from jangada_like import Persistable, SerializableProperty, load
from jangada_like.errors import NotAFileError, SelectionError


class Exp(Persistable):
    name = SerializableProperty(default="")
    data = SerializableProperty(default=None)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return Exp(name="a", data=np.arange(3)).save(tmp_path / "e")


def test_saving_into_a_missing_folder_names_the_folder_not_a_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "x"
    with pytest.raises(NotAFileError, match=r"its folder .*missing does not exist: create it first") as info:
        Exp().save(target)
    assert ".tmp" not in str(info.value) and info.value.file == str(target) + ".hdf5"


def test_loading_a_directory_says_it_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(NotAFileError, match="is a directory, not a regular file"):
        load(tmp_path)


@pytest.mark.parametrize(("option", "typo", "meant"), [("only", "nmae", "name"), ("exclude", "dta", "data")])
def test_only_and_exclude_typos_raise_with_the_closest_property(
    path: Path, option: str, typo: str, meant: str
) -> None:
    with pytest.raises(SelectionError, match=rf"{option}= names '{typo}'.*did you mean '{meant}'") as info:
        Exp.load(path, **{option: [typo]})
    assert info.value.file == str(path) and info.value.path == "/root" and info.value.prop == f"Exp.{typo}"


def test_dotted_selection_typos_are_caught_at_the_nested_object(tmp_path: Path) -> None:
    class Holder(Persistable):
        child = SerializableProperty(default=None)

    path = Holder(child=Exp(name="c")).save(tmp_path / "h")
    assert Holder.load(path, only=["child.name"]).child.name == "c"
    with pytest.raises(SelectionError, match=r"only= names 'nmae', which Exp does not have") as info:
        Holder.load(path, only=["child.nmae"])
    assert info.value.path == "/root/child"


def test_a_constructor_typo_names_the_class_and_its_properties(tmp_path: Path) -> None:
    pattern = r"There is no signature with the keys dict_keys\(\['nmae'\]\): Exp has no property 'nmae' "
    pattern += r"\(did you mean 'name'\?\); its properties are name, data"
    with pytest.raises(ValueError, match=pattern):
        Exp(nmae="x")
    with pytest.raises(
        ValueError, match=r"Unexpected keyword arguments: Exp has no property 'nmae' \(did you mean"
    ):
        Exp(tmp_path / "s", mode="w", nmae="x")


@pytest.mark.parametrize("bad", ["10", True, -1, float("nan"), [1]])
def test_a_bad_timeout_is_refused_at_once_even_when_nothing_is_locked(
    path: Path, tmp_path: Path, bad: object
) -> None:
    expected = ValueError if isinstance(bad, (int, float)) and not isinstance(bad, bool) else TypeError
    calls = [
        lambda: Exp.load(path, timeout=bad),
        lambda: Exp(name="b").save(tmp_path / "new", timeout=bad),  # a new file takes no lock at all
        lambda: Exp(path, mode="r", timeout=bad),
        lambda: Exp.open(path, "r+", timeout=bad, swmr=True),
    ]
    for call in calls:
        with pytest.raises(expected, match=r"timeout= must be"):
            call()
    assert not (tmp_path / "new.hdf5").exists() and Exp.load(path).name == "a"
