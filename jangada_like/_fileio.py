"""Whole-file operations: the format header, atomic save, eager and lazy reads."""

from __future__ import annotations

import contextlib
import errno
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import h5py
import numpy as np

from ._engine import MAX_DEPTH, SHALLOW_DEPTH, Context, walk
from ._h5 import attr_names, foreign_storage, link_names, read_attr, str_attr, write_attr
from ._incremental import file_stamp, incremental_possible, update_file
from ._locking import FileLock, access_error, check_regular, check_timeout, lock_holders, system_errno
from ._recovery import recover
from ._version import __version__
from .codecs.base import AttrNode, Codec
from .codecs.containers import remembering_kinds
from .codecs.nested import stored_version
from .codecs.numpy_ import NdarrayCodec
from .codecs.tables import _values as table_cells
from .errors import (
    ClassMismatchError,
    FileAccessError,
    FileChangedError,
    FileFormatError,
    FileLockedError,
    FormatVersionError,
    JangadaError,
    MissingRootError,
    NestingTooDeepError,
    add_note,
)
from .format import CLASS_ATTR, DATASET_ATTR, FORMAT_ATTR, FORMAT_VERSION, LIBRARY_ATTR, ROOT, VERSION_ATTR
from .partial import NotLoaded, Selection
from .registry import CodecRegistry, active_registry, default_registry
from .serializable import Serializable, unknown_tag_hint

T = TypeVar("T")

#: HDF5 object formats of 1.10: readable by h5dump 1.10, required for SWMR, and with chunk
#: indexes whose append cost does not grow with the dataset
LIBVER = ("v110", "v110")
TMP_SUFFIX = ".jltmp"


def open_h5(path: str | os.PathLike[str], mode: str, *, locked: bool = False, **kwargs: Any) -> h5py.File:
    """Open with our defaults (our own flock replaces HDF5's lock); errors name the file.

    ``locked`` says the caller holds the file's lock, so no live writer exists and consistency
    flags left by a crashed writer may be cleared (see :mod:`jangada_like._recovery`).  An
    existing file that is not locked is checked to be a regular file first (a FIFO would block
    the open forever).  Errors of the system (missing, denied, disk full) are
    a :class:`~jangada_like.errors.FileAccessError`, a broken file a :class:`FileFormatError`.
    """
    try:
        if mode in ("r", "r+") and set(kwargs) <= {"swmr"}:
            if not locked:
                check_regular(os.stat(path), path)
            return _open_existing(path, mode, bool(kwargs.get("swmr")))
        return h5py.File(path, mode, libver=LIBVER, locking=False, **kwargs)
    except JangadaError:
        raise
    except (OSError, RuntimeError) as exc:
        if locked and "consistency flags" in str(exc):
            _refuse_live_swmr_writer(path)
            if recover(path):
                return open_h5(path, mode, **kwargs)
        if system_errno(exc) is not None:
            raise access_error(exc, path, f"open (mode {mode!r})") from None
        msg = f"cannot open '{os.fspath(path)}' as HDF5 (mode {mode!r}): {exc}"
        raise FileFormatError(msg, file=path) from None


def _refuse_live_swmr_writer(path: str | os.PathLike[str]) -> None:
    """Raise :class:`FileLockedError` when the flags marking the file open for writing may belong
    to a live SWMR writer: it holds a shared lock only (so that plain h5py SWMR readers get in),
    and so do its h5py readers; a crashed writer holds none, and only then are the flags cleared."""
    holders = [pid for pid in lock_holders(path) if pid != os.getpid()]
    if holders:
        msg = f"process {', '.join(map(str, holders))} has the file open while it is marked open for "
        msg += "writing (a SWMR writer and its live readers): read it live with "
        msg += "`Cls.load(path, swmr=True)` or `with Cls(path, mode='r', swmr=True) as obj:`, "
        msg += "or open it again once the writer has closed it"
        raise FileLockedError(msg, file=path)


_FAPL: list[Any] = []


def _open_existing(path: str | os.PathLike[str], mode: str, swmr: bool) -> h5py.File:
    """``h5py.File(path, mode, libver=LIBVER, locking=False, swmr=swmr)`` with one file access
    property list made once: building it again for every open costs as much as the open."""
    if not _FAPL:
        fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
        fapl.set_libver_bounds(h5py.h5f.LIBVER_V110, h5py.h5f.LIBVER_V110)
        fapl.set_file_locking(False, ignore_when_disabled=False)
        _FAPL.append(fapl)
    flags = h5py.h5f.ACC_RDWR if mode == "r+" else h5py.h5f.ACC_RDONLY
    if swmr:
        flags |= h5py.h5f.ACC_SWMR_READ
    fid = h5py.h5f.open(os.fsencode(path), flags, fapl=_FAPL[0])
    return h5py.File(fid)


def write_header(f: h5py.File) -> None:
    """Stamp the format and library versions on the file root."""
    write_attr(f, FORMAT_ATTR, FORMAT_VERSION)
    write_attr(f, LIBRARY_ATTR, __version__)


def check_header(f: h5py.File, name: str) -> int:
    """Return the file's format version (0: a file written by jangada 0.1.x); refuse newer
    formats naming both versions."""
    try:
        raw = read_attr(f, FORMAT_ATTR)
    except KeyError:
        raw = None
    if raw is None:
        root = f.get(ROOT)
        if isinstance(root, h5py.Group) and CLASS_ATTR in root.attrs:
            return 0  # jangada's layout: read with its conventions (see docs/jangada.rst)
        msg = f"not a jangada_like file: the root has no '{FORMAT_ATTR}' attribute"
        raise FileFormatError(msg, file=name, path="/")
    try:
        version = int(raw)
    except (TypeError, ValueError):
        raise FileFormatError(f"bad {FORMAT_ATTR} {raw!r:.40}", file=name, path="/") from None
    if version > FORMAT_VERSION:
        writer = f.attrs.get(LIBRARY_ATTR, "?")
        msg = f"file format version {version} (written by jangada_like {writer}) is newer than "
        msg += f"format version {FORMAT_VERSION} that jangada_like {__version__} reads: upgrade"
        raise FormatVersionError(msg, file=name, path="/")
    if version < 1:
        raise FileFormatError(f"bad {FORMAT_ATTR} {version}", file=name, path="/")
    return version


def encode_root(obj: Any, f: h5py.File, ctx: Context, *, deep: bool | None = None) -> None:
    """Write ``obj`` as ``/root`` of an empty, open file."""
    write_header(f)

    def run() -> None:
        for name in list(f):  # a retry on a large stack starts from an empty file
            del f[name]
        ctx.depth = 0
        ctx.encode(obj, f, ROOT)
        ctx.flush_tags()

    walk(run, deep=deep)


def decode_root(f: h5py.File, ctx: Context, expected: type | None, into: Any = None) -> Any:
    """Read ``/root`` (checking it holds an ``expected``) into a new object or into ``into``.

    Whatever goes wrong while reading is reported as a library error naming the file.
    """
    return _reading(ctx, lambda: _read_root(f, ctx, expected, into))


def _reading(ctx: Context, read: Callable[[], T]) -> T:
    """``read()``, reporting whatever goes wrong as a library error naming the file."""
    try:
        return read()
    except (JangadaError, Warning):
        raise
    except Exception as exc:
        msg = f"cannot read the file: {type(exc).__name__}: {exc}"
        raise FileFormatError(msg, file=ctx.file_name, path="/root") from exc


def _read_root(f: h5py.File, ctx: Context, expected: type | None, into: Any) -> Any:
    ctx.legacy = check_header(f, ctx.file_name) == 0
    if not f.id.links.exists(ROOT.encode()):
        raise MissingRootError("the file has no 'root' group", file=ctx.file_name, path="/root")
    f._jl_path = "/"
    root = ctx.child(f, ROOT)
    if not isinstance(root, h5py.Group):
        raise FileFormatError("'/root' must be a group", file=ctx.file_name, path="/root")
    _check_class(root, ctx, expected)
    return walk(lambda: _decode_root(root, ctx, into))


def _decode_root(root: h5py.Group, ctx: Context, into: Any) -> Any:
    ctx.reset()
    if into is None:
        return ctx.decode(root)
    found = type(into).class_for_tag(str_attr(root, CLASS_ATTR, ctx))
    if found is not type(into) and isinstance(found, type) and issubclass(found, type(into)):
        _become(into, found, ctx)  # Base.open(path) of a Child's file gives a Child, as load does
    if found is not type(into):
        msg = f"the file holds a {getattr(found, '__qualname__', found)}, not a "
        msg += f"{type(into).__qualname__}: use {type(into).__qualname__}.load(path)"
        raise ClassMismatchError(msg, file=ctx.file_name, path="/root")
    version = stored_version(root, type(into), ctx)
    if version < type(into).__jangada_version__ and ctx.session is not None and ctx.session.writable:
        msg = f"the file holds version {version} of {type(into).__qualname__} (this code has version "
        msg += f"{type(into).__jangada_version__}): open it with mode='r', or migrate the file first "
        msg += f"with {type(into).__qualname__}.load(path).save(path)"
        raise FormatVersionError(msg, file=ctx.file_name, path="/root")
    return ctx.decode_object(root, type(into), into=into, version=version)


def _become(obj: Any, cls: type, ctx: Context) -> None:
    """Make ``obj`` (a fresh, not yet filled instance of a base class) an instance of its
    subclass ``cls``, the class the file holds."""
    try:
        obj.__class__ = cls
    except TypeError as exc:  # a subclass with another memory layout (__slots__)
        msg = f"the file holds a {cls.__qualname__}, which cannot be opened as a "
        msg += f"{type(obj).__qualname__} ({exc}): use `with {cls.__qualname__}(path, mode=...)`"
        raise ClassMismatchError(msg, file=ctx.file_name, path="/root") from None


def _check_class(root: h5py.Group, ctx: Context, expected: type | None) -> None:
    if expected is None or expected is Serializable:
        return
    tag = str_attr(root, CLASS_ATTR, ctx)
    found = Serializable.class_for_tag(tag)
    if found is None:
        if ctx.strict:
            return  # the object codec raises UnknownClassError with the details
        msg = f"the file holds an object of unregistered class {tag!r}, not a "
        msg += f"{expected.__qualname__}: {unknown_tag_hint(tag)}"
        raise ClassMismatchError(msg, file=ctx.file_name, path="/root")
    if not issubclass(found, expected):
        msg = f"the file holds a {found.__qualname__} ({tag}), not a {expected.__qualname__}: "
        msg += f"load it with {found.__qualname__}.load or jangada_like.load"
        raise ClassMismatchError(msg, file=ctx.file_name, path="/root")


def quick_root(f: h5py.File, ctx: Context, into: Any) -> bool:
    """Read the most common root of a lazy session, an object whose stored members are arrays
    (and attribute scalars), with the same checks as :func:`decode_root` and less Python.

    Returns ``False``, having changed nothing, whenever the file holds anything else (an older
    or newer format, another class or class version, nested objects, containers, shared
    datasets, undeclared properties, links other than hard links, virtual datasets) or anything
    fails: :func:`decode_root` then reads it and reports what is wrong.  Reopening a file for
    every append spends most of its time here (see docs/performance.rst, W4).
    """
    cls = type(into)
    try:
        found = _quick_members(f, ctx, cls)
    except Exception:
        return False
    if found is None:
        return False
    values, version = found
    _reading(ctx, lambda: ctx.build_object(cls, values, "/" + ROOT, version, obj=into))
    return True


def _quick_members(f: h5py.File, ctx: Context, cls: Any) -> tuple[dict[str, Any], int] | None:
    """The stored values of the root's members for :func:`quick_root`, or ``None``."""
    if ctx.selection is not None or ctx.session is None:
        return None
    try:
        fmt = read_attr(f, FORMAT_ATTR)
    except KeyError:
        return None
    if type(fmt) is not np.int64 or not 1 <= fmt <= FORMAT_VERSION:
        return None
    key = ROOT.encode()
    if f.id.links.get_info(key).type != h5py.h5l.TYPE_HARD:
        return None
    oid = h5py.h5o.open(f.id, key)
    if not isinstance(oid, h5py.h5g.GroupID):
        return None
    root = h5py.Group(oid)
    f._jl_path, root._jl_path = "/", "/" + ROOT
    names = attr_names(root)
    tag = read_attr(root, CLASS_ATTR) if CLASS_ATTR in names else None
    version = read_attr(root, VERSION_ATTR) if VERSION_ATTR in names else 1
    if type(tag) is not str or cls.class_for_tag(tag) is not cls:
        return None
    if type(version) not in (int, np.int64) or version != cls.__jangada_version__:
        return None
    props = cls._serializable_properties
    codec = ctx.registry.lookup_tag(_ARRAY_TAG)  # a registry without it raises: handed over
    if type(codec) is not NdarrayCodec:
        return None
    values: dict[str, Any] = {}
    places = set()
    group = root.id
    for name in sorted(link_names(root)):
        if name.startswith("__"):
            continue  # hidden, as decode_object has them
        if name not in props:
            return None
        key = name.encode()
        info = group.links.get_info(key)
        if info.type != h5py.h5l.TYPE_HARD or info.u in places:
            return None
        places.add(info.u)
        oid = h5py.h5o.open(group, key)
        if not isinstance(oid, h5py.h5d.DatasetID):
            return None
        dset = h5py.Dataset(oid)
        try:
            dataset_tag = read_attr(dset, DATASET_ATTR)
        except KeyError:
            dataset_tag = _ARRAY_TAG
        if type(dataset_tag) is not str or foreign_storage(dset) is not None:
            return None
        if ctx.registry.lookup_tag(dataset_tag) is not codec:  # another codec reads it
            return None
        dset._jl_path = f"/{ROOT}/{name}"
        values[name] = ctx.session.proxy(dset, codec)
    scalars = [n for n in names if not n.startswith("__")]
    if scalars:
        attrs = ctx.attrs_of(root, names)
        for name in scalars:
            if name not in props:
                return None
            ctx.prop = f"{cls.__qualname__}.{name}"
            values[name] = ctx.decode(AttrNode(root, name, attrs[name]))
        ctx.prop = None
    return values, int(version)


_ARRAY_TAG = "numpy.ndarray"


def load_file(
    path: str | os.PathLike[str],
    expected: type | None,
    *,
    strict: bool = False,
    timeout: float | None = 0,
    into: Any = None,
    only: Any = None,
    exclude: Any = None,
    swmr: bool = False,
) -> Any:
    """Read a whole file eagerly (under a shared lock; ``swmr``: with no lock, as a live reader
    of a file a SWMR writer has open)."""
    name = os.fspath(path)
    try:
        check_regular(os.stat(name), name)
    except OSError as exc:
        raise (exc if isinstance(exc, JangadaError) else access_error(exc, name, "open")) from None
    lock = contextlib.nullcontext() if swmr else FileLock(name, exclusive=False, timeout=timeout)
    with lock, open_h5(name, "r", locked=not swmr, **({"swmr": True} if swmr else {})) as f:
        ctx = Context(f, strict=strict, file_name=name)
        ctx.selection = Selection.build(only, exclude)
        obj = decode_root(f, ctx, expected, into=into)
    if hasattr(obj, "__dict__"):
        stamp = file_stamp(name)
        remember_seen(obj, name, stamp)  # a later save over a changed file is refused
        if not ctx.legacy and not ctx.migrated and not swmr:
            obj.__dict__["_jl_origin_"] = stamp  # a later save here can be incremental
            obj.__dict__["_jl_origin_path_"] = os.path.realpath(name)
    return obj


def compact(path: str | os.PathLike[str], *, timeout: float | None = 0) -> tuple[int, int]:
    """Rewrite the file at ``path`` without the space that values replaced in ``r+`` sessions
    left behind (HDF5 does not reuse freed space once a file is closed); return the sizes
    ``(before, after)`` in bytes.

    The file is copied object by object into a temporary file beside it (HDF5's object copy: no
    value is decoded, so files larger than memory are fine, and an object stored in two places
    stays one object), under the file's write lock, then renamed over it: a crash leaves the
    original untouched.  Waits up to ``timeout`` seconds for other writers.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from jangada_like import Persistable, SerializableProperty
    >>> class Run(Persistable):
    ...     data = SerializableProperty(default=None)
    >>> path = Run(data=np.zeros(100_000)).save(os.path.join(tempfile.mkdtemp(), "run"))
    >>> with Run(path, mode="r+") as run:
    ...     run.data = np.ones(10)  # the 800 kB of the old array stay in the file
    >>> before, after = compact(path)
    >>> after < before / 10, Run.load(path).data.tolist() == [1.0] * 10
    (True, True)
    """
    target = Path(os.fspath(path))
    check_timeout(timeout, target)
    before = target.stat().st_size
    copied: list[Any] = []

    def unchanged() -> None:  # under the write lock, just before the rename
        if file_stamp(target) != copied[0]:
            msg = "the file was written to while it was being compacted: nothing was changed; "
            msg += "compact it again once the writer is done"
            raise FileChangedError(msg, file=target)

    # under a read lock: no writer while copying; the write lock is taken for the rename
    with (
        atomic_target(target, timeout, before_rename=unchanged) as tmp,
        FileLock(target, exclusive=False, timeout=timeout),
    ):
        copied.append(file_stamp(target))
        with open_h5(target, "r", locked=True) as src:
            check_header(src, os.fspath(target))
            try:
                created = open_h5(tmp, "w")
            except FileAccessError as exc:
                raise access_error(exc, target, "create a temporary file to compact") from exc
            with closing_safely(created, target) as dst:
                for key in src.attrs:
                    dst.attrs.create(key, src.attrs[key], dtype=src.attrs.get_id(key).dtype)
                for name in src:  # one copy per member: objects linked twice stay one
                    src.copy(name, dst)
    return before, target.stat().st_size


def remember_seen(obj: Any, path: str | os.PathLike[str], stamp: Any) -> None:
    """Note the state ``path`` had when ``obj`` was last loaded from it or saved to it (one entry
    per file: saving a backup elsewhere does not forget the original)."""
    seen = obj.__dict__.setdefault("_jl_seen_", {})
    seen[os.path.realpath(path)] = stamp


@contextlib.contextmanager
def atomic_target(
    path: Path,
    timeout: float | None = 0,
    durable: bool = False,
    before_rename: Callable[[], None] | None = None,
) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it over ``path`` (``durable``:
    ``fsync`` it first and the folder after, so the new file survives a power cut too).
    ``before_rename`` runs holding the lock of an existing ``path``, just before the rename (it
    may raise to keep ``path`` as it is).

    On any failure the temporary file is removed and ``path`` is left byte-identical.  The
    rename waits (up to ``timeout``) for the write lock of an existing ``path``: a process still
    writing to the old file would otherwise go on writing into a file nobody can open again.
    """
    remove_stale_temporaries(path)
    tmp = _create_temporary(path)
    try:
        yield tmp
        if durable:
            _fsync(tmp)
        if path.is_file():
            with FileLock(path, exclusive=True, timeout=timeout):
                if before_rename is not None:
                    before_rename()
                os.replace(tmp, path)
        else:
            os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, FileAccessError) and exc.file == os.fspath(tmp):
            add_note(exc, f"(the temporary file of a save to '{path}', removed: '{path}' is unchanged)")
        raise
    if durable:
        _fsync_dir(path.parent)


#: a temporary file is created new, never through a symlink, with the mode of a normal file
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def _create_temporary(path: Path) -> Path:
    """Create the temporary file of a save to ``path`` (empty, exclusively, not following a
    symlink) and return its path.  A name that is taken (say, by a symlink planted to make the
    save write elsewhere) is left alone and another random name tried."""
    for _ in range(8):
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}{TMP_SUFFIX}")
        try:
            os.close(os.open(tmp, _CREATE, 0o666))
        except FileExistsError:
            continue
        except OSError as exc:
            raise access_error(exc, path, "create a temporary file to save") from None
        return tmp
    msg = f"cannot create a temporary file beside '{path}': 8 random names were all taken; "
    msg += f"remove the files named .{path.name}.*{TMP_SUFFIX} there"
    raise FileAccessError(msg, file=path, errno=errno.EEXIST)


def save_file(
    obj: Any,
    path: Path,
    timeout: float | None = 0,
    incremental: bool | None = None,
    durable: bool = False,
    force: bool = True,
) -> bool:
    """Atomically write ``obj`` to ``path``; return whether it was an incremental save.
    ``force=False``: refuse to overwrite the file ``obj`` came from if it changed since."""
    check_timeout(timeout, path)  # at once, not only when the file happens to be locked
    with remembering_kinds():
        return _save_file(obj, path, timeout, incremental, durable, force)


def _origin(obj: Any, path: Path) -> tuple[int, int, int, int] | None:
    """The stamp of ``path`` when ``obj`` was loaded from it or last saved to it, else ``None``."""
    seen = getattr(obj, "__dict__", {}).get("_jl_seen_") or {}
    return seen.get(os.path.realpath(path))  # type: ignore[no-any-return]


def _refuse_changed(obj: Any, path: Path) -> None:
    origin = _origin(obj, path)
    now = file_stamp(path)
    if origin is None or now is None or now == origin:
        return
    what = "was replaced by another file" if now[:2] != origin[:2] else "was written to"
    msg = f"the file {what} since this {type(obj).__name__} was loaded from it (another process "
    msg += "appended or saved): saving would lose that work. Load it again and apply your change "
    msg += "(or change it in place: `with Cls(path, mode='r+') as obj:`), or overwrite it anyway "
    msg += "with save(path, force=True)"
    raise FileChangedError(msg, file=path)


def _save_file(
    obj: Any, path: Path, timeout: float | None, incremental: bool | None, durable: bool, force: bool = True
) -> bool:
    shared: set[int] = set()
    depth = validate(obj, os.fspath(path), shared)
    if not force:
        _refuse_changed(obj, path)  # early, before anything is written ...
    possible = incremental is not False and incremental_possible(obj, path, shared)
    if incremental and not possible:
        msg = "an incremental save needs the object loaded from this file, the file unchanged "
        msg += "since, and no value shared between two places of the tree"
        raise ValueError(f"{msg}: {path}")
    check = None if force else (lambda: _refuse_changed(obj, path))  # ... and under the lock
    with atomic_target(path, timeout, durable, before_rename=check) as tmp:
        if possible and depth <= SHALLOW_DEPTH:
            possible = _update_clone(obj, path, tmp, timeout, required=bool(incremental))
        if not (possible and depth <= SHALLOW_DEPTH):
            try:
                created = open_h5(tmp, "w")
            except FileAccessError as exc:  # named after the file being saved, not the temporary
                raise access_error(exc, path, "create a temporary file to save") from exc
            with closing_safely(created, path) as f:
                ctx = Context(f, file_name=os.fspath(path))
                ctx.compact = True  # a fresh file of this format: small values contiguous
                ctx.shared = shared
                encode_root(obj, f, ctx, deep=depth > SHALLOW_DEPTH)
    if hasattr(obj, "__dict__"):
        obj.__dict__["_jl_origin_"] = file_stamp(path)
        obj.__dict__["_jl_origin_path_"] = os.path.realpath(path)
        remember_seen(obj, path, obj.__dict__["_jl_origin_"])
    return possible and depth <= SHALLOW_DEPTH


@contextlib.contextmanager
def closing_safely(f: h5py.File, name: str | os.PathLike[str]) -> Iterator[h5py.File]:
    """Close ``f`` after the block, also when the system refused a write (disk full): the write
    failure is raised as :class:`~jangada_like.errors.FileAccessError` naming ``name``, and the
    file is closed by :func:`abandon` (HDF5 would try the same writes again at close, fail, and
    leave a half-closed file that crashes the interpreter at exit)."""
    try:
        yield f
        flush_safely(f)
    except BaseException as exc:
        abandon(f)
        if not isinstance(exc, JangadaError) and system_errno(exc) is not None:
            raise access_error(exc, name, "write") from exc
        raise
    f.close()


def flush_safely(f: h5py.File, sync: bool = False, metadata: bool = True) -> None:
    """Flush ``f`` so that a full disk fails before HDF5 rewrites the superblock: the raw data of
    the open datasets first, then the space up to the end HDF5 has allocated is claimed
    (``posix_fallocate``), and only then the metadata, which then lands in claimed space.  HDF5
    alone writes a superblock naming the new end of the file and then fails to write up to it,
    leaving a file it refuses to open ("truncated file").  ``sync``: ``fsync`` too."""
    for did in h5py.h5f.get_obj_ids(f.id, types=h5py.h5f.OBJ_DATASET):
        did.flush()
    fd = f.id.get_vfd_handle()
    end = f.id.get_filesize()  # the larger of the end HDF5 allocated and the file's size
    have = os.fstat(fd).st_size
    if have < end:
        try:
            os.posix_fallocate(fd, have, end - have)
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                raise
    if metadata:
        f.flush()
    if sync:
        os.fsync(fd)


def abandon(f: h5py.File) -> None:
    """Close ``f`` writing nothing more to its file: after a failed write, what HDF5 still holds
    (dirty metadata, cached chunks) goes to ``/dev/null``, so the file keeps what was last
    flushed and the close succeeds.  (A close whose writes fail leaves HDF5 holding the file
    half closed; the interpreter then dies of SIGSEGV at exit.)"""
    if not f.id.valid:
        return
    try:
        fd = f.id.get_vfd_handle()
    except Exception:  # pragma: no cover - a driver without a descriptor
        fd = None
    if isinstance(fd, int) and fd >= 0:
        null = os.open(os.devnull, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
        try:
            os.dup2(null, fd, inheritable=False)
        finally:
            os.close(null)
    with contextlib.suppress(Exception):
        f.close()


def _update_clone(obj: Any, path: Path, tmp: Path, timeout: float | None, required: bool) -> bool:
    """Clone ``path`` to ``tmp`` and update the clone, holding a read lock so that no writer
    changes the file while it is copied (waiting up to ``timeout``); return ``False`` when a
    writer changed the file after :func:`incremental_possible` looked (a full save then)."""
    with FileLock(path, exclusive=False, timeout=timeout):
        if file_stamp(path) != obj.__dict__.get("_jl_origin_"):
            if required:
                msg = "an incremental save needs the file unchanged since the object was loaded, "
                msg += "and another process wrote it meanwhile: save it without incremental=True"
                raise ValueError(f"{msg}: {path}")
            return False
        update_file(obj, path, tmp)
    return True


def validate(
    obj: Any,
    name: str,
    shared: set[int] | None = None,
    *,
    where: str = "/root",
    prop: str | None = None,
    registry: CodecRegistry | None = None,
) -> int:
    """Check that every value in the tree has a codec before any file is touched; return the
    depth of the tree.  Ids of values met more than once are added to ``shared``; ``where`` and
    ``prop``: where the tree goes in the file (for messages)."""
    registry = registry or active_registry()
    stack: list[tuple[Any, str, str | None, int]] = [(obj, where, prop, 1)]
    seen: set[int] = set()
    deepest = 0
    while stack:
        value, where, prop, depth = stack.pop()
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            msg = f"the tree is nested deeper than MAX_DEPTH={MAX_DEPTH} levels (jangada_like.MAX_DEPTH)"
            raise NestingTooDeepError(msg, file=name, path=where, prop=prop)
        if id(value) in seen:
            if shared is not None:
                shared.add(id(value))
            continue
        seen.add(id(value))
        codec = registry.find_type(type(value))
        if codec is None:
            registry.lookup_type(type(value), file=name, path=where, prop=prop)
            continue
        if isinstance(value, Serializable):
            cls = type(value)
            for key in cls.copiable_properties:
                child = (getattr(value, key), f"{where}/{key}", f"{cls.__qualname__}.{key}", depth + 1)
                stack.append(child)
        else:
            stack.extend((child, f"{where}/...", prop, depth + 1) for child in codec.children(value))
    return deepest


def remove_stale_temporaries(path: Path) -> None:
    """Delete temporary files of earlier saves to ``path`` whose process is gone."""
    prefix = f".{path.name}."
    try:  # one pass over the folder's names, no pattern matching (folders of data are large)
        with os.scandir(path.parent) as entries:
            candidates = [
                e.name for e in entries if e.name.startswith(prefix) and e.name.endswith(TMP_SUFFIX)
            ]
    except OSError:
        return
    for name in candidates:
        pid_text = name[len(prefix) :].split(".", 1)[0]
        if pid_text.isdigit() and not _alive(int(pid_text)):
            with contextlib.suppress(OSError):
                (path.parent / name).unlink()


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class NotLoadedCodec(Codec):
    """Saving a partially loaded object: copy what was not loaded from its file.

    It lives in the file layer, not among the codecs, because it opens another file (the one
    the object was loaded from) and reads it through a door of its own.
    """

    tag = "not-loaded"
    types = (NotLoaded,)

    def encode(self, value: Any, parent: h5py.Group, name: str, ctx: Any) -> None:
        with open_h5(value.file, "r") as src:
            group_path, _, member = value.path.rpartition("/")
            source = Context(src, file_name=value.file, registry=ctx.registry)
            node = source.member(src[group_path or "/"], member)
            if value.row is not None:
                cells = table_cells(node, node.shape[0], source)
                ctx.encode(cells[value.row], parent, name)
            elif isinstance(node, (h5py.Dataset, h5py.Group)):
                parent.copy(node, name)  # HDF5 object copy: no decoding
            else:
                ctx.encode(source.decode(node), parent, name)

    def decode(self, node: Any, ctx: Any) -> Any:  # pragma: no cover - never written as a tag
        raise ctx.error(FileFormatError, "not-loaded markers are never stored")


default_registry.register(NotLoadedCodec())
