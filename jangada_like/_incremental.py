"""Incremental save: writing an object back to the file it was loaded from changes only what
changed, still atomically.

The file is cloned to a temporary file beside it (``copy_file_range``: a kernel-side copy, and
no copy at all on file systems with reflinks), the clone is updated in place — only the members
whose value differs from what is stored, and only the new rows of an array that grew — then
flushed and renamed over the original.  An interrupted save leaves the original untouched.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ._compare import values_equal
from ._engine import Context
from ._h5 import read_all
from ._version import __version__
from .format import CLASS_ATTR, FORMAT_ATTR, LIBRARY_ATTR, ROOT
from .partial import NotLoaded
from .serializable import Serializable

__all__ = ["file_stamp", "incremental_possible", "update_file"]


def file_stamp(path: str | os.PathLike[str]) -> tuple[int, int, int, int] | None:
    """What identifies a file's state: device, inode, size and modification time (one
    ``stat``; the inode names the file whatever path or link reaches it)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def incremental_possible(obj: Any, path: Path, shared: set[int]) -> bool:
    """Whether ``obj`` was loaded from ``path``, the file has not changed since, and nothing in
    the tree is shared (sharing needs the full writer to keep its hard links)."""
    origin = obj.__dict__.get("_jl_origin_")
    return origin is not None and origin == file_stamp(path) and not shared


def update_file(obj: Any, path: Path, tmp: Path) -> None:
    """Clone ``path`` to ``tmp`` and bring the clone up to date with ``obj``."""
    shutil.copyfile(path, tmp)  # copy_file_range / sendfile on Linux: no copy through Python
    from ._fileio import closing_safely, open_h5

    with closing_safely(open_h5(tmp, "r+"), path) as f:
        ctx = Context(f, file_name=os.fspath(path))
        ctx.compact = int(f.attrs.get(FORMAT_ATTR, 0)) >= 2  # a format 1 file keeps its layout
        _update_object(obj, f[ROOT], ctx)
        ctx.flush_tags()
        f.attrs[LIBRARY_ATTR] = __version__


def _update_object(obj: Any, group: h5py.Group, ctx: Context) -> None:
    from ._session import _replace_member

    cls = type(obj)
    names = [k for k, p in cls._serializable_properties.items() if p.copiable]
    values = {k: getattr(obj, k) for k in names}
    values.update(obj.__dict__.get("_jl_extra_") or {})
    links, attrs = ctx.links_of(group), ctx.attrs_of(group)
    for name, value in values.items():
        ctx.prop = f"{cls.__qualname__}.{name}"
        prop = cls._serializable_properties.get(name)
        ctx.storage = {**cls.__jangada_storage__, **(prop._storage if prop is not None else {})}
        if isinstance(value, NotLoaded):
            continue  # not loaded, so not changed: what is stored stays
        if name in links or name in attrs:
            node = ctx.member(group, name)
            if _nested_object(value, node):
                _update_object(value, node, ctx)
                continue
            if isinstance(node, h5py.Dataset) and _grown(value, node, ctx):
                continue
            if values_equal(ctx.decode(node), value):
                continue
        _replace_member(group, name, value, ctx)


def _nested_object(value: Any, node: Any) -> bool:
    if not isinstance(value, Serializable) or not isinstance(node, h5py.Group):
        return False
    return node.attrs.get(CLASS_ATTR) == type(value).__jangada_tag__


def _grown(value: Any, dset: h5py.Dataset, ctx: Context) -> bool:
    """If ``value`` is the stored array plus rows at the end, write just those rows."""
    if type(value) is not np.ndarray or dset.attrs.get("__dataset_type__") != "numpy.ndarray":
        return False
    if dset.ndim == 0 or "__numpy_dtype__" in dset.attrs or dset.maxshape[0] is not None:
        return False
    n = dset.shape[0]
    if value.dtype != dset.dtype or value.shape[1:] != dset.shape[1:] or value.shape[0] <= n:
        return False
    if not values_equal(read_all(dset), value[:n]):
        return False
    dset.resize(value.shape[0], axis=0)
    dset[n:] = value[n:]
    return True
