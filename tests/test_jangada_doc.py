"""The examples of jangada's Persistable doc page, as written there, with only the import changed.

(``../shared/reference/jangada-persistable-doc.txt``.)  Helpers the page leaves undefined
(``collect_measurements``, ``process``, ``LargeDataset``, ``TimeSeries``) are defined here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jangada_like import Persistable, SerializableProperty


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


class Experiment(Persistable):
    name = SerializableProperty(default="")
    temperature = SerializableProperty(default=293.15)
    data = SerializableProperty(default=None)


class TimeSeries(Persistable):
    data = SerializableProperty(default=None)


class LargeDataset(Persistable):
    data = SerializableProperty(default=None)


_rng = np.random.default_rng(1)


def collect_measurements() -> np.ndarray:
    return _rng.normal(size=4)


def collect_daily_measurements() -> np.ndarray:
    # the page's TimeSeries holds ints (np.array([1, 2, 3])); jangada would silently truncate
    # floats appended to it, jangada_like refuses them unless append(..., cast=True)
    return _rng.integers(0, 100, size=24)


def process(chunk: np.ndarray) -> float:
    return float(chunk.mean())


def test_basic_save_and_load() -> None:
    exp = Experiment(name="Test1", temperature=373.15, data=np.array([1.2, 3.4, 5.6]))
    exp.save("experiment.hdf5")

    # Method 1: Class method
    exp = Experiment.load("experiment.hdf5")
    # Method 2: Constructor
    exp2 = Experiment("experiment.hdf5")
    # Method 3: Module-level function
    from jangada_like import load

    exp3 = load("experiment.hdf5")
    assert exp == exp2 == exp3
    assert exp.name == "Test1" and exp.temperature == 373.15


def test_context_manager_for_lazy_loading() -> None:
    Experiment(name="big", temperature=1.0, data=np.arange(1_000_000, dtype=float)).save("large_data.hdf5")
    with Experiment("large_data.hdf5", mode="r") as exp:
        # exp.data is a ProxyDataset - not loaded yet
        assert exp.data.shape == (1000000,)
        # Load only what you need
        chunk = exp.data[100:200]  # Loads only 100 elements
        assert chunk.tolist() == list(np.arange(100.0, 200.0))
        # Access metadata without loading data
        assert exp.name == "big"
        assert exp.temperature == 1.0


def test_modifying_data_efficiently() -> None:
    Experiment(data=np.arange(100.0)).save("data.hdf5")
    with Experiment("data.hdf5", mode="r+") as exp:
        exp.data[50] = 99.9
        exp.data[10:20] = np.zeros(10)
        exp.data.append(np.array([7, 8, 9]))
    data = Experiment.load("data.hdf5").data
    assert data.shape == (103,) and data[50] == 99.9 and not data[10:20].any()
    assert data[-3:].tolist() == [7.0, 8.0, 9.0]


def test_incremental_data_collection() -> None:
    exp = Experiment(name="Time Series", data=np.array([1.0, 2.0, 3.0]))
    exp.save("timeseries.hdf5")
    for _ in range(10):
        with Experiment("timeseries.hdf5", mode="r+") as exp:
            new_data = collect_measurements()
            exp.data.append(new_data)
    assert Experiment.load("timeseries.hdf5").data.shape == (43,)


def test_nested_objects() -> None:
    class Measurement(Persistable):
        timestamp = SerializableProperty(default=None)
        value = SerializableProperty(default=0.0)

    class Experiment(Persistable):
        name = SerializableProperty(default="")
        measurements = SerializableProperty(default=None)

    exp = Experiment(
        name="Multi-point",
        measurements=[
            Measurement(timestamp=pd.Timestamp("2024-01-01"), value=1.2),
            Measurement(timestamp=pd.Timestamp("2024-01-02"), value=3.4),
            Measurement(timestamp=pd.Timestamp("2024-01-03"), value=5.6),
        ],
    )
    exp.save("experiment.hdf5")
    loaded = Experiment.load("experiment.hdf5")
    assert len(loaded.measurements) == 3
    assert loaded.measurements[0].value == 1.2
    assert loaded.measurements[2].timestamp == pd.Timestamp("2024-01-03")


def test_proxy_dataset_supported_operations() -> None:
    Experiment(data=np.arange(400.0).reshape(20, 20)).save("p.hdf5")
    with Experiment("p.hdf5", mode="r+") as exp:
        proxy = exp.data
        value = proxy[10]
        chunk = proxy[1:5]
        section = proxy[10:20, 5:15]
        assert value.shape == (20,) and chunk.shape == (4, 20) and section.shape == (10, 10)
        proxy[10] = 99
        proxy[10:20] = np.zeros((10, 20))
        proxy.append(np.ones((1, 20)))
        assert proxy.shape == (21, 20) and proxy.dtype == np.float64
        assert (proxy.ndim, proxy.size, proxy.nbytes) == (2, 420, 3360) and proxy.attrs == {}
        data = proxy[:]  # Load all
        assert (data * 2).shape == (21, 20)
        assert np.mean(proxy[:]) == pytest.approx(data.mean())


def test_efficient_slicing_and_appending_time_series() -> None:
    Experiment(data=np.arange(10_000.0)).save("big_data.hdf5")
    with Experiment("big_data.hdf5", mode="r") as exp:
        morning_data = exp.data[0:1000]
        afternoon_data = exp.data[5000:6000]
    assert morning_data[-1] == 999.0 and afternoon_data[0] == 5000.0

    ts = TimeSeries(data=np.array([1, 2, 3]))
    ts.save("timeseries.hdf5")
    for _day in range(30):
        with TimeSeries("timeseries.hdf5", mode="r+") as ts:
            daily_data = collect_daily_measurements()
            ts.data.append(daily_data)
    assert TimeSeries.load("timeseries.hdf5").data.shape == (3 + 30 * 24,)
    with TimeSeries("timeseries.hdf5", mode="r+") as ts, pytest.raises(TypeError, match="cast=True"):
        ts.data.append(np.array([1.5]))


def test_auto_resizing_datasets() -> None:
    Experiment(data=np.zeros(100)).save("data.hdf5")
    with Experiment("data.hdf5", mode="r+") as exp:
        assert exp.data.shape == (100,)
        exp.data[200] = 99.9
        assert exp.data.shape == (201,)


def test_file_structure_example() -> None:
    import h5py

    exp = Experiment(name="Test1", temperature=373.15, data=np.array([1.1, 2.2, 3.3]))
    exp.save("file.hdf5")
    with h5py.File("file.hdf5", "r") as f:
        root = f["root"]
        assert root.attrs["__class__"].endswith("Experiment")
        assert root.attrs["name"] == "Test1" and root.attrs["temperature"] == 373.15
        assert root["data"].attrs["__dataset_type__"] == "numpy.ndarray"


def test_example_structure_with_metadata() -> None:
    class Experiment(Persistable):
        name = SerializableProperty(default="")
        metadata = SerializableProperty(default=None)
        measurements = SerializableProperty(default=None)

    exp = Experiment(
        name="Test", metadata={"pi": 3.14, "items": [1, 2, 3]}, measurements=np.array([1.1, 2.2, 3.3])
    )
    exp.save("file.hdf5")
    back = Experiment.load("file.hdf5")
    assert back.metadata == {"pi": 3.14, "items": [1, 2, 3]}


def test_custom_file_extensions() -> None:
    class MyData(Persistable):
        extension = ".h5"
        data = SerializableProperty(default=None)

    obj = MyData(data=np.array([1, 2, 3]))
    obj.save("output")  # Saves as 'output.h5'
    assert Path("output.h5").is_file()


def test_multiple_files() -> None:
    exp1 = Experiment(name="Morning")
    exp1.save("morning.hdf5")
    exp2 = Experiment(name="Afternoon")
    exp2.save("afternoon.hdf5")
    experiments = [Experiment.load("morning.hdf5"), Experiment.load("afternoon.hdf5")]
    assert [e.name for e in experiments] == ["Morning", "Afternoon"]


def test_batch_processing() -> None:
    LargeDataset(data=np.arange(10_500.0)).save("data.hdf5")
    with LargeDataset("data.hdf5", mode="r") as dataset:
        chunk_size = 1000
        num_chunks = dataset.data.shape[0] // chunk_size
        results = []
        for i in range(num_chunks):
            start = i * chunk_size
            end = start + chunk_size
            chunk = dataset.data[start:end]
            results.append(process(chunk))
    assert len(results) == 10 and results[0] == pytest.approx(499.5)


def test_performance_tips_patterns() -> None:
    Experiment(data=np.zeros(5)).save("data.hdf5")
    new_values = np.ones(3)
    with Experiment("data.hdf5", mode="r+") as exp:
        exp.data.append(new_values)
    values = [1.0, 2.0]
    with Experiment("data.hdf5", mode="r+") as exp:
        exp.data.append(np.array(values))
    with Experiment("data.hdf5", mode="r") as exp:
        proxy = exp.data
        chunk = proxy[100:200]
        elements = [proxy[i] for i in [1, 5, 9]]
    assert chunk.size == 0 and elements == [0.0, 1.0, 2.0]


def test_mark_non_essential_data_as_non_copiable() -> None:
    class Analysis(Persistable):
        raw_data = SerializableProperty(default=None, copiable=True)
        _cached = SerializableProperty(default=None, copiable=False)

    a = Analysis(raw_data=np.arange(3), _cached="expensive")
    a.save("a.hdf5")
    back = Analysis.load("a.hdf5")
    assert back._cached is None and back.raw_data.tolist() == [0, 1, 2]


def test_troubleshooting_type_error_message() -> None:
    class MyType:
        pass

    with pytest.raises(TypeError, match="MyType"):
        Experiment(data=MyType()).save("x.hdf5")


def test_corrupted_file_check_with_h5py() -> None:
    import h5py

    Experiment().save("data.hdf5")
    with h5py.File("data.hdf5", "r") as f:
        assert "root" in f
