"""The workloads W1-W7, each for jangada_like, hand-written h5py, pickle and (when installed) peers.

Every function takes the folder to work in and a size, and returns a dict of measurements
(seconds for the timed part, plus extras such as rows/s); ``benchmarks/run.py`` runs each in a
fresh process and adds peak RSS and file size.
"""

from __future__ import annotations

import os
import pickle
import random
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from jangada_like import Persistable, SerializableProperty


class Holder(Persistable, tag="bench.holder"):
    data = SerializableProperty(default=None)


class Child(Persistable, tag="bench.child"):
    a = SerializableProperty(default=0)
    b = SerializableProperty(default=0.0)
    c = SerializableProperty(default="")
    d = SerializableProperty(default=False)
    e = SerializableProperty(default=0)
    arr = SerializableProperty(default=None)


class Parent(Persistable, tag="bench.parent"):
    children = SerializableProperty(default=None)


class Series(Persistable, tag="bench.series"):
    rows = SerializableProperty(default=None)


def drop_cache(path: Path) -> None:
    """Evict a file from the page cache (cold reads) without root."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def settled() -> None:
    """Write back dirty pages before a timed step: otherwise the kernel's writeback of data
    just written (most visible with W1's 256 MiB) competes with the step, or throttles it."""
    os.sync()


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# -- W1: one big array --------------------------------------------------------------------------


def w1_array(mib: int) -> np.ndarray:
    return np.random.default_rng(0).random(mib * 2**20 // 8)


def w1(lib: str, folder: Path, mib: int, phase: str) -> dict[str, float]:
    arr = w1_array(mib) if phase == "save" else None
    path = folder / "w1.hdf5"
    if phase != "save":
        _w1_save(lib, path, w1_array(mib))
        if phase == "load-cold":
            drop_cache(path)
        else:
            settled()
            _w1_load(lib, path)
        seconds = timed(lambda: _w1_load(lib, path))
        # memory in a second, untimed load: tracing allocations slows the step it traces, and
        # more so the library that allocates more small Python objects (1.5 ms of a warm load here)
        tracemalloc.start()  # numpy reports its buffers: the memory the load itself takes
        _w1_load(lib, path)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return {"seconds": seconds, "load_peak_ratio": peak / (mib * 2**20)}
    settled()
    return {"seconds": timed(lambda: _w1_save(lib, path, arr))}


def _w1_save(lib: str, path: Path, arr: Any) -> None:
    if lib == "jangada_like":
        Holder(data=arr).save(path)
    elif lib == "h5py":
        with h5py.File(path, "w") as f:
            f.create_dataset("data", data=arr)
    elif lib == "pickle":
        with open(path, "wb") as fh:
            pickle.dump(arr, fh, protocol=5)
    elif lib == "numpy-raw":  # the floor: the bytes alone, no format, one write
        arr.tofile(path)
    else:
        _peer_save(lib, path, arr)


def _w1_load(lib: str, path: Path) -> Any:
    if lib == "jangada_like":
        return Holder.load(path).data
    if lib == "h5py":
        with h5py.File(path, "r") as f:
            return f["data"][()]
    if lib == "pickle":
        with open(path, "rb") as fh:
            return pickle.load(fh)
    if lib == "numpy-raw":  # the floor: one read of the bytes into a new array
        return np.fromfile(path, dtype=np.float64)
    return _peer_load(lib, path)


# -- W2: many small objects ---------------------------------------------------------------------


def w2_parent(n: int) -> Parent:
    rng = np.random.default_rng(1)
    return Parent(
        children=[
            Child(a=i, b=i * 0.5, c=f"child {i}", d=i % 2 == 0, e=-i, arr=rng.random(10)) for i in range(n)
        ]
    )


def w2(lib: str, folder: Path, n: int, phase: str) -> dict[str, float]:
    parent = w2_parent(n)
    path = folder / "w2.hdf5"
    if phase == "save":
        settled()
        return {"seconds": timed(lambda: _w2_save(lib, path, parent))}
    _w2_save(lib, path, parent)
    out: dict[str, Any] = {}
    settled()
    seconds = timed(lambda: out.setdefault("v", _w2_load(lib, path)))
    if lib == "jangada_like":
        assert out["v"] == parent
    return {"seconds": seconds}


def _w2_save(lib: str, path: Path, parent: Parent) -> None:
    if lib == "jangada_like":
        parent.save(path)
    elif lib == "h5py":  # one group per object, as one would write by hand
        with h5py.File(path, "w") as f:
            g = f.create_group("children")
            for i, ch in enumerate(parent.children):
                c = g.create_group(str(i))
                c.attrs.update({"a": ch.a, "b": ch.b, "c": ch.c, "d": ch.d, "e": ch.e})
                c.create_dataset("arr", data=ch.arr)
    elif lib == "pickle":
        with open(path, "wb") as fh:
            pickle.dump(parent, fh, protocol=5)
    else:
        _peer_save(lib, path, [vars_of(c) for c in parent.children])


def vars_of(child: Child) -> dict[str, Any]:
    return {k: getattr(child, k) for k in ("a", "b", "c", "d", "e", "arr")}


def _w2_load(lib: str, path: Path) -> Any:
    if lib == "jangada_like":
        return Parent.load(path)
    if lib == "h5py":
        with h5py.File(path, "r") as f:
            g = f["children"]
            out = []
            for i in range(len(g)):
                c = g[str(i)]
                at = c.attrs
                out.append(
                    Child(
                        a=int(at["a"]),
                        b=float(at["b"]),
                        c=str(at["c"]),
                        d=bool(at["d"]),
                        e=int(at["e"]),
                        arr=c["arr"][()],
                    )
                )
            return Parent(children=out)
    if lib == "pickle":
        with open(path, "rb") as fh:
            return pickle.load(fh)
    if lib == "numpy-raw":  # the floor: one read of the bytes into a new array
        return np.fromfile(path, dtype=np.float64)
    return _peer_load(lib, path)


# -- W3: long list and big dict ----------------------------------------------------------------


def w3_values(n: int) -> tuple[list[float], dict[str, int]]:
    rng = random.Random(3)
    return [rng.random() for _ in range(n)], {f"key{i}": i for i in range(n // 10)}


def w3(lib: str, folder: Path, n: int, phase: str) -> dict[str, float]:
    floats, table = w3_values(n)
    path = folder / "w3.hdf5"
    if phase == "save":
        settled()
        return {"seconds": timed(lambda: _w3_save(lib, path, floats, table))}
    _w3_save(lib, path, floats, table)
    out: dict[str, Any] = {}
    settled()
    seconds = timed(lambda: out.setdefault("v", _w3_load(lib, path)))
    if lib in ("jangada_like", "h5py"):
        assert out["v"] == (floats, table)
    return {"seconds": seconds}


def _w3_save(lib: str, path: Path, floats: list[float], table: dict[str, int]) -> None:
    if lib == "jangada_like":
        Holder(data=(floats, table)).save(path)
    elif lib == "h5py":
        with h5py.File(path, "w") as f:
            f["floats"] = np.array(floats)
            f["keys"] = np.array(list(table), dtype=h5py.string_dtype())
            f["values"] = np.array(list(table.values()))
    elif lib == "pickle":
        with open(path, "wb") as fh:
            pickle.dump((floats, table), fh, protocol=5)
    else:
        _peer_save(lib, path, {"floats": floats, "table": table})


def _w3_load(lib: str, path: Path) -> Any:
    if lib == "jangada_like":
        return Holder.load(path).data
    if lib == "h5py":
        with h5py.File(path, "r") as f:
            floats = f["floats"][()].tolist()
            table = dict(zip(f["keys"].asstr()[()].tolist(), f["values"][()].tolist()))
            return floats, table
    if lib == "pickle":
        with open(path, "rb") as fh:
            return pickle.load(fh)
    if lib == "numpy-raw":  # the floor: one read of the bytes into a new array
        return np.fromfile(path, dtype=np.float64)
    return _peer_load(lib, path)


# -- W4: appends ---------------------------------------------------------------------------------


def w4(lib: str, folder: Path, chunks: int, phase: str) -> dict[str, float]:
    path = folder / "w4.hdf5"
    block = np.random.default_rng(4).random((100, 8))
    if lib == "jangada_like":
        Series(rows=np.zeros((0, 8))).save(path)
    elif lib == "h5py":
        with h5py.File(path, "w") as f:
            f.create_dataset("rows", shape=(0, 8), maxshape=(None, 8), chunks=True, dtype="f8")
    else:
        raise ValueError(f"W4 does not run for {lib}")
    count = chunks if phase == "session" else max(chunks // 10, 1)
    start = time.perf_counter()
    if phase == "session":
        _w4_session(lib, path, block, count)
    else:
        for _ in range(count):
            _w4_session(lib, path, block, 1)
    seconds = time.perf_counter() - start
    data_bytes = count * block.nbytes
    return {
        "seconds": seconds,
        "appends_per_s": count / seconds,
        "size_ratio": path.stat().st_size / data_bytes,
    }


def _w4_session(lib: str, path: Path, block: np.ndarray, count: int) -> None:
    if lib == "jangada_like":
        with Series(path, mode="r+") as s:
            for _ in range(count):
                s.rows.append(block)
    else:
        with h5py.File(path, "r+") as f:
            d = f["rows"]
            for _ in range(count):
                n = d.shape[0]
                d.resize(n + len(block), axis=0)
                d[n:] = block


# -- W5: lazy reads of a big file ----------------------------------------------------------------


def w5(lib: str, folder: Path, mib: int, phase: str) -> dict[str, float]:
    path = folder / "w5.hdf5"
    rows = mib * 2**20 // 64
    rng = np.random.default_rng(5)
    if lib == "jangada_like":
        with Series(path, mode="w", rows=np.zeros((0, 8))) as s:
            for start in range(0, rows, 131072):
                s.rows.append(rng.random((min(131072, rows - start), 8)))
    else:
        with h5py.File(path, "w") as f:
            d = f.create_dataset("rows", shape=(0, 8), maxshape=(None, 8), chunks=True, dtype="f8")
            for start in range(0, rows, 131072):
                block = rng.random((min(131072, rows - start), 8))
                d.resize(d.shape[0] + len(block), axis=0)
                d[-len(block) :] = block
    starts = np.random.default_rng(6).integers(0, rows - 100, 1000)
    settled()
    if phase in ("slices-cold", "open-cold"):
        drop_cache(path)
    if phase.startswith("open"):
        return {"seconds": timed(lambda: _w5_open(lib, path))}
    if phase == "slices-warm":
        _w5_slices(lib, path, starts)
    return {"seconds": timed(lambda: _w5_slices(lib, path, starts))}


def _w5_open(lib: str, path: Path) -> Any:
    if lib == "jangada_like":
        with Series(path, mode="r") as s:
            return s.rows.shape, s.rows[0, 0]
    with h5py.File(path, "r") as f:
        return f["rows"].shape, f["rows"][0, 0]


def _w5_slices(lib: str, path: Path, starts: np.ndarray) -> None:
    if lib == "jangada_like":
        with Series(path, mode="r") as s:
            rows = s.rows
            for st in starts:
                rows[st : st + 100]
    else:
        with h5py.File(path, "r") as f:
            d = f["rows"]
            for st in starts:
                d[st : st + 100]


# -- W6: a DataFrame ------------------------------------------------------------------------------


def w6_frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "x": rng.random(n),
            "i": np.arange(n, dtype=np.int64),
            "cat": pd.Categorical(rng.choice(["alpha", "beta", "gamma"], n)),
            "t": pd.date_range("2024-01-01", periods=n, freq="s", tz="Europe/Berlin"),
            "ok": rng.random(n) > 0.5,
        }
    )


def w6(lib: str, folder: Path, n: int, phase: str) -> dict[str, float]:
    frame = w6_frame(n)
    path = folder / "w6.hdf5"
    if phase == "save":
        settled()
        return {"seconds": timed(lambda: _w6_save(lib, path, frame))}
    _w6_save(lib, path, frame)
    out: dict[str, Any] = {}
    settled()
    seconds = timed(lambda: out.setdefault("v", _w6_load(lib, path)))
    assert out["v"].equals(frame)
    return {"seconds": seconds}


def _w6_save(lib: str, path: Path, frame: pd.DataFrame) -> None:
    if lib == "jangada_like":
        Holder(data=frame).save(path)
    elif lib == "h5py":
        with h5py.File(path, "w") as f:
            f["x"] = frame["x"].to_numpy()
            f["i"] = frame["i"].to_numpy()
            f["cat_codes"] = frame["cat"].cat.codes.to_numpy()
            f["cat_categories"] = np.array(frame["cat"].cat.categories, dtype=h5py.string_dtype())
            f["t"] = frame["t"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().view("i8")
            f["t"].attrs["tz"] = "Europe/Berlin"
            f["ok"] = frame["ok"].to_numpy()
    elif lib == "pickle":
        with open(path, "wb") as fh:
            pickle.dump(frame, fh, protocol=5)
    else:
        raise ValueError(f"W6 does not run for {lib}")


def _w6_load(lib: str, path: Path) -> pd.DataFrame:
    if lib == "jangada_like":
        return Holder.load(path).data  # type: ignore[no-any-return]
    if lib == "h5py":
        with h5py.File(path, "r") as f:
            unit = "us"
            t = (
                pd.DatetimeIndex(f["t"][()].view(f"M8[{unit}]"))
                .tz_localize("UTC")
                .tz_convert(f["t"].attrs["tz"])
            )
            return pd.DataFrame(
                {
                    "x": f["x"][()],
                    "i": f["i"][()],
                    "cat": pd.Categorical.from_codes(f["cat_codes"][()], f["cat_categories"].asstr()[()]),
                    "t": t,
                    "ok": f["ok"][()],
                }
            )
    with open(path, "rb") as fh:
        return pickle.load(fh)  # type: ignore[no-any-return]


# -- W7: one property of one of many nested objects -------------------------------------------------


def w7(lib: str, folder: Path, n: int, phase: str) -> dict[str, float]:
    path = folder / "w7.hdf5"
    parent = w2_parent(n)
    _w2_save("jangada_like" if lib == "jangada_like" else "h5py", path, parent)
    target = n // 2
    if lib == "jangada_like":

        def read() -> Any:
            with Parent(path, mode="r") as p:
                return p.children[target].c

    else:

        def read() -> Any:
            with h5py.File(path, "r") as f:
                return f["children"][str(target)].attrs["c"]

    settled()
    return {"seconds": timed(read)}


# -- peers, when installed ------------------------------------------------------------------------


def _peer_save(lib: str, path: Path, value: Any) -> None:
    if lib == "hickle":
        import hickle

        hickle.dump(value, str(path), mode="w")
    elif lib == "h5io":
        import h5io

        h5io.write_hdf5(str(path), value, overwrite=True)
    else:
        raise ValueError(f"unknown library {lib}")


def _peer_load(lib: str, path: Path) -> Any:
    if lib == "hickle":
        import hickle

        return hickle.load(str(path))
    import h5io

    return h5io.read_hdf5(str(path))


WORKLOADS: dict[str, tuple[Callable[..., dict[str, float]], tuple[str, ...], dict[str, int]]] = {
    # name: (function, phases, {profile: size})
    "W1": (w1, ("save", "load-cold", "load-warm"), {"quick": 64, "full": 256}),
    "W2": (w2, ("save", "load"), {"quick": 500, "full": 2000}),
    "W3": (w3, ("save", "load"), {"quick": 20_000, "full": 100_000}),
    "W4": (w4, ("session", "reopen"), {"quick": 2000, "full": 10_000}),
    "W5": (w5, ("open-cold", "open-warm", "slices-cold", "slices-warm"), {"quick": 256, "full": 1024}),
    "W6": (w6, ("save", "load"), {"quick": 200_000, "full": 1_000_000}),
    "W7": (w7, ("open-read",), {"quick": 10_000, "full": 10_000}),
}
# hand-written h5py first: every other library's ratio is taken to it
LIBS = {
    "W1": "h5py jangada_like numpy-raw pickle hickle h5io",
    "W2": "h5py jangada_like pickle hickle h5io",
    "W3": "h5py jangada_like pickle hickle h5io",
    "W4": "h5py jangada_like",
    "W5": "h5py jangada_like",
    "W6": "h5py jangada_like pickle",
    "W7": "h5py jangada_like",
}


# -- compressed variants (gzip level 4 + shuffle on both sides) ------------------------------------

GZIP = {"compression": "gzip", "compression_opts": 4, "shuffle": True}


class HolderZ(Persistable, tag="bench.holder-gzip", storage=GZIP):
    data = SerializableProperty(default=None)


class SeriesZ(Persistable, tag="bench.series-gzip", storage=GZIP):
    rows = SerializableProperty(default=None)


def w1z(lib: str, folder: Path, mib: int, phase: str) -> dict[str, float]:
    """W1 with gzip: a smooth signal (compressible), saved then loaded warm."""
    arr = np.sin(np.linspace(0, 1000, mib * 2**20 // 8))
    path = folder / "w1z.hdf5"

    def save() -> None:
        if lib == "jangada_like":
            HolderZ(data=arr).save(path)
        else:
            with h5py.File(path, "w") as f:
                f.create_dataset("data", data=arr, chunks=True, **GZIP)

    def load() -> Any:
        if lib == "jangada_like":
            return HolderZ.load(path).data
        with h5py.File(path, "r") as f:
            return f["data"][()]

    if phase == "save":
        settled()
        return {"seconds": timed(save)}
    save()
    settled()
    return {"seconds": timed(load)}


def w4z(lib: str, folder: Path, chunks: int, phase: str) -> dict[str, float]:
    """W4 (one session) with gzip."""
    path = folder / "w4z.hdf5"
    block = np.round(np.random.default_rng(4).random((100, 8)), 2)
    start = time.perf_counter()
    if lib == "jangada_like":
        SeriesZ(rows=np.zeros((0, 8))).save(path)
        with SeriesZ(path, mode="r+") as s:
            for _ in range(chunks):
                s.rows.append(block)
    else:
        with h5py.File(path, "w") as f:
            d = f.create_dataset(
                "rows", shape=(0, 8), maxshape=(None, 8), chunks=(8192, 8), dtype="f8", **GZIP
            )
            for _ in range(chunks):
                n = d.shape[0]
                d.resize(n + 100, axis=0)
                d[n:] = block
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "appends_per_s": chunks / seconds,
        "size_ratio": path.stat().st_size / (chunks * block.nbytes),
    }


WORKLOADS["W1gz"] = (w1z, ("save", "load"), {"quick": 64, "full": 256})
WORKLOADS["W4gz"] = (w4z, ("session",), {"quick": 2000, "full": 10_000})
LIBS["W1gz"] = "h5py jangada_like"
LIBS["W4gz"] = "h5py jangada_like"


# -- W8: a dask mean over an appended dataset ------------------------------------------------------


def w8(lib: str, folder: Path, mib: int, phase: str) -> dict[str, float]:
    """``proxy.to_dask().mean()`` against ``da.from_array`` on the same file opened with plain
    h5py (dask's own choice of blocks), over rows appended 1 MiB at a time by jangada_like (so
    in its 256 KiB HDF5 chunks); dask's default threaded scheduler, page cache warm or cold.
    The timed step opens the file, builds the graph and computes the mean."""
    import dask.array as da

    path = folder / "w8.hdf5"
    rows, block = mib * 2**20 // 64, 16384
    rng = np.random.default_rng(8)
    with Series(path, mode="w", rows=np.zeros((0, 8))) as s:
        for first in range(0, rows, block):
            s.rows.append(rng.random((min(block, rows - first), 8)))
    settled()
    if phase == "mean-cold":
        drop_cache(path)
    else:
        _w8_mean(lib, path, da)  # the page cache holds the file
    start = time.perf_counter()
    tasks = _w8_mean(lib, path, da)
    return {"seconds": time.perf_counter() - start, "tasks": tasks}


def _w8_mean(lib: str, path: Path, da: Any) -> int:
    if lib == "jangada_like":
        with Series(path, mode="r") as s:
            lazy = s.rows.to_dask()
            lazy.mean().compute()
    else:
        with h5py.File(path, "r") as f:
            lazy = da.from_array(f["root/rows"])
            lazy.mean().compute()
    return int(lazy.npartitions)


WORKLOADS["W8"] = (w8, ("mean-warm", "mean-cold"), {"quick": 256, "full": 512})
LIBS["W8"] = "h5py jangada_like"
