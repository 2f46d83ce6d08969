"""Files from strangers: walk a file's whole structure in a child process, bounded, before loading.

A damaged HDF5 file can make HDF5 itself spin forever, allocate gigabytes or crash (damaged heaps,
huge dataspace dimensions in an object header, cyclic B-trees), and no guard inside the process can
stop C code.  :func:`check_file` therefore runs ``python -m jangada_like._untrusted FILE`` under a
wall-time limit (the whole child process group is killed past it) and an address-space limit
(``RLIMIT_AS``, set by the child on itself).  The child opens the file read-only and visits every
group, dataset, named datatype, attribute and link (links are read as links: none is followed),
reads every attribute value, every dataset's metadata (shape, type, chunks, filters, fill value,
external storage list) and all the data HDF5 holds for it in blocks of at most ``block`` bytes,
which is what a load will read.  It prints one JSON verdict; the parent turns anything but "ok"
into :class:`~jangada_like.errors.UntrustedFileError`.

Examples
--------
>>> import numpy as np, tempfile, os, h5py
>>> path = os.path.join(tempfile.mkdtemp(), "plain.h5")
>>> with h5py.File(path, "w") as f:
...     f["x"] = np.arange(10)
...     f["x"].attrs["unit"] = "m"
>>> report = check_file(path)
>>> report.datasets, report.attributes, report.bytes_read  # 80 bytes of data, 4 of attribute
(1, 1, 84)
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np

from ._engine import MAX_DEPTH
from ._h5 import foreign_storage
from .errors import UntrustedFileError

__all__ = ["CheckLimits", "CheckReport", "check_file", "check_untrusted"]

MIB = 1 << 20
GIB = 1 << 30
#: the default budget of a check: 30 s of wall time, 2 GiB of address space, 64 MiB per read
DEFAULT_TIMEOUT = 30.0
DEFAULT_MEMORY = 2 * GIB
DEFAULT_BLOCK = 64 * MIB
#: groups nested deeper are refused: loads refuse trees deeper than MAX_DEPTH anyway, and HDF5
#: slows down with every level (100,000 levels take 40 s to walk), a margin above it
DEFAULT_DEPTH = 2 * MAX_DEPTH
_CHILD = (sys.executable, "-m", "jangada_like._untrusted")
#: one thread per numerical library: their pools would take address space from the budget
_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class CheckLimits:
    """The budget of the check of an untrusted file.

    Parameters
    ----------
    timeout
        Seconds of wall time the whole check may take (starting Python included, about 1 s).
    memory
        Bytes of address space the check process may use (``RLIMIT_AS``), about 200 MiB of them
        for Python, numpy and h5py themselves.
    block
        Bytes of dataset values read at once.
    depth
        Groups nested deeper than this are refused (default twice
        :data:`~jangada_like.MAX_DEPTH`, past which loads refuse a tree anyway).

    Examples
    --------
    >>> CheckLimits(timeout=120).memory == 2 * 1024**3
    True
    >>> CheckLimits(memory=0)
    Traceback (most recent call last):
    ...
    ValueError: CheckLimits.memory must be a positive number of bytes, got 0
    """

    timeout: float = DEFAULT_TIMEOUT
    memory: int = DEFAULT_MEMORY
    block: int = DEFAULT_BLOCK
    depth: int = DEFAULT_DEPTH

    def __post_init__(self) -> None:
        for name, unit in (("timeout", "number of seconds"), ("memory", "number of bytes")):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"CheckLimits.{name} must be a positive {unit}, got {value!r}")
        for name in ("block", "depth"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"CheckLimits.{name} must be a positive integer, got {value!r}")


@dataclass(frozen=True)
class CheckReport:
    """What a passed check visited: the number of groups, datasets, attributes and soft links
    (hard links are followed, each object counted once), and the bytes of attribute and
    dataset values read.

    Examples
    --------
    >>> CheckReport("a.h5", groups=1, datasets=2, attributes=3, links=0, bytes_read=16).datasets
    2
    """

    file: str
    groups: int
    datasets: int
    attributes: int
    links: int
    bytes_read: int


def check_file(
    path: str | os.PathLike[str],
    limits: CheckLimits | None = None,
    *,
    _command: Sequence[str] = _CHILD,
) -> CheckReport:
    """Walk the whole file in a bounded child process; return what it saw, or raise
    :class:`~jangada_like.errors.UntrustedFileError` naming the file (and the HDF5 path where
    the problem was met) if HDF5 hung, crashed, ran out of memory or failed on it, or if the
    file reaches other files (external links, external raw storage, virtual datasets).

    ``_command`` (tests only) replaces the child's command line; the file and the limits are
    appended to it as arguments.

    Examples
    --------
    >>> import tempfile, os, h5py
    >>> path = os.path.join(tempfile.mkdtemp(), "linked.h5")
    >>> with h5py.File(path, "w") as f:
    ...     f["elsewhere"] = h5py.ExternalLink("/etc/passwd", "/")
    >>> try:
    ...     check_file(path, CheckLimits(timeout=60))
    ... except UntrustedFileError as exc:
    ...     print(exc.reason, exc.path)
    refused /elsewhere
    """
    limits = limits or CheckLimits()
    name = os.fspath(path)
    if os.path.isdir(name):
        raise IsADirectoryError(f"Path {name} is a directory, not an HDF5 file")
    if not os.path.isfile(name):
        raise FileNotFoundError(f"Path {name} does not exist")
    argv = [*_command, "--memory", str(int(limits.memory)), "--block", str(limits.block)]
    argv += ["--depth", str(limits.depth)]
    if "hdf5plugin" in sys.modules:  # load decodes the filters it registered: so must the check
        argv.append("--hdf5plugin")
    stdout, stderr, code, timed_out = _run_bounded([*argv, "--", name], limits.timeout)
    if timed_out:
        msg = f"checking the file took longer than {limits.timeout:g} s (HDF5 hung on it, or it is too "
        msg += "large to read in that time) and the check process was killed; do not open this file, "
        msg += "or if it is genuine and large raise the limit: CheckLimits(timeout=...)"
        raise UntrustedFileError(msg, reason="timeout", file=name)
    if code < 0:
        raise UntrustedFileError(_signal_message(-code), reason="signal", file=name)
    verdict = _verdict(stdout)
    if verdict is None:
        msg = f"the check process exited with code {code} without a verdict (expected one JSON line "
        msg += f"on its standard output); its last words: {stderr.strip()[-400:]!r}"
        raise UntrustedFileError(msg, reason="error", file=name)
    if verdict.get("ok") is True:
        counts = {k: int(verdict.get(k, 0)) for k in ("groups", "datasets", "attributes", "links")}
        return CheckReport(name, bytes_read=int(verdict.get("bytes_read", 0)), **counts)
    raise _failure(verdict, name, limits)


def check_untrusted(path: str | os.PathLike[str], untrusted: bool | CheckLimits) -> CheckReport | None:
    """What ``load(path, untrusted=...)`` runs first: :func:`check_file` with the default
    limits for ``True``, with ``untrusted``'s if it is a :class:`CheckLimits`; nothing for ``False``.

    >>> check_untrusted("any.h5", False) is None
    True
    >>> check_untrusted("any.h5", "yes")
    Traceback (most recent call last):
    ...
    TypeError: untrusted must be True, False or a CheckLimits, got 'yes'
    """
    if untrusted is False:
        return None
    if untrusted is True:
        return check_file(path)
    if isinstance(untrusted, CheckLimits):
        return check_file(path, untrusted)
    raise TypeError(f"untrusted must be True, False or a CheckLimits, got {untrusted!r}")


def _run_bounded(argv: list[str], timeout: float) -> tuple[str, str, int, bool]:
    """Run ``argv`` in a new session; past ``timeout`` kill its whole process group."""
    env = dict(os.environ, **dict.fromkeys(_THREAD_VARIABLES, "1"))
    with subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        env=env,
        start_new_session=True,
    ) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid)
            try:
                stdout, stderr = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover - a grandchild left the group
                proc.kill()
                stdout, stderr = "", ""
            return stdout, stderr, proc.wait(), True
        return stdout, stderr, proc.returncode, False


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:  # pragma: no cover - it ended in between
        pass


def _signal_message(number: int) -> str:
    try:
        name = signal.Signals(number).name
    except ValueError:  # pragma: no cover - a real-time signal
        name = f"signal {number}"
    why = {
        "SIGKILL": "usually the system ran out of memory",
        "SIGSEGV": "HDF5 crashed on the file",
        "SIGBUS": "HDF5 crashed on the file",
        "SIGABRT": "HDF5 aborted on the file",
    }.get(name, "")
    msg = f"the check process was killed by {name}" + (f" ({why})" if why else "")
    return msg + " while reading the file; do not open this file in a process you care about"


def _verdict(stdout: str) -> dict[str, Any] | None:
    lines = [line for line in stdout.splitlines() if line.strip()]
    try:
        verdict = json.loads(lines[-1]) if lines else None
    except ValueError:
        return None
    return verdict if isinstance(verdict, dict) else None


def _failure(verdict: dict[str, Any], name: str, limits: CheckLimits) -> UntrustedFileError:
    kind = str(verdict.get("kind", "error"))
    detail = str(verdict.get("message", "?"))[:600]
    path = verdict.get("path")
    where = f" ({verdict['what']})" if verdict.get("what") else ""
    if kind == "memory":
        msg = f"reading the file{where} needed more than the {limits.memory} bytes "
        msg += f"({limits.memory / GIB:.2g} GiB) the check allows ({detail}); do not open this file, or "
        msg += "if it is genuine raise the limit: CheckLimits(memory=...)"
    elif kind == "refused":
        msg = f"{detail}{where}; a file from an untrusted source may not reach other files (external "
        msg += "links, external raw storage, virtual datasets and unknown link classes are refused) nor "
        msg += "nest groups deeper than CheckLimits.depth: do not open it, or if you trust its source "
        msg += "copy what you need into a self-contained file with h5py"
    else:
        kind = "error"
        msg = f"HDF5 could not read the file{where}: {detail}; the file is damaged or not HDF5 "
        msg += "(expected every object, attribute and value to be readable)"
    return UntrustedFileError(msg, reason=kind, file=name, path=path if isinstance(path, str) else None)


# ---------------------------------------------------------------- the child: h5py and numpy only


class _Refused(Exception):
    """The file reaches outside itself."""


class _Node:
    """A path as a chain of names: building every path of a deep tree as text would be quadratic."""

    __slots__ = ("name", "parent")

    def __init__(self, name: str, parent: _Node | None) -> None:
        self.name, self.parent = name, parent

    def path(self) -> str:
        names: list[str] = []
        node: _Node | None = self
        while node is not None and node.parent is not None:
            names.append(node.name)
            node = node.parent
        return "/" + "/".join(reversed(names))


class _Walker:
    """Visit every object, attribute and link of an open file once, without recursion."""

    def __init__(self, block: int, depth: int = DEFAULT_DEPTH) -> None:
        self.block, self.depth = block, depth
        self.chunk_bytes = 0  # what HDF5 must hold at once to decode a chunk of the current dataset
        self.counts = {"groups": 0, "datasets": 0, "attributes": 0, "links": 0, "bytes_read": 0}
        self.where: _Node | None = None  # None until the file is open
        self.what = "opening the file"
        self._seen: set[tuple[int, int]] = set()

    def run(self, f: h5py.File) -> None:
        root = self.where = _Node("", None)
        self._visit(f, root)
        stack: list[tuple[h5py.Group, _Node, int]] = [(f, root, 0)]
        while stack:
            group, node, depth = stack.pop()
            self.where, self.what = node, "member names"
            if depth > self.depth:
                msg = f"groups nested deeper than {self.depth} levels refused (CheckLimits.depth; "
                raise _Refused(msg + f"loads refuse trees deeper than MAX_DEPTH={MAX_DEPTH})")
            for name in list(group):
                child = _Node(name, node)
                obj = self._follow(group, name, child)
                if obj is not None and self._visit(obj, child) and isinstance(obj, h5py.Group):
                    stack.append((obj, child, depth + 1))

    def _follow(self, group: h5py.Group, name: str, node: _Node) -> Any:
        """The object a hard link leads to, or ``None`` for a soft link (never followed: its
        target is visited through its hard link); other links are refused."""
        self.where, self.what = node, "link"
        link = group.get(name, getlink=True)
        if isinstance(link, h5py.HardLink):
            self.what = "object"
            return group[name]
        self.counts["links"] += 1
        if isinstance(link, h5py.SoftLink):
            return None
        if isinstance(link, h5py.ExternalLink):
            raise _Refused(f"external link to {link.filename}:{link.path} refused (never followed)")
        raise _Refused(f"link of an unknown class ({type(link).__name__}) refused (never followed)")

    def _visit(self, obj: Any, node: _Node) -> bool:
        """Read ``obj``'s attributes (and, for a dataset, its metadata and data); ``False`` if it
        was visited before through another hard link."""
        info = h5py.h5o.get_info(obj.id)
        key = (info.fileno, info.addr)
        if key in self._seen:
            return False
        self._seen.add(key)
        self.where = node
        for name in list(obj.attrs):
            self.what = f"attribute {name!r}"
            value = obj.attrs[name]
            self.counts["attributes"] += 1
            self.counts["bytes_read"] += np.asarray(value).nbytes if not isinstance(value, h5py.Empty) else 0
        self.what = ""
        if isinstance(obj, h5py.Group):
            self.counts["groups"] += 1
        elif isinstance(obj, h5py.Dataset):
            self.counts["datasets"] += 1
            self._dataset(obj)
        return True

    def _dataset(self, dset: h5py.Dataset) -> None:
        self.what = "dataset metadata"
        shape, dtype, chunks = dset.shape, dset.dtype, dset.chunks
        plist = dset.id.get_create_plist()
        for i in range(plist.get_nfilters()):
            plist.get_filter(i)
        for i in range(plist.get_external_count()):
            plist.get_external(i)
        dset.fillvalue  # noqa: B018  (read for its errors)
        reason = foreign_storage(dset)
        if reason is not None:
            raise _Refused(reason)
        if shape is None:  # an empty dataspace holds no values
            return
        self.what = "dataset values"
        itemsize = max(dtype.itemsize, 1)
        if chunks is None:
            if dset.id.get_storage_size() > 0:  # unallocated: only fill values, nothing from the file
                self._read(dset, (0,) * len(shape), shape, itemsize)
            return
        self.chunk_bytes = int(np.prod(chunks, dtype=np.float64) * itemsize) if plist.get_nfilters() else 0
        for offset in _chunk_offsets(dset):
            stop = tuple(min(o + c, n) for o, c, n in zip(offset, chunks, shape))
            self._read(dset, offset, stop, itemsize)
        self.chunk_bytes = 0

    def _read(self, dset: h5py.Dataset, start: Sequence[int], stop: Sequence[int], itemsize: int) -> None:
        for selection in _blocks(start, stop, itemsize, self.block):
            self.counts["bytes_read"] += np.asarray(dset[selection]).nbytes


def _chunk_offsets(dset: h5py.Dataset) -> list[tuple[int, ...]]:
    """Where the stored chunks of ``dset`` start (walking its chunk index)."""
    offsets: list[tuple[int, ...]] = []
    if hasattr(dset.id, "chunk_iter"):
        dset.id.chunk_iter(lambda info: offsets.append(tuple(info.chunk_offset)))
    else:  # pragma: no cover - HDF5 before 1.14
        offsets = [tuple(dset.id.get_chunk_info(i).chunk_offset) for i in range(dset.id.get_num_chunks())]
    return offsets


def _blocks(
    start: Sequence[int], stop: Sequence[int], itemsize: int, budget: int
) -> Iterator[tuple[slice, ...]]:
    """Selections covering ``start:stop`` of at most ``budget`` bytes each (one element at least).

    >>> list(_blocks((0, 0), (3, 4), 8, 64))
    [(slice(0, 2, None), slice(0, 4, None)), (slice(2, 3, None), slice(0, 4, None))]
    """
    room = max(budget // itemsize, 1)
    sizes: list[int] = []
    for lo, hi in zip(reversed(start), reversed(stop)):
        size = max(min(hi - lo, room), 1)
        sizes.append(size)
        room = max(room // size, 1)
    sizes.reverse()
    ranges = [range(lo, hi, size) for lo, hi, size in zip(start, stop, sizes)]
    for corner in itertools.product(*ranges):
        yield tuple(slice(c, min(c + s, hi)) for c, s, hi in zip(corner, sizes, stop))


def walk(
    path: str,
    block: int = DEFAULT_BLOCK,
    memory: int | None = None,
    depth: int = DEFAULT_DEPTH,
    *,
    _visit: Callable[[_Walker], object] | None = None,
) -> dict[str, Any]:
    """Walk ``path`` in this process and return the verdict (what the child prints).

    ``memory`` is the address-space limit the process runs under: an HDF5 error while decoding
    a compressed chunk larger than the room left under it is reported as a memory problem (the
    deflate filter, failing to allocate, says only "filter returned failure").  ``_visit``
    (tests only) replaces the walk of the file.

    >>> walk("/nonexistent.h5")["kind"]
    'error'
    """
    walker = _Walker(block, depth)
    try:
        if _visit is not None:
            _visit(walker)
        else:
            with h5py.File(path, "r", locking=False) as f:
                walker.run(f)
    except MemoryError as exc:
        return _problem("memory", walker, f"MemoryError: {exc}")
    except _Refused as exc:
        return _problem("refused", walker, str(exc))
    except Exception as exc:
        text = f"{type(exc).__name__}: {exc}"
        kind = "memory" if "memory allocation failed" in text or "Cannot allocate" in text else "error"
        if memory is not None and walker.chunk_bytes > memory - _address_space():
            kind = "memory"
            text = f"a compressed chunk of this dataset decodes to {walker.chunk_bytes} bytes; {text}"
        return _problem(kind, walker, text)
    return {"ok": True, **walker.counts}


def _address_space() -> int:
    """Bytes of address space this process uses now (0 where ``/proc`` is missing)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        return 0


def _problem(kind: str, walker: _Walker, message: str) -> dict[str, Any]:
    path = walker.where.path() if walker.where is not None else None
    return {"ok": False, "kind": kind, "path": path, "what": walker.what, "message": message}


def limit_memory(limit: int) -> None:
    """Cap this process's address space at ``limit`` bytes (and write no core files)."""
    import resource

    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))


def main(
    argv: Sequence[str] | None = None, *, walker: Callable[[str, int, int, int], dict[str, Any]] = walk
) -> int:
    """The child: ``python -m jangada_like._untrusted --memory BYTES --block BYTES --depth N FILE``.

    Prints one JSON line: ``{"ok": true, "groups": ..., ...}`` or ``{"ok": false, "kind":
    "memory" | "refused" | "error", "path": ..., "what": ..., "message": ...}``.
    """
    import argparse  # only the child process parses arguments: not on `import jangada_like`

    parser = argparse.ArgumentParser(prog="python -m jangada_like._untrusted")
    parser.add_argument("--memory", type=int, default=DEFAULT_MEMORY)
    parser.add_argument("--block", type=int, default=DEFAULT_BLOCK)
    parser.add_argument("--depth", type=int, default=DEFAULT_DEPTH)
    parser.add_argument("--hdf5plugin", action="store_true")
    parser.add_argument("file")
    args = parser.parse_args(argv)
    if args.hdf5plugin:
        import hdf5plugin  # noqa: F401  (registers its filters)
    limit_memory(args.memory)
    print(json.dumps(walker(args.file, args.block, args.memory, args.depth)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
