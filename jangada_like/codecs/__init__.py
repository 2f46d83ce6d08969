"""The built-in codecs, one module per type family; importing this package registers them all.

See :mod:`jangada_like.codecs.base` for the contract a custom codec follows.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..registry import default_registry
from . import containers, nested, numpy_, scalars, stdlib
from .base import AttrNode, Codec
from .stdlib import register_enum

for _module in (scalars, containers, numpy_, stdlib, nested):
    for _codec in _module.CODECS:
        default_registry.register(_codec)


def _pandas_codecs() -> Iterable[Codec]:
    # the one documented function-level import of a codec module: pandas loads on first use
    from . import pandas_

    return pandas_.CODECS


default_registry.register_lazy("pandas", "pandas.", _pandas_codecs)

__all__ = ["AttrNode", "Codec", "register_enum"]
