"""Classes and objects written by jangada 0.1.9 for the golden files of tests/data/jangada/.

Run with jangada 0.1.9 installed in a throwaway environment (it is not a dependency):

    python3 -m venv /tmp/jvenv && /tmp/jvenv/bin/pip install jangada==0.1.9
    cd tools/jangada_golden && /tmp/jvenv/bin/python make_files.py ../../tests/data/jangada

The same classes (same module and qualified names) are defined in tests/test_jangada_files.py.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pandas as pd

try:  # jangada when generating, jangada_like when the tests import this module
    from jangada.serialization import Persistable, SerializableProperty
except ImportError:  # pragma: no cover
    from jangada_like import Persistable, SerializableProperty


class Measurement(Persistable):
    timestamp = SerializableProperty(default=None)
    value = SerializableProperty(default=0.0)


class Experiment(Persistable):
    name = SerializableProperty(default="")
    temperature = SerializableProperty(default=293.15)
    count = SerializableProperty(default=0)
    flag = SerializableProperty(default=False)
    nothing = SerializableProperty(default=None)
    path = SerializableProperty(default=None)
    data = SerializableProperty(default=None)
    grid = SerializableProperty(default=None)
    numbers = SerializableProperty(default=None)
    metadata = SerializableProperty(default=None)
    measurements = SerializableProperty(default=None)
    times = SerializableProperty(default=None)


def experiment() -> Experiment:
    return Experiment(
        name="jangada golden",
        temperature=373.15,
        count=42,
        flag=True,
        nothing=None,
        path=pathlib.Path("/data/raw.bin"),
        data=np.array([1.2, 3.4, 5.6]),
        grid=np.arange(12, dtype=np.int32).reshape(3, 4),
        numbers=list(range(25)),
        metadata={"pi": 3.14, "items": [1, 2, 3], "unit": "K"},
        measurements=[
            Measurement(timestamp=pd.Timestamp("2024-01-01 12:00", tz="Europe/Berlin"), value=1.2),
            Measurement(timestamp=pd.Timestamp("2024-07-01 12:00", tz="Europe/Berlin"), value=3.4),
            Measurement(timestamp=pd.Timestamp("2024-01-03"), value=5.6),
        ],
        times=pd.date_range("2024-03-01", periods=5, freq="D", tz="UTC"),
    )
