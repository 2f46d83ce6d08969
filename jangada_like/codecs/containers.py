"""list, tuple, set, frozenset and dict.

Sequences whose items all have one scalar type (int within 64 bits, float, bool, complex, str) are
one dataset tagged with the container type and ``__item_type__``.  Other sequences are groups
tagged ``__container_type__`` whose members are named ``'0'`` … ``'n-1'`` (read back in numeric
order).  A dict whose keys are all plain names is a group of members named by key
(``__container_type__ = 'dict'``, key order in ``__keys__``); any other dict is
``__container_type__ = 'dict.items'`` with two children, ``keys`` and ``values``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np

from ..door import Dataset, Door, Group
from ..errors import FileFormatError
from ..format import CONTAINER_ATTR, ITEM_ATTR, STR_DTYPE, is_safe_name
from ..readonly import ReadOnlyDict, ReadOnlyList, ReadOnlySet, plain_type
from .base import AttrNode, Codec
from .items import _ITEM_NAMES, _ITEM_TYPES, _homogeneous
from .tables import TableRows, is_property, read_table, table_columns, write_table

KEYS_ATTR = "__keys__"
#: dicts with more keys than this use the columnar ``dict.items`` layout
NAMED_DICT_LIMIT = 512


_kinds = threading.local()


@contextlib.contextmanager
def remembering_kinds() -> Iterator[None]:
    """Within one save, the item kind of each container is worked out once (the check that
    every item of a long list has one type is most of the cost of writing it, and both the
    validation pass and the writer need it)."""
    outer = getattr(_kinds, "table", None)
    _kinds.table = {} if outer is None else outer
    try:
        yield
    finally:
        _kinds.table = outer


def _kind_of(items: Any) -> tuple[str, Any] | None:
    """:func:`_homogeneous`, remembered for the current save (see :func:`remembering_kinds`)."""
    table: dict[int, tuple[Any, Any]] | None = getattr(_kinds, "table", None)
    if table is None:
        return _homogeneous(items)
    hit = table.get(id(items))
    if hit is not None and hit[0] is items:
        return hit[1]  # type: ignore[no-any-return]
    spec = _homogeneous(items)
    table[id(items)] = (items, spec)  # the reference keeps the id from being reused
    return spec


class SequenceCodec(Codec):
    tag = "list"
    read_tags = ("tuple", "set", "frozenset", "object.table")
    types = (list, tuple, set, frozenset, ReadOnlyList, ReadOnlySet)
    subclasses = False
    _types: ClassVar[dict[str, type]] = {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset}
    _read_only: ClassVar[dict[type, type]] = {list: ReadOnlyList, set: ReadOnlySet}

    def children(self, value: Any) -> Any:
        return () if _kind_of(value) is not None else value

    def encode(self, value: Any, parent: Group, name: str, ctx: Door) -> None:
        tag = plain_type(type(value)).__name__
        items = value if tag == "list" else list(value)
        spec = _kind_of(value)
        if tag == "list" and spec is None:
            columns = table_columns(items, ctx)
            if columns is not None:
                ctx.remember(value, write_table(items, columns, parent, name, ctx))
                return
        if spec is not None:
            item_name, dtype = spec
            dset = ctx.create_dataset(parent, name, np.array(items, dtype=dtype), tag)
            ctx.set_attr(dset, ITEM_ATTR, item_name)
            ctx.remember(value, dset)
            return
        group = ctx.create_group(parent, name, CONTAINER_ATTR, tag)
        ctx.remember(value, group)
        for index, item in enumerate(items):
            ctx.encode(item, group, str(index))

    def decode(self, node: Any, ctx: Door) -> Any:
        tag = ctx.node_tag(node)
        if tag == "object.table" and ctx.is_group(node):
            return read_table(node, ctx)
        kind = self._types.get(tag, list)
        read_only = ctx.read_only and kind in self._read_only
        if ctx.is_dataset(node):
            items = _read_items(node, ctx)
            if read_only:  # a read-only session: in-place changes would never reach the file
                return self._read_only[kind](items, where=(ctx.file_name, node.name))
            return items if kind is list else kind(items)
        if not ctx.is_group(node):
            raise ctx.error(FileFormatError, f"expected a group or dataset for tag {tag!r}")
        session = ctx.session
        if kind is list and session is not None and ctx.selection is None and is_property(node, ctx):
            rows = TableRows(
                None,
                len(_numeric_order(ctx.member_names(node), node, ctx)),
                node,
                ctx,
                ctx.path_of(node),
                writable=session.writable,
            )
            ctx.seen(node, rows)  # a list that contains itself resolves to itself
            return rows
        names = ctx.member_names(node)
        order = _numeric_order(names, node, ctx)
        if kind is list:
            out: list[Any] = ReadOnlyList(where=(ctx.file_name, node.name)) if read_only else []
            ctx.seen(node, out)  # a list that contains itself resolves to itself
            list.extend(out, (ctx.decode(ctx.member(node, n)) for n in order))
            return out
        items = [ctx.decode(ctx.member(node, n)) for n in order]
        return self._read_only[kind](items, where=(ctx.file_name, node.name)) if read_only else kind(items)


def _numeric_order(names: list[str], node: Group, ctx: Door) -> list[str]:
    try:
        indices = sorted(int(n) for n in names if n.isdigit() and n.isascii())
    except ValueError:
        indices = []
    if len(indices) != len(names) or indices != list(range(len(names))):
        msg = f"list members must be named '0'..'{len(names) - 1}', found {sorted(names)[:5]}..."
        raise ctx.error(FileFormatError, msg, node.name)
    return [str(i) for i in indices]


def _read_items(dset: Dataset, ctx: Door) -> list[Any]:
    item = ctx.attr(dset, ITEM_ATTR)
    if item not in _ITEM_NAMES or dset.ndim != 1:
        msg = f"a sequence dataset needs 1-D data and {ITEM_ATTR} in {sorted(_ITEM_NAMES)}, "
        msg += f"found shape {dset.shape} and {item!r:.40}"
        raise ctx.error(FileFormatError, msg, dset.name)
    ctx.check_readable(dset, python_items=True)
    if item == "str":
        if ctx.string_info(dset.dtype) is None:
            raise ctx.error(FileFormatError, "a str sequence must be a string dataset", dset.name)
        return list(ctx.read_str(dset))
    raw = ctx.read(dset)
    pytype = {"bool": bool, "int": int, "float": float, "complex": complex}[item]
    if not np.can_cast(raw.dtype, np.dtype(_ITEM_TYPES[pytype][1]), "same_kind"):
        raise ctx.error(FileFormatError, f"{item} items stored as {raw.dtype}", dset.name)
    return [pytype(v) for v in raw.tolist()]


def _keys_and_values(value: dict[Any, Any]) -> tuple[list[Any], list[Any]]:
    """The keys and the values of a dict as lists: the same two list objects for the whole of
    one save, so the kind of their items is worked out once."""
    table = getattr(_kinds, "table", None)
    hit = None if table is None else table.get(-id(value))  # negative: never a list's id
    if hit is not None and hit[0] is value:
        return hit[1]  # type: ignore[no-any-return]
    pair = (list(value), list(value.values()))
    if table is not None:
        table[-id(value)] = (value, pair)
    return pair


class DictCodec(Codec):
    tag = "dict"
    read_tags = ("dict.items",)
    types = (dict, ReadOnlyDict)
    subclasses = False

    def children(self, value: Any) -> Any:
        keys, values = _keys_and_values(value)
        scalar_keys, scalar_values = _kind_of(keys) is not None, _kind_of(values) is not None
        return [*([] if scalar_keys else keys), *([] if scalar_values else values)]

    def encode(self, value: Any, parent: Group, name: str, ctx: Door) -> None:
        keys = list(value)
        if len(keys) <= NAMED_DICT_LIMIT and all(is_safe_name(k) for k in keys):
            group = ctx.create_group(parent, name, CONTAINER_ATTR, "dict")
            ctx.remember(value, group)
            if len(keys) > 1:
                ctx.set_attr(group, KEYS_ATTR, np.array(keys, dtype=STR_DTYPE))
            for key in keys:
                ctx.encode(value[key], group, key)
            return
        group = ctx.create_group(parent, name, CONTAINER_ATTR, "dict.items")
        ctx.remember(value, group)
        keys, values = _keys_and_values(value)
        ctx.encode(keys, group, "keys")
        ctx.encode(values, group, "values")

    def decode(self, node: Any, ctx: Door) -> Any:
        if not ctx.is_group(node):
            path = node.path if isinstance(node, AttrNode) else node.name
            raise ctx.error(FileFormatError, "expected a group for a dict", path)
        out: dict[Any, Any] = ReadOnlyDict(where=(ctx.file_name, node.name)) if ctx.read_only else {}
        ctx.seen(node, out)
        if ctx.node_tag(node) == "dict.items":
            keys, values = (ctx.decode(ctx.member(node, n)) for n in ("keys", "values"))
            # a list read lazily may be a read-only view of a list (an object table's rows)
            keys, values = (_plain_list(v) for v in (keys, values))
            if isinstance(keys, list) and isinstance(values, list) and len(values) > len(keys):
                values = values[: len(keys)]  # values of keys an interrupted append never wrote
            if not isinstance(keys, list) or not isinstance(values, list) or len(keys) != len(values):
                raise ctx.error(FileFormatError, "dict keys and values differ in length", node.name)
            try:
                dict.update(out, zip(keys, values))
            except TypeError:
                raise ctx.error(FileFormatError, "dict keys are not hashable", node.name) from None
            return out
        for key in _key_order(node, ctx):
            dict.__setitem__(out, key, ctx.decode(ctx.member(node, key)))
        return out


def _key_order(group: Group, ctx: Door) -> list[str]:
    names = ctx.member_names(group)
    stored = ctx.attr(group, KEYS_ATTR)
    if stored is None:
        return names
    keys = [k.decode("utf-8") if isinstance(k, bytes) else k for k in np.asarray(stored).tolist()]
    if sorted(keys) != sorted(names):
        msg = f"{KEYS_ATTR} does not list the members of the dict"
        raise ctx.error(FileFormatError, msg, group.name)
    return keys


CODECS = (SequenceCodec(), DictCodec())


def _plain_list(value: Any) -> Any:
    """``value`` as a list if it is a read-only list view (an object table's lazy rows)."""
    return list(value) if getattr(type(value), "__jangada_list__", False) else value
