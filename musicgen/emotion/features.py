"""Sliding-window physiological and facial features (NeuroKit2), with a mask for what is missing.

Windows are ``length_s`` long (default 10 s) and advance by ``hop_s`` (default 1 s); a window
``[end - length_s, end)`` is computed once the stream's clock passes ``end``. Each window gives
the :data:`FEATURES` vector (NaN where missing) and a boolean mask (True = measured). The features,
by modality (units in :data:`FEATURE_UNITS`):

- cardiac, from ECG (preferred), else PPG, else a heart-rate channel: mean heart rate and its
  standard deviation (bpm); HRV as RMSSD and SDNN of the beat-to-beat intervals (ms; not from a
  heart-rate channel, which has no beats). Beats: ``nk.ecg_clean`` + ``nk.ecg_peaks`` (NeuroKit2's
  default method) on the ECG resampled to 250 Hz, or ``nk.ppg_clean`` + ``nk.ppg_peaks`` on the PPG
  at 100 Hz. Intervals outside 0.3–2.0 s (30–200 bpm) or more than 25 % from the window's median
  interval (missed or ectopic beats) are dropped; fewer than 3 intervals → missing.
- EDA (at 50 Hz): ``nk.eda_clean``, then ``nk.eda_phasic`` with the "smoothmedian" method (a 4-s
  median gives the tonic part: it works on windows shorter than the high-pass method's 20-s
  period); tonic level = mean tonic (µS); phasic responses (SCRs) from ``nk.eda_peaks`` kept when
  their amplitude is at least 0.02 µS (Boucsein 2012, "Electrodermal Activity", 2nd ed., recommends
  a 0.01–0.05 µS criterion); SCR rate (per minute) and mean SCR amplitude (µS, 0 when none).
- respiration (at 50 Hz) over the trailing ``rsp_length_s`` (default 20 s: a 10-s window holds
  only 2–3 breaths, and a 30-s look-back would still be reading mostly the previous state 12 s
  after a change), or from the stream's start when less is available: ``nk.rsp_clean``, then
  breaths are the upward crossings of the cleaned signal through a hysteresis band (±0.15 SD); rate
  (breaths/min), its standard deviation across breaths, and the coefficient of variation of breath
  depth. Fewer than 2 complete breaths → missing.
- skin temperature: mean (°C) and least-squares slope (°C/min).
- face: mean of each of the 8 expression probabilities over the window's frames, renormalised to
  sum to 1.

Signal checks per window, each counted in the :class:`~musicgen.emotion.contract.Diagnostics`
(and the modality then marked missing for that window): "dropout" (more than 20 % of the window
without samples, counting only gaps longer than 3 sample periods), "clipped signal" (ECG/PPG/RSP
with more than 5 % of samples exactly at the window's maximum or minimum — ADC saturation or a
flat line), "low sampling rate" (below :data:`MIN_RATES`), "processing failure" (NeuroKit2 raised,
or too few beats/breaths).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from musicgen.conditions import EMOTIONS
from musicgen.emotion.contract import CHANNELS, FACE_CHANNELS, Chunk, Diagnostics
from musicgen.errors import UsageError

#: Feature names, grouped by modality (the column order of every feature vector).
FEATURES: tuple[str, ...] = (
    "hr_mean",
    "hr_std",
    "hrv_rmssd",
    "hrv_sdnn",
    "eda_tonic",
    "eda_scr_rate",
    "eda_scr_amp",
    "rsp_rate",
    "rsp_rate_std",
    "rsp_amp_cv",
    "temp_mean",
    "temp_slope",
) + FACE_CHANNELS

FEATURE_UNITS: dict[str, str] = {
    "hr_mean": "bpm",
    "hr_std": "bpm",
    "hrv_rmssd": "ms",
    "hrv_sdnn": "ms",
    "eda_tonic": "µS",
    "eda_scr_rate": "1/min",
    "eda_scr_amp": "µS",
    "rsp_rate": "breaths/min",
    "rsp_rate_std": "breaths/min",
    "rsp_amp_cv": "ratio",
    "temp_mean": "°C",
    "temp_slope": "°C/min",
    **{f: "probability" for f in FACE_CHANNELS},
}

#: Feature indices of each modality group (the estimator drops whole groups in training).
MODALITY_GROUPS: dict[str, tuple[int, ...]] = {
    "cardiac": (0, 1, 2, 3),
    "eda": (4, 5, 6),
    "rsp": (7, 8, 9),
    "temp": (10, 11),
    "face": tuple(range(12, 12 + len(EMOTIONS))),
}

#: Rates signals are resampled to before processing (Hz).
PROCESS_RATES: dict[str, float] = {"ecg": 250.0, "ppg": 100.0, "eda": 50.0, "rsp": 50.0}
#: Lowest usable native sampling rates (Hz); below these a channel is "low sampling rate".
MIN_RATES: dict[str, float] = {"ecg": 50.0, "ppg": 20.0, "eda": 4.0, "rsp": 5.0, "hr": 0.2, "temp": 0.05, "face": 1.0}

#: Bumped whenever a feature's computation changes (cached training sets carry it in their name).
FEATURES_VERSION = 2

_F = {name: i for i, name in enumerate(FEATURES)}
SCR_MIN_AMPLITUDE_US = 0.02


@dataclass(frozen=True)
class WindowConfig:
    """Sliding-window geometry (seconds).

    Attributes:
        length_s: window length.
        hop_s: step between consecutive windows.
        rsp_length_s: respiration looks back this far (at least ``length_s``).
    """

    length_s: float = 10.0
    hop_s: float = 1.0
    rsp_length_s: float = 20.0

    def __post_init__(self) -> None:
        if not (self.length_s >= 4.0 and math.isfinite(self.length_s)):
            raise UsageError(f"window length must be at least 4 s, got {self.length_s}")
        if not (0 < self.hop_s <= self.length_s):
            raise UsageError(f"hop must be in (0, window length], got {self.hop_s}")
        if self.rsp_length_s < self.length_s:
            object.__setattr__(self, "rsp_length_s", self.length_s)


@dataclass
class WindowFeatures:
    """The features of one window.

    Attributes:
        end: the window's end, in the stream's seconds (the window is ``[end - length_s, end)``).
        values: (len(FEATURES),) float64, NaN where missing.
        mask: (len(FEATURES),) bool, True where measured.
        modalities: the input channels the window used (``ecg``/``ppg``/``hr``, ``eda``, ``rsp``,
            ``temp``, ``face``).
    """

    end: float
    values: np.ndarray
    mask: np.ndarray
    modalities: tuple[str, ...]


# --------------------------------------------------------------------------------------------------
# per-modality feature functions (pure; arrays in, numbers out)


def cardiac_from_beats(beat_times_s: np.ndarray) -> np.ndarray:
    """``[hr_mean bpm, hr_std bpm, rmssd ms, sdnn ms]`` from beat times (s); NaNs if < 3 clean intervals."""
    out = np.full(4, np.nan)
    rr = np.diff(np.asarray(beat_times_s, dtype=float))
    if rr.size < 3:
        return out
    ok = (rr >= 0.3) & (rr <= 2.0)
    if ok.sum() < 3:
        return out
    med = np.median(rr[ok])
    ok &= np.abs(rr - med) <= 0.25 * med
    if ok.sum() < 3:
        return out
    good = rr[ok]
    out[0] = 60.0 / good.mean()
    out[1] = np.std(60.0 / good)
    succ = ok[1:] & ok[:-1]
    if succ.sum() >= 2:
        out[2] = 1000.0 * math.sqrt(float(np.mean(np.diff(rr)[succ] ** 2)))
    out[3] = 1000.0 * np.std(good)
    return out


def ecg_beats(ecg: np.ndarray, fs: float) -> np.ndarray:
    """R-peak times (s from the segment's start) of an ECG segment, through NeuroKit2."""
    import neurokit2 as nk

    cleaned = nk.ecg_clean(ecg, sampling_rate=fs)
    _, info = nk.ecg_peaks(cleaned, sampling_rate=fs)
    return np.asarray(info["ECG_R_Peaks"], dtype=float) / fs


def ppg_beats(ppg: np.ndarray, fs: float) -> np.ndarray:
    """Systolic-peak times (s from the segment's start) of a PPG segment, through NeuroKit2."""
    import neurokit2 as nk

    cleaned = nk.ppg_clean(ppg, sampling_rate=fs)
    _, info = nk.ppg_peaks(cleaned, sampling_rate=fs)
    return np.asarray(info["PPG_Peaks"], dtype=float) / fs


def eda_features(eda_us: np.ndarray, fs: float) -> np.ndarray:
    """``[tonic µS, SCR rate /min, mean SCR amplitude µS]`` of an EDA segment (µS), through NeuroKit2."""
    import neurokit2 as nk

    cleaned = nk.eda_clean(eda_us, sampling_rate=fs)
    parts = nk.eda_phasic(cleaned, sampling_rate=fs, method="smoothmedian")
    tonic = float(np.mean(parts["EDA_Tonic"].to_numpy()))
    phasic = parts["EDA_Phasic"].to_numpy()
    amps = np.zeros(0)
    if np.ptp(phasic) > 1e-6:
        try:
            _, info = nk.eda_peaks(phasic, sampling_rate=fs, method="neurokit")
            amps = np.asarray(info["SCR_Amplitude"], dtype=float)
        except ValueError:  # NeuroKit2 raises on reductions over zero peaks: no SCR in this window
            amps = np.zeros(0)
        amps = amps[np.isfinite(amps) & (amps >= SCR_MIN_AMPLITUDE_US)]
    minutes = len(eda_us) / fs / 60.0
    return np.array([tonic, amps.size / minutes, float(amps.mean()) if amps.size else 0.0])


def rsp_features(rsp: np.ndarray, fs: float) -> np.ndarray:
    """``[rate breaths/min, rate SD breaths/min, depth CV]`` of a respiration segment; NaNs if < 2 breaths."""
    import neurokit2 as nk

    out = np.full(3, np.nan)
    x = np.asarray(nk.rsp_clean(rsp, sampling_rate=fs), dtype=float)
    x = x - x.mean()
    sd = x.std()
    if not sd > 0:
        return out
    h = 0.15 * sd
    idx = np.flatnonzero((x > h) | (x < -h))
    if idx.size < 3:
        return out
    above = (x[idx] > h).astype(np.int8)
    ups = idx[np.flatnonzero(np.diff(above) == 1) + 1]
    if ups.size < 3:
        return out
    periods = np.diff(ups) / fs
    ok = (periods >= 1.5) & (periods <= 15.0)
    if ok.sum() < 2:
        return out
    rates = 60.0 / periods[ok]
    out[0] = 60.0 / periods[ok].mean()
    out[1] = rates.std()
    depth = np.array([np.ptp(x[a:b]) for a, b in zip(ups[:-1], ups[1:])])[ok]
    out[2] = depth.std() / depth.mean() if depth.mean() > 0 else np.nan
    return out


def temp_features(t: np.ndarray, temp_c: np.ndarray) -> np.ndarray:
    """``[mean °C, slope °C/min]`` of temperature samples at times ``t`` (s)."""
    t = np.asarray(t, dtype=float)
    v = np.asarray(temp_c, dtype=float)
    slope = np.nan
    if v.size >= 2 and np.ptp(t) > 0:
        tc = t - t.mean()
        slope = float((tc * (v - v.mean())).sum() / (tc**2).sum()) * 60.0
    return np.array([float(v.mean()), slope])


# --------------------------------------------------------------------------------------------------
# window assembly


def _native_rate(t: np.ndarray) -> float:
    d = np.diff(t)
    d = d[d > 0]
    return 1.0 / float(np.median(d)) if d.size else 0.0


def _slice(t: np.ndarray, v: np.ndarray, start: float, end: float) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.searchsorted(t, [start, end], side="left")
    return t[a:b], v[a:b]


def _coverage_ok(t: np.ndarray, start: float, end: float, fs: float) -> bool:
    edges = np.concatenate([[start], t, [end]])
    d = np.diff(edges)
    long = d > max(3.0 / fs, 0.3)
    missing = float((d[long] - 1.0 / fs).sum())
    return missing <= 0.2 * (end - start)


class _Checker:
    """Counts per-window problems into the diagnostics, naming channel and window end."""

    def __init__(self, diag: Diagnostics | None, where: str):
        self.diag = diag
        self.where = where

    def warn(self, category: str, channel: str, end: float, what: str) -> None:
        if self.diag is not None:
            self.diag.warn(category, f"{self.where}: {channel} in the window ending at {end:.2f} s: {what}")


def _prepare(
    name: str,
    t: np.ndarray,
    v: np.ndarray,
    start: float,
    end: float,
    check: _Checker,
    seen: bool,
    resample: bool = True,
) -> tuple[np.ndarray, np.ndarray, float] | None:
    """Check one channel's samples in ``[start, end)``; return (t, v, fs) — resampled when asked — or None."""
    ts, vs = _slice(t, v, start, end)
    if ts.size < 2:
        if seen:
            check.warn("dropout", name, end, "no samples")
        return None
    fs = _native_rate(ts)
    if fs < MIN_RATES.get(name, 0.0):
        check.warn("low sampling rate", name, end, f"{fs:.3g} Hz is below the {MIN_RATES[name]:g} Hz needed")
        return None
    if not _coverage_ok(ts, start, end, fs):
        check.warn("dropout", name, end, "more than 20 % of the window has no samples")
        return None
    if name in ("ecg", "ppg", "rsp") and ts.size >= 20:
        hi, lo = vs.max(), vs.min()
        if hi == lo or np.mean((vs >= hi) | (vs <= lo)) > 0.05:
            check.warn(
                "clipped signal", name, end, "more than 5 % of samples sit at the extremes (saturation or flat line)"
            )
            return None
    if not resample:
        return ts, vs, fs
    target = PROCESS_RATES[name]
    n = int(round((end - start) * target))
    grid = start + np.arange(n) / target
    if fs > 1.5 * target:  # box-car anti-alias before decimating
        k = int(round(fs / target))
        vs = np.convolve(vs, np.ones(k) / k, mode="same")
    return grid, np.interp(grid, ts, vs), target


def window_features(
    signals: Mapping[str, tuple[np.ndarray, np.ndarray]],
    end: float,
    config: WindowConfig = WindowConfig(),
    *,
    stream_start: float = -math.inf,
    diagnostics: Diagnostics | None = None,
    where: str = "stream",
    seen: frozenset[str] | set[str] = frozenset(),
) -> WindowFeatures:
    """The features of the window ``[end - length_s, end)``.

    Args:
        signals: channel name (see :data:`~musicgen.emotion.contract.CHANNELS`) → (times s sorted,
            values); absent channels are simply missing modalities.
        end: window end (s).
        config: window geometry.
        stream_start: the stream's first timestamp (respiration looks back no further).
        diagnostics: where to count signal problems (None: not counted).
        where: the source's name, for messages.
        seen: channels the stream has delivered before (a channel in ``seen`` with no samples in the
            window is a "dropout"; one never seen is just absent).

    Returns:
        a :class:`WindowFeatures`; all-False mask when nothing was usable. Never raises on bad signals.
    """
    start = end - config.length_s
    values = np.full(len(FEATURES), np.nan)
    used: list[str] = []
    check = _Checker(diagnostics, where)

    def run(fn, channel, *args):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with np.errstate(all="ignore"):
                    return fn(*args)
        except Exception as exc:  # noqa: BLE001 - NeuroKit2 raises many types on odd signals
            check.warn("processing failure", channel, end, f"{type(exc).__name__}: {str(exc)[:80]}")
            return None

    # cardiac: ECG, else PPG, else HR
    for name, beats in (("ecg", ecg_beats), ("ppg", ppg_beats)):
        if name not in signals:
            continue
        seg = _prepare(name, *signals[name], start, end, check, name in seen)
        if seg is None:
            continue
        b = run(beats, name, seg[1], seg[2])
        if b is None:
            continue
        card = cardiac_from_beats(b)
        if np.isnan(card[0]):
            check.warn("processing failure", name, end, f"fewer than 3 clean beat intervals ({b.size} beats)")
            continue
        values[0:4] = card
        used.append(name)
        break
    if not used and "hr" in signals:
        seg = _prepare("hr", *signals["hr"], start, end, check, "hr" in seen, resample=False)
        if seg is not None:
            values[0] = seg[1].mean()
            values[1] = seg[1].std()
            used.append("hr")

    if "eda" in signals:
        seg = _prepare("eda", *signals["eda"], start, end, check, "eda" in seen)
        if seg is not None:
            f = run(eda_features, "eda", seg[1], seg[2])
            if f is not None and np.all(np.isfinite(f)):
                values[4:7] = f
                used.append("eda")

    if "rsp" in signals:
        rstart = min(max(end - config.rsp_length_s, stream_start), start)
        seg = _prepare("rsp", *signals["rsp"], rstart, end, check, "rsp" in seen)
        if seg is not None:
            f = run(rsp_features, "rsp", seg[1], seg[2])
            if f is not None and np.isfinite(f[0]):
                values[7:10] = f
                used.append("rsp")
            elif f is not None:
                check.warn("processing failure", "rsp", end, "fewer than 2 complete breaths")

    if "temp" in signals:
        seg = _prepare("temp", *signals["temp"], start, end, check, "temp" in seen, resample=False)
        if seg is not None:
            values[10:12] = temp_features(seg[0], seg[1])
            used.append("temp")

    face_idx = MODALITY_GROUPS["face"]
    means = np.full(len(FACE_CHANNELS), np.nan)
    reporter = check  # report a face problem once per window, not once per expression column
    for k, ch in enumerate(FACE_CHANNELS):
        if ch not in signals:
            continue
        seg = _prepare("face", *signals[ch], start, end, reporter, ch in seen, resample=False)
        reporter = _Checker(None, where)
        if seg is not None and seg[1].size >= 3:
            means[k] = seg[1].mean()
    if np.isfinite(means).any():
        total = np.nansum(means)
        if total > 0:
            values[list(face_idx)] = means / total
            used.append("face")

    mask = np.isfinite(values)
    return WindowFeatures(float(end), values, mask, tuple(used))


class StreamingFeatures:
    """Turns a stream of :class:`~musicgen.emotion.contract.Chunk`\\ s into :class:`WindowFeatures`.

    Windows end at ``t0 + length_s + k·hop_s`` (``t0``: the first timestamp); a window is computed
    when a later sample arrives (or at :meth:`flush`). Buffers keep only what the next window needs.
    A stretch with no samples at all is skipped (counted once as "window without signal" per window
    skipped); windows with no usable modality are counted the same way and not returned.

    Args:
        config: window geometry.
        diagnostics: where signal problems are counted.
        where: the source's name for messages.
    """

    def __init__(
        self, config: WindowConfig = WindowConfig(), diagnostics: Diagnostics | None = None, where: str = "stream"
    ):
        self.config = config
        self.diag = diagnostics if diagnostics is not None else Diagnostics()
        self.where = where
        self._t: dict[str, list[np.ndarray]] = {c: [] for c in CHANNELS}
        self._v: dict[str, list[np.ndarray]] = {c: [] for c in CHANNELS}
        self.t0: float | None = None
        self.next_end = math.inf
        self.clock = -math.inf
        self.seen: set[str] = set()

    def _arrays(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        out = {}
        for c in CHANNELS:
            if not self._t[c]:
                continue
            if len(self._t[c]) > 1:
                t = np.concatenate(self._t[c])
                v = np.concatenate(self._v[c])
                if np.any(np.diff(t) < 0):  # several LSL inlets may interleave
                    order = np.argsort(t, kind="stable")
                    t, v = t[order], v[order]
                self._t[c], self._v[c] = [t], [v]
            out[c] = (self._t[c][0], self._v[c][0])
        return out

    def _prune(self, keep_from: float) -> None:
        for c in CHANNELS:
            if self._t[c]:
                t, v = self._t[c][0], self._v[c][0]
                a = int(np.searchsorted(t, keep_from))
                if a:
                    self._t[c], self._v[c] = ([t[a:]], [v[a:]]) if a < t.size else ([], [])

    def push(self, chunk: Chunk) -> Iterator[WindowFeatures]:
        """Add a chunk; yield the windows it completes, in time order, each computed when it is asked for
        (so a consumer sees every window as soon as it is ready). Consume the iterator before the next push."""
        if len(chunk) == 0:
            return iter(())
        for j, c in enumerate(CHANNELS):
            col = chunk.data[:, j]
            ok = np.isfinite(col)
            if ok.any():
                self._t[c].append(chunk.time[ok])
                self._v[c].append(col[ok])
        if self.t0 is None:
            self.t0 = float(chunk.time[0])
            self.next_end = self.t0 + self.config.length_s
        self.clock = max(self.clock, float(chunk.time[-1]))
        return self._emit(self.clock)

    def flush(self) -> Iterator[WindowFeatures]:
        """At the end of the stream: the last window if the data reach within half a hop of its end."""
        if self.t0 is None:
            return iter(())
        return self._emit(self.clock + 0.5 * self.config.hop_s, inclusive=True)

    def _emit(self, limit: float, inclusive: bool = False) -> Iterator[WindowFeatures]:
        cfg = self.config
        while self.next_end < limit or (inclusive and self.next_end <= limit):
            arrays = self._arrays()
            start = self.next_end - cfg.length_s
            # skip stretches with no data at all
            firsts = [t[np.searchsorted(t, start)] for t, _ in arrays.values() if t.size and t[-1] >= start]
            if not firsts:
                self.next_end += cfg.hop_s * max(1, math.floor((limit - self.next_end) / cfg.hop_s))
                continue
            first = min(firsts)
            if first >= self.next_end:
                n_skip = math.floor((first - self.next_end) / cfg.hop_s) + 1
                self.diag.warn(
                    "window without signal", f"{self.where}: no samples between {start:.2f} s and {first:.2f} s", n_skip
                )
                self.next_end += n_skip * cfg.hop_s
                continue
            wf = window_features(
                arrays,
                self.next_end,
                cfg,
                stream_start=self.t0,
                diagnostics=self.diag,
                where=self.where,
                seen=self.seen,
            )
            self.seen.update(c for c in arrays)
            end = self.next_end
            self.next_end += cfg.hop_s
            self._prune(self.next_end - max(cfg.length_s, cfg.rsp_length_s) - 1.0)
            if wf.mask.any():
                yield wf
            else:
                self.diag.warn(
                    "window without signal", f"{self.where}: no usable modality in the window ending at {end:.2f} s"
                )


def features_for_signals(
    signals: Mapping[str, tuple[np.ndarray, np.ndarray]],
    ends: np.ndarray,
    config: WindowConfig = WindowConfig(),
    *,
    diagnostics: Diagnostics | None = None,
    where: str = "recording",
) -> tuple[np.ndarray, np.ndarray]:
    """Features of whole recordings at chosen window ends (batch use: simulation, DEAP).

    Args:
        signals: channel → (times s sorted, values); see :func:`window_features`.
        ends: window end times (s).

    Returns:
        ``(values (n, F) float64 with NaN, mask (n, F) bool)``.
    """
    starts = [t[0] for t, _ in signals.values() if len(t)]
    t0 = min(starts) if starts else 0.0
    vals = np.full((len(ends), len(FEATURES)), np.nan)
    for i, e in enumerate(np.asarray(ends, dtype=float)):
        wf = window_features(
            signals, float(e), config, stream_start=t0, diagnostics=diagnostics, where=where, seen=set(signals)
        )
        vals[i] = wf.values
    return vals, np.isfinite(vals)


__all__ = [
    "FEATURES",
    "FEATURE_UNITS",
    "MIN_RATES",
    "MODALITY_GROUPS",
    "PROCESS_RATES",
    "StreamingFeatures",
    "WindowConfig",
    "WindowFeatures",
    "cardiac_from_beats",
    "ecg_beats",
    "eda_features",
    "features_for_signals",
    "ppg_beats",
    "rsp_features",
    "temp_features",
    "window_features",
]
