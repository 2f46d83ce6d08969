"""The built-in codecs, one module per type family; importing this package registers them all.

See :mod:`jangada_like.codecs.base` for the contract a custom codec follows.
"""

from __future__ import annotations

from ..registry import default_registry
from . import containers, nested, numpy_, pandas_, scalars, stdlib
from .base import AttrNode, Codec
from .stdlib import register_enum

for _module in (scalars, containers, numpy_, pandas_, stdlib, nested):
    for _codec in _module.CODECS:
        default_registry.register(_codec)

__all__ = ["AttrNode", "Codec", "register_enum"]
