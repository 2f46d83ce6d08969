"""Open many broken files (hand-built, truncated, bit-flipped) and count how each open ended.

    python -m tools.fuzz --cases 2000

Each file is loaded (``load``) and opened lazily (``with GoldenRun(path, mode) as run`` for modes
``r`` and ``r+``, reading every property, every array through its proxy and every nested object).
Each attempt runs in a forked child with a time limit, so a crash or a hang is counted, not fatal.
Outcomes: ``error`` (an error of the library's hierarchy naming the file), ``equal`` (the file still
held the original object), ``different`` (it loaded, but to another value: a flipped bit in raw
data, which HDF5 does not checksum), ``read`` (a session opened and read everything), ``escaped``
(another exception, or a library error without the file's name: a bug), ``crash``, ``hang``.
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import sys
import tempfile
import traceback
import warnings
from pathlib import Path
from typing import Any

OUTCOMES = ("error", "equal", "different", "escaped", "crash", "hang", "read")
#: how a file is opened: eagerly, or lazily in a session of that mode
WAYS = ("load", "r", "r+")
#: ``--check`` adds this way: ``load(path, untrusted=...)``, the file walked in a bounded child first
CHECKED = "checked"


def touch(value: Any, seen: set[int] | None = None, depth: int = 0) -> None:
    """Read everything reachable from ``value`` as a user would: each property of each object,
    each array through its proxy (shape, dtype, all of it), each member of each container."""
    from jangada_like import ProxyDataset, Serializable

    seen = set() if seen is None else seen
    if id(value) in seen or depth > 50:
        return
    seen.add(id(value))
    if isinstance(value, ProxyDataset):
        _ = value.shape, value.dtype, len(value) if value.ndim else None
        value[:10] if value.size > 10**6 else value[()]  # a file may declare 10**18 rows
    elif isinstance(value, Serializable):
        for name in type(value)._serializable_properties:
            touch(getattr(value, name), seen, depth + 1)
    elif isinstance(value, dict):
        for item in value.values():
            touch(item, seen, depth + 1)
    elif isinstance(value, (list, tuple)):
        for item in value:
            touch(item, seen, depth + 1)


def attempt(path: Path, way: str, timeout: int = 30) -> int:
    """Open ``path`` one ``way`` in this process; return the outcome's index in OUTCOMES."""
    from jangada_like import CheckLimits, load
    from jangada_like.errors import JangadaError
    from tests.golden import GoldenRun, golden_run

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if way == "load":
                return 1 if load(path) == golden_run() else 2
            if way == CHECKED:
                return 1 if load(path, untrusted=CheckLimits(timeout=timeout / 2)) == golden_run() else 2
            with GoldenRun(path, mode=way) as run:
                touch(run)
            return 6
    except JangadaError as exc:
        if str(path) in str(exc):
            return 0
        if os.environ.get("FUZZ_VERBOSE"):
            traceback.print_exc()
        return 3
    except BaseException:
        if os.environ.get("FUZZ_VERBOSE"):
            traceback.print_exc()
        return 3


def _outcome_in_child(path: Path, timeout: int, way: str = "load") -> str:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # child
        code = 4
        try:
            signal.alarm(timeout)
            code = attempt(path, way, timeout)
        finally:
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return "hang" if os.WTERMSIG(status) == signal.SIGALRM else "crash"
    code = os.WEXITSTATUS(status)
    return OUTCOMES[code] if code < len(OUTCOMES) and code != 4 else "escaped"


def _tally(target: Path, timeout: int, ways: tuple[str, ...], counters: dict[str, Any]) -> None:
    for way in ways:
        counters[way][_outcome_in_child(target, timeout, way)] += 1


def run(
    cases: int, seed: int, timeout: int = 30, ways: tuple[str, ...] = WAYS, hand_built: bool = True
) -> dict[str, collections.Counter[str]]:
    """Tally the outcomes per kind of file and way of opening it (``"truncated r+"`` ...);
    ``hand_built``: also the corpus of ``tests/hostile.py`` (its deep nesting takes 15 s a way)."""
    from tests import hostile

    results: dict[str, collections.Counter[str]] = {}
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        data = hostile.valid_file(base / "valid.hdf5")
        target = base / "case.hdf5"
        hand = {way: collections.Counter[str]() for way in ways}
        for name, maker in hostile.HAND_BUILT.items() if hand_built else ():
            for way in ways:
                if target.exists():
                    target.unlink()
                maker(target)
                hand[way][_outcome_in_child(target, timeout, way)] += 1
            print(f"  hand-built {name}: done", flush=True)
        if hand_built:
            results.update({f"hand-built {way}": c for way, c in hand.items()})
        share = max(cases // 2, 1)
        for label, stream in (
            ("truncated", hostile.truncations(data, share, seed)),
            ("bit-flipped", hostile.bit_flips(data, share, seed, flips=4)),
        ):
            counters = {way: collections.Counter[str]() for way in ways}
            for mutated in stream:
                for way in ways:  # r+ may change the file: a fresh copy for each way
                    _tally(hostile.write(target, mutated), timeout, (way,), counters)
            results.update({f"{label} {way}": c for way, c in counters.items()})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ways", nargs="+", default=list(WAYS), choices=(*WAYS, CHECKED))
    parser.add_argument("--check", action="store_true", help="also load with untrusted=True (checked first)")
    args = parser.parse_args()
    ways = (*args.ways, CHECKED) if args.check and CHECKED not in args.ways else tuple(args.ways)
    results = run(args.cases, args.seed, ways=ways)
    for label, counter in results.items():
        tried = sum(counter.values())
        print(f"{label:16s} tried {tried:5d}: " + ", ".join(f"{k} {counter.get(k, 0)}" for k in OUTCOMES))


if __name__ == "__main__":
    main()
