"""One open file behind ``with Cls(path, mode=...) as obj``.

Modes as h5py has them: ``r`` (read-only), ``r+`` (read-write), ``w`` (create or truncate),
``a`` (``r+`` if the file exists, else ``w``).  Arrays at any depth become :class:`ProxyDataset`s.
In writable modes every assignment to a property of an object in the file is written at once;
containers changed in place are written when the block exits.  Writers take an exclusive lock on
the file (waiting up to ``timeout`` seconds), readers a shared one; ``swmr=True`` lets readers
follow a writer live.
"""

from __future__ import annotations

import copy
import ctypes
import fcntl
import functools
import hashlib
import os
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import h5py
import numpy as np

from ._compare import values_equal
from ._engine import Context, run_deep, walk
from ._fileio import (
    abandon,
    check_header,
    decode_root,
    encode_root,
    flush_safely,
    open_h5,
    quick_root,
    validate,
)
from ._h5 import attr_names, make_growable
from ._locking import FileLock, access_error, check_regular, check_timeout, file_error, system_errno
from ._optional import pandas_types
from .codecs.base import AttrNode
from .codecs.containers import KEYS_ATTR, NAMED_DICT_LIMIT
from .codecs.items import _homogeneous
from .codecs.tables import TableRows, column
from .errors import (
    FileFormatError,
    JangadaError,
    NotAFileError,
    ReadOnlyError,
    SessionClosedError,
)
from .format import ENUM_VALUE_PREFIX, ITEM_ATTR, ROOT, TYPES_ATTR, is_safe_name
from .proxy import ProxyDataset
from .registry import CodecRegistry, active_registry
from .serializable import Serializable

MODES = ("r", "r+", "w", "a")
T = TypeVar("T")
_SNAPSHOT_TYPES = (
    list,
    dict,
    tuple,
    set,
    frozenset,
    pandas_types("Series", "DataFrame", "Index", "Categorical"),
)
_PROXIED_TYPES = (np.ndarray, pandas_types("DatetimeIndex", "TimedeltaIndex"))
_FRAME_TYPES = pandas_types("DataFrame")
#: the list an object of a table belongs to: a plain list, or the rows a session handed out
Rows = list[Any] | TableRows


class _ObjectNode:
    """Ties one object of the tree to its group, so assignments reach the file."""

    __slots__ = ("group_path", "session")

    def __init__(self, session: Session, group_path: str) -> None:
        self.session = session
        self.group_path = group_path

    def before_get(self, instance: Any, name: str) -> None:
        return None

    def before_set(self, instance: Any, name: str) -> None:
        self.session.check_writable(instance, name)

    def after_set(self, instance: Any, name: str, value: Any) -> None:
        self.session.write_property(instance, self.group_path, name, value)


class OutsideNode:
    """Set on the objects of a session outside its ``with`` block: before it (``entered=False``:
    nothing is read yet, so every read would give a default) and after it (values not read inside
    the block are not in memory, and assignments would reach no file).  Reads of what is not in
    memory and every assignment raise :class:`~jangada_like.errors.SessionClosedError` saying how
    to reopen; values read inside the block stay readable."""

    __slots__ = ("entered", "session")

    def __init__(self, session: Session, entered: bool) -> None:
        self.session = session
        self.entered = entered

    def _refuse(self, instance: Any, name: str, doing: str) -> NoReturn:
        cls = type(instance).__qualname__
        root = self.session.class_name if self.entered else cls  # the class the file is opened with
        mode = self.session.requested_mode
        if doing == "assign" and mode in ("r", "w"):
            mode = "r+"
        reopen = f"`with {root}(path, mode={mode!r}) as obj:`"
        if self.entered:
            msg = f"cannot {doing} {cls}.{name}: its `with` block has ended"
            msg += " and the file is closed" if doing == "assign" else f" before {name} was read"
            msg += f"; reopen the file ({reopen}) to {doing} it"
            if doing == "assign":
                msg += f", or load it into memory ({root}.load(path)), change it and save"
        else:
            msg = f"cannot {doing} {cls}.{name}: the file is opened by a `with` block, which has "
            msg += f"not started: write {reopen}, or {cls}.load(path) to read it all into memory"
        raise SessionClosedError(msg, file=self.session.path, prop=f"{cls}.{name}")

    def before_get(self, instance: Any, name: str) -> None:
        self._refuse(instance, name, "read")

    def before_set(self, instance: Any, name: str) -> None:
        self._refuse(instance, name, "assign")

    def after_set(self, instance: Any, name: str, value: Any) -> None:
        return None


class Session:
    """The open file of one ``with`` block (internal; see :class:`Persistable`)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        mode: str,
        *,
        timeout: float | None = 0,
        swmr: bool = False,
        strict: bool = False,
        values: dict[str, Any] | None = None,
        registry: CodecRegistry | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.path = os.fspath(path)
        self.requested_mode = mode
        self.mode = mode
        self.timeout = check_timeout(timeout, path)  # refused now, not when the file is locked
        self.swmr = swmr
        self.strict = strict
        self.values = values or {}
        self.registry = registry or active_registry()  # every read and write of this session
        self.file: h5py.File | None = None
        self.class_name = "Cls"
        self._lock: FileLock | None = None
        self._objects: dict[int, tuple[Any, str]] = {}
        self._snapshots: dict[tuple[int, str], Any] = {}
        self._datasets: dict[int, h5py.Dataset] = {}
        self._owned: list[Any] = []
        self._live: weakref.WeakSet[ProxyDataset] = weakref.WeakSet()
        self._tables: dict[int, TableRows] = {}
        #: items of lists handed out as TableRows that can change in place: (rows, index, value, copy)
        self._watched: dict[tuple[int, int], tuple[TableRows, int, Any, Any]] = {}
        #: lazy frames handed out: told when their place is given another value
        self._frames: dict[int, weakref.ref[Any]] = {}  # frames compare by value: not hashable
        #: the contexts that read this session's file (their caches are told what is replaced)
        self._readers: weakref.WeakSet[Context] = weakref.WeakSet()
        #: hard links written in this session to objects already in the file: alias -> target
        self._links: dict[str, str] = {}
        #: arrays given to a property in this session, now read through a proxy: the caller may
        #: still change them in place.  (id(obj), name) -> (weak ref, fingerprint, obj, proxy)
        self._given: dict[tuple[int, str], tuple[Any, Any, Any, ProxyDataset]] = {}

    # -- state used by proxies ------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.file is not None and bool(self.file.id.valid)

    @property
    def writable(self) -> bool:
        return self.mode != "r"

    def dataset(self, proxy: ProxyDataset) -> h5py.Dataset:
        return proxy._dset

    def touched(self, proxy: ProxyDataset) -> None:
        if self.swmr and self.file is not None:
            proxy._dset.flush()

    def door(self) -> Context:
        """The checked context the codecs of this session's proxies read and convert through
        (one per open file: a reopened SWMR file gets a new one)."""
        door = self.__dict__.get("_door")
        if door is None or door.file is not self.file:
            assert self.file is not None
            door = Context(self.file, session=self, lazy=True, strict=self.strict, file_name=self.path)
            self.__dict__["_door"] = door
            self.track_reader(door)
        return door

    def flush(self) -> None:
        if self.is_open and self.writable:
            try:
                self._write_changed_in_place()
                flush_safely(self.file, sync=True)  # type: ignore[arg-type]
            except Exception as exc:
                self.refused(exc)
                raise

    def refused(self, exc: BaseException) -> None:
        """After a write the system refused (disk full, I/O error): close the file without
        writing more (see ``abandon``), so it keeps what the last flush wrote, and raise the
        library's error naming the file.  Other errors are left to the caller."""
        if isinstance(exc, JangadaError) or system_errno(exc) is None or self.file is None:
            return
        abandon(self.file)
        self._close()
        err = access_error(exc, self.path, "write")
        err.message += "; the file was closed: what was written since the last flush() is lost, "
        err.message += "everything flushed before is kept (the next open of the file recovers it)"
        raise err from exc

    def own(self, resource: Any) -> None:
        """Close ``resource`` when the session closes."""
        self._owned.append(resource)

    def proxy(self, dset: h5py.Dataset, codec: Any) -> ProxyDataset:
        proxy = ProxyDataset(self, dset, codec)
        if self.swmr and self.mode == "r":
            self._live.add(proxy)  # to point at the file again if it is reopened
        return proxy

    def refresh_values(self, obj: Any, names: Iterable[str]) -> list[str]:
        """For a live reader (mode ``'r'``, ``swmr=True``): read again those of ``names`` that
        ``obj`` stores as attributes (numbers, strings, times, ...), which a SWMR writer may have
        changed since, and return them.  HDF5 keeps an object's attributes cached in a SWMR
        reader until the object is refreshed, so the group is refreshed first.  In other
        sessions nothing can change under the reader (writers wait for its lock): no-op."""
        entry = self._objects.get(id(obj))
        if not (self.swmr and self.mode == "r" and self.is_open) or entry is None or "#" in entry[1]:
            return []
        try:
            values = self._read_attributes(obj, entry[1], names)
        except OSError:
            self._reopen()
            values = self._read_attributes(obj, entry[1], names)
        props = type(obj)._serializable_properties
        for name, value in values.items():
            obj.__dict__[props[name].private_name] = value
        return list(values)

    def _read_attributes(self, obj: Any, path: str, names: Iterable[str]) -> dict[str, Any]:
        assert self.file is not None
        group = self.file[path]
        group._jl_path = path
        refresh_object(group.id)
        ctx = Context(self.file, session=self, lazy=True, strict=self.strict, file_name=self.path)
        present = attr_names(group)
        attrs = ctx.attrs_of(group, present)
        props = type(obj)._serializable_properties
        values = {}
        for name in names:
            if name in present and name in props:
                ctx.prop = f"{type(obj).__qualname__}.{name}"
                values[name] = ctx.decode(AttrNode(group, name, attrs[name]))
        return values

    def _reopen(self) -> None:
        """Open the file again (a SWMR reader), pointing every proxy at it.  An open HDF5 file never
        learns that the writer has allocated space past the end the file had when it was opened,
        and metadata put there (a longer string, a new object header block) reads as "past end of
        allocation" until the file is opened again; HDF5 shares one open file per process, so the
        old one is closed first."""
        assert self.file is not None
        self.file.close()
        self.file = None
        self.file = open_h5(self.path, "r", swmr=True)
        for proxy in list(self._live):
            proxy._dset = self.file[proxy.path]
            proxy.__dict__.pop("_plain", None)

    # -- entering and leaving -------------------------------------------------------------------

    def enter(self, obj: Any) -> None:
        if self.is_open:  # leave the open block as it is: its file, lock and objects
            msg = f"{type(obj).__qualname__} is already open in a `with` block on this file: use the "
            msg += "object of that block, or open another object (`with Cls(path, mode=...)`) after it"
            raise SessionClosedError(msg, file=self.path)
        self.class_name = type(obj).__qualname__
        obj.__dict__.pop("_jl_node_", None)  # attached again as it is read or written
        mode = self.requested_mode
        if mode == "a":
            mode = "r+" if os.path.isfile(self.path) else "w"
        if mode == "w" and not os.path.isfile(self.path):
            try:
                Path(self.path).touch()
            except OSError as exc:
                raise access_error(exc, self.path, "create") from None
        self.mode = mode
        try:
            self._open(obj)
            if self.requested_mode == "a" and mode == "r+" and self.values:
                self._check_initial_values(obj)
        except BaseException as exc:
            self._close(abandoning=True)
            if isinstance(exc, JangadaError):
                raise
            if mode != "w" and not os.path.isfile(self.path):  # asked only on failure: saves a stat
                raise NotAFileError(f"Path {self.path} does not exist", file=self.path) from None
            if isinstance(exc, (OSError, RuntimeError)):
                raise file_error(exc, self.path, None, "write" if mode == "w" else "open") from exc
            raise

    def _check_initial_values(self, obj: Any) -> None:
        """Mode ``'a'`` opened an existing file: the initial values given must be what it holds
        (the "create it like this, or open it" idiom), else they would be silently ignored."""
        differ = [k for k, v in self.values.items() if not values_equal(getattr(obj, k), v)]
        if differ:
            names = ", ".join(f"{type(obj).__qualname__}.{k}" for k in differ)
            msg = f"mode='a' opened the existing file, which holds other values of {names} than "
            msg += "the initial values given (they would be ignored): assign them inside the block, "
            msg += "or use mode='w' to start the file again"
            raise ValueError(f"{msg} [file {self.path!r}]")

    def _open(self, obj: Any) -> None:
        if not (self.swmr and self.mode == "r"):
            self._lock = FileLock(self.path, exclusive=self.mode != "r", timeout=self.timeout)
            self._lock.acquire()
        else:  # no lock to open it: a FIFO would block the open forever
            check_regular(os.stat(self.path), self.path)
        if self.mode == "w":
            self.file = open_h5(self.path, "w", locked=True)
            obj._init_values(self.values)
            ctx = Context(self.file, session=self, file_name=self.path)
            encode_root(obj, self.file, ctx)
            self._adopt(ctx)
        else:
            kwargs = {"swmr": True} if self.swmr and self.mode == "r" else {}
            self.file = open_h5(self.path, self.mode, locked=self._lock is not None, **kwargs)
            ctx = Context(self.file, session=self, lazy=True, strict=self.strict, file_name=self.path)
            ctx.defer = self.mode == "r"
            self.track_reader(ctx)
            if not quick_root(self.file, ctx, obj):
                decode_root(self.file, ctx, type(obj), into=obj)
            if ctx.legacy and self.writable:
                msg = "a file written by jangada 0.1.x opens read-only (mode='r'); load it and "
                msg += "save it to convert it to the jangada_like format first"
                raise FileFormatError(msg, file=self.path, path="/")
        if self.swmr and self.mode != "r":
            self.file.swmr_mode = True
            if self._lock is not None:
                _share(self._lock)

    def exit(self, failed: bool = False) -> None:
        """Write containers changed in place, flush and close.  When the block itself failed,
        an error while writing must not hide the error the block raised."""
        try:
            if self.is_open and self.writable:
                try:
                    if self._snapshots or self._watched or self._given:  # else nothing to compare
                        self._write_changed_in_place()
                    flush_safely(self.file, metadata=False)  # type: ignore[arg-type]
                except Exception as exc:
                    self.refused(exc)
                    raise
        except Exception:
            if not failed:
                raise
        finally:
            self._close(abandoning=failed)

    def _close(self, abandoning: bool = False) -> None:
        """Close everything; ``abandoning`` (the block failed): close a writable file without
        writing more if a flush fails (a failed write would crash HDF5 at exit)."""
        if abandoning and self.writable and self.is_open:
            try:
                flush_safely(self.file)  # type: ignore[arg-type]
            except Exception:
                abandon(self.file)  # type: ignore[arg-type]
        for obj, _path in self._objects.values():
            obj.__dict__["_jl_node_"] = OutsideNode(self, entered=True)
        self._objects.clear()
        self._snapshots.clear()
        self._tables.clear()
        self._watched.clear()
        self._links.clear()
        self._given.clear()
        self._frames.clear()
        for resource in self._owned:
            resource.close()
        self._owned.clear()
        try:
            if self.file is not None:
                self.file.close()
        finally:
            self.file = None
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    # -- objects of the tree --------------------------------------------------------------------

    def attach(self, obj: Any, group_path: str) -> None:
        """Called by the engine for every object read or written in this session."""
        self._objects[id(obj)] = (obj, group_path)
        if self.writable:
            obj.__dict__["_jl_node_"] = _ObjectNode(self, group_path)
            for name in type(obj).copiable_properties:
                value = obj.__dict__.get("_serializable_property__" + name)
                if isinstance(value, _SNAPSHOT_TYPES):
                    self._snapshots[(id(obj), name)] = _snapshot(value)
        else:
            obj.__dict__["_jl_node_"] = _ReadOnlyNode(self)

    def attach_row(self, obj: Any, table_path: str, index: int, items: Rows) -> None:
        """Called by the engine for every object read from an object table."""
        self._objects[id(obj)] = (obj, f"{table_path}#{index}")
        if self.writable:
            obj.__dict__["_jl_node_"] = _RowNode(self, table_path, index, items)
            for name in type(obj).copiable_properties:
                value = obj.__dict__.get("_serializable_property__" + name)
                if isinstance(value, np.ndarray):  # a row's array changed in place: written at exit
                    self._snapshots[(id(obj), name)] = value.copy()
        else:
            obj.__dict__["_jl_node_"] = _ReadOnlyNode(self)

    def write_cell(self, table_path: str, index: int, name: str, value: Any, items: Rows) -> None:
        """An assignment to an object of a table: write the cell, if its column holds the value
        exactly (same kind, shape and dtype: never narrowed), or else the whole list again."""
        if not self.is_open:
            return
        assert self.file is not None
        table = self.file[table_path]
        dset = table.get(name)
        col = column([value])
        if isinstance(dset, h5py.Dataset) and col is not None and col[0] == dset.attrs.get(ITEM_ATTR):
            cell = col[1][0]
            if dset.shape[1:] == np.shape(cell) and _fits(col[0], np.asarray(cell).dtype, dset.dtype):
                dset[index] = cell
                return
        if isinstance(items, TableRows):
            items._replace(list(items))  # the value does not fit its column: the list written anew
        else:
            self.replace_rows(table_path, items)

    def check_writable(self, instance: Any, name: str) -> None:
        if not self.is_open:
            return
        if not self.writable:
            prop = f"{type(instance).__qualname__}.{name}"
            msg = "cannot assign: the file is open read-only (mode='r'); use mode='r+' or 'a'"
            raise ReadOnlyError(msg, file=self.path, prop=prop)

    def write_property(
        self,
        instance: Any,
        group_path: str,
        name: str,
        value: Any,
        *,
        shared: Iterable[int] = (),
        in_place: bool = False,
        changed: bool = False,
    ) -> None:
        """Replace ``group[name]`` by ``value`` now (``shared``: ids of values stored elsewhere).
        ``in_place``: the value held there was changed in place (the same Python object), so
        every other place of the file that links the old value links the new one."""
        if not self.is_open:
            return
        assert self.file is not None
        group = self.file[group_path]
        if in_place:
            where = f"{group.name.rstrip('/')}/{name}"
            write = functools.partial(
                self.write_property, instance, group_path, name, value, shared=shared, changed=True
            )
            if self._everywhere(where, write):
                return
        if isinstance(value, ProxyDataset) and value._source is self and _same(group, name, value):
            return
        if isinstance(value, TableRows) and self._own_rows(value, f"{group.name.rstrip('/')}/{name}"):
            return  # the rows of this very place (``obj.rows += [...]`` assigns them back)
        if (
            isinstance(value, TableRows)
            and value._plain is not None
            and value._replaced is None
            and value._path == f"{group.name.rstrip('/')}/{name}"
        ):
            return  # written anew at this place already (``obj.rows *= 2`` assigns them back)
        if isinstance(value, TableRows) and self._link_rows(instance, group, name, value):
            return
        forwarding: TableRows | None = None
        if isinstance(value, TableRows) and value.live():  # cannot be linked (an ancestor's place)
            forwarding, value = value, value.thawed()  # read whole while it is still in the file
            instance.__dict__["_serializable_property__" + name] = value
        prop = type(instance)._serializable_properties.get(name)
        if prop is not None and not prop.copiable:
            return
        before = self._snapshots.get((id(instance), name), _NOTHING)
        if before is not _NOTHING and not (in_place or changed) and _any_depth(_unchanged, value, before):
            return  # the value it holds, given back unchanged (``obj.a = obj.a``): nothing to do
        given = value
        if type(value) is np.ndarray:  # given to a property before: one array, one dataset
            proxy = next((e[3] for e in self._given.values() if e[0]() is value), None)
            if proxy is not None and proxy._dset.id.valid and proxy.shape == value.shape:
                value = proxy
        ctx = Context(self.file, session=self, file_name=self.path)
        ctx.prop = f"{type(instance).__qualname__}.{name}"
        ctx.storage = {**type(instance).__jangada_storage__, **prop._storage} if prop is not None else {}
        where = f"{group.name.rstrip('/')}/{name}"
        validate(value, self.path, ctx.shared, where=where, prop=ctx.prop, registry=ctx.registry)
        ctx.shared.update(shared)
        ctx.validated = True
        self._detach_below(f"{group.name.rstrip('/')}/{name}", ctx.prop)

        def run() -> None:
            ctx.reset()  # a retry on a large stack starts again from nothing written
            _replace_member(group, name, value, ctx)

        try:
            walk(run)
        except JangadaError as exc:
            exc.add_context(file=self.path, prop=ctx.prop)
            raise
        self._adopt(ctx)
        if forwarding is not None:  # the lazy list is the list written here from now on
            forwarding._plain, forwarding._replaced = value, None
        self._snapshots.pop((id(instance), name), None)
        if isinstance(value, _SNAPSHOT_TYPES):
            self._snapshots[(id(instance), name)] = _any_depth(_snapshot, value)
        member = group.get(name)
        if type(value) is list and _is_table(member):  # its rows are objects of the file too
            for i, obj in enumerate(value):
                self.attach_row(obj, member.name, i, value)
        if isinstance(member, h5py.Dataset) and type(given) is np.ndarray:
            self._give(instance, name, given, self.proxy(member, ctx.codec_for(member)))
        elif isinstance(member, h5py.Dataset) and isinstance(value, _PROXIED_TYPES):
            codec = ctx.codec_for(member)
            instance.__dict__["_serializable_property__" + name] = self.proxy(member, codec)
        elif isinstance(member, h5py.Group) and isinstance(value, _FRAME_TYPES):
            member._jl_path = member.name
            self._give(instance, name, value, self.door().decode(member))  # a lazy frame handle
        elif isinstance(member, h5py.Group) and _is_frame_handle(value):
            member._jl_path = member.name  # a handle of another place: one of this place now
            instance.__dict__["_serializable_property__" + name] = self.door().decode(member)

    def track_frame(self, frame: Any) -> None:
        """A lazy frame handed out (``FrameProxy``): told when its place is given another value."""
        key = id(frame)

        def gone(_ref: Any) -> None:
            self._frames.pop(key, None)

        self._frames[key] = weakref.ref(frame, gone)

    def track_reader(self, ctx: Context) -> None:
        """A context reading this file: told (``forget``) of every place written."""
        self._readers.add(ctx)

    def forget(self, path: str, *, below: bool = True) -> None:
        """Tell every context reading this file that ``path`` was (or is about to be) written."""
        for reader in list(self._readers):
            reader.forget(path, below=below)

    def linked(self, target: str, alias: str) -> None:
        """Called by the engine for every hard link it writes to an object already in the file:
        if ``target`` is replaced later, the object lives on at ``alias``."""
        if target != alias:
            self._links[alias] = target

    def _detach_below(self, path: str, prop: str) -> None:
        """The objects stored at or under ``path`` are about to be replaced in the file: they no
        longer belong to it, and assignments to them raise (they would write into the new value's
        place).  Those that are part of the new value are attached again as it is written; those
        also linked from a place outside ``path`` move to that place.  Lists handed out as
        :class:`TableRows` keep reading the rows they had (HDF5 keeps an unlinked group readable
        while it is open), but refuse changes."""

        def under(where: str) -> bool:
            return where == path or where.startswith((path + "/", path + "#"))

        for rows in self._tables.values():  # lists about to leave: their items in memory stay
            if rows._path == path or rows._path.startswith(path + "/"):
                rows._known = dict(rows._ctx.known())
        self.forget(path)

        links = {a: t for a, t in self._links.items() if not under(a)}
        moved: dict[str, str] = {}
        for alias, target in links.items():
            if under(target):
                moved.setdefault(target, alias)
        # objects the file links from elsewhere too (saved shared, not linked in this session)
        for _obj, where in list(self._objects.values()):
            if "#" in where or not under(where):
                continue
            if any(where == t or where.startswith(t + "/") for t in moved):
                continue
            other = self._other_place(where, under)
            if other is not None:
                moved[where] = other
                links[other] = where

        def survivor(where: str) -> str | None:
            for target, alias in moved.items():
                if where == target or where.startswith(target + "/"):
                    return alias + where[len(target) :]
            return None

        self._links = {}
        for alias, target in links.items():
            if under(target):
                new = survivor(target)
                if new is None or new == alias:
                    continue
                target = new
            self._links[alias] = target
        for key, rows in list(self._tables.items()):
            if rows._path == path or rows._path.startswith(path + "/"):
                new = survivor(rows._path)
                if new is not None:  # linked elsewhere too: it lives on there
                    rows._path = new
                    rows._group._jl_path = new
                    continue
                rows._replaced = prop
                del self._tables[key]
        assert self.file is not None
        for ref in list(self._frames.values()):
            frame = ref()
            if (
                frame is not None
                and frame._held is None
                and (frame._path == path or frame._path.startswith(path + "/"))
            ):
                new = survivor(frame._path)
                if new is not None:
                    frame._path = new
                    continue
                frame._held = self.file[frame._path]  # read (and linked) from the open handle
                frame._held._jl_path = f"{frame._path} (replaced)"
                frame._replaced = prop
        below = [key for key, (_obj, where) in self._objects.items() if under(where)]
        survivors: list[tuple[Any, str]] = []
        for key in below:
            obj, where = self._objects.pop(key)
            base, sep, index = where.partition("#")
            new = survivor(base)
            if new is not None:  # still in the file, at another place
                self._objects[key] = (obj, new + sep + index)
                node = obj.__dict__.get("_jl_node_")
                if isinstance(node, _RowNode):
                    node.table_path = new
                else:
                    obj.__dict__["_jl_node_"] = _ObjectNode(self, new)
                    survivors.append((obj, new))
                continue
            obj.__dict__["_jl_node_"] = _ReplacedNode(self, prop)
            for snapshot in [k for k in self._snapshots if k[0] == key]:
                del self._snapshots[snapshot]
        for obj, where in survivors:  # read again from its other place, it is this object
            self._known_at(obj, where)

    def _known_at(self, obj: Any, where: str) -> None:
        """Tell every reader of this file that the node at ``where`` is ``obj``."""
        assert self.file is not None
        node = self.file.get(where)
        if node is None:
            return
        self.door()  # exists, to be told too
        for reader in list(self._readers):
            reader._read[node.id] = obj
            reader._read_at[node.id] = where

    def _other_place(self, where: str, leaving: Callable[[str], bool]) -> str | None:
        """A path outside the part of the file that is ``leaving`` where the object at ``where``
        is linked too, if the file links it more than once."""
        return min(self._other_places(where, leaving), default=None)

    def _other_places(self, where: str, leaving: Callable[[str], bool]) -> list[str]:
        """The paths outside the part of the file that is ``leaving`` where the object at
        ``where`` is linked too (asked of HDF5's link count first: the file is searched only for
        objects stored at several places)."""
        assert self.file is not None
        if self.file.get(where, getlink=True).__class__ is not h5py.HardLink:
            return []
        node = self.file[where]
        info = h5py.h5o.get_info(node.id)
        if info.rc <= 1:
            return []
        found: list[str] = []

        def visit(name: bytes, link: Any) -> None:
            if link.type == h5py.h5l.TYPE_HARD and link.u == info.addr:
                place = "/" + name.decode("utf-8", "surrogateescape")
                if not leaving(place) and _NEW not in place:
                    found.append(place)

        self.file.id.links.visit(visit, info=True)
        return sorted(found)

    def detached_item(self, value: Any, prop: str) -> Any:
        """An item read from a list after its place was given another value: no longer in the
        file, so an object refuses assignments (as the items read before did)."""
        if isinstance(value, Serializable):
            value.__dict__["_jl_node_"] = _ReplacedNode(self, prop)
        return value

    def _adopt(self, ctx: Context) -> None:
        """Attach the objects just written (objects of lists written as tables by their row),
        turn their array properties into proxies, and give lists of them that were read item
        by item from another place the rows now in the file."""
        assert self.file is not None
        for path, value in list(ctx._written.values()):
            if type(value) is list and value and isinstance(value[0], Serializable):
                node = self.file.get(path)
                if _is_table(node):
                    for i, obj in enumerate(value):
                        self.attach_row(obj, path, i, value)
                continue
            if not isinstance(value, Serializable) or id(value) in self._objects:
                continue
            self.attach(value, path)
            group = self.file[path]
            self._known_at(value, path)  # read again from anywhere, it is this object
            for name in type(value).copiable_properties:
                private = "_serializable_property__" + name
                stored: Any = value.__dict__.get(private)
                if not isinstance(stored, (np.ndarray, TableRows)):
                    continue
                member = group.get(name)
                if isinstance(stored, TableRows) and not self._own_rows(stored, f"{path.rstrip('/')}/{name}"):
                    if member is not None and stored.live() and member.id == stored._group.id:
                        continue  # linked here: the same list, still live at its first place
                    if member is not None:  # read anew: the old rows are no longer in the file
                        member._jl_path = f"{path.rstrip('/')}/{name}"
                        value.__dict__[private] = self.door().decode(member)
                elif isinstance(stored, np.ndarray) and isinstance(member, h5py.Dataset):
                    self._give(value, name, stored, self.proxy(member, ctx.codec_for(member)))

    def _give(self, obj: Any, name: str, array: Any, proxy: Any) -> None:
        """``array`` (or a DataFrame), just written as ``obj.name``, is read through ``proxy``
        (a lazy handle) from now on; the caller may still hold the value and change it in
        place: that is written at exit."""
        obj.__dict__["_serializable_property__" + name] = proxy
        try:
            ref = weakref.ref(array)
        except TypeError:  # pragma: no cover - every ndarray takes weak references
            return
        self._given[(id(obj), name)] = (ref, _fingerprint(array), obj, proxy)

    def _write_given(self) -> None:
        """Arrays given to properties in this session and changed in place since: written."""
        for key, (ref, before, obj, proxy) in list(self._given.items()):
            array = ref()
            if array is None:
                del self._given[key]  # nobody holds it: it cannot change any more
                continue
            name = key[1]
            if (
                id(obj) not in self._objects
                or obj.__dict__.get("_serializable_property__" + name) is not proxy
            ):
                del self._given[key]  # the property holds something else now, or left the file
                continue
            if _same_fingerprint(array, before):
                continue
            if not isinstance(proxy, ProxyDataset):  # a frame changed by the caller: written anew
                self.write_property(obj, self._objects[id(obj)][1], name, array)
                continue  # write_property gave it again, with a new handle
            region = _region(proxy, array)
            if region is None:  # reshaped or retyped through the proxy since: the array as it is
                self.write_property(obj, self._objects[id(obj)][1], name, array)
            elif isinstance(before, np.ndarray) and before.shape == array.shape:
                # only the elements the caller changed: changes made through the proxy stay
                changed = _changed(array, before)
                current = np.array(proxy[region])
                current[changed] = array[changed]
                proxy[region] = current
            else:
                proxy[region] = array
            self._given[key] = (ref, _fingerprint(array), obj, proxy)

    def _write_changed_in_place(self) -> None:
        if self._given:
            self._write_given()
        if self._watched:
            self._write_watched()
        for (obj_id, name), before in list(self._snapshots.items()):
            obj, path = self._objects.get(obj_id, (None, None))
            if obj is None or path is None:
                continue
            now = obj.__dict__.get("_serializable_property__" + name)
            if _any_depth(_unchanged, now, before):
                continue
            node = obj.__dict__.get("_jl_node_")
            if isinstance(node, _RowNode):
                self._snapshots[(obj_id, name)] = _any_depth(_snapshot, now)
                self.write_cell(node.table_path, node.index, name, now, node.items)
                continue
            if self._write_added(obj, path, name, before, now):
                self._snapshots[(obj_id, name)] = _any_depth(_snapshot, now)
            else:
                self.write_property(obj, path, name, now, in_place=True)

    # -- collections that grow: write only what was added ---------------------------------------

    def _write_added(self, obj: Any, group_path: str, name: str, before: Any, now: Any) -> bool:
        """Write only what was added to a list (items appended at its end) or to a dict (keys
        added or replaced), if the stored layout can take it; ``False`` (nothing written) when
        the whole value must be written again (items removed or reordered, a layout that cannot
        grow, values a column cannot hold)."""
        prop = type(obj)._serializable_properties.get(name)
        if prop is None or not prop.copiable or prop._storage:
            return False
        assert self.file is not None
        group = self.file[group_path]
        if group.get(name, getlink=True) is None:
            return False
        member = group[name]
        ctx = Context(self.file, session=self, file_name=self.path)
        ctx.prop = f"{type(obj).__qualname__}.{name}"
        ctx.storage = dict(type(obj).__jangada_storage__)
        if ctx.storage:
            return False
        member._jl_path = ctx.path_of(group).rstrip("/") + "/" + name
        try:
            tag = ctx.node_tag(member)
        except JangadaError:
            return False
        if type(now) is list and type(before) is list:
            k = len(before)
            if len(now) <= k or not _any_depth(_unchanged, now[:k], before):
                return False
            done = self._grow_list(member, tag, k, now[k:], now, ctx)
        elif type(now) is dict and type(before) is dict and isinstance(member, h5py.Group) and tag == "dict":
            done = self._update_keys(member, before, now, ctx)
        elif (
            type(now) is dict
            and type(before) is dict
            and isinstance(member, h5py.Group)
            and tag == "dict.items"
        ):
            done = self._add_items(member, before, now, ctx)
        else:
            done = False
        if done:
            self._adopt(ctx)
        return done

    def _grow_list(
        self, member: Any, tag: str, start: int, added: list[Any], now: Rows, ctx: Context
    ) -> bool:
        """Write ``added`` after the ``start`` items of the list stored at ``member``."""
        if isinstance(member, h5py.Group) and tag == "list":
            return self._append_members(member, start, added, ctx)
        if isinstance(member, h5py.Group) and tag == "object.table":
            return self._append_rows(member, start, added, now)
        if isinstance(member, h5py.Dataset) and tag == "list":
            return _append_items(member, start, added)
        return False

    def _add_items(
        self, group: h5py.Group, before: dict[Any, Any], now: dict[Any, Any], ctx: Context
    ) -> bool:
        """A dict stored as two lists (``dict.items``: int keys, or many keys): keys added at the
        end grow both lists; the values first, then the keys, which readers take as the length
        (a crash in between leaves the dict it had).  A replaced value writes the dict anew."""
        keys = list(now)
        k = len(before)
        if len(keys) <= k or not _any_depth(_unchanged, keys[:k], list(before)):
            return False
        if not all(_any_depth(_unchanged, now[key], before[key]) for key in before):
            return False
        stored: dict[str, tuple[Any, str]] = {}
        for part in ("keys", "values"):
            if group.get(part, getlink=True) is None:
                return False
            node = group[part]
            node._jl_path = f"{ctx.path_of(group).rstrip('/')}/{part}"
            try:
                stored[part] = (node, ctx.node_tag(node))
            except JangadaError:
                return False
        if _stored_length(stored["keys"][0]) != k or _stored_length(stored["values"][0]) != k:
            return False
        values = list(now.values())
        if not self._grow_list(*stored["values"], k, values[k:], values, ctx):
            return False
        if not self._grow_list(*stored["keys"], k, keys[k:], keys, ctx):
            _shrink(stored["values"][0], k)  # the keys could not grow: the values as they were
            return False
        return True

    def _append_members(self, group: h5py.Group, start: int, added: list[Any], ctx: Context) -> bool:
        """A list stored as a group of members ``'0'``..``'n-1'``: each new item becomes the next
        member, written under a hidden name and then moved in (a crash leaves the list it had)."""
        if sorted(ctx.member_names(group), key=lambda n: (len(n), n)) != [str(i) for i in range(start)]:
            return False
        for i, item in enumerate(added, start):
            walk(functools.partial(_replace_member, group, str(i), item, ctx))
        return True

    def _append_rows(self, table: h5py.Group, start: int, added: list[Any], items: Rows) -> bool:
        """A list stored as an object table: one row more in every column, then ``__length__``
        (readers ignore rows past it, so a crash in between leaves the list it had)."""
        cls = type(added[0])
        if not isinstance(added[0], Serializable):
            return False
        try:
            length = int(table.attrs["__length__"])
            stored = table.attrs["__item_class__"]
            version = int(table.attrs.get("__item_class_version__", 1))
        except (KeyError, TypeError, ValueError):
            return False
        props = cls.copiable_properties
        if (
            length != start
            or stored != cls.__jangada_tag__
            or version != cls.__jangada_version__
            or any(type(i) is not cls or "_jl_extra_" in i.__dict__ for i in added)
            or len({id(i) for i in added}) != len(added)  # one object twice: it must stay one
            or any(self.stored_at(i, look=True) is not None for i in added)  # stored elsewhere
            or sorted(table) != sorted(props)
            or any(p._storage for p in props.values())
        ):
            return False
        columns = []
        for key in props:
            col = column([getattr(i, key) for i in added])
            dset = table[key]
            if col is None or not isinstance(dset, h5py.Dataset) or dset.attrs.get(ITEM_ATTR) != col[0]:
                return False  # the new values need another column type: the table is written anew
            kind, data = col
            if kind not in ("str", "none") and (data.dtype != dset.dtype or data.shape[1:] != dset.shape[1:]):
                return False
            columns.append((key, kind, data))
        for key, kind, data in columns:
            dset = make_growable(table[key], rows=length)
            dset.resize(length + len(added), axis=0)
            if kind != "none":
                dset[length:] = list(data) if kind == "str" else data
        table.attrs["__length__"] = np.int64(length + len(added))
        path = table.name
        for i, item in enumerate(added, start):
            self.attach_row(item, path, i, items)
        return True

    def stored_at(self, value: Any, look: bool = False) -> str | None:
        """The HDF5 path of the group of ``value`` if it is an object already stored in this
        session's file (a value assigned to a second place is then linked, not copied: an
        assignment to it later reaches both places).  An object stored as a row of a table
        cannot be linked: unless ``look``, its list is written anew as one group per object."""
        entry = self._objects.get(id(value))
        if entry is None or entry[0] is not value or not self.writable:
            return None
        if "#" not in entry[1] or look:
            return entry[1]
        node = value.__dict__.get("_jl_node_")
        assert isinstance(node, _RowNode)
        items = node.items
        if isinstance(items, TableRows):
            items._replace(list(items), shared={id(value)})
        else:
            self.replace_rows(node.table_path, items, shared={id(value)})
        entry = self._objects.get(id(value))
        return None if entry is None or "#" in entry[1] else entry[1]

    def _link_rows(self, instance: Any, group: h5py.Group, name: str, rows: TableRows) -> bool:
        """``instance.name = rows``, the lazy list of another place of this file: the file links
        it from here too, so it stays one list (``False``: it cannot, written as a copy)."""
        where = f"{group.name.rstrip('/')}/{name}"
        live = self._tables.get(id(rows)) is rows and rows.live()
        if not live or rows._path == where or rows._path.startswith(where + "/"):
            return False
        prop = f"{type(instance).__qualname__}.{name}"
        self._detach_below(where, prop)
        ctx = Context(self.file, session=self, file_name=self.path)
        _remove_member(group, name, ctx)
        ctx.flush_tags()
        assert self.file is not None
        group[name] = self.file[rows._path]
        self.linked(rows._path, where)
        self.forget(group.name, below=False)
        self._snapshots.pop((id(instance), name), None)
        return True

    def _own_rows(self, rows: TableRows, path: str) -> bool:
        """Whether ``rows`` are the rows of this session at ``path``, unchanged in layout."""
        live = self._tables.get(id(rows)) is rows and rows.live()
        return live and rows._path == path

    def track_rows(self, rows: TableRows) -> None:
        """Called for each writable table handed out: told when its place is given another value."""
        self._tables[id(rows)] = rows

    def append_rows(self, rows: TableRows, added: list[Any]) -> bool:
        """Write ``added`` as items after the last of ``rows`` (``False``: the stored layout
        cannot take them, nothing was written)."""
        assert self.file is not None
        group = self.file[rows._path]
        if rows._cls is not None:
            if not self._append_rows(group, rows._n, added, rows):
                return False
        else:
            ctx = Context(self.file, session=self, file_name=self.path)
            ctx.prop = rows._ctx.prop
            group._jl_path = rows._path
            if not self._append_members(group, rows._n, added, ctx):
                return False
            self._adopt(ctx)
            for i, item in enumerate(added, rows._n):
                self.watch_item(rows, i, item)
        rows.added(added)
        return True

    def watch_item(self, rows: TableRows, index: int, value: Any) -> None:
        """An item of a list read lazily that can change in place (a container, an array): it
        is compared at exit, and written again if it changed."""
        if isinstance(value, _SNAPSHOT_TYPES) or type(value) is np.ndarray:
            self._watched[(id(rows), index)] = (rows, index, value, _any_depth(_snapshot, value))

    def _write_watched(self) -> None:
        for key, (rows, index, value, before) in list(self._watched.items()):
            if rows._plain is not None or rows._replaced is not None:
                del self._watched[key]  # the list was written anew (or replaced) since
                continue
            if _any_depth(_unchanged, value, before):
                continue
            assert self.file is not None
            group = self.file[rows._path]
            group._jl_path = rows._path
            member = group.get(str(index), getlink=True)
            if isinstance(member, h5py.HardLink) and h5py.h5o.get_info(group[str(index)].id).rc > 1:
                # the item is stored at another place too (one value twice in the list, say):
                # written alone it would become two values, so the list is written anew
                rows._replace(list(rows))
                del self._watched[key]
                continue
            ctx = Context(self.file, session=self, file_name=self.path)
            ctx.prop = f"{rows._ctx.prop or rows._path}[{index}]"
            walk(functools.partial(_replace_member, group, str(index), value, ctx))
            self._adopt(ctx)
            self._watched[key] = (rows, index, value, _any_depth(_snapshot, value))

    def replace_rows(self, table_path: str, items: list[Any], shared: Iterable[int] = ()) -> None:
        """Write ``items`` as the new value of the list whose object table is at ``table_path``
        (``shared``: ids of objects also stored elsewhere): a property of an object gets the
        list as its value; a list inside a dict or a list is written anew at its place (the
        container holding it holds this very list)."""
        assert self.file is not None
        parent, _, name = table_path.rpartition("/")
        parent = parent or "/"
        owner = next((o for o, where in self._objects.values() if where == parent), None)
        if owner is not None and name in type(owner)._serializable_properties:
            self.write_property(owner, parent, name, items, shared=shared, in_place=True)
            owner.__dict__[type(owner)._serializable_properties[name].private_name] = items
            return
        if owner is not None and name in owner.__dict__.get("_jl_extra_", {}):
            self.write_property(owner, parent, name, items, shared=shared, in_place=True)
            owner.__dict__["_jl_extra_"][name] = items
            return
        group = self.file[parent]
        group._jl_path = parent

        def write() -> None:
            ctx = Context(self.file, session=self, file_name=self.path)
            ctx.prop = table_path
            ctx.shared.update(shared)
            walk(functools.partial(_replace_member, group, name, items, ctx))
            self._adopt(ctx)

        if not self._everywhere(table_path, write):
            write()
        self._snapshot_holder(table_path)

    def _everywhere(self, where: str, write: Callable[[], None]) -> bool:
        """A value changed in place at ``where``, which the file links from other places too:
        ``write`` it, then link every other place to it (they held the same value), and say
        ``True``; ``False``, having done nothing, when no other place links it."""
        others = self._other_places(where, lambda p: p == where)
        if not others:
            return False
        # they take the new value: what is there now survives at none of them
        self._links = {a: t for a, t in self._links.items() if a not in others}
        write()
        assert self.file is not None
        for place in others:
            parent, _, member = place.rpartition("/")
            holder = self.file[parent or "/"]
            self._detach_below(place, where)  # what was read there is the old value
            del holder[member]
            holder[member] = self.file[where]
            self.linked(where, place)
        return True

    def _snapshot_holder(self, path: str) -> None:
        """The value at ``path`` (inside a dict or a list of a property) was written anew: the
        property holding it is compared from now on with what it holds now, so that a later
        in-place change of it is seen (and one already written is not written again)."""
        best: tuple[Any, str] | None = None
        for obj, where in self._objects.values():
            inside = "#" not in where and path.startswith(where.rstrip("/") + "/")
            if inside and (best is None or len(where) > len(best[1])):
                best = (obj, where)
        for key, (rows, index, value, _before) in list(self._watched.items()):
            place = f"{rows._path}/{index}"
            if path == place or path.startswith(place + "/"):
                self._watched[key] = (rows, index, value, _any_depth(_snapshot, value))
        if best is None:
            return
        obj, where = best
        name = path[len(where.rstrip("/")) + 1 :].split("/", 1)[0]
        value = obj.__dict__.get("_serializable_property__" + name)
        if isinstance(value, _SNAPSHOT_TYPES):
            self._snapshots[(id(obj), name)] = _any_depth(_snapshot, value)

    def _update_keys(
        self, group: h5py.Group, before: dict[Any, Any], now: dict[Any, Any], ctx: Context
    ) -> bool:
        """A dict stored as a group of members named by key: only added or replaced keys are
        written (each under a hidden name, then moved in), then the key order."""
        keys = list(now)
        if keys[: len(before)] != list(before) or len(keys) > NAMED_DICT_LIMIT:
            return False  # keys removed or reordered, or too many for a named group
        if not all(type(k) is str and is_safe_name(k) for k in keys):
            return False
        changed = [k for k in keys if k not in before or not _any_depth(_unchanged, now[k], before[k])]
        for key in changed:
            walk(functools.partial(_replace_member, group, key, now[key], ctx))
        if len(keys) > 1:
            group.attrs[KEYS_ATTR] = np.array(keys, dtype=h5py.string_dtype())
        return True


#: arrays up to this size are remembered as a copy; larger ones by a digest of their bytes
_COPY_BYTES = 1 << 20


def _fingerprint(array: Any) -> Any:
    """What :func:`_same_fingerprint` compares an array (or a DataFrame) with later, to see an
    in-place change."""
    if not isinstance(array, np.ndarray):  # a DataFrame: a deep copy, or a digest if large
        if int(array.memory_usage(index=True).sum()) > 64 * _COPY_BYTES:
            digest = _frame_digest(array)
            if digest is not None:
                return (list(array.columns), list(array.dtypes), digest)
        return array.copy(deep=True)
    if array.nbytes <= _COPY_BYTES or array.dtype.hasobject:
        return array.copy()
    data = np.ascontiguousarray(array).data
    return (array.shape, array.dtype, hashlib.blake2b(data, digest_size=16).digest())


def _frame_digest(frame: Any) -> bytes | None:
    """A digest of a DataFrame's values and index (``None`` if pandas cannot hash them)."""
    import pandas as pd  # a frame is at hand: pandas is loaded

    try:
        hashed = pd.util.hash_pandas_object(frame, index=True).to_numpy()
    except TypeError:
        return None
    return hashlib.blake2b(np.ascontiguousarray(hashed).data, digest_size=16).digest()


def _same_fingerprint(array: Any, before: Any) -> bool:
    if not isinstance(array, np.ndarray) and isinstance(before, tuple):
        now = (list(array.columns), list(array.dtypes), _frame_digest(array))
        return now == before
    if not isinstance(array, np.ndarray):
        return bool(
            array.equals(before)
            and list(array.columns) == list(before.columns)
            and list(array.dtypes) == list(before.dtypes)
            and array.index.equals(before.index)
        )
    if isinstance(before, np.ndarray):
        return bool(values_equal(array, before))
    if (array.shape, array.dtype) != before[:2]:
        return False
    data = np.ascontiguousarray(array).data
    return hashlib.blake2b(data, digest_size=16).digest() == before[2]


def _is_frame_handle(value: Any) -> bool:
    """A lazy DataFrame handle (``FrameProxy``), known without importing pandas."""
    return getattr(type(value), "__jangada_lazy__", False) and not isinstance(value, ProxyDataset)


def _region(proxy: ProxyDataset, array: np.ndarray) -> tuple[slice, ...] | None:
    """Where ``array`` lies in the dataset behind ``proxy`` (which may have grown along axis 0
    by appends since the array was given), or ``None`` if it does not fit there."""
    if proxy.dtype != array.dtype or proxy.ndim != array.ndim:
        return None
    if array.ndim == 0:
        return ()
    if proxy.shape[1:] != array.shape[1:] or proxy.shape[0] < array.shape[0]:
        return None
    return (slice(0, array.shape[0]),)


def _changed(array: np.ndarray, before: np.ndarray) -> Any:
    """The elements of ``array`` that differ from ``before`` (NaN equal to NaN)."""
    same = array == before
    if array.dtype.kind in "fc":
        same |= np.isnan(array) & np.isnan(before)
    return ~same


def _fits(kind: str, dtype: np.dtype[Any], column: np.dtype[Any]) -> bool:
    """Whether a cell of ``dtype`` can be written into a column of ``column`` and read back as
    it was: strings and ``None`` always; Python numbers when numpy casts them safely; numpy
    scalars and arrays only into their own dtype (a float64 in a float32 column would be
    narrowed, an int64 1000 in an int8 column would wrap)."""
    if kind in ("str", "none"):
        return True
    if kind in ("int", "float", "bool", "complex"):
        return np.can_cast(dtype, column, "safe")
    return dtype == column


def _stored_length(node: Any) -> int | None:
    """The number of items of a list stored as a dataset, a table or a group of members."""
    if isinstance(node, h5py.Dataset):
        return node.shape[0] if node.ndim == 1 else None
    if node.attrs.get("__container_type__") == "object.table":
        return int(node.attrs["__length__"])
    return len([n for n in node if not n.startswith("__")])


def _shrink(node: Any, n: int) -> None:
    """Take a list stored at ``node`` back to its first ``n`` items (undo of an append)."""
    if isinstance(node, h5py.Dataset):
        node.resize(n, axis=0)
    elif node.attrs.get("__container_type__") == "object.table":
        node.attrs["__length__"] = np.int64(n)  # rows past it are not part of the table
    else:
        for name in [m for m in node if m.isdigit() and int(m) >= n]:
            del node[name]


def _append_items(dset: h5py.Dataset, start: int, added: list[Any]) -> bool:
    """A list of scalars of one kind stored as a 1-D dataset: the new items at its end, if they
    are of the stored kind (else the list is written anew, perhaps in another layout)."""
    spec = _homogeneous(added)
    if spec is None or dset.ndim != 1 or dset.shape[0] != start or dset.attrs.get(ITEM_ATTR) != spec[0]:
        return False
    if spec[0] != "str" and np.dtype(spec[1]) != dset.dtype:
        return False
    dset = make_growable(dset)
    dset.resize(start + len(added), axis=0)
    dset[start:] = added if spec[0] == "str" else np.array(added, dtype=spec[1])
    return True


@functools.cache
def _h5o_refresh() -> Callable[[int], int]:
    """HDF5's ``H5Orefresh`` from the library h5py itself uses (h5py wraps it for datasets only)."""
    function = ctypes.CDLL(h5py.h5o.__file__).H5Orefresh
    function.argtypes, function.restype = [ctypes.c_int64], ctypes.c_int
    return function  # type: ignore[no-any-return]


def refresh_object(oid: Any) -> None:
    """Drop what HDF5 caches of one object of a SWMR-read file (its header, attributes included),
    so the next read sees what the writer has flushed since."""
    if _h5o_refresh()(oid.id) < 0:
        raise OSError(f"H5Orefresh failed for HDF5 object {oid.id}")


def _share(lock: FileLock) -> None:
    """Turn a SWMR writer's exclusive lock into a shared one, as HDF5 drops its own lock once a
    file is in SWMR mode: plain ``h5py.File(path, "r", swmr=True)`` readers (which take a shared
    flock) can then open the file, while other writers still wait for the exclusive lock.  Non-SWMR
    readers that get in are refused by the file's SWMR flag (see ``open_h5``)."""
    fd = lock._fd
    if fd is not None:
        fcntl.flock(fd, fcntl.LOCK_SH)  # from exclusive: never waits (no one else holds it)


class _ReplacedNode:
    """Set on an object of a session whose place in the file was given another value: it is no
    longer in the file, so assignments to it raise instead of writing into the new value."""

    __slots__ = ("prop", "session")

    def __init__(self, session: Session, prop: str) -> None:
        self.session = session
        self.prop = prop

    def before_get(self, instance: Any, name: str) -> None:
        return None

    def before_set(self, instance: Any, name: str) -> None:
        cls = type(instance).__qualname__
        msg = f"cannot assign {cls}.{name}: this {cls} is no longer in the file, since {self.prop} "
        msg += f"was given another value; change the object now at {self.prop} instead, or assign "
        msg += "this one to a property again"
        raise SessionClosedError(msg, file=self.session.path, prop=f"{cls}.{name}")

    def after_set(self, instance: Any, name: str, value: Any) -> None:
        return None


class _RowNode:
    """Ties one object of an object table to its row."""

    __slots__ = ("index", "items", "session", "table_path")

    def __init__(self, session: Session, table_path: str, index: int, items: Rows) -> None:
        self.session = session
        self.table_path = table_path
        self.index = index
        self.items = items

    def before_get(self, instance: Any, name: str) -> None:
        return None

    def before_set(self, instance: Any, name: str) -> None:
        self.session.check_writable(instance, name)

    def after_set(self, instance: Any, name: str, value: Any) -> None:
        self.session.write_cell(self.table_path, self.index, name, value, self.items)


class _ReadOnlyNode:
    __slots__ = ("session",)

    def __init__(self, session: Session) -> None:
        self.session = session

    def before_get(self, instance: Any, name: str) -> None:
        return None

    def before_set(self, instance: Any, name: str) -> None:
        self.session.check_writable(instance, name)

    def after_set(self, instance: Any, name: str, value: Any) -> None:
        return None


def _any_depth(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)``, again on a large stack if a deep container (say, from a file) needs it."""
    try:
        return fn(*args)
    except RecursionError:
        return run_deep(functools.partial(fn, *args))


_NOTHING = object()


def _is_handle(value: Any) -> bool:
    """Values compared by identity: objects, and handles to the open file (lazy arrays, lazy
    frames, lists read item by item), which write their own changes and are never copied.  A
    lazy list written anew forwards to a plain list: that list is compared as a list."""
    if isinstance(value, TableRows):
        return value._plain is None
    return isinstance(value, (ProxyDataset, Serializable)) or getattr(type(value), "__jangada_lazy__", False)


def _snapshot(value: Any) -> Any:
    """A copy of a container tree that keeps proxies and objects by identity (no data read)."""
    if _is_handle(value):
        return value
    if isinstance(value, TableRows):  # forwarding to the plain list it was written as
        return _snapshot(value._plain)
    if type(value) is dict:
        return {k: _snapshot(v) for k, v in value.items()}
    if type(value) in (list, tuple, set, frozenset):
        return type(value)(_snapshot(v) for v in value)
    return copy.deepcopy(value)


def _unchanged(now: Any, before: Any) -> bool:
    """Compare with a snapshot: proxies and objects by identity, everything else by value."""
    if _is_handle(now) or _is_handle(before):
        return now is before
    if isinstance(now, TableRows):
        now = now._plain
    if type(now) is not type(before):
        return False
    if type(now) is dict:
        return list(now) == list(before) and all(_unchanged(now[k], before[k]) for k in now)
    if type(now) in (list, tuple):
        return len(now) == len(before) and all(_unchanged(a, b) for a, b in zip(now, before))
    return values_equal(now, before)


def _is_table(member: Any) -> bool:
    return isinstance(member, h5py.Group) and member.attrs.get("__container_type__") == "object.table"


def _same(group: h5py.Group, name: str, proxy: ProxyDataset) -> bool:
    member = group.get(name)
    return member is not None and member.id == proxy._dset.id


_NEW = "__jl_new__"


def _replace_member(group: h5py.Group, name: str, value: Any, ctx: Context) -> None:
    """Write ``value`` under a hidden name, then swap it in: a crash while encoding leaves the
    old value in place (the hidden member is ignored by readers and cleared next time)."""
    tmp = _NEW + name
    key = ctx.path_of(group)
    old, new = f"{key.rstrip('/')}/{tmp}", f"{key.rstrip('/')}/{name}"
    session = ctx.session
    if session is not None and (group.get(name, getlink=True) is not None or name in group.attrs):
        session._detach_below(new, ctx.prop or new)  # it leaves the file (the value's objects return)
    if session is not None and not ctx.validated:  # which values are met twice: linked, not copied
        validate(value, ctx.file_name, ctx.shared, where=new, prop=ctx.prop, registry=ctx.registry)
    _remove_member(group, tmp, ctx)
    ctx.encode(value, group, tmp)
    _remove_member(group, name, ctx)
    if tmp in group:
        group.move(tmp, name)
    else:
        h5py.h5a.rename(group.id, tmp.encode(), name.encode())
        if ENUM_VALUE_PREFIX + tmp in group.attrs:  # an enum member's value follows it
            h5py.h5a.rename(group.id, (ENUM_VALUE_PREFIX + tmp).encode(), (ENUM_VALUE_PREFIX + name).encode())
    entry = ctx._pending_tags.get(key)
    if entry is None:
        entry = ctx._pending_tags[key] = (group, dict(ctx.tag_map(group)))
    tags = entry[1]
    tags.pop(name, None)
    if tmp in tags:
        tags[name] = tags.pop(tmp)
    ctx.flush_tags()

    def moved(path: str) -> str:
        return new + path[len(old) :] if path == old or path.startswith(old + "/") else path

    for ident, (path, obj) in list(ctx._written.items()):
        ctx._written[ident] = (moved(path), obj)
    if session is not None:
        session._links = {moved(a): moved(t) for a, t in session._links.items()}
        session.forget(key, below=False)  # the group's members and attributes changed


def _remove_member(group: h5py.Group, name: str, ctx: Context) -> None:
    if group.get(name, getlink=True) is not None:
        del group[name]  # open proxies keep the old dataset readable until the file closes
    elif name in group.attrs:
        del group.attrs[name]
        if ENUM_VALUE_PREFIX + name in group.attrs:
            del group.attrs[ENUM_VALUE_PREFIX + name]
        key = ctx.path_of(group)
        entry = ctx._pending_tags.get(key)
        if entry is not None:
            entry[1].pop(name, None)
        else:
            mapping = ctx.tag_map(group)
            if name in mapping:
                ctx._pending_tags[key] = (group, {k: v for k, v in mapping.items() if k != name})


class _Detached:
    """The source of an unpickled proxy: the file, reopened read-only on first use."""

    mode = "r"
    writable = False
    swmr = False

    def __init__(self, path: str) -> None:
        self.path = path
        self.class_name = "Cls"
        self._file: h5py.File | None = None
        self._door: Context | None = None

    @property
    def is_open(self) -> bool:
        return True

    def dataset(self, proxy: ProxyDataset) -> h5py.Dataset:
        if self._file is None or not self._file.id.valid:
            self._file = open_h5(self.path, "r")
            check_header(self._file, self.path)
        return self._file[proxy.path]

    def touched(self, proxy: ProxyDataset) -> None:
        return None

    def door(self) -> Context:
        """The checked context the codecs of this source's proxies read through."""
        if self._door is None or self._door.file is not self._file:
            assert self._file is not None
            self._door = Context(self._file, lazy=True, file_name=self.path)
        return self._door

    def flush(self) -> None:
        return None


def reopen_proxy(path: str, hdf5_path: str, tag: str) -> ProxyDataset:
    """Rebuild a pickled proxy as a read-only handle that opens the file when first used."""

    source = _Detached(path)
    proxy = ProxyDataset.__new__(ProxyDataset)
    proxy._source, proxy._path, proxy._file = source, hdf5_path, path
    proxy._codec = active_registry().lookup_tag(tag, file=path, path=hdf5_path)
    return proxy


__all__ = ["MODES", "ROOT", "TYPES_ATTR", "OutsideNode", "Session", "reopen_proxy"]
