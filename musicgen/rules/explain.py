"""Violations in words a musician reads, and the worst bars of a piece.

A :class:`Violation` is one broken rule at one place: "bar 7, beat 3: F#5 is not a tone of the C major
chord (C–E–G, estimated from the bar's notes)". Bars are numbered from 1, or from 0 when the piece
starts with a pickup (anacrusis) bar, as printed music numbers them. Beats are counted from 1 in the
unit of the meter's denominator (quarters in 4/4, eighths in 6/8); a position between beats is written
as a decimal ("beat 2.5" is the second eighth of beat 2 in 4/4).

Each violation carries ``cost``: how much it lowers R_F, i.e. α·(reward − penalty) × (events it covers)
/ (events the rule judged in the piece). The worst bars are the bars with the largest summed cost.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from musicgen.grid import GridSpec


@dataclass
class Violation:
    """One broken rule at one place.

    Attributes:
        bar: bar number as printed (1-based, or 0-based after a pickup bar).
        beat: 1-based beat within the bar in units of the meter's denominator (may be fractional).
        rule: the rule's name in its rule set.
        kind: the rule's kind.
        message: the whole sentence, "bar 7, beat 3: F#5 is not a tone of the C major chord ...".
        pitch: the MIDI pitch concerned, if one.
        events: how many of the rule's events this violation covers (e.g. grid steps of a too-thick chord).
        cost: how much this violation lowers R_F (see the module docstring).
    """

    bar: int
    beat: float
    rule: str
    kind: str
    message: str
    pitch: int | None = None
    events: int = 1
    cost: float = 0.0

    def as_dict(self) -> dict:
        """Plain-dict form for JSON reports."""
        return asdict(self)


def beat_of_step(step: int, spec: GridSpec) -> float:
    """1-based beat (in denominator units) of a step within a bar."""
    steps_per_beat = spec.steps_per_quarter * 4.0 / spec.denominator
    return 1.0 + step / steps_per_beat


def format_beat(beat: float) -> str:
    """ "3" for 3.0, "2.5" for 2.5, "1.33" for 1 + 1/3."""
    return f"{beat:.2f}".rstrip("0").rstrip(".")


def where(bar: int, beat: float | None = None) -> str:
    """ "bar 7, beat 3" (or "bar 7" when ``beat`` is None)."""
    return f"bar {bar}" if beat is None else f"bar {bar}, beat {format_beat(beat)}"
