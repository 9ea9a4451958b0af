"""Reading and writing symbolic music files.

``read_piece(path)`` dispatches on the suffix: ``.mid``/``.midi`` (symusic, exact ticks),
``.xml``/``.musicxml``/``.mxl``/``.abc`` (music21). ``write_midi`` and ``write_musicxml`` write
atomically and refuse to overwrite an existing file unless ``force`` is true.
"""

from __future__ import annotations

import os
from pathlib import Path

from musicgen._files import atomic_write_bytes
from musicgen.errors import InputError
from musicgen.io.midi import MIDI_SUFFIXES, midi_bytes, piece_from_score, piece_to_score, read_midi
from musicgen.io.notation import NOTATION_SUFFIXES, musicxml_bytes, piece_from_stream, piece_to_stream, read_notation
from musicgen.piece import Piece

SUPPORTED_SUFFIXES = MIDI_SUFFIXES + NOTATION_SUFFIXES

__all__ = [
    "SUPPORTED_SUFFIXES",
    "read_piece",
    "write_midi",
    "write_musicxml",
    "midi_bytes",
    "musicxml_bytes",
    "piece_from_score",
    "piece_to_score",
    "piece_from_stream",
    "piece_to_stream",
    "read_midi",
    "read_notation",
]


def read_piece(path: str | Path) -> Piece:
    """Read any supported file into a :class:`Piece`.

    Raises:
        InputError: missing file, unsupported suffix ("unsupported"), or a file that cannot be read
            (reasons "empty", "corrupt", "no notes").
    """
    p = os.fspath(path)
    suffix = os.path.splitext(p)[1].lower()
    if suffix in MIDI_SUFFIXES:
        return read_midi(p)  # raises "missing" itself: no extra stat on the hot path
    if not os.path.isfile(p):
        raise InputError(p, "no such file", reason="missing")
    if suffix in NOTATION_SUFFIXES:
        return read_notation(p)
    raise InputError(
        p,
        f"unsupported file type {suffix or '(none)'}; expected one of {', '.join(SUPPORTED_SUFFIXES)}",
        reason="unsupported",
    )


def write_midi(piece: Piece, path: str | Path, force: bool = False) -> Path:
    """Write ``piece`` as a Standard MIDI File (type 1), atomically.

    Raises:
        OutputExistsError: ``path`` exists and ``force`` is false.
        UsageError: the folder is missing or not writable.
    """
    return atomic_write_bytes(path, midi_bytes(piece), force)


def write_musicxml(piece: Piece, path: str | Path, force: bool = False) -> Path:
    """Write ``piece`` as uncompressed MusicXML, atomically (see :func:`write_midi` for errors)."""
    return atomic_write_bytes(path, musicxml_bytes(piece), force)
