"""Streaming inference: per-stream state (baseline, recent windows, smoothing) → a timeline of estimates.

The baseline is the per-feature median of the first ``baseline_windows`` windows in which that
feature was measured (21 windows = the first 30 s at the default geometry): **a session should
start with ~30 s at rest**, as lab protocols do. Until then the median so far is used. Before
``T`` windows exist the map repeats its earliest window. Estimates are smoothed by
:class:`HysteresisSmoother` so the label does not flicker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from musicgen.emotion.contract import CHANNELS, Diagnostics, Source
from musicgen.emotion.features import FEATURES, StreamingFeatures, WindowFeatures, window_features
from musicgen.emotion.labels import EMOTIONS, EmotionCondition
from musicgen.emotion.network import Estimator, build_maps, load_estimator
from musicgen.emotion.sources import open_source, read_all
from musicgen.errors import InputError, UsageError

#: The order in which an estimate names the modalities it used.
MODALITY_ORDER = ("ecg", "ppg", "hr", "eda", "rsp", "temp", "face")


class BaselineTracker:
    """Per-feature resting baseline: the median of the first ``n`` measured values of each feature."""

    def __init__(self, n: int, n_features: int = len(FEATURES)):
        self.n = n
        self.store = np.full((n, n_features), np.nan)
        self.count = np.zeros(n_features, dtype=int)

    def update(self, values: np.ndarray, mask: np.ndarray) -> None:
        """Offer one window's features; only features still collecting (< n values) take them."""
        take = mask & (self.count < self.n)
        idx = np.flatnonzero(take)
        self.store[self.count[idx], idx] = values[idx]
        self.count[idx] += 1

    def baseline(self) -> np.ndarray:
        """(F,) medians so far (NaN for features never measured)."""
        out = np.full(self.store.shape[1], np.nan)
        have = self.count > 0
        if have.any():
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                out[have] = np.nanmedian(self.store[:, have], axis=0)
        return out


@dataclass(frozen=True)
class SmoothingConfig:
    """Hysteresis smoothing of successive estimates.

    Attributes:
        tau_s: time constant (s) of the exponential moving average of probabilities and valence/arousal.
        margin: a new class must lead the current one by this much (smoothed probability) ...
        dwell_s: ... continuously for this long (s) before the label switches.
    """

    tau_s: float = 3.0
    margin: float = 0.10
    dwell_s: float = 3.0


class HysteresisSmoother:
    """EMA + hysteresis: the reported condition keeps its label until a challenger clearly wins.

    While the smoothed distribution's top class is the current label, the output follows the
    smoothed values. When another class leads, the output holds the last condition that had the
    current label; the label switches once the challenger leads by ``margin`` for ``dwell_s``.
    """

    def __init__(self, config: SmoothingConfig = SmoothingConfig()):
        self.cfg = config
        self.t: float | None = None
        self.p: np.ndarray | None = None
        self.va: np.ndarray | None = None
        self.label: int | None = None
        self.out: tuple[np.ndarray, np.ndarray] | None = None
        self.pending: int | None = None
        self.since = 0.0

    def update(self, t: float, p: np.ndarray, va: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Feed the estimate at time ``t`` (s); return the reported (probabilities (8,), valence/arousal (2,))."""
        if self.p is None or self.t is None:
            self.p, self.va = p.copy(), va.copy()
        else:
            a = 1.0 - math.exp(-max(t - self.t, 0.0) / self.cfg.tau_s) if self.cfg.tau_s > 0 else 1.0
            self.p = self.p + a * (p - self.p)
            self.va = self.va + a * (va - self.va)
        self.t = t
        top = int(np.argmax(self.p))
        if self.label is None or top == self.label:
            self.label = top
            self.pending = None
            self.out = (self.p.copy(), self.va.copy())
        elif self.p[top] - self.p[self.label] >= self.cfg.margin:
            if self.pending != top:
                self.pending, self.since = top, t
            if t - self.since >= self.cfg.dwell_s:
                self.label, self.pending = top, None
                self.out = (self.p.copy(), self.va.copy())
        else:
            self.pending = None
        return self.out


@dataclass(frozen=True)
class Estimate:
    """One point of the emotion timeline.

    Attributes:
        time: the window's end, in the source's seconds.
        condition: the (smoothed) :class:`~musicgen.emotion.labels.EmotionCondition`.
        modalities: the input channels behind it (``ecg``/``ppg``/``hr``, ``eda``, ``rsp``, ``temp``, ``face``).
        raw: the unsmoothed condition of this window.
    """

    time: float
    condition: EmotionCondition
    modalities: tuple[str, ...]
    raw: EmotionCondition | None = None

    @property
    def label(self) -> str:
        return self.condition.label

    def as_dict(self) -> dict:
        """The JSON entry: time, probabilities (by label), valence, arousal, label, modalities."""
        c = self.condition
        return {
            "time": round(float(self.time), 6),
            "probabilities": {e: round(float(p), 6) for e, p in zip(EMOTIONS, c.probabilities)},
            "valence": round(float(c.valence), 6),
            "arousal": round(float(c.arousal), 6),
            "label": c.label,
            "modalities": list(self.modalities),
        }


def _condition(p: np.ndarray, va: np.ndarray) -> EmotionCondition:
    p = np.clip(p, 0.0, None)
    p = p / p.sum()
    return EmotionCondition(tuple(float(x) for x in p), float(np.clip(va[0], -1, 1)), float(np.clip(va[1], -1, 1)))


class EstimatorSession:
    """Per-stream state: baseline, the last ``T`` windows, smoothing. Feed :class:`WindowFeatures` in order.

    Args:
        estimator: the model (default: the shipped one).
        smoothing: hysteresis settings, or None for raw per-window estimates.
    """

    def __init__(self, estimator: Estimator | None = None, smoothing: SmoothingConfig | None = SmoothingConfig()):
        self.est = estimator or load_estimator()
        self.base = BaselineTracker(self.est.baseline_windows)
        self.hist: list[WindowFeatures] = []
        self.smoother = HysteresisSmoother(smoothing) if smoothing is not None else None

    def update(self, wf: WindowFeatures) -> Estimate:
        """The estimate after window ``wf``."""
        self.base.update(wf.values, wf.mask)
        self.hist.append(wf)
        T = self.est.n_windows
        if len(self.hist) > T:
            del self.hist[0]
        rows = [self.hist[0]] * (T - len(self.hist)) + self.hist
        values = np.stack([r.values for r in rows])[None]
        mask = np.stack([r.mask for r in rows])[None]
        maps = build_maps(values, mask, self.base.baseline()[None], self.est.norm)
        p, va = self.est.predict(maps)
        raw = _condition(p[0], va[0])
        if self.smoother is not None:
            sp, sva = self.smoother.update(wf.end, p[0], va[0])
            cond = _condition(sp, sva)
        else:
            cond = raw
        used = set().union(*(r.modalities for r in self.hist))
        mods = tuple(m for m in MODALITY_ORDER if m in used)
        return Estimate(wf.end, cond, mods, raw)


def estimate_stream(
    source: str | Path | Source,
    *,
    estimator: Estimator | None = None,
    smoothing: SmoothingConfig | None = SmoothingConfig(),
    follow: bool = False,
    realtime: bool = False,
    sampling_rate: float | None = None,
    idle_timeout: float | None = None,
    diagnostics: Diagnostics | None = None,
) -> Iterator[Estimate]:
    """Estimates, one per window (every ``hop_s`` of stream time), as the source delivers data.

    Args:
        source: a file path, ``"-"`` (stdin), ``"lsl:SPEC"``, or a :class:`~musicgen.emotion.contract.Source`.
        estimator: the model (default: the shipped weights).
        smoothing: hysteresis settings (None: raw estimates).
        follow / realtime / sampling_rate / idle_timeout: see :class:`~musicgen.emotion.files.FileSource`.
        diagnostics: where warnings are counted (default: the source's own).

    Yields:
        :class:`Estimate` in time order. Bad lines and signal problems are counted, never raised.

    Raises:
        InputError: the file is missing or its header unusable.
        UsageError: bad options or an unreachable LSL stream.
    """
    est = estimator or load_estimator()
    src = open_source(source, follow=follow, realtime=realtime, sampling_rate=sampling_rate,
                      idle_timeout=idle_timeout, diagnostics=diagnostics)
    diag = src.diagnostics
    feats = StreamingFeatures(est.config, diag, src.name)
    session = EstimatorSession(est, smoothing)
    try:
        for chunk in src:
            for wf in feats.push(chunk):
                yield session.update(wf)
        for wf in feats.flush():
            yield session.update(wf)
    finally:
        src.close()


def latest_estimate(
    source: str | Path | Source,
    *,
    estimator: Estimator | None = None,
    smoothing: SmoothingConfig | None = SmoothingConfig(),
    sampling_rate: float | None = None,
    diagnostics: Diagnostics | None = None,
) -> Estimate:
    """The estimate at the end of a recorded (or growing) file, for ``generate --live FILE``.

    Reads the file once, then computes only the windows that matter: the baseline windows at the
    start and the last ``T`` + 10 windows (the smoother's warm-up), so a long file costs one parse.
    Equal to the last :func:`estimate_stream` estimate up to the smoother's warm-up.

    Raises:
        InputError: missing/unusable file, or less than one window of usable signal.
        UsageError: ``source`` is a live stream (stdin or LSL) — use :func:`estimate_stream`.
    """
    est = estimator or load_estimator()
    if isinstance(source, Source):
        src = source
    else:
        s = str(source)
        if s == "-" or s.lower().startswith("lsl:"):
            raise UsageError("latest_estimate reads a recorded file; for stdin or LSL use estimate_stream")
        src = open_source(s, sampling_rate=sampling_rate, diagnostics=diagnostics)
    times, data = read_all(src)
    if times.size == 0:
        raise InputError(src.name, "no valid rows", reason="empty")
    order = np.argsort(times, kind="stable")
    times, data = times[order], data[order]
    signals = {}
    for j, c in enumerate(CHANNELS):
        ok = np.isfinite(data[:, j])
        if ok.any():
            signals[c] = (times[ok], data[ok, j])
    cfg = est.config
    t0 = float(times[0])
    ends = t0 + cfg.length_s + cfg.hop_s * np.arange(int(math.floor((times[-1] + 0.5 * cfg.hop_s - t0 - cfg.length_s) / cfg.hop_s)) + 1)
    if ends.size == 0:
        raise InputError(src.name, f"less than one {cfg.length_s:g}-s window of signal ({times[-1] - t0:.1f} s)", reason="too short")
    tail = est.n_windows + 10
    head = np.arange(min(est.baseline_windows, ends.size))
    last = np.arange(max(0, ends.size - tail), ends.size)
    pick = np.unique(np.concatenate([head, last]))
    session = EstimatorSession(est, smoothing)
    diag = src.diagnostics
    result = None
    for i in pick:
        wf = window_features(signals, float(ends[i]), cfg, stream_start=t0, diagnostics=diag, where=src.name, seen=set(signals))
        if not wf.mask.any():
            continue
        if i < last[0]:
            session.base.update(wf.values, wf.mask)  # baseline only; the map history starts at the tail
            continue
        result = session.update(wf)
    if result is None:
        raise InputError(src.name, "no window had a usable signal", reason="no signal")
    return result


__all__ = [
    "BaselineTracker",
    "Estimate",
    "EstimatorSession",
    "HysteresisSmoother",
    "MODALITY_ORDER",
    "SmoothingConfig",
    "estimate_stream",
    "latest_estimate",
]
