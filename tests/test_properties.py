"""SerializableProperty: jangada's descriptor semantics, without its bugs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from jangada_like import Serializable, SerializableProperty, sproperty
from jangada_like.errors import WriteOnceError


def test_private_name_and_storage() -> None:
    class A(Serializable):
        v = SerializableProperty(default=1)

    a = A()
    assert A.v.private_name == "_serializable_property__v"
    assert A.v.name == "v" and A.v.owner is A
    assert "_serializable_property__v" in a.__dict__  # materialised at construction
    a.v = 5
    assert a.__dict__["_serializable_property__v"] == 5


def test_none_resets_to_default_and_callable_default_gets_instance() -> None:
    seen: list[Any] = []

    class A(Serializable):
        v = SerializableProperty(default=lambda self: seen.append(self) or 7)

    a = A(v=3)
    assert a.v == 3
    a.v = None
    assert a.v == 7 and seen[-1] is a


def test_first_read_materialises_default_with_observers_and_postinitializer() -> None:
    calls: list[Any] = []

    class Plain:
        v = SerializableProperty(
            default=0,
            observers=[lambda self, old, new: calls.append(("obs", old, new))],
            postinitializer=lambda self: calls.append(("post",)),
        )

    p = Plain()
    assert calls == []
    assert p.v == 0
    assert calls == [("obs", None, 0), ("post",)]
    p.v = 0
    assert calls[-1] == ("obs", 0, 0)  # observers fire even when the value is unchanged
    assert calls.count(("post",)) == 1


def test_mutable_defaults_are_not_shared() -> None:
    class A(Serializable):
        items = SerializableProperty(default=[])
        table = SerializableProperty(default={"k": [1]})
        arr = SerializableProperty(default=np.zeros(2))

    a, b = A(), A()
    a.items.append(1)
    a.table["k"].append(2)
    a.arr[0] = 9
    assert b.items == [] and b.table == {"k": [1]} and b.arr[0] == 0


def test_parser_runs_on_defaults_and_assignments() -> None:
    class A(Serializable):
        v = SerializableProperty(default="1", parser=lambda self, v: int(v))

    a = A()
    assert a.v == 1
    a.v = "42"
    assert a.v == 42


def test_writeonce_allows_one_explicit_assignment() -> None:
    class W(Serializable):
        k = SerializableProperty(default="auto", writeonce=True)

    w = W()
    assert w.k == "auto"
    w.k = "x"  # jangada refuses this (B35): the default is not an assignment
    with pytest.raises(WriteOnceError, match="write-once property"):
        w.k = "y"
    with pytest.raises(AttributeError, match="write-once property"):
        W(k="z").k = "again"


def test_delete_is_refused() -> None:
    class A(Serializable):
        v = SerializableProperty(default=1)

    with pytest.raises(AttributeError, match="can't delete attribute 'v'"):
        del A().v


def test_decorators_return_new_descriptors() -> None:
    def f(self: Any, old: Any, new: Any) -> None:
        return None

    base = SerializableProperty(default=1)
    assert base.add_observer(f) is not base and f in base.add_observer(f)._observers
    assert f not in base._observers
    assert base.add_observer(f).remove_observer(f)._observers == set()
    assert base.remove_observer(f)._observers == set()  # absent: no error

    class A(Serializable, extra_attributes=True):  # `seen` is not a property
        v = SerializableProperty(default="3")

        @v.parser
        def v(self, value: Any) -> int:
            return int(value)

        @v.postinitializer
        def v(self) -> None:
            self.seen = True

        w = SerializableProperty()

        @w.default
        def w(self) -> list[int]:
            return [1]

    a = A()
    assert a.v == 3 and a.seen and a.w == [1]


def test_sproperty_uses_function_as_parser_and_doc() -> None:
    class A(Serializable):
        @sproperty(default=2)
        def n(self, value: Any) -> int:
            """A count."""
            return int(value)

    assert A().n == 2 and A.n.__doc__ == "A count."


def test_writeonce_and_copiable_flags() -> None:
    p = SerializableProperty(writeonce=True, copiable=False)
    assert p.writeonce and not p.copiable


def test_unknown_option_is_refused() -> None:
    with pytest.raises(TypeError, match="unexpected keyword"):
        SerializableProperty(defualt=1)
