"""Python scalars: None, bool, int (any size), float, complex, str (any length, any code point),
bytes and paths.  Each is one HDF5 attribute, or a dataset when it would exceed 64 KiB.

Layout (tags in brackets are recorded in the parent's ``__attr_types__`` map):

========== ======================================================================
None       empty (null dataspace) attribute
bool       HDF5 bool enum
int        int64 attribute; beyond 64 bits a hex string ``[int]``
float      float64; complex: complex128 (compound ``r``, ``i``)
str        UTF-8 variable-length string; with NUL or lone surrogates, uint8 bytes ``[str]``;
           larger than 64 KiB, a scalar string dataset tagged ``str``
bytes      uint8 array ``[bytes]`` (dataset when large)
paths      the path text ``[pathlib.Path]`` (relative stays relative)
========== ======================================================================
"""

from __future__ import annotations

import pathlib
from typing import Any, ClassVar

import numpy as np

from ..door import Door, Group
from ..errors import FileFormatError, JangadaError
from ..format import ATTR_LIMIT, DATASET_ATTR, STR_DTYPE
from .base import AttrNode, Codec


def _format_error(ctx: Door, node: Any, expected: str) -> JangadaError:
    got = node.value if isinstance(node, AttrNode) else node
    path = node.path if isinstance(node, AttrNode) else node.name
    msg = f"expected {expected}, found {type(got).__name__} {got!r:.60}"
    return ctx.error(FileFormatError, msg, path)


class NoneCodec(Codec):
    tag = "none"
    types = (type(None),)

    def encode(self, value: Any, parent: Group, name: str, ctx: Door) -> None:
        ctx.write_attr(parent, name, ctx.empty("i1"), self.tag)

    def decode(self, node: Any, ctx: Door) -> Any:
        return None


class _NumberCodec(Codec):
    dtype: np.dtype[Any]
    subclasses = False

    def encode(self, value: Any, parent: Group, name: str, ctx: Door) -> None:
        ctx.write_attr(parent, name, self.dtype.type(value), self.tag)

    def decode(self, node: Any, ctx: Door) -> Any:
        raw = node.value if isinstance(node, AttrNode) else ctx.read(node)
        if not isinstance(raw, (np.number, np.bool_)):
            raise _format_error(ctx, node, f"a number for tag {self.tag!r}")
        return self.pytype(raw)

    def pytype(self, raw: Any) -> Any:
        return raw.item()


class BoolCodec(_NumberCodec):
    tag = "bool"
    types = (bool,)
    dtype = np.dtype(bool)

    def pytype(self, raw: Any) -> Any:
        return bool(raw)


class IntCodec(_NumberCodec):
    tag = "int"
    types = (int,)
    dtype = np.dtype("int64")

    def encode(self, value: Any, parent: Group, name: str, ctx: Door) -> None:
        if -(2**63) <= value < 2**63:
            ctx.write_attr(parent, name, np.int64(value), self.tag)
        else:  # hex has no digit limit on int(), decimal has (sys.int_info)
            ctx.write_attr(parent, name, hex(value), self.tag)

    def decode(self, node: Any, ctx: Door) -> Any:
        raw = node.value if isinstance(node, AttrNode) else None
        if isinstance(raw, str):
            try:
                return int(raw, 16)
            except ValueError:
                raise _format_error(ctx, node, "a hex integer string") from None
        if isinstance(raw, np.integer):
            return int(raw)
        raise _format_error(ctx, node, "an integer")


class FloatCodec(_NumberCodec):
    tag = "float"
    types = (float,)
    dtype = np.dtype("float64")

    def pytype(self, raw: Any) -> Any:
        return float(raw)


class ComplexCodec(_NumberCodec):
    tag = "complex"
    types = (complex,)
    dtype = np.dtype("complex128")

    def pytype(self, raw: Any) -> Any:
        return complex(raw)


def _store_bytes(data: bytes, parent: Group, name: str, tag: str, ctx: Door) -> None:
    arr = np.frombuffer(data, dtype=np.uint8)
    if arr.nbytes > ATTR_LIMIT:
        ctx.create_dataset(parent, name, arr, tag)
    else:
        ctx.write_attr(parent, name, arr, tag)


def _read_bytes(node: Any, ctx: Door) -> bytes:
    raw = node.value if isinstance(node, AttrNode) else ctx.read(node)
    if not isinstance(raw, np.ndarray) or raw.dtype != np.uint8 or raw.ndim != 1:
        raise _format_error(ctx, node, "a 1-D uint8 array")
    return raw.tobytes()


class StrCodec(Codec):
    tag = "str"
    types = (str,)
    subclasses = False

    def encode(self, value: Any, parent: Group, name: str, ctx: Door) -> None:
        try:
            data = value.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: keep them, as bytes
            _store_bytes(value.encode("utf-8", "surrogatepass"), parent, name, self.tag, ctx)
            return
        if b"\x00" in data:  # HDF5 strings end at NUL
            _store_bytes(data, parent, name, self.tag, ctx)
        elif len(data) > ATTR_LIMIT:
            dset = ctx.new_dataset(parent, name, value, dtype=STR_DTYPE)
            ctx.set_attr(dset, DATASET_ATTR, self.tag)
        else:
            ctx.write_attr(parent, name, value, self.tag)

    def decode(self, node: Any, ctx: Door) -> Any:
        if isinstance(node, AttrNode) and isinstance(node.value, str):
            return node.value
        if ctx.is_dataset(node) and ctx.string_info(node.dtype) and node.ndim == 0:
            return ctx.read_str(node)
        if isinstance(node, AttrNode) and isinstance(node.value, bytes):
            return node.value.decode("utf-8", "surrogateescape")
        return _read_bytes(node, ctx).decode("utf-8", "surrogatepass")


class BytesCodec(Codec):
    tag = "bytes"
    types = (bytes,)
    subclasses = False

    def encode(self, value: Any, parent: Group, name: str, ctx: Door) -> None:
        _store_bytes(value, parent, name, self.tag, ctx)

    def decode(self, node: Any, ctx: Door) -> Any:
        if isinstance(node, AttrNode) and isinstance(node.value, bytes):
            return node.value  # a fixed-length string attribute written by another tool
        return _read_bytes(node, ctx)


class PathCodec(Codec):
    tag = "pathlib.Path"
    read_tags = ("pathlib.PurePosixPath", "pathlib.PureWindowsPath")
    types = (pathlib.PurePath,)
    _classes: ClassVar[dict[str, type]] = {
        "pathlib.Path": pathlib.Path,
        "pathlib.PurePosixPath": pathlib.PurePosixPath,
        "pathlib.PureWindowsPath": pathlib.PureWindowsPath,
    }

    def encode(self, value: Any, parent: Group, name: str, ctx: Door) -> None:
        if isinstance(value, pathlib.Path):
            tag = "pathlib.Path"
        elif isinstance(value, pathlib.PureWindowsPath):
            tag = "pathlib.PureWindowsPath"
        else:
            tag = "pathlib.PurePosixPath"
        ctx.write_attr(parent, name, str(value), tag)

    def decode(self, node: Any, ctx: Door) -> Any:
        if not isinstance(node, AttrNode) or not isinstance(node.value, str):
            raise _format_error(ctx, node, "a path string attribute")
        tag = ctx.node_tag(node)
        return self._classes.get(tag, pathlib.Path)(node.value)


CODECS = (
    NoneCodec(),
    BoolCodec(),
    IntCodec(),
    FloatCodec(),
    ComplexCodec(),
    StrCodec(),
    BytesCodec(),
    PathCodec(),
)
