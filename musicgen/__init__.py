"""musicgen: emotion-conditioned symbolic music generation (violin first).

Hear and see a piece: :func:`render_audio` (float32 stereo audio at 44100 Hz, through FluidSynth and a
SoundFont; see :mod:`musicgen.audio`) and :func:`plot_piece` (a piano-roll PNG with bars, chords and rule
breaks; see :mod:`musicgen.plot`).

Modules, in the order data flows: :mod:`musicgen.io` (files -> :class:`~musicgen.piece.Piece`),
:mod:`musicgen.grid` (Piece <-> bar grid), :mod:`musicgen.corpus` (the fiddle corpus),
:mod:`musicgen.metrics`, :mod:`musicgen.rules`, :mod:`musicgen.model`, :mod:`musicgen.generate`,
:mod:`musicgen.perform`, :mod:`musicgen.emotion`, :mod:`musicgen.cli`.
"""

from __future__ import annotations

from musicgen.piece import Key, Piece, Track

__version__ = "0.1.0"

__all__ = ["Key", "Piece", "Track", "__version__", "generate", "plot_piece", "render_audio"]


def __getattr__(name: str):
    # ``musicgen.generate(...)`` without importing torch at ``import musicgen``
    if name == "generate":
        from musicgen.generation import generate

        return generate
    # ``musicgen.render_audio(piece)`` / ``musicgen.plot_piece(piece, path)`` without importing
    # FluidSynth or matplotlib at ``import musicgen`` (see musicgen.audio and musicgen.plot)
    if name == "render_audio":
        from musicgen.audio import render_audio

        return render_audio
    if name == "plot_piece":
        from musicgen.plot import plot_piece

        return plot_piece
    raise AttributeError(f"module 'musicgen' has no attribute {name!r}")
