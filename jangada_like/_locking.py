"""Advisory locks on the data file itself, so writers wait for each other instead of failing.

HDF5's own lock makes a second writer fail at once.  jangada_like opens files with HDF5 locking off
and takes ``flock`` on the same file instead: an exclusive lock for writers, a shared one for
readers, polled until ``timeout``.  The kernel drops a flock when its process dies, so a crashed
writer never blocks anyone.  Plain h5py (which uses flock too) is excluded the same way.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from pathlib import Path

from .errors import FileLockedError

__all__ = ["FileLock", "lock_holders"]

_POLL_START = 0.005
_POLL_MAX = 0.2
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
_EXCLUSIVE = fcntl.LOCK_EX | fcntl.LOCK_NB
_SHARED = fcntl.LOCK_SH | fcntl.LOCK_NB
_BUSY = (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK)


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
        self.timeout = timeout
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, polling until ``timeout`` seconds (``None``: wait forever)."""
        fd = os.open(self.path, _OPEN_FLAGS)
        op = _EXCLUSIVE if self.exclusive else _SHARED
        deadline: float | None = None  # counted from the first refusal: no clock read when free
        delay = _POLL_START
        try:
            while True:
                try:
                    fcntl.flock(fd, op)
                    self._fd = fd
                    return
                except OSError as exc:
                    if exc.errno not in _BUSY:
                        raise
                if self.timeout is not None:
                    now = time.monotonic()
                    deadline = now + self.timeout if deadline is None else deadline
                    if now >= deadline:
                        raise self._timeout_error()
                time.sleep(delay if deadline is None else min(delay, max(0.0, deadline - time.monotonic())))
                delay = min(delay * 2, _POLL_MAX)
        except BaseException:
            os.close(fd)
            raise

    def _timeout_error(self) -> FileLockedError:
        holders = lock_holders(self.path)
        who = f" (held by process {', '.join(map(str, holders))})" if holders else ""
        kind = "write" if self.exclusive else "read"
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
