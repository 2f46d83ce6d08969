"""Run the workloads W1-W8 side by side and print a results table.

    python -m benchmarks.run --profile quick      # under 5 minutes on 2 cores
    python -m benchmarks.run --profile full       # the sizes of issue 5
    python -m benchmarks.run --only W2 W4 --repeat 5

Every measurement runs in a fresh process (``python -m benchmarks.run --child ...``), is repeated
with the libraries taking turns, and reports the median (min-max) time, the child's peak RSS and
the file size, with the ratio to hand-written h5py from the same run.  Peers (pickle always;
hickle, h5io when installed) run the workloads that they can.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def child(workload: str, lib: str, phase: str, size: int) -> None:
    from benchmarks.workloads import WORKLOADS

    fn = WORKLOADS[workload][0]
    with tempfile.TemporaryDirectory(dir=ROOT / "benchmarks") as folder:
        result = fn(lib, Path(folder), size, phase)
        files = list(Path(folder).glob("*.hdf5"))
        result["file_bytes"] = sum(f.stat().st_size for f in files)
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def run_child(workload: str, lib: str, phase: str, size: int) -> dict[str, Any] | None:
    """One measurement in a fresh process (``None``, reported, when it fails)."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--child", workload, lib, phase, str(size)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if out.returncode != 0:
        print(f"  {workload} {lib} {phase}: failed: {out.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def measure(workload: str, libs: list[str], phase: str, size: int, repeat: int) -> dict[str, dict[str, Any]]:
    """Every library's summary for one phase.  The libraries take turns (h5py, jangada_like,
    ..., then again): this machine's disk and CPU drift over minutes, and runs in blocks would
    give that drift to whichever library happened to run later."""
    runs: dict[str, list[dict[str, Any]]] = {lib: [] for lib in libs}
    for _ in range(repeat):
        for lib in [lib for lib in libs if lib in runs]:
            result = run_child(workload, lib, phase, size)
            if result is None:
                del runs[lib]  # reported once; the others go on
            else:
                runs[lib].append(result)
    return {lib: summarise(r) for lib, r in runs.items() if r}  # none with --repeat 0


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median, min and max time; medians of the other measurements."""
    seconds = [r["seconds"] for r in runs]
    summary = {
        "median": statistics.median(seconds),
        "min": min(seconds),
        "max": max(seconds),
        "peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in runs),
        "file_bytes": runs[0]["file_bytes"],
    }
    for key in ("appends_per_s", "size_ratio", "load_peak_ratio", "tasks"):
        if key in runs[0]:
            summary[key] = statistics.median(r[key] for r in runs)
    return summary


def installed(lib: str) -> bool:
    return lib in ("jangada_like", "h5py", "pickle", "numpy-raw") or importlib.util.find_spec(lib) is not None


def main() -> None:
    from benchmarks.workloads import LIBS, WORKLOADS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=("quick", "full"), default="quick")
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--child", nargs=4, metavar=("W", "LIB", "PHASE", "SIZE"))
    args = parser.parse_args()
    if args.child:
        w, lib, phase, size = args.child
        child(w, lib, phase, int(size))
        return
    import h5py
    import numpy
    import pandas

    print(
        f"# {platform.machine()} {platform.processor() or ''}, Python {platform.python_version()}, "
        f"h5py {h5py.__version__} (HDF5 {h5py.version.hdf5_version}), numpy {numpy.__version__}, "
        f"pandas {pandas.__version__}; profile {args.profile}, {args.repeat} runs each"
    )
    results: dict[str, Any] = {}
    header = f"{'workload':<22}{'library':<14}{'median s':>10}{'min-max s':>18}{'vs h5py':>9}"
    header += f"{'RSS MiB':>9}{'file MiB':>10}  extra"
    print(header)
    print("-" * len(header))
    for name, (_fn, phases, sizes) in WORKLOADS.items():
        if args.only and name not in args.only:
            continue
        size = sizes[args.profile]
        for phase in phases:
            libs = [lib for lib in LIBS[name].split() if installed(lib)]
            row = measure(name, libs, phase, size, args.repeat)
            base = row.get("h5py")
            for lib, m in row.items():
                ratio = f"{m['median'] / base['median']:.2f}x" if base and lib != "h5py" else ""
                extra = ""
                if "appends_per_s" in m:
                    extra = f"{m['appends_per_s']:.0f} appends/s, size/data {m['size_ratio']:.3f}"
                if "tasks" in m:
                    extra = f"{m['tasks']:.0f} dask tasks"
                if "load_peak_ratio" in m:
                    extra = f"memory taken by the load: {m['load_peak_ratio']:.2f}x the array"
                print(
                    f"{name + ' ' + phase + f' ({size})':<22}{lib:<14}{m['median']:>10.4f}"
                    f"{m['min']:>9.4f}-{m['max']:<8.4f}{ratio:>9}{m['peak_rss_mib']:>9.0f}"
                    f"{m['file_bytes'] / 2**20:>10.2f}  {extra}",
                    flush=True,
                )
            results[f"{name} {phase}"] = row
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
