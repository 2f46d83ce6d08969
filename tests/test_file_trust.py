"""The file layer under attack and under faults: locks that follow the path across a save's
rename, temporary files that do not follow symlinks, a full disk during a session or a save,
non-regular files at the path, and broken files opened lazily (docs/safety.rst)."""

from __future__ import annotations

import errno
import os
import socket
import stat
import subprocess
import sys
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jangada_like._fileio as fileio
from jangada_like import load
from jangada_like.errors import (
    FileAccessError,
    FileChangedError,
    FileFormatError,
    FileLockedError,
    FilePermissionError,
    JangadaError,
    NotAFileError,
    RecoveredFileWarning,
)
from tests import hostile
from tests.golden import GoldenRun, golden_run
from tests.workers import Log
from tools.fuzz import touch

ROOT = Path(__file__).resolve().parents[1]


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "tests.workers", *args], cwd=ROOT, env=env)


def _python(code: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT
    )


def _wait_until(ready: Any, what: str, timeout: float = 120) -> None:
    """Poll ``ready()`` (a wait for another process, not a timed assertion)."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} never happened")
        time.sleep(0.01)


def _has_open(pid: int, path: Path) -> bool:
    """Whether process ``pid`` has a descriptor open on the file at ``path`` now."""
    target = os.path.realpath(path)
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                return True
        except OSError:
            continue
    return False


def _empty_log(path: Path) -> Path:
    Log(rows=np.zeros((0, 2), dtype=np.int64)).save(path)
    return path


# -- 1. one writer per path, also across a save's rename -----------------------------------------


def test_writer_waiting_while_a_save_renames_over_the_path_locks_the_new_file(tmp_path: Path) -> None:
    path = _empty_log(tmp_path / "log.hdf5")
    renaming, go = tmp_path / "renaming", tmp_path / "go"
    inside, release = tmp_path / "inside", tmp_path / "release"
    saver = _spawn("save_pausing_before_rename", str(path), str(renaming), str(go))
    writer = None
    try:
        _wait_until(renaming.exists, "the saver holding the old file's lock before its rename")
        writer = _spawn("append_once_inside", str(path), str(inside), str(release))
        _wait_until(lambda: _has_open(writer.pid, path), "the writer waiting for the old file's lock")
        go.touch()  # the save renames its new file over the path and drops the old file's lock
        assert saver.wait(timeout=120) == 0
        _wait_until(inside.exists, "the writer getting in")
        # the writer holds the path now: no second writer and no save gets in beside it
        with pytest.raises(FileLockedError), Log(path, mode="r+", timeout=0):
            pass
        with pytest.raises(FileLockedError):
            Log(rows=np.ones((1, 2), dtype=np.int64), note="intruder").save(path, timeout=0)
        release.touch()
        assert writer.wait(timeout=120) == 0
    finally:
        go.touch()
        release.touch()
        for proc in (saver, writer):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
    log = Log.load(path)
    assert log.note == "saved"  # the saver's file, with the writer's row in it
    assert log.rows.tolist() == [[7, 7]]


def test_incremental_save_does_not_clone_a_file_a_writer_opened_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "log.hdf5"
    Log(rows=np.zeros((3, 2), dtype=np.int64), note="a").save(path)
    log = Log.load(path)
    log.note = "b"
    inside, release = tmp_path / "inside", tmp_path / "release"
    writers: list[subprocess.Popen[bytes]] = []
    real = fileio.incremental_possible

    def then_a_writer_gets_in(*args: Any) -> bool:
        possible = real(*args)  # the file is unchanged now: an incremental save is possible
        writers.append(_spawn("append_once_inside", str(path), str(inside), str(release)))
        _wait_until(inside.exists, "the writer getting in")
        return possible

    monkeypatch.setattr(fileio, "incremental_possible", then_a_writer_gets_in)
    try:
        with pytest.raises(FileLockedError):  # not a clone of a file half written by another process
            log.save(path, timeout=0)
        release.touch()
        assert writers[0].wait(timeout=120) == 0
    finally:
        release.touch()
        for proc in writers:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    monkeypatch.setattr(fileio, "incremental_possible", real)
    assert Log.load(path).rows.tolist() == [[0, 0]] * 3 + [[7, 7]]  # the writer's row is in
    with pytest.raises(FileChangedError):  # the writer's row would be lost without a word
        log.save(path)
    assert Log.load(path).rows.tolist() == [[0, 0]] * 3 + [[7, 7]]
    log.save(path, force=True)  # overwriting anyway is a choice, and it works
    again = Log.load(path)
    assert again.note == "b" and again.rows.tolist() == [[0, 0]] * 3


# -- 2. the temporary file of a save ------------------------------------------------------------


class _FixedUuid:
    def __init__(self, *hexes: str) -> None:
        self.hexes = list(hexes)

    def __call__(self) -> Any:
        value = self.hexes.pop(0) if len(self.hexes) > 1 else self.hexes[0]
        return uuid.UUID(hex=value)


def _planted_name(path: Path, hex_: str) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{hex_[:8]}{fileio.TMP_SUFFIX}")


def test_symlink_planted_at_the_temporary_name_is_not_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken, free = "a" * 32, "b" * 32
    path = tmp_path / "run.hdf5"
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    planted = _planted_name(path, taken)
    planted.symlink_to(victim)
    monkeypatch.setattr(fileio.uuid, "uuid4", _FixedUuid(taken, free))
    Log(rows=np.arange(4).reshape(2, 2), note="mine").save(path)
    assert victim.read_bytes() == b"precious"  # not written through the symlink
    assert planted.is_symlink() and os.readlink(planted) == str(victim)  # left alone
    assert not path.is_symlink() and stat.S_ISREG(path.lstat().st_mode)
    assert Log.load(path).note == "mine"
    with h5py.File(path, "r") as f:  # a plain HDF5 file, readable without the library
        assert f["root"]["rows"][()].tolist() == [[0, 1], [2, 3]]


def test_save_fails_clearly_when_every_temporary_name_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = "c" * 32
    path = _empty_log(tmp_path / "run.hdf5")
    before = path.read_bytes()
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    _planted_name(path, taken).symlink_to(victim)
    monkeypatch.setattr(fileio.uuid, "uuid4", _FixedUuid(taken))
    with pytest.raises(FileAccessError, match="temporary file") as info:
        Log(note="new").save(path)
    assert info.value.file == str(path) and info.value.errno == errno.EEXIST
    assert victim.read_bytes() == b"precious" and path.read_bytes() == before


def test_temporary_file_has_the_mode_of_a_normal_file(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = Log(note="x").save(tmp_path / "mode.hdf5")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


# -- 3. a full disk ----------------------------------------------------------------------------

_FULL_DISK = """
import errno, resource, signal, sys, warnings
import numpy as np
from jangada_like.errors import FileAccessError
from tests.workers import Log
path = {path!r}
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
"""


def test_full_disk_in_a_session_is_a_clear_error_and_a_clean_close(tmp_path: Path) -> None:
    path = _empty_log(tmp_path / "log.hdf5")
    code = (
        _FULL_DISK.format(path=str(path), limit=400_000)
        + """
n = flushed = 0
try:
    with Log(path, mode="r+") as log:
        while True:
            for _ in range(100):
                log.rows.append(np.array([n, n], dtype=np.int64))
                n += 1
            log.flush()
            flushed = n
except FileAccessError as exc:
    print("refused", flushed, exc.errno == errno.EFBIG, path in str(exc), isinstance(exc, OSError))
"""
    )
    out = _python(code)
    assert out.returncode == 0, out.stderr  # not killed by SIGSEGV at exit
    words = out.stdout.split()
    assert words[0] == "refused" and words[2:] == ["True", "True", "True"], out.stdout + out.stderr
    flushed = int(words[1])
    assert flushed > 0
    with pytest.warns(RecoveredFileWarning):
        rows = Log.load(path).rows
    assert rows.tolist() == [[i, i] for i in range(flushed)]  # every flushed row, in order


def test_full_disk_when_a_session_closes_keeps_the_last_flush(tmp_path: Path) -> None:
    path = _empty_log(tmp_path / "log.hdf5")
    code = (
        _FULL_DISK.format(path=str(path), limit=300_000)
        + """
with Log(path, mode="r+") as log:
    log.rows.append(np.array([[1, 1], [2, 2]], dtype=np.int64))
    log.flush()
try:
    with Log(path, mode="r+") as log:
        for _ in range(20):
            log.rows.append(np.full((1000, 2), 9, dtype=np.int64))
except FileAccessError as exc:
    print("refused", exc.file == path)
"""
    )
    out = _python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["refused", "True"], out.stdout + out.stderr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RecoveredFileWarning)
        rows = Log.load(path).rows
    assert rows[:2].tolist() == [[1, 1], [2, 2]]


def test_full_disk_during_a_large_append_is_a_clear_error_and_a_clean_close(tmp_path: Path) -> None:
    path = _empty_log(tmp_path / "log.hdf5")
    code = (
        _FULL_DISK.format(path=str(path), limit=300_000)
        + """
from jangada_like.errors import ProxyClosedError
with Log(path, mode="r+") as log:
    log.rows.append(np.array([[1, 1]], dtype=np.int64))
    log.flush()
    try:
        log.rows.append(np.full((5_000_000, 2), 3, dtype=np.int64))  # written at once, not cached
    except FileAccessError as exc:
        print("refused", exc.errno == errno.EFBIG, exc.file == path, exc.path)
    try:
        log.rows.append(np.array([[2, 2]], dtype=np.int64))
    except ProxyClosedError:
        print("closed")
"""
    )
    out = _python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["refused", "True", "True", "/root/rows", "closed"], out.stdout + out.stderr
    with pytest.warns(RecoveredFileWarning):
        assert Log.load(path).rows.tolist() == [[1, 1]]


def test_full_disk_in_a_new_session_is_a_clear_error_and_a_clean_close(tmp_path: Path) -> None:
    path = tmp_path / "new.hdf5"
    code = (
        _FULL_DISK.format(path=str(path), limit=100_000)
        + """
try:
    with Log(path, mode="w", rows=np.zeros((100_000, 2))):
        print("opened")
except FileAccessError as exc:
    print("refused", exc.errno == errno.EFBIG, exc.file == path, "cannot write" in str(exc))
"""
    )
    out = _python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["refused", "True", "True", "True"], out.stdout + out.stderr


def test_full_disk_creating_the_temporary_file_of_a_save_is_an_os_error(tmp_path: Path) -> None:
    path = _empty_log(tmp_path / "log.hdf5")
    before = path.read_bytes()
    code = (
        _FULL_DISK.format(path=str(path), limit=1)
        + """
from jangada_like.errors import FileFormatError
try:
    Log(rows=np.zeros((10, 2), dtype=np.int64)).save(path)
except OSError as exc:
    print(type(exc).__name__, isinstance(exc, FileAccessError), isinstance(exc, FileFormatError),
          exc.errno == errno.EFBIG, path in str(exc))
"""
    )
    out = _python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["FileAccessError", "True", "False", "True", "True"], out.stdout + out.stderr
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.hdf5"]


def test_save_of_a_large_array_on_a_full_disk_exits_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "run.hdf5"
    golden_run().save(path)
    before = path.read_bytes()
    code = (
        _FULL_DISK.format(path=str(path), limit=300_000)
        + """
from tests.golden import golden_run
run = golden_run()
run.array = np.zeros((1000, 1000))
try:
    run.save(path)
except FileAccessError as exc:
    print("refused", exc.errno == errno.EFBIG, exc.file == path)
"""
    )
    out = _python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["refused", "True", "True"], out.stdout + out.stderr
    assert path.read_bytes() == before


# -- 4. no regular file at the path ------------------------------------------------------------


def test_fifo_at_the_path_is_refused_at_once_in_every_mode(tmp_path: Path) -> None:
    path = tmp_path / "pipe.hdf5"
    os.mkfifo(path)
    code = f"""
from jangada_like.errors import NotAFileError
from tests.workers import Log
path = {str(path)!r}
for mode, options in [("r", {{}}), ("r+", {{}}), ("a", {{}}), ("w", {{}}), ("r", {{"swmr": True}})]:
    try:
        with Log(path, mode=mode, **options):
            print(mode, "opened")
    except NotAFileError as exc:
        print(mode, "refused", path in str(exc) and "FIFO" in str(exc), isinstance(exc, FileNotFoundError))
try:
    Log.load(path)
except NotAFileError as exc:
    print("load refused", "FIFO" in str(exc))
"""
    out = _python(code, timeout=60)  # the old code blocked in open() forever
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "r refused True True",
        "r+ refused True True",
        "a refused True True",
        "w refused True True",
        "r refused True True",
        "load refused True",
    ]
    assert stat.S_ISFIFO(path.lstat().st_mode)  # still the FIFO: nothing replaced it


def _non_regular(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"{kind}.hdf5"
    if kind == "directory":
        path.mkdir()
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
        sock.close()
    else:
        path.symlink_to(f"/dev/{kind}")
    return path


@pytest.mark.parametrize("kind", ["zero", "null", "directory", "socket"])
@pytest.mark.parametrize("mode", ["r", "r+", "swmr"])
def test_non_regular_file_in_a_session_is_the_clear_error_load_gives(
    tmp_path: Path, kind: str, mode: str
) -> None:
    path = _non_regular(tmp_path, kind)
    options = {"swmr": True} if mode == "swmr" else {}
    with (
        pytest.raises(NotAFileError, match="not a regular file") as info,
        Log(path, mode="r" if mode == "swmr" else mode, **options),
    ):
        pass
    assert info.value.file == str(path) and str(path) in str(info.value)
    with pytest.raises(NotAFileError, match="not a regular file"):
        Log.load(path)


def test_missing_file_in_a_session_is_a_library_os_error(tmp_path: Path) -> None:
    path = tmp_path / "nope.hdf5"
    for mode in ("r", "r+"):
        with pytest.raises(NotAFileError, match="does not exist") as info, Log(path, mode=mode):
            pass
        assert isinstance(info.value, FileNotFoundError) and info.value.file == str(path)
    with pytest.raises(NotAFileError, match="does not exist"):
        load(path)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
def test_permission_denied_in_a_session_is_a_library_permission_error(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    path = _empty_log(tmp_path / "private.hdf5")
    os.chmod(path, 0o600)
    code = f"""
import os
from jangada_like.errors import FilePermissionError
from tests.workers import Log
path = {str(path)!r}
os.setgid(65534); os.setuid(65534)
for mode in ("r", "r+"):
    try:
        with Log(path, mode=mode):
            print(mode, "opened")
    except FilePermissionError as exc:
        print(mode, "refused", isinstance(exc, PermissionError), path in str(exc))
"""
    out = _python(code)
    assert out.stdout.splitlines() == ["r refused True True", "r+ refused True True"], out.stderr


def test_error_classes_pickle_with_their_errno() -> None:
    import pickle

    err = FilePermissionError("denied", file="x.hdf5", errno=errno.EACCES)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is FilePermissionError and back.errno == errno.EACCES and back.file == "x.hdf5"


# -- 5. broken files opened lazily --------------------------------------------------------------

_VALID: dict[str, bytes] = {}


def _valid_bytes(folder: Path) -> bytes:
    if "data" not in _VALID:
        _VALID["data"] = hostile.valid_file(folder / "valid.hdf5")
    return _VALID["data"]


def _session_outcome(path: Path, mode: str) -> str:
    """Open ``path`` lazily and read everything; an error must be the library's, naming the file
    (anything else escapes and fails the test)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with GoldenRun(path, mode=mode) as run:
                touch(run)
    except JangadaError as exc:
        return "error" if str(path) in str(exc) else f"error without the file name: {exc}"
    return "read"


@pytest.mark.parametrize("mode", ["r", "r+"])
def test_truncated_files_in_sessions(tmp_path: Path, mode: str) -> None:
    data = _valid_bytes(tmp_path)
    outcomes = [
        _session_outcome(hostile.write(tmp_path / "t.hdf5", cut), mode)
        for cut in hostile.truncations(data, 12, seed=4)
    ]
    assert outcomes.count("error") >= 11
    assert set(outcomes) <= {"error", "read"}, outcomes


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), flips=st.integers(1, 8), mode=st.sampled_from(["r", "r+"]))
def test_bit_flips_in_sessions_never_escape_the_error_hierarchy(
    tmp_path: Path, seed: int, flips: int, mode: str
) -> None:
    data = _valid_bytes(tmp_path)
    (mutated,) = hostile.bit_flips(data, 1, seed=seed, flips=flips)
    assert _session_outcome(hostile.write(tmp_path / "f.hdf5", mutated), mode) in ("error", "read")


def test_fuzz_tool_counts_sessions(tmp_path: Path) -> None:
    from tools.fuzz import run

    results = run(4, seed=11, ways=("r", "r+"), hand_built=False)
    assert set(results) >= {"truncated r", "truncated r+", "bit-flipped r", "bit-flipped r+"}
    for label, counter in results.items():
        assert sum(counter.values()) > 0, label
        assert counter["escaped"] == counter["crash"] == counter["hang"] == 0, (label, counter)


def test_broken_file_is_still_a_file_format_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.hdf5"
    path.write_bytes(os.urandom(4096))
    for mode in ("r", "r+"):
        with pytest.raises(FileFormatError) as info, Log(path, mode=mode):
            pass
        assert not isinstance(info.value, OSError) and info.value.file == str(path)


def _broken_chunk_index(path: Path) -> Path:
    """A file whose one array has a chunk index with a bad checksum: the session opens (the
    index is read with the data only), reading the rows fails."""
    Log(rows=np.arange(20_000).reshape(-1, 2)).save(path)
    data = bytearray(path.read_bytes())
    at = data.find(b"EAHD")  # the extensible array header indexing the chunks (format 1)
    assert at > 0
    data[at + 6] ^= 0xFF
    return hostile.write(path, bytes(data))


@pytest.mark.parametrize("mode", ["r", "r+"])
def test_broken_chunk_index_read_through_a_proxy_is_a_file_format_error(tmp_path: Path, mode: str) -> None:
    path = _broken_chunk_index(tmp_path / "index.hdf5")
    with Log(path, mode=mode) as log:
        assert log.rows.shape == (10_000, 2)
        for read in (lambda: log.rows[:5], lambda: np.asarray(log.rows), lambda: list(log.rows)):
            with pytest.raises(FileFormatError, match="checksum") as info:
                read()
            assert not isinstance(info.value, OSError)
            assert info.value.file == str(path) and info.value.path == "/root/rows"
    with pytest.raises(FileFormatError, match="checksum"):
        Log.load(path)
