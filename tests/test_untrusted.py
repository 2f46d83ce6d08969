"""Files from strangers: ``load(path, untrusted=True)``, ``check_file`` and ``jangada_like check``.

Every check here runs a real child process.  The time, signal and memory paths are driven both by
real hostile files (a cyclic B-tree that crashes HDF5, a decompression bomb) and by tiny child
scripts passed as the checker's command, so each path is exercised deterministically.
"""

from __future__ import annotations

import fcntl
import signal
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest

import jangada_like.persistable as persistable
from jangada_like import CheckLimits, Persistable, check_file, load
from jangada_like._untrusted import _Node
from jangada_like.errors import FileFormatError, UntrustedFileError
from tests import hostile
from tests.golden import GoldenRun, golden_run

ROOT = Path(__file__).resolve().parents[1]
MIB = 1 << 20


def _plain_h5py(code: str, path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``code`` (with ``path`` bound) in a fresh interpreter using plain h5py."""
    script = f"import h5py, resource, sys\npath = {str(path)!r}\n{code}"
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)


def cyclic_btree(path: Path) -> None:
    """A group whose v1 B-tree (HDF5's "earliest" format, no checksums) has a node that is its
    own first child: HDF5 recurses until its stack overflows."""
    with h5py.File(path, "w", libver="earliest") as f:
        target = f.create_group("target")
        big = f.create_group("big")
        for i in range(2000):  # enough members for a B-tree of two levels
            big[f"m{i:05d}"] = target
    data = bytearray(path.read_bytes())
    patched = 0
    at = data.find(b"TREE")
    while at >= 0:
        node_type, level = data[at + 4], data[at + 5]
        if node_type == 0 and level == 1:
            child = at + 24 + 8  # signature, type, level, entries, 2 siblings; then key 0, child 0
            data[child : child + 8] = struct.pack("<Q", at)
            patched += 1
        at = data.find(b"TREE", at + 4)
    assert patched == 1
    path.write_bytes(data)


def spinning_global_heap(path: Path) -> None:
    """Variable-length strings whose global heap collection starts with a free-space object of
    size 0: HDF5's heap decoder advances by the object's size, so it spins in place forever."""
    with h5py.File(path, "w") as f:
        f["strings"] = np.array(["hello", "world"], dtype=h5py.string_dtype())
    data = bytearray(path.read_bytes())
    heap = data.find(b"GCOL")
    assert heap > 0 and data.find(b"GCOL", heap + 4) < 0
    first = heap + 16  # signature, version, reserved, collection size; then the first object
    data[first : first + 2] = struct.pack("<H", 0)  # object index 0: the free space
    data[first + 8 : first + 16] = struct.pack("<Q", 0)  # of size 0
    path.write_bytes(data)


def decompression_bomb(path: Path, log2_elements: int = 26) -> None:
    """Ten float64 values in one gzip chunk declared 2**26 elements long: a 2 MB file whose
    smallest read makes HDF5 inflate 512 MiB."""
    n = 1 << log2_elements
    packer = zlib.compressobj(1)
    zeros = bytes(4 * MIB)
    blob = b"".join(packer.compress(zeros) for _ in range(n * 8 // len(zeros))) + packer.flush()
    with h5py.File(path, "w") as f:
        dset = f.create_dataset(
            "x", shape=(10,), maxshape=(None,), chunks=(n,), dtype="f8", compression="gzip"
        )
        dset.id.write_direct_chunk((0,), blob)


# ------------------------------------------------------------------------ files that pass


def test_a_valid_file_passes_the_check_and_loads(tmp_path: Path) -> None:
    path = golden_run().save(tmp_path / "run")
    report = check_file(path)
    assert report.file == str(path)
    assert report.groups > 3 and report.datasets > 3 and report.attributes > 10
    assert report.bytes_read >= 3 * 4 * 4  # the (3, 4) int32 array at least
    assert load(path, untrusted=True) == golden_run()
    loaded = GoldenRun.load(path, untrusted=CheckLimits(timeout=120, memory=1 << 30))
    assert loaded == golden_run()


def test_the_walk_visits_every_object_once_and_follows_no_soft_link(tmp_path: Path) -> None:
    path = tmp_path / "plain.h5"
    with h5py.File(path, "w") as f:
        f["a/b/values"] = np.arange(100, dtype="i8")
        f["a"].attrs["unit"] = "m"
        f["a/b/values"].attrs["scale"] = np.arange(3.0)
        f["again"] = f["a"]  # a second hard link: visited once
        f["soft"] = h5py.SoftLink("/a/b/values")
        f["dangling"] = h5py.SoftLink("/nowhere")
        f.create_dataset("unallocated", shape=(10**12,), maxshape=(None,), chunks=(4096,), dtype="f8")
    report = check_file(path)
    assert (report.groups, report.datasets, report.attributes, report.links) == (3, 2, 2, 2)
    assert report.bytes_read == 800 + 4 * 1 + 24  # values, the "m" attribute, the scale attribute


def test_a_tree_deeper_than_pythons_recursion_limit_is_walked(tmp_path: Path) -> None:
    levels = 1500  # Python's default recursion limit is 1000: the walk must not recurse
    path = tmp_path / "deep.h5"
    with h5py.File(path, "w") as f:
        g = f.require_group("0")
        for _ in range(levels - 1):
            g = g.create_group("0")
        g["leaf"] = np.arange(3)
    report = check_file(path, CheckLimits(timeout=300))
    assert report.datasets == 1 and report.groups == levels + 1


def test_groups_nested_deeper_than_the_limit_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.h5"
    with h5py.File(path, "w") as f:
        f.create_group("a/b/c/d/e")
    assert check_file(path, CheckLimits(depth=5)).groups == 6
    with pytest.raises(UntrustedFileError) as caught:
        check_file(path, CheckLimits(depth=4))
    assert caught.value.reason == "refused" and caught.value.path == "/a/b/c/d/e"
    assert "nested deeper than 4 levels refused (CheckLimits.depth" in str(caught.value)


def test_a_file_name_that_looks_like_an_option_is_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with h5py.File("-h.h5", "w") as f:
        f["x"] = np.arange(3)
    assert check_file("-h.h5").datasets == 1


def test_paths_are_built_only_when_reported() -> None:
    node = _Node("", None)
    for name in ("root", "mixed", "0"):
        node = _Node(name, node)
    assert node.path() == "/root/mixed/0" and _Node("", None).path() == "/"


# ------------------------------------------------------------------------ real hostile files


def test_a_cyclic_btree_crashes_plain_h5py_and_is_reported_as_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "cyclic.h5"
    cyclic_btree(path)
    plain = _plain_h5py("with h5py.File(path, 'r') as f:\n    print(len(list(f['big'])))", path)
    assert plain.returncode < 0, plain  # killed by a signal (the stack overflows)
    with pytest.raises(UntrustedFileError) as caught:
        load(path, untrusted=True)
    err = caught.value
    assert err.reason == "signal" and err.file == str(path)
    assert f"killed by {signal.Signals(-plain.returncode).name}" in str(err)
    assert "do not open this file" in str(err)


def test_a_spinning_global_heap_hangs_plain_h5py_and_is_reported_as_a_hang(tmp_path: Path) -> None:
    path = tmp_path / "spin.h5"
    spinning_global_heap(path)
    with pytest.raises(subprocess.TimeoutExpired):  # reading two short strings never ends
        subprocess.run(
            [sys.executable, "-c", f"import h5py; h5py.File({str(path)!r}, 'r')['strings'][:]"],
            capture_output=True,
            timeout=10,
        )
    with pytest.raises(UntrustedFileError) as caught:
        load(path, untrusted=CheckLimits(timeout=5))
    err = caught.value
    assert err.reason == "timeout" and err.file == str(path)
    assert "took longer than 5 s (HDF5 hung on it" in str(err)


def test_a_decompression_bomb_is_reported_as_needing_more_memory(tmp_path: Path) -> None:
    path = tmp_path / "bomb.h5"
    decompression_bomb(path)
    assert path.stat().st_size < 8 * MIB
    code = "with h5py.File(path, 'r') as f:\n    f['x'][:]\n"
    code += "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)"
    plain = _plain_h5py(code, path)
    assert plain.returncode == 0, plain.stderr
    assert int(plain.stdout) > 512 * MIB  # ten values cost plain h5py half a gigabyte
    with pytest.raises(UntrustedFileError) as caught:
        check_file(path, CheckLimits(memory=384 * MIB))
    err = caught.value
    assert err.reason == "memory" and err.path == "/x" and err.file == str(path)
    assert f"more than the {384 * MIB} bytes" in str(err) and "CheckLimits(memory=...)" in str(err)
    assert check_file(path).bytes_read == 80  # under the default 2 GiB it is only large


def test_damaged_compressed_data_is_read_and_reported_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "damaged.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("run")
        g.create_dataset("values", data=np.arange(50_000.0), chunks=(10_000,), compression="gzip")
        where = f["run/values"].id.get_chunk_info(2)
        offset, size = where.byte_offset, where.size
    data = bytearray(path.read_bytes())
    data[offset + size // 2 : offset + size // 2 + 64] = bytes(64)
    path.write_bytes(data)
    with pytest.raises(UntrustedFileError) as caught:
        check_file(path)
    assert caught.value.reason == "error" and caught.value.path == "/run/values"
    assert "dataset values" in str(caught.value)


@pytest.mark.parametrize("maker", [hostile.external_link, hostile.virtual_dataset])
def test_files_reaching_other_files_are_refused(tmp_path: Path, maker: object) -> None:
    path = tmp_path / "reach.hdf5"
    maker(path)  # type: ignore[operator]
    with pytest.raises(UntrustedFileError) as caught:
        load(path, untrusted=True)
    err = caught.value
    assert err.reason == "refused" and err.file == str(path)
    assert err.path in ("/root/table", "/root/array")
    assert "may not reach other files" in str(err)


def test_external_raw_storage_is_refused(tmp_path: Path) -> None:
    raw = tmp_path / "raw.bin"
    raw.write_bytes(np.arange(4, dtype="<f8").tobytes())
    path = tmp_path / "external.h5"
    with h5py.File(path, "w") as f:
        f.create_group("g").create_dataset("data", shape=(4,), dtype="<f8", external=[(str(raw), 0, 32)])
    with pytest.raises(UntrustedFileError) as caught:
        check_file(path)
    assert caught.value.reason == "refused" and caught.value.path == "/g/data"
    assert "raw.bin" in str(caught.value)


def test_untrusted_load_of_a_broken_file_never_runs_the_loader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = hostile.valid_file(tmp_path / "valid.hdf5")
    path = hostile.write(tmp_path / "cut.hdf5", data[: len(data) // 2])
    with pytest.raises(FileFormatError) as plain:
        load(path)
    assert not isinstance(plain.value, UntrustedFileError)

    def loader(*args: object, **kwargs: object) -> None:
        raise AssertionError("the normal loader ran on a file that failed the check")

    monkeypatch.setattr(persistable, "load_file", loader)
    with pytest.raises(UntrustedFileError) as caught:
        Persistable.load(path, untrusted=True)
    assert caught.value.reason == "error" and caught.value.file == str(path)
    assert caught.value.path is None  # HDF5 failed to open it: no path inside
    assert "HDF5 could not read the file (opening the file)" in str(caught.value)


def test_untrusted_takes_true_false_or_limits(tmp_path: Path) -> None:
    path = golden_run().save(tmp_path / "run")
    with pytest.raises(TypeError, match="True, False or a CheckLimits"):
        load(path, untrusted="yes")  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError, match="nope"):
        load(tmp_path / "nope.hdf5", untrusted=True)


# ------------------------------------------------------------------------ the child's fates, scripted

GRANDCHILD = (
    "import fcntl, os, sys, time; f = open(sys.argv[1], 'w'); fcntl.flock(f, fcntl.LOCK_EX); "
    "open(sys.argv[1] + '.pid', 'w').write(str(os.getpid())); print('locked', flush=True); time.sleep(120)"
)
SLEEPER = f"""
import subprocess, sys, time
lock = sys.argv[-1] + ".lock"
grandchild = subprocess.Popen([sys.executable, "-c", {GRANDCHILD!r}, lock], stdout=subprocess.PIPE)
grandchild.stdout.readline()  # it holds the lock now
time.sleep(120)
"""


def test_a_child_past_its_time_is_killed_with_everything_it_started(tmp_path: Path) -> None:
    path = tmp_path / "any.h5"
    path.write_bytes(b"")
    with pytest.raises(UntrustedFileError) as caught:
        check_file(path, CheckLimits(timeout=5), _command=[sys.executable, "-c", SLEEPER])
    err = caught.value
    assert err.reason == "timeout" and err.file == str(path)
    assert "longer than 5 s" in str(err) and "CheckLimits(timeout=...)" in str(err)
    assert Path(f"{path}.lock.pid").read_text().isdigit()  # the grandchild was running, locked
    with open(f"{path}.lock") as f:  # and it is dead now: its lock is free
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_a_child_killed_by_sigsegv_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "any.h5"
    path.write_bytes(b"")
    script = "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"
    with pytest.raises(UntrustedFileError) as caught:
        check_file(path, _command=[sys.executable, "-c", script])
    assert caught.value.reason == "signal" and "killed by SIGSEGV (HDF5 crashed" in str(caught.value)


ALLOCATOR = """
import sys
from jangada_like._untrusted import main, walk
sys.exit(main(sys.argv[1:], walker=lambda p, b, m, d: walk(p, b, m, d, _visit=lambda w: bytearray(2 * m))))
"""


def test_the_memory_limit_applies_to_the_child(tmp_path: Path) -> None:
    """The child's own ``main`` sets the limit; an allocation of twice the limit (which this
    machine could grant) fails inside it and comes back as the memory error."""
    path = tmp_path / "any.h5"
    path.write_bytes(b"")
    with pytest.raises(UntrustedFileError) as caught:
        check_file(path, CheckLimits(memory=512 * MIB), _command=[sys.executable, "-c", ALLOCATOR])
    err = caught.value
    assert err.reason == "memory" and f"more than the {512 * MIB} bytes" in str(err)
    assert "MemoryError" in str(err)


def test_a_child_without_a_verdict_is_reported_with_its_last_words(tmp_path: Path) -> None:
    path = tmp_path / "any.h5"
    path.write_bytes(b"")
    script = "import sys; print('not json'); sys.stderr.write('boom'); sys.exit(3)"
    with pytest.raises(UntrustedFileError) as caught:
        check_file(path, _command=[sys.executable, "-c", script])
    assert caught.value.reason == "error"
    assert "exited with code 3 without a verdict" in str(caught.value) and "boom" in str(caught.value)


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError, match=r"CheckLimits\.timeout must be a positive number of seconds"):
        CheckLimits(timeout=-1)
    with pytest.raises(ValueError, match=r"CheckLimits\.block must be a positive integer"):
        CheckLimits(block=0)
    with pytest.raises(ValueError, match=r"CheckLimits\.depth must be a positive integer"):
        CheckLimits(depth=1.5)  # type: ignore[arg-type]


# ------------------------------------------------------------------------ the command line


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jangada_like", "check", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


def test_cli_check_gives_one_verdict_per_file_and_fails_if_any_fails(tmp_path: Path) -> None:
    good = golden_run().save(tmp_path / "good")
    bad = tmp_path / "bad.hdf5"
    hostile.external_link(bad)
    out = _cli(str(good))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"ok      {good}: ") and "bytes of values read" in out.stdout
    out = _cli(str(good), str(bad), "--timeout", "120", "--memory", "1G")
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    assert lines[0].startswith(f"ok      {good}: ")
    assert lines[1].startswith(f"FAILED  {bad}: external link to /etc/passwd:/ refused")
    assert "HDF5 path '/root/table'" in lines[1]
    out = _cli(str(tmp_path), str(tmp_path / "missing.hdf5"))
    assert out.returncode == 1
    assert out.stdout.splitlines() == [
        f"FAILED  {tmp_path}: Path {tmp_path} is a directory, not an HDF5 file",
        f"FAILED  {tmp_path / 'missing.hdf5'}: Path {tmp_path / 'missing.hdf5'} does not exist",
    ]


def test_cli_check_refuses_bad_limits(tmp_path: Path) -> None:
    out = _cli(str(tmp_path), "--memory", "lots")
    assert out.returncode == 2 and "expected a number of bytes like 512M or 2G" in out.stderr
    out = _cli(str(tmp_path), "--timeout", "0")
    assert out.returncode == 2 and "CheckLimits.timeout must be a positive" in out.stderr
