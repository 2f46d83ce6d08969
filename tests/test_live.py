"""Live readers of a file a SWMR writer has open (a real writer process in every test): plain h5py
SWMR readers, ``load(swmr=True)``, ``refresh()`` of scalars, and what a reader that is not SWMR is
told."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pytest

import jangada_like
from jangada_like.errors import FileLockedError
from tests.live_workers import step_rows, wait_for
from tests.workers import Log

ROOT = Path(__file__).resolve().parents[1]
STEPS = 4


class Writer:
    """A ``stepped_swmr_writer`` process driven one step at a time."""

    def __init__(self, path: Path, folder: Path) -> None:
        self.folder = folder
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        args = [sys.executable, "-m", "tests.live_workers", str(path), str(folder), str(STEPS)]
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env)
        wait_for(folder / "done0")

    def step(self, k: int) -> None:
        """Have the writer append step ``k``'s rows, set the note and flush; wait for it."""
        (self.folder / f"go{k}").touch()
        wait_for(self.folder / f"done{k}")

    def close(self) -> int:
        for k in range(1, STEPS + 1):
            (self.folder / f"go{k}").touch()
        (self.folder / "close").touch()
        return self.proc.wait(timeout=60)


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[Path, Writer]]:
    path = tmp_path / "live.hdf5"
    Log(rows=np.zeros((0, 2), dtype=np.int64), note="step 0").save(path)
    folder = tmp_path / "steps"
    folder.mkdir()
    writer = Writer(path, folder)
    try:
        yield path, writer
    finally:
        code = writer.close()
    assert code == 0
    assert Log.load(path).rows.shape == (STEPS * 10, 2)


def _expected(k: int) -> np.ndarray:
    return np.concatenate([np.zeros((0, 2), dtype=np.int64)] + [step_rows(i) for i in range(1, k + 1)])


def test_plain_h5py_swmr_reader_follows_the_writer(live: tuple[Path, Writer]) -> None:
    path, writer = live
    with h5py.File(path, "r", swmr=True) as f:  # h5py's defaults: HDF5's own file locking on
        rows = f["root/rows"]
        assert rows.shape == (0, 2)
        for k in range(1, STEPS + 1):
            writer.step(k)
            rows.refresh()
            assert rows.shape == (10 * k, 2)
            np.testing.assert_array_equal(rows[()], _expected(k))


def test_load_with_swmr_reads_a_file_being_written(live: tuple[Path, Writer]) -> None:
    path, writer = live
    for k in (1, 2):
        writer.step(k)
        log = Log.load(path, swmr=True)
        np.testing.assert_array_equal(log.rows, _expected(k))
        assert log.note == f"step {k}"
    writer.step(3)
    whatever = jangada_like.load(path, swmr=True)
    assert type(whatever) is Log and whatever.note == "step 3" and whatever.rows.shape == (30, 2)


def test_reader_without_swmr_is_told_the_swmr_way_and_leaves_the_writer_alone(
    live: tuple[Path, Writer],
) -> None:
    path, writer = live
    writer.step(1)
    for attempt in (lambda: Log.load(path), lambda: Log(path, mode="r").__enter__()):
        with pytest.raises(FileLockedError) as info:
            attempt()
        text = str(info.value)
        assert str(path) in text and f"process {writer.proc.pid}" in text
        assert "Cls.load(path, swmr=True)" in text and "mode='r', swmr=True" in text
    writer.step(2)  # the writer's file was left as it was: it goes on, and so does a live reader
    np.testing.assert_array_equal(Log.load(path, swmr=True).rows, _expected(2))


def test_refresh_updates_scalars_of_a_live_reader(live: tuple[Path, Writer]) -> None:
    path, writer = live
    with Log(path, mode="r", swmr=True) as log:
        assert log.note == "step 0" and log.rows.shape == (0, 2)
        for k in range(1, STEPS + 1):
            writer.step(k)
            assert log.note == f"step {k - 1}"  # nothing changes until asked
            assert log.refresh() == 10 * k
            assert log.note == f"step {k}"
            np.testing.assert_array_equal(log.rows[:], _expected(k))
        writer.step(STEPS)
        assert log.refresh("note") == 0  # scalars only: no array among them


def test_reader_blocked_by_a_writer_is_told_the_swmr_way(tmp_path: Path) -> None:
    path = tmp_path / "held.hdf5"
    Log(rows=np.zeros((0, 2), dtype=np.int64)).save(path)
    ready = tmp_path / "ready"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-m", "tests.workers", "hold_lock", str(path), "30.0", str(ready)]
    holder = subprocess.Popen(args, cwd=ROOT, env=env)
    try:
        wait_for(ready)
        with pytest.raises(FileLockedError) as info:
            Log.load(path, timeout=0.1)
        text = str(info.value)
        assert f"process {holder.pid}" in text and "larger timeout=" in text
        assert "Cls.load(path, swmr=True)" in text and "mode='r+', swmr=True" in text
        with pytest.raises(FileLockedError) as info, Log(path, mode="r+"):
            pass
        assert "swmr" not in str(info.value)  # writers are just told to wait
    finally:
        holder.kill()
        holder.wait()


# -- dask ------------------------------------------------------------------------------------------

MiB = 2**20


@pytest.mark.parametrize(
    ("shape", "hdf5", "itemsize"),
    [
        ((64 * MiB, 8), (4096, 8), 8),  # 4 GiB appended rows, 256 KiB HDF5 chunks
        ((3 * 10**9,), (32768,), 8),  # 24 GB, 1-D
        ((100_000, 1000, 50), (2, 1000, 50), 4),  # a frame per row, 400 KB chunks
        ((10**9, 3), (1000, 1), 2),  # HDF5 chunks narrower than a row
        ((10**6, 10**6), (64, 64), 8),  # square tiles: the last axis is split too
        ((5 * 10**8, 4), None, 8),  # contiguous: whole rows
        ((4, 10**9), None, 8),  # contiguous, a row larger than a block
    ],
)
def test_dask_chunks_are_whole_hdf5_chunks_near_128_mib(
    shape: tuple[int, ...], hdf5: tuple[int, ...] | None, itemsize: int
) -> None:
    from jangada_like.proxy import dask_chunks

    block = dask_chunks(shape, hdf5, itemsize, limit=128 * MiB)
    unit = hdf5 or (1,) * len(shape)
    assert len(block) == len(shape)
    for b, c, n in zip(block, unit, shape):
        assert b == n or b % c == 0  # whole HDF5 chunks (or the whole axis)
    nbytes = int(np.prod(block)) * itemsize
    assert 64 * MiB < nbytes <= 128 * MiB


def test_dask_chunks_never_split_an_hdf5_chunk_larger_than_the_limit() -> None:
    from jangada_like.proxy import dask_chunks

    assert dask_chunks((10**6, 1000), (100_000, 1000), 8, limit=128 * MiB) == (100_000, 1000)


def test_dask_chunks_small_data_is_one_block_and_follows_dask_config() -> None:
    dask = pytest.importorskip("dask")
    from jangada_like.proxy import dask_chunks

    assert dask_chunks((1000, 8), (4096, 8), 8) == (1000, 8)
    assert dask_chunks((0, 8), (4096, 8), 8) == (0, 8)
    assert dask_chunks((), None, 8) == ()
    with dask.config.set({"array.chunk-size": "1MiB"}):
        assert dask_chunks((1_000_000, 8), (4096, 8), 8) == (16384, 8)
    with dask.config.set({"array.chunk-size": 2 * MiB}):  # bytes as a number
        assert dask_chunks((1_000_000, 8), (4096, 8), 8) == (32768, 8)


class Acquisition(jangada_like.Persistable, tag="tests.test_live.acquisition"):
    rows = jangada_like.SerializableProperty(default=None)


def _appended(path: Path, rows: int, width: int = 8) -> np.ndarray:
    data = np.random.default_rng(8).random((rows, width))
    with Acquisition(path, mode="w", rows=np.zeros((0, width))) as acq:
        for start in range(0, rows, 10_000):
            acq.rows.append(data[start : start + 10_000])
    return data


def test_to_dask_on_appended_data_picks_aligned_blocks_and_matches_numpy(tmp_path: Path) -> None:
    dask = pytest.importorskip("dask")
    path = tmp_path / "acq.hdf5"
    data = _appended(path, 200_000)  # 12.8 MB in 256 KiB HDF5 chunks of 4096 rows
    with Acquisition(path, mode="r") as acq:
        assert acq.rows.chunks == (4096, 8)
        whole = acq.rows.to_dask()
        assert whole.chunks == ((200_000,), (8,))  # small: one block, not 49 tasks
        with dask.config.set({"array.chunk-size": "1MiB"}):
            lazy = acq.rows.to_dask()
        assert set(lazy.chunks[0][:-1]) == {16384} and lazy.chunks[1] == (8,)
        override = acq.rows.to_dask(chunks=(1000, 4))
        assert override.chunks[0][:2] == (1000, 1000) and override.chunks[1] == (4, 4)
        for array in (whole, lazy, override):
            np.testing.assert_allclose(array.mean(axis=0).compute(), data.mean(axis=0))
            np.testing.assert_array_equal(array[-5:].compute(), data[-5:])


def test_to_dask_of_a_large_dataset_takes_128_mib_blocks_of_whole_hdf5_chunks(tmp_path: Path) -> None:
    pytest.importorskip("dask")
    path = tmp_path / "acq.hdf5"
    data = _appended(path, 5_000)
    with h5py.File(path, "r+") as f:  # 2.5 GB, of which only the first rows are ever written
        f["root/rows"].resize(40 * MiB, axis=0)
    with Acquisition(path, mode="r") as acq:
        lazy = acq.rows.to_dask()
        rows = 128 * MiB // (8 * 8)  # 512 HDF5 chunks of 4096 rows
        assert lazy.chunks[1] == (8,) and lazy.chunks[0] == (rows,) * 20
        assert lazy.npartitions == 20  # against 10,240 tasks for one per HDF5 chunk
        np.testing.assert_array_equal(lazy[4990:5010].compute(), acq.rows[4990:5010])
        np.testing.assert_array_equal(lazy[:5_000].compute(), data)


def test_to_dask_under_many_threads_reads_every_block_right(tmp_path: Path) -> None:
    pytest.importorskip("dask")
    path = tmp_path / "acq.hdf5"
    data = _appended(path, 120_000)
    for mode in ("r", "r+"):
        with Acquisition(path, mode=mode) as acq:
            lazy = acq.rows.to_dask(chunks=(997, 8))  # 121 blocks, most across HDF5 chunks
            got = lazy.compute(scheduler="threads", num_workers=8)
            np.testing.assert_array_equal(got, data)
            total = (lazy * 2).sum(axis=0).compute(scheduler="threads", num_workers=8)
            np.testing.assert_allclose(total, 2 * data.sum(axis=0))


def test_to_dask_after_the_block_names_the_dataset_and_how_to_reopen(tmp_path: Path) -> None:
    pytest.importorskip("dask")
    path = tmp_path / "acq.hdf5"
    _appended(path, 1_000)
    with Acquisition(path, mode="r") as acq:
        lazy = acq.rows.to_dask()
    with pytest.raises(jangada_like.errors.ProxyClosedError, match="with Acquisition") as info:
        lazy.compute()
    assert info.value.file == str(path) and info.value.path == "/root/rows"


def test_to_dask_graph_pickles_to_a_reader_by_path(tmp_path: Path) -> None:
    pytest.importorskip("dask")
    import pickle

    from jangada_like import proxy as proxy_module
    from jangada_like.proxy import DaskSource

    path = tmp_path / "acq.hdf5"
    data = _appended(path, 50_000)
    with Acquisition(path, mode="r") as acq:
        lazy = acq.rows.to_dask(chunks=(8192, 8))
        (source,) = {id(v): v for v in lazy.dask.values() if isinstance(v, DaskSource)}.values()
        here = pickle.loads(pickle.dumps(source))  # this process: reads through the session
        assert here._proxy is acq.rows
        known = len(proxy_module._LIVE)
        for _ in range(50):
            acq.rows.to_dask()
        assert len(proxy_module._LIVE) == known  # one entry per proxy, not per graph
        state = source.__getstate__()
        assert (state["file"], state["path"], state["writer"]) == (str(path), "/root/rows", None)
        elsewhere = DaskSource.__new__(DaskSource)  # what a worker process unpickles
        elsewhere.__setstate__({**state, "key": "1-not-this-process"})
        assert elsewhere._proxy is None
        np.testing.assert_array_equal(elsewhere[10:20], data[10:20])
    np.testing.assert_array_equal(elsewhere[(slice(49_990, None), slice(0, 8))], data[49_990:])


def test_to_dask_mean_on_a_distributed_cluster_in_this_process(tmp_path: Path) -> None:
    pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    path = tmp_path / "acq.hdf5"
    data = _appended(path, 50_000)
    with (
        distributed.LocalCluster(
            n_workers=1, processes=False, threads_per_worker=2, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        for mode in ("r", "r+"):  # a writing session too: the worker reads through it
            with Acquisition(path, mode=mode) as acq:
                lazy = acq.rows.to_dask(chunks=(8192, 8))
                mean = client.compute(lazy.mean(axis=0)).result()
                np.testing.assert_allclose(mean, data.mean(axis=0))
                assert float(client.compute(lazy.mean()).result()) == pytest.approx(data.mean())


def test_to_dask_worker_process_refuses_a_file_open_for_writing_with_the_way_out(
    tmp_path: Path,
) -> None:
    pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    path = tmp_path / "acq.hdf5"
    data = _appended(path, 20_000)
    with (
        distributed.LocalCluster(
            n_workers=1, processes=True, threads_per_worker=1, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        with Acquisition(path, mode="r+") as acq:
            lazy = acq.rows.to_dask(chunks=(8192, 8))
            with pytest.raises(FileLockedError, match="opened for writing") as info:
                client.compute(lazy.sum()).result()
            assert "mode='r'" in str(info.value) and str(os.getpid()) in str(info.value)
            assert info.value.path == "/root/rows"
        with Acquisition(path, mode="r") as acq:  # the way out: a reading session
            total = client.compute(acq.rows.to_dask(chunks=(8192, 8)).sum()).result()
    assert float(total) == pytest.approx(data.sum())


def test_to_dask_in_a_live_swmr_reader_sees_the_rows_at_the_call(live: tuple[Path, Writer]) -> None:
    pytest.importorskip("dask")
    path, writer = live
    writer.step(1)
    with Log(path, mode="r", swmr=True) as log:
        before = log.rows.to_dask()
        writer.step(2)
        log.refresh()
        after = log.rows.to_dask()
        np.testing.assert_array_equal(before.compute(scheduler="threads"), _expected(1))
        np.testing.assert_array_equal(after.compute(scheduler="threads", num_workers=4), _expected(2))


def test_to_dask_in_a_swmr_writer_session_reads_what_it_appended(tmp_path: Path) -> None:
    pytest.importorskip("dask")
    path = tmp_path / "log.hdf5"
    Log(rows=np.zeros((0, 2), dtype=np.int64), note="").save(path)
    with Log(path, mode="r+", swmr=True) as log:
        for k in (1, 2, 3):
            log.rows.append(step_rows(k))
        lazy = log.rows.to_dask(chunks=(7, 2))
        np.testing.assert_array_equal(lazy.compute(scheduler="threads", num_workers=4), _expected(3))


class Stamped(jangada_like.Persistable, tag="tests.test_live.stamped"):
    times = jangada_like.SerializableProperty(default=None)
    spans = jangada_like.SerializableProperty(default=None)


def test_to_dask_blocks_are_numpy_where_the_proxy_gives_pandas(tmp_path: Path) -> None:
    pytest.importorskip("dask")
    import pandas as pd

    times = pd.date_range("2026-01-01", periods=5, freq="h", tz="Europe/Berlin")
    spans = pd.timedelta_range(0, periods=5, freq="s")
    path = Stamped(times=times, spans=spans).save(tmp_path / "stamped")
    with Stamped(path, mode="r") as obj:
        assert isinstance(obj.times[0:2], pd.DatetimeIndex)  # the proxy's own slices stay pandas
        lazy_times = obj.times.to_dask(chunks=2)  # tz-aware: Timestamps in object blocks
        lazy_spans = obj.spans.to_dask(chunks=2)
        assert lazy_times.dtype == object and lazy_spans.dtype == np.dtype("m8[ns]")
        blocks = [lazy_times.blocks[i].compute() for i in range(3)]
        assert all(type(b) is np.ndarray for b in blocks)
        assert list(np.concatenate(blocks)) == list(times)
        np.testing.assert_array_equal(lazy_spans.compute(), spans.to_numpy())
        assert lazy_spans.max().compute() == spans.max()
