"""The one place that knows every codec: lookup by Python type for writing, by tag for reading.

Writing looks up exact type, then the MRO, then predicates; results are cached and the cache is
cleared on every registration.  Reading looks up the tag stored in the file.  Two codecs claiming
one type or one tag is an error at registration, naming both.

A family of codecs for a heavy third-party library (pandas) is registered *lazily*
(:meth:`CodecRegistry.register_lazy`): its module, and the library, are imported the first time a
value of one of that library's types is written or a node carrying one of its tags is read, so
``import jangada_like`` does not pay for pandas.

Examples
--------
>>> default_registry.lookup_type(int).tag
'int'
>>> default_registry.lookup_tag("pandas.Timestamp").tag
'pandas.Timestamp'
"""

from __future__ import annotations

import contextlib
import enum
import threading
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

import numpy as np

from .codecs import containers, nested, numpy_, scalars, stdlib
from .codecs.base import Codec
from .codecs.custom import REFUSED_PRIMITIVES, DatasetTypeCodec, PrimitiveCodec
from .errors import FileFormatError, UnsupportedTypeError
from .serializable import Serializable

__all__ = [
    "CodecRegistry",
    "active_registry",
    "default_registry",
    "register_codec",
    "register_enum",
    "use_registry",
]

C = TypeVar("C", bound=Codec)
E = TypeVar("E", bound=enum.Enum)


class CodecRegistry:
    """A set of codecs with type and tag lookup; thread-safe.

    Examples
    --------
    >>> reg = default_registry.copy()
    >>> reg.find_type(complex).tag
    'complex'
    """

    def __init__(self) -> None:
        self._by_type: dict[type, Codec] = {}
        self._by_tag: dict[str, Codec] = {}
        self._predicates: list[Codec] = []
        self._cache: dict[type, Codec | None] = {}
        # lazy families: top-level module name -> (tag prefix, loader returning the codecs)
        self._pending: dict[str, tuple[str, Callable[[], Iterable[Codec]]]] = {}
        # jangada's registrations: type -> the codec made for it (None: an existing codec serves)
        self._primitives: dict[type, Codec | None] = {}
        self._datasets: dict[type, Codec | None] = {}
        # enums whose members may be saved: tag written to files -> enum class, and back
        self._enums: dict[str, type[enum.Enum]] = {}
        self._enum_tags: dict[type[enum.Enum], str] = {}
        self._lock = threading.RLock()

    def register_lazy(self, module: str, tag_prefix: str, load: Callable[[], Iterable[Codec]]) -> None:
        """Register the codecs ``load()`` returns the first time they can be needed.

        That is when a type defined in the top-level package ``module`` (or a subclass of one) is
        written, a tag starting with ``tag_prefix`` is read, a codec for one of those is registered,
        or :meth:`tags` lists everything.

        Examples
        --------
        >>> from jangada_like.codecs.base import Codec
        >>> class Fraction(Codec):
        ...     tag = "fractions.Fraction"
        >>> reg = CodecRegistry()
        >>> reg.register_lazy("fractions", "fractions.", lambda: [Fraction()])
        >>> reg.lookup_tag("fractions.Fraction").tag
        'fractions.Fraction'
        """
        with self._lock:
            self._pending[module] = (tag_prefix, load)
            self._cache.clear()

    def _load_family(self, module: str) -> None:
        with self._lock:
            entry = self._pending.pop(module, None)
            if entry is not None:
                for codec in entry[1]():
                    self.register(codec)

    def _load_for_type(self, tp: type) -> None:
        if self._pending:
            for base in getattr(tp, "__mro__", (tp,)):
                root = str(getattr(base, "__module__", "")).partition(".")[0]
                if root in self._pending:
                    self._load_family(root)

    def _load_for_tag(self, tag: str) -> None:
        if self._pending:
            for module, (prefix, _load) in list(self._pending.items()):
                if tag.startswith(prefix):
                    self._load_family(module)

    def register(self, codec: Codec, *, replace: bool = False) -> Codec:
        """Add a codec; ``replace=True`` lets it take over types and tags already claimed."""
        if not isinstance(codec, Codec) or not codec.tag:
            raise TypeError(f"expected a Codec instance with a tag, got {codec!r}")
        with self._lock:
            # a lazy family that claims these types or tags loads first: the same conflicts and
            # the same overrides as if it had been registered eagerly
            for tag in (codec.tag, *codec.read_tags):
                self._load_for_tag(tag)
            for tp in codec.types:
                self._load_for_type(tp)
            if not replace:
                self._check_free(codec)
            for tag in (codec.tag, *codec.read_tags):
                old = self._by_tag.get(tag)
                if old is not None and old is not codec:
                    self._forget(old)
                self._by_tag[tag] = codec
            for tp in codec.types:
                self._by_type[tp] = codec
            if type(codec).matches is not Codec.matches:
                self._predicates.append(codec)
            self._cache.clear()
        return codec

    def _check_free(self, codec: Codec) -> None:
        for tag in (codec.tag, *codec.read_tags):
            if tag in self._by_tag:
                msg = f"tag {tag!r} of {codec!r} is already claimed by {self._by_tag[tag]!r}"
                raise ValueError(msg)
        for tp in codec.types:
            if tp in self._by_type:
                msg = f"type {tp!r} of {codec!r} is already claimed by {self._by_type[tp]!r}"
                raise ValueError(msg)

    def unregister(self, codec_or_tag: Codec | str) -> None:
        """Remove a codec (given itself or its tag); no error if it is absent."""
        with self._lock:
            if isinstance(codec_or_tag, str):
                self._load_for_tag(codec_or_tag)
            codec = self._by_tag.get(codec_or_tag) if isinstance(codec_or_tag, str) else codec_or_tag
            if codec is not None:
                self._forget(codec)
            self._cache.clear()

    def _forget(self, codec: Codec) -> None:
        tables: tuple[dict[Any, Codec], ...] = (self._by_tag, self._by_type)
        for table in tables:
            for key in [k for k, v in table.items() if v is codec]:
                del table[key]
        self._predicates = [p for p in self._predicates if p is not codec]

    def find_type(self, tp: type) -> Codec | None:
        """The codec for writing values of type ``tp``, or ``None``."""
        try:
            return self._cache[tp]
        except KeyError:
            pass
        with self._lock:
            self._load_for_type(tp)
            found = self._by_type.get(tp)
            if found is None:
                found = next(
                    (
                        self._by_type[b]
                        for b in tp.__mro__[1:]
                        if b in self._by_type and self._by_type[b].subclasses
                    ),
                    None,
                )
            if found is None:
                found = next((p for p in self._predicates if p.matches(tp)), None)
            self._cache[tp] = found
            return found

    def lookup_type(self, tp: type, **context: Any) -> Codec:
        """Like :meth:`find_type` but raise an error that lists what is registered."""
        codec = self.find_type(tp)
        if codec is None:
            names = sorted({getattr(t, "__qualname__", str(t)) for t in self._by_type})
            msg = "No serialisation method is implemented for object of type "
            msg += f"{tp.__module__}.{tp.__qualname__}: register a codec for it, or make it "
            msg += f"Serializable (registered types: {', '.join(names)})"
            raise UnsupportedTypeError(msg, **context)
        return codec

    def has_codec(self, tp: type) -> bool:
        """Whether values of type ``tp`` can be written."""
        return self.find_type(tp) is not None

    def lookup_tag(self, tag: str, **context: Any) -> Codec:
        """The codec that reads nodes carrying ``tag``."""
        codec = self._by_tag.get(tag)
        if codec is None and self._pending:
            self._load_for_tag(tag)
            codec = self._by_tag.get(tag)
        if codec is None:
            msg = f"unknown type tag {tag!r} in file: no codec reads it (is a plugin or "
            msg += "a register_dataset_type call missing?)"
            raise FileFormatError(msg, **context)
        return codec

    def tags(self) -> list[str]:
        """Every tag this registry reads (loads every lazy family)."""
        with self._lock:
            for module in list(self._pending):
                self._load_family(module)
            return sorted(self._by_tag)

    def copy(self) -> CodecRegistry:
        """An independent registry with the same codecs (for isolated setups and tests)."""
        new = CodecRegistry()
        with self._lock:
            new._by_type = dict(self._by_type)
            new._by_tag = dict(self._by_tag)
            new._predicates = list(self._predicates)
            new._pending = dict(self._pending)
            new._primitives = dict(self._primitives)
            new._datasets = dict(self._datasets)
            new._enums = dict(self._enums)
            new._enum_tags = dict(self._enum_tags)
        return new

    # -- jangada's registrations (``Serializable.register_primitive_type`` and friends) --------

    # enums --------------------------------------------------------------------------------------

    def register_enum(self, cls: type[E], tag: str | None = None) -> type[E]:
        """Allow members of the Enum ``cls`` to be saved and loaded with this registry, under
        ``tag`` (default ``module.QualName``).  Another enum of another name claiming the tag is
        an error; the same name again (a notebook cell run twice) replaces it.

        Examples
        --------
        >>> import enum
        >>> class Color(enum.Enum):
        ...     RED = 1
        >>> reg = default_registry.copy()
        >>> reg.register_enum(Color, tag="lab.Color") is Color
        True
        >>> reg.enum_for_tag("lab.Color") is Color, default_registry.enum_for_tag("lab.Color")
        (True, None)
        """
        if not (isinstance(cls, type) and issubclass(cls, enum.Enum)):
            raise TypeError(f"register_enum expects an Enum class, got {cls!r}")
        name = tag or f"{cls.__module__}.{cls.__qualname__}"
        if not isinstance(name, str) or not name:
            raise TypeError(f"enum tag must be a non-empty str, got {tag!r}")
        with self._lock:
            other = self._enums.get(name)
            if other is not None and other is not cls:
                if (other.__module__, other.__qualname__) != (cls.__module__, cls.__qualname__):
                    msg = f"enum tag {name!r} of {cls.__module__}.{cls.__qualname__} is already used by "
                    msg += f"{other.__module__}.{other.__qualname__}"
                    raise ValueError(msg)
                self._enum_tags.pop(other, None)
            old = self._enum_tags.get(cls)
            if old is not None and old != name:
                del self._enums[old]
            self._enums[name] = cls
            self._enum_tags[cls] = name
        return cls

    def remove_enum(self, cls_or_tag: type[enum.Enum] | str) -> None:
        """Forget an enum registered with :meth:`register_enum` (no error if absent)."""
        with self._lock:
            tag = cls_or_tag if isinstance(cls_or_tag, str) else self._enum_tags.get(cls_or_tag)
            cls = self._enums.pop(tag, None) if tag is not None else None
            if cls is not None:
                self._enum_tags.pop(cls, None)

    def enum_for_tag(self, tag: str) -> type[enum.Enum] | None:
        """The enum registered under ``tag``, or ``None``."""
        return self._enums.get(tag)

    def tag_of_enum(self, cls: type) -> str | None:
        """The tag members of ``cls`` are saved under, or ``None`` if it is not registered."""
        return self._enum_tags.get(cls)  # type: ignore[call-overload]

    # jangada's registrations ---------------------------------------------------------------------

    def register_primitive_type(self, t: type) -> None:
        """Store values of ``t`` as attributes as h5py accepts them, rebuilt with ``t(raw)``.

        Examples
        --------
        >>> class Celsius(float): pass
        >>> reg = default_registry.copy()
        >>> reg.register_primitive_type(Celsius)
        >>> Celsius in reg.primitive_types(), Celsius in default_registry.primitive_types()
        (True, False)
        """
        if not isinstance(t, type) or issubclass(t, (*REFUSED_PRIMITIVES, Serializable)):
            raise TypeError(f"Cannot register {t!r} as primitive type: it is a container or Serializable")
        with self._lock:
            if t in self._primitives:
                return
            codec = None if self.find_type(t) is not None else PrimitiveCodec(t)
            if codec is not None:
                self.register(codec, replace=True)
            self._primitives[t] = codec

    def register_dataset_type(
        self, t: type, disassemble: Callable[..., Any], assemble: Callable[..., Any]
    ) -> None:
        """Store values of ``t`` as a dataset: ``disassemble(value) -> (array, attrs)`` and
        ``assemble(array, attrs) -> value`` (see :meth:`Serializable.register_dataset_type`)."""
        if not isinstance(t, type) or not callable(disassemble) or not callable(assemble):
            raise TypeError("register_dataset_type(t, disassemble, assemble) needs a type and two callables")
        with self._lock:
            codec = DatasetTypeCodec(t, disassemble, assemble)
            self.register(codec, replace=True)
            self._datasets[t] = codec
            self._primitives.setdefault(t, None)

    def remove_custom_type(self, t: type, *, dataset: bool) -> None:
        """Undo :meth:`register_primitive_type` (``dataset=False``) or
        :meth:`register_dataset_type` (``dataset=True``); no error if ``t`` was not registered."""
        with self._lock:
            for table in (self._datasets, self._primitives) if dataset else (self._primitives,):
                codec = table.pop(t, None)
                if codec is not None:
                    self.unregister(codec)

    def primitive_types(self) -> list[type]:
        """Built-in scalar types plus every registered primitive type."""
        builtin = [str, int, float, complex, bool, bytes, np.generic]
        extra = [t for t in self._primitives if t not in builtin]
        return [*builtin, *extra] + [t for t in (type(None),) if self.find_type(t)]

    def dataset_types(self) -> list[type]:
        """Built-in array types plus every registered dataset type."""
        import pandas as pd  # the answer names pandas types: only this question imports pandas

        return [np.ndarray, pd.Timestamp, pd.DatetimeIndex, *self._datasets]


default_registry = CodecRegistry()
for _module in (scalars, containers, numpy_, stdlib, nested):
    for _codec in _module.CODECS:
        default_registry.register(_codec)


def _pandas_codecs() -> Iterable[Codec]:
    from .codecs import pandas_  # documented lazy import: pandas loads on first use

    return pandas_.CODECS


default_registry.register_lazy("pandas", "pandas.", _pandas_codecs)

# the registry of the save, load or open in progress in this thread (``registry=``)
_ACTIVE: ContextVar[CodecRegistry | None] = ContextVar("jangada_like_registry", default=None)


def active_registry() -> CodecRegistry:
    """The registry the save, load or open in progress uses: its ``registry=``, else the default.

    Examples
    --------
    >>> active_registry() is default_registry
    True
    """
    return _ACTIVE.get() or default_registry


@contextlib.contextmanager
def use_registry(registry: CodecRegistry | None) -> Iterator[CodecRegistry]:
    """Make ``registry`` (``None``: keep the current one) active for the ``with`` block.

    ``save``, ``load`` and sessions take ``registry=`` and do this themselves; a session keeps the
    registry it was opened with for all its later reads and writes.

    Examples
    --------
    >>> reg = default_registry.copy()
    >>> with use_registry(reg):
    ...     active_registry() is reg
    True
    >>> active_registry() is default_registry
    True
    """
    if registry is None:
        yield active_registry()
        return
    if not isinstance(registry, CodecRegistry):
        raise TypeError(f"registry= expects a CodecRegistry, got {type(registry).__name__}")
    token = _ACTIVE.set(registry)
    try:
        yield registry
    finally:
        _ACTIVE.reset(token)


def register_enum(cls: type[E], tag: str | None = None) -> type[E]:
    """Allow members of ``cls`` to be saved and loaded (with the default registry); usable as
    a class decorator.  Give ``tag=`` a stable name for enums defined in scripts.

    Examples
    --------
    >>> import enum
    >>> @register_enum
    ... class Color(enum.Enum):
    ...     RED = 1
    >>> default_registry.tag_of_enum(Color)
    'jangada_like.registry.Color'
    """
    return default_registry.register_enum(cls, tag)


def register_codec(codec: C, *, replace: bool = False) -> C:
    """Register a full custom codec in the default registry; returns it (usable as decorator
    on an instance).

    Examples
    --------
    >>> from jangada_like.codecs.base import Codec
    >>> class Nothing(Codec):
    ...     tag = "example.nothing"
    >>> c = register_codec(Nothing())
    >>> default_registry.lookup_tag("example.nothing") is c
    True
    >>> default_registry.unregister(c)
    """
    default_registry.register(codec, replace=replace)
    return codec
