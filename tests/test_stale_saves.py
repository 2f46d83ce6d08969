"""A save never puts back the old contents of a file another process changed (issue 15, item 1)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from jangada_like import Persistable, SerializableProperty
from jangada_like.errors import FileChangedError

ROOT = Path(__file__).resolve().parents[1]


class Rec(Persistable, tag="tests.stale.rec"):
    title = SerializableProperty(default="")
    rows = SerializableProperty(default=None)


APPEND = """
import sys, numpy as np
from tests.test_stale_saves import Rec
with Rec(sys.argv[1], mode="r+") as rec:
    rec.rows.append(np.full((5, 2), 7.0))
"""


def _append_in_another_process(path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", APPEND, str(path)], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_saving_a_stale_object_over_a_changed_file_raises(tmp_path: Path) -> None:
    path = Rec(title="a", rows=np.zeros((20_000, 2))).save(tmp_path / "rec")
    stale = Rec.load(path)
    _append_in_another_process(path)
    stale.title = "renamed"
    with pytest.raises(FileChangedError) as info:
        stale.save(path)
    assert str(path) in str(info.value) and "force=True" in str(info.value)
    kept = Rec.load(path)
    assert kept.rows.shape == (20_005, 2) and kept.title == "a"  # the other process's rows are there
    stale.save(path, force=True)  # overwriting anyway is the user's choice
    assert Rec.load(path).rows.shape == (20_000, 2)


def test_a_file_replaced_by_another_save_is_a_change_too(tmp_path: Path) -> None:
    path = Rec(title="a", rows=np.zeros((3, 2))).save(tmp_path / "rec")
    stale = Rec.load(path)
    Rec(title="theirs", rows=np.ones((4, 2))).save(path)  # another object saved over it
    with pytest.raises(FileChangedError, match="replaced"):
        stale.save(path)
    assert Rec.load(path).title == "theirs"


def test_unchanged_files_and_other_paths_save_as_before(tmp_path: Path) -> None:
    path = Rec(title="a", rows=np.zeros((3, 2))).save(tmp_path / "rec")
    rec = Rec.load(path)
    rec.title = "b"
    rec.save(path)  # unchanged since the load
    rec.title = "c"
    rec.save(path)  # unchanged since this object's own save
    assert Rec.load(path).title == "c"
    _append_in_another_process(path)
    rec.save(tmp_path / "elsewhere")  # another path: nothing to protect
    assert Rec.load(tmp_path / "elsewhere.hdf5").title == "c"
    fresh = Rec(title="new")
    fresh.save(path)  # an object that never came from this file replaces it, as always
    assert Rec.load(path).title == "new"


@pytest.mark.parametrize("how", ["copy", "cls_of_obj", "deepcopy", "swmr", "after_a_backup"])
def test_copies_swmr_loads_and_backups_are_checked_too(tmp_path: Path, how: str) -> None:
    import copy

    class Rec(Persistable):
        title = SerializableProperty(default="")
        rows = SerializableProperty(default=None)

    path = Rec(rows=np.zeros(3)).save(tmp_path / "rec")
    loaded = Rec.load(path, swmr=how == "swmr")
    stale = {
        "copy": lambda: loaded.copy(),
        "cls_of_obj": lambda: Rec(loaded),
        "deepcopy": lambda: copy.deepcopy(loaded),
        "swmr": lambda: loaded,
        "after_a_backup": lambda: loaded,
    }[how]()
    if how == "after_a_backup":
        stale.save(tmp_path / "backup")  # saving elsewhere does not forget where it came from
    with Rec(path, mode="r+") as live:
        live.rows.append(np.ones(2))
    stale.title = "edited"
    with pytest.raises(FileChangedError):
        stale.save(path)
    assert len(Rec.load(path).rows) == 5
