"""``registry=``: one registry passed explicitly to save, load and sessions; copies isolate."""

from __future__ import annotations

import fractions
import threading
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from jangada_like import CodecRegistry, Persistable, SerializableProperty, default_registry, load
from jangada_like.codecs.base import Codec
from jangada_like.errors import FileFormatError, UnsupportedTypeError
from jangada_like.registry import active_registry, use_registry


class FractionCodec(Codec):
    tag = "test.Fraction"
    types = (fractions.Fraction,)

    def encode(self, value: Any, parent: Any, name: str, ctx: Any) -> None:
        ctx.write_attr(parent, name, np.array([value.numerator, value.denominator]), self.tag)

    def decode(self, node: Any, ctx: Any) -> Any:
        num, den = (int(v) for v in node.value)
        return fractions.Fraction(num, den)


class Ratio(Persistable):
    r = SerializableProperty(default=None)
    data = SerializableProperty(default=None)


@pytest.fixture
def plugin() -> CodecRegistry:
    reg = default_registry.copy()
    reg.register(FractionCodec())
    return reg


def test_save_and_load_use_the_registry_given(tmp_path: Path, plugin: CodecRegistry) -> None:
    path = tmp_path / "ratio.hdf5"
    with pytest.raises(UnsupportedTypeError, match="Fraction"):
        Ratio(r=fractions.Fraction(1, 3)).save(path)  # the default registry has no such codec
    assert not path.exists()
    Ratio(r=fractions.Fraction(1, 3), data=[fractions.Fraction(2, 5)]).save(path, registry=plugin)
    with h5py.File(path, "r") as f:  # the plugin's layout, written by the plugin's codec
        assert list(f["root"].attrs["r"]) == [1, 3]
    back = Ratio.load(path, registry=plugin)
    assert back.r == fractions.Fraction(1, 3) and back.data == [fractions.Fraction(2, 5)]
    assert load(path, registry=plugin).r == fractions.Fraction(1, 3)
    with pytest.raises(FileFormatError, match=r"test\.Fraction"):
        Ratio.load(path)
    assert default_registry.find_type(fractions.Fraction) is None
    assert active_registry() is default_registry


def test_a_session_keeps_its_registry_for_later_reads_and_writes(
    tmp_path: Path, plugin: CodecRegistry
) -> None:
    path = tmp_path / "s.hdf5"
    Ratio(r=fractions.Fraction(1, 3), data=np.arange(3.0)).save(path, registry=plugin)
    with Ratio(path, mode="r+", registry=plugin) as s:
        assert s.r == fractions.Fraction(1, 3)  # read after the constructor returned
        s.r = fractions.Fraction(3, 4)
        s.data.append(np.array([9.0]))
    with Ratio.open(path, "r", registry=plugin) as s:
        assert s.r == fractions.Fraction(3, 4) and s.data[-1] == 9.0
    with pytest.raises(FileFormatError, match=r"test\.Fraction"), Ratio(path, mode="r") as s:
        s.r


def test_registry_is_per_thread(tmp_path: Path, plugin: CodecRegistry) -> None:
    seen: list[CodecRegistry] = []
    with use_registry(plugin):
        thread = threading.Thread(target=lambda: seen.append(active_registry()))
        thread.start()
        thread.join()
        assert active_registry() is plugin
    assert seen == [default_registry]


def test_a_copy_is_isolated_both_ways(plugin: CodecRegistry) -> None:
    copy = plugin.copy()
    copy.unregister("test.Fraction")
    assert plugin.find_type(fractions.Fraction) is not None
    assert copy.find_type(fractions.Fraction) is None
    default_copy = default_registry.copy()
    default_copy.unregister("int")
    assert default_registry.find_type(int) is not None


def test_registry_must_be_a_registry(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="CodecRegistry"):
        Ratio().save(tmp_path / "x.hdf5", registry={})  # type: ignore[arg-type]


class Vec:
    def __init__(self, xs: Any) -> None:
        self.xs = np.asarray(xs, dtype=float)


def test_jangada_registrations_live_in_one_registry_and_copies_isolate_them(tmp_path: Path) -> None:
    reg = default_registry.copy()
    reg.register_dataset_type(Vec, lambda v: (v.xs, {}), lambda arr, attrs: Vec(arr))
    path = tmp_path / "v.hdf5"
    Ratio(data=Vec([1.0, 2.0])).save(path, registry=reg)
    assert Ratio.load(path, registry=reg).data.xs.tolist() == [1.0, 2.0]
    assert Vec in reg.dataset_types() and Vec not in default_registry.dataset_types()
    with pytest.raises(UnsupportedTypeError, match="Vec"):
        Ratio(data=Vec([1.0])).save(tmp_path / "w.hdf5")
    reg.remove_custom_type(Vec, dataset=True)
    assert reg.find_type(Vec) is None
