"""``GenericRecord``: what a file's object becomes when its class is not registered.

Loading never imports the module a file names.  An unknown class gives, by default, a read-only
record holding the stored class name and data, with an :class:`UnknownClassWarning`; pass
``strict=True`` to ``load`` to get an :class:`UnknownClassError` instead.  A record can be saved
back unchanged, so unknown data is never lost by a round trip.

Examples
--------
>>> rec = make_record("lab.Sample", {"mass": 1.5})
>>> rec.class_name, rec.mass, rec["mass"]
('lab.Sample', 1.5, 1.5)
>>> rec.mass = 2.0
Traceback (most recent call last):
...
jangada_like.errors.ReadOnlyError: GenericRecord of unknown class 'lab.Sample' is read-only
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

from ._compare import values_equal
from .errors import ReadOnlyError

__all__ = ["GenericRecord", "UnknownEnumMember", "make_record"]


class GenericRecord(Mapping[str, Any]):
    """A read-only stand-in for an object of an unregistered class.

    Data never becomes class attributes: values are reached as ``rec.name`` or ``rec["name"]``.
    """

    __slots__ = ("_class_name", "_data")

    def __init__(self, class_name: str, data: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_class_name", class_name)
        object.__setattr__(self, "_data", MappingProxyType(dict(data)))

    @property
    def class_name(self) -> str:
        """The class tag stored in the file."""
        return self._class_name

    @property
    def data(self) -> Mapping[str, Any]:
        """The stored properties, read-only."""
        return self._data

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            msg = f"GenericRecord of {self._class_name!r} has no property {name!r}"
            raise AttributeError(msg) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise ReadOnlyError(f"GenericRecord of unknown class {self._class_name!r} is read-only")

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GenericRecord):
            return NotImplemented
        return self._class_name == other._class_name and values_equal(dict(self._data), dict(other._data))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r:.40}" for k, v in self._data.items())
        return f"GenericRecord[{self._class_name}]({inner})"


def make_record(class_name: str, data: Mapping[str, Any]) -> GenericRecord:
    """Build a :class:`GenericRecord` (used by ``load`` and ``deserialize``)."""
    return GenericRecord(class_name, data)


class UnknownEnumMember:
    """A stand-in for a member of an enum that is not registered where the file is loaded: the
    stored enum tag, member name and value (``None`` for files that did not store it).  Saving it
    writes the member back as it was.

    Examples
    --------
    >>> m = UnknownEnumMember("lab.Laser", "IR", 2)
    >>> m.name, m.value, m
    ('IR', 2, <UnknownEnumMember lab.Laser.IR = 2>)
    """

    __slots__ = ("enum_tag", "name", "value")

    def __init__(self, enum_tag: str, name: str, value: Any) -> None:
        self.enum_tag = enum_tag
        self.name = name
        self.value = value

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, UnknownEnumMember):
            return NotImplemented
        return (self.enum_tag, self.name, self.value) == (other.enum_tag, other.name, other.value)

    def __hash__(self) -> int:
        return hash((self.enum_tag, self.name))

    def __repr__(self) -> str:
        return f"<UnknownEnumMember {self.enum_tag}.{self.name} = {self.value!r}>"
