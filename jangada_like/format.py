"""The words of the file format (see ``docs/format.rst``), with no HDF5 library behind them.

Codecs, the engine and the file layer share these names; nothing here imports h5py, so a codec
can speak the format while only the door (:mod:`jangada_like.door`) touches the file.

Examples
--------
>>> from jangada_like.format import CLASS_ATTR, join, is_safe_name
>>> CLASS_ATTR, join("/root", "trials"), is_safe_name("__hidden")
('__class__', '/root/trials', False)
"""

from __future__ import annotations

import numpy as np

CLASS_ATTR = "__class__"
CONTAINER_ATTR = "__container_type__"
DATASET_ATTR = "__dataset_type__"
TYPES_ATTR = "__attr_types__"
VERSION_ATTR = "__class_version__"
#: beside an enum member stored as attribute ``name``: ``__enum_value__<name>`` holds its value
ENUM_VALUE_PREFIX = "__enum_value__"
#: the item type of a sequence dataset or of a table column
ITEM_ATTR = "__item_type__"

FORMAT_ATTR = "jangada_like_format"
LIBRARY_ATTR = "jangada_like_version"
#: 2: small arrays and sequences written by a save may be contiguous datasets (see docs/format.rst)
FORMAT_VERSION = 2
ROOT = "root"

#: attributes larger than this many bytes go to datasets (HDF5 object headers stay small)
ATTR_LIMIT = 64 * 1024
#: chunk sizes chosen for growth along axis 0
CHUNK_MIN_BYTES = 16 * 1024
#: chunk size of datasets created with no rows (series that will grow by appends)
EMPTY_CHUNK_BYTES = 256 * 1024
CHUNK_MAX_BYTES = 4 * 1024 * 1024
#: a save stores non-empty data smaller than this as a contiguous dataset (format 2): no chunk to
#: fill, no chunk index; the first append converts it to a chunked, resizable one
SMALL_BYTES = 16 * 1024
#: The least one Python object built from a stored item costs (a list slot and a small int, float
#: or str): the estimate for datasets that become lists, tables of objects and the like.
PYTHON_ITEM_BYTES = 40

#: variable-length UTF-8 strings, as HDF5 stores them (the dtype ``h5py.string_dtype()`` gives)
STR_DTYPE = np.dtype("O", metadata={"vlen": str})


def join(parent: str, name: str) -> str:
    """Join an HDF5 group path and a member name.

    >>> join("/", "root"), join("/root", "x")
    ('/root', '/root/x')
    """
    return f"/{name}" if parent == "/" else f"{parent}/{name}"


def is_safe_name(key: object) -> bool:
    """Whether ``key`` can be an HDF5 member name as it is (str, not reserved, no '/').

    >>> is_safe_name("trials"), is_safe_name("a/b"), is_safe_name(3)
    (True, False, False)
    """
    if not isinstance(key, str) or not key or key in (".", "..") or key.startswith("__"):
        return False
    if "/" in key or "\x00" in key:
        return False
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
