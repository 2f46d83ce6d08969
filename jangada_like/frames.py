"""The lazy DataFrame handle of sessions, :class:`FrameProxy` (importing it imports pandas).

Examples
--------
>>> from jangada_like.frames import FrameProxy
>>> from jangada_like.codecs.frames import FrameProxy as Same
>>> FrameProxy is Same
True
"""

from __future__ import annotations

from .codecs.frames import FrameProxy

__all__ = ["FrameProxy"]
