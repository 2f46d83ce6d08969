"""Serializable: class collection, registry, tags, equality, copy, repr, serialize/deserialize."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from typing import Any

import numpy as np
import pytest

from jangada_like import (
    GenericRecord,
    Serializable,
    SerializableMetatype,
    SerializableProperty,
    check_types,
    get_full_qualified_name,
)


class Base(Serializable):
    a = SerializableProperty(default=1)
    b = SerializableProperty(default=2)


class Child(Base):
    c = SerializableProperty(default=3)
    a = SerializableProperty(default=10)


def test_properties_in_declaration_order_with_inheritance() -> None:
    assert list(Base.serializable_properties) == ["a", "b"]
    assert list(Child.serializable_properties) == ["b", "c", "a"]
    assert Child().a == 10  # the subclass wins


def test_mixin_properties_are_collected() -> None:
    class Mixin:
        m = SerializableProperty(default="mix")

    class WithMixin(Mixin, Serializable):
        pass

    assert WithMixin().m == "mix"
    assert "m" in WithMixin.serializable_properties


def test_property_added_after_class_creation_works() -> None:
    class Late(Serializable):
        pass

    Late.extra = SerializableProperty(default=5)
    assert Late().extra == 5 and "extra" in Late.serializable_properties


def test_reserved_names_are_refused() -> None:
    with pytest.raises(TypeError, match="reserved"):

        class Bad(Serializable):
            _serializable_properties = SerializableProperty()


def test_registry_and_tags() -> None:
    class Tagged(Serializable, tag="tests.tagged-v1"):
        x = SerializableProperty(default=0)

    assert Serializable["tests.tagged-v1"] is Tagged
    assert Serializable[get_full_qualified_name(Tagged)] is Tagged
    assert Tagged in Serializable and "tests.tagged-v1" in Serializable
    with pytest.raises(KeyError, match="not subscriptable"):
        Tagged["x"]
    with pytest.raises(TypeError, match="Expected the class full qualified name"):
        3 in Serializable
    with pytest.raises(TypeError, match="already used"):

        class Other(Serializable, tag="tests.tagged-v1"):
            pass

    assert isinstance(Tagged, SerializableMetatype)
    assert Tagged in Serializable.serializable_types


def test_copiable_properties() -> None:
    class Cache(Serializable):
        keep = SerializableProperty(default=1)
        cache = SerializableProperty(default=None, copiable=False)

    assert list(Cache.copiable_properties) == ["keep"]
    c = Cache(keep=2, cache="x")
    copy = c.copy()
    assert copy.keep == 2 and copy.cache is None
    assert c == copy  # caches do not take part in equality


def test_copy_is_deep_for_arrays() -> None:
    class Holder(Serializable):
        x = SerializableProperty(default=None)

    h = Holder(x=np.arange(3))
    c = h.copy()
    c.x[0] = 99
    assert h.x[0] == 0


def test_copy_constructor_and_bad_signature() -> None:
    b = Base(a=5)
    assert Base(b).a == 5
    assert Base(Child(a=7)).a == 7  # a subclass instance copies into its base
    with pytest.raises(ValueError, match="do not match any available signature"):
        Base(1, 2)
    with pytest.raises(ValueError, match="no signature with the keys"):
        Base(zzz=1)


class Holder(Serializable):
    x = SerializableProperty(default=None)


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        ({"a": 1}, {"a": 1}, True),
        ({"a": 1}, {"a": 2}, False),
        ([np.arange(3)], [np.arange(3)], True),
        (np.array([1]), np.array([1, 1]), False),
        (np.array([1.0, np.nan]), np.array([1.0, np.nan]), True),
        ({"k": Base(a=1), "j": Base(a=2)}, {"k": Base(a=1), "j": Base(a=2)}, True),
        (1, np.int64(1), False),
        (np.zeros((2, 3)), np.zeros((3, 2)), False),
    ],
)
def test_equality_is_structural_and_never_prints(a: Any, b: Any, equal: bool) -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        assert (Holder(x=a) == Holder(x=b)) is equal
        assert (Holder(x=a) == Base()) is False
    assert out.getvalue() == ""


def test_repr_shows_class_and_values_and_survives_cycles() -> None:
    h = Holder(x=[1, 2])
    assert repr(h) == "Holder(x=[1, 2])"
    h.x = h
    assert "..." in repr(h)


def test_serialize_keeps_types_and_deserialize_does_not_mutate() -> None:
    h = Holder(x=(1, {2, 3}, {"k": Base(a=4)}))
    data = Serializable.serialize(h)
    assert data["__class__"] == get_full_qualified_name(Holder)
    assert isinstance(data["x"], tuple) and isinstance(data["x"][1], set)
    snapshot = repr(data)
    first, second = Serializable.deserialize(data), Serializable.deserialize(data)
    assert repr(data) == snapshot
    assert first == second == h


def test_deserialize_unknown_class_gives_record() -> None:
    rec = Serializable.deserialize({"__class__": "nowhere.Thing", "v": 1})
    assert isinstance(rec, GenericRecord) and rec.v == 1 and rec.class_name == "nowhere.Thing"


def test_serialize_unsupported_names_type() -> None:
    with pytest.raises(TypeError, match="No serialisation process is implemented"):
        Serializable.serialize(object())


def test_check_types() -> None:
    assert check_types(None, int, can_be_none=True)
    with pytest.raises(TypeError, match="Expected instance of one of the following classes: int"):
        check_types("x", int)


def test_register_primitive_and_dataset_types(roundtrip: Any) -> None:
    class Money:
        def __init__(self, cents: Any) -> None:
            self.cents = int(cents)

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Money) and other.cents == self.cents

        def __int__(self) -> int:
            return self.cents

        def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
            return np.asarray(self.cents, dtype=dtype)

    Serializable.register_primitive_type(Money)
    try:
        assert Serializable.is_primitive_type(Money)
        assert roundtrip(Money(250)) == Money(250)
    finally:
        Serializable.remove_primitive_type(Money)
    assert not Serializable.is_primitive_type(Money)
    with pytest.raises(TypeError, match="Cannot register"):
        Serializable.register_primitive_type(dict)

    class Poly:
        def __init__(self, coefs: Any, var: str = "x") -> None:
            self.coefs, self.var = list(coefs), var

    Serializable.register_dataset_type(
        Poly,
        lambda p: (np.asarray(p.coefs, dtype=float), {"var": p.var}),
        lambda arr, attrs: Poly(arr.tolist(), attrs["var"]),
    )
    try:
        back = roundtrip(Poly([1, 2, 3], "t"))
        assert isinstance(back, Poly) and back.coefs == [1.0, 2.0, 3.0] and back.var == "t"
        assert Serializable.is_dataset_type(Poly)
    finally:
        Serializable.remove_dataset_type(Poly)
    assert not Serializable.is_dataset_type(Poly)


def test_dataset_type_with_bad_disassemble_is_refused(tmp_path: Any) -> None:
    from tests.conftest import Box

    class Weird:
        pass

    Serializable.register_dataset_type(Weird, lambda w: np.zeros(2), lambda a, attrs: Weird())
    try:
        with pytest.raises(TypeError, match=r"must return \(array, dict\)"):
            Box(x=Weird()).save(tmp_path / "w.hdf5")
    finally:
        Serializable.remove_dataset_type(Weird)


def test_jangada_serialization_module_names() -> None:
    import jangada_like.serialization as js

    for name in (
        "SerializableProperty",
        "Serializable",
        "Persistable",
        "load",
        "sproperty",
        "SerializableMetatype",
        "get_full_qualified_name",
        "check_types",
        "disassemble_ndarray",
        "assemble_ndarray",
        "disassemble_pandas_time",
        "assemble_pandas_time",
        "T",
        "DefaultCallable",
        "Observer",
        "Parser",
        "Postinitializer",
    ):
        assert hasattr(js, name), name
    import pandas as pd

    idx = pd.date_range("2024-10-27", periods=4, freq="30min", tz="Europe/Berlin")
    assert js.assemble_pandas_time(*js.disassemble_pandas_time(idx)).equals(idx)
