"""Expressive rendering: play a written grid the way an emotion asks (tempo, dynamics, articulation).

The parameters live in a TOML file (default: the shipped ``rules/performance.toml``, which documents
each parameter and its sources in music-emotion research). For an :class:`~musicgen.emotion.EmotionCondition`
every numeric parameter is the probability-weighted mean of the 8 classes' values, so a soft live
estimate renders smoothly between the classes.

Pitches are the composer's (the generator's): a performance never changes them. The table's ``mode``
column is used only when the parallel-mode swap is asked for explicitly (``parallel_mode=True``,
``musicgen generate --parallel-mode``), which rewrites scale degrees 3, 6 and 7 (see :func:`change_mode`).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np

from musicgen._toml import tomllib
from musicgen.conditions import EMOTIONS, EmotionCondition
from musicgen.errors import InputError
from musicgen.grid import Grid, grid_to_piece
from musicgen.piece import Key, Piece

NUMERIC = {
    "tempo_qpm": (20.0, 320.0),
    "velocity": (1.0, 127.0),
    "velocity_spread": (0.0, 60.0),
    "accent": (0.0, 60.0),
    "articulation": (0.05, 1.0),
    "timing_jitter_ms": (0.0, 200.0),
}
MODES = ("major", "minor", "keep")


@dataclass(frozen=True)
class PerformanceParams:
    """Rendering parameters for one emotion (units in ``rules/performance.toml``)."""

    tempo_qpm: float
    velocity: float
    velocity_spread: float
    accent: float
    articulation: float
    timing_jitter_ms: float
    mode: str


def load_performance(path: str | Path | None = None) -> dict[str, PerformanceParams]:
    """Load per-emotion rendering parameters from a TOML file (default: the shipped ``performance.toml``).

    Raises:
        InputError: unreadable TOML, a missing emotion, a missing or mistyped field, a value out of range.
    """
    if path is None:
        src = files("musicgen.rulefiles").joinpath("performance.toml")
        name, text = "performance.toml", src.read_text(encoding="utf-8")
    else:
        p = Path(path)
        if not p.is_file():
            raise InputError(p, "no such performance file", reason="missing")
        name, text = str(p), p.read_text(encoding="utf-8")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(name, f"not valid TOML ({exc})", reason="corrupt") from None
    table = doc.get("emotion")
    if not isinstance(table, dict):
        raise InputError(name, "expected [emotion.<name>] tables")
    out = {}
    for e in EMOTIONS:
        if e not in table:
            raise InputError(name, f"[emotion.{e}] is missing")
        row = table[e]
        vals = {}
        for f, (lo, hi) in NUMERIC.items():
            v = row.get(f)
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise InputError(name, f"[emotion.{e}] {f}: expected a number, got {v!r}")
            if not lo <= float(v) <= hi:
                raise InputError(name, f"[emotion.{e}] {f}: {v} is outside {lo:g}..{hi:g}")
            vals[f] = float(v)
        mode = row.get("mode", "keep")
        if mode not in MODES:
            raise InputError(name, f"[emotion.{e}] mode: expected one of {', '.join(MODES)}, got {mode!r}")
        out[e] = PerformanceParams(mode=mode, **vals)
    return out


def params_for(condition: EmotionCondition, table: dict[str, PerformanceParams] | None = None) -> PerformanceParams:
    """The probability-weighted parameters for ``condition``; mode is "minor" when the classes asking for
    minor hold more probability than those asking for major, "major" in the opposite case, else "keep"."""
    table = table or load_performance()
    p = np.asarray(condition.probabilities, dtype=float)
    rows = [table[e] for e in EMOTIONS]
    vals = {f: float(sum(pi * getattr(r, f) for pi, r in zip(p, rows))) for f in NUMERIC}
    minor = sum(pi for pi, r in zip(p, rows) if r.mode == "minor")
    major = sum(pi for pi, r in zip(p, rows) if r.mode == "major")
    mode = "minor" if minor > major else ("major" if major > minor else "keep")
    return PerformanceParams(mode=mode, **vals)


def estimate_key(piece: Piece) -> Key:
    """The piece's key by Krumhansl–Schmuckler over duration-weighted pitch classes (C major if silent)."""
    from musicgen.analysis import estimate_keys

    n = piece.pitched_notes()
    hist = np.bincount(n["pitch"].astype(np.int64) % 12, weights=n["duration"], minlength=12)
    tonic, mode = estimate_keys(hist[None, :])[0]
    return Key(int(tonic), "minor" if mode else "major")


def change_mode(piece: Piece, target: str) -> Piece:
    """Move a piece to the parallel mode ``target`` ("major"/"minor"; "keep" returns a copy).

    Major -> minor lowers scale degrees 3, 6 and 7 of the estimated key by a semitone (natural minor);
    minor -> major raises minor degrees 3, 6 and 7. Other notes are unchanged. The result carries its
    (estimated) key, also for "keep".
    """
    out = piece.copy()
    if not len(out):
        return out
    key = estimate_key(out)
    if target == "keep" or key.mode == target:
        out.key = key
        return out
    pc = (out.notes["pitch"].astype(np.int64) - key.tonic) % 12
    if target == "minor":
        out.notes["pitch"] = out.notes["pitch"] - np.isin(pc, (4, 9, 11)).astype(np.int16)
    else:
        out.notes["pitch"] = out.notes["pitch"] + np.isin(pc, (3, 8, 10)).astype(np.int16)
    out.key = Key(key.tonic, target)
    return out


def notate(
    written: Grid | Piece,
    condition: EmotionCondition,
    table: dict[str, PerformanceParams] | None = None,
    parallel_mode: bool = False,
    tempo: float | None = None,
) -> Piece:
    """The composition as it is written for ``condition``: the grid as a Piece with the emotion's tempo
    (or ``tempo``, quarter notes per minute, when given) and its key, before any performance nuance
    (dynamics, articulation, timing). This is what rules and metrics judge and what MusicXML holds.

    The pitches are the generator's own. Only with ``parallel_mode`` (an explicit opt-in) is the piece
    moved to the parallel mode the emotion's row of the performance table asks for (see
    :func:`change_mode`); otherwise the key is the grid's (or, when it has none, the estimated one).
    """
    prm = params_for(condition, table)
    piece = grid_to_piece(written) if isinstance(written, Grid) else written.copy()
    if parallel_mode:
        piece = change_mode(piece, prm.mode)
    elif piece.key is None and len(piece):
        piece.key = estimate_key(piece)
    piece.tempos = np.array([[0.0, round(prm.tempo_qpm if tempo is None else float(tempo), 3)]])
    return piece


def _order_keeping_jitter(onsets: np.ndarray, jitter: np.ndarray) -> np.ndarray:
    """Clip per-note onset jitter (ticks) to a third of the gap to the neighbouring onsets, so that
    notes never swap places (notes that start together get none)."""
    on = onsets.astype(np.int64)
    gap_prev = np.diff(on, prepend=on[:1] if on.size else on)
    gap_next = np.diff(on, append=on[-1:] if on.size else on)
    gap_prev[:1] = gap_next[:1]
    gap_next[-1:] = gap_prev[-1:]
    room = np.minimum(gap_prev, gap_next) // 3
    return np.clip(jitter, -room, room)


def render(
    written: Grid | Piece,
    condition: EmotionCondition,
    seed: int = 0,
    table: dict[str, PerformanceParams] | None = None,
    phrase_bars: int = 4,
    parallel_mode: bool = False,
    tempo: float | None = None,
) -> Piece:
    """Render a written grid (or Piece) as a performance for ``condition``.

    The performance changes timing, dynamics and articulation, never pitches: the notes are those of
    :func:`notate` (with ``parallel_mode`` only when asked for), in the same order. ``tempo`` (quarter
    notes per minute) replaces the emotion's tempo when given. It starts from
    :func:`notate` (key and tempo), then applies downbeat accents and a phrase arch
    (velocity rising to the middle of each ``phrase_bars`` phrase and falling back), articulation
    (sounding length = written length x articulation, never shorter than a 32nd note unless the written
    note is) and seeded Gaussian onset jitter (ms, clipped so that no two notes swap places), all from :func:`params_for`. The same inputs and
    seed give the same Piece.

    Returns:
        a one-track violin :class:`Piece` at 480 ticks per quarter; ``meta["performance"]`` holds the
        parameters used.
    """
    prm = params_for(condition, table)
    piece = notate(written, condition, table, parallel_mode, tempo)
    prm = PerformanceParams(**{**prm.__dict__, "tempo_qpm": piece.tempo})
    res = piece.resolution
    n = piece.notes
    bar_ticks = int(round(piece.bar_length * res))
    on = n["onset_tick"].astype(np.int64)
    phrase_pos = (on % (bar_ticks * phrase_bars)) / float(bar_ticks * phrase_bars)
    arch = np.sin(np.pi * phrase_pos) - 0.5  # -0.5 .. 0.5
    downbeat = (on % bar_ticks) == 0
    vel = prm.velocity + prm.velocity_spread * arch + prm.accent * downbeat
    n["velocity"] = np.clip(np.rint(vel), 1, 127).astype(np.int16)
    min_len = res // 8
    d = n["duration_tick"].astype(np.int64)
    n["duration_tick"] = np.maximum(np.rint(d * prm.articulation).astype(np.int64), np.minimum(d, min_len))
    if prm.timing_jitter_ms > 0 and n.size:
        rng = np.random.default_rng(seed)
        ticks_per_ms = prm.tempo_qpm / 60.0 * res / 1000.0
        jit = np.rint(rng.normal(0.0, prm.timing_jitter_ms * ticks_per_ms, n.size)).astype(np.int64)
        n["onset_tick"] = np.maximum(on + _order_keeping_jitter(on, jit), 0)
    n["onset"] = n["onset_tick"] / res
    n["duration"] = n["duration_tick"] / res
    piece.notes = n
    piece.sort()
    piece.meta["performance"] = prm.__dict__.copy()
    return piece
