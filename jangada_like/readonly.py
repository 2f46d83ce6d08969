"""Read-only containers: what a read-only session (``mode='r'``) hands out for lists, dicts and
sets, so that an in-place change, which could never reach the file, raises instead of being
silently dropped.

They are real ``list`` / ``dict`` / ``set`` instances (``isinstance`` holds, they compare equal to
the plain containers, read as fast), whose mutating methods raise
:class:`~jangada_like.errors.ReadOnlyError` naming the file and the HDF5 path.  Operations that
build a new container (``x + [1]``, ``d | {...}``, ``list(x)``, ``x.copy()``, ``copy.deepcopy``,
pickling) give plain, changeable containers.

Examples
--------
>>> rows = ReadOnlyList([1, 2], where=("run.hdf5", "/root/rows"))
>>> rows == [1, 2], isinstance(rows, list)
(True, True)
>>> rows.append(3)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
jangada_like.errors.ReadOnlyError: cannot change this list in place: ... '/root/rows']
>>> rows + [3]
[1, 2, 3]
"""

from __future__ import annotations

import abc
import copy
from collections.abc import Iterable
from typing import Any, NoReturn

from .errors import ReadOnlyError

__all__ = ["LazyContainer", "ReadOnlyDict", "ReadOnlyList", "ReadOnlySet", "READ_ONLY", "plain_type", "thaw"]


class LazyContainer(abc.ABC):
    """A container a session reads from its file item by item (a list property handed out as
    :class:`~jangada_like.codecs.tables.TableRows`).  Given to another object it is read whole
    (:func:`thaw`): the other object keeps its items after the file is closed.

    Examples
    --------
    >>> isinstance([], LazyContainer)
    False
    """

    __slots__ = ()

    @abc.abstractmethod
    def thawed(self) -> Any:
        """All items, read now, as a plain container."""

    def stays_with(self, owner: Any) -> bool:
        """Whether, given to ``owner``, this container can be stored there as it is (another
        place of the same open file): then it is not read whole, and stays one container."""
        return False


def _refuse(container: Any, *_args: Any, **_kwargs: Any) -> NoReturn:
    kind = type(container).__mro__[1].__name__
    where = getattr(container, "_jl_where", None) or (None, None)
    msg = f"cannot change this {kind} in place: it was read from a file opened read-only "
    msg += "(mode='r'); reopen the file with mode='r+' to change it there, or change a copy "
    msg += f"({kind}(x), x.copy()) in memory"
    raise ReadOnlyError(msg, file=where[0], path=where[1])


class ReadOnlyList(list):  # type: ignore[type-arg]
    """A ``list`` whose in-place changes raise :class:`~jangada_like.errors.ReadOnlyError`.

    Examples
    --------
    >>> ReadOnlyList([1]).copy().append(2)
    """

    __slots__ = ("_jl_where",)
    __jangada_readonly__ = list
    append = extend = insert = pop = remove = clear = sort = reverse = _refuse
    __setitem__ = __delitem__ = __iadd__ = __imul__ = _refuse

    def __init__(self, items: Iterable[Any] = (), where: tuple[str | None, str | None] | None = None) -> None:
        list.__init__(self, items)
        self._jl_where = where

    def copy(self) -> list[Any]:  # type: ignore[override]
        return list(self)

    def __copy__(self) -> list[Any]:
        return list(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        out: list[Any] = []
        memo[id(self)] = out
        out.extend(copy.deepcopy(v, memo) for v in self)
        return out

    def __reduce__(self) -> Any:
        return (list, (list(self),))


class ReadOnlyDict(dict):  # type: ignore[type-arg]
    """A ``dict`` whose in-place changes raise :class:`~jangada_like.errors.ReadOnlyError`.

    Examples
    --------
    >>> d = ReadOnlyDict({"a": 1})
    >>> d["a"], d == {"a": 1}, d | {"b": 2}
    (1, True, {'a': 1, 'b': 2})
    """

    __slots__ = ("_jl_where",)
    __jangada_readonly__ = dict
    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __init__(self, items: Any = (), where: tuple[str | None, str | None] | None = None) -> None:
        dict.__init__(self, items)
        self._jl_where = where

    def copy(self) -> dict[Any, Any]:
        return dict(self)

    @classmethod
    def fromkeys(cls, keys: Iterable[Any], value: Any = None) -> dict[Any, Any]:  # type: ignore[override]
        return dict.fromkeys(keys, value)  # a new dict: the user's to change

    def __copy__(self) -> dict[Any, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        memo[id(self)] = out
        for key, value in self.items():
            out[copy.deepcopy(key, memo)] = copy.deepcopy(value, memo)
        return out

    def __reduce__(self) -> Any:
        return (dict, (dict(self),))


class ReadOnlySet(set):  # type: ignore[type-arg]
    """A ``set`` whose in-place changes raise :class:`~jangada_like.errors.ReadOnlyError`.

    Examples
    --------
    >>> s = ReadOnlySet({1, 2})
    >>> s | {3} == {1, 2, 3}, 1 in s
    (True, True)
    """

    __slots__ = ("_jl_where",)
    __jangada_readonly__ = set
    add = discard = remove = pop = clear = update = _refuse
    intersection_update = difference_update = symmetric_difference_update = _refuse
    __ior__ = __iand__ = __isub__ = __ixor__ = _refuse

    def __init__(self, items: Iterable[Any] = (), where: tuple[str | None, str | None] | None = None) -> None:
        set.__init__(self, items)
        self._jl_where = where

    def copy(self) -> set[Any]:
        return set(self)

    def __copy__(self) -> set[Any]:
        return set(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> set[Any]:
        out: set[Any] = set()
        memo[id(self)] = out
        out.update(copy.deepcopy(v, memo) for v in self)
        return out

    def __reduce__(self) -> Any:
        return (set, (set(self),))


def plain_type(tp: type) -> type:
    """The builtin container type a read-only one stands for (``tp`` itself otherwise).

    Examples
    --------
    >>> plain_type(ReadOnlyDict), plain_type(int)
    (<class 'dict'>, <class 'int'>)
    """
    return tp.__dict__.get("__jangada_readonly__", tp)  # type: ignore[no-any-return]


def thaw(value: Any) -> Any:
    """A read-only container (and the read-only containers in it, at any depth) as plain ones;
    anything else as it is.  A read-only container given to another object is then that
    object's to change.

    Examples
    --------
    >>> type(thaw(ReadOnlyList([ReadOnlyDict({"a": 1})]))[0])
    <class 'dict'>
    >>> thaw(3)
    3
    """
    if isinstance(value, LazyContainer):
        return thaw(value.thawed())
    kind = type(value)
    if kind is ReadOnlyList or (kind is list and value and type(value[0]) in READ_ONLY):
        return [thaw(v) for v in value]
    if kind is ReadOnlyDict:
        return {k: thaw(v) for k, v in value.items()}
    if kind is ReadOnlySet:
        return set(value)
    if kind is tuple and any(type(v) in READ_ONLY for v in value):
        return tuple(thaw(v) for v in value)
    return value


#: the read-only container types
READ_ONLY = (ReadOnlyList, ReadOnlyDict, ReadOnlySet)
