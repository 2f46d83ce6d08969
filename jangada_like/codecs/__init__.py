"""The built-in codecs, one module per type family; :mod:`jangada_like.registry` registers them.

See :mod:`jangada_like.codecs.base` for the contract a custom codec follows.  Codecs import only the
door's interface (:mod:`jangada_like.codecs.base`), the format vocabulary (:mod:`jangada_like._h5`)
and errors, plus the object model for the object codecs; never the engine, the file layer or the
registry (``tests/test_layers.py``).
"""

from __future__ import annotations

from .base import AttrNode, Codec

__all__ = ["AttrNode", "Codec"]
