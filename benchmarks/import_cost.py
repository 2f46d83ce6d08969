"""What ``import jangada_like`` costs against ``import h5py`` (issue 14: within 1.3x of both).

    python -m benchmarks.import_cost            # 15 rounds, libraries taking turns
    python -m benchmarks.import_cost --rounds 40

Each import runs in a fresh interpreter (bytecode caches warm: one unmeasured round first) and is
timed from ``fork`` to exit; the interpreter's own start-up (``python -c pass``) is measured the
same way and subtracted.  Peak RSS is the child's ``ru_maxrss`` from ``wait4``.  Prints min and
median of each and the ratios to h5py.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

STATEMENTS = {"python": "pass", "h5py": "import h5py", "jangada_like": "import jangada_like"}


def once(statement: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one fresh interpreter running ``statement``."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", statement])
    _pid, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{statement!r} failed with exit code {child.returncode}")
    return elapsed, usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)
    env_note = (
        "PYTHONDONTWRITEBYTECODE is set: own modules compile on every import"
        if (os.environ.get("PYTHONDONTWRITEBYTECODE"))
        else "bytecode caches on"
    )
    for statement in STATEMENTS.values():  # warm the caches
        once(statement)
    times: dict[str, list[float]] = {k: [] for k in STATEMENTS}
    rss: dict[str, list[float]] = {k: [] for k in STATEMENTS}
    for _ in range(args.rounds):
        for name, statement in STATEMENTS.items():
            t, m = once(statement)
            times[name].append(t)
            rss[name].append(m)
    base_min, base_med = min(times["python"]), statistics.median(times["python"])
    print(f"{'import':14} {'min ms':>8} {'median ms':>10} {'peak RSS MiB':>13}   ({env_note})")
    rows = {}
    for name in ("h5py", "jangada_like"):
        t_min = (min(times[name]) - base_min) * 1000
        t_med = (statistics.median(times[name]) - base_med) * 1000
        m = statistics.median(rss[name])
        rows[name] = (t_min, t_med, m)
        print(f"{name:14} {t_min:8.1f} {t_med:10.1f} {m:13.1f}")
    (h_min, h_med, h_m), (j_min, j_med, j_m) = rows["h5py"], rows["jangada_like"]
    print(f"{'ratio':14} {j_min / h_min:8.2f} {j_med / h_med:10.2f} {j_m / h_m:13.2f}")


if __name__ == "__main__":
    main()
