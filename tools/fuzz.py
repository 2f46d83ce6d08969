"""Load many broken files (hand-built, truncated, bit-flipped) and count how each load ended.

    python -m tools.fuzz --cases 2000

Each load runs in a forked child with a time limit, so a crash or a hang is counted, not fatal.
Outcomes: ``error`` (an error of the library's hierarchy naming the file), ``equal`` (the file still
held the original object), ``different`` (it loaded, but to another value: a flipped bit in raw
data, which HDF5 does not checksum), ``escaped`` (another exception: a bug), ``crash``, ``hang``.
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import tempfile
import warnings
from pathlib import Path

OUTCOMES = ("error", "equal", "different", "escaped", "crash", "hang")


def _outcome_in_child(path: Path, timeout: int, untrusted: bool = False) -> str:
    pid = os.fork()
    if pid == 0:  # child
        code = 4
        try:
            signal.alarm(timeout)
            from jangada_like import CheckLimits, load
            from jangada_like.errors import JangadaError
            from tests.golden import golden_run

            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    obj = load(path, untrusted=CheckLimits(timeout=timeout / 2) if untrusted else False)
                code = 1 if obj == golden_run() else 2
            except JangadaError as exc:
                code = 0 if str(path) in str(exc) else 3
            except BaseException:
                code = 3
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return "hang" if os.WTERMSIG(status) == signal.SIGALRM else "crash"
    return OUTCOMES[os.WEXITSTATUS(status)] if os.WEXITSTATUS(status) < 4 else "escaped"


def run(
    cases: int, seed: int, timeout: int = 30, untrusted: bool = False
) -> dict[str, collections.Counter[str]]:
    from tests import hostile

    results: dict[str, collections.Counter[str]] = {}
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        data = hostile.valid_file(base / "valid.hdf5")
        target = base / "case.hdf5"
        hand = collections.Counter()
        for name, maker in hostile.HAND_BUILT.items():
            if target.exists():
                target.unlink()
            maker(target)
            hand[_outcome_in_child(target, timeout, untrusted)] += 1
            print(f"  hand-built {name}: done", flush=True)
        results["hand-built"] = hand
        share = max(cases // 2, 1)
        for label, stream in (
            ("truncated", hostile.truncations(data, share, seed)),
            ("bit-flipped", hostile.bit_flips(data, share, seed, flips=4)),
        ):
            counter = collections.Counter()
            for mutated in stream:
                counter[_outcome_in_child(hostile.write(target, mutated), timeout, untrusted)] += 1
            results[label] = counter
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--check", action="store_true", help="load with untrusted=True (checked first)")
    args = parser.parse_args()
    results = run(args.cases, args.seed, untrusted=args.check)
    for label, counter in results.items():
        tried = sum(counter.values())
        print(f"{label:12s} tried {tried:5d}: " + ", ".join(f"{k} {counter.get(k, 0)}" for k in OUTCOMES))


if __name__ == "__main__":
    main()
