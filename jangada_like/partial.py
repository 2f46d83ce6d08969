"""Partial loading: ``Cls.load(path, only=[...], exclude=[...])`` with dotted paths.

A property that is not loaded holds a :class:`NotLoaded` marker (never its default), which names
where its data lives.  Saving such an object copies the data it did not load from that file, so a
partial load followed by a save never erases anything.

Examples
--------
>>> import numpy as np, tempfile, os
>>> from jangada_like import Persistable, SerializableProperty
>>> class Scan(Persistable):
...     name = SerializableProperty(default="")
...     image = SerializableProperty(default=None)
>>> path = Scan(name="s1", image=np.zeros((4, 4))).save(os.path.join(tempfile.mkdtemp(), "scan"))
>>> scan = Scan.load(path, exclude=["image"])
>>> scan.name, scan.image
('s1', <not loaded: Scan.image at '/root/image'>)
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from .errors import SelectionError

__all__ = ["NotLoaded", "Selection"]


class NotLoaded:
    """Marks a property left out of a partial load; saving copies its data from ``file``."""

    __jangada_lazy__ = True  # parsers are not run on it
    __slots__ = ("file", "path", "prop", "row")

    def __init__(self, file: str, path: str, prop: str | None, row: int | None = None) -> None:
        self.file = file
        self.path = path
        self.prop = prop
        self.row = row

    def __repr__(self) -> str:
        row = f" row {self.row}" if self.row is not None else ""
        return f"<not loaded: {self.prop} at '{self.path}'{row}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NotLoaded):
            return NotImplemented
        return (self.file, self.path, self.row) == (other.file, other.path, other.row)

    __hash__ = None  # type: ignore[assignment]

    def __deepcopy__(self, memo: dict[int, Any]) -> NotLoaded:
        return self


_ALL = True


class Selection:
    """Which members of an object (and of the objects below it) to read."""

    def __init__(self, only: dict[str, Any] | None, exclude: dict[str, Any]) -> None:
        self.only = only
        self.exclude = exclude

    @classmethod
    def build(cls, only: Iterable[str] | None, exclude: Iterable[str] | None) -> Selection | None:
        if only is None and not exclude:
            return None
        for names in (only or ()), (exclude or ()):
            if isinstance(names, str):
                raise TypeError("only= and exclude= take lists of dotted names, not a string")
        return cls(_tree(only) if only is not None else None, _tree(exclude or ()))

    def check(self, cls: type, stored: Iterable[str], file: str, path: str) -> None:
        """Raise :class:`~jangada_like.errors.SelectionError` if ``only``/``exclude`` name a
        property that ``cls`` neither declares nor has stored at ``path`` (a typo would
        otherwise load nothing, or everything, without a word)."""
        known = set(getattr(cls, "_serializable_properties", {})) | set(stored)
        for option, tree in (("only", self.only or {}), ("exclude", self.exclude)):
            for name in tree:
                if name in known:
                    continue
                close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                msg = f"{option}= names {name!r}, which {cls.__qualname__} does not have{hint}; "
                msg += f"its properties are {', '.join(sorted(known)) or 'none'}"
                raise SelectionError(msg, file=file, path=path, prop=f"{cls.__qualname__}.{name}")

    def child(self, name: str) -> Selection | bool | None:
        """``False``: skip the member; ``None``: read all of it; a Selection: read part of it."""
        excluded = self.exclude.get(name)
        if excluded is _ALL:
            return False
        if self.only is not None and name not in self.only:
            return False
        wanted = self.only.get(name) if self.only is not None else _ALL
        sub_only = wanted if isinstance(wanted, dict) else None
        sub_exclude = excluded if isinstance(excluded, dict) else {}
        if sub_only is None and not sub_exclude:
            return None
        return Selection(sub_only, sub_exclude)


def _tree(names: Iterable[str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for dotted in names:
        parts = dotted.split(".")
        if not all(parts):
            raise ValueError(f"bad property path {dotted!r}")
        node = tree
        for part in parts[:-1]:
            existing = node.get(part)
            if existing is _ALL:
                break
            node = node.setdefault(part, {})
        else:
            node[parts[-1]] = _ALL
    return tree
