"""Theme finder and ``theme_count`` — our definition of the paper's "number of themes".

The D2M-GAN-SCA paper reports a "number of themes" per piece for 4, 8, 16 and 32 bars without
defining it. No standard metric exists; the nearest work is repeated-pattern discovery (MIREX
"Discovery of Repeated Themes and Sections", Meredith's SIA/SIATEC/COSIATEC). This module defines it
as follows, and every threshold is a field of :class:`ThemeParams`.

Definition
----------
A **theme** is a melodic pattern of one or more whole bars that recurs elsewhere in the piece — exactly,
transposed, or with small rhythmic variation (a split or merged note, timing jitter). Themes that are
occurrences of each other count once. When a piece has at least one theme, every *contrasting
section* — a stretch of at least ``min_section_bars`` bars that belongs to no theme — counts as one more
theme: a piece in AABA form has two themes (A, which recurs, and the contrasting B), AAA'A (A' = A
transposed) has one, and a piece that never repeats itself has none.

Algorithm
---------
Steps 1-3 live in :mod:`musicgen.metrics.theme_similarity`, steps 4-7 in
:mod:`musicgen.metrics.theme_selection`; this module runs them and reports.

1. **Melody.** The skyline (drums ignored): at every onset the highest note starting there, unless a
   higher note that started earlier still sounds (on the step grid). With ``melody="all"`` every note
   is kept (for polyphonic material).
2. **Bars.** Bars of the first time signature from time 0. Onsets are rounded to a grid of
   ``steps_per_quarter`` (12: sixteenths and triplets, like the bar grid); a note belongs to the bar
   of its onset, at its step in the bar; a note at most ``delta_steps`` before a barline belongs to
   the next bar (an early downbeat).
3. **Bar similarity.** For bars *i* and *j* and a transposition *t* (semitones, ``|t| <=
   max_transposition``, 12), a note of *i* at step *r* and pitch *p* matches a note of *j* at a step
   within ``delta_steps`` (1 step = 1/12 quarter note) of *r* and pitch *p + t*. The match count is
   the number of such note pairs, capped at the smaller bar's note count; it equals the best
   one-to-one match unless a bar holds two same-pitch notes within ``2 * delta_steps`` steps (a
   sixteenth is 3 steps). ``sim(i, j, t) = matches / max(notes in i, notes in j)``; bars are *similar
   under t* when ``sim >= theta`` (0.75, the MIREX occurrence threshold). Bars without notes are never
   similar. All pairs of bars of all pieces of a batch are counted at once, as one sparse matrix
   product (scipy): notes are features (piece, step, pitch), one side widened by ``delta_steps``,
   the other stacked in ``max_transposition + 1`` shifted copies (both triangles give +t and -t).
4. **Repeated runs.** A run of ``L`` consecutive bars starting at *s* recurs at *s + d* when bars
   *s + k* and *s + d + k* are similar under one common *t* for all ``k < L`` (one transposition for
   the whole run), and ``d >= L`` (no overlap with the prototype).
5. **Greedy selection (COSIATEC-like).** Repeatedly, among all prototypes (*s*, *L*) with their
   non-overlapping recurrences that lie in bars not yet covered, pick the one with the largest
   *compression gain* = covered notes − prototype notes − occurrences + 1 = Σ over recurrences of
   (notes − 1) (ties: longer, then earlier); require at least ``min_notes`` notes in the prototype
   and a gain of at least ``min_gain``; mark its bars covered. Stop when nothing qualifies. The
   optimal *L* for a prototype start is always one of the run lengths of its recurrences, so only
   those are tried. Overlapping recurrences of one pattern are thinned left to right against the
   previous candidate (which can under-count a pattern that repeats back to back three times or more;
   the leftover is then found again and merged in step 6).
6. **Merge.** A picked pattern whose prototype is itself a recurrence of an earlier pick (same length,
   similar run) merges into it.
7. **Count.** ``theme_count`` = merged picks + contrasting sections (maximal uncovered runs of at least
   ``min_section_bars`` bars holding at least ``min_notes`` notes), the latter only when a theme was
   found.

Calibration (``benchmarks/bench_themes.py`` prints it, ``tests/test_themes.py`` checks it): with
``theta = 0.75``, ``delta_steps = 1``, ``min_notes = 6`` and ``min_gain = 8``, random melodies and
pitch-shuffled melodies (whose rhythm still repeats exactly) give 0 themes in more than 99 % of
cases, while exact, transposed and lightly varied repeats (a split or merged note, onsets moved by
up to 1/24 quarter note) are found. ``min_gain = 8`` means a single repeated bar counts only with at
least 9 notes or 3 occurrences: shorter one-bar echoes are motifs, not themes; ``min_gain = 6``
already lets 1-3 % of shuffled eighth-note melodies through. Windows: :func:`theme_counts` reports the count for the first 4, 8, 16 and
32 bars, as the paper's Figure 8 does (``None`` when the piece is shorter than the window).

Export: :func:`mirex_patterns` / :func:`themes_to_mirex` give the repeated themes in the MIREX format
(``patternN`` / ``occurrenceM`` / ``onset, pitch`` lines) that ``mir_eval.io.load_patterns`` reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from musicgen.metrics.basic import NoteBatch
from musicgen.metrics.theme_selection import Picks, select_themes
from musicgen.metrics.theme_similarity import Melody, melody_on_bars, similar_bar_pairs
from musicgen.piece import Piece

__all__ = [
    "ThemeParams",
    "Theme",
    "ThemeAnalysis",
    "WINDOWS",
    "find_themes",
    "theme_count",
    "theme_counts",
    "batch_theme_counts",
    "mirex_patterns",
    "themes_to_mirex",
    "write_mirex",
]

#: The bar windows the paper's Figure 8 reports.
WINDOWS = (4, 8, 16, 32)


@dataclass(frozen=True)
class ThemeParams:
    """Thresholds of the theme finder (see the module docstring for their role).

    Attributes:
        theta: bar similarity threshold (fraction of the larger bar's notes matched), 0..1.
        steps_per_quarter: onsets are rounded to this grid (12: sixteenths and triplets, as the bar grid).
        delta_steps: onset tolerance in grid steps (1 step = 1/12 quarter note at 12 per quarter).
        max_transposition: largest transposition tried, in semitones (either way).
        min_notes: least melody notes in a theme's prototype (and in a contrasting section).
        min_gain: least compression gain (notes) for a pattern to count.
        min_section_bars: least length in bars of a contrasting section.
        melody: "skyline" (highest note at each onset) or "all" (every pitched note).
    """

    theta: float = 0.75
    steps_per_quarter: int = 12
    delta_steps: int = 1
    max_transposition: int = 12
    min_notes: int = 6
    min_gain: int = 8
    min_section_bars: int = 4
    melody: str = "skyline"

    def __post_init__(self):
        if not 0 < self.theta <= 1:
            raise ValueError("theta must lie in (0, 1]")
        if self.delta_steps < 0 or self.steps_per_quarter < 1:
            raise ValueError("delta_steps must be >= 0 and steps_per_quarter >= 1")
        if self.melody not in ("skyline", "all"):
            raise ValueError('melody must be "skyline" or "all"')


@dataclass
class Theme:
    """One theme: ``n_bars`` bars starting at bar ``start_bar`` and where else they recur.

    Attributes:
        start_bar: first bar of the prototype (0-based, bars of the first meter from time 0).
        n_bars: length in bars.
        occurrences: (start bar, transposition in semitones) of every occurrence, the prototype first
            with transposition 0; a contrasting section has only its own.
        repeated: true for a recurring pattern, false for a contrasting section.
    """

    start_bar: int
    n_bars: int
    occurrences: list[tuple[int, int]] = field(default_factory=list)
    repeated: bool = True


@dataclass
class ThemeAnalysis:
    """The themes found in (a window of) a piece.

    Attributes:
        themes: the themes, repeated ones first (in the order picked), then contrasting sections.
        n_bars: bars analysed.
        bar_qn: bar length in quarter notes.
        melody_onset: onsets (quarter notes) of the melody notes analysed.
        melody_pitch: their MIDI pitches.
        melody_bar: the bar each melody note belongs to.
    """

    themes: list[Theme]
    n_bars: int
    bar_qn: float
    melody_onset: np.ndarray
    melody_pitch: np.ndarray
    melody_bar: np.ndarray

    @property
    def count(self) -> int:
        """The theme count: repeated themes plus contrasting sections."""
        return len(self.themes)

    @property
    def n_repeated(self) -> int:
        """Number of recurring themes alone (the strict count, without contrasting sections)."""
        return sum(t.repeated for t in self.themes)


@dataclass
class _Views:
    """The views the finder analyses: each piece whole and each window (its first N bars).

    Attributes:
        piece: int64 (V,), the piece of each view.
        window: int64 (V,), the index of the view's window in the list asked for.
        bars: int64 (V,), the view's length in bars.
    """

    piece: np.ndarray
    window: np.ndarray
    bars: np.ndarray


def _analyse(
    b: NoteBatch, windows: Sequence[int | None], prm: ThemeParams, skip_whole_length: bool = False, details: bool = True
) -> tuple[Melody, _Views, Picks]:
    """Run the finder on every piece of ``b`` for every window (None = whole piece).

    A window of N bars is a view of the pieces with at least N bars (more than N with
    ``skip_whole_length``: then a window as long as the piece gets no view of its own, its result
    being the whole piece's); it keeps the similar bar pairs that lie inside it. ``details``: see
    :func:`~musicgen.metrics.theme_selection.select_themes`.
    """
    mel = melody_on_bars(b, prm.steps_per_quarter, prm.delta_steps, prm.melody)
    pairs = similar_bar_pairs(mel, prm.theta, prm.delta_steps, prm.max_transposition)
    second_bar = pairs.bar + pairs.offset
    view_piece, view_window, view_bars = [], [], []
    pair_view, pair_bar, pair_offset, pair_transposition = [], [], [], []
    n_views = 0
    for wi, w in enumerate(windows):
        if w is None:
            pieces = np.flatnonzero(mel.n_bars > 0)
            bars = mel.n_bars[pieces]
        else:
            pieces = np.flatnonzero(mel.n_bars > w if skip_whole_length else mel.n_bars >= w)
            bars = np.full(pieces.size, w, dtype=np.int64)
        view_of_piece = np.full(b.n_pieces, -1, dtype=np.int64)
        view_of_piece[pieces] = n_views + np.arange(pieces.size)
        view = view_of_piece[pairs.piece]
        inside = view >= 0
        if w is not None:
            inside &= second_bar < w
        pair_view.append(view[inside])
        pair_bar.append(pairs.bar[inside])
        pair_offset.append(pairs.offset[inside])
        pair_transposition.append(pairs.transposition[inside])
        view_piece.append(pieces)
        view_window.append(np.full(pieces.size, wi, dtype=np.int64))
        view_bars.append(bars)
        n_views += pieces.size
    cat = np.concatenate
    views = _Views(cat(view_piece).astype(np.int64), cat(view_window), cat(view_bars).astype(np.int64))
    picks = select_themes(
        views.piece,
        views.bars,
        mel,
        (cat(pair_view), cat(pair_bar), cat(pair_offset), cat(pair_transposition)),
        min_notes=prm.min_notes,
        min_gain=prm.min_gain,
        min_section_bars=prm.min_section_bars,
        details=details,
    )
    return mel, views, picks


def _counts_per_view(n_views: int, picks: Picks) -> np.ndarray:
    """Theme count of each view: distinct (unmerged) picks plus contrasting sections."""
    distinct = picks.merged_into < 0
    return np.bincount(picks.view[distinct], minlength=n_views) + np.bincount(picks.section_view, minlength=n_views)


# ---------------------------------------------------------------------------------------- public API


def batch_theme_counts(
    b: NoteBatch, windows: Sequence[int | None] = (None,) + WINDOWS, params: ThemeParams | None = None
) -> dict[int | None, np.ndarray]:
    """Theme counts of every piece of a batch, for each window (``None`` = the whole piece).

    Returns:
        {window: float array (P,)} — the count of the first ``window`` bars, nan where the piece is
        shorter than the window (or, for the whole piece, has no pitched note).
    """
    prm = params or ThemeParams()
    windows = list(windows)
    reuse = None in windows
    mel, views, picks = _analyse(b, windows, prm, skip_whole_length=reuse, details=False)
    counts = _counts_per_view(views.piece.size, picks)
    out: dict[int | None, np.ndarray] = {}
    for wi, w in enumerate(windows):
        arr = np.full(b.n_pieces, np.nan)
        m = views.window == wi
        arr[views.piece[m]] = counts[m]
        out[w] = arr
    if reuse:
        for w in windows:
            if w is not None:
                same = mel.n_bars == w  # the window is the whole piece
                out[w][same] = out[None][same]
    return out


def find_themes(piece: Piece, bars: int | None = None, params: ThemeParams | None = None) -> ThemeAnalysis:
    """Find the themes of ``piece`` (or of its first ``bars`` bars), see the module docstring.

    Raises:
        ValueError: ``bars`` < 1.
    """
    if bars is not None and bars < 1:
        raise ValueError("bars must be at least 1")
    prm = params or ThemeParams()
    b = NoteBatch.from_pieces([piece])
    mel, views, picks = _analyse(b, [bars] if bars is not None else [None], prm)
    n_bars = int(mel.n_bars[0]) if bars is None else min(int(bars), int(mel.n_bars[0]))
    themes: list[Theme] = []
    if views.piece.size:
        for i in range(picks.view.size):
            if picks.merged_into[i] >= 0:
                continue
            group = [i] + [j for j in range(picks.view.size) if picks.merged_into[j] == i]
            occ: list[tuple[int, int]] = []
            for j in group:
                sel = picks.occ_pick == j
                shift = int(picks.merged_transposition[j]) if j != i else 0  # merged: relative to the main prototype
                for dd, tt in zip(picks.occ_offset[sel], picks.occ_transposition[sel]):
                    occ.append((int(picks.start[j] + dd), int(tt) + shift))
            occ = sorted(set(occ), key=lambda x: x[0])
            themes.append(Theme(int(picks.start[i]), int(picks.length[i]), occ, True))
        for s, L in zip(picks.section_start, picks.section_length):
            themes.append(Theme(int(s), int(L), [(int(s), 0)], False))
    res = b.resolution[0]
    keep = mel.bar < n_bars
    return ThemeAnalysis(
        themes=themes,
        n_bars=n_bars,
        bar_qn=float(b.bar_ticks[0] / res),
        melody_onset=mel.onset[keep] / res,
        melody_pitch=mel.pitch[keep].copy(),
        melody_bar=mel.bar[keep].copy(),
    )


def theme_count(piece: Piece, bars: int | None = None, params: ThemeParams | None = None) -> int | None:
    """Number of themes in ``piece`` (or its first ``bars`` bars): see the module docstring.

    Returns ``None`` when the piece is shorter than ``bars`` bars or has no pitched note.
    """
    out = batch_theme_counts(NoteBatch.from_pieces([piece]), [bars], params)[bars][0]
    return None if np.isnan(out) else int(out)


def theme_counts(
    piece: Piece, windows: Sequence[int] = WINDOWS, params: ThemeParams | None = None
) -> dict[int, int | None]:
    """Theme count of the first 4, 8, 16 and 32 bars (``None`` where the piece is shorter)."""
    out = batch_theme_counts(NoteBatch.from_pieces([piece]), list(windows), params)
    return {w: (None if np.isnan(v[0]) else int(v[0])) for w, v in out.items()}


def mirex_patterns(analysis: ThemeAnalysis) -> list[list[list[tuple[float, float]]]]:
    """The repeated themes as mir_eval patterns: pattern -> occurrence -> [(onset qn, MIDI pitch)].

    An occurrence holds the melody notes whose onsets lie in its bars.
    """
    bar_of = analysis.melody_bar
    out = []
    for th in analysis.themes:
        if not th.repeated:
            continue
        pat = []
        for start, _t in th.occurrences:
            m = (bar_of >= start) & (bar_of < start + th.n_bars)
            occ = [(float(o), float(p)) for o, p in zip(analysis.melody_onset[m], analysis.melody_pitch[m])]
            if occ:
                pat.append(occ)
        if len(pat) >= 2:
            out.append(pat)
    return out


def themes_to_mirex(analysis: ThemeAnalysis, onset_shift: float = 0.0) -> str:
    """The repeated themes as MIREX "repeated themes" text (readable by ``mir_eval.io.load_patterns``).

    ``onset_shift`` (quarter notes) is added to every onset (e.g. to undo a pickup padding).
    """
    lines = []
    for i, pat in enumerate(mirex_patterns(analysis), 1):
        lines.append(f"pattern{i}")
        for j, occ in enumerate(pat, 1):
            lines.append(f"occurrence{j}")
            lines.extend(f"{o + onset_shift:.5f}, {p:.5f}" for o, p in occ)
    return "\n".join(lines) + ("\n" if lines else "")


def write_mirex(analysis: ThemeAnalysis, path: str | Path, force: bool = False, onset_shift: float = 0.0) -> Path:
    """Write :func:`themes_to_mirex` text to ``path`` atomically.

    Raises:
        OutputExistsError: ``path`` exists and ``force`` is false.
        UsageError: the folder is missing or not writable.
    """
    from musicgen._files import atomic_write_text

    return atomic_write_text(path, themes_to_mirex(analysis, onset_shift), force)
