"""Rule kinds: one registered class per kind.

Every rule judges a set of *events* in a candidate (notes, sounding grid steps, bars...). With ``sat``
the number of satisfied events and ``events`` the number judged, the rule's satisfied share is::

    f = sat / max(events, 1)

which is ``sat / events`` whenever there is at least one event, and 0 when there is none: a rule that
finds nothing to judge (a silent candidate) gives its penalty, so that silence never earns a reward. In
the soft form the counts are expected counts and the same formula stays between 0 and 1 (``sat <=
events``). The rule's score is ``reward·f + penalty·(1 − f)``: exactly ``reward`` when every event
satisfies the rule, exactly ``penalty`` when none does (or there is none), linear in between.

Grid terms (see :mod:`musicgen.grid`): a cell is (bar, step, pitch); a *note event* is an onset cell
(value 1); a pitch *sounds* at a step when its cell is an onset or a hold (1 or 2); *simultaneous* notes
are notes that sound at the same grid step.

Adding a kind: subclass :class:`Rule`, set ``kind``, ``summary`` and ``params``, implement ``exact``
(numpy, on a :class:`~musicgen.rules.context.GridContext`), ``soft`` (torch, on a
:class:`~musicgen.rules.context.SoftContext`, same formula, equal on 0/1 grids) and ``explain``, and
decorate the class with :func:`register_rule_kind`. See docs/rules.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

import musicgen.rules.chords as ch
from musicgen.piece import pitch_name
from musicgen.rules.context import tsum
from musicgen.rules.explain import Violation, beat_of_step, format_beat, where

REQUIRED: Any = object()


class RuleFieldError(ValueError):
    """A rule's field is missing, mistyped or out of range (the loader adds the file and the rule)."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class Param:
    """A kind-specific field of a rule.

    Attributes:
        type: "float", "int", "bool", "str", "pitch" (a note name like "G3" or a MIDI number) or
            "beats" (a table meter -> list of 1-based strong beats, e.g. ``{"4/4" = [1, 3]}``).
        default: the value when the field is absent; :data:`REQUIRED` makes the field mandatory.
        doc: one line for ``musicgen rules list`` and the docs.
    """

    type: str
    default: Any = REQUIRED
    doc: str = ""


@dataclass
class Outcome:
    """What a rule found in a batch (numpy).

    Attributes:
        sat: float64 (n,): satisfied events per candidate.
        events: float64 (n,): judged events per candidate.
        bar_violations: int64 (n, bars): violated events per bar.
        cells: bool (n, bars, steps, pitches) of the cells that break the rule, when the context asks
            for explanations and the rule has cells (None otherwise).
    """

    sat: np.ndarray
    events: np.ndarray
    bar_violations: np.ndarray
    cells: np.ndarray | None = None


_NOTE_RE = re.compile(r"^\s*([A-Ga-g])([#♯sb♭]*)(-?\d+)\s*$")
_LETTER = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}


def parse_pitch(value: Any) -> int:
    """A MIDI pitch from a note name ("G3", "F#5", "Bb4"; C4 = 60) or an int 0..127.

    Raises:
        ValueError: anything else.
    """
    if isinstance(value, bool):
        raise ValueError(f'expected a note name like "G3" or a MIDI number, got {value!r}')
    if isinstance(value, int):
        if not 0 <= value <= 127:
            raise ValueError(f"MIDI pitch {value} is outside 0..127")
        return value
    if isinstance(value, str):
        m = _NOTE_RE.match(value)
        if m:
            acc = sum(1 if c in "#♯s" else -1 for c in m.group(2))
            midi = 12 * (int(m.group(3)) + 1) + _LETTER[m.group(1).lower()] + acc
            if 0 <= midi <= 127:
                return midi
            raise ValueError(f"{value!r} is outside the MIDI range C-1..G9")
    raise ValueError(f'expected a note name like "G3" or a MIDI number, got {value!r}')


def coerce(value: Any, type_: str) -> Any:
    """Check and convert a TOML value to a parameter type (see :class:`Param`).

    Raises:
        ValueError: the value does not have the type (the message says what was expected).
    """
    if type_ == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"expected a number, got {value!r}")
        return float(value)
    if type_ == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected a whole number, got {value!r}")
        return int(value)
    if type_ == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {value!r}")
        return value
    if type_ == "str":
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {value!r}")
        return value
    if type_ == "pitch":
        return parse_pitch(value)
    if type_ == "beats":
        if not isinstance(value, dict):
            raise ValueError('expected a table of meters, e.g. { "4/4" = [1, 3], "6/8" = [1, 4] }')
        out = {}
        for meter, beats in value.items():
            m = re.match(r"^\s*(\d+)\s*/\s*(\d+)\s*$", str(meter))
            if not m or int(m.group(1)) < 1 or int(m.group(2)) not in (1, 2, 4, 8, 16, 32):
                raise ValueError(f'meter {meter!r} is not like "3/4"')
            num = int(m.group(1))
            if (
                not isinstance(beats, (list, tuple))
                or not beats
                or any(isinstance(b, bool) or not isinstance(b, int) for b in beats)
            ):
                raise ValueError(f"strong beats of {meter} must be a non-empty list of whole numbers")
            if any(b < 1 or b > num for b in beats):
                raise ValueError(f"strong beats of {meter} must lie in 1..{num}")
            out[f"{num}/{int(m.group(2))}"] = tuple(sorted(set(int(b) for b in beats)))
        return out
    raise ValueError(f"unknown parameter type {type_}")  # a bug in a kind, not user input


def aggregate(rule: Rule, sat, events):
    """Rule score from satisfied / judged event counts (numpy arrays or torch tensors, same formula).

    Returns:
        (score, f): ``reward·f + penalty·(1 − f)`` and ``f`` (see the module docstring).
    """
    if isinstance(sat, np.ndarray):
        f = sat / np.maximum(events, 1.0)
    else:
        f = sat / events.clamp_min(1.0)
    return rule.reward * f + rule.penalty * (1.0 - f), f


class Rule:
    """Base class of rule kinds.

    Common fields (every rule in a file has them): ``name`` (unique in its set), ``kind``, ``alpha``
    (its weight α ≥ 0 in R_F), ``reward`` and ``penalty`` (reward ≥ penalty), ``description`` (optional).
    Kind-specific fields are declared in ``params``.
    """

    kind: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    params: ClassVar[dict[str, Param]] = {}

    def __init__(self, name: str, alpha: float, reward: float, penalty: float, description: str = "", **params: Any):
        self.name = name
        self.alpha = float(alpha)
        self.reward = float(reward)
        self.penalty = float(penalty)
        self.description = description
        unknown = set(params) - set(self.params)
        if unknown:
            f = sorted(unknown)[0]
            raise RuleFieldError(f, f"unknown field {f!r} for kind {self.kind!r}; expected one of {self.field_names()}")
        for key, p in self.params.items():
            if key in params:
                try:
                    value = coerce(params[key], p.type)
                except ValueError as exc:
                    raise RuleFieldError(key, str(exc)) from None
            elif p.default is REQUIRED:
                raise RuleFieldError(key, f"missing field {key!r} ({p.doc})")
            else:
                value = p.default
            setattr(self, key, value)
        if self.alpha < 0:
            raise RuleFieldError("alpha", f"alpha must be >= 0, got {self.alpha:g}")
        if self.reward < self.penalty:
            raise RuleFieldError("reward", f"reward {self.reward:g} is below penalty {self.penalty:g}")
        self.check()

    @classmethod
    def field_names(cls) -> str:
        """All fields of this kind, for error messages."""
        return ", ".join(["name", "kind", "alpha", "reward", "penalty", "description"] + list(cls.params))

    def check(self) -> None:
        """Kind-specific consistency checks; raise :class:`RuleFieldError` naming the field."""

    @property
    def param_values(self) -> dict[str, Any]:
        """The kind-specific fields and their values."""
        return {k: getattr(self, k) for k in self.params}

    def replace(self, **changes: Any) -> Rule:
        """A copy with some fields changed (validated again)."""
        kw = dict(
            name=self.name, alpha=self.alpha, reward=self.reward, penalty=self.penalty, description=self.description
        )
        kw.update(self.param_values)
        kw.update(changes)
        return type(self)(**kw)

    def describe(self) -> str:
        """The kind-specific settings in a few words (for ``musicgen rules list``)."""
        return ", ".join(f"{k}={v}" for k, v in self.param_values.items())

    def exact(self, ctx) -> Outcome:  # pragma: no cover - abstract
        """Judge hard grids (numpy)."""
        raise NotImplementedError

    def soft(self, ctx):  # pragma: no cover - abstract
        """Judge soft grids (torch): (sat, events) float tensors (n,), equal to ``exact`` on 0/1 grids."""
        raise NotImplementedError

    def explain(self, ctx, i: int, bar_offset: int = 1) -> list[Violation]:  # pragma: no cover - abstract
        """Violations of candidate ``i`` of ``ctx`` in words (bars numbered from ``bar_offset``)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, alpha={self.alpha:g}, reward={self.reward:g}, penalty={self.penalty:g}, {self.describe()})"


#: kind name -> class
RULE_KINDS: dict[str, type[Rule]] = {}


def register_rule_kind(cls: type[Rule]) -> type[Rule]:
    """Class decorator: make ``cls`` loadable as ``kind = "<cls.kind>"`` in rule files.

    Raises:
        ValueError: the class has no ``kind`` or the kind is already registered by another class.
    """
    if not cls.kind:
        raise ValueError(f"{cls.__name__} has no kind")
    if cls.kind in RULE_KINDS and RULE_KINDS[cls.kind] is not cls:
        raise ValueError(f"rule kind {cls.kind!r} is already registered by {RULE_KINDS[cls.kind].__name__}")
    RULE_KINDS[cls.kind] = cls
    return cls


def _vio(
    rule: Rule, ctx, bar: int, step: int | None, bar_offset: int, text: str, pitch: int | None = None, events: int = 1
) -> Violation:
    beat = beat_of_step(step, ctx.spec) if step is not None else None
    printed = bar + bar_offset
    return Violation(
        bar=printed,
        beat=beat if beat is not None else 1.0,
        rule=rule.name,
        kind=rule.kind,
        message=f"{where(printed, beat)}: {text}",
        pitch=pitch,
        events=events,
    )


# ---------------------------------------------------------------------------------------------- kinds
@register_rule_kind
class PitchRange(Rule):
    """Every note lies in the instrument's range.

    Events: note onsets. Satisfied: ``lowest <= pitch <= highest``.
    """

    kind = "pitch_range"
    summary = "each note's pitch lies in [lowest, highest]"
    params = {
        "lowest": Param("pitch", doc='lowest allowed note, e.g. "G3" or 55'),
        "highest": Param("pitch", doc='highest allowed note, e.g. "E7" or 100'),
    }

    def check(self) -> None:
        if self.highest < self.lowest:
            raise RuleFieldError(
                "highest", f"highest {pitch_name(self.highest)} is below lowest {pitch_name(self.lowest)}"
            )

    def describe(self) -> str:
        return f"{pitch_name(self.lowest)}–{pitch_name(self.highest)} (MIDI {self.lowest}–{self.highest})"

    def _inside(self, pitches: np.ndarray) -> np.ndarray:
        return (pitches >= self.lowest) & (pitches <= self.highest)

    def exact(self, ctx) -> Outcome:
        out = ~self._inside(ctx.pitches)
        ob = ctx.onset_bp
        per_bar = ob.sum(axis=-1, dtype=np.int64)
        bad = ob[..., out].sum(axis=-1, dtype=np.int64)
        events = per_bar.sum(axis=1).astype(np.float64)
        cells = (ctx.onset & out) if ctx.explain else None
        return Outcome(events - bad.sum(axis=1), events, bad, cells)

    def soft(self, ctx):
        onset_p = tsum(ctx.onset_bp, 1)  # (n, pitches)
        inside = ctx.tensor(self._inside(ctx.pitches))
        return onset_p @ inside, tsum(onset_p, 1)

    def explain(self, ctx, i: int, bar_offset: int = 1) -> list[Violation]:
        out = ~self._inside(ctx.pitches)
        bars, steps, pidx = np.nonzero(ctx.onset[i] & out)
        rng = f"{pitch_name(self.lowest)}–{pitch_name(self.highest)}"
        res = []
        for b, s, p in zip(bars, steps, pidx):
            pitch = int(ctx.pitches[p])
            if pitch < self.lowest:
                text = f"{pitch_name(pitch)} is below the range {rng} ({self.lowest - pitch} semitones too low)"
            else:
                text = f"{pitch_name(pitch)} is above the range {rng} ({pitch - self.highest} semitones too high)"
            res.append(_vio(self, ctx, int(b), int(s), bar_offset, text, pitch))
        return res


@register_rule_kind
class Polyphony(Rule):
    """At most ``max_notes`` pitches sound at once.

    Events: grid steps at which at least one note sounds. Satisfied: at most ``max_notes`` pitches sound
    at that step (onsets and holds both count). Soft form: with ``a`` the expected number of sounding
    pitches at a step, the step counts ``min(a, 1)`` times and violates ``clip(a − max_notes, 0, 1)``
    times.
    """

    kind = "polyphony"
    summary = "at most max_notes pitches sound at any grid step"
    params = {"max_notes": Param("int", doc="most simultaneous notes (2 allows double stops, 1 a single line)")}

    def check(self) -> None:
        if self.max_notes < 1:
            raise RuleFieldError("max_notes", f"max_notes must be >= 1, got {self.max_notes}")

    def describe(self) -> str:
        return f"at most {self.max_notes} at once"

    def exact(self, ctx) -> Outcome:
        a = ctx.step_count
        over = a > self.max_notes
        bad = over.sum(axis=-1, dtype=np.int64)
        events = (a > 0).sum(axis=(1, 2), dtype=np.int64).astype(np.float64)
        cells = (ctx.sounding & over[..., None]) if ctx.explain else None
        return Outcome(events - bad.sum(axis=1), events, bad, cells)

    def soft(self, ctx):
        a = ctx.step_count
        occ = a.clamp(0.0, 1.0)
        over = (a - self.max_notes).clamp(0.0, 1.0)
        return tsum(occ - over, (1, 2)), tsum(occ, (1, 2))

    def explain(self, ctx, i: int, bar_offset: int = 1) -> list[Violation]:
        over = ctx.step_count[i] > self.max_notes  # (bars, steps)
        prev = np.zeros_like(over)
        prev[:, 1:] = over[:, :-1]
        res = []
        for b, s in zip(*np.nonzero(over & ~prev)):
            run = over[b, s:]
            length = int(np.argmin(run)) if not run.all() else int(run.size)
            pitches = [int(ctx.pitches[p]) for p in np.nonzero(ctx.sounding[i, b, s])[0]]
            names = ", ".join(pitch_name(p) for p in pitches)
            text = f"{len(pitches)} notes sound together ({names}); at most {self.max_notes} at a time"
            res.append(_vio(self, ctx, int(b), int(s), bar_offset, text, None, events=length))
        return res


#: Difference below which "rests <= ratio x notes" counts as met (absorbs float rounding of ratio x notes).
_REST_TOL = 1e-9


@register_rule_kind
class Rests(Rule):
    """Few rests in each measure.

    A *rest* is a maximal run of grid steps in a bar at which nothing sounds; runs are cut at bar lines,
    so a silence across a bar line is a rest in each bar. (When scoring a piece that starts with a
    pickup, the silence padded before the pickup is not a rest.) Events: bars. Satisfied: rests in the bar ≤
    ``max_ratio`` × note onsets in the bar. An empty bar (one rest, no notes) breaks the rule. Soft form:
    a step is silent with weight ``1 − min(a, 1)``; a rest starts where a silent step follows a sounding
    one (or opens the bar); the bar's violation is ``clip((rests − ratio·notes) / δ, 0, 1)`` with δ half
    the smallest positive value ``rests − ratio·notes`` can take on a 0/1 grid, so it is exactly 0 or 1
    there.
    """

    kind = "rests"
    summary = "rests in a bar <= max_ratio x notes in that bar"
    params = {"max_ratio": Param("float", doc="most rests per note in a bar (the paper: 0.4)")}

    def check(self) -> None:
        if self.max_ratio < 0:
            raise RuleFieldError("max_ratio", f"max_ratio must be >= 0, got {self.max_ratio:g}")

    def describe(self) -> str:
        return f"rests <= {self.max_ratio:g} x notes per bar"

    def _counts(self, ctx):
        silent = ctx.step_count == 0
        if ctx.lead_in and silent.shape[1]:
            silent[:, 0, : ctx.lead_in] = False  # the padding before a pickup is not a rest
        prev = np.zeros_like(silent)
        prev[..., 1:] = silent[..., :-1]
        rests = (silent & ~prev).sum(axis=-1, dtype=np.int64)
        notes = ctx.onset_bp.sum(axis=-1, dtype=np.int64)
        return silent, rests, notes

    def exact(self, ctx) -> Outcome:
        _, rests, notes = self._counts(ctx)
        bad = (rests - self.max_ratio * notes) > _REST_TOL
        n_bars = float(rests.shape[1])
        events = np.full(rests.shape[0], n_bars)
        return Outcome(events - bad.sum(axis=1), events, bad.astype(np.int64), None)

    def ramp_width(self, max_notes: int) -> float:
        """δ: half the smallest positive ``k − ratio·m`` (k, m whole, 0 <= m <= max_notes) above the tolerance."""
        c = self.max_ratio * np.arange(max_notes + 1, dtype=np.float64)
        gap = (np.floor(c + _REST_TOL) + 1.0) - c
        return float(gap.min()) / 2.0

    def soft(self, ctx):
        import torch

        occ = ctx.step_count.clamp(0.0, 1.0)
        silent = 1.0 - occ
        prev = torch.cat([torch.zeros_like(silent[..., :1]), silent[..., :-1]], dim=-1)
        rests = tsum(silent * (1.0 - prev), 2)
        notes = tsum(ctx.onset_bp, 2)
        delta = self.ramp_width(ctx.n_steps * ctx.n_pitches)
        bad = ((rests - self.max_ratio * notes - _REST_TOL) / delta).clamp(0.0, 1.0)
        return tsum(1.0 - bad, 1), rests.new_full((rests.shape[0],), float(rests.shape[1]))

    def explain(self, ctx, i: int, bar_offset: int = 1) -> list[Violation]:
        silent, rests, notes = self._counts(ctx)
        bad = (rests[i] - self.max_ratio * notes[i]) > _REST_TOL
        res = []
        for b in np.nonzero(bad)[0]:
            r, n = int(rests[i, b]), int(notes[i, b])
            first = int(np.argmax(silent[i, b]))
            if n == 0:
                text = "the bar is empty (a whole-bar rest and no notes)"
                res.append(_vio(self, ctx, int(b), None, bar_offset, text))
                continue
            allowed = self.max_ratio * n
            text = (
                f"{r} rest{'s' if r != 1 else ''} against {n} note{'s' if n != 1 else ''}; at most "
                f"{self.max_ratio:g} rests per note are allowed ({format_beat(allowed)} here)"
            )
            res.append(_vio(self, ctx, int(b), first, bar_offset, text))
        return res


@register_rule_kind
class StrongBeatChordTones(Rule):
    """Notes on strong beats are tones of the chord.

    Events: (strong beat, pitch) pairs where the pitch sounds at the strong beat's grid step (a note
    held over the beat counts unless ``held_notes = false``, then only notes starting on the beat).
    Satisfied: the pitch class is one of the three tones of the chord in effect there: the chord symbol
    if the piece has one in effect, otherwise the bar's estimated diatonic triad (see
    :mod:`musicgen.rules.chords`). Strong beats per meter: :data:`~musicgen.rules.chords.DEFAULT_STRONG_BEATS`,
    overridable per meter with ``strong_beats``.
    """

    kind = "strong_beat_chord_tones"
    summary = "notes sounding on strong beats are tones of the bar's chord"
    params = {
        "strong_beats": Param(
            "beats",
            default=None,
            doc='meter -> strong beats, e.g. { "4/4" = [1, 3] } (adds to / overrides the defaults)',
        ),
        "held_notes": Param(
            "bool", default=True, doc="notes held over a strong beat count (false: only notes starting on it)"
        ),
    }

    @property
    def beat_table(self) -> dict[str, tuple[int, ...]]:
        """The strong-beat table in force (defaults updated by the rule's ``strong_beats``)."""
        return {**ch.DEFAULT_STRONG_BEATS, **(self.strong_beats or {})}

    def describe(self) -> str:
        t = self.beat_table
        meters = ", ".join(f"{m}: {'+'.join(str(b) for b in t[m])}" for m in ("4/4", "3/4", "2/4", "6/8") if m in t)
        return f"strong beats {meters}; {'held notes count' if self.held_notes else 'onsets only'}"

    def _steps(self, ctx) -> tuple[np.ndarray, np.ndarray]:
        s = ctx.spec
        return ch.strong_beat_steps(s.numerator, s.denominator, s.steps_per_quarter, self.beat_table)

    def _tone_per_pitch(self, ctx, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        chords, est = ctx.chords_at(steps)
        tone = ch.chord_tone_mask(chords)  # (n, bars, k, 12)
        return tone[..., ctx.pitches % 12], chords, est

    def exact(self, ctx) -> Outcome:
        steps, _ = self._steps(ctx)
        src = ctx.sounding if self.held_notes else ctx.onset
        at = src[:, :, steps, :]
        tone_p, _, _ = self._tone_per_pitch(ctx, steps)
        bad_cells = at & ~tone_p
        bad = bad_cells.sum(axis=(2, 3), dtype=np.int64)
        events = at.sum(axis=(1, 2, 3), dtype=np.int64).astype(np.float64)
        cells = None
        if ctx.explain:
            cells = np.zeros(ctx.data.shape, dtype=bool)
            cells[:, :, steps, :] = bad_cells
        return Outcome(events - bad.sum(axis=1), events, bad, cells)

    def soft(self, ctx):
        import torch

        steps, _ = self._steps(ctx)
        src = ctx.sounding if self.held_notes else ctx.onset
        at = src[:, :, torch.as_tensor(steps, device=src.device), :]
        chords, _ = ctx.chords_at(steps)
        tone = ctx.tensor(ch.chord_tone_mask(chords))  # (n, bars, K, 12): small
        t = tone[..., torch.as_tensor(ctx.pitches % 12, device=src.device)]
        return tsum(at * t, (1, 2, 3)), tsum(at, (1, 2, 3))

    def explain(self, ctx, i: int, bar_offset: int = 1) -> list[Violation]:
        steps, _ = self._steps(ctx)
        src = ctx.sounding if self.held_notes else ctx.onset
        at = src[i][:, steps, :]
        tone_p, chords, est = self._tone_per_pitch(ctx, steps)
        res = []
        for b, k, p in zip(*np.nonzero(at & ~tone_p[i])):
            pitch = int(ctx.pitches[p])
            root, q = int(chords[i, b, k, 0]), int(chords[i, b, k, 1])
            held = " (held over the beat)" if not ctx.onset[i, b, steps[k], p] else ""
            origin = "estimated from the bar's notes" if est[i, b, k] else "from the chord symbol"
            text = (
                f"{pitch_name(pitch)}{held} is not a tone of the {ch.chord_name(root, q)} chord "
                f"({ch.chord_tone_names(root, q)}, {origin})"
            )
            res.append(_vio(self, ctx, int(b), int(steps[k]), bar_offset, text, pitch))
        return res


@register_rule_kind
class InKey(Rule):
    """Notes belong to the key's scale (an extra kind, after Magenta's RL Tuner "notes in key").

    Events: note onsets. Satisfied: the pitch class is in the scale of the key (given, or estimated
    with Krumhansl–Schmuckler); in minor keys the raised 6th and 7th also count unless
    ``raised_minor = false``.
    """

    kind = "in_key"
    summary = "each note's pitch class belongs to the key's scale"
    params = {
        "raised_minor": Param("bool", default=True, doc="in minor keys, the raised 6th and 7th count as in the key")
    }

    def describe(self) -> str:
        return "natural minor + raised 6/7" if self.raised_minor else "natural scales only"

    def _mask(self, ctx) -> np.ndarray:
        keys = ctx.keys
        m = ch.scale_mask(keys)
        if self.raised_minor:
            minor = keys[:, 1] == 1
            for step in (9, 11):
                m[minor, (keys[minor, 0] + step) % 12] = True
        return m[:, ctx.pitches % 12]  # (n, pitches)

    def exact(self, ctx) -> Outcome:
        ok = self._mask(ctx)
        ob = ctx.onset_bp.astype(np.int64)
        bad = (ob * ~ok[:, None, :]).sum(axis=-1)
        events = ob.sum(axis=(1, 2)).astype(np.float64)
        cells = (ctx.onset & ~ok[:, None, None, :]) if ctx.explain else None
        return Outcome(events - bad.sum(axis=1), events, bad, cells)

    def soft(self, ctx):
        onset_p = tsum(ctx.onset_bp, 1)
        ok = ctx.tensor(self._mask(ctx))
        return tsum(onset_p * ok, 1), tsum(onset_p, 1)

    def explain(self, ctx, i: int, bar_offset: int = 1) -> list[Violation]:
        ok = self._mask(ctx)[i]
        tonic, mode = (int(x) for x in ctx.keys[i])
        key_name = f"{ch.PITCH_NAMES[tonic]} {'major' if mode == 0 else 'minor'}"
        res = []
        for b, s, p in zip(*np.nonzero(ctx.onset[i] & ~ok[None, None, :])):
            pitch = int(ctx.pitches[p])
            res.append(
                _vio(
                    self,
                    ctx,
                    int(b),
                    int(s),
                    bar_offset,
                    f"{pitch_name(pitch)} is not in the scale of {key_name}",
                    pitch,
                )
            )
        return res
