"""Nested Serializable objects and records of unknown classes.

An object is a group with ``__class__`` (its tag), ``__class_version__`` and, for jangada
compatibility, ``__container_type__ = 'dict'``; each copiable property is a member named after it.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..door import Door, Group
from ..errors import FileFormatError, FormatVersionError, UnknownClassError, UnknownClassWarning
from ..format import CLASS_ATTR, CONTAINER_ATTR, VERSION_ATTR, join
from ..generic import GenericRecord
from ..proxy import ProxyDataset
from ..serializable import Serializable, unknown_tag_hint
from .base import Codec
from .tables import TableRows


class ObjectCodec(Codec):
    tag = "object"
    types = (Serializable,)

    def children(self, value: Any) -> Any:
        return [getattr(value, k) for k in type(value).copiable_properties]

    def encode(self, value: Any, parent: Group, name: str, ctx: Door) -> None:
        ctx.encode_object(value, parent, name)

    def decode(self, node: Any, ctx: Door) -> Any:
        if not ctx.is_group(node):
            raise ctx.error(FileFormatError, "an object must be a group", getattr(node, "path", None))
        tag = ctx.str_attr(node, CLASS_ATTR)
        cls: Any = Serializable.class_for_tag(tag)
        if cls is None:
            return _unknown(tag, node, ctx)
        return ctx.decode_object(node, cls, version=stored_version(node, cls, ctx))


def stored_version(node: Group, cls: Any, ctx: Door) -> int:
    """The class version ``node`` was written with; newer than ``cls`` knows is an error."""
    raw = ctx.attrs_of(node).get(VERSION_ATTR, 1)
    if not isinstance(raw, (int, np.integer)) or raw < 1:
        msg = f"{VERSION_ATTR} must be a positive integer, found {raw!r:.40}"
        raise ctx.error(FileFormatError, msg, node.name)
    known = cls.__jangada_version__
    if raw > known:
        msg = f"{cls.__jangada_tag__} was written by class version {raw}, but this code has version {known}"
        raise ctx.error(FormatVersionError, msg, node.name)
    return int(raw)


def _unknown(tag: str, node: Group, ctx: Door) -> GenericRecord:
    if ctx.strict:
        msg = f"class {tag!r} is not registered: {unknown_tag_hint(tag)}"
        raise ctx.error(UnknownClassError, msg, node.name)
    record = GenericRecord(tag, {})
    ctx.seen(node, record)
    data = {n: ctx.decode(ctx.member(node, n)) for n in ctx.member_names(node)}
    object.__setattr__(record, "_data", GenericRecord(tag, data).data)
    msg = f"{ctx.file_name}:{node.name} holds an object of unregistered class {tag!r}; "
    msg += f"returning a read-only GenericRecord (strict=True raises instead); {unknown_tag_hint(tag)}"
    warnings.warn(msg, UnknownClassWarning, stacklevel=2)
    return record


class RecordCodec(Codec):
    """Writes a :class:`GenericRecord` back as the object it came from."""

    tag = "generic-record"
    types = (GenericRecord,)

    def children(self, value: Any) -> Any:
        return list(value.data.values())

    def encode(self, value: Any, parent: Group, name: str, ctx: Door) -> None:
        group = ctx.create_group(parent, name, CONTAINER_ATTR, "dict")
        ctx.set_attr(group, CLASS_ATTR, value.class_name)
        ctx.remember(value, group)
        for key, item in value.data.items():
            ctx.encode(item, group, key)

    def decode(self, node: Any, ctx: Door) -> Any:  # pragma: no cover - records read as objects
        raise ctx.error(FileFormatError, "generic records are read through their class tag")


class ProxyCodec(Codec):
    """A lazy dataset being saved: linked within its own file, read through into another."""

    tag = "proxy"
    types = (ProxyDataset,)

    def encode(self, value: Any, parent: Group, name: str, ctx: Door) -> None:
        source = getattr(value._source, "file", None)
        if source is not None and ctx.in_this_file(value._dset):
            ctx.link(parent, name, value._dset)  # same file: a hard link, no data copied
            ctx.remember(value, ctx.child(parent, name))
            return
        ctx.encode(value[()], parent, name)

    def decode(self, node: Any, ctx: Door) -> Any:  # pragma: no cover - never written as a tag
        raise ctx.error(FileFormatError, "proxies are never stored as such")


class TableRowsCodec(Codec):
    """Saving an object that holds the rows of a read-only lazy table: write them as a list."""

    tag = "table-rows"

    def matches(self, tp: type) -> bool:
        return issubclass(tp, TableRows)

    def children(self, value: Any) -> Any:
        return () if value.live() else list(value)  # a live list is linked, never read whole

    def encode(self, value: Any, parent: Group, name: str, ctx: Door) -> None:
        if value.live() and value._ctx.session is ctx.session and ctx.in_this_file(value._group):
            ctx.link(parent, name, value._group)  # the same list at a second place: one list
            ctx.session.linked(value._path, join(ctx.path_of(parent), name))
            ctx.remember(value, ctx.child(parent, name))
            return
        ctx.encode(list(value), parent, name)

    def decode(self, node: Any, ctx: Door) -> Any:  # pragma: no cover - never written as a tag
        raise ctx.error(FileFormatError, "table rows are stored as lists")


CODECS = (ObjectCodec(), RecordCodec(), ProxyCodec(), TableRowsCodec())
