"""The fiddle corpus as training tensors for the bar VQ-VAE and the generator.

Representation (this toolkit's choice, see :data:`MODEL_SPEC`)
---------------------------------------------------------------
* **Bars of four quarter notes at 4 steps per quarter** (16 steps, sixteenth-note resolution). Tunes in
  4/4 and 2/2 give one model bar per bar; tunes in 2/4 give one model bar per *two* bars (when a 2/4 tune
  starts with a padded pickup bar, an empty 2/4 bar is put in front of it, so that every 2/4 downbeat
  falls on beat 1 or 3 of a model bar). Other meters (6/8 jigs, 3/4 waltzes, ...) are not used: their bars
  do not hold four quarter notes.
* **Pitch window MIDI 48..107** (C3..B7, 60 pitches): wider than the violin's G3..E7 (55..100) on both
  sides, so that the model *can* write out-of-range notes and the pitch-range rule has something to teach.
* Cells hold :data:`musicgen.grid.SILENT` / ``ONSET`` / ``HOLD`` (0 / 1 / 2).
* Quantisation to sixteenths is measured, never silent: :attr:`BarDataset.quantisation` sums the
  :class:`~musicgen.grid.QuantisationReport` of every tune used (triplets and thirty-seconds move).
* **Key normalisation** (``key_normalise=True``, what training uses by default): every tune is
  transposed so that the tonic of its key (music21's Krumhansl–Schmuckler estimate, the one the corpus'
  mode and valence come from) becomes C — C major or C minor — choosing among the three octave placements
  the one that keeps the most notes inside the violin's range. The model then learns one key per mode
  instead of twelve; :meth:`musicgen.model.api.MusicModel.sample` transposes each generated piece to a
  tonic drawn from the training tunes' tonics. Augmentation is then by octaves only.
* **Transposition augmentation** (without key normalisation): a window is shifted by a random number of
  semitones in [-5, +6], limited so that the tune stays inside the violin's range (a tune already at an
  edge is shifted less, possibly not at all). The augmentation therefore never *adds* out-of-range notes.
* **Windows longer than a tune** continue cyclically from the tune's first full bar (how fiddle tunes are
  played: the whole tune again), so that 16- and 32-bar windows exist for 8-bar tunes.
* **Conditioning vector** of a tune: its derived (valence, arousal) from :mod:`musicgen.corpus`; the
  8 probabilities are, at random per sample, either the soft distribution of
  :func:`musicgen.conditions.va_to_probabilities` (what a live estimate looks like) or the one-hot
  of the tune's derived label (what a label request looks like).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from musicgen.errors import UsageError
from musicgen.grid import VIOLIN_HIGHEST, VIOLIN_LOWEST, GridSpec, piece_to_grid

#: The model's grid: 4 steps per quarter, MIDI 48..107, one 4/4 bar = 16 steps.
MODEL_SPEC = GridSpec(steps_per_quarter=4, lowest_pitch=48, n_pitches=60, numerator=4, denominator=4)
#: Corpus meters whose bars make model bars (2/4 two at a time).
MODEL_METERS = ("4/4", "2/2", "2/4")
#: Transposition augmentation range, semitones.
TRANSPOSE_RANGE = (-5, 6)


@dataclass
class BarDataset:
    """Tunes of one split as model bars.

    Attributes:
        bars: int8 (n_bars_total, 16, 60) cells of every tune, tune after tune.
        offsets: int64 (n_tunes + 1,): tune ``k`` has bars ``offsets[k]:offsets[k+1]``.
        first_full: int64 (n_tunes,): index (within the tune) of its first full bar (1 after a pickup).
        pitch_lo / pitch_hi: int64 (n_tunes,): lowest / highest MIDI pitch of each tune.
        valence / arousal: float32 (n_tunes,): derived labels from the corpus.
        emotion: int64 (n_tunes,): index in :data:`musicgen.conditions.EMOTIONS` of the derived label.
        corpus_index: int64 (n_tunes,): index of each tune in the corpus.
        quantisation: summed quantisation report over the tunes (dict of counts and errors in quarters).
        spec: the model grid spec.
        tonic / minor: int64 / bool (n_tunes,): each tune's key (pitch class of the tonic, minor mode).
        key_shift: int64 (n_tunes,): semitones each tune was transposed by (0 without key normalisation).
        key_normalised: whether the tunes were moved to C major / C minor.
    """

    bars: np.ndarray
    offsets: np.ndarray
    first_full: np.ndarray
    pitch_lo: np.ndarray
    pitch_hi: np.ndarray
    valence: np.ndarray
    arousal: np.ndarray
    emotion: np.ndarray
    corpus_index: np.ndarray
    quantisation: dict = field(default_factory=dict)
    spec: GridSpec = MODEL_SPEC
    tonic: np.ndarray | None = None
    minor: np.ndarray | None = None
    key_shift: np.ndarray | None = None
    key_normalised: bool = False

    def __post_init__(self) -> None:
        n = self.n_tunes
        if self.tonic is None:
            self.tonic = np.zeros(n, np.int64)
        if self.minor is None:
            self.minor = np.zeros(n, bool)
        if self.key_shift is None:
            self.key_shift = np.zeros(n, np.int64)

    @property
    def n_tunes(self) -> int:
        """Number of tunes."""
        return int(self.offsets.size - 1)

    @property
    def lengths(self) -> np.ndarray:
        """Bars per tune."""
        return np.diff(self.offsets)

    def subset(self, tunes: np.ndarray) -> BarDataset:
        """A dataset of only the given tune indices (in that order)."""
        tunes = np.asarray(tunes, dtype=np.int64)
        parts = [self.bars[self.offsets[k] : self.offsets[k + 1]] for k in tunes]
        lens = np.asarray([len(p) for p in parts], dtype=np.int64)
        return BarDataset(
            bars=np.concatenate(parts) if parts else self.bars[:0],
            offsets=np.concatenate([[0], np.cumsum(lens)]).astype(np.int64),
            first_full=self.first_full[tunes],
            pitch_lo=self.pitch_lo[tunes],
            pitch_hi=self.pitch_hi[tunes],
            valence=self.valence[tunes],
            arousal=self.arousal[tunes],
            emotion=self.emotion[tunes],
            corpus_index=self.corpus_index[tunes],
            quantisation=dict(self.quantisation),
            spec=self.spec,
            tonic=self.tonic[tunes],
            minor=self.minor[tunes],
            key_shift=self.key_shift[tunes],
            key_normalised=self.key_normalised,
        )


def tune_model_bars(piece, spec: GridSpec = MODEL_SPEC):
    """One tune as model bars.

    Args:
        piece: a :class:`~musicgen.piece.Piece` in 4/4, 2/2 or 2/4.
        spec: the model grid (its meter is ignored: bars are always four quarters).

    Returns:
        (bars int8 (n, 16, n_pitches), first_full_bar, QuantisationReport), or None for another meter.
    """
    num, den = piece.time_signature
    meter = f"{num}/{den}"
    if meter not in MODEL_METERS:
        return None
    grid, rep = piece_to_grid(piece, spec)
    data = grid.data
    pickup = float(piece.meta.get("pickup_qn", 0.0)) > 0
    if meter == "2/4":
        if pickup:
            data = np.concatenate([np.zeros((1,) + data.shape[1:], np.int8), data])
        if data.shape[0] % 2:
            data = np.concatenate([data, np.zeros((1,) + data.shape[1:], np.int8)])
        data = data.reshape(data.shape[0] // 2, 2 * data.shape[1], data.shape[2])
        # a HOLD at the start of the second half continues the note of the first half: still a hold
    first_full = 1 if pickup and data.shape[0] > 1 else 0
    return data.astype(np.int8), first_full, rep


def parse_key(text: str) -> tuple[int, bool]:
    """(tonic pitch class, minor) of a key name as the corpus writes it ("G major", "F# minor", "Bb major").

    Raises:
        ValueError: not a key name.
    """
    from musicgen.piece import PITCH_NAMES

    alias = {"Db": "C#", "D#": "Eb", "Gb": "F#", "G#": "Ab", "A#": "Bb", "Cb": "B", "Fb": "E", "E#": "F", "B#": "C"}
    parts = str(text).split()
    if len(parts) != 2 or parts[1] not in ("major", "minor"):
        raise ValueError(f"not a key name: {text!r}")
    name = alias.get(parts[0], parts[0])
    if name not in PITCH_NAMES:
        raise ValueError(f"not a key name: {text!r}")
    return PITCH_NAMES.index(name), parts[1] == "minor"


def fit_shift(
    pitch_lo: int, pitch_hi: int, base: int, lowest: int = VIOLIN_LOWEST, highest: int = VIOLIN_HIGHEST
) -> int:
    """Of ``base - 12``, ``base`` and ``base + 12`` semitones, the shift that keeps a pitch span
    [pitch_lo, pitch_hi] most inside [lowest, highest] (ties: the smaller shift in size)."""
    best, best_cost = base, None
    for s in sorted((base - 12, base, base + 12), key=abs):
        cost = max(0, lowest - (pitch_lo + s)) + max(0, (pitch_hi + s) - highest)
        if best_cost is None or cost < best_cost:
            best, best_cost = s, cost
    return best


def build_bar_dataset(
    corpus, split: str | None, spec: GridSpec = MODEL_SPEC, progress=None, key_normalise: bool = False
) -> BarDataset:
    """Convert the tunes of ``split`` ("train"/"valid"/"test", None = all) in :data:`MODEL_METERS`.

    Args:
        corpus: a loaded :class:`musicgen.corpus.Corpus`.
        split: which split.
        spec: the model grid.
        progress: optional ``progress(done, total)`` callback.
        key_normalise: move every tune to C major / C minor (see the module docstring).

    Raises:
        UsageError: no tune of that split is in a usable meter.
    """
    from musicgen.conditions import EMOTIONS

    idx = corpus.indices(split, MODEL_METERS)
    bars, lens, first, lo, hi, val, aro, emo, used, tonics, minors, shifts = (
        [],
        [],
        [],
        [],
        [],
        [],
        [],
        [],
        [],
        [],
        [],
        [],
    )
    q = {
        "n_tunes": 0,
        "n_notes": 0,
        "n_moved": 0,
        "n_out_of_range": 0,
        "n_merged": 0,
        "n_truncated": 0,
        "sum_abs_error_qn": 0.0,
        "max_abs_error_qn": 0.0,
    }
    for j, i in enumerate(idx):
        piece = corpus.piece(int(i))
        out = tune_model_bars(piece, spec)
        if progress is not None:
            progress(j + 1, len(idx))
        if out is None or out[0].shape[0] == 0:
            continue
        data, ff, rep = out
        t = corpus.tunes[int(i)]
        p = piece.notes["pitch"]
        try:
            tonic, minor = parse_key(t.key)
        except ValueError:
            tonic, minor = (
                (piece.key.tonic, piece.key.mode == "minor") if piece.key is not None else (0, t.mode == "minor")
            )
        shift = 0
        if key_normalise:
            base = -tonic if tonic <= 6 else 12 - tonic
            shift = fit_shift(int(p.min()), int(p.max()), base)
            data = transpose_cells(data[None], np.array([shift]))[0]
        tonics.append(tonic)
        minors.append(minor)
        shifts.append(shift)
        bars.append(data)
        lens.append(data.shape[0])
        first.append(ff)
        lo.append(int(p.min()) + shift)
        hi.append(int(p.max()) + shift)
        val.append(t.valence)
        aro.append(t.arousal)
        emo.append(EMOTIONS.index(t.emotion))
        used.append(int(i))
        q["n_tunes"] += 1
        q["n_notes"] += rep.n_notes
        q["n_moved"] += rep.n_moved
        q["n_out_of_range"] += rep.n_out_of_range
        q["n_merged"] += rep.n_merged
        q["n_truncated"] += rep.n_truncated
        q["sum_abs_error_qn"] += rep.mean_abs_error_qn * 2 * rep.n_notes
        q["max_abs_error_qn"] = max(q["max_abs_error_qn"], rep.max_abs_error_qn)
    if not bars:
        raise UsageError(f"the corpus has no {split or ''} tune in {', '.join(MODEL_METERS)}")
    q["mean_abs_error_qn"] = q.pop("sum_abs_error_qn") / max(1, 2 * q["n_notes"])
    q["moved_share"] = q["n_moved"] / max(1, q["n_notes"])
    return BarDataset(
        bars=np.concatenate(bars),
        offsets=np.concatenate([[0], np.cumsum(lens)]).astype(np.int64),
        first_full=np.asarray(first, np.int64),
        pitch_lo=np.asarray(lo, np.int64),
        pitch_hi=np.asarray(hi, np.int64),
        valence=np.asarray(val, np.float32),
        arousal=np.asarray(aro, np.float32),
        emotion=np.asarray(emo, np.int64),
        corpus_index=np.asarray(used, np.int64),
        quantisation=q,
        spec=spec,
        tonic=np.asarray(tonics, np.int64),
        minor=np.asarray(minors, bool),
        key_shift=np.asarray(shifts, np.int64),
        key_normalised=key_normalise,
    )


def transpose_cells(cells: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Shift each sample's pitch axis by ``shifts`` semitones (cells pushed off the window are dropped).

    Args:
        cells: int8 (B, ..., pitches).
        shifts: int (B,) semitones (positive = up).
    """
    cells = np.asarray(cells)
    shifts = np.asarray(shifts, dtype=np.int64)
    n = cells.shape[-1]
    out = np.zeros_like(cells)
    for s in np.unique(shifts):  # at most 12 distinct shifts: slice per shift value
        sel = shifts == s
        if s >= 0:
            out[sel, ..., s:] = cells[sel, ..., : n - s]
        else:
            out[sel, ..., : n + s] = cells[sel, ..., -s:]
    return out


def condition_vectors(
    valence: np.ndarray,
    arousal: np.ndarray,
    emotion: np.ndarray,
    rng: np.random.Generator | None,
    onehot_prob: float = 0.5,
) -> np.ndarray:
    """Conditioning vectors (N, 10) for tunes: 8 probabilities + valence + arousal.

    With probability ``onehot_prob`` (per sample; never when ``rng`` is None) the probabilities are the
    one-hot of the derived label, else the soft distribution of the (valence, arousal) point.
    """
    from musicgen.conditions import va_to_probabilities

    v = np.clip(np.asarray(valence, np.float64), -1, 1)
    a = np.clip(np.asarray(arousal, np.float64), -1, 1)
    soft = np.stack([va_to_probabilities(float(x), float(y)) for x, y in zip(v, a)]) if v.size else np.zeros((0, 8))
    if rng is not None and onehot_prob > 0:
        hard = np.eye(8)[np.asarray(emotion, np.int64)]
        pick = rng.random(v.size) < onehot_prob
        soft = np.where(pick[:, None], hard, soft)
    return np.concatenate([soft, v[:, None], a[:, None]], axis=1).astype(np.float32)


def paired_conditions(cond: np.ndarray, rng: np.random.Generator, low: float = 0.2, high: float = 1.0) -> np.ndarray:
    """Partner conditions (N, 10) for conditions ``cond`` (N, 10): per sample, the valence, the arousal or
    both change sign (each case a third of the time) and get a magnitude drawn uniformly in
    [``low``, ``high``]; the 8 probabilities are then those of the new point (one-hot of the nearest
    class or the soft distribution, half of the time each, as :func:`condition_vectors`).

    Generating the same noise under both conditions makes the condition the only difference between
    the two pieces (the training's paired emotion terms), and mirroring the corpus' conditions balances
    them: the corpus is three-quarters major, its partners three-quarters minor.
    """
    from musicgen.conditions import EMOTION_VA, EMOTIONS

    c = np.asarray(cond, dtype=np.float32)
    n = c.shape[0]
    kind = rng.integers(0, 3, n)  # 0: valence, 1: arousal, 2: both
    v, a = c[:, 8].astype(np.float64), c[:, 9].astype(np.float64)
    mag_v, mag_a = rng.uniform(low, high, n), rng.uniform(low, high, n)
    sv, sa = np.where(v >= 0, -1.0, 1.0), np.where(a >= 0, -1.0, 1.0)
    v2 = np.where(kind != 1, sv * mag_v, v)
    a2 = np.where(kind != 0, sa * mag_a, a)
    centres = np.asarray([EMOTION_VA[e] for e in EMOTIONS])
    nearest = ((centres[None, :, :] - np.stack([v2, a2], 1)[:, None, :]) ** 2).sum(-1).argmin(1)
    return condition_vectors(v2, a2, nearest, rng)


class WindowSampler:
    """Draws random windows of consecutive model bars (with augmentation) from a :class:`BarDataset`.

    Tunes are drawn with probability proportional to their length (each bar equally likely to start a
    window); windows longer than what is left of a tune continue cyclically from its first full bar.

    Args:
        data: the dataset.
        seed: RNG seed (the sampler owns a numpy Generator; its state can be saved/restored).
        augment: apply transposition augmentation.
    """

    def __init__(self, data: BarDataset, seed: int = 0, augment: bool = True, balance_modes: bool = False):
        self.data = data
        self.rng = np.random.default_rng(seed)
        self.augment = augment
        lens = data.lengths.astype(np.float64)
        if balance_modes and data.minor.any() and (~data.minor).any():
            # as many bars of minor tunes as of major ones are drawn
            lens = np.where(data.minor, lens / lens[data.minor].sum(), lens / lens[~data.minor].sum())
        self._p = lens / lens.sum()
        # precomputed per-tune soft condition vectors (the one-hot choice is drawn per sample)
        self._soft = condition_vectors(data.valence, data.arousal, data.emotion, None)

    def _indices(self, tunes: np.ndarray, starts: np.ndarray, n: int) -> np.ndarray:
        d = self.data
        off, lens, ff = d.offsets[tunes], d.lengths[tunes], d.first_full[tunes]
        pos = starts[:, None] + np.arange(n)[None, :]  # position within the tune, may run past its end
        period = np.maximum(lens - ff, 1)
        over = pos >= lens[:, None]
        wrapped = ff[:, None] + (pos - lens[:, None]) % period[:, None]
        pos = np.where(over, wrapped, pos)
        return off[:, None] + pos

    def sample(self, batch: int, n_bars: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Draw ``batch`` windows of ``n_bars`` bars.

        Returns:
            (cells int8 (batch, n_bars, 16, pitches), conditions float32 (batch, 10), tune indices (batch,)).
        """
        d = self.data
        tunes = self.rng.choice(d.n_tunes, size=batch, p=self._p)
        starts = np.floor(self.rng.random(batch) * d.lengths[tunes]).astype(np.int64)
        cells = d.bars[self._indices(tunes, starts, n_bars)]
        if self.augment:
            lo_room = VIOLIN_LOWEST - d.pitch_lo[tunes]  # most negative allowed shift (<= 0 if in range)
            hi_room = VIOLIN_HIGHEST - d.pitch_hi[tunes]
            if d.key_normalised:  # keep the key: octaves only
                lo = np.where(lo_room <= -12, -12, 0)
                hi = np.where(hi_room >= 12, 12, 0)
                pick = np.floor(self.rng.random(batch) * 3).astype(np.int64)  # 0: down, 1: none, 2: up
                shifts = np.where(pick == 0, lo, np.where(pick == 2, hi, 0))
            else:
                lo = np.minimum(np.maximum(TRANSPOSE_RANGE[0], lo_room), 0)
                hi = np.maximum(np.minimum(TRANSPOSE_RANGE[1], hi_room), 0)
                shifts = lo + np.floor(self.rng.random(batch) * (hi - lo + 1)).astype(np.int64)
            cells = transpose_cells(cells, shifts)
        cond = self._soft[tunes].copy()
        pick = self.rng.random(batch) < 0.5
        cond[pick, :8] = np.eye(8, dtype=np.float32)[d.emotion[tunes[pick]]]
        return cells, cond, tunes

    def sample_bars(self, batch: int) -> np.ndarray:
        """Draw ``batch`` single bars (augmented), int8 (batch, 16, pitches): for the VQ-VAE."""
        return self.sample(batch, 1)[0][:, 0]
