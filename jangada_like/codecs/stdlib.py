"""datetime.datetime / date / time / timedelta and Enum members of registered enums.

datetimes, dates and times are ISO 8601 strings (``[datetime.datetime]`` etc. in
``__attr_types__``); a ``zoneinfo`` zone is kept by name after the offset, as in RFC 9557
(``2024-10-27T02:30:00+01:00[Europe/Berlin]``), so DST folds load exactly.  A timedelta is an
int64 triple ``(days, seconds, microseconds)``.  An Enum member is ``'<enum tag>.<member name>'``,
with its value beside it (``__enum_value__<name>``) when it is an int, float, bool or str; its enum
must be registered (``register_enum``, kept by the registry) to load as a member, else it loads as an
:class:`~jangada_like.generic.UnknownEnumMember` (with a warning; ``strict=True`` raises).
"""

from __future__ import annotations

import datetime as dt
import enum
import warnings
import zoneinfo
from typing import Any

import numpy as np

from ..door import Door, Group
from ..errors import (
    FileFormatError,
    UnknownClassError,
    UnknownClassWarning,
    UnstableTagWarning,
    UnsupportedTypeError,
)
from ..format import ENUM_VALUE_PREFIX
from ..generic import UnknownEnumMember
from ..serializable import outside_stacklevel
from .base import AttrNode, Codec


def _text(node: Any, ctx: Door, what: str) -> str:
    if not isinstance(node, AttrNode) or not isinstance(node.value, str):
        path = node.path if isinstance(node, AttrNode) else node.name
        raise ctx.error(FileFormatError, f"expected {what} as a string attribute", path)
    return node.value


class DatetimeCodec(Codec):
    tag = "datetime.datetime"
    read_tags = ("datetime.date", "datetime.time")
    types = (dt.datetime, dt.date, dt.time)
    subclasses = False

    def encode(self, value: Any, parent: Group, name: str, ctx: Door) -> None:
        text = value.isoformat()
        tz = getattr(value, "tzinfo", None)
        if isinstance(tz, zoneinfo.ZoneInfo):
            text += f"[{tz.key}]"
        ctx.write_attr(parent, name, text, f"datetime.{type(value).__name__}")

    def decode(self, node: Any, ctx: Door) -> Any:
        text = _text(node, ctx, "an ISO 8601 date/time")
        kind = ctx.node_tag(node).rsplit(".", 1)[-1]
        zone = None
        if text.endswith("]") and "[" in text:
            text, zone = text[:-1].split("[", 1)
        try:
            value = getattr(dt, kind).fromisoformat(text)
            if zone is not None:
                value = value.astimezone(zoneinfo.ZoneInfo(zone))
        except (ValueError, zoneinfo.ZoneInfoNotFoundError, AttributeError) as exc:
            msg = f"cannot parse {kind} {text!r:.60}: {exc}"
            raise ctx.error(FileFormatError, msg, node.path) from None
        return value


class TimedeltaCodec(Codec):
    tag = "datetime.timedelta"
    types = (dt.timedelta,)
    subclasses = False

    def encode(self, value: Any, parent: Group, name: str, ctx: Door) -> None:
        raw = np.array([value.days, value.seconds, value.microseconds], dtype=np.int64)
        ctx.write_attr(parent, name, raw, self.tag)

    def decode(self, node: Any, ctx: Door) -> Any:
        raw = node.value if isinstance(node, AttrNode) else None
        if not isinstance(raw, np.ndarray) or raw.shape != (3,) or raw.dtype.kind not in "iu":
            raise ctx.error(FileFormatError, "a timedelta must be 3 integers", node.path)
        try:
            return dt.timedelta(days=int(raw[0]), seconds=int(raw[1]), microseconds=int(raw[2]))
        except OverflowError:
            raise ctx.error(FileFormatError, "timedelta out of range", node.path) from None


class EnumCodec(Codec):
    tag = "enum"
    types = (enum.Enum, UnknownEnumMember)

    def encode(self, value: Any, parent: Group, name: str, ctx: Door) -> None:
        tag: str | None
        if isinstance(value, UnknownEnumMember):  # written back as it was read
            tag, member, raw = value.enum_tag, value.name, value.value
        else:
            tag, member, raw = ctx.registry.tag_of_enum(type(value)), value.name, value.value
            if tag is None:
                msg = f"enum {type(value).__qualname__} is not registered: call "
                msg += "jangada_like.register_enum on it (loading needs it too)"
                raise ctx.error(UnsupportedTypeError, msg)
            if tag.startswith("__main__."):
                warn_unstable_enum(type(value), tag)
        ctx.write_attr(parent, name, f"{tag}.{member}", self.tag)
        if _storable_value(raw):  # the value too, so that a reader without the enum has it
            ctx.set_attr(parent, ENUM_VALUE_PREFIX + name, raw)

    def decode(self, node: Any, ctx: Door) -> Any:
        text = _text(node, ctx, "an enum member")
        tag, _, member = text.rpartition(".")
        raw = ctx.attr(node.parent, ENUM_VALUE_PREFIX + node.name)
        value = raw.item() if isinstance(raw, np.generic) else raw
        value = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        cls = ctx.registry.enum_for_tag(tag)
        if cls is None:
            return _unknown_enum(tag, member, value, node, ctx)
        try:
            return cls[member]
        except KeyError:
            pass
        try:  # a member renamed since: its stored value finds it
            if value is not None:
                return cls(value)
        except (ValueError, TypeError):
            pass
        # a member removed since: kept as it was stored, as for an enum that is not registered
        return _unknown_enum(tag, member, value, node, ctx, removed=True)


def _storable_value(raw: Any) -> bool:
    if type(raw) is int:
        return -(2**63) <= raw < 2**63
    return type(raw) in (bool, float, str) and not (type(raw) is str and "\x00" in raw)


def _unknown_enum(
    tag: str, member: str, value: Any, node: Any, ctx: Door, removed: bool = False
) -> UnknownEnumMember:
    if removed:
        why = f"enum {tag!r} has no member {member!r} (any more)"
        hint = "add the member back (or its value, under any name) to load it as a member"
    else:
        why = f"enum {tag!r} is not registered in this process (unregistered enum {tag!r})"
        hint = f"register it with register_enum({tag.rpartition('.')[2]}, tag={tag!r}) before loading"
    if ctx.strict:
        raise ctx.error(UnknownClassError, f"{why}: {hint}", node.path)
    msg = f"{ctx.file_name}:{node.path} holds member {member!r}, but {why}; returning an "
    msg += f"UnknownEnumMember with its name and value (strict=True raises instead); {hint}"
    warnings.warn(msg, UnknownClassWarning, stacklevel=2)
    return UnknownEnumMember(tag, member, value)


_WARNED_ENUMS: set[str] = set()


def warn_unstable_enum(cls: type, tag: str) -> None:
    """Warn once that an enum defined in a script is stored under a ``__main__.`` tag."""
    if tag in _WARNED_ENUMS:
        return
    _WARNED_ENUMS.add(tag)
    name = cls.__qualname__
    msg = f"enum {name} is defined in a script (__main__): files name it {tag!r}; register it with "
    msg += f"a stable tag that survives moving it into a module: register_enum({name}, tag='yourlab.{name}')"
    warnings.warn(msg, UnstableTagWarning, stacklevel=outside_stacklevel())


CODECS = (DatetimeCodec(), TimedeltaCodec(), EnumCodec())
