"""Emotion -> violin piece: sample candidates, score them ``β1·R_F + β2·D``, keep the best, render it.

This is the main job of the toolkit; ``musicgen generate`` only parses arguments and calls
:func:`generate`. The same arguments and seed give the same piece (byte-identical MIDI).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from musicgen.emotion.labels import EmotionCondition, from_label, from_valence_arousal
from musicgen.errors import UsageError
from musicgen.grid import Grid
from musicgen.piece import Key, Piece

MAX_BARS = 64
MAX_CANDIDATES = 1024


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
        piece: the rendered performance (what gets written as MIDI).
        notation: the written composition (mode and tempo applied, no performance nuance): what the
            rules and metrics in the report judge, and what MusicXML holds.
        notated: the chosen candidate's grid as the generator wrote it.
        report: the JSON-ready report (see :func:`generate`).
        candidate_scores: per-candidate selection score, R_F and discriminator score.
    """

    piece: Piece
    notation: Piece
    notated: Grid
    report: dict
    candidate_scores: dict = field(default_factory=dict)

    def __iter__(self):
        """Unpack as ``piece, report = musicgen.generate(...)``."""
        return iter((self.piece, self.report))


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
    prev_latents: np.ndarray | None = None,
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
        prev_latents: the previous phrase's latents, to continue it (``interact``).
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
        UsageError: bad emotion, bars, candidates or betas; missing checkpoint.
        InputError: a bad rule or performance file.
    """
    from musicgen.metrics import pitch_class_entropy, theme_count
    from musicgen.model.api import load_model
    from musicgen.perform import load_performance, notate, render
    from musicgen.rules import RuleSet

    cond = resolve_condition(emotion, valence, arousal, condition)
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

    conds = np.repeat(cond.vector()[None, :], int(candidates), axis=0)
    with inference_threads(1):
        sample = mdl.sample(conds, int(bars), seed=int(seed), prev_latents=prev_latents)
        disc = np.asarray(mdl.discriminator_score(sample, conds), dtype=float)
    grid_scores = ruleset.score_grids(sample.grids, mdl.spec)
    r_f = np.asarray(grid_scores.r_f, dtype=float)
    score = b1 * r_f + b2 * disc
    best = int(np.argmax(score))  # ties: the lowest index

    tonic, minor = (int(x) for x in sample.keys[best])
    notated = Grid(
        data=np.asarray(sample.grids[best]), spec=mdl.spec, tempo=120.0, velocity=80,
        key=Key(tonic, "minor" if minor else "major"), meta={"title": f"musicgen {cond.label}"},
    )
    notation = notate(notated, cond, table, parallel_mode=parallel_mode)
    piece = render(notated, cond, seed=int(seed), table=table, parallel_mode=parallel_mode)
    piece.title = notation.title = f"musicgen: {cond.label} (seed {seed})"
    final = ruleset.score_piece(notation)
    pce = pitch_class_entropy(notation)
    themes = theme_count(notation)
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
        "tempo_bpm": float(piece.tempo),
        "mode": notation.key.mode if notation.key is not None else None,
        "key": str(notation.key) if notation.key is not None else None,
        "n_notes": int(len(piece)),
        "parallel_mode": bool(parallel_mode),
        "performance": piece.meta.get("performance", {}),
        "spread": {"score": _stats(score), "r_f": _stats(r_f), "disc": _stats(disc)},
        "r_f_gain_over_mean_candidate": float(r_f[best] - r_f.mean()),
    }
    piece.meta["latents"] = np.asarray(sample.latents[best])
    return GenerationResult(piece=piece, notation=notation, notated=notated, report=report, candidate_scores={"score": score, "r_f": r_f, "disc": disc})
