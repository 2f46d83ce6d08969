"""Shared fixtures: ``roundtrip``, h5dump, and a guard that makes every load prove it runs no code."""

from __future__ import annotations

import builtins
import contextlib
import importlib
import os
import pickle
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

import jangada_like._fileio as fileio
from jangada_like import Persistable, SerializableProperty

settings.register_profile(
    "default", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
settings.load_profile("default")


class Box(Persistable):
    """One property of any type: ``rt(v)`` is ``Box(x=v)`` saved and loaded."""

    x = SerializableProperty(default=None)


@pytest.fixture
def roundtrip(tmp_path: Path) -> Callable[[Any], Any]:
    """Save ``Box(x=value)`` and return ``x`` as loaded back."""
    counter = iter(range(10**9))

    def rt(value: Any) -> Any:
        path = tmp_path / f"rt{next(counter)}.hdf5"
        Box(x=value).save(path)
        return Box.load(path).x

    return rt


@pytest.fixture
def h5dump() -> Callable[[Path], str]:
    """Run h5dump 1.10 on a file and return its output (skips only outside CI if absent)."""
    exe = shutil.which("h5dump")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("h5dump is required in CI (.ci/run installs hdf5-tools)")
        pytest.skip("h5dump (Debian hdf5-tools) is not installed")

    def run(path: Path, *args: str) -> str:
        out = subprocess.run([exe, *args, str(path)], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, f"h5dump failed on {path}:\n{out.stderr}"
        return out.stdout

    return run


class CodeExecutionDuringLoad(AssertionError):
    """Raised when a load tries to import an unknown module, unpickle or evaluate."""


# Loads run in several threads at once (tests/test_safety.py): the guard is installed while any
# thread loads (a count, under a lock, so that overlapping loads cannot restore each other's
# patches out of order and leave the guard on for the rest of the suite) and refuses only in a
# thread that is loading.
_GUARD = threading.Lock()
_LOADING = threading.local()
_INSTALLED: list[tuple[Any, str, Any]] = []
_INSTALLED_USERS = [0]


def _in_load() -> bool:
    return getattr(_LOADING, "depth", 0) > 0


def _guards() -> list[tuple[Any, str, Any]]:
    real_import, real_import_module = builtins.__import__, importlib.import_module

    def guarded_import(
        name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0
    ) -> Any:
        # codecs of the interpreter load lazily; nothing a file names can reach them
        if _in_load() and level == 0 and name not in sys.modules and not name.startswith("encodings."):
            raise CodeExecutionDuringLoad(f"a load imported the unknown module {name!r}")
        return real_import(name, globals, locals, fromlist, level)

    def guarded_import_module(name: str, package: str | None = None) -> Any:
        if _in_load() and name not in sys.modules:
            raise CodeExecutionDuringLoad(f"a load called import_module({name!r})")
        return real_import_module(name, package)

    def refusing(real: Callable[..., Any]) -> Callable[..., Any]:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            if _in_load():
                raise CodeExecutionDuringLoad("a load tried to unpickle or evaluate data")
            return real(*args, **kwargs)

        return refuse

    return [
        (builtins, "__import__", guarded_import),
        (importlib, "import_module", guarded_import_module),
        (pickle, "loads", refusing(pickle.loads)),
        (pickle, "load", refusing(pickle.load)),
        (builtins, "eval", refusing(builtins.eval)),
    ]


@contextlib.contextmanager
def _no_code_execution() -> Iterator[None]:
    with _GUARD:
        if not _INSTALLED:  # the first of the loads running now installs the guard
            patches = _guards()
            _INSTALLED.extend((obj, name, getattr(obj, name)) for obj, name, _ in patches)
            for obj, name, new in patches:
                setattr(obj, name, new)
        _INSTALLED_USERS[0] += 1
    _LOADING.depth = getattr(_LOADING, "depth", 0) + 1
    try:
        yield
    finally:
        _LOADING.depth -= 1
        with _GUARD:
            _INSTALLED_USERS[0] -= 1
            if _INSTALLED_USERS[0] == 0:  # the last one restores the real functions
                for obj, name, old in _INSTALLED:
                    setattr(obj, name, old)
                _INSTALLED.clear()


@pytest.fixture(autouse=True)
def _loads_run_no_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every load in the suite runs under the guard above."""
    real = fileio.decode_root

    def guarded(*args: Any, **kwargs: Any) -> Any:
        with _no_code_execution():
            return real(*args, **kwargs)

    monkeypatch.setattr(fileio, "decode_root", guarded)
    import jangada_like._session as session

    monkeypatch.setattr(session, "decode_root", guarded)


def _warm_up() -> None:
    """Import what pandas and numpy load lazily on first use, outside the guard."""
    import tempfile

    from tests.strategies import warm_values

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "warm.hdf5"
        for value in warm_values():
            Box(x=value).save(path)
            Box.load(path)


_warm_up()


@pytest.fixture(autouse=True)
def _no_hdf5_file_left_open() -> Iterator[None]:
    """No test may leave an HDF5 file open (every error path closes its files)."""
    import gc

    import h5py

    before = h5py.h5f.get_obj_count(h5py.h5f.OBJ_ALL, h5py.h5f.OBJ_FILE)
    yield
    gc.collect()
    after = h5py.h5f.get_obj_count(h5py.h5f.OBJ_ALL, h5py.h5f.OBJ_FILE)
    assert after <= before, f"{after - before} HDF5 file(s) left open"
