"""``Persistable``: a Serializable with files (atomic save, load, lazy ``with`` sessions).

Examples
--------
>>> import numpy as np, tempfile, os
>>> class Experiment(Persistable):
...     name = SerializableProperty(default="")
...     temperature = SerializableProperty(default=293.15)
...     data = SerializableProperty(default=None)
>>> path = os.path.join(tempfile.mkdtemp(), "experiment.hdf5")
>>> _ = Experiment(name="Test1", temperature=373.15, data=np.array([1.2, 3.4])).save(path)
>>> Experiment.load(path).name
'Test1'
>>> with Experiment(path, mode="r") as exp:
...     exp.data.shape
(2,)
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

from ._fileio import load_file, save_file
from ._session import MODES, OutsideNode, Session
from ._untrusted import CheckLimits, check_untrusted
from .errors import ShapeMismatchError
from .properties import SerializableProperty  # noqa: F401  (used by the doctests)
from .proxy import ProxyDataset
from .registry import CodecRegistry, use_registry
from .serializable import Serializable, describe_unknown

__all__ = ["Persistable", "load"]

P = TypeVar("P", bound="Persistable")
_OPEN_OPTIONS = ("timeout", "swmr", "strict", "registry")


def _with_extension(path: str | os.PathLike[str], extension: str) -> Path:
    p = Path(path)
    return p if p.suffix else p.with_name(p.name + extension)


class Persistable(Serializable):
    """A :class:`Serializable` that saves to and loads from HDF5 files.

    ``Cls(path)`` loads a file; ``Cls(path, mode=...)`` (or :meth:`open`) prepares a ``with``
    session in which arrays are lazy :class:`ProxyDataset` handles; anything else builds from
    keyword arguments like :class:`Serializable`.

    Examples
    --------
    >>> class Run(Persistable):
    ...     n = SerializableProperty(default=0)
    >>> Run.extension
    '.hdf5'
    """

    extension: str = ".hdf5"
    ProxyDataset = ProxyDataset

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not args or not isinstance(args[0], (str, os.PathLike)):
            super().__init__(*args, **kwargs)
            return
        path, rest = args[0], args[1:]
        if len(rest) > 1:
            msg = "Given args do not match any available signature: use Cls(path), "
            msg += "Cls(path, mode) or Cls(path, mode=..., timeout=..., swmr=...)"
            raise ValueError(msg)
        if rest and "mode" in kwargs:
            raise ValueError("mode given twice (positionally and as keyword)")
        mode = rest[0] if rest else kwargs.pop("mode", None)
        options = {k: kwargs.pop(k) for k in _OPEN_OPTIONS if k in kwargs}
        if mode is None:
            if kwargs or options:
                raise ValueError(f"Unexpected keyword arguments: {kwargs.keys() | options.keys()}")
            self._load_into(path)
            return
        self._prepare_session(path, mode, options, kwargs)

    def _load_into(self, path: str | os.PathLike[str]) -> None:
        load_file(self._existing(path), type(self), into=self)

    def _prepare_session(
        self, path: str | os.PathLike[str], mode: str, options: dict[str, Any], values: dict[str, Any]
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        unknown = [k for k in values if k not in type(self)._serializable_properties]
        near = [(k, difflib.get_close_matches(k, _OPEN_OPTIONS, n=1, cutoff=0.75)) for k in unknown]
        typos = [f"{k!r} (did you mean the option {m[0]!r}?)" for k, m in near if m]
        if typos:
            msg = f"Unexpected keyword arguments: {', '.join(typos)}; the options are "
            raise ValueError(msg + ", ".join(("mode", *_OPEN_OPTIONS)))
        if unknown:
            raise ValueError(f"Unexpected keyword arguments: {describe_unknown(type(self), unknown)}")
        if values and mode in ("r", "r+"):
            msg = f"Unexpected keyword arguments: {values.keys()} (property values are accepted "
            msg += "only with mode='w' or 'a', and only declared properties)"
            raise ValueError(msg)
        if mode in ("r", "r+"):
            target: str | Path = self._existing(path)
        else:
            target = _with_extension(path, self.extension)
            if mode == "a" and not target.exists() and Path(path).exists():
                target = Path(path)
        session = Session(target, mode, values=values, **options)
        self.__dict__["_jl_session_"] = session
        self.__dict__["_jl_node_"] = OutsideNode(session, entered=False)  # usable inside `with`

    @classmethod
    def _existing(cls, path: str | os.PathLike[str]) -> str:
        """``path``, or ``path`` + :attr:`extension` when only that exists (no ``Path``: this
        runs on every open)."""
        name = os.fspath(path)
        suffix = os.path.splitext(name)[1]
        if suffix in ("", ".") and not os.path.exists(name):  # the suffix first: no system call
            candidate = (name.rstrip(os.sep) or name) + cls.extension  # "run/" as Path has it: "run"
            if os.path.exists(candidate):
                return candidate
        return name

    @classmethod
    def open(cls: type[P], path: str | os.PathLike[str], mode: str = "r", **options: Any) -> P:
        """Prepare a ``with`` session: ``with Run.open(path, "r+", timeout=30) as run: ...``.

        Parameters
        ----------
        path
            The file.
        mode
            ``'r'``, ``'r+'``, ``'w'`` or ``'a'``, as in h5py.
        **options
            ``timeout`` (seconds to wait for another writer, default 0), ``swmr`` (live
            readers), ``strict`` (unknown classes raise), ``registry`` (the
            :class:`~jangada_like.CodecRegistry` of every read and write of the session), and,
            for ``'w'``/``'a'``, initial property values.

        Examples
        --------
        >>> import tempfile, os
        >>> class Log(Persistable):
        ...     n = SerializableProperty(default=0)
        >>> path = os.path.join(tempfile.mkdtemp(), "log")
        >>> with Log.open(path, "w", n=3) as log:
        ...     log.n += 1
        >>> Log.load(path).n
        4
        """
        return cls(path, mode=mode, **options)

    def __enter__(self: P) -> P:
        session = self.__dict__.get("_jl_session_")
        if session is None:
            msg = f"{type(self).__qualname__} was not opened on a file: use "
            msg += f"`with {type(self).__qualname__}(path, mode='r') as obj:`"
            raise TypeError(msg)
        session.enter(self)
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        session = self.__dict__.get("_jl_session_")
        if session is not None:
            session.exit(failed=exc_type is not None)

    def flush(self) -> None:
        """Inside a ``with`` block: make everything written so far durable on disk.

        After ``flush()`` returns, a crash of this process loses nothing written before it.

        Examples
        --------
        ``with Run(path, mode="a") as run: run.data.append(row); run.flush()``
        """
        session = self.__dict__.get("_jl_session_")
        if session is None or not session.is_open:
            raise TypeError(f"{type(self).__qualname__}.flush() works only inside a `with` block")
        session.flush()

    def append(self, *, cast: bool = False, **series: Any) -> dict[str, tuple[int, ...]]:
        """Inside a ``with`` block: append to several array properties together.

        Every series is checked (shape, dtype, time zone) before anything is written, and all
        must add the same number of rows, so aligned series (timestamps and values of one
        measurement) never get different lengths.  Returns the new shapes.

        Examples
        --------
        ``with Run(path, mode="r+") as run: run.append(time=t, value=v)``
        """
        proxies = {}
        for name, values in series.items():
            proxy = getattr(self, name)
            if not isinstance(proxy, ProxyDataset):
                msg = f"{type(self).__qualname__}.{name} is not a lazy dataset: append works on "
                msg += "array properties inside a `with Cls(path, mode='r+')` block"
                raise TypeError(msg)
            proxies[name] = (proxy, *proxy._prepare_append(values, 0, cast))
        lengths = {name: prepared[0].shape[prepared[1]] for name, (_, *prepared) in proxies.items()}
        if len(set(lengths.values())) > 1:
            raise ShapeMismatchError(f"aligned series must add the same number of rows, got {lengths}")
        shapes = {name: proxy._commit_append(*prepared) for name, (proxy, *prepared) in proxies.items()}
        session = self.__dict__.get("_jl_session_")
        if session is not None and session.swmr:
            session.flush()
        return shapes

    def refresh(self, *names: str) -> int:
        """Inside a ``with`` block opened with ``mode="r", swmr=True``: read again what a SWMR
        writer may have changed of the properties named (all by default): the shapes of array
        properties, and the values of those stored as attributes (numbers, strings, times...).
        Returns the length the array properties among them have in common (0 if there is none).

        Examples
        --------
        ``with Run(path, mode="r", swmr=True) as run: n = run.refresh("time", "value")``
        """
        chosen = names or tuple(type(self).copiable_properties)
        session = self.__dict__.get("_jl_session_")
        refreshed = session.refresh_values(self, chosen) if session is not None else []
        lengths = []
        for name in chosen:
            value = getattr(self, name)
            if isinstance(value, ProxyDataset) and value.ndim > 0:
                lengths.append(value.refresh()[0])
        if not lengths and not refreshed:
            raise TypeError(f"no lazy array or attribute-stored properties among {list(chosen)}")
        return min(lengths) if lengths else 0

    def save(
        self,
        path: str | os.PathLike[str],
        overwrite: bool = True,
        use_default_extension: bool = True,
        *,
        timeout: float | None = 0,
        incremental: bool | None = None,
        durable: bool = False,
        registry: CodecRegistry | None = None,
        force: bool = False,
    ) -> Path:
        """Write the object to ``path`` atomically; return the path written.

        The extension is added only when ``path`` has none.  The file is written to a temporary
        file beside it and renamed over ``path``: a failed or killed save leaves the previous
        file byte-identical.  ``durable=True`` also waits until the new file is on the disk
        (``fsync`` of the file and its folder) before returning, so it survives a power cut or
        an operating-system crash as well; that costs the time the disk takes to write it.
        Properties with ``copiable=False`` are not saved.  If another process has ``path``
        open, the save waits up to ``timeout`` seconds for it, then raises
        :class:`~jangada_like.errors.FileLockedError` (the new data is not written).

        Saving back to the file the object was loaded from (unchanged since) is *incremental*:
        the file is cloned and only what changed is written into the clone (new or changed
        properties, the new rows of an array that grew), then renamed over the original, so it
        stays atomic.  ``incremental=False`` always writes a fresh file; ``True`` raises if an
        incremental save is not possible.

        Saving over the file this object was loaded from (or last saved to) after another process
        changed it (appended rows in ``r+``, saved) raises
        :class:`~jangada_like.errors.FileChangedError` instead of silently putting the old
        contents back; ``force=True`` overwrites it anyway.  ``registry`` is the
        :class:`~jangada_like.CodecRegistry` to write with (default: the default registry).

        Examples
        --------
        >>> import tempfile, os
        >>> class Run(Persistable):
        ...     n = SerializableProperty(default=0)
        >>> Run(n=1).save(os.path.join(tempfile.mkdtemp(), "run")).name
        'run.hdf5'
        """
        target = _with_extension(path, self.extension) if use_default_extension else Path(path)
        if target.exists() and not overwrite:
            raise FileExistsError(f"Path {target} already exists")
        if target.is_dir():
            raise IsADirectoryError(f"Path {target} is a directory")
        with use_registry(registry):
            save_file(self, target, timeout=timeout, incremental=incremental, durable=durable, force=force)
        return target

    @classmethod
    def load(
        cls: type[P],
        path: str | os.PathLike[str],
        *,
        strict: bool = False,
        timeout: float | None = 0,
        only: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
        swmr: bool = False,
        registry: CodecRegistry | None = None,
        untrusted: bool | CheckLimits = False,
    ) -> P:
        """Read a whole file; the object must be a ``cls`` (or a subclass).

        ``strict=True`` makes unknown classes inside the file raise instead of loading as
        :class:`GenericRecord`; ``timeout`` is how long to wait for a writer to finish;
        ``only`` / ``exclude`` take dotted property paths (``"child.samples"``) for a partial
        load: what is not loaded holds a :class:`~jangada_like.partial.NotLoaded` marker, and
        saving copies it from this file.  ``swmr=True`` reads a file that a writer has open with
        ``swmr=True`` without waiting for it: every array is a prefix the writer has flushed
        (series appended together may differ by the rows of the append in progress).
        ``registry`` is the :class:`~jangada_like.CodecRegistry` to read with.
        ``untrusted=True`` (or a :class:`~jangada_like.CheckLimits`) first walks the whole file
        in a child process with a time and memory limit and raises
        :class:`~jangada_like.errors.UntrustedFileError` if HDF5 hangs, crashes or runs out of
        memory on it (see ``docs/safety.rst``, "Files from strangers").

        Examples
        --------
        See the module docstring and :mod:`jangada_like.partial`.
        """
        expected = None if cls is Persistable else cls
        if untrusted is not False:
            check_untrusted(cls._existing(path), untrusted)
        with use_registry(registry):
            found = load_file(
                cls._existing(path),
                expected,
                strict=strict,
                timeout=timeout,
                only=only,
                exclude=exclude,
                swmr=swmr,
            )
        return found  # type: ignore[no-any-return]

    @classmethod
    def save_serialized_data(cls, path: str | os.PathLike[str], data: Any) -> None:
        """jangada's low-level writer: save the object tree ``data`` (a Serializable) to ``path``."""
        if not isinstance(data, Serializable):
            data = Serializable.deserialize(data)
        save_file(data, Path(path))

    @classmethod
    def load_serialized_data(cls, path: str | os.PathLike[str]) -> Any:
        """jangada's low-level reader: the file's object in :meth:`Serializable.serialize` form."""
        return Serializable.serialize(load_file(cls._existing(path), None))


def load(
    path: str | os.PathLike[str],
    *,
    strict: bool = False,
    timeout: float | None = 0,
    only: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
    swmr: bool = False,
    registry: CodecRegistry | None = None,
    untrusted: bool | CheckLimits = False,
) -> Any:
    """Load whatever object a file holds (module-level form of ``Persistable.load``).

    Examples
    --------
    >>> import tempfile, os
    >>> class Note(Persistable):
    ...     text = SerializableProperty(default="")
    >>> path = Note(text="hi").save(os.path.join(tempfile.mkdtemp(), "note"))
    >>> load(path).text
    'hi'
    >>> load(path, untrusted=True).text  # checked in a bounded child process first
    'hi'
    """
    return Persistable.load(
        path,
        strict=strict,
        timeout=timeout,
        only=only,
        exclude=exclude,
        swmr=swmr,
        registry=registry,
        untrusted=untrusted,
    )
