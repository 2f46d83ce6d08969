"""The quick reader of session roots (``_fileio.quick_root``) gives exactly what the general reader
gives: the same values, proxies, warnings and errors, for every file, hostile ones included.

Each case opens a file twice, once as it is and once with the quick reader switched off, and
compares the outcomes.  Cases that the quick reader must hand over to the general one are checked
to be handed over (it returns ``False``), so a change that widens it by mistake shows up here.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jangada_like._fileio as fileio
import jangada_like._session as session_module
from jangada_like import Persistable, ProxyDataset, SerializableProperty
from jangada_like.errors import JangadaError
from tests import hostile
from tests.golden import GoldenRun


class Flat(Persistable, tag="tests.quick.flat"):
    rows = SerializableProperty(default=None)
    times = SerializableProperty(default=None)
    name = SerializableProperty(default="")
    count = SerializableProperty(default=0)
    ratio = SerializableProperty(default=0.0)
    flag = SerializableProperty(default=False)
    extra = SerializableProperty(default=None)


class Flat2(Persistable, tag="tests.quick.flat2", version=2):
    rows = SerializableProperty(default=None)


@Flat2.migrate(from_version=1)
def _from_1(values: dict[str, Any]) -> dict[str, Any]:
    return {"rows": values["rows"]}


class Other(Persistable, tag="tests.quick.other"):
    rows = SerializableProperty(default=None)


def _flat(path: Path, **values: Any) -> Path:
    base = {"rows": np.arange(12.0).reshape(6, 2), "times": np.arange(6, dtype=np.int32)}
    return Flat(**{**base, **values}).save(path)


def _state(obj: Any) -> dict[str, Any]:
    """Every property as (type name, plain value): proxies read in full."""
    out: dict[str, Any] = {}
    for name in type(obj)._serializable_properties:
        value = getattr(obj, name)
        if isinstance(value, ProxyDataset):
            small = int(np.prod(value.shape)) <= 10**6  # a hostile file declares 10**18 rows
            data = value[...].tolist() if small else None
            out[name] = ("proxy", value.path, str(value.dtype), value.shape, data)
        elif isinstance(value, np.ndarray):
            out[name] = ("ndarray", str(value.dtype), value.tolist())
        else:
            out[name] = (type(value).__name__, repr(value))
    out["_jl_extra_"] = sorted(obj.__dict__.get("_jl_extra_", {}))
    return out


def _open(cls: type, path: Path, mode: str, quick: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ...]:
    """Open a session and describe what happened: values and warnings, or the error."""
    taken: list[bool] = []
    real = fileio.quick_root

    def spy(*args: Any) -> bool:
        taken.append(real(*args) if quick else False)
        return taken[-1]

    monkeypatch.setattr(session_module, "quick_root", spy)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with cls(path, mode=mode) as obj:
                state = _state(obj)
                shared = getattr(obj, "rows", None) is getattr(obj, "times", None)
    except JangadaError as exc:
        return ("error", type(exc).__name__, str(exc)), taken
    finally:
        monkeypatch.setattr(session_module, "quick_root", real)
    kinds = sorted(type(w.message).__name__ for w in caught)
    return ("ok", state, shared, kinds), taken


def _same_both_ways(cls: type, path: Path, monkeypatch: pytest.MonkeyPatch, *, quick: bool) -> Any:
    """Assert that both readers agree in both modes, and whether the quick one took the file."""
    for mode in ("r", "r+"):
        got, taken = _open(cls, path, mode, True, monkeypatch)
        want, _ = _open(cls, path, mode, False, monkeypatch)
        assert got == want, mode
        assert taken == [quick], (mode, got)
    return got


def test_flat_objects_take_the_quick_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _flat(tmp_path / "f", name="ünï", count=3, ratio=0.5, flag=True, extra=b"\x00b")
    got = _same_both_ways(Flat, path, monkeypatch, quick=True)
    assert got[0] == "ok"
    state = got[1]
    assert state["rows"] == ("proxy", "/root/rows", "float64", (6, 2), np.arange(12.0).reshape(6, 2).tolist())
    assert state["times"][2] == "int32"
    assert state["name"] == ("str", "'ünï'") and state["flag"] == ("bool", "True")
    assert state["extra"] == ("bytes", repr(b"\x00b"))


def test_quick_sessions_write_back_and_append(tmp_path: Path) -> None:
    path = _flat(tmp_path / "f", name="a")
    with Flat(path, mode="r+") as f:
        f.rows.append(np.ones((2, 2)))
        f.name = "b"
        f.count += 1
    with h5py.File(path, "r") as raw:
        assert raw["root/rows"].shape == (8, 2)
        assert raw["root"].attrs["name"] == "b" and raw["root"].attrs["count"] == 1
    loaded = Flat.load(path)
    assert loaded.rows.shape == (8, 2) and loaded.name == "b" and loaded.count == 1


def _nested(path: Path) -> None:
    Flat(rows=np.arange(3.0), extra=Other(rows=np.arange(2.0))).save(path)


def _container(path: Path) -> None:
    Flat(rows=np.arange(3.0), extra=[1, np.arange(2.0)]).save(path)


def _undeclared(path: Path) -> None:
    _flat(path)
    with h5py.File(path, "r+") as f:
        f["root"].attrs["stray"] = 5
        f["root/stray_data"] = np.arange(3)


def _older_class_version(path: Path) -> None:
    Other(rows=np.arange(3.0)).save(path)  # then relabelled as version 1 of Flat2 (now at 2)
    with h5py.File(path, "r+") as f:
        f["root"].attrs["__class__"] = "tests.quick.flat2"
        f["root"].attrs["__class_version__"] = 1


def _newer_format(path: Path) -> None:
    _flat(path)
    with h5py.File(path, "r+") as f:
        f.attrs["jangada_like_format"] = 99


def _other_class(path: Path) -> None:
    Other(rows=np.arange(3.0)).save(path)


def _shared_dataset(path: Path) -> None:
    _flat(path)
    with h5py.File(path, "r+") as f:
        del f["root/times"]
        f["root/times"] = f["root/rows"]  # one dataset under two names


def _soft_link(path: Path) -> None:
    _flat(path)
    with h5py.File(path, "r+") as f:
        f["data"] = f["root/times"][...]
        del f["root/times"]
        f["root/times"] = h5py.SoftLink("/data")


def _external_link(path: Path) -> None:
    _flat(path)
    with h5py.File(path, "r+") as f:
        del f["root/times"]
        f["root/times"] = h5py.ExternalLink("/etc/passwd", "/")


def _virtual(path: Path) -> None:
    _flat(path)
    source = path.with_suffix(".src.h5")
    with h5py.File(source, "w") as src:
        src["data"] = np.arange(4.0)
    layout = h5py.VirtualLayout(shape=(4,), dtype="f8")
    layout[:] = h5py.VirtualSource(str(source), "data", shape=(4,))
    with h5py.File(path, "r+") as f:
        del f["root/times"]
        f["root"].create_virtual_dataset("times", layout)


def _datetimes(path: Path) -> None:
    Flat(rows=np.arange(3.0), times=np.array(["2020-01-01", "2021-06-30"], dtype="M8[ns]")).save(path)


def _class_not_text(path: Path) -> None:
    _flat(path)
    with h5py.File(path, "r+") as f:
        f["root"].attrs["__class__"] = 7


def _version_not_int(path: Path) -> None:
    _flat(path)
    with h5py.File(path, "r+") as f:
        f["root"].attrs["__class_version__"] = "1"


def _root_is_dataset(path: Path) -> None:
    _flat(path)
    with h5py.File(path, "r+") as f:
        del f["root"]
        f["root"] = np.arange(3)


def _member_is_group(path: Path) -> None:
    _flat(path)
    with h5py.File(path, "r+") as f:
        del f["root/times"]
        f["root"].create_group("times")  # an empty dict


def _bad_dataset_tag(path: Path) -> None:
    _flat(path)
    with h5py.File(path, "r+") as f:
        f["root/times"].attrs["__dataset_type__"] = np.int64(3)


HANDED_OVER: dict[str, tuple[Callable[[Path], None], type]] = {
    "nested object": (_nested, Flat),
    "container": (_container, Flat),
    "undeclared members": (_undeclared, Flat),
    "older class version": (_older_class_version, Flat2),
    "newer format": (_newer_format, Flat),
    "another class": (_other_class, Flat),
    "shared dataset": (_shared_dataset, Flat),
    "soft link": (_soft_link, Flat),
    "external link": (_external_link, Flat),
    "virtual dataset": (_virtual, Flat),
    "class not text": (_class_not_text, Flat),
    "version not int": (_version_not_int, Flat),
    "root is a dataset": (_root_is_dataset, Flat),
    "member is a group": (_member_is_group, Flat),
    "dataset tag not text": (_bad_dataset_tag, Flat),
}


@pytest.mark.parametrize("case", sorted(HANDED_OVER))
def test_anything_else_is_handed_to_the_general_reader(
    tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    make, cls = HANDED_OVER[case]
    path = tmp_path / "x.hdf5"
    make(path)
    _same_both_ways(cls, path, monkeypatch, quick=False)


def test_handed_over_cases_give_the_expected_outcomes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spot checks that the comparison above compares something meaningful."""
    outcomes = {}
    for case in ("shared dataset", "external link", "newer format", "undeclared members", "another class"):
        make, cls = HANDED_OVER[case]
        path = tmp_path / f"{case}.hdf5"
        make(path)
        outcomes[case] = _open(cls, path, "r+", True, monkeypatch)[0]
    assert outcomes["shared dataset"][0] == "ok" and outcomes["shared dataset"][2] is True
    assert outcomes["external link"][:2] == ("error", "FileFormatError")
    assert outcomes["newer format"][:2] == ("error", "FormatVersionError")
    assert outcomes["undeclared members"][3] == ["UnknownPropertyWarning"]
    assert outcomes["another class"][:2] == ("error", "ClassMismatchError")


def test_arrays_with_a_stored_numpy_dtype_take_the_quick_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.hdf5"
    _datetimes(path)
    got = _same_both_ways(Flat, path, monkeypatch, quick=True)
    assert got[1]["times"][2] == "datetime64[ns]"
    with Flat(path, mode="r") as f:
        assert f.times[1] == np.datetime64("2021-06-30", "ns")


def test_hidden_members_are_ignored_as_the_general_reader_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _flat(tmp_path / "f", name="kept")
    with h5py.File(path, "r+") as f:  # what a crash between write and swap leaves behind
        f["root/__jl_new__rows"] = np.zeros(2)
        f["root"].attrs["__jl_new__name"] = "half-written"
    got = _same_both_ways(Flat, path, monkeypatch, quick=True)
    assert got[1]["name"] == ("str", "'kept'") and got[1]["rows"][4][0] == [0.0, 1.0]


@pytest.mark.parametrize("name", sorted(hostile.HAND_BUILT))
def test_hostile_files_in_sessions(tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if name == "deep_nesting":
        monkeypatch.setattr("jangada_like._engine.MAX_DEPTH", 400)
        hostile.deep_nesting(tmp_path / "x.hdf5", levels=500)
    else:
        hostile.HAND_BUILT[name](tmp_path / "x.hdf5")
    for mode in ("r", "r+"):
        got, taken = _open(GoldenRun, tmp_path / "x.hdf5", mode, True, monkeypatch)
        want, _ = _open(GoldenRun, tmp_path / "x.hdf5", mode, False, monkeypatch)
        assert got == want
        if got[0] == "error":
            assert str(tmp_path / "x.hdf5") in got[2]
        assert taken in ([], [False], [True])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.integers(0, 5),
    cols=st.integers(1, 3),
    dtype=st.sampled_from(["f8", "f4", "i8", "i2", "u1", "c16", "?"]),
    name=st.text(max_size=8),
    count=st.integers(-(2**70), 2**70),
    ratio=st.floats(allow_nan=False),
    extra=st.none() | st.booleans() | st.binary(max_size=4) | st.complex_numbers(allow_nan=False),
)
def test_round_trips_agree(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    rows: int,
    cols: int,
    dtype: str,
    name: str,
    count: int,
    ratio: float,
    extra: Any,
) -> None:
    path = tmp_path_factory.mktemp("q") / "f.hdf5"
    data = np.arange(rows * cols).reshape(rows, cols).astype(dtype)
    _flat(path, rows=data, name=name, count=count, ratio=ratio, extra=extra)
    got = _same_both_ways(Flat, path, monkeypatch, quick=True)
    assert got[1]["rows"][4] == data.tolist() and got[1]["count"] == ("int", repr(count))


def test_deep_containers_in_a_writable_session_close_cleanly(tmp_path: Path) -> None:
    """Comparing a 600-deep list with its snapshot at exit needs a large stack (found here)."""
    path = tmp_path / "deep.hdf5"
    hostile.deep_nesting(path, levels=600)
    before = path.read_bytes()
    with GoldenRun(path, mode="r+") as run:
        depth, node = 0, run.mixed
        while node:
            depth, node = depth + 1, node[0]
    assert depth == 600
    assert path.read_bytes() == before  # unchanged, so nothing written back
    with GoldenRun(path, mode="r+") as run:
        run.mixed.append(1)
    with h5py.File(path, "r") as f:
        assert f["root/mixed"].attrs["1"] == 1  # written back at exit
    assert GoldenRun.load(path).mixed[1] == 1


def _positive(instance: Any, value: Any) -> Any:
    if value < 0:
        raise ValueError("count must not be negative")
    return value


class Checked(Persistable, tag="tests.quick.checked"):
    rows = SerializableProperty(default=None)
    count = SerializableProperty(default=0, parser=_positive)


def test_a_parser_refusing_a_stored_value_is_reported_the_same_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = Checked(rows=np.arange(3.0), count=1).save(tmp_path / "c")
    with h5py.File(path, "r+") as f:
        f["root"].attrs["count"] = -1  # edited by another tool
    for mode in ("r", "r+"):
        got, _ = _open(Checked, path, mode, True, monkeypatch)
        want, _ = _open(Checked, path, mode, False, monkeypatch)
        assert got == want
        assert got[:2] == ("error", "FileFormatError") and "count must not be negative" in got[2]


def _broken_copies(tmp_path: Path) -> list[bytes]:
    path = _flat(tmp_path / "valid", name="n", count=2)
    data = path.read_bytes()
    return list(hostile.truncations(data, 12)) + list(hostile.bit_flips(data, 24, seed=5, flips=3))


def test_broken_flat_files_give_the_same_outcome_both_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Truncated and bit-flipped copies of a flat file: each reader, on its own fresh copy (r+
    may write on close), gives the same values or the same error, which names the file."""
    outcomes = set()
    for i, data in enumerate(_broken_copies(tmp_path)):
        for mode in ("r", "r+"):
            got, _ = _open(Flat, hostile.write(tmp_path / f"b{i}.hdf5", data), mode, True, monkeypatch)
            want, _ = _open(Flat, hostile.write(tmp_path / f"b{i}.hdf5", data), mode, False, monkeypatch)
            assert got == want, (i, mode)
            if got[0] == "error":
                assert str(tmp_path / f"b{i}.hdf5") in got[2]
            outcomes.add(got[0])
    assert "error" in outcomes
