"""jangada_like: Python object trees in HDF5 files that any HDF5 tool can read.

Examples
--------
>>> import numpy as np, tempfile, os
>>> from jangada_like import Persistable, SerializableProperty
>>> class Experiment(Persistable):
...     name = SerializableProperty(default="")
...     data = SerializableProperty(default=None)
>>> path = Experiment(name="t", data=np.arange(3)).save(os.path.join(tempfile.mkdtemp(), "e"))
>>> Experiment.load(path) == Experiment(name="t", data=np.arange(3))
True
"""

from __future__ import annotations

from . import errors
from . import registry as _registry  # builds the default registry of the built-in codecs
from ._engine import MAX_DEPTH
from ._fileio import compact
from ._h5 import set_memory_budget
from ._untrusted import CheckLimits, check_file
from ._version import __version__
from .codecs.base import Codec
from .generic import GenericRecord
from .persistable import Persistable, load
from .properties import SerializableProperty, sproperty
from .proxy import ProxyDataset
from .registry import CodecRegistry, default_registry, register_codec, register_enum
from .serializable import Serializable, SerializableMetatype, check_types, get_full_qualified_name

del _registry

__all__ = [
    "MAX_DEPTH",
    "CheckLimits",
    "Codec",
    "CodecRegistry",
    "GenericRecord",
    "Persistable",
    "ProxyDataset",
    "Serializable",
    "SerializableMetatype",
    "SerializableProperty",
    "__version__",
    "check_file",
    "check_types",
    "compact",
    "default_registry",
    "errors",
    "get_full_qualified_name",
    "load",
    "register_codec",
    "register_enum",
    "set_memory_budget",
    "sproperty",
]
