"""musicgen: emotion-conditioned symbolic music generation (violin first).

Modules, in the order data flows: :mod:`musicgen.io` (files -> :class:`~musicgen.piece.Piece`),
:mod:`musicgen.grid` (Piece <-> bar grid), :mod:`musicgen.corpus` (the fiddle corpus),
:mod:`musicgen.metrics`, :mod:`musicgen.rules`, :mod:`musicgen.model`, :mod:`musicgen.generate`,
:mod:`musicgen.perform`, :mod:`musicgen.emotion`, :mod:`musicgen.cli`.
"""

from __future__ import annotations

from musicgen.piece import Key, Piece, Track

__version__ = "0.1.0"

__all__ = ["Key", "Piece", "Track", "__version__", "generate"]


def __getattr__(name: str):
    # ``musicgen.generate(...)`` without importing torch at ``import musicgen``
    if name == "generate":
        from musicgen.generation import generate

        return generate
    raise AttributeError(f"module 'musicgen' has no attribute {name!r}")
