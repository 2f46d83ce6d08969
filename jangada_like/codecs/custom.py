"""Types registered the jangada way: ``register_primitive_type`` and ``register_dataset_type``.

A primitive type is stored as an attribute as h5py accepts it, tagged with its qualified name and
rebuilt with ``t(raw)``.  A dataset type is split by ``disassemble(value) -> (array, attrs)`` into a
dataset (tagged with the qualified name, scalar ``attrs`` as attributes) and rebuilt with
``assemble(array, attrs)``; slices of a lazy dataset go through ``assemble`` too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import h5py
import numpy as np

from .._h5 import DATASET_ATTR
from ..errors import UnsupportedTypeError
from .base import AttrNode, Codec
from .numpy_ import read, write_array

_LOCK = threading.Lock()
_PRIMITIVES: dict[type, Codec | None] = {}
_DATASETS: dict[type, Codec | None] = {}
_REFUSED = (list, dict, tuple)


def _qualname(t: type) -> str:
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


class PrimitiveCodec(Codec):
    def __init__(self, t: type) -> None:
        self.types = (t,)  # type: ignore[misc]
        self.tag = _qualname(t)  # type: ignore[misc]

    def encode(self, value: Any, parent: h5py.Group, name: str, ctx: Any) -> None:
        ctx.write_attr(parent, name, value, self.tag)

    def decode(self, node: Any, ctx: Any) -> Any:
        raw = node.value if isinstance(node, AttrNode) else node[()]
        t = self.types[0]
        return raw if isinstance(raw, t) else t(raw)


class DatasetTypeCodec(Codec):
    def __init__(self, t: type, disassemble: Callable[..., Any], assemble: Callable[..., Any]) -> None:
        self.types = (t,)  # type: ignore[misc]
        self.tag = _qualname(t)  # type: ignore[misc]
        self.disassemble = disassemble
        self.assemble = assemble

    def encode(self, value: Any, parent: h5py.Group, name: str, ctx: Any) -> None:
        out = self.disassemble(value)
        if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], dict)):
            msg = f"disassemble for {self.tag} must return (array, dict), got {type(out).__name__}"
            raise ctx.error(UnsupportedTypeError, msg)
        dset = write_array(np.asarray(out[0]), parent, name, self.tag, ctx)
        for key, item in out[1].items():
            if not isinstance(key, str) or key.startswith("__"):
                raise ctx.error(UnsupportedTypeError, f"bad attribute name {key!r} from disassemble")
            ctx.encode(item, dset, key)

    def user_attrs(self, dset: h5py.Dataset, ctx: Any) -> dict[str, Any]:
        return {k: ctx.decode(ctx.member(dset, k)) for k in ctx.member_names(dset)}

    def decode(self, node: Any, ctx: Any) -> Any:
        if ctx.lazy:
            return ctx.session.proxy(node, self)
        return self.assemble(read(node), self.user_attrs(node, ctx))

    def read_slice(self, dset: h5py.Dataset, key: Any) -> Any:
        from .._engine import Context

        return self.assemble(read(dset, key), self.user_attrs(dset, Context(dset.file)))

    def convert_for_write(self, value: Any, dset: h5py.Dataset) -> np.ndarray:
        if isinstance(value, self.types[0]):
            return np.asarray(self.disassemble(value)[0])
        return np.asarray(value)

    def logical_dtype(self, dset: h5py.Dataset) -> np.dtype[Any]:
        return dset.dtype


def register_primitive_type(t: type) -> None:
    """See :meth:`Serializable.register_primitive_type`."""
    from ..registry import default_registry
    from ..serializable import Serializable

    if not isinstance(t, type) or issubclass(t, (*_REFUSED, Serializable)):
        raise TypeError(f"Cannot register {t!r} as primitive type: it is a container or Serializable")
    with _LOCK:
        if t in _PRIMITIVES:
            return
        codec = None if default_registry.find_type(t) is not None else PrimitiveCodec(t)
        if codec is not None:
            default_registry.register(codec, replace=True)
        _PRIMITIVES[t] = codec


def register_dataset_type(t: type, disassemble: Callable[..., Any], assemble: Callable[..., Any]) -> None:
    """See :meth:`Serializable.register_dataset_type`."""
    from ..registry import default_registry

    if not isinstance(t, type) or not callable(disassemble) or not callable(assemble):
        raise TypeError("register_dataset_type(t, disassemble, assemble) needs a type and two callables")
    with _LOCK:
        codec = DatasetTypeCodec(t, disassemble, assemble)
        default_registry.register(codec, replace=True)
        _DATASETS[t] = codec
        _PRIMITIVES.setdefault(t, None)


def remove_custom_type(t: type, *, dataset: bool) -> None:
    """Undo a registration (no error if ``t`` was not registered)."""
    from ..registry import default_registry

    with _LOCK:
        for table in (_DATASETS, _PRIMITIVES) if dataset else (_PRIMITIVES,):
            codec = table.pop(t, None)
            if codec is not None:
                default_registry.unregister(codec)


def primitive_types() -> list[type]:
    """Built-in scalar types plus every registered primitive type."""
    from ..registry import default_registry

    builtin = [str, int, float, complex, bool, bytes, np.generic]
    return [*builtin, *(t for t in _PRIMITIVES if t not in builtin)] + [
        t for t in (type(None),) if default_registry.find_type(t)
    ]


def dataset_types() -> list[type]:
    """Built-in array types plus every registered dataset type."""
    import pandas as pd

    return [np.ndarray, pd.Timestamp, pd.DatetimeIndex, *_DATASETS]


__all__ = ["DATASET_ATTR"]
