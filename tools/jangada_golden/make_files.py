"""Write the jangada 0.1.9 golden files (see jangada_golden.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from jangada_golden import Experiment, experiment


def main(folder: str) -> None:
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    experiment().save(str(out / "experiment.hdf5"))
    Experiment(name="doc page", temperature=373.15, data=np.array([1.2, 3.4, 5.6])).save(
        str(out / "doc_page.hdf5")
    )
    big = Experiment(name="long list", numbers=list(range(2000)))
    big.save(str(out / "long_list.hdf5"))
    print(f"wrote {sorted(p.name for p in out.iterdir())}")


if __name__ == "__main__":
    main(sys.argv[1])
