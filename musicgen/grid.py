"""Piece <-> fixed bar grid (bars x steps x pitches), with measured quantisation error.

Resolution
----------
The default :class:`GridSpec` has **12 steps per quarter note**. 12 is the least common multiple of
4 (sixteenths) and 3 (eighth-note triplets), and also holds sixteenth-note sextuplets (2 steps) and
thirty-second... no: thirty-seconds (1.5 steps) are *not* representable and are rounded (the report
counts them). A bar of 4/4 is 48 steps, 3/4 is 36, 2/4 is 24, 6/8 is 36, 2/2 is 48.

The pitch axis covers MIDI ``lowest_pitch .. lowest_pitch + n_pitches - 1`` (default 36..107, C2..B7):
the violin's range G3..E7 (55..100) with room on both sides, so that rules can see out-of-range notes.

Cell values
-----------
``0`` silent, ``1`` a note starts here, ``2`` a note started earlier still sounds. Keeping onsets
apart from continuations makes Piece -> grid -> Piece exact for notes on the grid (repeated notes stay
separate).

Meter
-----
A grid has one meter: the piece's first time signature. Bars are counted from time 0 (readers pad a
pickup bar at its start, see :mod:`musicgen.io.notation`). Later meter changes are counted in the
:class:`QuantisationReport` (``meter_changes``), and notes keep their absolute time.

Quantisation is measured, never silent: :func:`piece_to_grid` returns a :class:`QuantisationReport`
with how many notes moved, by how much (in quarter notes), and which were dropped or merged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from musicgen.piece import DEFAULT_RESOLUTION, Key, Piece, Track

SILENT, ONSET, HOLD = 0, 1, 2

VIOLIN_LOWEST = 55  # G3
VIOLIN_HIGHEST = 100  # E7


@dataclass(frozen=True)
class GridSpec:
    """The shape of a bar grid: time resolution, pitch window and meter.

    Attributes:
        steps_per_quarter: grid steps per quarter note (12 holds sixteenths and triplets).
        lowest_pitch: MIDI pitch of pitch index 0.
        n_pitches: size of the pitch axis.
        numerator, denominator: the meter (e.g. 6, 8).
    """

    steps_per_quarter: int = 12
    lowest_pitch: int = 36
    n_pitches: int = 72
    numerator: int = 4
    denominator: int = 4

    @property
    def bar_quarters(self) -> float:
        """Length of one bar in quarter notes."""
        return self.numerator * 4.0 / self.denominator

    @property
    def steps_per_bar(self) -> int:
        """Grid steps in one bar.

        Raises:
            ValueError: the meter does not fit a whole number of steps.
        """
        s = self.bar_quarters * self.steps_per_quarter
        if abs(s - round(s)) > 1e-9:
            raise ValueError(
                f"{self.numerator}/{self.denominator} is not a whole number of steps at {self.steps_per_quarter} per quarter"
            )
        return int(round(s))

    @property
    def highest_pitch(self) -> int:
        """MIDI pitch of the last pitch index."""
        return self.lowest_pitch + self.n_pitches - 1

    def with_meter(self, numerator: int, denominator: int) -> GridSpec:
        """The same spec in another meter."""
        return GridSpec(self.steps_per_quarter, self.lowest_pitch, self.n_pitches, int(numerator), int(denominator))


@dataclass
class QuantisationReport:
    """What putting a piece on a grid changed.

    Attributes:
        n_notes: notes in the piece (all tracks that were gridded).
        n_moved: notes whose onset or end moved by more than a tick.
        mean_abs_error_qn: mean |moved amount| over onsets and ends of all notes, in quarter notes.
        max_abs_error_qn: the largest such move, in quarter notes.
        n_out_of_range: notes dropped because their pitch is outside the grid's pitch window.
        n_merged: notes lost because another note at the same pitch starts on the same step.
        n_truncated: notes cut short because a note at the same pitch starts before they end.
        meter_changes: time-signature changes after the first (the grid keeps the first meter).
    """

    n_notes: int = 0
    n_moved: int = 0
    mean_abs_error_qn: float = 0.0
    max_abs_error_qn: float = 0.0
    n_out_of_range: int = 0
    n_merged: int = 0
    n_truncated: int = 0
    meter_changes: int = 0

    @property
    def exact(self) -> bool:
        """True when the grid holds every note unchanged."""
        return self.n_moved == 0 and self.n_out_of_range == 0 and self.n_merged == 0 and self.n_truncated == 0

    def as_dict(self) -> dict:
        """Plain-dict form for JSON reports."""
        return asdict(self)


@dataclass
class Grid:
    """A piece on a bar grid.

    Attributes:
        data: int8 array (bars, steps_per_bar, n_pitches) of SILENT/ONSET/HOLD.
        spec: the :class:`GridSpec` that gives the axes their meaning.
        tempo: quarter notes per minute.
        key: the piece's key, if known.
        chords: (n, 3) array of chord symbols (onset qn, root pc, quality), as in :class:`Piece`.
        velocity: velocity given to notes when the grid is turned back into a Piece.
        meta: free-form metadata carried from the Piece.
    """

    data: np.ndarray
    spec: GridSpec = field(default_factory=GridSpec)
    tempo: float = 120.0
    key: Key | None = None
    chords: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    velocity: int = 80
    meta: dict = field(default_factory=dict)

    @property
    def n_bars(self) -> int:
        """Number of bars."""
        return int(self.data.shape[0])

    def sounding(self) -> np.ndarray:
        """Boolean (bars, steps, pitches): True where a note sounds (onset or hold)."""
        return self.data != SILENT


def piece_to_grid(
    piece: Piece,
    spec: GridSpec | None = None,
    tracks: list[int] | None = None,
    n_bars: int | None = None,
) -> tuple[Grid, QuantisationReport]:
    """Quantise ``piece`` onto a bar grid.

    Each note's onset and end are rounded to the nearest step (a note keeps at least one step).

    Args:
        piece: the piece.
        spec: resolution and pitch window; its meter is replaced by the piece's first time signature.
        tracks: track indices to include (default: all non-drum tracks).
        n_bars: number of bars (default: as many as the notes reach); notes past it are dropped and
            counted as out of range.

    Returns:
        (grid, report).

    Raises:
        ValueError: the meter does not fit the spec's resolution.
    """
    spec = (spec or GridSpec()).with_meter(*piece.time_signature)
    spb = spec.steps_per_bar
    notes = piece.pitched_notes()
    if tracks is not None:
        notes = notes[np.isin(notes["track"], tracks)]
    report = QuantisationReport(n_notes=int(notes.size), meter_changes=int(max(0, len(piece.time_signatures) - 1)))
    spq = spec.steps_per_quarter
    on_exact = notes["onset_tick"] * spq / piece.resolution
    end_exact = (notes["onset_tick"] + notes["duration_tick"]) * spq / piece.resolution
    on = np.rint(on_exact).astype(np.int64)
    end = np.maximum(np.rint(end_exact).astype(np.int64), on + 1)
    err_on = np.abs(on - on_exact) / spq
    err_end = np.abs(end - end_exact) / spq
    tick_q = 1.0 / piece.resolution
    moved = (err_on > tick_q / 2 + 1e-12) | (err_end > tick_q / 2 + 1e-12)
    report.n_moved = int(moved.sum())
    if notes.size:
        errs = np.concatenate([err_on, err_end])
        report.mean_abs_error_qn = float(errs.mean())
        report.max_abs_error_qn = float(errs.max())
    if n_bars is None:
        n_bars = int(np.ceil(end.max() / spb)) if notes.size else 0
    total = n_bars * spb
    pidx = notes["pitch"].astype(np.int64) - spec.lowest_pitch
    keep = (pidx >= 0) & (pidx < spec.n_pitches) & (on < total)
    report.n_out_of_range = int((~keep).sum())
    on, end, pidx = on[keep], np.minimum(end[keep], total), pidx[keep]

    flat = np.zeros((total, spec.n_pitches), dtype=np.int8)
    if on.size:
        # duplicates at the same (onset, pitch) merge
        key_ = on * spec.n_pitches + pidx
        uniq, first = np.unique(key_, return_index=True)
        report.n_merged = int(on.size - uniq.size)
        # holds first, then onsets overwrite (a new onset cuts a sounding note at that pitch)
        lengths = end - on - 1
        rep_on = np.repeat(on + 1, lengths)
        ramp = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        flat[rep_on + ramp, np.repeat(pidx, lengths)] = HOLD
        flat[on, pidx] = ONSET
        # truncation: a note whose span contains another onset at its pitch
        order = np.lexsort((on, pidx))
        s_on, s_end, s_p = on[order], end[order], pidx[order]
        same = s_p[1:] == s_p[:-1]
        report.n_truncated = int(np.sum(same & (s_on[1:] < s_end[:-1]) & (s_on[1:] > s_on[:-1])))
    grid = Grid(
        data=flat.reshape(n_bars, spb, spec.n_pitches),
        spec=spec,
        tempo=piece.tempo,
        key=piece.key,
        chords=piece.chords.copy(),
        velocity=int(np.median(notes["velocity"])) if notes.size else 80,
        meta=dict(piece.meta, title=piece.title, source=piece.source),
    )
    return grid, report


def note_starts(cells: np.ndarray) -> np.ndarray:
    """Boolean array of note starts, shaped like ``cells`` (..., steps, pitches), reading the steps of all
    bars of a piece as one sequence: an ONSET cell, or a HOLD with nothing sounding before it at that
    pitch (a continuation with nothing to continue starts a note).

    Args:
        cells: int (N, bars, steps, pitches), (N, steps, pitches) or (steps, pitches) of 0/1/2.
    """
    c = np.asarray(cells)
    single = c.ndim == 2
    if single:
        c = c[None]
    flat = c.reshape(c.shape[0], -1, c.shape[-1])
    snd = flat != SILENT
    prev = np.zeros_like(snd)
    prev[:, 1:] = snd[:, :-1]
    out = ((flat == ONSET) | (snd & ~prev)).reshape(c.shape)
    return out[0] if single else out


def grid_notes(data: np.ndarray, spec: GridSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Extract notes from one grid array (bars, steps, pitches).

    A HOLD with nothing sounding before it at that pitch is read as an onset.

    Returns:
        (onset_step, duration_steps, midi_pitch) int arrays, sorted by onset then pitch.
    """
    flat = np.asarray(data).reshape(-1, data.shape[-1])
    sounding = flat != SILENT
    starts = note_starts(flat)
    nxt_hold = np.zeros_like(sounding)
    nxt_hold[:-1] = flat[1:] == HOLD
    ends = sounding & ~nxt_hold  # last step of a note
    # pair starts and ends per pitch: sort both by (pitch, time); they alternate
    st_t, st_p = np.nonzero(starts)
    en_t, en_p = np.nonzero(ends)
    o1 = np.lexsort((st_t, st_p))
    o2 = np.lexsort((en_t, en_p))
    st_t, st_p, en_t = st_t[o1], st_p[o1], en_t[o2]
    dur = en_t - st_t + 1
    order = np.lexsort((st_p, st_t))
    return st_t[order].astype(np.int64), dur[order].astype(np.int64), (st_p[order] + spec.lowest_pitch).astype(np.int64)


def grid_to_piece(grid: Grid, resolution: int = DEFAULT_RESOLUTION, program: int | None = None) -> Piece:
    """Turn a grid back into a single-track :class:`Piece` (violin unless ``program`` says otherwise).

    Notes get ``grid.velocity``; tempo, key, meter and chords come from the grid.
    """
    from musicgen.piece import VIOLIN_PROGRAM

    on, dur, pitch = grid_notes(grid.data, grid.spec)
    tpstep = resolution // grid.spec.steps_per_quarter
    if tpstep * grid.spec.steps_per_quarter != resolution:
        raise ValueError("resolution must be a multiple of steps_per_quarter")
    return Piece.from_arrays(
        on * tpstep,
        dur * tpstep,
        pitch,
        np.full(on.size, grid.velocity),
        resolution=resolution,
        tracks=[Track("Violin", VIOLIN_PROGRAM if program is None else program)],
        time_signatures=np.array([[0, grid.spec.numerator, grid.spec.denominator]], dtype=np.int64),
        tempos=np.array([[0.0, float(grid.tempo)]]),
        key=grid.key,
        chords=grid.chords.copy(),
        title=str(grid.meta.get("title", "")),
        source=str(grid.meta.get("source", "")),
    )
