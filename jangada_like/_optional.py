"""Optional heavy libraries, checked without importing them.

A value can only be a pandas object if pandas has been imported, so type checks against pandas go
through :func:`pandas_types`, whose ``isinstance`` looks pandas up in ``sys.modules`` instead of
importing it: ``import jangada_like`` stays free of pandas (see ``docs/architecture.rst``).

Examples
--------
>>> frames = pandas_types("DataFrame", "Series")
>>> isinstance([1, 2], frames)
False
>>> import pandas as pd
>>> isinstance(pd.Series([1.0]), frames)
True
"""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

__all__ = ["loaded_pandas", "pandas_types"]


def loaded_pandas() -> ModuleType | None:
    """The pandas module if the program has imported it, else ``None`` (never imports it)."""
    return sys.modules.get("pandas")


class _LazyTypesMeta(type):
    _names: tuple[str, ...]

    def __instancecheck__(cls, instance: Any) -> bool:
        pd = loaded_pandas()
        if pd is None:
            return False
        return isinstance(instance, tuple(getattr(pd, name) for name in cls._names))


def pandas_types(*names: str) -> type:
    """A class that ``isinstance`` matches for the named pandas types, without importing pandas."""
    return _LazyTypesMeta("pandas_types", (), {"_names": names})
