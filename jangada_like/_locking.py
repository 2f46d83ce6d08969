"""Advisory locks on the data file itself, so writers wait for each other instead of failing.

HDF5's own lock makes a second writer fail at once.  jangada_like opens files with HDF5 locking off
and takes ``flock`` on the same file instead: an exclusive lock for writers, a shared one for
readers, polled until ``timeout``.  The kernel drops a flock when its process dies, so a crashed
writer never blocks anyone.  Plain h5py (which uses flock too) is excluded the same way.
"""

from __future__ import annotations

import errno
import fcntl
import numbers
import os
import re
import stat
import time
from pathlib import Path
from typing import Any

from .errors import FileAccessError, FileFormatError, FileLockedError, FilePermissionError, NotAFileError

__all__ = ["FileLock", "access_error", "check_regular", "file_error", "lock_holders"]

_POLL_START = 0.005
_POLL_MAX = 0.2
# O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever (no effect on
# regular files, and the descriptor is only ever used for flock)
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_EXCLUSIVE = fcntl.LOCK_EX | fcntl.LOCK_NB
_SHARED = fcntl.LOCK_SH | fcntl.LOCK_NB
_BUSY = (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK)


def check_timeout(timeout: Any, path: str | os.PathLike[str] | None = None) -> float | None:
    """``timeout`` if it is ``None`` or a number of seconds >= 0, else a ``TypeError`` /
    ``ValueError`` saying what is expected, raised at once (not only when the file happens to be
    locked and the value is first used).

    Examples
    --------
    >>> check_timeout(2), check_timeout(None)
    (2, None)
    >>> check_timeout("10")
    Traceback (most recent call last):
    ...
    TypeError: timeout= must be a number of seconds (or None to wait forever), got '10' (str)
    """
    where = f" (file {os.fspath(path)!r})" if path is not None else ""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
        msg = f"timeout= must be a number of seconds (or None to wait forever), got {timeout!r} "
        msg += f"({type(timeout).__name__}){where}"
        raise TypeError(msg)
    seconds = float(timeout)
    if not seconds >= 0:  # NaN too
        raise ValueError(f"timeout= must be >= 0 seconds (or None to wait forever), got {timeout!r}{where}")
    return timeout  # type: ignore[return-value]  # as given: an int stays an int in messages


class FileLock:
    """A flock on ``path``: ``exclusive`` for writers, shared for readers.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "x.hdf5")
    >>> open(path, "wb").close()
    >>> with FileLock(path, exclusive=True, timeout=0):
    ...     pass
    """

    def __init__(self, path: str | os.PathLike[str], *, exclusive: bool, timeout: float | None) -> None:
        self.path = os.fspath(path)
        self.exclusive = exclusive
        self.timeout = check_timeout(timeout, self.path)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, polling until ``timeout`` seconds (``None``: wait forever).

        The lock belongs to the path, not to one inode: a save renames a new file over the path,
        so a lock taken on the file it replaced is dropped and taken again on the new one.
        Raises :class:`NotAFileError` when the path holds no regular file (a FIFO would make
        every open wait forever), :class:`FileAccessError` when the system refuses it."""
        fd, held = self._open()
        op = _EXCLUSIVE if self.exclusive else _SHARED
        deadline: float | None = None  # counted from the first refusal: no clock read when free
        delay = _POLL_START
        try:
            while True:
                try:
                    fcntl.flock(fd, op)
                except OSError as exc:
                    if exc.errno not in _BUSY:
                        raise access_error(exc, self.path, "lock") from None
                else:
                    if self._names(held):
                        self._fd = fd
                        return
                    os.close(fd)  # renamed over while we waited: that file is no one's now
                    fd = -1
                    fd, held = self._open()
                    continue
                if self.timeout is not None:
                    now = time.monotonic()
                    deadline = now + self.timeout if deadline is None else deadline
                    if now >= deadline:
                        raise self._timeout_error()
                time.sleep(delay if deadline is None else min(delay, max(0.0, deadline - time.monotonic())))
                delay = min(delay * 2, _POLL_MAX)
        except BaseException:
            if fd >= 0:
                os.close(fd)
            raise

    def _open(self) -> tuple[int, os.stat_result]:
        """A descriptor of the file at the path (to lock) and its ``fstat``."""
        try:
            fd = os.open(self.path, _OPEN_FLAGS)
        except OSError as exc:
            try:  # a socket cannot be opened: say what it is
                st = os.stat(self.path)
            except OSError:
                st = None
            if st is not None:
                check_regular(st, self.path)
            raise access_error(exc, self.path, "open") from None
        try:
            held = os.fstat(fd)
            check_regular(held, self.path)
        except BaseException:
            os.close(fd)
            raise
        return fd, held

    def _names(self, held: os.stat_result) -> bool:
        """Whether the path still names the file whose lock was just taken."""
        try:
            now = os.stat(self.path)
        except FileNotFoundError:
            return False  # removed: the next open says so
        except OSError as exc:
            raise access_error(exc, self.path, "open") from None
        return now.st_ino == held.st_ino and now.st_dev == held.st_dev

    def _timeout_error(self) -> FileLockedError:
        holders = lock_holders(self.path)
        who = f" (held by process {', '.join(map(str, holders))})" if holders else ""
        kind = "write" if self.exclusive else "read"
        if holders == [os.getpid()]:
            msg = f"could not get the {kind} lock within {self.timeout} s: this process holds the "
            msg += "file, in a `with` block still open (or a session not closed): use the object of "
            msg += "that block, or open this one after the block ends"
            return FileLockedError(msg, file=self.path)
        msg = f"could not get the {kind} lock within {self.timeout} s{who}: another process "
        if self.exclusive:
            msg += "has the file open; pass a larger timeout= to wait longer"
        else:  # only a writer blocks a reader: tell the way to read while it writes
            msg += "is writing the file; pass a larger timeout= to wait until it closes the file, "
            msg += "or read it live: the writer opens it with `Cls(path, mode='r+', swmr=True)` "
            msg += "and readers use `Cls.load(path, swmr=True)` or "
            msg += "`with Cls(path, mode='r', swmr=True) as obj:` (see docs/lazy.rst)"
        return FileLockedError(msg, file=self.path)

    def release(self) -> None:
        """Drop the lock (idempotent)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def check_regular(st: os.stat_result, path: str | os.PathLike[str]) -> None:
    """Raise :class:`NotAFileError` unless ``st`` (of ``path``, symlinks followed) is a regular file.

    Examples
    --------
    >>> import os
    >>> try:
    ...     check_regular(os.stat("/dev/null"), "/dev/null")
    ... except NotAFileError as exc:
    ...     print(exc.message[:48])
    '/dev/null' is a character device, not a regular
    """
    if not stat.S_ISREG(st.st_mode):
        kind = _KINDS.get(stat.S_IFMT(st.st_mode), "not a regular file")
        msg = f"'{os.fspath(path)}' is {kind}, not a regular file: jangada_like reads and writes "
        msg += "regular files only; give the path of an HDF5 file"
        raise NotAFileError(msg, file=path, errno=errno.EISDIR if stat.S_ISDIR(st.st_mode) else None)


_ERRNO = re.compile(r"errno = (\d+)")
_MISSING = (errno.ENOENT, errno.ENOTDIR, errno.ENXIO, errno.ENODEV)
_DENIED = (errno.EACCES, errno.EPERM, errno.EROFS)
_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)


def system_errno(exc: BaseException) -> int | None:
    """The system's error number behind ``exc``: its ``errno``, or the one HDF5 quotes in its
    message (``errno = 28``); ``None`` when the system did not refuse anything."""
    code = getattr(exc, "errno", None)
    if isinstance(code, int) and code > 0:
        return code
    found = _ERRNO.search(str(exc))
    return int(found.group(1)) if found and int(found.group(1)) > 0 else None


def access_error(exc: BaseException, path: str | os.PathLike[str], action: str) -> FileAccessError:
    """The library error for an operating-system failure ``exc`` while ``action``-ing ``path``:
    :class:`NotAFileError`, :class:`FilePermissionError` or :class:`FileAccessError`.

    Examples
    --------
    >>> err = access_error(OSError(28, "No space left on device"), "run.hdf5", "write")
    >>> type(err).__name__, err.errno
    ('FileAccessError', 28)
    """
    code = system_errno(exc)
    name = os.fspath(path)
    said = exc.strerror if isinstance(exc, OSError) else None
    if code is None:
        reason = f"{type(exc).__name__}: {exc}"
    elif said and "errno = " not in said:  # the caller's own words (HDF5's quote a whole stack)
        reason = said
    else:
        reason = os.strerror(code)
    if code in _MISSING:
        msg = f"Path {name} does not exist ({reason}): check the path"
        folder = os.path.dirname(os.path.abspath(name))
        if not os.path.isdir(folder):
            msg += f"; its folder {folder} does not exist: create it first "
            msg += f"(os.makedirs({folder!r}, exist_ok=True))"
        return NotAFileError(msg, file=name, errno=code)
    if code in _DENIED:
        msg = f"cannot {action} '{name}': {reason}: check the permissions of the file and its folder"
        return FilePermissionError(msg, file=name, errno=code)
    if code in _FULL:
        msg = f"cannot {action} '{name}': {reason} (the disk is full or the file size limit is "
        msg += "reached): free space (or raise the limit) and try again"
        return FileAccessError(msg, file=name, errno=code)
    return FileAccessError(f"cannot {action} '{name}': {reason}", file=name, errno=code)


def file_error(exc: BaseException, path: str | os.PathLike[str], where: str | None, action: str) -> Exception:
    """The library error for what HDF5 raised while ``action``-ing ``path`` (at HDF5 path
    ``where``): :func:`access_error` when the system refused, else :class:`FileFormatError`
    (the file is broken: a bad checksum, a bad object header, ...).

    Examples
    --------
    >>> err = file_error(OSError("incorrect metadata checksum"), "run.hdf5", "/root/x", "read")
    >>> type(err).__name__, err.path
    ('FileFormatError', '/root/x')
    """
    if system_errno(exc) is not None:
        return access_error(exc, path, action).add_context(path=where)
    msg = f"cannot {action} the file: {type(exc).__name__}: {exc}"
    return FileFormatError(msg, file=path, path=where)


def lock_holders(path: str | os.PathLike[str]) -> list[int]:
    """PIDs holding a flock on ``path``, read from ``/proc/locks`` (empty where unknown).

    Examples
    --------
    >>> lock_holders("/nonexistent")
    []
    """
    try:
        st = os.stat(path)
        text = Path("/proc/locks").read_text()
    except OSError:
        return []
    inode_key = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    pids = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) > 5 and fields[5] == inode_key and fields[1] == "FLOCK":
            try:
                pids.append(int(fields[4]))
            except ValueError:
                continue
    return sorted(set(pids) - {os.getpid()}) or sorted(set(pids))
