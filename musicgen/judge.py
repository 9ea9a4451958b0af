"""Judging what the generator writes: does the emotion steer the notes, and are the pieces varied?

Every figure here is read off the *composition* — the notes that ``musicgen generate`` writes to
MusicXML (:attr:`musicgen.generation.GenerationResult.composition`) — never off the rendered performance,
whose tempo and dynamics come from a table, not from the model.

Design
------
* **Paired noise.** A seed fixes the noise of all candidates; the same seeds go under every condition, so
  when two conditions are compared seed by seed the condition is the only difference.
* **Valence → mode**, judged by music21's Temperley–Kostka–Payne key finder (:func:`tkp_mode`), a
  different finder from the Krumhansl–Schmuckler reading that made the corpus' labels and from the
  Krumhansl–Kessler and Bellman–Budge profiles of the training's mode term; Aarden–Essen (another
  finder no part of training used) is reported beside it. Positive requests (valence > 0.2) should come
  out major, negative ones (< −0.2) minor; the two sides are reported separately, so that "always minor"
  cannot score well.
* **Arousal → rhythmic activity**: distinct onsets per beat (:func:`onsets_per_beat`). A *seed pair* is
  the same seed under a high- and a low-arousal condition; the share of pairs in which the high one is
  strictly denser is reported. V/A corners pair (v, +0.6) with (v, −0.6); labels pair each of the
  high-arousal labels (arousal ≥ 0.4: happy, anger, fear, surprise) with each of the low ones (arousal
  ≤ 0.1: neutral, sadness, contempt).
* **Diversity and copying**: :mod:`musicgen.metrics.diversity` on the pieces' grids, next to held-out
  corpus tunes (:func:`reference_windows`) and against the training split (:func:`training_index`).
* Every share gets a 95 % percentile-bootstrap interval (:func:`bootstrap_interval`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from musicgen.conditions import EMOTION_VA, EMOTIONS, EmotionCondition, from_label, from_valence_arousal
from musicgen.metrics.diversity import WindowIndex, diversity_figures

#: The V/A corners of the control benchmark: (name, valence, arousal).
CORNERS = (("V+A+", 0.8, 0.6), ("V+A-", 0.8, -0.6), ("V-A+", -0.8, 0.6), ("V-A-", -0.8, -0.6))
#: Labels on each side of the arousal divide (see the module docstring).
HIGH_AROUSAL = tuple(e for e in EMOTIONS if EMOTION_VA[e][1] >= 0.4)
LOW_AROUSAL = tuple(e for e in EMOTIONS if EMOTION_VA[e][1] <= 0.1)
#: |valence| above which a request counts as positive / negative.
VALENCE_SIDE = 0.2


#: The judges of mode: music21's key finders that neither the corpus' labels (Krumhansl–Schmuckler) nor
#: the training (Krumhansl–Kessler and Bellman–Budge profiles) used. The first is the one the shares use.
MODE_JUDGES = ("TemperleyKostkaPayne", "AardenEssen")


def judge_modes(piece) -> tuple[str, ...]:
    """ "major" or "minor" by each key finder of :data:`MODE_JUDGES` (music21), on the piece's notes
    ("major" for a piece without notes)."""
    from music21.analysis import discrete

    from musicgen.io import piece_to_stream

    if not len(piece):
        return ("major",) * len(MODE_JUDGES)
    stream = piece_to_stream(piece)
    return tuple(
        "minor" if getattr(discrete, name)().getSolution(stream).mode == "minor" else "major" for name in MODE_JUDGES
    )


def tkp_mode(piece) -> str:
    """ "major" or "minor" by music21's Temperley–Kostka–Payne key finder (see :func:`judge_modes`)."""
    return judge_modes(piece)[0]


def onsets_per_beat(piece) -> float:
    """Distinct note-onset times per beat (quarter notes of 4/4 bars) over the piece's whole bars."""
    if not len(piece):
        return 0.0
    beats = max(float(np.ceil(piece.notes["onset"].max() / piece.bar_length)) * piece.bar_length, piece.bar_length)
    return float(np.unique(piece.notes["onset_tick"]).size / beats)


def bar_note_names(piece, n_bars: int | None = None) -> list[str]:
    """The piece's notes as names ("G4 B4 C#5 D5"), one string per bar (first ``n_bars`` bars), "-" for a
    bar without notes: the way to read what a generator wrote. Spelled in the piece's key when it has one
    (:func:`musicgen.piece.key_spelling`)."""
    from musicgen.piece import pitch_name

    n = piece.notes
    bars = int(np.ceil((n["onset"].max() + 1e-9) / piece.bar_length)) if len(n) else 0
    bars = bars if n_bars is None else min(bars, n_bars)
    out = []
    for b in range(bars):
        sel = (n["onset"] >= b * piece.bar_length) & (n["onset"] < (b + 1) * piece.bar_length)
        out.append(" ".join(pitch_name(int(p), piece.key) for p in n["pitch"][sel]) or "-")
    return out


def bootstrap_interval(values, n: int = 2000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap interval of the mean of ``values`` (NaN, NaN for none)."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(n, x.size))].mean(axis=1)
    a = (1.0 - level) / 2.0
    return float(np.quantile(means, a)), float(np.quantile(means, 1.0 - a))


def share(values) -> dict:
    """Mean of 0/1 ``values`` with its bootstrap interval: ``{"share", "lo", "hi", "n"}``."""
    x = np.asarray(values, dtype=np.float64)
    lo, hi = bootstrap_interval(x)
    return {"share": float(x.mean()) if x.size else float("nan"), "lo": lo, "hi": hi, "n": int(x.size)}


def conditions(labels: bool = True, corners: bool = True) -> list[tuple[str, EmotionCondition]]:
    """The conditions judged: the 8 labels and/or the 4 V/A corners, as (name, condition)."""
    out = [(e, from_label(e)) for e in EMOTIONS] if labels else []
    if corners:
        out += [(name, from_valence_arousal(v, a)) for name, v, a in CORNERS]
    return out


@dataclass
class JudgedPiece:
    """One generated piece and what the judges read off its composition."""

    condition: str
    valence: float
    arousal: float
    seed: int
    mode: str
    onsets_per_beat: float
    cells: np.ndarray
    report: dict = field(default_factory=dict)
    composition: object = None
    other_modes: tuple = ()


def generate_and_judge(
    model,
    seeds,
    bars: int = 16,
    candidates: int = 32,
    labels: bool = True,
    corners: bool = True,
    via_musicxml: bool = False,
    progress=None,
) -> list[JudgedPiece]:
    """Generate one piece per (condition, seed) with the default ``generate`` path and judge it.

    Args:
        model: a loaded model (:func:`musicgen.model.api.load_model`).
        seeds: the seeds (each used under every condition: paired noise).
        bars / candidates: as ``musicgen generate``.
        labels / corners: which conditions (:func:`conditions`).
        via_musicxml: judge the MusicXML file's notes (written and read back) instead of the in-memory
            composition they are made from (the same notes; the round trip costs ~0.2 s a piece).
        progress: optional callable ``progress()`` after each piece.

    Returns:
        the judged pieces, condition-major.
    """
    from musicgen.generation import generate

    out = []
    for name, cond in conditions(labels, corners):
        for seed in seeds:
            res = generate(condition=cond, bars=bars, candidates=candidates, seed=int(seed), model=model)
            piece = _musicxml_round_trip(res.composition) if via_musicxml else res.composition
            modes = judge_modes(piece)
            out.append(
                JudgedPiece(
                    name,
                    cond.valence,
                    cond.arousal,
                    int(seed),
                    modes[0],
                    onsets_per_beat(piece),
                    np.asarray(res.grid.data),
                    res.report,
                    piece,
                    modes[1:],
                )
            )
            if progress:
                progress()
    return out


def _musicxml_round_trip(piece):
    import os
    import tempfile

    from musicgen.io import musicxml_bytes, read_notation

    fd, path = tempfile.mkstemp(suffix=".musicxml")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(musicxml_bytes(piece))
        return read_notation(path)
    finally:
        os.unlink(path)


def control_figures(pieces: list[JudgedPiece]) -> dict:
    """Valence and arousal control shares (with bootstrap intervals) of judged pieces.

    Returns:
        dict with, for ``labels`` and ``corners`` (when present): ``positive`` (share major of positive
        requests), ``negative`` (share minor of negative requests), ``arousal_pairs`` (share of seed pairs
        where high arousal is denser); and ``per_condition``: minor share and mean onsets per beat.
    """
    by = {}
    for p in pieces:
        by.setdefault(p.condition, {})[p.seed] = p
    corner_names = {c[0] for c in CORNERS}
    out: dict = {"per_condition": {}}
    for name, rows in by.items():
        r = list(rows.values())
        out["per_condition"][name] = {
            "valence": r[0].valence,
            "arousal": r[0].arousal,
            "pieces": len(r),
            "minor": float(np.mean([x.mode == "minor" for x in r])),
            "onsets_per_beat": float(np.mean([x.onsets_per_beat for x in r])),
        }
    for group, names in (
        ("labels", [e for e in EMOTIONS if e in by]),
        ("corners", [c for c in by if c in corner_names]),
    ):
        if not names:
            continue
        pos = [p.mode == "major" for n in names for p in by[n].values() if p.valence > VALENCE_SIDE]
        neg = [p.mode == "minor" for n in names for p in by[n].values() if p.valence < -VALENCE_SIDE]
        others = {}
        for j, judge in enumerate(MODE_JUDGES[1:]):
            ps = [p for n in names for p in by[n].values() if len(p.other_modes) > j]
            others[judge] = {
                "positive": share([p.other_modes[j] == "major" for p in ps if p.valence > VALENCE_SIDE]),
                "negative": share([p.other_modes[j] == "minor" for p in ps if p.valence < -VALENCE_SIDE]),
            }
        if group == "corners":
            pairs = [(by[h], by[lo]) for h, lo in (("V+A+", "V+A-"), ("V-A+", "V-A-")) if h in by and lo in by]
        else:
            pairs = [(by[h], by[lo]) for h in HIGH_AROUSAL for lo in LOW_AROUSAL if h in by and lo in by]
        dens = [hi[s].onsets_per_beat > lo[s].onsets_per_beat for hi, lo in pairs for s in hi if s in lo]
        out[group] = {
            "positive": share(pos),
            "negative": share(neg),
            "arousal_pairs": share(dens),
            "other_judges": others,
        }
    return out


def reference_windows(
    corpus, n: int = 64, bars: int = 16, split: str = "test", meters=("4/4",), seed: int = 0
) -> np.ndarray:
    """``n`` held-out tunes of ``split`` in ``meters`` as ``bars``-bar model grids (N, bars, 16, 60), each
    from its first full bar (a shorter tune continues from its first full bar again, as it is played),
    drawn with ``seed``."""
    from musicgen.model.data import build_bar_dataset

    d = build_bar_dataset(corpus, split)
    meter = np.asarray([corpus.tunes[int(i)].meter for i in d.corpus_index])
    ks = np.random.default_rng(seed).permutation(np.nonzero(np.isin(meter, meters))[0])[:n]
    out = []
    for k in ks:
        lo, length, ff = d.offsets[k], d.lengths[k], d.first_full[k]
        pos = ff + np.arange(bars)
        pos = np.where(pos < length, pos, ff + (pos - length) % max(length - ff, 1))
        out.append(d.bars[lo + pos])
    return np.stack(out)


def heldout_pce(corpus, split: str = "test") -> float:
    """Mean pitch-class entropy (bits, MusPy's definition) of the held-out tunes of ``split`` in the
    model's meters, each whole tune as written: what generated pieces' PCE is compared with."""
    from musicgen.metrics import NoteBatch, pitch_class_entropy
    from musicgen.model.data import MODEL_METERS

    idx = corpus.indices(split, MODEL_METERS)
    return float(np.nanmean(pitch_class_entropy(NoteBatch.from_pieces([corpus.piece(int(i)) for i in idx]))))


def training_index(corpus) -> WindowIndex:
    """The 4-bar window index of the corpus' training split (model bars of every tune in the model's
    meters), to measure copying."""
    from musicgen.model.data import build_bar_dataset

    d = build_bar_dataset(corpus, "train")
    return WindowIndex.from_tunes([d.bars[d.offsets[k] : d.offsets[k + 1]] for k in range(d.n_tunes)])


def diversity_with_intervals(cells: np.ndarray, index: WindowIndex | None) -> dict:
    """:func:`musicgen.metrics.diversity.diversity_figures` plus bootstrap intervals of the two
    nearest-neighbour shares (over pieces)."""
    f = diversity_figures(cells, index)
    f["nn_rhythm_ci"] = bootstrap_interval(f.pop("nn_rhythm_each"))
    f["nn_contour_ci"] = bootstrap_interval(f.pop("nn_contour_each"))
    return f


def quality_figures(pieces: list[JudgedPiece]) -> dict:
    """PCE (bits, MusPy's definition), R_F of the written piece, share of notes in the violin range,
    over judged pieces (each with the bootstrap interval of its mean)."""
    from musicgen.grid import VIOLIN_HIGHEST, VIOLIN_LOWEST
    from musicgen.metrics import pitch_class_entropy

    pce = np.asarray([pitch_class_entropy(p.composition) for p in pieces], dtype=np.float64)
    rf = np.asarray([p.report["r_f"] for p in pieces], dtype=np.float64)
    pitches = np.concatenate([p.composition.notes["pitch"] for p in pieces]) if pieces else np.zeros(0)
    inr = float(((pitches >= VIOLIN_LOWEST) & (pitches <= VIOLIN_HIGHEST)).mean()) if pitches.size else float("nan")
    pce = pce[np.isfinite(pce)]
    return {
        "pce": float(pce.mean()),
        "pce_ci": bootstrap_interval(pce),
        "r_f": float(rf.mean()),
        "r_f_ci": bootstrap_interval(rf),
        "in_range": inr,
        "notes": int(pitches.size),
    }


__all__ = [
    "CORNERS",
    "MODE_JUDGES",
    "judge_modes",
    "HIGH_AROUSAL",
    "LOW_AROUSAL",
    "JudgedPiece",
    "bar_note_names",
    "bootstrap_interval",
    "conditions",
    "control_figures",
    "diversity_with_intervals",
    "generate_and_judge",
    "heldout_pce",
    "onsets_per_beat",
    "quality_figures",
    "reference_windows",
    "share",
    "tkp_mode",
    "training_index",
]
