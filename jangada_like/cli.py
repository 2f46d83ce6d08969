"""The command line, a thin face over the library: ``python -m jangada_like tree FILE``.

``python -m jangada_like check FILE [FILE...]`` checks files from untrusted sources in a bounded
child process (see :func:`jangada_like.check_file`): one verdict per file, exit status 1 if any
failed.  ``python -m jangada_like compact FILE [FILE...]`` rewrites files without the space
that values replaced in ``r+`` sessions left (see :func:`jangada_like.compact`).

Examples
--------
>>> import numpy as np, tempfile, os
>>> from jangada_like import Persistable, SerializableProperty
>>> class Box(Persistable):
...     x = SerializableProperty(default=None)
>>> path = Box(x=np.arange(4)).save(os.path.join(tempfile.mkdtemp(), "box"))
>>> print(tree(path))  # doctest: +ELLIPSIS
box.hdf5  (jangada_like format 2, ...)
└── root  [Box]
    └── x  dataset int64 (4,)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import h5py
import numpy as np

from ._fileio import compact
from ._untrusted import DEFAULT_MEMORY, DEFAULT_TIMEOUT, CheckLimits, check_file
from .errors import UntrustedFileError
from .format import CLASS_ATTR, CONTAINER_ATTR, DATASET_ATTR, FORMAT_ATTR, LIBRARY_ATTR

__all__ = ["check", "main", "tree"]

_MAX_ITEMS = 12


def tree(path: str | os.PathLike[str], *, max_items: int = _MAX_ITEMS) -> str:
    """Render the HDF5 tree of a file: groups with their type tags, datasets, attributes.

    Only metadata is read; at most ``max_items`` members per group are listed.
    """
    with h5py.File(path, "r", locking=False) as f:
        fmt = f.attrs.get(FORMAT_ATTR, "?")
        lib = f.attrs.get(LIBRARY_ATTR, "?")
        lines = [f"{os.path.basename(os.fspath(path))}  (jangada_like format {fmt}, written by {lib})"]
        _walk(f, "", lines, max_items, set())
    return "\n".join(lines)


def _label(name: str, node: h5py.HLObject) -> str:
    if isinstance(node, h5py.Dataset):
        tag = node.attrs.get(DATASET_ATTR, "")
        extra = f"  <{tag}>" if tag and tag != "numpy.ndarray" else ""
        return f"{name}  dataset {node.dtype} {node.shape}{extra}"
    if CLASS_ATTR in node.attrs:
        return f"{name}  [{str(node.attrs[CLASS_ATTR]).rsplit('.', 1)[-1]}]"
    return f"{name}  <{node.attrs.get(CONTAINER_ATTR, 'group')}>"


def _walk(group: h5py.Group, prefix: str, lines: list[str], max_items: int, seen: set[object]) -> None:
    attrs = [
        (k, v)
        for k, v in group.attrs.items()
        if not k.startswith("__") and k not in (FORMAT_ATTR, LIBRARY_ATTR)
    ]
    members = list(group.keys())
    entries: list[tuple[str, object]] = [("@" + k, v) for k, v in attrs] + [(m, None) for m in members]
    shown = entries[:max_items]
    for i, (name, value) in enumerate(shown):
        last = i == len(shown) - 1 and len(entries) <= max_items
        branch, pad = ("└── ", "    ") if last else ("├── ", "│   ")
        if name.startswith("@"):
            if isinstance(value, np.ndarray):
                text = np.array2string(value, threshold=6)
            elif isinstance(value, h5py.Empty):
                text = "None"
            else:
                text = repr(value.item() if isinstance(value, np.generic) else value)
            lines.append(f"{prefix}{branch}{name} = {text[:60]}")
            continue
        node = group.get(name)
        if node is None:
            lines.append(f"{prefix}{branch}{name}  (dangling link)")
            continue
        lines.append(prefix + branch + _label(name, node))
        if isinstance(node, h5py.Group):
            key = node.id
            if key in seen:
                lines[-1] += "  (hard link, shown above)"
                continue
            seen.add(key)
            _walk(node, prefix + pad, lines, max_items, seen)
    if len(entries) > max_items:
        lines.append(f"{prefix}└── … {len(entries) - max_items} more")


def check(paths: Sequence[str | os.PathLike[str]], limits: CheckLimits | None = None) -> tuple[bool, str]:
    """Check each file as :func:`~jangada_like.check_file` does; ``(all passed, one line per file)``.

    Examples
    --------
    >>> import tempfile, os, h5py
    >>> path = os.path.join(tempfile.mkdtemp(), "a.h5")
    >>> with h5py.File(path, "w") as f:
    ...     f["x"] = [1, 2, 3]
    >>> passed, text = check([path, path + ".missing"])
    >>> passed
    False
    >>> print(text.replace(path, "a.h5"))  # doctest: +ELLIPSIS
    ok      a.h5: 1 groups, 1 datasets, 0 attributes, 0 links, 24 bytes of values read
    FAILED  a.h5.missing: Path a.h5.missing does not exist
    """
    lines, passed = [], True
    for path in paths:
        try:
            r = check_file(path, limits)
        except (UntrustedFileError, OSError) as exc:
            passed = False
            lines.append(f"FAILED  {os.fspath(path)}: {exc}")
            continue
        counts = f"{r.groups} groups, {r.datasets} datasets, {r.attributes} attributes, {r.links} links"
        lines.append(f"ok      {r.file}: {counts}, {r.bytes_read} bytes of values read")
    return passed, "\n".join(lines)


def _bytes(text: str) -> int:
    """``"512M"``, ``"2G"``, ``"1073741824"``: a number of bytes."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    plain = text.strip().upper().removesuffix("B").removesuffix("I")
    scale = units.get(plain[-1:], 1)
    try:
        return int(float(plain[:-1] if plain[-1:] in units else plain) * scale)
    except ValueError:
        msg = f"expected a number of bytes like 512M or 2G, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m jangada_like``."""
    parser = argparse.ArgumentParser(prog="jangada_like", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    show = sub.add_parser("tree", help="print the tree of a file")
    show.add_argument("file")
    show.add_argument("--max-items", type=int, default=_MAX_ITEMS)
    verify = sub.add_parser(
        "check", help="check files from untrusted sources in a bounded child process before opening them"
    )
    verify.add_argument("files", nargs="+", metavar="FILE")
    verify.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds per file")
    verify.add_argument("--memory", type=_bytes, default=DEFAULT_MEMORY, help="bytes, e.g. 512M or 2G")
    squeeze = sub.add_parser("compact", help="rewrite files without the space replaced values left")
    squeeze.add_argument("files", nargs="+", metavar="FILE")
    squeeze.add_argument("--timeout", type=float, default=0, help="seconds to wait for a writer")
    args = parser.parse_args(argv)
    if args.command == "compact":
        status = 0
        for name in args.files:
            try:
                before, after = compact(name, timeout=args.timeout)
            except OSError as exc:  # the library's errors of files are OSErrors too
                print(f"FAILED  {name}: {exc}", file=sys.stderr)
                status = 1
            else:
                print(f"ok      {name}: {before:,} -> {after:,} bytes")
        return status
    if args.command == "check":
        try:
            limits = CheckLimits(timeout=args.timeout, memory=args.memory)
        except ValueError as exc:
            parser.error(str(exc))
        passed, text = check(args.files, limits)
        print(text)
        return 0 if passed else 1
    try:
        print(tree(args.file, max_items=args.max_items))
    except OSError as exc:
        print(f"jangada_like: {exc}", file=sys.stderr)
        return 1
    return 0
