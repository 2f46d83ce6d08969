"""The codec contract: a stable tag, the Python types handled, ``encode`` and ``decode``.

A codec places a value under ``parent[name]`` as an attribute, a dataset or a group, and writes its
tag where the reader will find it (``__dataset_type__`` on datasets, ``__container_type__`` on
groups, the ``__attr_types__`` map for attributes whose HDF5 type alone is ambiguous).  Codecs
recurse only through the context (``ctx.encode`` / ``ctx.decode``), which tracks paths, depth,
shared references and error context.

Examples
--------
A full custom codec that stores a ``fractions.Fraction`` as a two-element int64 attribute:

>>> import fractions
>>> class FractionCodec(Codec):
...     tag = "fractions.Fraction"
...     types = (fractions.Fraction,)
...     def encode(self, value, parent, name, ctx):
...         ctx.write_attr(parent, name, np.array([value.numerator, value.denominator]), self.tag)
...     def decode(self, node, ctx):
...         num, den = (int(v) for v in node.value)
...         return fractions.Fraction(num, den)
>>> from jangada_like import default_registry, register_codec
>>> codec = register_codec(FractionCodec())
>>> default_registry.unregister(codec)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..door import Dataset, Group

if TYPE_CHECKING:
    from ..door import Door

__all__ = ["AttrNode", "Codec", "Node"]


@dataclass(frozen=True)
class AttrNode:
    """An attribute seen as a node: the object holding it, its name and its raw value."""

    parent: Group | Dataset
    name: str
    value: Any

    @property
    def path(self) -> str:
        """``/group/path@name``, as printed in error messages."""
        return f"{self.parent.name}@{self.name}"


#: what a codec reads: an attribute, a dataset or a group
Node = AttrNode | Dataset | Group


class Codec:
    """Base class of every codec.

    Subclasses set ``tag`` (stable, written to files) and ``types`` (exact Python types handled;
    subclasses of them are found through the MRO), or override :meth:`matches` for a predicate.
    """

    tag: ClassVar[str] = ""
    types: ClassVar[tuple[type, ...]] = ()
    #: further tags this codec reads (older spellings, jangada's own)
    read_tags: ClassVar[tuple[str, ...]] = ()
    #: whether subclasses of ``types`` are handled too; builtins say no, so that a ``str``
    #: subclass (a ``StrEnum`` member, say) is never silently stored as a plain ``str``
    subclasses: ClassVar[bool] = True

    def matches(self, tp: type) -> bool:
        """Predicate lookup, tried after exact type and MRO; ``False`` by default."""
        return False

    def encode(self, value: Any, parent: Group, name: str, ctx: Door) -> None:
        """Write ``value`` as ``parent[name]`` (attribute, dataset or group)."""
        raise NotImplementedError(f"{type(self).__name__} does not encode")  # pragma: no cover

    def decode(self, node: Any, ctx: Door) -> Any:
        """Read the value stored at ``node``."""
        raise NotImplementedError(f"{type(self).__name__} does not decode")  # pragma: no cover

    def children(self, value: Any) -> Iterable[Any]:
        """The values nested in ``value`` (used to validate a tree before any file is opened)."""
        return ()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} tag={self.tag!r}>"


def as_array(value: Any) -> np.ndarray:
    """``np.asarray`` that also reads through lazy proxies."""
    if getattr(type(value), "__jangada_lazy__", False):
        return np.asarray(value[()])
    return np.asarray(value)
