"""The error hierarchy of jangada_like.

Every error is a :class:`JangadaError` *and* a subclass of the builtin that jangada raised in the same
situation, so ``except TypeError`` written against jangada keeps working.  Each error carries the
file, the HDF5 path and the ``Class.property`` it concerns, and renders them in its message.

Examples
--------
>>> err = UnsupportedTypeError("no codec for <class 'object'>", file="run.hdf5", path="/root/x")
>>> isinstance(err, TypeError)
True
>>> print(err)
no codec for <class 'object'> [file 'run.hdf5', HDF5 path '/root/x']
"""

from __future__ import annotations

import os
from typing import Any

__all__ = [
    "CastingError",
    "DatasetTooLargeError",
    "ClassMismatchError",
    "FileAccessError",
    "FileChangedError",
    "FileFormatError",
    "FileLockedError",
    "FilePermissionError",
    "FormatVersionError",
    "JangadaError",
    "MissingRootError",
    "NestingTooDeepError",
    "NotAFileError",
    "ProxyClosedError",
    "ReadOnlyError",
    "ShapeMismatchError",
    "UnknownClassError",
    "UnsupportedTypeError",
    "UntrustedFileError",
    "UnknownClassWarning",
    "UnstableTagWarning",
    "RecoveredFileWarning",
    "SelectionError",
    "SessionClosedError",
    "WriteOnceError",
]


class JangadaError(Exception):
    """Base of every error raised by jangada_like.

    Parameters
    ----------
    message
        What was expected and what was found.
    file, path, prop
        The file, the HDF5 path inside it and the ``Class.property`` concerned, where known.
        The engine fills in the missing ones as the error rises.

    Examples
    --------
    >>> str(JangadaError("bad", prop="Run.t0"))
    'bad [property Run.t0]'
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | os.PathLike[str] | None = None,
        path: str | None = None,
        prop: str | None = None,
    ) -> None:
        self.message = message
        self.file = os.fspath(file) if file is not None else None
        self.path = path
        self.prop = prop
        super().__init__(message)

    def add_context(
        self, *, file: Any = None, path: str | None = None, prop: str | None = None
    ) -> JangadaError:
        """Fill in the context fields that are still unknown; return self."""
        if self.file is None and file is not None:
            self.file = os.fspath(file)
        if self.path is None and path is not None:
            self.path = path
        if self.prop is None and prop is not None:
            self.prop = prop
        return self

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(f"file '{self.file}'")
        if self.path is not None:
            path = self.path
            if len(path) > 160:  # deep trees: keep both ends
                path = f"{path[:70]}/…({path.count('/')} levels)…/{path[-70:]}"
            where.append(f"HDF5 path '{path}'")
        if self.prop is not None:
            where.append(f"property {self.prop}")
        return f"{self.message} [{', '.join(where)}]" if where else self.message

    def __reduce__(self) -> Any:
        state = {"file": self.file, "path": self.path, "prop": self.prop}
        return (_rebuild, (type(self), self.message, state))


def _rebuild(cls: type[JangadaError], message: str, state: dict[str, Any]) -> JangadaError:
    return cls(message, **state)


def add_note(exc: BaseException, note: str) -> None:
    """``exc.add_note(note)`` on Python 3.11+, the same ``__notes__`` list on 3.10."""
    if hasattr(exc, "add_note"):
        exc.add_note(note)
    else:  # pragma: no cover - Python 3.10
        notes = getattr(exc, "__notes__", None)
        if not isinstance(notes, list):
            notes = []
            exc.__notes__ = notes  # type: ignore[attr-defined]
        notes.append(note)


class UnsupportedTypeError(JangadaError, TypeError):
    """A value has no codec, or a codec cannot store this particular value.

    Examples
    --------
    >>> issubclass(UnsupportedTypeError, TypeError)
    True
    """


class FileFormatError(JangadaError, ValueError):
    """A file does not follow the jangada_like layout (broken, truncated or hostile).

    Examples
    --------
    >>> issubclass(FileFormatError, ValueError)
    True
    """


class MissingRootError(FileFormatError, KeyError):
    """The file has no ``/root`` group (jangada raised ``KeyError`` here).

    Examples
    --------
    >>> issubclass(MissingRootError, KeyError)
    True
    """

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return JangadaError.__str__(self)


class FormatVersionError(FileFormatError):
    """The file was written by a newer format (or class version) than this code knows.

    Examples
    --------
    >>> issubclass(FormatVersionError, ValueError)
    True
    """


class UnknownClassError(FileFormatError):
    """A file names a class that is not registered (raised with ``strict=True``).

    Examples
    --------
    >>> issubclass(UnknownClassError, ValueError)
    True
    """


class UntrustedFileError(FileFormatError):
    """A file from an untrusted source failed the check run before loading it
    (``load(path, untrusted=True)``, ``python -m jangada_like check``).

    ``reason`` says how: ``"timeout"`` (HDF5 hung past the time limit), ``"signal"`` (the check
    process was killed, e.g. by SIGSEGV), ``"memory"`` (it needed more than the memory limit),
    ``"refused"`` (the file reaches other files) or ``"error"`` (HDF5 could not read it).

    Examples
    --------
    >>> err = UntrustedFileError("hung", reason="timeout", file="x.hdf5")
    >>> isinstance(err, ValueError), err.reason
    (True, 'timeout')
    """

    def __init__(self, message: str, *, reason: str = "error", **context: Any) -> None:
        self.reason = reason
        super().__init__(message, **context)

    def __reduce__(self) -> Any:
        state = {"file": self.file, "path": self.path, "prop": self.prop, "reason": self.reason}
        return (_rebuild, (type(self), self.message, state))


class ClassMismatchError(JangadaError, TypeError):
    """``Cls.load`` found an object of another class in the file.

    Examples
    --------
    >>> issubclass(ClassMismatchError, TypeError)
    True
    """


class DatasetTooLargeError(JangadaError, ValueError):
    """A dataset is too large to read into memory at once (read it lazily instead).

    Examples
    --------
    >>> issubclass(DatasetTooLargeError, ValueError)
    True
    """


class NestingTooDeepError(JangadaError, ValueError):
    """An object tree is nested deeper than :data:`jangada_like.MAX_DEPTH`.

    Examples
    --------
    >>> issubclass(NestingTooDeepError, ValueError)
    True
    """


class ProxyClosedError(JangadaError, ValueError):
    """A :class:`ProxyDataset` was used after its file was closed.

    Examples
    --------
    >>> issubclass(ProxyClosedError, ValueError)
    True
    """


class SessionClosedError(ProxyClosedError):
    """An object of a ``with Cls(path, mode=...)`` session was used outside its block: before
    ``__enter__`` (nothing is read yet) or, for values not read inside it, after ``__exit__``
    (like I/O on a closed file, a ``ValueError``).

    Examples
    --------
    >>> issubclass(SessionClosedError, ValueError), issubclass(SessionClosedError, ProxyClosedError)
    (True, True)
    """


class SelectionError(JangadaError, ValueError):
    """``only=`` or ``exclude=`` of a partial load names a property the object does not have.

    Examples
    --------
    >>> issubclass(SelectionError, ValueError)
    True
    """


class ReadOnlyError(JangadaError, PermissionError):
    """A write was attempted on an object or dataset opened read-only.

    Examples
    --------
    >>> issubclass(ReadOnlyError, PermissionError)
    True
    """


class ShapeMismatchError(JangadaError, ValueError):
    """Data does not fit the shape of the dataset it is written to.

    Examples
    --------
    >>> issubclass(ShapeMismatchError, ValueError)
    True
    """


class CastingError(JangadaError, TypeError):
    """Writing data would lose information (e.g. 1.7 into an int dataset) and ``cast`` is off.

    Examples
    --------
    >>> issubclass(CastingError, TypeError)
    True
    """


class FileLockedError(JangadaError, TimeoutError):
    """Another writer held the file longer than the ``timeout`` allowed.

    Examples
    --------
    >>> issubclass(FileLockedError, TimeoutError)
    True
    """


class FileAccessError(JangadaError, OSError):
    """The operating system refused the file: disk full, file size limit, I/O error, permission,
    or no regular file at the path.  ``errno`` is set where the system gave one; the file itself
    was not found broken (that is :class:`FileFormatError`).

    Examples
    --------
    >>> import errno
    >>> err = FileAccessError("no space left", file="run.hdf5", errno=errno.ENOSPC)
    >>> isinstance(err, OSError), err.errno == errno.ENOSPC
    (True, True)
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | os.PathLike[str] | None = None,
        path: str | None = None,
        prop: str | None = None,
        errno: int | None = None,
    ) -> None:
        super().__init__(message, file=file, path=path, prop=prop)
        self.errno = errno
        self.filename = self.file

    def __reduce__(self) -> Any:
        state = {"file": self.file, "path": self.path, "prop": self.prop, "errno": self.errno}
        return (_rebuild, (type(self), self.message, state))


class NotAFileError(FileAccessError, FileNotFoundError):
    """No regular file at the path: it is missing, or a directory, FIFO, device or socket
    (jangada raised ``FileNotFoundError`` here).

    Examples
    --------
    >>> issubclass(NotAFileError, FileNotFoundError)
    True
    """


class FilePermissionError(FileAccessError, PermissionError):
    """The operating system denied access to the file or its folder.

    Examples
    --------
    >>> issubclass(FilePermissionError, PermissionError)
    True
    """


class WriteOnceError(JangadaError, AttributeError):
    """A write-once property was set a second time.

    Examples
    --------
    >>> issubclass(WriteOnceError, AttributeError)
    True
    """


class FileChangedError(JangadaError, RuntimeError):
    """A save would overwrite a file that changed since the object was loaded from it (or last
    saved to it): another process appended or saved meanwhile, and that work would be lost.

    Examples
    --------
    >>> issubclass(FileChangedError, RuntimeError)
    True
    """


class UnknownClassWarning(UserWarning):
    """A file names a class that is not registered; a read-only record was returned."""


class UnstableTagWarning(UserWarning):
    """A class defined in a script (``__main__``) was saved: its files name it ``__main__.Cls``;
    give the class ``tag=`` so they keep loading once it moves into a module."""


class RecoveredFileWarning(UserWarning):
    """A file left open by a crashed writer was recovered on open."""
