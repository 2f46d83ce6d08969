"""The jangada_like demo: define a class, save, append a time series, reopen lazily, print the tree.

Run it with the first command of README.rst.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pandas as pd

from jangada_like import Persistable, SerializableProperty
from jangada_like.cli import tree


class Measurement(Persistable):
    """One reading of a probe."""

    timestamp = SerializableProperty(default=None)
    value = SerializableProperty(default=0.0)


class Experiment(Persistable):
    """A run: metadata, a few readings, and a growing time series."""

    name = SerializableProperty(default="")
    parameters = SerializableProperty(default={})  # copied per instance, never shared
    measurements = SerializableProperty(default=[])
    time = SerializableProperty(default=None)
    signal = SerializableProperty(default=None)


def main() -> None:
    folder = tempfile.mkdtemp(prefix="jangada_like_demo_")
    path = os.path.join(folder, "experiment.hdf5")
    start = pd.Timestamp("2026-11-22 09:00", tz="Europe/Berlin")

    exp = Experiment(
        name="Cavity ring-down",
        parameters={"laser_nm": 1064.0, "gain": 3, "probes": ["A", "B"]},
        measurements=[
            Measurement(timestamp=start + pd.Timedelta(minutes=i), value=1.5 * i) for i in range(3)
        ],
        time=pd.date_range(start, periods=4, freq="s", name="time"),
        signal=np.zeros((4, 2)),
    )
    exp.save(path)
    loaded = Experiment.load(path)
    assert loaded == exp, "round trip changed the object"
    print(f"saved and loaded {path}: equal = {loaded == exp}")

    # three acquisition sessions, each appending aligned rows to the time index and the signal
    rng = np.random.default_rng(0)
    for session in range(3):
        with Experiment(path, mode="r+") as live:
            t0 = live.time[-1]
            new_times = pd.date_range(t0 + pd.Timedelta(seconds=1), periods=5, freq="s")
            live.time.append(new_times)
            live.signal.append(rng.normal(size=(5, 2)))
            live.parameters = {**live.parameters, "sessions": session + 1}

    with Experiment(path, mode="r") as lazy:
        print(f"signal on disk: {lazy.signal!r}")
        print("rows 4..6 read lazily:")
        print(pd.DataFrame(lazy.signal[4:7], index=lazy.time[4:7], columns=["ch0", "ch1"]))
        print(f"sessions recorded: {lazy.parameters['sessions']}")

    print()
    print(tree(path))


if __name__ == "__main__":
    main()
