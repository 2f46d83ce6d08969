"""W2 with jangada 0.1.9 itself, which is not a dependency: run it in a throwaway environment,

    python3 -m venv /tmp/jvenv && /tmp/jvenv/bin/pip install jangada==0.1.9
    /tmp/jvenv/bin/python benchmarks/jangada_w2.py

and compare with the W2 rows of ``python -m benchmarks.run --only W2``.
"""

import os
import tempfile
import time

import numpy as np
from jangada.serialization import Persistable, SerializableProperty  # type: ignore[import-not-found]


class Child(Persistable):
    a = SerializableProperty(default=0)
    b = SerializableProperty(default=0.0)
    c = SerializableProperty(default="")
    d = SerializableProperty(default=False)
    e = SerializableProperty(default=0)
    arr = SerializableProperty(default=None)


class Parent(Persistable):
    children = SerializableProperty(default=None)


def main() -> None:
    rng = np.random.default_rng(1)
    children = [
        Child(a=i, b=i * 0.5, c=f"child {i}", d=i % 2 == 0, e=-i, arr=rng.random(10)) for i in range(2000)
    ]
    parent = Parent(children=children)
    path = os.path.join(tempfile.mkdtemp(), "w2.hdf5")
    saves, loads = [], []
    for _ in range(3):
        start = time.perf_counter()
        parent.save(path)
        saves.append(time.perf_counter() - start)
        start = time.perf_counter()
        Parent.load(path)
        loads.append(time.perf_counter() - start)
    save, load = sorted(saves)[1], sorted(loads)[1]
    print(f"jangada 0.1.9 W2 (2,000 objects): save median {save:.3f} s, load median {load:.3f} s")


if __name__ == "__main__":
    main()
