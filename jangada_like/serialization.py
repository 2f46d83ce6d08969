"""Every name of ``jangada.serialization`` (0.1.9), for code that imports from there.

``from jangada.serialization import X`` becomes ``from jangada_like.serialization import X``
(or ``from jangada_like import X`` for the public names).

Examples
--------
>>> from jangada_like.serialization import Persistable, disassemble_ndarray
>>> import numpy as np
>>> disassemble_ndarray(np.arange(3))
(array([0, 1, 2]), {})
"""

from __future__ import annotations

from typing import Any, TypeVar

import numpy as np
import pandas as pd

from .codecs.pandas_ import tz_name
from .persistable import Persistable, load
from .properties import (  # noqa: F401  (re-exported as jangada has them)
    DefaultCallable,
    Observer,
    Parser,
    Postinitializer,
    SerializableProperty,
    sproperty,
)
from .serializable import (  # noqa: F401
    Serializable,
    SerializableMetatype,
    check_types,
    get_full_qualified_name,
)

T = TypeVar("T")

__all__ = ["Persistable", "Serializable", "SerializableProperty", "load", "sproperty"]


def disassemble_ndarray(arr: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """jangada's array disassembler: the array itself and no attributes."""
    return arr, {}


def assemble_ndarray(arr: np.ndarray, attrs: dict[str, Any]) -> np.ndarray:
    """jangada's array assembler: the array itself."""
    return arr


def disassemble_pandas_time(value: Any) -> tuple[np.ndarray, dict[str, Any]]:
    """A Timestamp or DatetimeIndex as int64 nanoseconds since the UTC epoch (jangada stored
    local wall time; instants are exact here) and ``{"timezone": name or None}``.

    Examples
    --------
    >>> arr, attrs = disassemble_pandas_time(pd.Timestamp("2024-06-01 12:00", tz="Europe/Berlin"))
    >>> assemble_pandas_time(arr, attrs)
    Timestamp('2024-06-01 12:00:00+0200', tz='Europe/Berlin')
    """
    tz = tz_name(getattr(value, "tz", None))
    if isinstance(value, pd.DatetimeIndex):
        stamps: Any = value.as_unit("ns")  # Any: pandas-stubs 2.x lack asi8
        return np.asarray(stamps.asi8, dtype=np.int64), {"timezone": tz}
    return np.array(pd.Timestamp(value).as_unit("ns").value, dtype=np.int64), {"timezone": tz}


def assemble_pandas_time(arr: np.ndarray, attrs: dict[str, Any]) -> Any:
    """Inverse of :func:`disassemble_pandas_time`."""
    tz = dict(attrs).get("timezone")
    values = np.asarray(arr, dtype=np.int64)
    index = pd.DatetimeIndex(np.atleast_1d(values).view("M8[ns]"))
    if tz is not None:
        index = index.tz_localize("UTC").tz_convert(tz)
    return index[0] if values.ndim == 0 else index
