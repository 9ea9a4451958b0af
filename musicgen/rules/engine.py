"""Rule sets: loading and validating rule files, batched exact scoring, piece scoring with explanations.

A rule file (TOML) holds the set's weights and its rules::

    name = "violin"
    beta_rules = 0.3          # β1: weight of R_F in the generator objective L = β1·R_F + β2·D
    beta_disc = 1.0           # β2: weight of the discriminator's output D

    [[rule]]
    name = "range"
    kind = "pitch_range"      # a registered kind, see musicgen.rules.kinds
    alpha = 1.0               # α: weight of this rule in R_F
    reward = 0.1              # score when every event satisfies the rule
    penalty = -0.6            # score when none does
    lowest = "G3"
    highest = "E7"

``R_F = Σ α_i·score_i`` where each ``score_i = reward_i·f_i + penalty_i·(1 − f_i)`` and ``f_i`` is the rule's
satisfied share (see :mod:`musicgen.rules.kinds`). So ``Σ α·penalty ≤ R_F ≤ Σ α·reward``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from musicgen._toml import tomllib
from musicgen.errors import InputError, UsageError
from musicgen.grid import GridSpec, piece_to_grid
from musicgen.piece import Key, Piece
from musicgen.rules.context import GridContext, normalise_chords, normalise_keys
from musicgen.rules.explain import Violation
from musicgen.rules.kinds import RULE_KINDS, InKey, Outcome, Rule, RuleFieldError, StrongBeatChordTones, aggregate
from musicgen.rules.soft import soft_score

DEFAULT_RULES = "violin"
_TOP_FIELDS = ("name", "description", "beta_rules", "beta_disc", "rule")
_CHUNK = 64  # candidates per pass: keeps the intermediate arrays in cache (measured best on 16-bar grids)


# ------------------------------------------------------------------------------------------- results
@dataclass
class GridScores:
    """Scores of N candidate grids.

    Attributes:
        rules: rule name -> float64 (N,) score, between the rule's penalty and reward.
        r_f: float64 (N,): R_F = Σ α·score.
        satisfied: rule name -> float64 (N,) satisfied share f (1.0 when the rule judged no event).
        events: rule name -> float64 (N,) events judged.
        bar_violations: rule name -> int64 (N, bars) violated events per bar.
        cell_violations: rule name -> bool (N, bars, steps, pitches) cells that break the rule, or None
            (only filled when scoring with ``explain=True``; bar-level rules such as rests have none).
        unit_cost: rule name -> float64 (N,): how much R_F one violated event costs,
            α·(reward − penalty)/max(events, 1).
        keys: int64 (N, 2): the key used for each candidate (tonic pitch class, mode 0 major / 1 minor).
        key_estimated: bool (N,): the key was estimated (none was given).
    """

    rules: dict[str, np.ndarray]
    r_f: np.ndarray
    satisfied: dict[str, np.ndarray]
    events: dict[str, np.ndarray]
    bar_violations: dict[str, np.ndarray]
    cell_violations: dict[str, np.ndarray | None]
    unit_cost: dict[str, np.ndarray]
    keys: np.ndarray
    key_estimated: np.ndarray

    def __len__(self) -> int:
        return int(self.r_f.shape[0])

    @property
    def bar_cost(self) -> np.ndarray:
        """float64 (N, bars): how much each bar lowers R_F (Σ over rules of violations × unit cost)."""
        total = None
        for name, bv in self.bar_violations.items():
            c = bv * self.unit_cost[name][:, None]
            total = c if total is None else total + c
        return total if total is not None else np.zeros((len(self), 0))


@dataclass
class PieceScore:
    """Scores of one piece, with its violations in words.

    Attributes:
        rules: rule name -> score.
        r_f: R_F.
        violations: every violation, sorted by bar and beat.
        satisfied: rule name -> satisfied share f.
        events: rule name -> events judged.
        bar_cost: float (bars,): how much each bar lowers R_F (grid bar order, first bar first).
        key: the key used; key_estimated: whether it was estimated.
        chord_symbols: whether the piece carried chord symbols.
        bar_offset: the printed number of the first bar (0 after a pickup bar, else 1).
        rule_set: the rule set's name.
    """

    rules: dict[str, float]
    r_f: float
    violations: list[Violation]
    satisfied: dict[str, float] = field(default_factory=dict)
    events: dict[str, float] = field(default_factory=dict)
    bar_cost: np.ndarray = field(default_factory=lambda: np.zeros(0))
    key: Key | None = None
    key_estimated: bool = False
    chord_symbols: bool = False
    bar_offset: int = 1
    rule_set: str = ""

    def worst_bars(self, k: int = 5) -> list[tuple[int, float, list[Violation]]]:
        """The ``k`` bars that lower R_F most: (printed bar number, cost, its violations), worst first."""
        if self.bar_cost.size == 0:
            return []
        order = np.argsort(-self.bar_cost, kind="stable")
        out = []
        for b in order[:k]:
            if self.bar_cost[b] <= 0:
                break
            bar = int(b) + self.bar_offset
            out.append((bar, float(self.bar_cost[b]), [v for v in self.violations if v.bar == bar]))
        return out

    def as_dict(self) -> dict:
        """Plain-dict form for JSON reports (``rules``, ``r_f``, ``violations``, ``key``...)."""
        return {
            "rule_set": self.rule_set,
            "rules": {k: float(v) for k, v in self.rules.items()},
            "r_f": float(self.r_f),
            "satisfied": {k: float(v) for k, v in self.satisfied.items()},
            "key": str(self.key) if self.key is not None else None,
            "key_estimated": self.key_estimated,
            "chord_symbols": self.chord_symbols,
            "worst_bars": [{"bar": b, "cost": c} for b, c, _ in self.worst_bars()],
            "violations": [v.as_dict() for v in self.violations],
        }


# ------------------------------------------------------------------------------------------- loading
def _line_of(text: str | None, rule_index: int | None, fld: str | None) -> int | None:
    """Best-effort 1-based line of a field in a rule file (the rule's ``[[rule]]`` line as a fallback)."""
    if not text:
        return None
    lines = text.splitlines()
    if rule_index is None:
        if fld:
            for i, ln in enumerate(lines):
                if re.match(rf"^\s*{re.escape(fld)}\s*=", ln):
                    return i + 1
                if re.match(r"^\s*\[", ln):
                    break
        return None
    heads = [i for i, ln in enumerate(lines) if re.match(r"^\s*\[\[\s*rule\s*\]\]", ln)]
    if rule_index >= len(heads):
        return None
    start = heads[rule_index]
    end = heads[rule_index + 1] if rule_index + 1 < len(heads) else len(lines)
    if fld:
        for i in range(start + 1, end):
            if re.match(rf"^\s*{re.escape(fld)}\s*=", lines[i]):
                return i + 1
    return start + 1


def _number(table: dict, key: str, path: str, text: str | None, what: str) -> float:
    if key not in table:
        raise InputError(path, f"missing field {key!r} ({what})", line=None)
    v = table[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise InputError(path, f"field {key!r}: expected a number, got {v!r}", line=_line_of(text, None, key))
    if v < 0:
        raise InputError(path, f"field {key!r}: must be >= 0, got {v:g}", line=_line_of(text, None, key))
    return float(v)


def _parse(table: dict, path: str, text: str | None, default_name: str) -> RuleSet:
    unknown = [k for k in table if k not in _TOP_FIELDS]
    if unknown:
        raise InputError(
            path,
            f"unknown field {unknown[0]!r}; expected {', '.join(_TOP_FIELDS)}",
            line=_line_of(text, None, unknown[0]),
        )
    name = table.get("name", default_name)
    if not isinstance(name, str) or not name:
        raise InputError(
            path, f"field 'name': expected a non-empty string, got {name!r}", line=_line_of(text, None, "name")
        )
    description = table.get("description", "")
    if not isinstance(description, str):
        raise InputError(path, "field 'description': expected a string", line=_line_of(text, None, "description"))
    beta_rules = _number(table, "beta_rules", path, text, "β1, the weight of R_F in the generator objective")
    beta_disc = _number(table, "beta_disc", path, text, "β2, the weight of the discriminator")
    raw = table.get("rule")
    if not isinstance(raw, list) or not raw or not all(isinstance(r, dict) for r in raw):
        raise InputError(path, "expected at least one [[rule]] table")
    rules: list[Rule] = []
    seen: set[str] = set()
    for i, r in enumerate(raw):
        rname = r.get("name")
        label = f"rule {i + 1}" if not isinstance(rname, str) else f"rule {rname!r}"

        def fail(fld: str, msg: str, label: str = label, i: int = i) -> InputError:
            return InputError(path, f"{label}, field {fld!r}: {msg}", line=_line_of(text, i, fld))

        if not isinstance(rname, str) or not rname:
            raise fail("name", "missing or not a string (every rule needs a unique name)")
        if rname in seen:
            raise fail("name", "another rule already has this name")
        seen.add(rname)
        kind = r.get("kind")
        if not isinstance(kind, str):
            raise fail("kind", f"missing or not a string; known kinds: {', '.join(sorted(RULE_KINDS))}")
        if kind not in RULE_KINDS:
            raise fail("kind", f"unknown rule kind {kind!r}; known kinds: {', '.join(sorted(RULE_KINDS))}")
        cls = RULE_KINDS[kind]
        common: dict[str, Any] = {}
        for fld in ("alpha", "reward", "penalty"):
            if fld not in r:
                raise fail(fld, "missing (every rule needs alpha, reward and penalty)")
            v = r[fld]
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise fail(fld, f"expected a number, got {v!r}")
            common[fld] = float(v)
        desc = r.get("description", "")
        if not isinstance(desc, str):
            raise fail("description", "expected a string")
        params = {k: v for k, v in r.items() if k not in ("name", "kind", "alpha", "reward", "penalty", "description")}
        try:
            rules.append(cls(name=rname, description=desc, **common, **params))
        except RuleFieldError as exc:
            raise fail(exc.field, str(exc)) from None
    return RuleSet(
        name=name, rules=rules, beta_rules=beta_rules, beta_disc=beta_disc, description=description, path=path
    )


def _shipped_dir():
    from importlib.resources import files

    return files("musicgen.rulefiles")


# ------------------------------------------------------------------------------------------- inputs
def _as_grid_array(data: Any, spec: GridSpec) -> np.ndarray:
    if hasattr(data, "detach") and hasattr(data, "cpu"):
        data = data.detach().cpu().numpy()
    arr = np.asarray(data)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4:
        raise ValueError(f"expected grids shaped (N, bars, steps, pitches), got shape {arr.shape}")
    if arr.shape[2] != spec.steps_per_bar or arr.shape[3] != spec.n_pitches:
        raise ValueError(
            f"grid shape {arr.shape[1:]} does not match the spec ({spec.steps_per_bar} steps per bar, {spec.n_pitches} pitches)"
        )
    if arr.dtype != np.int8:
        arr = arr.astype(np.int8)
    return np.ascontiguousarray(arr)


# ------------------------------------------------------------------------------------------- rule set
class RuleSet:
    """A named list of rules with their weights α and the objective weights β1 (rules) and β2 (discriminator).

    Attributes:
        name: the set's name.
        rules: the rules (objects with ``name``, ``kind``, ``alpha``, ``reward``, ``penalty``).
        beta_rules: β1.
        beta_disc: β2.
        description: free text.
        path: where the set was loaded from.
    """

    def __init__(
        self,
        name: str,
        rules: Sequence[Rule],
        beta_rules: float = 1.0,
        beta_disc: float = 1.0,
        description: str = "",
        path: str = "",
    ):
        self.name = name
        self.rules = list(rules)
        self.beta_rules = float(beta_rules)
        self.beta_disc = float(beta_disc)
        self.description = description
        self.path = path

    def __repr__(self) -> str:
        return f"RuleSet({self.name!r}, rules={[r.name for r in self.rules]}, beta_rules={self.beta_rules:g}, beta_disc={self.beta_disc:g})"

    # ---------------------------------------------------------------- loading
    @staticmethod
    def list_available() -> list[str]:
        """Names of the shipped rule sets (``violin``, ``melody``, ...).

        Only TOML files of the rule-file package that hold ``[[rule]]`` tables count: other data files
        shipped there (e.g. performance settings) are not rule sets.
        """
        names = []
        for p in _shipped_dir().iterdir():
            if not p.name.endswith(".toml"):
                continue
            try:
                table = tomllib.loads(p.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
                continue
            if isinstance(table.get("rule"), list):
                names.append(p.name[: -len(".toml")])
        return sorted(names)

    @classmethod
    def load(cls, name_or_path: str | os.PathLike = DEFAULT_RULES) -> RuleSet:
        """Load a shipped rule set by name ("violin") or a rule file by path ("my_rules.toml").

        Raises:
            InputError: the file is missing, is not valid TOML, or a rule is invalid (unknown kind,
                missing or mistyped field, reward below penalty, negative weight); the message names the
                file, the line where known, the rule and the field.
            UsageError: an unknown shipped name.
        """
        s = os.fspath(name_or_path)
        p = Path(s)
        shipped_file = p.name == s and p.suffix.lower() == ".toml" and (_shipped_dir() / s).is_file()
        if not p.is_file() and shipped_file:  # "violin.toml" means the shipped file unless one is here
            s = p.stem
        elif (
            isinstance(name_or_path, os.PathLike)
            or p.suffix.lower() == ".toml"
            or os.sep in s
            or "/" in s
            or p.is_file()
        ):
            if not p.is_file():
                raise InputError(p, "no such rule file", reason="missing")
            try:
                text = p.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise InputError(p, f"cannot read the rule file ({exc})", reason="corrupt") from None
            return cls.from_toml(text, str(p), default_name=p.stem)
        res = _shipped_dir() / f"{s}.toml"
        if not res.is_file():
            raise UsageError(
                f"unknown rule set {s!r}; shipped sets: {', '.join(cls.list_available())} (or give a path to a .toml file)"
            )
        return cls.from_toml(res.read_text(encoding="utf-8"), str(res), default_name=s)

    @classmethod
    def from_toml(cls, text: str, path: str = "<string>", default_name: str = "rules") -> RuleSet:
        """Parse a rule file's text (``path`` is used in error messages).

        Raises:
            InputError: as for :meth:`load`.
        """
        try:
            table = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            m = re.search(r"line (\d+)", str(exc))
            raise InputError(
                path, f"not valid TOML: {exc}", line=int(m.group(1)) if m else None, reason="corrupt"
            ) from None
        return _parse(table, path, text, default_name)

    @classmethod
    def from_dict(cls, table: dict, path: str = "<dict>") -> RuleSet:
        """Build a rule set from the parsed form of a rule file (same validation as :meth:`load`)."""
        return _parse(table, path, None, str(table.get("name", "rules")))

    def with_weights(
        self, alpha: dict[str, float] | None = None, beta_rules: float | None = None, beta_disc: float | None = None
    ) -> RuleSet:
        """A copy with some α (by rule name), β1 or β2 overridden.

        Raises:
            UsageError: an unknown rule name or a negative weight.
        """
        alpha = dict(alpha or {})
        names = {r.name for r in self.rules}
        for k, v in alpha.items():
            if k not in names:
                raise UsageError(f"rule set {self.name!r} has no rule {k!r}; its rules: {', '.join(sorted(names))}")
            if v < 0:
                raise UsageError(f"alpha of {k!r} must be >= 0, got {v:g}")
        for nm, v in (("beta_rules", beta_rules), ("beta_disc", beta_disc)):
            if v is not None and v < 0:
                raise UsageError(f"{nm} must be >= 0, got {v:g}")
        rules = [r.replace(alpha=alpha[r.name]) if r.name in alpha else r for r in self.rules]
        return RuleSet(
            self.name,
            rules,
            self.beta_rules if beta_rules is None else beta_rules,
            self.beta_disc if beta_disc is None else beta_disc,
            self.description,
            self.path,
        )

    @property
    def bounds(self) -> tuple[float, float]:
        """(lowest, highest) possible R_F: (Σ α·penalty, Σ α·reward)."""
        return (sum(r.alpha * r.penalty for r in self.rules), sum(r.alpha * r.reward for r in self.rules))

    def rule(self, name: str) -> Rule:
        """The rule called ``name``.

        Raises:
            KeyError: no such rule.
        """
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(name)

    # ---------------------------------------------------------------- exact scoring
    def _outcomes(self, ctx: GridContext) -> list[Outcome]:
        return [r.exact(ctx) for r in self.rules]

    def score_grids(
        self,
        data: Any,
        spec: GridSpec,
        key: Any = None,
        chords: Any = None,
        explain: bool = False,
        chunk_size: int = _CHUNK,
    ) -> GridScores:
        """Score N candidate grids at once (vectorised over candidates; no loop over notes).

        Args:
            data: int array (N, bars, steps, pitches) of 0 silent / 1 onset / 2 hold (a single grid
                (bars, steps, pitches) is taken as N = 1); numpy, or a torch tensor.
            spec: the grids' :class:`GridSpec` (its meter decides the strong beats).
            key: the key(s), see :func:`normalise_keys`; None estimates each candidate's key.
            chords: chords, see :func:`normalise_chords`; None estimates a diatonic triad per bar.
            explain: also return per-cell violation masks (``GridScores.cell_violations``).
            chunk_size: candidates per vectorised pass (memory / cache trade-off only).

        Returns:
            :class:`GridScores`.

        Raises:
            ValueError: shapes that do not match ``spec`` or each other.
        """
        arr = _as_grid_array(data, spec)
        n, n_bars = arr.shape[0], arr.shape[1]
        keys_in = normalise_keys(key, n)
        chords_in, symbols = normalise_chords(chords, n, n_bars)
        parts: list[tuple[list[Outcome], np.ndarray, np.ndarray]] = []
        step = max(1, int(chunk_size))
        for lo in range(0, max(n, 1), step):
            hi = min(n, lo + step)
            ctx = GridContext(
                arr[lo:hi], spec, keys_in[lo:hi], None if chords_in is None else chords_in[lo:hi], explain, symbols
            )
            outs = self._outcomes(ctx)
            parts.append((outs, *self._keys_used(ctx)))
            if n == 0:
                break
        return self._collect(parts, n, n_bars)

    def _keys_used(self, ctx) -> tuple[np.ndarray, np.ndarray]:
        """(keys, estimated) of a context; keys are only estimated when a rule needs them."""
        if any(isinstance(r, _KEY_USERS) for r in self.rules):
            return ctx.keys_and_estimated
        return ctx.key_in, np.zeros(ctx.key_in.shape[0], dtype=bool)

    def _collect(self, parts, n: int, n_bars: int) -> GridScores:
        rules, sats, evs, bars, cells, units = {}, {}, {}, {}, {}, {}
        r_f = np.zeros(n)
        for j, rule in enumerate(self.rules):
            sat = np.concatenate([p[0][j].sat for p in parts]) if parts else np.zeros(0)
            ev = np.concatenate([p[0][j].events for p in parts]) if parts else np.zeros(0)
            score, f = aggregate(rule, sat.astype(np.float64), ev.astype(np.float64))
            rules[rule.name], sats[rule.name], evs[rule.name] = score, f, ev
            r_f = r_f + rule.alpha * score
            bars[rule.name] = (
                np.concatenate([p[0][j].bar_violations for p in parts]) if parts else np.zeros((0, n_bars), np.int64)
            )
            cs = [p[0][j].cells for p in parts]
            cells[rule.name] = np.concatenate(cs) if parts and all(c is not None for c in cs) else None
            units[rule.name] = rule.alpha * (rule.reward - rule.penalty) / np.maximum(ev, 1.0)
        keys = np.concatenate([p[1] for p in parts]) if parts else np.zeros((0, 2), np.int64)
        est = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, bool)
        return GridScores(rules, r_f, sats, evs, bars, cells, units, keys, est)

    def score(
        self, batch: Any, spec: GridSpec, key: Any = None, chords: Any = None, explain: bool = False
    ) -> GridScores:
        """Alias of :meth:`score_grids` (numpy or torch integer grids)."""
        return self.score_grids(batch, spec, key=key, chords=chords, explain=explain)

    def violations(
        self, data: np.ndarray, spec: GridSpec, key: Any = None, chords: Any = None, bar_offset: int = 1
    ) -> list[Violation]:
        """The violations of one grid (bars, steps, pitches) in words, sorted by bar and beat.

        Raises:
            ValueError: as for :meth:`score_grids`.
        """
        arr = _as_grid_array(data, spec)[:1]
        chords_in, symbols = normalise_chords(chords, 1, arr.shape[1])
        ctx = GridContext(arr, spec, normalise_keys(key, 1), chords_in, False, symbols)
        return self._explain(ctx, self._outcomes(ctx), bar_offset)

    def _explain(self, ctx: GridContext, outs: list[Outcome], bar_offset: int) -> list[Violation]:
        res: list[Violation] = []
        for j, (rule, out) in enumerate(zip(self.rules, outs)):
            unit = rule.alpha * (rule.reward - rule.penalty) / max(float(out.events[0]), 1.0)
            for v in rule.explain(ctx, 0, bar_offset):
                v.cost = unit * v.events
                res.append((v.bar, v.beat, j, v))
        res.sort(key=lambda t: (t[0], t[1], t[2]))
        return [t[3] for t in res]

    # ---------------------------------------------------------------- pieces
    def score_piece(self, piece: Piece, steps_per_quarter: int = 12) -> PieceScore:
        """Score one piece and explain its violations.

        The piece's pitched notes (all non-drum tracks together) are put on a grid of
        ``steps_per_quarter`` steps per quarter note (24 or 48 if its meter needs finer steps) whose
        pitch window spans the piece's notes, so no note is lost to the window. The key is the piece's
        key, else estimated; chords come from the piece's chord symbols where one is in effect, else are
        estimated per bar. Bars are numbered as printed music does (from 0 after a pickup bar).

        Raises:
            InputError: the piece's meter cannot be put on a grid.
        """
        notes = piece.pitched_notes()
        lo = int(notes["pitch"].min()) if notes.size else 60
        hi = int(notes["pitch"].max()) if notes.size else 60
        grid = None
        for spq in (steps_per_quarter, 24, 48):
            try:
                grid, _ = piece_to_grid(piece, GridSpec(spq, lo, hi - lo + 1))
                break
            except ValueError:
                continue
        if grid is None:
            num, den = piece.time_signature
            raise InputError(
                piece.source or piece.title or "<piece>",
                f"cannot put meter {num}/{den} on a grid",
                reason="unsupported",
            )
        symbols = piece.chords if piece.chords.size else None
        pickup = float(piece.meta.get("pickup_qn", 0) or 0)
        lead_in = 0
        if pickup > 0 and grid.n_bars:
            # the silence before the first note of a pickup bar is padding, not a notated rest
            first = np.nonzero(grid.data[0].any(axis=-1))[0]
            lead_in = int(first[0]) if first.size else 0
        ctx = GridContext(grid.data[None], grid.spec, normalise_keys(piece.key, 1), None, False, symbols, lead_in)
        outs = self._outcomes(ctx)
        gs = self._collect([(outs, *self._keys_used(ctx))], 1, grid.n_bars)
        bar_offset = 0 if pickup > 0 else 1
        vio = self._explain(ctx, outs, bar_offset)
        k = gs.keys[0]
        key = (
            piece.key
            if piece.key is not None
            else (Key(int(k[0]), "minor" if k[1] == 1 else "major") if k[0] >= 0 else None)
        )
        return PieceScore(
            rules={nm: float(v[0]) for nm, v in gs.rules.items()},
            r_f=float(gs.r_f[0]),
            violations=vio,
            satisfied={nm: float(v[0]) for nm, v in gs.satisfied.items()},
            events={nm: float(v[0]) for nm, v in gs.events.items()},
            bar_cost=gs.bar_cost[0],
            key=key,
            key_estimated=bool(gs.key_estimated[0]),
            chord_symbols=symbols is not None,
            bar_offset=bar_offset,
            rule_set=self.name,
        )

    # ---------------------------------------------------------------- soft
    def soft_score(self, onset: Any, sounding: Any, spec: GridSpec, key: Any = None, chords: Any = None):
        """Differentiable R_F over soft grids, for the generator's training reward.

        See :func:`musicgen.rules.soft.soft_score`.
        """
        return soft_score(self, onset, sounding, spec, key=key, chords=chords)


#: Rule kinds that read the key.
_KEY_USERS = (InKey, StrongBeatChordTones)
