"""How well the estimator holds up: unseen simulated people (SYNTHETIC), the README demo, and one real recording.

Unseen simulated sessions (:func:`evaluate_unseen_sessions`)
-----------------------------------------------------------
Each seed ``k`` is a new simulated person (:func:`~musicgen.emotion.simulate.simulate_session`
simulates person 0 of seed ``k``; training sessions are people 1, 2, … of the training seed, see
:mod:`~musicgen.emotion.sessions`, so none of them was trained on) going through all 8 emotions in
a random order, 30 s each, with no resting start. The session is written as a contract CSV and
estimated exactly as ``musicgen emotion estimate`` does it (file source → streaming window
features → :class:`~musicgen.emotion.streaming.EstimatorSession` with the default smoothing).
A window is scored when its end lies at least ``lag_s`` (12 s) into its segment and before the
segment's end; accuracy is the share of scored windows whose smoothed label is the segment's
emotion. Variants remove modalities: "no face" (physiology only) and "cardiac only" (the ECG).
Each modality's features are computed independently, so a variant masks the removed modalities'
features — the same numbers a file without those columns gives (a test checks this).

Development used seeds 1000–1019; the default evaluation seeds (2000 on) were kept for reporting
(the short-session round of work also compared its few candidate recipes on them, see below).

Short sessions like the README demo (:func:`evaluate_short_sessions`)
---------------------------------------------------------------------
The README demo is a 90-s session that starts in neutral: the reference is empty for its first
segment and rests on one or two segments after that. :func:`readme_demo_accuracy` scores it
(seed 0); :func:`evaluate_short_sessions` scores the same kind of session for other simulated
people and orders — by default :data:`SHORT_ORDERS` (the demo's and four others, 3 × 30 s) for
seeds 1–10, scored like the unseen sessions. The candidate recipes of that round were compared on
these seeds too, so they are a check that the recipe is not fitted to seed 0, not an untouched test;
:func:`random_short_sessions` draws fresh ones (3 different emotions in a random order per seed):
these sessions were never used to choose a recipe (the same people, seeds 3000 on, were once run in
the demo's order to compare two candidate recipes).

The one real labelled recording (:func:`physio_event_valences`)
---------------------------------------------------------------
NeuroKit2's ``bio_eventrelated_100hz.csv`` (one participant, 100 Hz, ECG, EDA, RSP and a
photosensor marking four 3-s images, labelled Negative, Neutral, Neutral, Negative in NeuroKit2's
documentation). For each image the estimate of the 10-s window that starts at its onset is
reported next to the label, with the estimate of the window just before it. Four events from one
person prove little; the figures are a sanity check, not a validation.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from musicgen.conditions import EMOTIONS
from musicgen.emotion.features import FEATURES_VERSION, MODALITY_GROUPS, StreamingFeatures, WindowConfig, WindowFeatures
from musicgen.emotion.network import Estimator, load_estimator
from musicgen.emotion.streaming import EstimatorSession, SmoothingConfig
from musicgen.errors import InputError, UsageError

#: First seed of the default evaluation (seeds 1000–1019 were used while developing the estimator).
DEFAULT_FIRST_SEED = 2000
#: Scored windows end at least this long into their segment (s).
LAG_S = 12.0
#: Segment length of evaluation sessions (s).
SEGMENT_S = 30.0
#: Modality groups each variant removes.
VARIANTS: dict[str, tuple[str, ...]] = {
    "all channels": (),
    "no face": ("face",),
    "cardiac only": ("eda", "rsp", "temp", "face"),
}
#: The README demo: ``musicgen emotion simulate session.csv`` with its defaults.
DEMO_SEGMENTS: tuple[tuple[str, float], ...] = (("neutral", 30.0), ("happy", 30.0), ("sadness", 30.0))
#: Emotion orders of the default short sessions (3 × 30 s; the first is the README demo's).
SHORT_ORDERS: tuple[tuple[str, ...], ...] = (
    ("neutral", "happy", "sadness"),
    ("happy", "neutral", "sadness"),
    ("sadness", "anger", "neutral"),
    ("fear", "neutral", "happy"),
    ("neutral", "disgust", "surprise"),
)
#: Seeds (simulated people) of the default short sessions (seed 0 is the README demo itself).
SHORT_SEEDS: tuple[int, ...] = tuple(range(1, 11))
#: Seeds of the fresh short sessions (:func:`random_short_sessions`), whose sessions never chose a recipe.
FRESH_SHORT_SEEDS: tuple[int, ...] = tuple(range(3000, 3020))
#: Conditions of the four images in NeuroKit2's bio_eventrelated_100hz.csv, in order (NeuroKit2's documentation).
NEUROKIT_EVENT_CONDITIONS: tuple[str, ...] = ("Negative", "Neutral", "Neutral", "Negative")

_GROUP_MODALITIES = {
    "cardiac": ("ecg", "ppg", "hr"),
    "eda": ("eda",),
    "rsp": ("rsp",),
    "temp": ("temp",),
    "face": ("face",),
}
_MODALITY_BITS = ("ecg", "ppg", "hr", "eda", "rsp", "temp", "face")


def evaluation_segments(seed: int, segment_s: float = SEGMENT_S) -> list[tuple[str, float]]:
    """The session of evaluation seed ``seed``: all 8 emotions, ``segment_s`` each, in a random order of that seed."""
    order = np.random.default_rng([seed, 8]).permutation(len(EMOTIONS))
    return [(EMOTIONS[int(k)], float(segment_s)) for k in order]


def without_modalities(wf: WindowFeatures, groups: Sequence[str]) -> WindowFeatures | None:
    """The window as a source without those modality groups would give it (None if nothing is left)."""
    if not groups:
        return wf
    values, mask = wf.values.copy(), wf.mask.copy()
    gone: set[str] = set()
    for g in groups:
        cols = list(MODALITY_GROUPS[g])
        values[cols] = np.nan
        mask[cols] = False
        gone.update(_GROUP_MODALITIES[g])
    if not mask.any():
        return None
    return WindowFeatures(wf.end, values, mask, tuple(m for m in wf.modalities if m not in gone))


def stream_windows(path: str | Path, config: WindowConfig, sampling_rate: float | None = None) -> list[WindowFeatures]:
    """The windows ``musicgen emotion estimate`` computes from a file (same source, same streaming features).

    Raises:
        InputError: the file is missing or unusable.
    """
    from musicgen.emotion.sources import open_source

    src = open_source(path, sampling_rate=sampling_rate)
    feats = StreamingFeatures(config, src.diagnostics, src.name)
    out: list[WindowFeatures] = []
    try:
        for chunk in src:
            out.extend(feats.push(chunk))
        out.extend(feats.flush())
    finally:
        src.close()
    return out


def score_windows(
    times: np.ndarray, labels: Sequence[str], segments: Sequence[tuple[float, float, str]], lag_s: float = LAG_S
):
    """``(true, predicted)`` class indices of the estimates whose time lies in ``[start + lag_s, end)`` of a segment."""
    t = np.asarray(times, dtype=float)
    true, pred = [], []
    for a, b, emo in segments:
        for i in np.flatnonzero((t >= a + lag_s - 1e-9) & (t < b - 1e-9)):
            true.append(EMOTIONS.index(emo))
            pred.append(EMOTIONS.index(labels[i]))
    return np.asarray(true, dtype=np.int64), np.asarray(pred, dtype=np.int64)


def _run(est: Estimator, windows: list[WindowFeatures], groups: Sequence[str], smoothing: SmoothingConfig | None):
    session = EstimatorSession(est, smoothing)
    times, labels = [], []
    for wf in windows:
        w = without_modalities(wf, groups)
        if w is None:
            continue
        e = session.update(w)
        times.append(e.time)
        labels.append(e.label)
    return np.asarray(times), labels


def _simulated_windows(segments, seed: int, config: WindowConfig, cache: bool):
    """Simulate the session, write it as a contract CSV, stream it back into windows (cached per seed)."""
    from musicgen.emotion.simulate import SIMULATOR_VERSION, simulate_session, write_recording_csv

    path = None
    if cache:
        from musicgen.paths import cache_dir

        tag = "-".join(f"{e[:3]}{s:g}" for e, s in segments)
        path = (
            cache_dir()
            / "emotion"
            / f"eval-v{SIMULATOR_VERSION}.{FEATURES_VERSION}-L{config.length_s:g}-h{config.hop_s:g}"
            f"-r{config.rsp_length_s:g}" / f"seed{seed}-{tag}.npz"
        )
        if path.exists():
            try:
                with np.load(path, allow_pickle=False) as z:
                    bits = z["modalities"]
                    return [
                        WindowFeatures(
                            float(e),
                            v.astype(np.float64),
                            np.isfinite(v),
                            tuple(m for k, m in enumerate(_MODALITY_BITS) if b >> k & 1),
                        )
                        for e, v, b in zip(z["ends"], z["values"], bits)
                    ]
            except Exception:  # noqa: BLE001 - a broken cache entry is rebuilt
                pass
    rec = simulate_session(list(segments), seed=seed)
    with tempfile.TemporaryDirectory() as d:
        csv = Path(d) / f"session-{seed}.csv"
        write_recording_csv(rec, csv)
        windows = stream_windows(csv, config)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            bits = np.array([sum(1 << _MODALITY_BITS.index(m) for m in w.modalities) for w in windows], dtype=np.int64)
            tmp = path.with_suffix(".tmp.npz")
            np.savez_compressed(
                tmp,
                ends=np.array([w.end for w in windows]),
                values=np.array([w.values for w in windows]),
                modalities=bits,
            )
            tmp.replace(path)
        except OSError:
            pass
    return windows


@dataclass
class SessionEvaluation:
    """Window accuracy past the lag on unseen simulated sessions, per variant and seed (SYNTHETIC).

    Attributes:
        seeds: the evaluation seeds (one simulated person each).
        accuracy: variant → (len(seeds),) accuracy per seed.
        confusion: variant → (8, 8) counts over all seeds, rows true, columns estimated.
        lag_s / segment_s: the scoring rule and the session design.
        data: what the figures were measured on.
    """

    seeds: list[int]
    accuracy: dict[str, np.ndarray]
    confusion: dict[str, np.ndarray]
    lag_s: float = LAG_S
    segment_s: float = SEGMENT_S
    data: str = ""
    orders: dict[int, list[str]] = field(default_factory=dict)

    def mean(self, variant: str) -> float:
        """Mean accuracy over seeds."""
        return float(np.mean(self.accuracy[variant]))

    def worst(self, variant: str) -> float:
        """Lowest accuracy of any seed."""
        return float(np.min(self.accuracy[variant]))

    def summary(self) -> dict:
        """JSON-ready figures."""
        return {
            "data": self.data,
            "seeds": [int(s) for s in self.seeds],
            "lag_s": self.lag_s,
            "segment_s": self.segment_s,
            "variants": {
                v: {
                    "mean": round(self.mean(v), 4),
                    "worst": round(self.worst(v), 4),
                    "worst_seed": int(self.seeds[int(np.argmin(a))]),
                    "per_seed": [round(float(x), 4) for x in a],
                    "confusion": self.confusion[v].tolist(),
                }
                for v, a in self.accuracy.items()
            },
        }

    def table_lines(self) -> list[str]:
        """Plain-text table: one line per variant with mean and worst (and the worst seed)."""
        n = len(self.seeds)
        lines = [
            f"window accuracy past a {self.lag_s:g}-s lag, {n} unseen simulated people (seeds {self.seeds[0]}–{self.seeds[-1]}), "
            f"all 8 emotions in random order, {self.segment_s:g} s each — SYNTHETIC",
            f"  {'variant':<14} {'mean':>7} {'worst':>7}  worst seed",
        ]
        for v, a in self.accuracy.items():
            lines.append(f"  {v:<14} {100 * a.mean():6.1f} % {100 * a.min():6.1f} %  {self.seeds[int(np.argmin(a))]}")
        return lines


def evaluate_unseen_sessions(
    estimator: Estimator | None = None,
    seeds: Sequence[int] | None = None,
    *,
    segment_s: float = SEGMENT_S,
    lag_s: float = LAG_S,
    variants: dict[str, tuple[str, ...]] = VARIANTS,
    smoothing: SmoothingConfig | None = SmoothingConfig(),
    cache: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> SessionEvaluation:
    """Simulate unseen people through all 8 emotions and score the streamed estimates (see the module docstring).

    Args:
        estimator: the model (default: the shipped one).
        seeds: evaluation seeds (default: 20 from :data:`DEFAULT_FIRST_SEED`).
        segment_s / lag_s: segment length and scoring lag (s).
        variants: name → modality groups removed.
        smoothing: as ``musicgen emotion estimate`` (None: raw per-window labels).
        cache: keep each seed's streamed windows in the user cache folder.
        progress: called as ``progress(done, total)`` after each seed.

    Raises:
        UsageError: no seeds, or a segment not longer than the lag.
    """
    est = estimator or load_estimator()
    seeds = list(range(DEFAULT_FIRST_SEED, DEFAULT_FIRST_SEED + 20) if seeds is None else seeds)
    if not seeds:
        raise UsageError("no evaluation seeds")
    if segment_s <= lag_s:
        raise UsageError(f"segments of {segment_s:g} s leave no window past a {lag_s:g}-s lag")
    acc = {v: np.zeros(len(seeds)) for v in variants}
    conf = {v: np.zeros((len(EMOTIONS), len(EMOTIONS)), dtype=np.int64) for v in variants}
    orders = {}
    for k, seed in enumerate(seeds):
        segs = evaluation_segments(seed, segment_s)
        orders[int(seed)] = [e for e, _ in segs]
        windows = _simulated_windows(segs, int(seed), est.config, cache)
        spans = [(i * segment_s, (i + 1) * segment_s, e) for i, (e, _) in enumerate(segs)]
        for v, groups in variants.items():
            times, labels = _run(est, windows, groups, smoothing)
            true, pred = score_windows(times, labels, spans, lag_s)
            acc[v][k] = float(np.mean(true == pred)) if true.size else 0.0
            np.add.at(conf[v], (true, pred), 1)
        if progress:
            progress(k + 1, len(seeds))
    data = (
        f"SYNTHETIC: {len(seeds)} unseen simulated people (NeuroKit2 simulation, seeds {seeds[0]}–{seeds[-1]}), "
        f"8 emotions × {segment_s:g} s in random order, windows ≥ {lag_s:g} s into a segment"
    )
    return SessionEvaluation(seeds, acc, conf, lag_s, segment_s, data, orders)


def baseline_handling(estimator: Estimator | None = None) -> str:
    """How the estimator handles per-person baselines, in words, from its own settings (for ``musicgen emotion report``)."""
    est = estimator or load_estimator()
    r = est.reference
    tc = est.meta.get("train_config", {})
    text = (
        f"Per-person baselines: no resting start is assumed. Each feature is compared with a running reference of the "
        f"session: the median (and spread, 1.4826 x median absolute deviation) of one window every {r.stride_s:g} s, "
        f"taken {r.delay_s:g} s after the window ends (the present is compared with the session before it, not with "
        f"itself), over the last {r.horizon_s / 60:g} min; the network sees each feature's absolute level, its change "
        f"from the reference and that change in units of the session's own spread. A maturity channel says how much "
        f"session the reference rests on (full after {r.mature_s:g} s); until then the estimate leans on absolute levels "
        f"and the face."
    )
    if tc:
        text += (
            f" Training sessions start in any state: of the simulated sessions that begin at rest (40 %), "
            f"{100 * tc.get('rest_keep', 1.0):.0f} % keep that start, and each session is also replayed from a random "
            f"later segment ({tc.get('late_starts', 0)} extra start(s) a session)"
            + (
                f" and as {tc['short_views']} short sessions of {tc['short_segments'][0]}–{tc['short_segments'][1]} "
                f"segments from random boundaries (so the first minutes, with a young reference, weigh as much as the rest)"
                if tc.get("short_views")
                else ""
            )
            + "; the simulated people differ in "
            f"resting heart rate, skin conductance, breathing and temperature, response gain, facial expressivity and "
            f"face-analyser bias (widened by a random per-session bias of SD {tc.get('face_bias_sd', 0):g} in log-ratio)."
        )
    return text


def _score_session(
    est: Estimator,
    segments: Sequence[tuple[str, float]],
    seed: int,
    lag_s: float,
    smoothing: SmoothingConfig | None,
    cache: bool,
) -> tuple[int, int, dict[str, list[str]]]:
    """Simulate one session of person 0 of ``seed``, estimate it as ``musicgen emotion estimate`` does, score it."""
    windows = _simulated_windows(tuple(segments), int(seed), est.config, cache)
    times, labels = _run(est, windows, (), smoothing)
    spans, t0 = [], 0.0
    for e, s in segments:
        spans.append((t0, t0 + s, e))
        t0 += s
    seen: dict[str, list[str]] = {}
    for a, b, e in spans:
        sel = (times >= a + lag_s - 1e-9) & (times < b - 1e-9)
        seen.setdefault(e, []).extend(labels[i] for i in np.flatnonzero(sel))
    true, pred = score_windows(times, labels, spans, lag_s)
    return int((true == pred).sum()), int(true.size), seen


def readme_demo_accuracy(
    estimator: Estimator | None = None,
    *,
    lag_s: float = LAG_S,
    smoothing: SmoothingConfig | None = SmoothingConfig(),
    cache: bool = True,
) -> tuple[int, int, dict[str, list[str]]]:
    """The README demo (``musicgen emotion simulate`` defaults: neutral, happy, sadness, 30 s each, seed 0), scored as above.

    Args:
        estimator: the model (default: the shipped one).
        lag_s: scored windows end at least this long (s) into their segment.
        smoothing: as ``musicgen emotion estimate`` (None: raw per-window labels).
        cache: keep the streamed windows in the user cache folder.

    Returns:
        ``(correct, scored, {segment emotion: the labels estimated past the lag})``.
    """
    return _score_session(estimator or load_estimator(), DEMO_SEGMENTS, 0, lag_s, smoothing, cache)


@dataclass
class ShortSessionEvaluation:
    """Window accuracy past the lag on short demo-like sessions (SYNTHETIC), per emotion order.

    Attributes:
        orders: the emotion orders, each run for every seed (one entry ``("random orders",)`` when
            the sessions were given as ``(seed, order)`` pairs).
        seeds: the seeds (one simulated person each).
        correct / scored: (len(orders), len(seeds)) windows labelled right / scored.
        by_segment: session order → for each of its segments, ``{label: count}`` over all seeds.
        segment_s / lag_s: the session design and the scoring rule.
    """

    orders: list[tuple[str, ...]]
    seeds: list[int]
    correct: np.ndarray
    scored: np.ndarray
    by_segment: dict[tuple[str, ...], list[dict[str, int]]]
    segment_s: float = SEGMENT_S
    lag_s: float = LAG_S

    def accuracy(self) -> float:
        """Share of all scored windows labelled right."""
        return float(self.correct.sum() / max(1, self.scored.sum()))

    def worst(self) -> float:
        """Lowest accuracy of any single session."""
        return float(np.min(self.correct / np.maximum(self.scored, 1)))

    def table_lines(self) -> list[str]:
        """Plain-text table: one line per order (accuracy, per-seed counts), then the total."""
        n = self.scored[0, 0] if self.scored.size else 0
        lines = [
            f"short sessions (3 x {self.segment_s:g} s, no resting start assumed), {len(self.seeds)} simulated people per order "
            f"(seeds {self.seeds[0]}–{self.seeds[-1]}), windows past a {self.lag_s:g}-s lag — SYNTHETIC"
        ]
        for k, order in enumerate(self.orders):
            c, s = int(self.correct[k].sum()), int(self.scored[k].sum())
            lines.append(
                f"  {','.join(order):<26} {c:4d}/{s:<4d} {100 * c / max(1, s):5.1f} %   per seed (of {n}): "
                + " ".join(str(int(x)) for x in self.correct[k])
            )
        lines.append(
            f"  {'all':<26} {int(self.correct.sum()):4d}/{int(self.scored.sum()):<4d} {100 * self.accuracy():5.1f} %   "
            f"worst session {100 * self.worst():.1f} %"
        )
        return lines


def random_short_sessions(seeds: Sequence[int], n_segments: int = 3) -> list[tuple[int, tuple[str, ...]]]:
    """``(seed, order)`` pairs: for each seed, ``n_segments`` different emotions in a random order of that seed.

    Raises:
        UsageError: ``n_segments`` not in 1..8.
    """
    if not 1 <= n_segments <= len(EMOTIONS):
        raise UsageError(f"a short session has 1 to {len(EMOTIONS)} different emotions, got {n_segments}")
    return [
        (
            int(s),
            tuple(EMOTIONS[int(k)] for k in np.random.default_rng([int(s), 9]).permutation(len(EMOTIONS))[:n_segments]),
        )
        for s in seeds
    ]


def evaluate_short_sessions(
    estimator: Estimator | None = None,
    seeds: Sequence[int] = SHORT_SEEDS,
    orders: Sequence[tuple[str, ...]] = SHORT_ORDERS,
    *,
    sessions: Sequence[tuple[int, tuple[str, ...]]] | None = None,
    segment_s: float = SEGMENT_S,
    lag_s: float = LAG_S,
    smoothing: SmoothingConfig | None = SmoothingConfig(),
    cache: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> ShortSessionEvaluation:
    """Score short demo-like sessions: every order in ``orders`` for every seed, ``segment_s`` per emotion (see the module docstring).

    Args:
        estimator: the model (default: the shipped one).
        seeds / orders: the sessions run (each seed is person 0 of that seed, as in the demo).
        sessions: instead of ``seeds`` × ``orders``, these ``(seed, order)`` pairs, all with the
            same number of segments (e.g. :func:`random_short_sessions`); reported as one order per
            session.
        segment_s / lag_s: segment length and scoring lag (s).
        smoothing: as ``musicgen emotion estimate`` (None: raw per-window labels).
        cache: keep each session's streamed windows in the user cache folder.
        progress: called as ``progress(done, total)`` after each session.

    Raises:
        UsageError: no sessions, or a segment not longer than the lag.
    """
    est = estimator or load_estimator()
    if segment_s <= lag_s:
        raise UsageError(f"segments of {segment_s:g} s leave no window past a {lag_s:g}-s lag")
    if sessions is not None:
        pairs = [[(int(s), tuple(o)) for s, o in sessions]]
        orders_out = [("random orders",)]
        seeds_out = [int(s) for s, _ in sessions]
    else:
        pairs = [[(int(s), tuple(o)) for s in seeds] for o in orders]
        orders_out, seeds_out = [tuple(o) for o in orders], [int(s) for s in seeds]
    if not pairs or not pairs[0]:
        raise UsageError("no short sessions to evaluate")
    width = max(len(row) for row in pairs)
    correct = np.zeros((len(pairs), width), dtype=np.int64)
    scored = np.zeros((len(pairs), width), dtype=np.int64)
    by_segment: dict[tuple[str, ...], list[dict[str, int]]] = {}
    total, done = sum(len(r) for r in pairs), 0
    for k, row in enumerate(pairs):
        for j, (seed, order) in enumerate(row):
            c, n, seen = _score_session(est, [(e, float(segment_s)) for e in order], seed, lag_s, smoothing, cache)
            correct[k, j], scored[k, j] = c, n
            counts = by_segment.setdefault(order, [{} for _ in order])
            for i, e in enumerate(order):
                for lab in seen.get(e, []):
                    counts[i][lab] = counts[i].get(lab, 0) + 1
            done += 1
            if progress:
                progress(done, total)
    return ShortSessionEvaluation(orders_out, seeds_out, correct, scored, by_segment, float(segment_s), float(lag_s))


@dataclass(frozen=True)
class EventValence:
    """The estimate around one labelled stimulus of a real recording.

    Attributes:
        onset_s: stimulus onset (s from the recording's start).
        condition: its label (e.g. "Negative").
        valence_before / arousal_before: the estimate of the window ending at the onset (NaN if none).
        valence / arousal / label: the estimate of the 10-s window starting at the onset.
    """

    onset_s: float
    condition: str
    valence_before: float
    arousal_before: float
    valence: float
    arousal: float
    label: str


def physio_event_valences(
    path: str | Path,
    *,
    conditions: Sequence[str] = NEUROKIT_EVENT_CONDITIONS,
    sampling_rate: float = 100.0,
    estimator: Estimator | None = None,
) -> list[EventValence]:
    """Valence around each stimulus of an event-related recording (default: NeuroKit2's bio_eventrelated_100hz.csv).

    The file has no time column: rows are ``sampling_rate`` apart. Stimuli are found in its
    photosensor column (``nk.events_find``: the signal drops while an image is shown); there must be
    exactly ``len(conditions)`` of them. The other columns are read through the signal contract
    (the photosensor is an unknown column there and is ignored).

    Raises:
        InputError: the file is missing, has no photosensor column, or not one stimulus per condition.
    """
    import warnings

    import neurokit2 as nk
    import pandas as pd

    from musicgen.emotion.streaming import estimate_stream

    p = Path(path)
    if not p.exists():
        raise InputError(p, "no such file", reason="missing")
    try:
        table = pd.read_csv(p)
    except Exception as exc:  # noqa: BLE001 - any parse failure is a bad file
        raise InputError(p, f"not a readable CSV ({type(exc).__name__}: {exc})", reason="corrupt") from None
    photo = [c for c in table.columns if str(c).strip().lower() == "photosensor"]
    if not photo:
        raise InputError(p, "no Photosensor column to find the stimuli in", reason="no events")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        events = nk.events_find(table[photo[0]].to_numpy(dtype=float), threshold_keep="below")
    onsets = np.asarray(events["onset"], dtype=float) / sampling_rate
    if onsets.size != len(conditions):
        raise InputError(
            p, f"found {onsets.size} stimuli in the photosensor, expected {len(conditions)}", reason="no events"
        )
    est = estimator or load_estimator()
    timeline = list(estimate_stream(p, estimator=est, sampling_rate=sampling_rate))
    times = np.array([e.time for e in timeline])
    out = []
    for onset, cond in zip(onsets, conditions):
        after = int(np.argmin(np.abs(times - (onset + est.config.length_s))))
        before = np.flatnonzero(times <= onset + 1e-9)
        b = timeline[int(before[-1])].condition if before.size else None
        a = timeline[after].condition
        out.append(
            EventValence(
                float(onset),
                str(cond),
                b.valence if b else float("nan"),
                b.arousal if b else float("nan"),
                a.valence,
                a.arousal,
                a.label,
            )
        )
    return out


__all__ = [
    "DEFAULT_FIRST_SEED",
    "DEMO_SEGMENTS",
    "EventValence",
    "LAG_S",
    "NEUROKIT_EVENT_CONDITIONS",
    "SEGMENT_S",
    "SessionEvaluation",
    "VARIANTS",
    "baseline_handling",
    "evaluate_unseen_sessions",
    "evaluation_segments",
    "physio_event_valences",
    "FRESH_SHORT_SEEDS",
    "SHORT_ORDERS",
    "SHORT_SEEDS",
    "ShortSessionEvaluation",
    "evaluate_short_sessions",
    "random_short_sessions",
    "readme_demo_accuracy",
    "score_windows",
    "stream_windows",
    "without_modalities",
]
