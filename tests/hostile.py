"""Broken and hostile files, built by hand, for the safety tests and ``tools/fuzz.py``.

Every file here must make ``jangada_like.load`` raise an error of the library's hierarchy that names
the file (and, where one exists, the HDF5 path) quickly: never a hang, a crash, a RecursionError,
a MemoryError or a silently wrong object.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import h5py
import numpy as np

from tests.golden import golden_run


def _base(path: Path) -> h5py.File:
    f = h5py.File(path, "w", libver=("v110", "v110"))
    f.attrs["jangada_like_format"] = 1
    return f


def _object(f: h5py.File, name: str = "root", cls: str = "tests.golden.run") -> h5py.Group:
    g = f.create_group(name)
    g.attrs["__class__"] = cls
    g.attrs["__container_type__"] = "dict"
    return g


def missing_root(path: Path) -> None:
    _base(path).close()


def root_is_dataset(path: Path) -> None:
    with _base(path) as f:
        f["root"] = np.arange(3)


def class_attr_not_a_string(path: Path) -> None:
    with _base(path) as f:
        _object(f).attrs["__class__"] = 42


def unknown_tag(path: Path) -> None:
    with _base(path) as f:
        g = _object(f)
        g["count"] = np.arange(2)
        g["count"].attrs["__dataset_type__"] = "evil.Type"


def bad_attr_types_json(path: Path) -> None:
    with _base(path) as f:
        g = _object(f)
        g.attrs["name"] = "x"
        g.attrs["__attr_types__"] = "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[" * 1000


def attr_types_maps_to_unknown(path: Path) -> None:
    with _base(path) as f:
        g = _object(f)
        g.attrs["name"] = "x"
        g.attrs["__attr_types__"] = '{"name": "os.system"}'


def wrongly_typed_value(path: Path) -> None:
    with _base(path) as f:
        g = _object(f)
        g.attrs["big"] = "not hex"
        g.attrs["__attr_types__"] = '{"big": "int"}'


def huge_declared_shape(path: Path) -> None:
    with _base(path) as f:
        g = _object(f)
        g.create_dataset("array", shape=(10**18,), maxshape=(None,), chunks=(1024,), dtype="f8")
        g["array"].attrs["__dataset_type__"] = "numpy.ndarray"


def deep_nesting(path: Path, levels: int = 100_000) -> None:
    """Lists nested ``levels`` deep (the test suite lowers MAX_DEPTH and uses fewer levels)."""
    with _base(path) as f:
        g = _object(f).create_group("mixed")
        g.attrs["__container_type__"] = "list"
        for _ in range(levels):
            g = g.create_group("0")
            g.attrs["__container_type__"] = "list"


def self_containing_hard_link(path: Path) -> None:
    with _base(path) as f:
        g = _object(f)
        lst = g.create_group("mixed")
        lst.attrs["__container_type__"] = "list"
        lst["0"] = lst  # a list that contains itself
        g["children"] = g  # an object whose property is itself


def soft_link_loop(path: Path) -> None:
    with _base(path) as f:
        g = _object(f)
        g["table"] = h5py.SoftLink("/root/table2")
        g["table2"] = h5py.SoftLink("/root/table")


def external_link(path: Path) -> None:
    with _base(path) as f:
        g = _object(f)
        g["table"] = h5py.ExternalLink("/etc/passwd", "/")


def virtual_dataset(path: Path) -> None:
    other = path.with_suffix(".source.h5")
    with h5py.File(other, "w") as src:
        src["data"] = np.arange(4.0)
    with _base(path) as f:
        g = _object(f)
        layout = h5py.VirtualLayout(shape=(4,), dtype="f8")
        layout[:] = h5py.VirtualSource(other, "data", shape=(4,))
        g.create_virtual_dataset("array", layout)
        g["array"].attrs["__dataset_type__"] = "numpy.ndarray"


def list_with_bad_member_names(path: Path) -> None:
    with _base(path) as f:
        g = _object(f)
        lst = g.create_group("mixed")
        lst.attrs["__container_type__"] = "list"
        lst.attrs["0"] = 1
        lst.attrs["7"] = 2
        lst.attrs["x"] = 3


def names_with_slash_and_dot(path: Path) -> None:
    with _base(path) as f:
        g = _object(f)
        d = g.create_group("table")
        d.attrs["__container_type__"] = "dict"
        d.attrs["a/b"] = 1
        d.attrs["."] = 2


def newer_format(path: Path) -> None:
    with _base(path) as f:
        f.attrs["jangada_like_format"] = 10**6
        _object(f)


def format_is_text(path: Path) -> None:
    with _base(path) as f:
        f.attrs["jangada_like_format"] = "one"
        _object(f)


def dunder_keys_in_object(path: Path) -> None:
    with _base(path) as f:
        g = _object(f, cls="nowhere.Evil")
        g.attrs["__init__"] = "boom"
        g.attrs["__class_version__"] = "x"


def keys_attr_not_matching(path: Path) -> None:
    with _base(path) as f:
        g = _object(f)
        d = g.create_group("table")
        d.attrs["__container_type__"] = "dict"
        d.attrs["__keys__"] = np.array(["a", "b"], dtype=h5py.string_dtype())
        d.attrs["a"] = 1


def random_bytes(path: Path) -> None:
    path.write_bytes(random.Random(7).randbytes(10_000))


def empty_file(path: Path) -> None:
    path.write_bytes(b"")


HAND_BUILT: dict[str, Callable[[Path], None]] = {
    f.__name__: f
    for f in (
        missing_root,
        root_is_dataset,
        class_attr_not_a_string,
        unknown_tag,
        bad_attr_types_json,
        attr_types_maps_to_unknown,
        wrongly_typed_value,
        huge_declared_shape,
        deep_nesting,
        soft_link_loop,
        external_link,
        virtual_dataset,
        list_with_bad_member_names,
        newer_format,
        format_is_text,
        keys_attr_not_matching,
        random_bytes,
        empty_file,
    )
}

#: hand-built files that load (the library must then give the right object, not raise)
LOADABLE: dict[str, Callable[[Path], None]] = {
    f.__name__: f for f in (self_containing_hard_link, names_with_slash_and_dot, dunder_keys_in_object)
}


def valid_file(path: Path) -> bytes:
    """A valid file with every kind of value; returns its bytes."""
    golden_run().save(path)
    return path.read_bytes()


def truncations(data: bytes, count: int, seed: int = 0) -> Iterator[bytes]:
    """``count`` truncated copies of ``data`` at offsets spread over the file."""
    rng = random.Random(seed)
    offsets = sorted(
        {0, 8, 47, 48, len(data) // 2, len(data) - 1} | {rng.randrange(len(data)) for _ in range(count)}
    )
    for offset in offsets[:count]:
        yield data[:offset]


def bit_flips(data: bytes, count: int, seed: int = 0, flips: int = 1) -> Iterator[bytes]:
    """``count`` copies of ``data`` with ``flips`` random bits flipped."""
    rng = random.Random(seed)
    for _ in range(count):
        mutated = bytearray(data)
        for _ in range(flips):
            i = rng.randrange(len(mutated))
            mutated[i] ^= 1 << rng.randrange(8)
        yield bytes(mutated)


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    os.utime(path)
    return path
