"""Compression and chunking per property and per class; files stay readable by plain h5py."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from jangada_like import Persistable, SerializableProperty


class Packed(Persistable, tag="tests.compression.packed"):
    gz = SerializableProperty(default=None, compression="gzip", compression_opts=4, shuffle=True)
    lz = SerializableProperty(default=None, compression="lzf")
    plain = SerializableProperty(default=None)


class ClassDefault(Persistable, tag="tests.compression.class", storage={"compression": "gzip"}):
    a = SerializableProperty(default=None)
    b = SerializableProperty(default=None, compression="lzf")


def test_gzip_and_lzf_round_trip_and_read_with_h5py(tmp_path: Path) -> None:
    data = np.tile(np.arange(1000.0), 100)
    path = Packed(gz=data, lz=data.copy(), plain=data.copy()).save(tmp_path / "p")  # copies: no hard links
    back = Packed.load(path)
    for value in (back.gz, back.lz, back.plain):
        np.testing.assert_array_equal(value, data)
    with h5py.File(path, "r") as f:
        gz, lz, plain = f["root/gz"], f["root/lz"], f["root/plain"]
        assert (gz.compression, gz.compression_opts, gz.shuffle) == ("gzip", 4, True)
        assert lz.compression == "lzf" and plain.compression is None
        np.testing.assert_array_equal(gz[:], data)
        assert gz.id.get_storage_size() < plain.id.get_storage_size() / 5


def test_class_level_defaults(tmp_path: Path) -> None:
    path = ClassDefault(a=np.zeros(5000), b=np.zeros(5000)).save(tmp_path / "c")
    with h5py.File(path, "r") as f:
        assert f["root/a"].compression == "gzip" and f["root/b"].compression == "lzf"


def test_appends_to_compressed_dataset(tmp_path: Path) -> None:
    path = Packed(gz=np.zeros((0, 4))).save(tmp_path / "a")
    with Packed(path, mode="r+") as p:
        for _ in range(5):
            p.gz.append(np.ones((100, 4)))
    assert Packed.load(path).gz.shape == (500, 4)


def test_plugin_compressor_is_named_for_other_readers(tmp_path: Path) -> None:
    hdf5plugin = pytest.importorskip("hdf5plugin")

    class Zstd(Persistable, tag="tests.compression.zstd"):
        x = SerializableProperty(default=None, compression=hdf5plugin.Zstd())

    data = np.arange(10_000, dtype=np.int64)
    path = Zstd(x=data).save(tmp_path / "z")
    np.testing.assert_array_equal(Zstd.load(path).x, data)
    with h5py.File(path, "r") as f:
        assert (
            "32015" in f["root/x"].attrs["__filters__"] and "hdf5plugin" in f["root/x"].attrs["__filters__"]
        )


def test_unknown_storage_option_is_refused() -> None:
    with pytest.raises(TypeError, match="unknown storage options"):

        class Bad(Persistable, storage={"compresion": "gzip"}):
            pass
