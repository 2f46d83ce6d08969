"""The one door between codecs and the file: what a codec may ask of it, and nothing else.

Codecs never import h5py, the file layer or the engine: they receive a :class:`Door` (the
engine's context implements it) and read and write only through it.  The door alone resolves
children (refusing external, soft and dangling links, virtual datasets and external raw
storage), checks declared sizes against the memory budget before an eager read, counts the
nesting depth, and adds the file, HDF5 path and property to every error.  A second
implementation (a remote store with an h5py-like API, say) has only this surface to provide.

Nodes (``Group``, ``Dataset``) are the door's handles; a codec may ask a dataset's ``shape``,
``dtype`` and ``ndim`` and a node's ``name`` directly, and hands nodes back to the door for
everything else.  An attribute seen as a node is a :class:`~jangada_like.codecs.base.AttrNode`.

Examples
--------
A codec that stores a ``fractions.Fraction`` as a two-element dataset, through the door only:

>>> import fractions
>>> import numpy as np
>>> from jangada_like.codecs.base import Codec
>>> class FractionCodec(Codec):
...     tag = "doc.door.fraction"
...     types = (fractions.Fraction,)
...     def encode(self, value, parent, name, ctx: Door) -> None:
...         ctx.create_dataset(parent, name, np.array([value.numerator, value.denominator]), self.tag)
...     def decode(self, node, ctx: Door) -> fractions.Fraction:
...         num, den = (int(v) for v in ctx.read(node))
...         return fractions.Fraction(num, den)
>>> from jangada_like import Persistable, SerializableProperty, default_registry, register_codec
>>> codec = register_codec(FractionCodec())
>>> class Ratio(Persistable, tag="doc.door.ratio"):
...     r = SerializableProperty(default=None)
>>> import tempfile, pathlib
>>> path = Ratio(r=fractions.Fraction(3, 4)).save(pathlib.Path(tempfile.mkdtemp()) / "r")
>>> Ratio.load(path).r
Fraction(3, 4)
>>> default_registry.unregister(codec)
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from .errors import JangadaError

__all__ = ["Dataset", "Door", "Group", "Node"]

#: a group handle of the door
Group = Any
#: a dataset handle of the door
Dataset = Any
#: a group, a dataset or an AttrNode
Node = Any


@runtime_checkable
class Door(Protocol):
    """What codecs may ask of the file (implemented by the engine's context)."""

    #: the file's name, for messages
    file_name: str
    #: the property being read or written (``Cls.name``), for messages
    prop: str | None
    #: reading for a session: arrays become lazy proxies
    lazy: bool
    #: reading for a read-only session: containers are handed out read-only
    read_only: bool
    #: reading a file written by jangada 0.1.x
    legacy: bool
    #: unknown classes and tags are errors, not generic records
    strict: bool
    #: a save may store small datasets contiguous (format 2)
    compact: bool
    #: storage options (compression, chunks) of the property being written
    storage: dict[str, Any]
    #: ids of values referenced more than once in the tree being written
    shared: set[int]
    #: the open session reading or writing (``None`` for a save or a load)
    session: Any
    #: which members to read (partial loads); ``None`` reads everything
    selection: Any
    #: the codec registry of this read or write
    registry: Any

    # -- errors and paths ---------------------------------------------------------------------

    def error(self, cls: type[JangadaError], message: str, path: str | None = None) -> JangadaError:
        """An error of ``cls`` naming the file, ``path`` and the current property."""
        ...

    def path_of(self, node: Any) -> str:
        """The HDF5 path of a group or dataset."""
        ...

    def is_group(self, node: Any) -> bool:
        """Whether ``node`` is a group."""
        ...

    def is_dataset(self, node: Any) -> bool:
        """Whether ``node`` is a dataset."""
        ...

    def in_this_file(self, node: Any) -> bool:
        """Whether ``node`` (a still open handle) lives in the file being written."""
        ...

    # -- reading ------------------------------------------------------------------------------

    def node_tag(self, node: Any) -> str:
        """The tag that says how ``node`` was written."""
        ...

    def attrs_of(self, node: Any, names: list[Any] | None = None) -> Any:
        """The attributes of ``node`` (read once per walk)."""
        ...

    def attr(self, node: Any, name: str, default: Any = None) -> Any:
        """The raw value of attribute ``name`` of ``node``, or ``default``."""
        ...

    def str_attr(self, node: Any, name: str, default: str | None = None) -> str:
        """A string attribute; missing (without ``default``) or of another type: a format error."""
        ...

    def member_names(self, group: Group) -> list[str]:
        """User-visible member names (children, then attributes) of ``group``."""
        ...

    def member(self, group: Group, name: str) -> Node:
        """The node ``group[name]``: a child if there is one, else the attribute."""
        ...

    def child(self, group: Group, name: str) -> Any:
        """The child ``group[name]``, links that leave the file refused."""
        ...

    def has_child(self, group: Any, name: str) -> bool:
        """Whether ``group`` has a link ``name``."""
        ...

    def need(self, group: Any, name: str, what: str) -> Any:
        """The child ``group[name]``, which ``what`` needs (missing: a format error)."""
        ...

    def check_readable(self, node: Dataset, *, python_items: bool = False) -> None:
        """Refuse an eager read of ``node`` beyond the memory budget."""
        ...

    def check_items(self, count: int, per_item: int, what: str, where: str) -> None:
        """Refuse to build ``count`` Python values of ``per_item`` bytes beyond the budget."""
        ...

    def read(self, node: Dataset, selection: Any = ()) -> Any:
        """``node[selection]``, checked against the budget when the whole of it is read."""
        ...

    def read_all(self, node: Dataset) -> np.ndarray:
        """The whole dataset as an array, by the fastest way the layout allows."""
        ...

    def read_str(self, node: Dataset, selection: Any = ()) -> Any:
        """The strings of ``node[selection]`` decoded as ``str``."""
        ...

    def string_info(self, dtype: np.dtype[Any]) -> Any:
        """Whether ``dtype`` is an HDF5 string type (its encoding and length), else ``None``."""
        ...

    def decode(self, node: Node) -> Any:
        """Read the value stored at ``node`` with its codec."""
        ...

    def decode_later(self, node: Node) -> Any:
        """Read ``node`` after the walk that found it has ended (nesting counted anew)."""
        ...

    def decode_object(self, group: Group, cls: Any, into: Any = None, version: int = 1) -> Any:
        """Read an object group into an instance of ``cls``."""
        ...

    def build_object(
        self, cls: Any, values: dict[str, Any], path: str, version: int, *, obj: Any = None, row: Any = None
    ) -> Any:
        """An instance of ``cls`` from stored values (migrating older class versions)."""
        ...

    def seen(self, node: Any, value: Any) -> None:
        """Record ``value`` for ``node`` before its children are read (cycles resolve to it)."""
        ...

    # -- writing ------------------------------------------------------------------------------

    def encode(self, value: Any, parent: Group, name: str) -> None:
        """Write ``value`` as ``parent[name]`` with its codec."""
        ...

    def encode_object(self, obj: Any, parent: Group, name: str) -> Group:
        """Write a Serializable as a group of its properties."""
        ...

    def remember(self, value: Any, node: Any) -> None:
        """Record that ``value`` now lives at ``node`` (later references become links)."""
        ...

    def is_shared(self, value: Any) -> bool:
        """Whether ``value`` is met at more than one place."""
        ...

    def write_attr(self, obj: Any, name: str, raw: Any, tag: str) -> None:
        """Store ``raw`` as attribute ``name`` of ``obj``, tagged ``tag``."""
        ...

    def set_attr(self, node: Any, name: str, value: Any) -> None:
        """Write one attribute as it is (format bookkeeping: no tag recorded)."""
        ...

    def empty(self, dtype: str = "f") -> Any:
        """The value of an attribute with no data (how ``None`` is stored), of type ``dtype``."""
        ...

    def create_group(self, parent: Group, name: str, kind: str, tag: str) -> Group:
        """Create a group tagged ``kind = tag``."""
        ...

    def new_group(self, parent: Group, name: str) -> Group:
        """Create an untagged group."""
        ...

    def create_dataset(
        self,
        parent: Group,
        name: str,
        data: np.ndarray,
        tag: str,
        *,
        fillvalue: Any = None,
        growable: bool = False,
        **attrs: Any,
    ) -> Dataset:
        """Create a dataset tagged ``tag``, chunked for growth unless small in a compact save."""
        ...

    def new_dataset(self, parent: Group, name: str, data: Any, **options: Any) -> Dataset:
        """Create a dataset as h5py's ``create_dataset`` would (a table column, say)."""
        ...

    def link(self, parent: Group, name: str, node: Any) -> None:
        """Make ``parent[name]`` a hard link to ``node``."""
        ...

    def write(self, node: Dataset, selection: Any, data: Any) -> None:
        """``node[selection] = data``."""
        ...

    def resize(self, node: Dataset, size: int, axis: int = 0) -> None:
        """Resize ``node`` along ``axis``."""
        ...

    def make_growable(self, node: Dataset, dtype: Any = None, rows: int | None = None) -> Dataset:
        """``node`` as a chunked dataset resizable along axis 0 (see ``_h5.make_growable``)."""
        ...

    # -- added for containers/tables --

    def links_of(self, group: Group) -> set[str]:
        """The link names of ``group``, listed once per walk."""
        ...

    def is_open(self, node: Any) -> bool:
        """Whether the handle ``node`` can still be read (its file is open)."""
        ...

    def reader(self, known: dict[Any, Any] | None = None) -> Door:
        """A door reading the same file outside any session: values are read whole (no
        proxies) and attached to nothing (items of a list whose place was given another value);
        ``known``: values already read (node -> value), given back as they are."""
        ...

    # -- added for pandas/frames --

    def fresh_attr(self, node: Any, name: str, default: Any = None) -> Any:
        """Attribute ``name`` of ``node`` as the file holds it now, or ``default``: never from the
        walk's cache (a lazy frame's handle lives on while appends and assignments change it)."""
        ...

    def has_attr(self, node: Any, name: str) -> bool:
        """Whether ``node`` has an attribute ``name`` (asked of the file now)."""
        ...

    def is_empty(self, value: Any) -> bool:
        """Whether an attribute's raw value is one with no data (see :meth:`empty`)."""
        ...

    def read_part(self, node: Dataset, selection: Any) -> Any:
        """``node[selection]`` as a handle asks for it: the caller chose the size (no budget check)."""
        ...

    def node_at(self, path: str) -> Node:
        """The group or dataset at the absolute HDF5 ``path`` (a handle finding its place again)."""
        ...

    def known(self) -> dict[Any, Any]:
        """What this walk has read: node -> value (cycles and shared values resolve to it)."""
        ...

    def flush(self) -> None:
        """Push what was written to the file, so that live (SWMR) readers see it at once."""

    # -- added for numpy/scalars/stdlib/custom --

    def read_data(self, node: Dataset, selection: Any = (), *, strings: bool = False) -> Any:
        """``node[selection]`` as stored, the whole of it (``()``) by the fastest way the layout
        allows; ``strings``: decoded as ``str``.  Not checked against the budget: for a value
        :meth:`decode` has checked, or the slice a lazy handle was asked for."""
        ...
