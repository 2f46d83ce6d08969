"""The safety guarantees of docs/safety.rst, each proven by injecting the real fault."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jangada_like._engine as engine
from jangada_like import Persistable, SerializableProperty, load
from jangada_like.errors import FileFormatError, JangadaError, NestingTooDeepError
from tests import hostile
from tests.golden import GoldenRun, golden_run

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT
    )


# -- 1. save is all-or-nothing ------------------------------------------------------------------


def test_save_killed_at_random_moments_leaves_old_or_new(tmp_path: Path) -> None:
    from tools.crash_tally import kill_saves

    tally = kill_saves(tmp_path, kills=4, seed=1)
    assert tally["kills"] == 4 and tally["lost"] == 0 and tally["intact"] == 4
    assert tally["temporaries_left"] == 0


def test_incremental_save_killed_leaves_old_or_new(tmp_path: Path) -> None:
    from tools.crash_tally import kill_incremental_saves

    tally = kill_incremental_saves(tmp_path, kills=3, seed=3)
    assert tally == {"kills": 3, "intact": 3, "recovered": 0, "lost": 0}


def test_disk_full_leaves_old_file(tmp_path: Path) -> None:
    path = tmp_path / "run.hdf5"
    golden_run().save(path)
    before = path.read_bytes()
    code = f"""
import resource, signal, numpy as np
from tests.golden import GoldenRun, golden_run
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))
run = golden_run()
run.array = np.zeros((1000, 1000))
try:
    run.save({str(path)!r})
except OSError as exc:
    print("refused", type(exc).__name__)
"""
    out = _python(code)
    assert "refused" in out.stdout, out.stderr
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.hdf5"]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
def test_permission_denied_leaves_old_file(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "run.hdf5"
    golden_run().save(path)
    before = path.read_bytes()
    os.chmod(tmp_path, 0o755)
    os.chmod(folder, 0o755)
    code = f"""
import os
from tests.golden import golden_run
run = golden_run()
os.setgid(65534); os.setuid(65534)  # after the imports: the interpreter may live in /root
try:
    run.save({str(path)!r})
except PermissionError as exc:
    print("refused", exc)
"""
    out = _python(code)
    assert "refused" in out.stdout and str(folder) in out.stdout, out.stdout + out.stderr
    assert path.read_bytes() == before


def test_exception_in_parser_during_save_keeps_old_file(tmp_path: Path) -> None:
    class Strict(Persistable):
        value = SerializableProperty(default=0)

    path = Strict(value=1).save(tmp_path / "s")
    before = path.read_bytes()
    obj = Strict(value=2)
    obj.value = [object()]  # unsupported deep inside: refused before any file is opened
    with pytest.raises(TypeError):
        obj.save(path)
    assert path.read_bytes() == before


# -- 2. append sessions survive crashes (see also test_concurrency) ------------------------------


def test_append_session_killed_is_recovered(tmp_path: Path) -> None:
    from tools.crash_tally import kill_appends

    tally = kill_appends(tmp_path, kills=3, seed=2)
    assert tally["kills"] == 3 and tally["lost"] == 0
    assert tally["intact"] + tally["recovered"] == 3


# -- 3. hostile and broken files ----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(hostile.HAND_BUILT))
def test_hand_built_bad_files_raise_library_errors(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "MAX_DEPTH", 400)
    path = tmp_path / f"{name}.hdf5"
    maker = hostile.HAND_BUILT[name]
    if name == "deep_nesting":
        hostile.deep_nesting(path, levels=500)
    else:
        maker(path)
    start = time.monotonic()
    with pytest.raises(JangadaError) as info, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        load(path)
    assert time.monotonic() - start < 10
    assert str(path) in str(info.value)
    if name not in ("random_bytes", "empty_file"):
        assert info.value.path is not None
    if name == "deep_nesting":
        assert isinstance(info.value, NestingTooDeepError)


def test_self_containing_links_load_as_cycles(tmp_path: Path) -> None:
    path = tmp_path / "cycle.hdf5"
    hostile.self_containing_hard_link(path)
    run = GoldenRun.load(path)
    assert run.children is run and run.mixed[0] is run.mixed


def test_odd_names_load(tmp_path: Path) -> None:
    path = tmp_path / "names.hdf5"
    hostile.names_with_slash_and_dot(path)
    assert GoldenRun.load(path).table == {"a/b": 1, ".": 2}


def test_data_from_file_never_becomes_class_attributes(tmp_path: Path) -> None:
    path = tmp_path / "evil.hdf5"
    hostile.dunder_keys_in_object(path)
    with pytest.warns(UserWarning, match=r"nowhere\.Evil"):
        rec = load(path)
    assert rec.class_name == "nowhere.Evil" and "__init__" not in rec.data
    assert not hasattr(type(rec), "__jl_data__")
    with h5py.File(path, "r+") as f:
        f["root"].attrs["__class__"] = "tests.golden.run"
    with pytest.raises(FileFormatError, match="__class_version__"):
        load(path)


_VALID: dict[str, bytes] = {}


def _valid_bytes(folder: Path) -> bytes:
    if "data" not in _VALID:
        _VALID["data"] = hostile.valid_file(folder / "valid.hdf5")
    return _VALID["data"]


def _load_outcome(path: Path) -> str:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            obj = load(path)
    except JangadaError as exc:
        return "error" if str(path) in str(exc) else "error without the file name"
    return "equal" if obj == golden_run() else "different"


def test_truncated_files(tmp_path: Path) -> None:
    data = _valid_bytes(tmp_path)
    outcomes = [
        _load_outcome(hostile.write(tmp_path / "t.hdf5", cut)) for cut in hostile.truncations(data, 25)
    ]
    assert outcomes.count("error") >= 24  # a cut at the very end can leave a loadable file
    assert set(outcomes) <= {"error", "equal"}


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), flips=st.integers(1, 8))
def test_bit_flips_never_escape_the_error_hierarchy(tmp_path: Path, seed: int, flips: int) -> None:
    data = _valid_bytes(tmp_path)
    (mutated,) = hostile.bit_flips(data, 1, seed=seed, flips=flips)
    outcome = _load_outcome(hostile.write(tmp_path / "f.hdf5", mutated))  # raises if it escapes
    assert outcome in ("error", "equal", "different")


# -- 4. deep and wide trees ---------------------------------------------------------------------


def test_wide_list_of_a_million_small_items(tmp_path: Path) -> None:
    class Wide(Persistable):
        items = SerializableProperty(default=None)

    items = list(range(1_000_000))
    path = Wide(items=items).save(tmp_path / "wide")
    assert Wide.load(path).items == items


def test_too_deep_is_refused_up_front(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "MAX_DEPTH", 300)
    import jangada_like._fileio as fileio

    monkeypatch.setattr(fileio, "MAX_DEPTH", 300)
    nested: Any = []
    for _ in range(400):
        nested = [nested]

    class Deep(Persistable):
        x = SerializableProperty(default=None)

    with pytest.raises(NestingTooDeepError, match="MAX_DEPTH=300"):
        Deep(x=nested).save(tmp_path / "deep")
    assert list(tmp_path.iterdir()) == []


# -- 5. no handle leaks (the conftest checks open HDF5 files after every test) -------------------


def test_failed_loads_leave_no_file_open(tmp_path: Path) -> None:
    for name, maker in hostile.HAND_BUILT.items():
        if name == "deep_nesting":
            continue
        path = tmp_path / f"{name}.hdf5"
        maker(path)
        with pytest.raises(JangadaError), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            load(path)
    assert h5py.h5f.get_obj_count(h5py.h5f.OBJ_ALL, h5py.h5f.OBJ_FILE) == 0


# -- 6. threads ---------------------------------------------------------------------------------


def test_threads_save_and_load_different_objects(tmp_path: Path) -> None:
    errors: list[BaseException] = []

    def work(i: int) -> bool:
        try:
            cls = type(f"Threaded{i}", (Persistable,), {"v": SerializableProperty(default=0)})
            obj = cls(v=np.full(1000, i))
            path = obj.save(tmp_path / f"t{i}")
            back = load(path)
            run = golden_run()
            run.count = i
            run_path = run.save(tmp_path / f"g{i}")
            return bool(back == obj and GoldenRun.load(run_path).count == i)
        except BaseException as exc:
            errors.append(exc)
            raise

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(32)))
    assert not errors and all(results)
    assert threading.active_count() >= 1


def test_the_no_code_guard_of_overlapping_loads_is_lifted_and_holds_only_in_loading_threads() -> None:
    import pickle

    from tests.conftest import CodeExecutionDuringLoad, _no_code_execution

    real = pickle.loads
    first, second = _no_code_execution(), _no_code_execution()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # out of order, as loads in two threads may finish
    with pytest.raises(CodeExecutionDuringLoad):
        pickle.loads(pickle.dumps(1))
    with ThreadPoolExecutor(1) as pool:  # a thread that is not loading is not refused
        assert pool.submit(lambda: pickle.loads(pickle.dumps(2))).result() == 2
    second.__exit__(None, None, None)
    assert pickle.loads is real  # the guard is off again for the rest of the suite
