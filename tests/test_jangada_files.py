"""Files written by jangada 0.1.9 itself (tests/data/jangada, made by tools/jangada_golden)."""

from __future__ import annotations

import pathlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from jangada_like import load

DATA = Path(__file__).parent / "data" / "jangada"
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools" / "jangada_golden"))
from jangada_golden import Experiment, Measurement, experiment  # noqa: E402


def test_jangada_file_loads_into_the_same_classes() -> None:
    loaded = Experiment.load(DATA / "experiment.hdf5")
    expected = experiment()
    # jangada stored neither the freq nor the unit of a DatetimeIndex: compare the instants
    assert (loaded.times == expected.times).all() and loaded.times.tz == expected.times.tz
    loaded.times = expected.times
    assert loaded == expected
    assert type(loaded.count) is int and type(loaded.flag) is bool and loaded.nothing is None
    assert loaded.path == pathlib.Path("/data/raw.bin")
    assert loaded.numbers == list(range(25))  # jangada itself reads these back as 0, 1, 10, 11, ...
    assert all(isinstance(m, Measurement) for m in loaded.measurements)
    assert loaded.measurements[0].timestamp == pd.Timestamp("2024-01-01 12:00", tz="Europe/Berlin")
    assert loaded.measurements[1].timestamp.hour == 12  # wall time in summer, not shifted
    np.testing.assert_array_equal(loaded.grid, np.arange(12, dtype=np.int32).reshape(3, 4))


def test_long_list_order_and_doc_page_file() -> None:
    assert load(DATA / "long_list.hdf5").numbers == list(range(2000))
    doc = load(DATA / "doc_page.hdf5")
    assert doc.name == "doc page" and doc.data.tolist() == [1.2, 3.4, 5.6]


def test_jangada_file_opens_lazily_and_converts_on_save(tmp_path: Path) -> None:
    with Experiment(DATA / "experiment.hdf5", mode="r") as exp:
        assert exp.data[1] == 3.4 and exp.name == "jangada golden"
    import shutil

    import pytest

    from jangada_like.errors import FileFormatError

    copy = shutil.copy(DATA / "experiment.hdf5", tmp_path / "copy.hdf5")
    with pytest.raises(FileFormatError, match="read-only"), Experiment(copy, mode="r+"):
        pass
    original = load(DATA / "experiment.hdf5")
    converted = Experiment.load(original.save(tmp_path / "converted"))
    assert converted == original and converted.numbers == list(range(25))
