"""``Serializable``: collects properties at class creation and keeps the class-tag registry.

Examples
--------
>>> class Point(Serializable):
...     x = SerializableProperty(default=0.0)
...     y = SerializableProperty(default=0.0)
>>> p = Point(x=1.0)
>>> p
Point(x=1.0, y=0.0)
>>> p == Point(x=1.0, y=0.0)
True
>>> list(Point.serializable_properties)
['x', 'y']
"""

from __future__ import annotations

import copy as _copy
import difflib
import functools
import os
import reprlib
import sys
import threading
import warnings
from abc import ABCMeta
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import numpy as np

from ._compare import values_equal
from .errors import FormatVersionError, SessionClosedError, UnstableTagWarning, UnsupportedTypeError
from .generic import make_record
from .properties import STORAGE_OPTIONS, Deferred, SerializableProperty
from .readonly import READ_ONLY, LazyContainer, plain_type, thaw

__all__ = [
    "Serializable",
    "SerializableMetatype",
    "check_types",
    "get_full_qualified_name",
    "outside_stacklevel",
    "tag_to_write",
    "unknown_tag_hint",
]

S = TypeVar("S", bound="Serializable")

_REGISTRY_LOCK = threading.RLock()
_BY_NAME: dict[str, type] = {}  # qualified name -> class (jangada's ``_subclasses``)
_BY_TAG: dict[str, type] = {}  # stable tag written to files -> class
_RESERVED = {
    "_serializable_properties",
    "_subclasses",
    "_primitive_types",
    "_dataset_types",
    "_jl_migrations_",
}


def get_full_qualified_name(cls: type) -> str:
    """Return ``module.qualname`` of a class, or just the qualname for builtins.

    Examples
    --------
    >>> get_full_qualified_name(int)
    'int'
    >>> import pathlib
    >>> get_full_qualified_name(pathlib.PurePosixPath)
    'pathlib.PurePosixPath'
    """
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def check_types(
    obj: Any, types: type | Iterable[type], can_be_none: bool = False, raise_error: bool = True
) -> bool:
    """Check ``isinstance(obj, types)``; raise ``TypeError`` or return ``False`` otherwise.

    Examples
    --------
    >>> check_types(3, (int, float))
    True
    >>> check_types("3", int, raise_error=False)
    False
    """
    if obj is None and can_be_none:
        return True
    options = (types,) if isinstance(types, type) else tuple(types)
    if isinstance(obj, options):
        return True
    if raise_error:
        names = ", ".join(get_full_qualified_name(t) for t in options)
        msg = f"Expected instance of one of the following classes: {names}. "
        msg += f"Given {get_full_qualified_name(type(obj))} instead"
        raise TypeError(msg)
    return False


class SerializableMetatype(ABCMeta):
    """Metaclass: collects properties in declaration order and registers every class by tag.

    A class may pass ``tag="stable-name"`` so that it can move between modules without breaking
    files, ``version=N`` for migrations and ``extra_attributes=True`` to accept public attributes
    that are not properties (jangada's looseness: they are never saved).  Without it, assigning
    an undeclared public attribute raises ``AttributeError`` naming the closest property, so a
    typo is never silently lost; names starting with ``_`` are always free.  Property names that
    would hide a method of the library (``save``, ``load``, ``copy``, ``append``...) are refused
    when the class is created.

    Examples
    --------
    >>> class Run(Serializable, tag="examples.run"):
    ...     temperature = SerializableProperty(default=0.0)
    >>> Serializable.class_for_tag("examples.run") is Run
    True
    >>> Run().temprature = 4.2  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    AttributeError: Run has no property 'temprature' (did you mean 'temperature'?): ...
    >>> class Loose(Serializable, extra_attributes=True):
    ...     n = SerializableProperty(default=0)
    >>> loose = Loose()
    >>> loose.note = "kept in memory only"
    """

    _serializable_properties: dict[str, SerializableProperty[Any]]

    def __new__(
        mcls,
        name: str,
        bases: tuple[type, ...],
        namespace: dict[str, Any],
        tag: str | None = None,
        version: int | None = None,
        storage: dict[str, Any] | None = None,
        extra_attributes: bool | None = None,
        **kwargs: Any,
    ) -> SerializableMetatype:
        clashes = _RESERVED & set(namespace)
        if clashes and any(isinstance(b, SerializableMetatype) for b in bases):
            msg = f"class {name} may not define {sorted(clashes)}: the names are reserved"
            raise TypeError(msg)
        cls = super().__new__(mcls, name, bases, namespace, **kwargs)
        if storage is not None:
            unknown = set(storage) - set(STORAGE_OPTIONS)
            if unknown:
                raise TypeError(f"class {name}: unknown storage options {sorted(unknown)}")
            cls.__jangada_storage__ = dict(storage)  # type: ignore[attr-defined]
        if version is not None:
            if not isinstance(version, int) or isinstance(version, bool) or version < 1:
                raise TypeError(f"class {name}: version must be an int >= 1, got {version!r}")
            cls.__jangada_version__ = version  # type: ignore[attr-defined]
        if extra_attributes is not None:
            cls.__jangada_extra_attributes__ = bool(extra_attributes)  # type: ignore[attr-defined]
        props: dict[str, SerializableProperty[Any]] = {}
        for base in reversed(cls.__mro__[:-1]):
            for key, value in vars(base).items():
                if isinstance(value, SerializableProperty):
                    props.pop(key, None)
                    props[key] = value
        for key in props:
            _check_property_name(cls, key)
        type.__setattr__(cls, "_serializable_properties", props)
        if any(isinstance(b, SerializableMetatype) for b in bases):
            _register_class(cls, tag)
        return cls

    def __setattr__(cls, key: str, value: Any) -> None:
        if isinstance(value, SerializableProperty):
            _check_property_name(cls, key)  # before: a refused name leaves the class unchanged
        super().__setattr__(key, value)
        if isinstance(value, SerializableProperty):
            value.__set_name__(cls, key)
            cls._serializable_properties[key] = value
            for sub in _all_subclasses(cls):  # subclasses made earlier inherit it too
                if key not in sub._serializable_properties and key not in vars(sub):
                    sub._serializable_properties[key] = value

    # jangada's introspection, available on every class ----------------------------------------

    def __getitem__(cls, name: str) -> type:
        if cls is not _root():
            raise KeyError(f"Class {cls.__qualname__} is not subscriptable")
        with _REGISTRY_LOCK:
            if name in _BY_TAG:
                return _BY_TAG[name]
            return _BY_NAME[name]

    def __contains__(cls, item: object) -> bool:
        if cls is not _root():
            raise NotImplementedError(f"Class {cls.__qualname__} does not support 'in'")
        if isinstance(item, str):
            return item in _BY_NAME or item in _BY_TAG
        if isinstance(item, type):
            return _BY_NAME.get(get_full_qualified_name(item)) is item
        raise TypeError("Expected the class full qualified name or the class itself")

    @property
    def serializable_types(cls) -> list[type]:
        """Every registered Serializable class."""
        return list(_BY_NAME.values())

    @property
    def primitive_types(cls) -> list[type]:
        """Types registered with ``register_primitive_type`` (and the built-in scalar types)."""
        from .registry import default_registry  # documented: the registry sits above this layer

        return default_registry.primitive_types()

    @property
    def dataset_types(cls) -> list[type]:
        """Types registered with ``register_dataset_type`` (and the built-in array types)."""
        from .registry import default_registry  # documented: the registry sits above this layer

        return default_registry.dataset_types()

    @property
    def serializable_properties(cls) -> dict[str, SerializableProperty[Any]]:
        """A copy of the ``name -> property`` mapping, in declaration order."""
        return dict(cls._serializable_properties)

    @property
    def copiable_properties(cls) -> dict[str, SerializableProperty[Any]]:
        """The properties with ``copiable=True`` (those copied, compared and saved)."""
        return {k: p for k, p in cls._serializable_properties.items() if p.copiable}

    @property
    def _subclasses(cls) -> dict[str, type]:
        return _BY_NAME


def _all_subclasses(cls: type) -> list[Any]:
    found: list[Any] = []
    todo: list[Any] = list(cls.__subclasses__())
    while todo:
        sub = todo.pop()
        found.append(sub)
        todo.extend(sub.__subclasses__())
    return found


def _check_property_name(cls: type, key: str) -> None:
    clsname = cls.__qualname__
    if key.startswith("__") or key in _RESERVED or key == "written__":  # written__: internal key
        msg = f"class {clsname}: property name {key!r} is reserved (no leading '__', none of "
        msg += f"{sorted(_RESERVED)})"
        raise TypeError(msg)
    for base in cls.__mro__[1:]:
        if base.__module__.partition(".")[0] != "jangada_like" or key not in vars(base):
            continue
        if isinstance(vars(base)[key], SerializableProperty):
            continue
        msg = f"class {clsname}: property name {key!r} is reserved: it would hide "
        msg += f"{base.__qualname__}.{key}, which the library needs (rename the property, "
        msg += f"say {key + '_'!r} or a more specific name)"
        raise TypeError(msg)


def describe_unknown(cls: type, names: list[str]) -> str:
    """``"Cls has no property 'x' (did you mean 'y'?); its properties are ..."``, for the
    messages about unknown keywords and attributes."""
    props = list(cls._serializable_properties)  # type: ignore[attr-defined]
    hints = []
    for name in names:
        close = difflib.get_close_matches(name, props, n=1, cutoff=0.6)
        hints.append(f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name))
    msg = f"{cls.__qualname__} has no property {', '.join(hints)}; its properties are "
    return msg + (", ".join(props) or "none")


@functools.lru_cache(maxsize=4096)
def _settable(cls: type, name: str) -> bool:
    """Whether a public non-property attribute may be set on instances of ``cls``: a data
    descriptor of the class (a ``property`` with a setter, a ``cached_property``) or an
    attribute the library defines (``extension``).  A plain class attribute or an annotated field
    of the user's class is not: the instance value would shadow it and never be saved."""
    for base in cls.__mro__:
        found = vars(base).get(name, _NOTHING)
        if found is _NOTHING:
            continue
        if hasattr(type(found), "__set__") or isinstance(found, functools.cached_property):
            return True
        return base.__module__.partition(".")[0] == "jangada_like" and not callable(found)
    return False


_NOTHING = object()


def _refuse_attribute(obj: Any, name: str) -> None:
    cls = type(obj)
    props = list(cls._serializable_properties)
    close = difflib.get_close_matches(name, props, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    msg = f"{cls.__qualname__} has no property {name!r}{hint}: an undeclared attribute would "
    msg += f"never be saved. Declared properties: {', '.join(props) or 'none'}. Declare it with "
    msg += "SerializableProperty, name it with a leading '_' if it is private scratch, or allow "
    msg += f"extra attributes with `class {cls.__name__}(..., extra_attributes=True)`"
    raise AttributeError(msg, name=name, obj=obj)


def _register_class(cls: type, tag: str | None) -> None:
    qualname = get_full_qualified_name(cls)
    with _REGISTRY_LOCK:
        if tag is not None:
            if not isinstance(tag, str) or not tag:
                raise TypeError(f"class {qualname}: tag must be a non-empty str, got {tag!r}")
            other: Any = _BY_TAG.get(tag)
            # an explicit tag may take over a default one (a class renamed, the old one still
            # defined), never another explicit tag
            explicit = other is not None and other.__dict__.get("__jangada_explicit_tag__", False)
            if explicit and get_full_qualified_name(other) != qualname:
                msg = f"class tag {tag!r} of {qualname} is already used by "
                msg += get_full_qualified_name(other)
                raise TypeError(msg)
        cls.__jangada_tag__ = tag or qualname  # type: ignore[attr-defined]
        cls.__jangada_explicit_tag__ = tag is not None  # type: ignore[attr-defined]
        _BY_NAME[qualname] = cls  # a redefinition (notebook, test) replaces the old class
        _BY_TAG[cls.__jangada_tag__] = cls  # type: ignore[attr-defined]


_WARNED_MAIN: set[str] = set()
#: internal state a copy keeps: undeclared stored properties, the files the object was seen in
_COPIED_STATE = ("_jl_extra_", "_jl_seen_")


def tag_to_write(cls: type) -> str:
    """The tag written for ``cls``; warns once (:class:`~jangada_like.errors.UnstableTagWarning`)
    when it starts with ``__main__.``: a class defined in a script is named after the script,
    and once it moves into a module, files naming ``__main__.Cls`` need ``tag=`` to load.

    Examples
    --------
    >>> class Sample(Serializable, tag="lab.sample"):
    ...     pass
    >>> tag_to_write(Sample)
    'lab.sample'
    """
    tag: str = cls.__jangada_tag__  # type: ignore[attr-defined]
    if tag.startswith("__main__.") and tag not in _WARNED_MAIN:
        _WARNED_MAIN.add(tag)
        name = cls.__qualname__
        msg = f"class {name} is defined in a script (__main__): files name it {tag!r}, which loads "
        msg += "only where a class of that name is defined in __main__; give it a stable tag that "
        msg += f"survives moving it into a module: class {name}(..., tag='yourlab.{name}')"
        warnings.warn(msg, UnstableTagWarning, stacklevel=outside_stacklevel())
    return tag


def outside_stacklevel() -> int:
    """The ``stacklevel`` of the first caller outside this package (a warning then points at
    the user's line, the ``save`` call, not at the library)."""
    package = os.path.dirname(os.path.abspath(__file__)) + os.sep
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    return level


def unknown_tag_hint(tag: str) -> str:
    """What to do about a file's class tag that no class has: the registered classes of the same
    name, which ``tag=`` would make load it.

    Examples
    --------
    >>> class Scan(Serializable):
    ...     pass
    >>> "class Scan(..., tag='__main__.Scan')" in unknown_tag_hint("__main__.Scan")
    True
    """
    name = tag.rpartition(".")[2]
    with _REGISTRY_LOCK:
        same = sorted(q for q, c in _BY_NAME.items() if c.__name__ == name and q != tag)
    if same:
        hint = f"a class of that name is registered as {', '.join(same)}: if it is the same class, "
        hint += f"declare it with the file's tag, class {name}(..., tag={tag!r})"
    else:
        hint = "define (import) the class first; files never import code"
    if tag.startswith("__main__."):
        hint += " (the file was saved from a script, which names its classes __main__.Name)"
    return hint


def _root() -> type:
    return Serializable


class Serializable(metaclass=SerializableMetatype):
    """Base class of objects made of :class:`SerializableProperty` fields.

    ``Cls(**values)`` builds from keyword arguments, ``Cls(other)`` copies another instance.

    Examples
    --------
    >>> class Sample(Serializable):
    ...     label = SerializableProperty(default="")
    ...     values = SerializableProperty(default=None)
    >>> a = Sample(label="a", values=np.arange(3))
    >>> b = a.copy()
    >>> b == a, b.values is a.values
    (True, False)
    """

    __jangada_tag__: str = "jangada_like.Serializable"
    __jangada_version__: int = 1
    __jangada_storage__: dict[str, Any] = {}  # noqa: RUF012  (class-level storage defaults)
    __jangada_extra_attributes__: bool = False
    __hash__ = None  # type: ignore[assignment]  # mutable with value equality

    def __setattr__(self, name: str, value: Any) -> None:
        cls = type(self)
        if (
            name[:1] != "_"
            and name not in cls._serializable_properties
            and not cls.__jangada_extra_attributes__
            and not _settable(cls, name)
        ):
            _refuse_attribute(self, name)
        object.__setattr__(self, name, value)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not args:
            if kwargs.get("__class__") in (type(self).__jangada_tag__, get_full_qualified_name(type(self))):
                del kwargs["__class__"]
            for key, value in kwargs.items():  # read in a read-only session: this object's now
                if type(value) in READ_ONLY or isinstance(value, LazyContainer):
                    kwargs[key] = thaw(value)
            self._init_values(kwargs)  # values are used as given: a dict stays a dict
        elif len(args) == 1 and not kwargs and isinstance(args[0], Serializable):
            self._copy_from(args[0])
        else:
            msg = f"Given args do not match any available signature of {type(self).__qualname__}: "
            msg += "use Cls(**properties) or Cls(instance)"
            raise ValueError(msg)

    def _initialize_from_data(self, data: dict[str, Any]) -> None:
        if not isinstance(data, dict):
            raise TypeError(f"Expected a dict of property values, got {type(data).__qualname__}")
        data = dict(data)
        stored_class = data.pop("__class__", None)
        if stored_class is not None and type(self) not in (
            _BY_TAG.get(stored_class),
            _BY_NAME.get(stored_class),
        ):
            msg = f"data of class {stored_class!r} cannot initialise {type(self).__qualname__}"
            raise ValueError(msg)
        values = {k: Serializable.deserialize(v) for k, v in data.items()}
        self._init_values(values)

    def _init_values(self, values: dict[str, Any]) -> None:
        """Set every property, from ``values`` where given, else to its default."""
        props = type(self)._serializable_properties
        extra = [k for k in values if k not in props]
        if extra:
            msg = f"There is no signature with the keys dict_keys({extra!r}): "
            raise ValueError(msg + describe_unknown(type(self), extra))
        for key, prop in props.items():
            prop._assign(self, values.get(key), explicit=key in values)

    def _copy_from(self, other: Serializable) -> None:
        props = type(self)._serializable_properties
        if not isinstance(other, type(self)) and not isinstance(self, type(other)):
            msg = f"cannot copy a {type(other).__qualname__} into a {type(self).__qualname__}"
            raise TypeError(msg)
        memo: dict[int, Any] = {id(other): self}  # back-references to `other` lead to the copy
        values = {}
        for key, prop in type(other)._serializable_properties.items():
            if prop.copiable and key in props:
                values[key] = _copy.deepcopy(getattr(other, key), memo)
        self._init_values(values)
        extra = other.__dict__.get("_jl_extra_")
        if extra is not None and type(other) is type(self):  # stored data the class does not declare
            self.__dict__["_jl_extra_"] = _copy.deepcopy(extra, memo)
        if "_jl_seen_" in other.__dict__:  # a copy saved over the file it came from is checked too
            self.__dict__["_jl_seen_"] = dict(other.__dict__["_jl_seen_"])

    def copy(self: S) -> S:
        """Return a deep copy of the copiable properties (arrays are copied, not shared).

        Examples
        --------
        >>> class Box(Serializable):
        ...     x = SerializableProperty(default=0)
        >>> Box(x=2).copy().x
        2
        """
        return type(self)(self)

    def __copy__(self: S) -> S:
        return self.copy()

    def __deepcopy__(self: S, memo: dict[int, Any]) -> S:
        for key in type(self).copiable_properties:  # an unopened session object refuses here
            getattr(self, key)
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        for key, value in list(self.__dict__.items()):
            if type(value) is Deferred:  # read it first: a copy holds data, not a file handle
                value = getattr(self, key[len("_serializable_property__") :])
            if not key.startswith("_jl_") or key in _COPIED_STATE:  # file sessions stay behind;
                new.__dict__[key] = _copy.deepcopy(value, memo)  # stored data and history go along
        return new

    def __getstate__(self) -> dict[str, Any]:
        """What pickling keeps: the values (those not read yet from a session's file are read
        now), never the file session they came from (its file handle and lock)."""
        for key in type(self).copiable_properties:  # an unopened session object refuses here
            getattr(self, key)
        state = {}
        for key, value in list(self.__dict__.items()):
            if type(value) is Deferred:
                value = getattr(self, key[len("_serializable_property__") :])
            if key not in ("_jl_session_", "_jl_node_", "_door"):
                state[key] = value
        return state

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._equals(other, set())

    def _equals(self, other: Any, seen: set[tuple[int, int]]) -> bool:
        if type(other) is not type(self):
            return False
        for key in type(self).copiable_properties:
            if not values_equal(getattr(self, key), getattr(other, key), seen):
                return False
        return True

    @reprlib.recursive_repr()
    def __repr__(self) -> str:
        short = reprlib.Repr()
        short.maxstring, short.maxother, short.maxlist, short.maxdict = 60, 60, 6, 6
        parts = []
        for key, prop in type(self)._serializable_properties.items():
            if type(self.__dict__.get(prop.private_name)) is Deferred:
                parts.append(f"{key}=<not read>")  # a repr never reads a file
                continue
            try:
                value = getattr(self, key)
            except SessionClosedError:  # an object of a session outside its block
                parts.append(f"{key}=<not read>")
                continue
            text = repr(value) if isinstance(value, Serializable) else short.repr(value)
            parts.append(f"{key}={' '.join(text.split())}")
        return f"{type(self).__qualname__}({', '.join(parts)})"

    # jangada's in-memory serialized form ------------------------------------------------------

    @staticmethod
    def serialize(obj: Any, is_copy: bool = False) -> Any:
        """Turn an object tree into plain containers, keeping container types.

        Objects become ``{'__class__': tag, prop: value, ...}`` (copiable properties only when
        ``is_copy``); values with a codec are returned as they are.

        Examples
        --------
        >>> class Box(Serializable):
        ...     x = SerializableProperty(default=(1, 2))
        >>> Serializable.serialize(Box())["x"]
        (1, 2)
        """
        from .registry import active_registry

        return _serialize(obj, is_copy, active_registry().has_codec, {})

    @staticmethod
    def deserialize(data: Any) -> Any:
        """Rebuild objects from :meth:`serialize` output; the input is never modified.

        Examples
        --------
        >>> class Box(Serializable):
        ...     x = SerializableProperty(default=0)
        >>> Serializable.deserialize(Serializable.serialize(Box(x=4))).x
        4
        """
        return _deserialize(data)

    # registration, as jangada has it ------------------------------------------------------------

    @classmethod
    def register_primitive_type(cls, t: type) -> None:
        """Store instances of ``t`` as HDF5 attributes (h5py must accept them as they are).

        Examples
        --------
        >>> import decimal
        >>> Serializable.register_primitive_type(list)
        Traceback (most recent call last):
        ...
        TypeError: Cannot register <class 'list'> as primitive type: it is a container or Serializable
        """
        from .registry import default_registry

        default_registry.register_primitive_type(t)

    @classmethod
    def remove_primitive_type(cls, t: type) -> None:
        """Forget a type registered with :meth:`register_primitive_type` (no error if absent)."""
        from .registry import default_registry

        default_registry.remove_custom_type(t, dataset=False)

    @classmethod
    def is_primitive_type(cls, t: type) -> bool:
        """Whether ``t`` itself (not a subclass) is a registered primitive type."""
        return t in type(cls).primitive_types.fget(cls)  # type: ignore[attr-defined]

    @classmethod
    def register_dataset_type(
        cls,
        t: type,
        disassemble: Callable[[Any], tuple[np.ndarray, dict[str, Any]]],
        assemble: Callable[[np.ndarray, dict[str, Any]], Any],
    ) -> None:
        """Store instances of ``t`` as a dataset: ``disassemble(v) -> (array, attrs)`` and back.

        Examples
        --------
        >>> class Vec:
        ...     def __init__(self, xs): self.xs = list(xs)
        >>> Serializable.register_dataset_type(
        ...     Vec, lambda v: (np.asarray(v.xs), {}), lambda a, attrs: Vec(a))
        >>> Serializable.is_dataset_type(Vec)
        True
        >>> Serializable.remove_dataset_type(Vec)
        """
        from .registry import default_registry

        default_registry.register_dataset_type(t, disassemble, assemble)

    @classmethod
    def remove_dataset_type(cls, t: type) -> None:
        """Forget a type registered with :meth:`register_dataset_type` (no error if absent)."""
        from .registry import default_registry

        default_registry.remove_custom_type(t, dataset=True)

    @classmethod
    def is_dataset_type(cls, t: type) -> bool:
        """Whether ``t`` is stored as a dataset."""
        return t in type(cls).dataset_types.fget(cls)  # type: ignore[attr-defined]

    @classmethod
    def migrate(cls, from_version: int) -> Callable[[Callable[[dict[str, Any]], dict[str, Any]]], Any]:
        """Register ``f(data) -> data`` turning stored data of ``from_version`` into the next
        version's shape; loading chains them up to the class version.

        ``data`` is a plain dict of the stored property values (nested objects already loaded);
        return the dict for ``from_version + 1``.

        Examples
        --------
        >>> class Run(Serializable, version=2):
        ...     duration_s = SerializableProperty(default=0.0)
        >>> @Run.migrate(from_version=1)
        ... def minutes_to_seconds(data):
        ...     data["duration_s"] = data.pop("duration_min") * 60
        ...     return data
        >>> Run._migrate_values({"duration_min": 2.0}, 1)
        {'duration_s': 120.0}
        """
        if not isinstance(from_version, int) or from_version < 1:
            raise TypeError(f"from_version must be an int >= 1, got {from_version!r}")

        def register(func: Callable[[dict[str, Any]], dict[str, Any]]) -> Any:
            table = cls.__dict__.get("_jl_migrations_")
            if table is None:
                table = {}
                type.__setattr__(cls, "_jl_migrations_", table)
            if from_version in table:
                raise ValueError(f"{cls.__qualname__} already has a migration from version {from_version}")
            table[from_version] = func
            return func

        return register

    @classmethod
    def _migrate_values(
        cls, values: dict[str, Any], version: int, *, path: str | None = None, file: str | None = None
    ) -> dict[str, Any]:
        """Apply the registered migrations from ``version`` up to the class version."""
        table = cls.__dict__.get("_jl_migrations_", {})
        data = dict(values)
        for step in range(version, cls.__jangada_version__):
            func = table.get(step)
            if func is None:
                msg = f"{cls.__qualname__} data of version {step} needs a migration to version "
                msg += f"{step + 1}: register one with @{cls.__qualname__}.migrate(from_version={step})"
                raise FormatVersionError(msg, file=file, path=path)
            data = func(data)
            if not isinstance(data, dict):
                msg = f"migration of {cls.__qualname__} from version {step} returned "
                msg += f"{type(data).__name__}, expected a dict"
                raise TypeError(msg)
        return data

    @classmethod
    def class_for_tag(cls, tag: str) -> type | None:
        """Return the class registered under a file tag or qualified name, or ``None``."""
        with _REGISTRY_LOCK:
            return _BY_TAG.get(tag) or _BY_NAME.get(tag)


def _serialize(obj: Any, is_copy: bool, known: Callable[[type], bool], memo: dict[int, Any]) -> Any:
    if obj is None:
        return None
    if isinstance(obj, Serializable):
        if id(obj) in memo:
            return memo[id(obj)]
        out: dict[str, Any] = {"__class__": type(obj).__jangada_tag__}
        memo[id(obj)] = out
        props = type(obj).copiable_properties if is_copy else type(obj).serializable_properties
        for key in props:
            out[key] = _serialize(getattr(obj, key), is_copy, known, memo)
        return out
    kind = plain_type(type(obj))  # read-only containers of a session serialize as plain ones
    if kind in (list, tuple, set, frozenset):
        return kind(_serialize(v, is_copy, known, memo) for v in obj)
    if kind is dict:
        return {k: _serialize(v, is_copy, known, memo) for k, v in obj.items()}
    if known(type(obj)):
        return obj
    raise UnsupportedTypeError(
        f"No serialisation process is implemented for object of type {type(obj).__qualname__}."
    )


def _deserialize(data: Any) -> Any:
    if type(data) in (list, tuple, set, frozenset):
        return type(data)(_deserialize(v) for v in data)
    if type(data) is dict:
        if "__class__" not in data:
            return {k: _deserialize(v) for k, v in data.items()}
        rest = dict(data)
        name = rest.pop("__class__")
        cls: Any = Serializable.class_for_tag(name)
        if cls is None:
            return make_record(name, {k: _deserialize(v) for k, v in rest.items()})
        obj = cls.__new__(cls)
        obj._initialize_from_data(rest)
        return obj
    return data
