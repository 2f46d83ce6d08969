"""Reopen files left marked "open for write" by a writer that crashed (what ``h5clear -s`` does).

Files in the HDF5 1.10 format carry consistency flags in their superblock (version 2 or 3): a
writer sets them on open and clears them on close.  A writer killed in between leaves them set, and
HDF5 then refuses the file.  jangada_like clears them itself, only while it holds the file's
exclusive lock (so no live writer exists), recomputes the superblock checksum (Jenkins lookup3, as
HDF5 does) and warns with :class:`RecoveredFileWarning`.
"""

from __future__ import annotations

import os
import warnings

from .errors import RecoveredFileWarning

__all__ = ["clear_status_flags", "lookup3", "status_flags"]

_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_M = 0xFFFFFFFF


def _rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & _M


def lookup3(data: bytes, initval: int = 0) -> int:
    """Bob Jenkins' lookup3 ``hashlittle``, HDF5's metadata checksum.

    Examples
    --------
    >>> hex(lookup3(b""))
    '0xdeadbeef'
    >>> hex(lookup3(b"Four score and seven years ago"))
    '0x17770551'
    """
    length = len(data)
    a = b = c = (0xDEADBEEF + length + initval) & _M
    i = 0
    while length - i > 12:
        a = (a + int.from_bytes(data[i : i + 4], "little")) & _M
        b = (b + int.from_bytes(data[i + 4 : i + 8], "little")) & _M
        c = (c + int.from_bytes(data[i + 8 : i + 12], "little")) & _M
        a, b, c = _mix(a, b, c)
        i += 12
    if length - i == 0:
        return c
    tail = data[i:].ljust(12, b"\x00")
    a = (a + int.from_bytes(tail[0:4], "little")) & _M
    b = (b + int.from_bytes(tail[4:8], "little")) & _M
    c = (c + int.from_bytes(tail[8:12], "little")) & _M
    return _final(a, b, c)


def _mix(a: int, b: int, c: int) -> tuple[int, int, int]:
    a = ((a - c) & _M) ^ _rot(c, 4)
    c = (c + b) & _M
    b = ((b - a) & _M) ^ _rot(a, 6)
    a = (a + c) & _M
    c = ((c - b) & _M) ^ _rot(b, 8)
    b = (b + a) & _M
    a = ((a - c) & _M) ^ _rot(c, 16)
    c = (c + b) & _M
    b = ((b - a) & _M) ^ _rot(a, 19)
    a = (a + c) & _M
    c = ((c - b) & _M) ^ _rot(b, 4)
    b = (b + a) & _M
    return a, b, c


def _final(a: int, b: int, c: int) -> int:
    c = ((c ^ b) - _rot(b, 14)) & _M
    a = ((a ^ c) - _rot(c, 11)) & _M
    b = ((b ^ a) - _rot(a, 25)) & _M
    c = ((c ^ b) - _rot(b, 16)) & _M
    a = ((a ^ c) - _rot(c, 4)) & _M
    b = ((b ^ a) - _rot(a, 14)) & _M
    c = ((c ^ b) - _rot(b, 24)) & _M
    return c


def _find_superblock(fd: int) -> int | None:
    size = os.fstat(fd).st_size
    offset = 0
    while offset + 8 <= size:
        if os.pread(fd, 8, offset) == _SIGNATURE:
            return offset
        offset = 512 if offset == 0 else offset * 2
    return None


def status_flags(path: str | os.PathLike[str]) -> int | None:
    """The consistency flags of a version 2/3 superblock, or ``None`` for other files."""
    fd = os.open(path, os.O_RDONLY)
    try:
        base = _find_superblock(fd)
        if base is None:
            return None
        head = os.pread(fd, 12, base)
        return head[11] if len(head) == 12 and head[8] in (2, 3) else None
    finally:
        os.close(fd)


def clear_status_flags(path: str | os.PathLike[str]) -> bool:
    """Clear the flags and fix the checksum; return whether anything was changed.

    Call only while holding the file's exclusive lock.
    """
    fd = os.open(path, os.O_RDWR)
    try:
        base = _find_superblock(fd)
        if base is None:
            return False
        head = os.pread(fd, 12, base)
        if len(head) < 12 or head[8] not in (2, 3) or head[11] == 0:
            return False
        body_len = 12 + 4 * head[9]  # signature .. root object header address
        body = bytearray(os.pread(fd, body_len + 4, base))
        if len(body) < body_len + 4:
            return False
        if int.from_bytes(body[body_len:], "little") != lookup3(bytes(body[:body_len])):
            return False  # not a superblock we understand: leave the file alone
        body[11] = 0
        body[body_len:] = lookup3(bytes(body[:body_len])).to_bytes(4, "little")
        os.pwrite(fd, bytes(body), base)
        os.fsync(fd)
        return True
    finally:
        os.close(fd)


def recover(path: str | os.PathLike[str]) -> bool:
    """Clear stale flags left by a crashed writer, with a warning; return whether it did."""
    if not clear_status_flags(path):
        return False
    msg = f"{os.fspath(path)} was left open for writing by a process that ended without closing "
    msg += "it; its consistency flags were cleared (as `h5clear -s` would). Data appended after "
    msg += "the last flush() of that process may be missing."
    warnings.warn(msg, RecoveredFileWarning, stacklevel=3)
    return True
