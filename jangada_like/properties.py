"""``SerializableProperty``: the descriptor that declares a stored field, and nothing else.

It follows jangada 0.1.9: the value lives in the instance ``__dict__`` under
``_serializable_property__<name>``; ``None`` resets to the default; the first read materialises the
default (running parser, observers and postinitializer); every decorator returns a new descriptor.
Unlike jangada, a mutable default is copied for each instance, a write-once property may be set once
after its default materialised, and parsers are not run on lazy :class:`ProxyDataset` values.

Examples
--------
>>> class Box:
...     size = SerializableProperty(default=1)
>>> b = Box()
>>> b.size
1
>>> b.size = 3
>>> b.size
3
>>> b.size = None  # None resets to the default
>>> b.size
1
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from .errors import WriteOnceError
from .readonly import READ_ONLY, LazyContainer, thaw

__all__ = ["SerializableProperty", "sproperty", "DefaultCallable", "Observer", "Parser", "Postinitializer"]

if TYPE_CHECKING:  # a default (PEP 696): `x = SerializableProperty()` is a property of Any
    from typing_extensions import TypeVar as _TypeVarWithDefault

    T = _TypeVarWithDefault("T", default=Any)
else:
    T = TypeVar("T")

DefaultCallable = Callable[[Any], Any]
Observer = Callable[[Any, Any, Any], None]
Parser = Callable[[Any, Any], Any]
Postinitializer = Callable[[Any], None]

_PREFIX = "_serializable_property__"
_WRITTEN = "_serializable_property__written__"
_IMMUTABLE = (str, bytes, numbers.Number, bool, type(None), frozenset)

# Storage options an array property may carry (used by the array codecs, issue 6).
STORAGE_OPTIONS = ("compression", "compression_opts", "shuffle", "chunks", "fletcher32")


_MISSING = object()


class Deferred:
    """A stored value not read yet (objects in read-only lazy sessions): reading the property
    reads it, running parser, observers and postinitializer as a load would have."""

    __slots__ = ("loader",)

    def __init__(self, loader: Callable[[], Any]) -> None:
        self.loader = loader

    def __repr__(self) -> str:
        return "<not read yet>"


class SerializableProperty(Generic[T]):
    """A data descriptor declaring one stored field of a :class:`Serializable`.

    Parameters
    ----------
    postinitializer
        ``f(instance)`` run once, right after the first value is stored.
    default
        The value used when nothing (or ``None``) is assigned. A callable is called with the
        instance; any other mutable default is deep-copied for each instance.
    parser
        ``f(instance, raw) -> value`` run on every assignment, defaults included.
    observers
        Callables ``f(instance, old, new)`` run after every assignment, in the order given.
    writeonce
        Once a value has been assigned explicitly, a second assignment raises.
    copiable
        ``False`` marks a cache: left out of ``copy()``, of ``==`` and of saved files.
    doc
        The docstring of the property.
    compression, compression_opts, shuffle, chunks, fletcher32
        HDF5 storage options for array values of this property (see ``docs/compression.rst``).

    Examples
    --------
    >>> class Run:
    ...     gain = SerializableProperty(default=1.0, parser=lambda self, v: float(v))
    >>> r = Run()
    >>> r.gain = "2.5"
    >>> r.gain
    2.5
    """

    name: str
    owner: type
    private_name: str

    def __init__(
        self,
        postinitializer: Postinitializer | None = None,
        default: Any = None,
        parser: Parser | None = None,
        observers: Iterable[Observer] | None = None,
        writeonce: bool = False,
        copiable: bool = True,
        doc: str | None = None,
        **storage: Any,
    ) -> None:
        unknown = set(storage) - set(STORAGE_OPTIONS)
        if unknown:
            msg = f"SerializableProperty got unexpected keyword arguments {sorted(unknown)}; "
            msg += f"expected some of {list(STORAGE_OPTIONS)}"
            raise TypeError(msg)
        self._postinitializer = postinitializer
        self._default = default
        self._parser = parser
        self._observer_list: tuple[Observer, ...] = tuple(dict.fromkeys(observers or ()))
        self._writeonce = bool(writeonce)
        self._copiable = bool(copiable)
        self._storage = dict(storage)
        self.__doc__ = doc

    # -- descriptor protocol -------------------------------------------------------------------

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.owner = owner
        self.private_name = _PREFIX + name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> SerializableProperty[T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        store = instance.__dict__
        value = store.get(self.private_name, _MISSING)
        if value is _MISSING:
            node = store.get("_jl_node_")
            if node is not None:  # an object of a file session outside its block refuses
                node.before_get(instance, self.name)
            self._assign(instance, None, explicit=False)
            return store[self.private_name]
        if type(value) is Deferred:  # read lazily: read it now, as a load would have
            node = store.get("_jl_node_")
            if node is not None:
                node.before_get(instance, self.name)
            del store[self.private_name]
            self._assign(instance, value.loader(), explicit=False)
            return store[self.private_name]
        return value

    def __set__(self, instance: object, value: Any) -> None:
        if type(value) in READ_ONLY:  # read in a read-only session: this object's to change now
            value = thaw(value)
        elif (
            isinstance(value, LazyContainer)
            and value is not instance.__dict__.get(self.private_name)
            and not value.stays_with(instance)
        ):
            value = thaw(value)  # a list read item by item, given to another place: read it whole
        self._assign(instance, value, explicit=True)

    def __delete__(self, instance: object) -> None:
        raise AttributeError(f"can't delete attribute '{self.name}'")

    def _assign(self, instance: object, value: Any, *, explicit: bool) -> None:
        store = instance.__dict__
        node = store.get("_jl_node_")  # set on objects living in an open file session
        if node is not None and explicit:
            node.before_set(instance, self.name)
        first_time = self.private_name not in store
        current = store.get(self.private_name)
        written: set[str] = store.setdefault(_WRITTEN, set())
        if self._writeonce and explicit and self.name in written:
            msg = f"{self.name} is a write-once property and has already been set"
            raise WriteOnceError(msg, prop=self.qualified_name)
        if value is None:
            value = self.default_value(instance)
        if self._parser is not None and not getattr(type(value), "__jangada_lazy__", False):
            value = self._parser(instance, value)
        store[self.private_name] = value
        if explicit:
            written.add(self.name)
        new = store[self.private_name]
        for observer in self._observer_list:
            observer(instance, current, new)
        if first_time and self._postinitializer is not None:
            self._postinitializer(instance)
        if node is not None and explicit:
            node.after_set(instance, self.name, new)

    # -- defaults ------------------------------------------------------------------------------

    def default_value(self, instance: object) -> Any:
        """Return a fresh default for ``instance`` (calls or copies the declared default).

        Examples
        --------
        >>> p = SerializableProperty(default=[1, 2])
        >>> p.default_value(None) is p.default_value(None)
        False
        """
        default = self._default
        if callable(default):
            return default(instance)
        if isinstance(default, _IMMUTABLE):
            return default
        return copy.deepcopy(default)

    # -- introspection -------------------------------------------------------------------------

    @property
    def writeonce(self) -> bool:
        """Whether the property may be assigned only once."""
        return self._writeonce

    @property
    def copiable(self) -> bool:
        """Whether the property is copied, compared and saved (``False`` marks a cache)."""
        return self._copiable

    @property
    def storage(self) -> dict[str, Any]:
        """HDF5 storage options (compression, chunks, ...) for array values."""
        return dict(self._storage)

    @property
    def _observers(self) -> set[Observer]:
        return set(self._observer_list)

    @property
    def qualified_name(self) -> str:
        """``Owner.name``, as used in error messages."""
        owner = getattr(self, "owner", None)
        name = getattr(self, "name", "?")
        return f"{owner.__qualname__}.{name}" if owner is not None else name

    def __repr__(self) -> str:
        return f"<SerializableProperty {self.qualified_name}>"

    # -- decorators that return new descriptors -------------------------------------------------

    def _replace(self, **changes: Any) -> SerializableProperty[Any]:
        settings: dict[str, Any] = {
            "postinitializer": self._postinitializer,
            "default": self._default,
            "parser": self._parser,
            "observers": self._observer_list,
            "writeonce": self._writeonce,
            "copiable": self._copiable,
            "doc": self.__doc__,
            **self._storage,
        }
        settings.update(changes)
        return type(self)(**settings)

    def postinitializer(self, func: Postinitializer) -> SerializableProperty[T]:
        """Return a copy of this property with ``func`` as postinitializer.

        Examples
        --------
        >>> p = SerializableProperty(default=0)
        >>> q = p.postinitializer(lambda self: None)
        >>> q is p
        False
        """
        return self._replace(postinitializer=func)

    def default(self, func: DefaultCallable) -> SerializableProperty[T]:
        """Return a copy of this property whose default is ``func(instance)``.

        Examples
        --------
        >>> p = SerializableProperty().default(lambda self: [])
        >>> p.default_value(None)
        []
        """
        return self._replace(default=func)

    def parser(self, func: Parser) -> SerializableProperty[T]:
        """Return a copy of this property with ``func`` as parser.

        Examples
        --------
        >>> p = SerializableProperty(default=0).parser(lambda self, v: int(v))
        >>> p._parser(None, "3")
        3
        """
        return self._replace(parser=func, doc=self.__doc__ or func.__doc__)

    def add_observer(self, func: Observer) -> SerializableProperty[T]:
        """Return a copy of this property with ``func`` added to its observers.

        Examples
        --------
        >>> f = lambda self, old, new: None
        >>> f in SerializableProperty().add_observer(f)._observers
        True
        """
        return self._replace(observers=(*self._observer_list, func))

    def remove_observer(self, func: Observer) -> SerializableProperty[T]:
        """Return a copy of this property without ``func`` (no error if it is absent).

        Examples
        --------
        >>> f = lambda self, old, new: None
        >>> SerializableProperty(observers=[f]).remove_observer(f)._observers
        set()
        """
        return self._replace(observers=tuple(o for o in self._observer_list if o is not func))


def sproperty(**kwargs: Any) -> Callable[[Callable[[Any, Any], Any]], SerializableProperty[Any]]:
    """Decorator form: the decorated function becomes the parser and its docstring the doc.

    Examples
    --------
    >>> class Run:
    ...     @sproperty(default=3)
    ...     def count(self, value):
    ...         "How many."
    ...         return int(value)
    >>> Run().count, Run.count.__doc__
    (3, 'How many.')
    """

    def wrap(func: Callable[[Any, Any], Any]) -> SerializableProperty[Any]:
        kwargs.setdefault("doc", func.__doc__)
        return SerializableProperty(**kwargs).parser(func)

    return wrap
