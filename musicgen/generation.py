"""Emotion -> violin piece: sample candidates, score them ``β1·R_F + β2·D``, keep the best, render it.

This is the main job of the toolkit; ``musicgen generate`` only parses arguments and calls
:func:`generate`. The same arguments and seed give the same piece (byte-identical MIDI).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from musicgen.conditions import EmotionCondition, from_label, from_valence_arousal
from musicgen.continuation import (
    CADENCE_BONUS,
    PENALTY,
    Continuation,
    cadence_fits,
    continuation_penalties,
    first_and_last_pitch,
    octave_for_join,
)
from musicgen.errors import UsageError
from musicgen.grid import Grid
from musicgen.piece import Key, Piece

MAX_BARS = 64
MAX_CANDIDATES = 1024
#: Largest tempo change from one phrase to the next in a session, as a share of the previous tempo.
MAX_TEMPO_STEP = 0.12


def resolve_condition(
    emotion: str | None = None,
    valence: float | None = None,
    arousal: float | None = None,
    condition: EmotionCondition | None = None,
) -> EmotionCondition:
    """One :class:`EmotionCondition` from exactly one of: a label, a (valence, arousal) pair, a condition.

    Raises:
        UsageError: none or several given, an unknown label, half a valence/arousal pair, values outside [-1, 1].
    """
    given = sum(x is not None for x in (emotion, condition)) + (valence is not None or arousal is not None)
    if given != 1:
        raise UsageError("give exactly one of: an emotion label, --valence with --arousal, or a live source")
    if condition is not None:
        return condition
    if emotion is not None:
        return from_label(emotion)
    if valence is None or arousal is None:
        raise UsageError("--valence and --arousal go together")
    return from_valence_arousal(valence, arousal)


@contextmanager
def inference_threads(n: int):
    """Run torch on ``n`` threads inside the block. Inference here is many small ops: on a busy 2-core
    machine one thread was ~50x faster than two (45 ms against 2.6 s for 16 bars x 32 candidates)."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _stats(x: np.ndarray) -> dict:
    x = np.asarray(x, dtype=float)
    return {"mean": float(x.mean()), "std": float(x.std()), "min": float(x.min()), "max": float(x.max())}


@dataclass
class GenerationResult:
    """What :func:`generate` returns.

    Attributes:
        performance: the rendered performance (what gets written as MIDI).
        composition: the written composition (key and tempo, no performance nuance): what the
            rules and metrics in the report judge, and what MusicXML holds.
        grid: the chosen candidate's grid as the generator wrote it (in its key and octave).
        report: the JSON-ready report (see :func:`generate`).
        continuation: the state that a next phrase continues (pass it as ``continuation``).
        candidate_scores: per-candidate selection score (with the continuation's adjustments), R_F and
            discriminator score.
    """

    performance: Piece
    composition: Piece
    grid: Grid
    report: dict
    continuation: Continuation | None = None
    candidate_scores: dict = field(default_factory=dict)

    def __iter__(self):
        """Unpack as ``performance, report = musicgen.generate(...)``."""
        return iter((self.performance, self.report))


def generate(
    emotion: str | None = None,
    *,
    valence: float | None = None,
    arousal: float | None = None,
    condition: EmotionCondition | None = None,
    bars: int = 16,
    candidates: int = 32,
    seed: int = 0,
    rules: str = "violin",
    beta_rules: float | None = None,
    beta_disc: float | None = None,
    checkpoint: str | None = None,
    model=None,
    performance: str | None = None,
    continuation: Continuation | None = None,
    cadence: str | None = None,
    mode: str | None = None,
    parallel_mode: bool = False,
) -> GenerationResult:
    """Generate a violin piece for an emotion.

    Args:
        emotion: one of the 8 labels or an alias (case-insensitive), or None when ``valence``/``arousal``
            or ``condition`` is given.
        valence, arousal: a point in [-1, 1]² instead of a label.
        condition: a ready :class:`EmotionCondition` (e.g. a live estimate).
        bars: length in bars (1..64).
        candidates: how many candidates to sample and score (1..1024).
        seed: random seed; the same arguments and seed give the same piece.
        rules: rule set name or path (see ``musicgen rules list``).
        beta_rules, beta_disc: β1 and β2 of ``score = β1·R_F + β2·D``; default from the rule file.
        checkpoint: a model checkpoint (default: the shipped model); ignored when ``model`` is given.
        model: an already loaded model (see :func:`musicgen.model.api.load_model`).
        performance: a performance TOML (default: the shipped ``performance.toml``).
        continuation: the previous phrase's state (:class:`musicgen.continuation.Continuation`, from the
            previous result's ``continuation``): the new piece continues it in the same key (the parallel
            mode when the valence changed sign), joins it within a fifth, develops rather than repeats it,
            and moves its tempo towards the emotion's by at most :data:`MAX_TEMPO_STEP` (``interact``).
        cadence: "open" (end on a tone of the dominant triad) or "closed" (of the tonic triad) to prefer
            candidates whose last note fits; None = no preference. With a ``continuation`` the phrase's
            position decides (:func:`musicgen.continuation.is_closed`).
        mode: "major" or "minor" to prefer candidates that the generator wrote in that mode (the
            first phrase of a live session, whose valence sets the session's mode); None = no
            preference. With a ``continuation`` the session's mode policy decides instead
            (:func:`musicgen.continuation.mode_asked`).
        parallel_mode: opt-in: move the written piece to the parallel mode that the emotion's row of
            the performance table names (see :func:`musicgen.perform.change_mode`). Off by default: the
            composition is the generator's, transposed to the chosen tonic, and the performance changes
            only timing, dynamics and articulation.

    Returns:
        a :class:`GenerationResult`; its ``report`` holds emotion, valence, arousal, seed, candidates,
        bars, score, r_f, rules (per-rule scores of the written composition, see
        :func:`musicgen.perform.notate`), pce, theme_count, tempo_bpm, and the spread of score / R_F / D
        over the candidates.

    Raises:
        UsageError: bad emotion, bars, candidates, betas, cadence or mode; missing checkpoint.
        InputError: a bad rule or performance file.
    """
    from musicgen.metrics import pitch_class_entropy, theme_count
    from musicgen.model.api import load_model
    from musicgen.perform import load_performance, notate, params_for, render
    from musicgen.rules import RuleSet

    cond = resolve_condition(emotion, valence, arousal, condition)
    if cadence not in (None, "open", "closed"):
        raise UsageError(f"cadence must be 'open' or 'closed', got {cadence!r}")
    if mode not in (None, "major", "minor"):
        raise UsageError(f"mode must be 'major' or 'minor', got {mode!r}")
    if not 1 <= int(bars) <= MAX_BARS:
        raise UsageError(f"--bars must be between 1 and {MAX_BARS}, got {bars}")
    if not 1 <= int(candidates) <= MAX_CANDIDATES:
        raise UsageError(f"--candidates must be between 1 and {MAX_CANDIDATES}, got {candidates}")
    ruleset = RuleSet.load(rules)
    b1 = ruleset.beta_rules if beta_rules is None else float(beta_rules)
    b2 = ruleset.beta_disc if beta_disc is None else float(beta_disc)
    if b1 < 0 or b2 < 0 or not np.isfinite(b1) or not np.isfinite(b2):
        raise UsageError("--beta-rules and --beta-disc must be finite and non-negative")
    table = load_performance(performance)
    mdl = model if model is not None else load_model(checkpoint)

    asked = cond
    kept_valence = cond.valence if continuation is None else continuation.generator_valence(cond.valence)
    if kept_valence != cond.valence:
        # a near-neutral valence keeps the previous phrase's mode: the generator is asked for the point
        # of that mode at this arousal (a label's probabilities would pull towards the label's own mode)
        asked = from_valence_arousal(kept_valence, cond.arousal)
    conds = np.repeat(asked.vector()[None, :], int(candidates), axis=0)
    with inference_threads(1):
        if continuation is None:
            sample = mdl.sample(conds, int(bars), seed=int(seed))
        else:
            sample = mdl.sample(
                conds, int(bars), seed=int(seed), prev_latents=continuation.latents, key_shift=continuation.key_shift
            )
        disc = np.asarray(mdl.discriminator_score(sample, conds), dtype=float)
    grids, shift = sample.grids, sample.key_shift
    checks = None
    if continuation is not None:
        grids, shift = _octave_for_join(grids, shift, continuation.last_pitch, mdl.spec)
    grid_scores = ruleset.score_grids(grids, mdl.spec)
    r_f = np.asarray(grid_scores.r_f, dtype=float)
    score = b1 * r_f + b2 * disc
    if continuation is not None:
        checks = continuation_penalties(grids, sample.keys[:, 1], continuation, cond.valence, mdl.spec.lowest_pitch)
        score = score + checks["adjust"]
    else:
        if cadence is not None:
            score = score + CADENCE_BONUS * cadence_fits(grids, sample.keys, cadence == "closed", mdl.spec.lowest_pitch)
        if mode is not None:
            score = score - PENALTY * (sample.keys[:, 1].astype(bool) != (mode == "minor"))
    best = int(np.argmax(score))  # ties: the lowest index

    tonic, minor = (int(x) for x in sample.keys[best])
    if continuation is not None:
        tonic = continuation.tonic  # one tonic per session
    grid = Grid(
        data=np.asarray(grids[best]),
        spec=mdl.spec,
        tempo=120.0,
        velocity=80,
        key=Key(tonic, "minor" if minor else "major"),
        meta={"title": f"musicgen {cond.label}"},
    )
    tempo = None
    if continuation is not None:
        target = params_for(cond, table).tempo_qpm
        step = MAX_TEMPO_STEP * continuation.tempo
        tempo = float(np.clip(target, continuation.tempo - step, continuation.tempo + step))
    composition = notate(grid, cond, table, parallel_mode=parallel_mode, tempo=tempo)
    performance = render(grid, cond, seed=int(seed), table=table, parallel_mode=parallel_mode, tempo=tempo)
    performance.title = composition.title = f"musicgen: {cond.label} (seed {seed})"
    _, last = first_and_last_pitch(np.asarray(grids[best])[None], mdl.spec.lowest_pitch)
    state = Continuation(
        latents=np.asarray(sample.latents[best]),
        key_shift=int(shift[best]),
        tonic=tonic,
        minor=bool(minor),
        valence=float(cond.valence),
        tempo=float(performance.tempo),
        last_pitch=int(last[0]) if last[0] >= 0 else None,
        cells=np.asarray(grids[best]),
        index=0 if continuation is None else continuation.index + 1,
    )
    final = ruleset.score_piece(composition)
    pce = pitch_class_entropy(composition)
    themes = theme_count(composition)
    report = {
        "emotion": cond.label,
        "probabilities": cond.as_dict()["probabilities"],
        "valence": float(cond.valence),
        "arousal": float(cond.arousal),
        "seed": int(seed),
        "bars": int(bars),
        "candidates": int(candidates),
        "best_candidate": best,
        "rule_set": ruleset.name,
        "beta_rules": b1,
        "beta_disc": b2,
        "score": float(score[best]),
        "candidate_r_f": float(r_f[best]),
        "disc": float(disc[best]),
        "r_f": float(final.r_f),
        "rules": {k: float(v) for k, v in final.rules.items()},
        "pce": None if pce is None or not np.isfinite(pce) else float(pce),
        "theme_count": None if themes is None else int(themes),
        "tempo_bpm": float(performance.tempo),
        "mode": composition.key.mode if composition.key is not None else None,
        "key": str(composition.key) if composition.key is not None else None,
        "n_notes": int(len(performance)),
        "parallel_mode": bool(parallel_mode),
        "performance": performance.meta.get("performance", {}),
        "spread": {"score": _stats(score), "r_f": _stats(r_f), "disc": _stats(disc)},
        "r_f_gain_over_mean_candidate": float(r_f[best] - r_f.mean()),
    }
    if checks is not None:
        report["continuation"] = {
            "phrase": state.index,
            "generator_valence": float(asked.valence),
            "mode_ok": bool(checks["mode_ok"][best]),
            "join_semitones": int(checks["join"][best]),
            "repeat_share": float(checks["repeat"][best]),
            "cadence_ok": bool(checks["cadence_ok"][best]),
            "candidates_keeping_all": int((checks["adjust"] > -PENALTY / 2).sum()),
        }
    return GenerationResult(
        performance=performance,
        composition=composition,
        grid=grid,
        report=report,
        continuation=state,
        candidate_scores={"score": score, "r_f": r_f, "disc": disc},
    )


def _octave_for_join(
    grids: np.ndarray, shift: np.ndarray, last_pitch: int | None, spec
) -> tuple[np.ndarray, np.ndarray]:
    """Move each candidate by the octave (−12, 0, +12) that keeps it in the violin range and brings its
    first note nearest to ``last_pitch`` (:func:`musicgen.continuation.octave_for_join`)."""
    from musicgen.grid import VIOLIN_HIGHEST, VIOLIN_LOWEST
    from musicgen.model.data import transpose_cells

    g = np.asarray(grids)
    used = (g != 0).reshape(len(g), -1, g.shape[-1]).any(axis=1)
    pitches = np.arange(g.shape[-1]) + spec.lowest_pitch
    lo = np.where(used.any(1), np.where(used, pitches, 10_000).min(1), 0)
    hi = np.where(used.any(1), np.where(used, pitches, -1).max(1), 0)
    first, _ = first_and_last_pitch(g, spec.lowest_pitch)
    move = octave_for_join(first, last_pitch, lo, hi, VIOLIN_LOWEST, VIOLIN_HIGHEST)
    if move.any():
        g = transpose_cells(g, move)
    return g, np.asarray(shift) + move
