"""The tree walk for save and load: the only code that iterates properties.

A :class:`Context` is made per file operation.  Codecs recurse through ``ctx.encode`` and
``ctx.decode``, so the context alone tracks the HDF5 path, the property being written, the depth,
shared references, and adds all of that to any error that rises through it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import h5py
import numpy as np

from . import _h5
from .codecs.base import AttrNode, Codec

if TYPE_CHECKING:
    from .door import Door
from .errors import (
    FileFormatError,
    JangadaError,
    NestingTooDeepError,
    ProxyClosedError,
    UnsupportedTypeError,
    add_note,
)
from .format import CLASS_ATTR, CONTAINER_ATTR, DATASET_ATTR, TYPES_ATTR, VERSION_ATTR, join
from .partial import NotLoaded, Selection
from .properties import Deferred
from .registry import CodecRegistry, active_registry
from .serializable import tag_to_write

__all__ = ["MAX_DEPTH", "Context", "walk"]

T = TypeVar("T")


def _whole(selection: Any) -> bool:
    """Whether a selection reads a whole dataset (``()`` or ``...``)."""
    return selection is Ellipsis or (type(selection) is tuple and not selection)


def _short(path: str) -> str:
    """An HDF5 path short enough for a message (deep trees have very long ones)."""
    return path if len(path) <= 160 else f"{path[:70]}/…({path.count('/')} levels)…/{path[-70:]}"


#: deepest nesting of objects and containers that save and load accept
MAX_DEPTH = 12_000
#: trees deeper than this are walked in a helper thread with a large stack
SHALLOW_DEPTH = 150
_FRAMES_PER_LEVEL = 6
_STACK_BYTES = 1 << 30  # virtual: only the pages a deep walk touches are ever used

_limit_lock = threading.Lock()
_limit_users = 0
_limit_saved = 0


class UnknownPropertyWarning(UserWarning):
    """A file holds a property that the class no longer declares; it is kept on the object."""


class _TooDeepForStack(Exception):
    """Raised on the caller's thread when a walk must be redone on a large stack."""


@contextlib.contextmanager
def _raised_recursion_limit() -> Iterator[None]:
    """Raise the interpreter's recursion limit while any deep walk runs (shared by threads)."""
    global _limit_users, _limit_saved
    with _limit_lock:
        if _limit_users == 0:
            _limit_saved = sys.getrecursionlimit()
            sys.setrecursionlimit(max(_limit_saved, MAX_DEPTH * _FRAMES_PER_LEVEL + 2000))
        _limit_users += 1
    try:
        yield
    finally:
        with _limit_lock:
            _limit_users -= 1
            if _limit_users == 0:
                sys.setrecursionlimit(_limit_saved)


def run_deep(fn: Callable[[], T]) -> T:
    """Run ``fn`` on a thread with a large stack and a high recursion limit (deep trees)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            with _raised_recursion_limit():
                box["value"] = fn()
        except BaseException as exc:  # handed back to the caller's thread
            box["error"] = exc

    with _limit_lock:
        old = threading.stack_size()
        threading.stack_size(_STACK_BYTES)
        try:
            worker = threading.Thread(target=target, name="jangada_like-deep-walk")
            worker.start()
        finally:
            threading.stack_size(old)
    worker.join()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def walk(fn: Callable[[], T], *, deep: bool | None = None) -> T:
    """Run a tree walk: on this thread while it is shallow, else again on a large stack."""
    if deep:
        return run_deep(fn)
    try:
        return fn()
    except _TooDeepForStack:
        return run_deep(fn)


class _Attrs(dict):  # type: ignore[type-arg]
    """The attributes of one group: names listed at once, each value read on first use."""

    def __init__(self, obj: Any, names: list[Any] | None = None) -> None:
        super().__init__()
        self._obj = obj
        self._names = _h5.attr_names(obj) if names is None else names
        self._known = set(self._names)  # a group may hold 100,000 attributes: never search a list

    def __contains__(self, name: object) -> bool:
        return name in self._known

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __missing__(self, name: str) -> Any:
        if name not in self._known:
            raise KeyError(name)
        value = self[name] = _h5.read_attr(self._obj, name)
        return value

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return self[name] if name in self._known else default


class Context:
    """State of one save or load: file, registry, path, property, depth and shared references."""

    def __init__(
        self,
        file: h5py.File,
        *,
        registry: CodecRegistry | None = None,
        lazy: bool = False,
        session: Any = None,
        strict: bool = False,
        file_name: str | None = None,
    ) -> None:
        self.file = file
        self.file_name = file_name or os.fspath(file.filename)
        self.registry = registry or getattr(session, "registry", None) or active_registry()
        self.lazy = lazy
        self.session = session
        #: small datasets may be contiguous (set by saves writing format 2; sessions keep chunks)
        self.compact = False
        self.strict = strict
        self.prop: str | None = None
        self.storage: dict[str, Any] = {}
        self.depth = 0
        self._written: dict[int, tuple[str, Any]] = {}
        #: ids of values referenced more than once in the tree being written (see validate)
        self.shared: set[int] = set()
        #: the value being written was validated (``shared`` is filled): a session sets it
        self.validated = False
        #: which members to read (partial loads); None reads everything
        self.selection: Selection | None = None
        #: reading a file written by jangada 0.1.x (marker strings, numpy scalars, wall times)
        self.legacy = False
        #: an object of an older class version was migrated while reading
        self.migrated = False
        #: read-only lazy sessions: nested objects read their properties when first used
        self.defer = False
        #: reading for a read-only session: containers are handed out read-only (``readonly``)
        self.read_only = session is not None and not session.writable
        self._read: dict[Any, Any] = {}
        #: where each value of ``_read`` was read (to forget it when that place is replaced)
        self._read_at: dict[Any, str] = {}
        self._pending_tags: dict[Any, tuple[h5py.HLObject, dict[str, str]]] = {}
        self._tag_maps: dict[Any, dict[str, str]] = {}
        self._attrs: dict[Any, dict[str, Any]] = {}
        self._paths: dict[Any, str] = {}
        self._links: dict[Any, set[str]] = {}

    # -- errors ----------------------------------------------------------------------------------

    def error(self, cls: type[JangadaError], message: str, path: str | None = None) -> JangadaError:
        """Build an error of class ``cls`` carrying this context."""
        return cls(message, file=self.file_name, path=path, prop=self.prop)

    def reset(self) -> None:
        """Forget what a previous (abandoned) walk read, before walking again."""
        self.depth = 0
        self._read.clear()
        self._written.clear()
        self._pending_tags.clear()

    def _fail(self, exc: Exception, path: str, reading: bool) -> BaseException:
        """The exception to raise for ``exc`` at ``path``: context added, file errors wrapped."""
        if isinstance(exc, JangadaError):
            exc.add_context(file=self.file_name, path=path, prop=self.prop)
            return exc
        if isinstance(exc, Warning):  # a warning turned into an error by the caller's filters
            return exc
        if isinstance(exc, (RecursionError, _TooDeepForStack)):
            if threading.current_thread().name != "jangada_like-deep-walk":
                return _TooDeepForStack()
            msg = "nesting too deep for the interpreter's recursion limit"
            return self.error(NestingTooDeepError, msg, path)
        if reading:  # whatever breaks while reading a file is a broken (or hostile) file
            msg = f"cannot read {self.prop or 'this value'}: {type(exc).__name__}: {exc}"
            return self.error(FileFormatError, msg, path)
        if not getattr(exc, "_jl_noted", False):
            where = f"at HDF5 path '{_short(path)}' of file '{self.file_name}'"
            add_note(exc, f"while processing {self.prop or 'a value'} {where}")
            setattr(exc, "_jl_noted", True)  # noqa: B010
        return exc

    def _raise(self, exc: Exception, path: str, reading: bool) -> NoReturn:
        """Raise ``exc`` again, or the library error that replaces it (see :meth:`_fail`)."""
        new = self._fail(exc, path, reading)
        if new is exc:
            raise exc
        raise new from (None if isinstance(new, _TooDeepForStack) else exc)

    def _enter(self, path: str) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            msg = f"nesting deeper than MAX_DEPTH={MAX_DEPTH} levels (jangada_like.MAX_DEPTH)"
            raise self.error(NestingTooDeepError, msg, path)
        if self.depth > SHALLOW_DEPTH and threading.current_thread().name != "jangada_like-deep-walk":
            raise _TooDeepForStack()

    # -- writing ---------------------------------------------------------------------------------

    def encode(self, value: Any, parent: h5py.Group, name: str) -> None:
        """Write ``value`` as ``parent[name]`` with the codec registered for its type."""
        path = join(self.path_of(parent), name)
        try:
            self._enter(path)
            shared = self._written.get(id(value))
            if shared is not None and shared[1] is value:
                parent[name] = self.file[shared[0]]  # a hard link: stored once, loads as one
                if self.session is not None:
                    self.session.linked(shared[0], path)
                return
            stored = None if self.session is None else self.session.stored_at(value)
            if stored is not None:  # an object already in the session's file: linked, not copied
                parent[name] = self.file[stored]
                self.session.linked(stored, path)
                return
            codec = self.registry.lookup_type(type(value), file=self.file_name, path=path, prop=self.prop)
            codec.encode(value, parent, name, self)
        except Exception as exc:
            self._raise(exc, path, reading=False)
        finally:
            self.depth -= 1

    def is_shared(self, value: Any) -> bool:
        """Whether ``value`` is met at more than one place: twice in the tree being written, or
        already stored elsewhere in the file of the session writing it."""
        if id(value) in self.shared:
            return True
        return self.session is not None and self.session.stored_at(value, look=True) is not None

    def remember(self, value: Any, node: h5py.HLObject) -> None:
        """Record that ``value`` now lives at ``node`` so later references become hard links."""
        self._written[id(value)] = (self.path_of(node), value)

    def encode_object(self, obj: Any, parent: h5py.Group, name: str) -> h5py.Group:
        """Write a Serializable as a group with its class tag and every copiable property."""
        cls = type(obj)
        group = self.create_group(parent, name, CONTAINER_ATTR, "dict")
        _h5.write_attr(group, CLASS_ATTR, tag_to_write(cls))
        _h5.write_attr(group, VERSION_ATTR, np.int64(cls.__jangada_version__))
        self.remember(obj, group)
        outer, outer_storage = self.prop, self.storage
        try:
            for key, prop in cls._serializable_properties.items():
                if not prop.copiable:
                    continue
                self.prop = f"{cls.__qualname__}.{key}"
                self.storage = {**cls.__jangada_storage__, **prop._storage}
                self.encode(getattr(obj, key), group, key)
            extra = obj.__dict__.get("_jl_extra_")
            for key, value in (extra or {}).items():
                self.prop = f"{cls.__qualname__}.{key}"
                self.encode(value, group, key)
        finally:
            self.prop, self.storage = outer, outer_storage
        return group

    def write_attr(self, obj: h5py.HLObject, name: str, raw: Any, tag: str) -> None:
        """Store ``raw`` as attribute ``name``; record ``tag`` unless the HDF5 type implies it."""
        try:
            _h5.write_attr(obj, name, raw)
        except (TypeError, ValueError) as exc:
            msg = f"cannot store {type(raw).__qualname__} as an HDF5 attribute: {exc}"
            raise self.error(UnsupportedTypeError, msg, join(obj.name, name)) from exc
        implied = _h5.implied_tag(raw)
        key = self.path_of(obj)
        if tag != implied or key in self._tag_maps or _h5.has_attr(obj, TYPES_ATTR):
            entry = self._pending_tags.get(key)
            if entry is None:
                entry = self._pending_tags[key] = (obj, dict(self.tag_map(obj)))
            if tag != implied:
                entry[1][name] = tag
            else:
                entry[1].pop(name, None)

    def create_dataset(
        self,
        parent: h5py.Group,
        name: str,
        data: np.ndarray,
        tag: str,
        *,
        fillvalue: Any = None,
        growable: bool = False,
        **attrs: Any,
    ) -> h5py.Dataset:
        """Create a chunked dataset resizable along axis 0 (0-d data: a scalar dataset); small
        data is contiguous in a save that allows it (:attr:`compact`) unless ``growable``."""
        storage = self.storage if fillvalue is None else {**self.storage, "fillvalue": fillvalue}
        dset = _h5.create_dataset(parent, name, data, storage, compact=self.compact and not growable)
        _h5.write_attr(dset, DATASET_ATTR, tag)
        for key, value in attrs.items():
            if value is not None:
                _h5.write_attr(dset, key, value)
        return dset

    def create_group(self, parent: h5py.Group, name: str, kind: str, tag: str) -> h5py.Group:
        """Create a group tagged ``kind = tag`` (``__container_type__`` or ``__class__``)."""
        group = parent.create_group(name)
        _h5.write_attr(group, kind, tag)
        group._jl_path = join(self.path_of(parent), name)
        return group

    def flush_tags(self) -> None:
        """Write the ``__attr_types__`` maps collected while encoding."""
        for obj, mapping in self._pending_tags.values():
            if mapping:
                obj.attrs[TYPES_ATTR] = json.dumps(mapping, ensure_ascii=False)
            elif TYPES_ATTR in obj.attrs:
                del obj.attrs[TYPES_ATTR]
            self._tag_maps[self.path_of(obj)] = mapping
        self._pending_tags.clear()

    # -- the door (jangada_like.door.Door): what codecs ask of the file -------------------------

    def is_group(self, node: Any) -> bool:
        """Whether ``node`` is a group."""
        return isinstance(node, h5py.Group)

    def is_dataset(self, node: Any) -> bool:
        """Whether ``node`` is a dataset."""
        return isinstance(node, h5py.Dataset)

    def in_this_file(self, node: Any) -> bool:
        """Whether ``node`` (a still open handle) lives in the file being written."""
        return bool(node.id.valid) and node.file.id == self.file.id

    def attr(self, node: Any, name: str, default: Any = None) -> Any:
        """The raw value of attribute ``name`` of ``node``, or ``default``."""
        if isinstance(node, h5py.Group):
            return self.attrs_of(node).get(name, default)
        value = _h5.attr_or_none(node, name)
        return default if value is None else value

    def str_attr(self, node: Any, name: str, default: str | None = None) -> str:
        """A string attribute; missing (without ``default``) or of another type: a format error."""
        return _h5.str_attr(node, name, self, default)

    def check_readable(self, node: Any, *, python_items: bool = False) -> None:
        """Refuse an eager read of ``node`` beyond the memory budget."""
        _h5.check_readable(node, self, python_items=python_items)

    def check_items(self, count: int, per_item: int, what: str, where: str) -> None:
        """Refuse to build ``count`` Python values of ``per_item`` bytes beyond the budget."""
        _h5.check_items(count, per_item, what, where, self)

    def read(self, node: Any, selection: Any = ()) -> Any:
        """``node[selection]``, checked against the budget when the whole of it is read."""
        if _whole(selection):
            _h5.check_readable(node, self)
        return node[selection]

    def read_all(self, node: Any) -> np.ndarray:
        """The whole dataset as an array, by the fastest way the layout allows."""
        _h5.check_readable(node, self)
        return _h5.read_all(node)

    def read_str(self, node: Any, selection: Any = ()) -> Any:
        """The strings of ``node[selection]`` decoded as ``str``."""
        if _whole(selection):
            _h5.check_readable(node, self, python_items=True)
        return node.asstr()[selection]

    def string_info(self, dtype: np.dtype[Any]) -> Any:
        """Whether ``dtype`` is an HDF5 string type (its encoding and length), else ``None``."""
        return h5py.check_string_dtype(dtype)

    def set_attr(self, node: Any, name: str, value: Any) -> None:
        """Write one attribute as it is (format bookkeeping: no tag recorded)."""
        _h5.write_attr(node, name, value)

    def empty(self, dtype: str = "f") -> Any:
        """The value of an attribute with no data (how ``None`` is stored), of type ``dtype``."""
        return h5py.Empty(dtype)

    def new_group(self, parent: Any, name: str) -> Any:
        """Create an untagged group."""
        group = parent.create_group(name)
        group._jl_path = join(self.path_of(parent), name)
        return group

    def new_dataset(self, parent: Any, name: str, data: Any, **options: Any) -> Any:
        """Create a dataset as h5py's ``create_dataset`` would (a table column, say)."""
        return parent.create_dataset(name, data=data, **options)

    def link(self, parent: Any, name: str, node: Any) -> None:
        """Make ``parent[name]`` a hard link to ``node``."""
        parent[name] = node

    def write(self, node: Any, selection: Any, data: Any) -> None:
        """``node[selection] = data``."""
        node[selection] = data

    def resize(self, node: Any, size: int, axis: int = 0) -> None:
        """Resize ``node`` along ``axis``."""
        node.resize(size, axis=axis)

    def make_growable(self, node: Any, dtype: Any = None, rows: int | None = None) -> Any:
        """``node`` as a chunked dataset resizable along axis 0 (see ``_h5.make_growable``)."""
        return _h5.make_growable(node, dtype, rows)

    # -- added for containers/tables and pandas/frames --

    def fresh_attr(self, node: Any, name: str, default: Any = None) -> Any:
        """Attribute ``name`` of ``node`` as the file holds it now, or ``default``: never from the
        walk's cache (a lazy frame's handle lives on while appends and assignments change it)."""
        value = _h5.attr_or_none(node, name)
        return default if value is None else value

    def has_attr(self, node: Any, name: str) -> bool:
        """Whether ``node`` has an attribute ``name`` (asked of the file now)."""
        return _h5.has_attr(node, name)

    def is_empty(self, value: Any) -> bool:
        """Whether an attribute's raw value is one with no data (see :meth:`empty`)."""
        return isinstance(value, h5py.Empty)

    def read_part(self, node: Any, selection: Any) -> Any:
        """``node[selection]`` as a handle asks for it: the caller chose the size (no budget check)."""
        return node[selection]

    def node_at(self, path: str) -> Any:
        """The group or dataset at the absolute HDF5 ``path`` (a handle finding its place again)."""
        node = self.file[path]
        node._jl_path = path
        return node

    def is_open(self, node: Any) -> bool:
        """Whether the handle ``node`` can still be read (its file is open)."""
        return bool(node.id.valid)

    def reader(self, known: dict[Any, Any] | None = None) -> Context:
        """A door reading the same file outside any session: values are read whole (no
        proxies) and attached to nothing (items of a list whose place was given another value);
        ``known``: values already read (node -> value), given back as they are."""
        reader = Context(self.file, registry=self.registry, file_name=self.file_name)
        reader.prop = self.prop
        reader._read.update(known or {})
        return reader

    def known(self) -> dict[Any, Any]:
        """What this walk has read: node -> value (cycles and shared values resolve to it)."""
        return self._read

    def flush(self) -> None:
        """Push what was written to the file, so that live (SWMR) readers see it at once."""
        self.file.flush()

    # -- added for numpy/scalars/stdlib/custom --

    def read_data(self, node: Any, selection: Any = (), *, strings: bool = False) -> Any:
        """``node[selection]`` as stored, the whole of it (``()``) by the fastest way the layout
        allows; ``strings``: decoded as ``str``.  Not checked against the budget: for a value
        :meth:`decode` has checked, or the slice a lazy handle was asked for."""
        if strings:
            return node.asstr()[selection]
        if isinstance(selection, tuple) and not selection:  # never ``==``: keys may be arrays
            return _h5.read_all(node)
        return node[selection]

    # -- reading ---------------------------------------------------------------------------------

    def tag_map(self, obj: h5py.HLObject) -> dict[str, str]:
        """The ``name -> tag`` map of attributes of ``obj`` whose HDF5 type is ambiguous."""
        key = self.path_of(obj)
        cached = self._tag_maps.get(key)
        if cached is not None:
            return cached
        raw = self.attrs_of(obj).get(TYPES_ATTR)
        mapping: dict[str, str] = {}
        if raw is not None:
            try:
                mapping = json.loads(raw)
            except (TypeError, ValueError, RecursionError):
                mapping = None  # type: ignore[assignment]
            if not isinstance(mapping, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
            ):
                msg = f"attribute {TYPES_ATTR} must be a JSON object of str -> str, got {raw!r:.80}"
                raise self.error(FileFormatError, msg, obj.name)
        self._tag_maps[key] = mapping
        return mapping

    def node_tag(self, node: Any) -> str:
        """The tag that says how ``node`` was written."""
        if isinstance(node, AttrNode):
            return self.tag_map(node.parent).get(node.name) or _h5.implied_tag(node.value)
        if isinstance(node, h5py.Dataset):
            return _h5.str_attr(node, DATASET_ATTR, self, default="numpy.ndarray")
        if CLASS_ATTR in self.attrs_of(node):
            return "object"
        return _h5.str_attr(node, CONTAINER_ATTR, self, default="dict")

    def path_of(self, obj: h5py.HLObject) -> str:
        """The HDF5 path of an object, remembered: asking HDF5 costs time proportional to the
        depth, which would make deep trees quadratic."""
        path: str | None = getattr(obj, "_jl_path", None)
        if path is None:
            path = obj.name
            obj._jl_path = path
        return path

    def attrs_of(self, obj: h5py.HLObject, names: list[Any] | None = None) -> dict[str, Any]:
        """All attributes of a group, read once per walk (each HDF5 attribute read is costly);
        ``names``: the attribute names, when the caller has just listed them."""
        if not isinstance(obj, h5py.Group):
            return obj.attrs  # type: ignore[no-any-return]
        key = self.path_of(obj)
        cached = self._attrs.get(key)
        if cached is None:
            cached = self._attrs[key] = _Attrs(obj, names)
        return cached  # type: ignore[return-value]

    def links_of(self, group: h5py.Group) -> set[str]:
        """The link names of a group, listed once per walk."""
        key = self.path_of(group)
        cached = self._links.get(key)
        if cached is None:
            cached = self._links[key] = set(_h5.link_names(group))
        return cached

    def codec_for(self, node: Any) -> Codec:
        """The codec that reads ``node``."""
        path = node.path if isinstance(node, AttrNode) else self.path_of(node)
        return self.registry.lookup_tag(self.node_tag(node), file=self.file_name, path=path, prop=self.prop)

    def decode(self, node: Any) -> Any:
        """Read the value stored at ``node`` (an attribute, a dataset or a group)."""
        path = (
            f"{self.path_of(node.parent)}@{node.name}" if isinstance(node, AttrNode) else self.path_of(node)
        )
        try:
            self._enter(path)
            if isinstance(node, AttrNode):
                if self.legacy:
                    return _h5.legacy_attr(node.value)
                return self.codec_for(node).decode(node, self)
            key = node.id
            if key in self._read:
                first = self._read_at.get(key)
                if self.session is not None and first is not None and first != path:
                    self.session.linked(first, path)  # one object, two places: both are known
                return self._read[key]
            if isinstance(node, h5py.Dataset) and not self.lazy:
                _h5.check_readable(node, self)
            value = self.codec_for(node).decode(node, self)
            self._read.setdefault(key, value)
            self._read_at.setdefault(key, path)
            return self._read[key]
        except Exception as exc:
            self._raise(exc, path, reading=True)
        finally:
            self.depth -= 1

    def decode_later(self, node: Any) -> Any:
        """Read ``node`` after the walk that found it has ended (an item of a list read when
        first reached): nesting is counted from here, and a deep value is read on a large stack."""
        depth = self.depth

        def run() -> Any:
            self.depth, known = 0, len(self._read)
            try:
                return self.decode(node)
            except _TooDeepForStack:  # read again on a large stack: forget what was half read
                for key in list(self._read)[known:]:
                    del self._read[key]
                raise
            finally:
                self.depth = depth

        return walk(run)

    def seen(self, node: h5py.HLObject, value: Any) -> None:
        """Record a value before its children are read, so cycles resolve to it."""
        self._read[node.id] = value
        self._read_at[node.id] = self.path_of(node)

    def forget(self, path: str, *, below: bool = True) -> None:
        """Forget what this walk cached of ``path`` (attributes, links, tags) and, with
        ``below``, everything read at or under it: a session just replaced it in the file, and
        HDF5 may give a new object the address of the old one."""

        def gone(key: Any) -> bool:
            return key == path or (below and isinstance(key, str) and key.startswith(path + "/"))

        for cache in (self._attrs, self._links, self._tag_maps):
            for key in [k for k in cache if gone(k)]:
                del cache[key]
        if below:
            for key in [k for k, where in self._read_at.items() if gone(where)]:
                self._read.pop(key, None)
                del self._read_at[key]

    def member(self, group: h5py.Group, name: str) -> Any:
        """The node ``group[name]``: a child if there is one, else the attribute."""
        # link names never contain '/' and '.' is the group itself: such names are attributes
        linkable = isinstance(group, h5py.Group) and "/" not in name and name not in (".", "..")
        if linkable and name in self.links_of(group):
            return self.child(group, name)
        return AttrNode(group, name, self.attrs_of(group)[name])

    def child(self, group: h5py.Group, name: str) -> Any:
        """The object a link ``group[name]`` leads to; external, dangling and unknown links and
        virtual datasets are refused (reading them could reach other files)."""
        try:
            child = _h5.open_member(group, name)
        except KeyError:
            child = None  # a dangling soft link: reported below
        if child is None:
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                msg = f"external link to {link.filename}:{link.path} refused (never followed)"
                raise self.error(FileFormatError, msg, join(group.name, name))
            msg = "dangling soft link" if isinstance(link, h5py.SoftLink) else "unsupported link"
            raise self.error(FileFormatError, msg, join(group.name, name))
        _h5.refuse_virtual(child, self)
        child._jl_path = join(self.path_of(group), name)
        return child

    def has_child(self, group: Any, name: str) -> bool:
        """Whether ``group`` has a link ``name`` (of any kind: :meth:`child` judges it)."""
        return isinstance(group, h5py.Group) and name in self.links_of(group)

    def need(self, group: Any, name: str, what: str) -> Any:
        """The child ``group[name]`` that a ``what`` must have, checked as :meth:`child` checks
        every child; missing, it is a format error that says so."""
        if not self.has_child(group, name):
            path = group.path if isinstance(group, AttrNode) else self.path_of(group)
            raise self.error(FileFormatError, f"{what} needs a member {name!r}, found none", path)
        return self.child(group, name)

    def member_names(self, group: h5py.Group) -> list[str]:
        """User-visible member names: children and attributes not starting with ``__``."""
        if isinstance(group, h5py.Group):
            names = [n for n in self.links_of(group) if not n.startswith("__")]
            names.sort()
            names += [n for n in self.attrs_of(group) if not n.startswith("__")]
            return names
        return [n for n in group.attrs if not n.startswith("__")]
        return names

    def decode_object(self, group: h5py.Group, cls: Any, into: Any = None, version: int = 1) -> Any:
        """Read an object group into a new instance of ``cls`` (no ``__init__`` is run), or
        into the existing instance ``into``."""
        obj = cls.__new__(cls) if into is None else into
        self.seen(group, obj)
        if self.defer and into is None and version == cls.__jangada_version__:
            return self._defer_object(obj, group)
        values: dict[str, Any] = {}
        outer, selection = self.prop, self.selection
        names = self.member_names(group)
        if selection is not None:
            selection.check(cls, names, self.file_name, self.path_of(group))
        try:
            for name in names:
                self.prop = f"{cls.__qualname__}.{name}"
                sub = selection.child(name) if selection is not None else None
                if sub is False:
                    values[name] = NotLoaded(self.file_name, join(self.path_of(group), name), self.prop)
                    continue
                self.selection = sub  # type: ignore[assignment]
                values[name] = self.decode(self.member(group, name))
                self.selection = selection
        finally:
            self.prop, self.selection = outer, selection
        return self.build_object(cls, values, self.path_of(group), version, obj=obj)

    def _defer_object(self, obj: Any, group: h5py.Group) -> Any:
        """An object whose properties are read when first used (read-only lazy sessions)."""
        path = self.path_of(group)
        props = type(obj)._serializable_properties
        for name in self.member_names(group):
            prop = props.get(name)
            if prop is not None:
                obj.__dict__[prop.private_name] = Deferred(
                    functools.partial(self._read_later, path, name, type(obj))
                )
        if self.session is not None:
            self.session.attach(obj, path)
        return obj

    def _read_later(self, path: str, name: str, cls: type) -> Any:
        session = self.session
        prop = f"{cls.__qualname__}.{name}"
        if session is None or not session.is_open:
            msg = f"{prop} was not read before its file was closed: read it inside the `with` block"
            raise ProxyClosedError(msg, file=self.file_name, path=join(path, name), prop=prop)
        ctx = Context(session.file, session=session, lazy=True, strict=self.strict, file_name=self.file_name)
        ctx.defer, ctx._read, ctx._read_at, ctx.prop = True, self._read, self._read_at, prop
        session.track_reader(ctx)
        group = session.file[path]
        group._jl_path = path
        return ctx.decode(ctx.member(group, name))

    def build_object(
        self,
        cls: Any,
        values: dict[str, Any],
        path: str,
        version: int,
        *,
        obj: Any = None,
        row: tuple[int, list[Any]] | None = None,
    ) -> Any:
        """Make an instance of ``cls`` from stored values (migrating older class versions);
        properties the class does not declare are kept and reported, never dropped."""
        obj = cls.__new__(cls) if obj is None else obj
        if version < cls.__jangada_version__:
            values = cls._migrate_values(values, version, path=path, file=self.file_name)
            self.migrated = True  # the file's layout is older: a save must write it anew
        props = cls._serializable_properties
        extra = {k: v for k, v in values.items() if k not in props}
        try:
            obj._init_values({k: v for k, v in values.items() if k in props})
        except JangadaError:
            raise
        except Exception as exc:
            add_note(exc, f"while initialising {cls.__qualname__} from '{path}' of '{self.file_name}'")
            raise
        if extra:
            obj.__dict__["_jl_extra_"] = extra
            names = ", ".join(sorted(extra))
            msg = f"{self.file_name}:{path} holds properties {names} that "
            msg += f"{cls.__qualname__} does not declare; they are kept in obj._jl_extra_ "
            msg += "and written back on save"
            warnings.warn(msg, UnknownPropertyWarning, stacklevel=2)
        if self.session is not None:
            if row is None:
                self.session.attach(obj, path)
            else:
                self.session.attach_row(obj, path, *row)
        return obj


if TYPE_CHECKING:  # mypy proves the context implements every member of the door

    def _door_check(ctx: Context) -> Door:
        return ctx
