"""Declarative music-theory rules: rule files (TOML) with α/β weights, batched exact scoring of candidate
grids, a differentiable soft form for training, and violations explained in words.

    >>> from musicgen.rules import RuleSet
    >>> rs = RuleSet.load("violin")                      # or a path to your own .toml
    >>> scores = rs.score_grids(data, spec)              # data: int8 (N, bars, steps, pitches)
    >>> scores.r_f, scores.rules["chord_tones"]          # (N,) arrays
    >>> rs.score_piece(piece).violations[0].message      # "bar 7, beat 3: F#5 is not a tone of ..."
    >>> r_f, per_rule = rs.soft_score(onset_p, sounding_p, spec)   # torch, differentiable

See docs/rules.md for the rule-file format, each rule's exact semantics and how to add a rule kind.
"""

from __future__ import annotations

from musicgen.rules.chords import DEFAULT_STRONG_BEATS, estimate_bar_chords, estimate_keys, strong_beat_steps
from musicgen.rules.context import normalise_chords, normalise_keys
from musicgen.rules.engine import DEFAULT_RULES, GridScores, PieceScore, RuleSet
from musicgen.rules.explain import Violation
from musicgen.rules.kinds import RULE_KINDS, Outcome, Param, Rule, RuleFieldError, register_rule_kind

__all__ = [
    "DEFAULT_RULES",
    "DEFAULT_STRONG_BEATS",
    "GridScores",
    "Outcome",
    "Param",
    "PieceScore",
    "RULE_KINDS",
    "Rule",
    "RuleFieldError",
    "RuleSet",
    "Violation",
    "estimate_bar_chords",
    "estimate_keys",
    "normalise_chords",
    "normalise_keys",
    "register_rule_kind",
    "strong_beat_steps",
]
