"""The rules as a differentiable torch function over soft grids (the generator's training reward).

Inputs are two float tensors (N, bars, steps, pitches) in [0, 1]: ``onset`` (probability that a note
starts at a cell) and ``sounding`` (probability that a note sounds there). Every rule computes its
satisfied and judged event counts as *expected* counts with the same formula as the exact scorer
(see each kind's docstring in :mod:`musicgen.rules.kinds`); thresholds become clipped ramps that are
exactly 0 or 1 on whole-number counts. So on hard grids (``onset = data == 1``, ``sounding = data != 0``)
the soft score equals :meth:`RuleSet.score_grids` exactly (bit for bit in float64), and in between it is
piecewise linear in the probabilities.

Keys and chords are not differentiable choices: they are estimated (when not given) from the detached
sounding probabilities, exactly as the exact scorer estimates them from the hard grid.
"""

from __future__ import annotations

from typing import Any

from musicgen.grid import GridSpec
from musicgen.rules.context import SoftContext, normalise_chords, normalise_keys
from musicgen.rules.kinds import aggregate


def soft_score(ruleset, onset: Any, sounding: Any, spec: GridSpec, key: Any = None, chords: Any = None):
    """Differentiable R_F of N soft grids.

    Args:
        ruleset: the :class:`~musicgen.rules.RuleSet`.
        onset: float tensor (N, bars, steps, pitches) in [0, 1], probability that a note starts.
        sounding: float tensor of the same shape, probability that a note sounds (onset or hold).
        spec: the grids' :class:`GridSpec` (steps per bar and pitch window must match the tensors).
        key, chords: as for :meth:`RuleSet.score_grids`.

    Returns:
        (r_f, per_rule): float tensor (N,) R_F = Σ α·score, and rule name -> float tensor (N,) score,
        in the inputs' dtype and device; gradients flow to ``onset`` and ``sounding``.

    Raises:
        ValueError: shapes that differ from each other or from ``spec``.
    """
    import torch

    if not torch.is_tensor(onset) or not torch.is_tensor(sounding):
        raise ValueError("onset and sounding must be torch tensors")
    if onset.shape != sounding.shape or onset.dim() != 4:
        raise ValueError(
            f"onset {tuple(onset.shape)} and sounding {tuple(sounding.shape)} must share one (N, bars, steps, pitches) shape"
        )
    if onset.shape[2] != spec.steps_per_bar or onset.shape[3] != spec.n_pitches:
        raise ValueError(
            f"grid shape {tuple(onset.shape[1:])} does not match the spec ({spec.steps_per_bar} steps per bar, {spec.n_pitches} pitches)"
        )
    if not torch.is_floating_point(onset):
        onset = onset.float()
    sounding = sounding.to(onset.dtype)
    n, n_bars = int(onset.shape[0]), int(onset.shape[1])
    chords_in, symbols = normalise_chords(chords, n, n_bars)
    ctx = SoftContext(onset, sounding, spec, normalise_keys(key, n), chords_in, symbols)
    r_f = onset.new_zeros(n)
    per_rule = {}
    for rule in ruleset.rules:
        sat, events = rule.soft(ctx)
        score, _ = aggregate(rule, sat, events)
        per_rule[rule.name] = score
        r_f = r_f + rule.alpha * score
    return r_f, per_rule
