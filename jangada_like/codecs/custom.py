"""The codecs of types registered the jangada way: ``register_primitive_type`` and
``register_dataset_type`` (the registrations themselves are :class:`~jangada_like.CodecRegistry`
methods).

A primitive type is stored as an attribute as h5py accepts it, tagged with its qualified name and
rebuilt with ``t(raw)``.  A dataset type is split by ``disassemble(value) -> (array, attrs)`` into a
dataset (tagged with the qualified name, scalar ``attrs`` as attributes) and rebuilt with
``assemble(array, attrs)``; slices of a lazy dataset go through ``assemble`` too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..door import Dataset, Door, Group
from ..errors import UnsupportedTypeError
from ..format import DATASET_ATTR
from .base import AttrNode, Codec
from .numpy_ import read, write_array

#: what ``register_primitive_type`` refuses (besides Serializable classes)
REFUSED_PRIMITIVES = (list, dict, tuple)


def _qualname(t: type) -> str:
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


class PrimitiveCodec(Codec):
    def __init__(self, t: type) -> None:
        self.types = (t,)  # type: ignore[misc]
        self.tag = _qualname(t)  # type: ignore[misc]

    def encode(self, value: Any, parent: Group, name: str, ctx: Door) -> None:
        ctx.write_attr(parent, name, value, self.tag)

    def decode(self, node: Any, ctx: Door) -> Any:
        raw = node.value if isinstance(node, AttrNode) else ctx.read(node)
        t = self.types[0]
        return raw if isinstance(raw, t) else t(raw)


class DatasetTypeCodec(Codec):
    def __init__(self, t: type, disassemble: Callable[..., Any], assemble: Callable[..., Any]) -> None:
        self.types = (t,)  # type: ignore[misc]
        self.tag = _qualname(t)  # type: ignore[misc]
        self.disassemble = disassemble
        self.assemble = assemble

    def encode(self, value: Any, parent: Group, name: str, ctx: Door) -> None:
        out = self.disassemble(value)
        if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], dict)):
            msg = f"disassemble for {self.tag} must return (array, dict), got {type(out).__name__}"
            raise ctx.error(UnsupportedTypeError, msg)
        dset = write_array(np.asarray(out[0]), parent, name, self.tag, ctx)
        for key, item in out[1].items():
            if not isinstance(key, str) or key.startswith("__"):
                raise ctx.error(UnsupportedTypeError, f"bad attribute name {key!r} from disassemble")
            ctx.encode(item, dset, key)

    def user_attrs(self, dset: Dataset, ctx: Door) -> dict[str, Any]:
        return {k: ctx.decode(ctx.member(dset, k)) for k in ctx.member_names(dset)}

    def decode(self, node: Any, ctx: Door) -> Any:
        if ctx.lazy:
            return ctx.session.proxy(node, self)
        return self.assemble(read(node, (), ctx), self.user_attrs(node, ctx))

    def read_slice(self, dset: Dataset, key: Any, ctx: Door) -> Any:
        return self.assemble(read(dset, key, ctx), self.user_attrs(dset, ctx))

    def convert_for_write(self, value: Any, dset: Dataset, ctx: Door) -> np.ndarray:
        if isinstance(value, self.types[0]):
            return np.asarray(self.disassemble(value)[0])
        return np.asarray(value)

    def logical_dtype(self, dset: Dataset, ctx: Door) -> np.dtype[Any]:
        dtype: np.dtype[Any] = dset.dtype
        return dtype


__all__ = ["DATASET_ATTR", "REFUSED_PRIMITIVES", "DatasetTypeCodec", "PrimitiveCodec"]
