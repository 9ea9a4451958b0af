"""See a piece, a folder or a session: piano rolls with the rules engine's view, metric distributions,
engraved scores, and the timeline of a live session.

    >>> import musicgen
    >>> musicgen.plot_piece(piece, "piece.png", emotion="sad")          # piano roll, rule breaks marked
    >>> from musicgen.plot import plot_metrics, engrave
    >>> plot_metrics([("generated", report_a), ("corpus", report_b)], "metrics.png")
    >>> engrave(piece, "piece.pdf")                                     # needs LilyPond or MuseScore

Modules: :mod:`.piano_roll` (:func:`plot_piece`), :mod:`.distributions` (:func:`plot_metrics`),
:mod:`.engraving` (:func:`engrave`), :mod:`.session` (:func:`plot_session`); they share the Agg canvas
and PNG encoding of :mod:`musicgen._figure`. Everything is written atomically; an existing file is only replaced
with ``force=True``.
"""

from __future__ import annotations

from musicgen._figure import DPI
from musicgen.plot.distributions import metrics_figure, plot_metrics
from musicgen.plot.engraving import Engraver, EngraverError, EngraverMissing, engrave, find_engraver
from musicgen.plot.piano_roll import bar_chords, chord_symbol, piano_roll_figure, piano_roll_size, plot_piece
from musicgen.plot.session import plot_session, session_figure

__all__ = [
    "DPI",
    "Engraver",
    "EngraverError",
    "EngraverMissing",
    "bar_chords",
    "chord_symbol",
    "engrave",
    "find_engraver",
    "metrics_figure",
    "piano_roll_figure",
    "piano_roll_size",
    "plot_metrics",
    "plot_piece",
    "plot_session",
    "session_figure",
]
