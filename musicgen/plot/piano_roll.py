"""Piano rolls with the rules engine's view of a piece.

Piano roll (:func:`plot_piece`)
-------------------------------
Time runs left to right in bars of the piece's first meter (bar lines, bar numbers as printed music numbers
them: from 0 after a pickup); pitch runs upwards with note names on the axis and the black-key rows
shaded. A note is a bar as long as it sounds, darker the louder it is (velocity). Above each bar stands
its chord: the piece's chord symbols where it has them, else the rules engine's estimate for the bar
(:func:`musicgen.rules.estimate_bar_chords`, the chord the ``chord_tones`` rule judges against). The
notes that break a rule of the rule set (``violin`` by default) are drawn in that rule's colour; a bar
that breaks a bar-level rule (too many rests) is tinted. The legend counts them. The title gives the
piece, the emotion when known, key, tempo, meter and R_F.

Everything is drawn with matplotlib's Agg canvas (no display needed, no global pyplot state) and written
atomically; an existing file is only replaced with ``force=True``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from musicgen._figure import DPI, new_figure, png_bytes
from musicgen._files import atomic_write_bytes
from musicgen.piece import PITCH_NAMES, Piece

_NOTE_COLOUR = "#2f5d9e"
#: Colours of the rules' violations, by rule kind (other kinds take the next free colour of _SPARE).
_RULE_COLOURS = {
    "strong_beat_chord_tones": "#d62728",
    "pitch_range": "#8e24aa",
    "polyphony": "#ef6c00",
    "in_key": "#c2185b",
}
_SPARE = ("#00897b", "#6d4c41", "#827717", "#5e35b1")
_BAR_RULE_COLOUR = "#f6c3c3"
_QUALITY_SUFFIX = ("", "m", "°", "+")


# --------------------------------------------------------------------------------------- chords, rules
def chord_symbol(root: int, quality: int) -> str:
    """A compact chord symbol: (9, 1) -> "Am", (7, 0) -> "G", (11, 2) -> "B°", (0, 3) -> "C+"."""
    return f"{PITCH_NAMES[int(root) % 12]}{_QUALITY_SUFFIX[int(quality) % 4]}"


def _grid(piece: Piece):
    """The piece on the rules engine's grid (as :meth:`RuleSet.score_piece` puts it), or None."""
    from musicgen.grid import GridSpec, piece_to_grid

    notes = piece.pitched_notes()
    lo = int(notes["pitch"].min()) if notes.size else 60
    hi = int(notes["pitch"].max()) if notes.size else 60
    for spq in (12, 24, 48):
        try:
            return piece_to_grid(piece, GridSpec(spq, lo, hi - lo + 1))[0]
        except ValueError:
            continue
    return None


def bar_chords(piece: Piece) -> list[tuple[float, int, int, bool]]:
    """The chords to print over a piece: its chord symbols where it has them, else one estimated triad
    per bar (the rules engine's estimate, in the piece's key or the estimated one).

    Returns:
        (onset in quarter notes, root pitch class, quality code 0 major / 1 minor / 2 diminished /
        3 augmented, estimated) per chord, in time order; empty for a piece without notes.
    """
    if piece.chords.size:
        ch = np.asarray(piece.chords, dtype=np.float64).reshape(-1, 3)
        ch = ch[np.argsort(ch[:, 0], kind="stable")]
        return [(float(t), int(r) % 12, int(q), False) for t, r, q in ch]
    if not len(piece.pitched_notes()):
        return []
    from musicgen.rules import normalise_keys
    from musicgen.rules.context import GridContext

    grid = _grid(piece)
    if grid is None:
        return []
    ctx = GridContext(grid.data[None], grid.spec, normalise_keys(piece.key, 1), None)
    bq = grid.spec.bar_quarters
    return [(b * bq, int(r), int(q), True) for b, (r, q) in enumerate(ctx.bar_chords[0])]


def _violation_marks(piece: Piece, score) -> tuple[np.ndarray, dict[int, set[str]], dict[str, str]]:
    """Which notes break which rule (rule name per note index, '' for none), which bars (0-based) break
    a bar-level rule, and each rule's kind."""
    from musicgen.rules.explain import Violation  # noqa: F401  (documents the type of score.violations)

    notes = piece.notes
    rule_of_note = np.full(len(notes), "", dtype=object)
    bars: dict[int, set[str]] = {}
    kinds: dict[str, str] = {}
    num, den = piece.time_signature
    bq = piece.bar_length
    tol = 1.0 / 24 + 1e-9  # half a grid step at 12 steps per quarter: the engine's rounding
    on = notes["onset"]
    end = on + notes["duration"]
    drums = [i for i, t in enumerate(piece.tracks) if t.is_drum]
    pitched = ~np.isin(notes["track"], drums)
    for v in score.violations:
        kinds[v.rule] = v.kind
        bar0 = v.bar - score.bar_offset
        t = bar0 * bq + (v.beat - 1.0) * 4.0 / den
        if v.pitch is not None:
            hit = pitched & (notes["pitch"] == v.pitch) & (on <= t + tol) & (end > t + tol)
            if not hit.any():  # a note shortened to nothing by rounding: take the nearest onset
                cand = np.nonzero(pitched & (notes["pitch"] == v.pitch))[0]
                if cand.size:
                    hit = np.zeros(len(notes), dtype=bool)
                    hit[cand[np.argmin(np.abs(on[cand] - t))]] = True
        elif v.kind == "polyphony":
            hit = pitched & (on <= t + tol) & (end > t + tol)
        else:
            bars.setdefault(bar0, set()).add(v.rule)
            continue
        rule_of_note[hit & (rule_of_note == "")] = v.rule
    return rule_of_note, bars, kinds


def _rule_colours(names: Sequence[str], kinds: dict[str, str]) -> dict[str, str]:
    out, spare = {}, list(_SPARE)
    for n in names:
        c = _RULE_COLOURS.get(kinds.get(n, ""))
        if c is None or c in out.values():
            c = spare.pop(0) if spare else "#000000"
        out[n] = c
    return out


# --------------------------------------------------------------------------------------- piano roll
def piano_roll_size(piece: Piece) -> tuple[float, float]:
    """Default figure size of :func:`plot_piece` in inches: width clip(2.5 + 0.75 × bars, 8, 30), height
    clip(2.2 + 0.11 × rows, 5, 9.5) where rows = highest − lowest pitch + 5 (two spare rows each side).

    At :data:`DPI` (120) a 16-bar piece spanning two octaves is 1740 × 640 pixels.
    """
    notes = piece.pitched_notes()
    rows = int(notes["pitch"].max()) - int(notes["pitch"].min()) + 5 if notes.size else 29
    return (float(np.clip(2.5 + 0.75 * max(piece.n_bars, 1), 8.0, 30.0)), float(np.clip(2.2 + 0.11 * rows, 5.0, 9.5)))


def _pitch_ticks(lo: int, hi: int, inches: float) -> tuple[list[int], list[str]]:
    """Pitch-axis ticks: every natural note where a semitone row is at least 0.13 inch tall; C D E G A
    (never two labels a semitone apart) down to 0.075 inch; else C, E and G."""
    row = inches / max(hi - lo + 1, 1)
    naturals = (0, 2, 4, 5, 7, 9, 11) if row >= 0.13 else ((0, 2, 4, 7, 9) if row >= 0.075 else (0, 4, 7))
    ticks = [p for p in range(lo, hi + 1) if p % 12 in naturals]
    return ticks, [f"{PITCH_NAMES[p % 12]}{p // 12 - 1}" for p in ticks]


def piano_roll_figure(
    piece: Piece,
    *,
    emotion: str | None = None,
    rules: Any = "violin",
    title: str | None = None,
    size: tuple[float, float] | None = None,
):
    """The piano roll of :func:`plot_piece` as a matplotlib ``Figure`` (for notebooks or further drawing).

    Raises:
        as :func:`plot_piece`.
    """
    from matplotlib.collections import PatchCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle
    from matplotlib.transforms import blended_transform_factory

    from musicgen.rules import RuleSet

    if not len(piece.pitched_notes()):
        from musicgen.errors import InputError

        raise InputError(piece.source or piece.title or "<piece>", "no notes to draw", reason="no notes")
    rs = None if rules is None else (rules if isinstance(rules, RuleSet) else RuleSet.load(rules))
    score = rs.score_piece(piece) if rs is not None else None

    notes = piece.pitched_notes()
    idx_pitched = np.nonzero(~np.isin(piece.notes["track"], [i for i, t in enumerate(piece.tracks) if t.is_drum]))[0]
    if score is not None:
        rule_of_note, bad_bars, kinds = _violation_marks(piece, score)
        rule_of_note = rule_of_note[idx_pitched]
    else:
        rule_of_note, bad_bars, kinds = np.full(len(notes), "", dtype=object), {}, {}
    bq = piece.bar_length
    n_bars = max(piece.n_bars, 1)
    bar_offset = score.bar_offset if score is not None else (0 if float(piece.meta.get("pickup_qn", 0) or 0) > 0 else 1)
    lo, hi = int(notes["pitch"].min()), int(notes["pitch"].max())
    lo_y, hi_y = lo - 2, hi + 2

    width, height = size or piano_roll_size(piece)
    fig = new_figure(width, height)
    # fixed margins in inches: 1.1 above (title, facts, chords), 0.9 below (bar numbers, legend)
    left, top_in, bottom_in = 0.75 / width, 1.1 / height, 0.9 / height
    ax = fig.add_axes((left, bottom_in, 0.99 - left, 1 - top_in - bottom_in))
    ax.set_xlim(0, n_bars * bq)
    ax.set_ylim(lo_y - 0.5, hi_y + 0.5)
    # black-key rows, beat and bar lines
    for p in range(lo_y, hi_y + 1):
        if p % 12 in (1, 3, 6, 8, 10):
            ax.axhspan(p - 0.5, p + 0.5, color="#eef1f5", lw=0, zorder=0)
        if p % 12 == 0:
            ax.axhline(p - 0.5, color="#c5cbd3", lw=0.6, zorder=0.5)
    num, den = piece.time_signature
    beat = 4.0 / den
    for t in np.arange(0, n_bars * bq + 1e-9, beat):
        ax.axvline(t, color="#e2e5ea", lw=0.5, zorder=0.6)
    for b in range(n_bars + 1):
        ax.axvline(b * bq, color="#59626e", lw=1.0, zorder=0.7)
    for b in bad_bars:
        ax.axvspan(b * bq, (b + 1) * bq, color=_BAR_RULE_COLOUR, alpha=0.55, lw=0, zorder=0.55)

    # notes: shade by velocity, rule colour where a rule is broken
    from matplotlib import colormaps

    blues = colormaps["Blues"]
    vel = np.clip(notes["velocity"].astype(float), 1, 127)
    broken = sorted({r for r in rule_of_note if r})
    colours = _rule_colours(broken, kinds)
    faces = [colours[r] if r else blues(0.25 + 0.75 * (v / 127.0)) for r, v in zip(rule_of_note, vel)]
    rects = [
        Rectangle((o, p - 0.42), max(d, 0.02), 0.84)
        for o, d, p in zip(notes["onset"], notes["duration"], notes["pitch"])
    ]
    ax.add_collection(PatchCollection(rects, facecolors=faces, edgecolors="#1b2a41", linewidths=0.5, zorder=2))

    # axes: bar numbers below, note names left
    ax.set_xticks([b * bq + bq / 2 for b in range(n_bars)])
    step = 1 if n_bars <= 40 else 2
    ax.set_xticklabels([str(b + bar_offset) if b % step == 0 else "" for b in range(n_bars)], fontsize=9)
    ax.tick_params(axis="x", length=0)
    ax.set_xlabel("bar", fontsize=10)
    yt, yl = _pitch_ticks(lo_y, hi_y, height - 2.0)
    ax.set_yticks(yt)
    ax.set_yticklabels(yl, fontsize=8)
    for lab, p in zip(ax.get_yticklabels(), yt):
        if p % 12 == 0:
            lab.set_fontweight("bold")
    ax.set_ylabel("pitch", fontsize=10)
    for s in ("top", "right"):
        ax.spines[s].set_visible(False)

    # chords above the bars
    chords = bar_chords(piece)
    tr = blended_transform_factory(ax.transData, ax.transAxes)
    estimated = any(c[3] for c in chords)
    for t, r, q, est in chords:
        if 0 <= t < n_bars * bq:
            ax.text(
                t + 0.06 * bq,
                1.015,
                chord_symbol(r, q),
                transform=tr,
                ha="left",
                va="bottom",
                fontsize=10,
                fontweight="normal" if est else "bold",
                color="#37474f" if est else "#000000",
                style="italic" if est else "normal",
            )

    # title
    key = piece.key if piece.key is not None else (score.key if score is not None else None)
    key_txt = (
        f"{key}" + (" (estimated)" if piece.key is None and key is not None else "")
        if key is not None
        else "key unknown"
    )
    emo = emotion if emotion is not None else piece.meta.get("emotion")
    head = title if title is not None else (piece.title or (Path(piece.source).name if piece.source else "piece"))
    facts = ([f"emotion: {emo}"] if emo else []) + [
        f"key: {key_txt}",
        f"{piece.tempo:.0f} bpm",
        f"{num}/{den}",
        f"{piece.n_bars} bar{'s' if piece.n_bars != 1 else ''}",
    ]
    if score is not None:
        facts.append(f"R_F {score.r_f:.3f} ({rs.name} rules)")
    fig.text(left, 1 - 0.12 / height, head, fontsize=14, fontweight="bold", ha="left", va="top")
    fig.text(left, 1 - 0.5 / height, "  ·  ".join(facts), fontsize=10.5, ha="left", va="top", color="#263238")
    chord_note = (
        "chords: " + ("estimated per bar by the rules engine (italic)" if estimated else "chord symbols")
        if chords
        else ""
    )
    if chord_note:
        fig.text(0.99, 1 - 0.5 / height, chord_note, fontsize=9, ha="right", va="top", color="#546e7a")

    # legend
    handles = [Patch(facecolor=blues(0.8), edgecolor="#1b2a41", label="note (darker = louder)")]
    for r in broken:
        n = int(np.sum(rule_of_note == r))
        handles.append(
            Patch(facecolor=colours[r], edgecolor="#1b2a41", label=f"breaks '{r}' ({n} note{'s' if n != 1 else ''})")
        )
    bar_rules = sorted({r for names in bad_bars.values() for r in names})
    for r in bar_rules:
        n = sum(r in names for names in bad_bars.values())
        handles.append(Patch(facecolor=_BAR_RULE_COLOUR, label=f"bar breaks '{r}' ({n} bar{'s' if n != 1 else ''})"))
    if score is not None and not broken and not bar_rules:
        handles.append(Line2D([], [], color="none", label=f"no rule of '{rs.name}' broken"))
    ax.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, 0.0),
        bbox_transform=fig.transFigure,
        ncol=min(len(handles), 5),
        frameon=False,
        fontsize=9.5,
        handlelength=1.6,
    )
    return fig


def plot_piece(
    piece: Piece,
    path: str | os.PathLike,
    *,
    emotion: str | None = None,
    rules: Any = "violin",
    title: str | None = None,
    size: tuple[float, float] | None = None,
    dpi: int = DPI,
    force: bool = False,
) -> Path:
    """Draw ``piece`` as a piano roll (see the module docstring) and write it as a PNG file.

    Args:
        piece: the piece (for a generated one, its written ``notation`` lines up with the bar lines).
        path: the PNG file to write.
        emotion: the emotion to name in the title (default: ``piece.meta["emotion"]`` if any).
        rules: rule set (name, path or :class:`~musicgen.rules.RuleSet`) whose violations are marked;
            None marks none.
        title: the title (default: the piece's title or file name).
        size: (width, height) in inches; default :func:`piano_roll_size` (width grows with the bars).
        dpi: dots per inch: the PNG is ``round(width × dpi)`` × ``round(height × dpi)`` pixels.
        force: replace an existing file.

    Returns:
        the path written.

    Raises:
        InputError: a piece without notes; a rule file that cannot be read.
        UsageError: an unknown rule set; ``path`` exists without ``force``, or its folder is missing.
    """
    from musicgen._files import check_writable

    check_writable(path, force)
    fig = piano_roll_figure(piece, emotion=emotion, rules=rules, title=title, size=size)
    return atomic_write_bytes(path, png_bytes(fig, dpi), force)
