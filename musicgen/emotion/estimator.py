"""The live emotion estimator: (window × feature) map → 8-class distribution + valence/arousal.

Model (:class:`EmotionNet`)
---------------------------
The input is a map of the last ``T`` windows (rows, default 8 windows = 17 s at a 1-s hop) ×
the ``F`` = 20 :data:`~musicgen.emotion.features.FEATURES` (columns, grouped by modality), with
three channels:

0. the feature, standardised with the training set's mean and SD (0 where missing);
1. its change from the person's resting baseline, divided by the training set's SD of such
   changes (0 where missing or no baseline yet) — emotion shows in physiology as change from rest
   (the reviews behind :mod:`~musicgen.emotion.simulate` report changes, not levels);
2. the mask (1 measured, 0 missing), so missing modalities are told apart from average values.

Two 3×3 conv layers (ReLU) lift it to ``C`` channels; the spatial-channel attention block
(:class:`musicgen.model.attention.SpatialChannelAttention`, the paper's CBAM-style block) weighs
channels and then (window, feature) positions — with the mask in the input, it learns to look away
from missing modalities; the map is averaged over windows, flattened (feature positions keep their
identity), and a hidden layer feeds two heads: 8 logits (softmax → distribution) and tanh
(valence, arousal).

Streaming (:func:`estimate_stream`)
-----------------------------------
The baseline is the per-feature median of the first ``baseline_windows`` windows in which that
feature was measured (21 windows = the first 30 s at the default geometry): **a session should
start with ~30 s at rest**, as lab protocols do. Until then the median so far is used. Before
``T`` windows exist the map repeats its earliest window. Estimates are smoothed by
:class:`HysteresisSmoother` so the label does not flicker.

Honesty note: the shipped weights are trained on SYNTHETIC data only (see
:mod:`~musicgen.emotion.simulate`); their held-out figures measure synthetic data, not people.
"""

from __future__ import annotations

import functools
import json
import math
import time as _time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from musicgen.emotion.features import (
    FEATURES,
    FEATURES_VERSION,
    MODALITY_GROUPS,
    FeatureDataset,
    StreamingFeatures,
    WindowConfig,
    WindowFeatures,
    window_features,
)
from musicgen.emotion.labels import EMOTIONS, EmotionCondition
from musicgen.emotion.sources import CHANNELS, Diagnostics, Source, open_source, read_all
from musicgen.errors import InputError, UsageError
from musicgen.paths import PACKAGE_DIR

#: Where the shipped estimator lives (package data) — weights and its JSON metadata beside it.
DEFAULT_WEIGHTS = PACKAGE_DIR / "weights" / "estimator.pt"
MODALITY_ORDER = ("ecg", "ppg", "hr", "eda", "rsp", "temp", "face")
FORMAT_VERSION = 1


def _torch():
    import torch

    return torch


def _make_net_class():
    torch = _torch()
    from torch import nn

    from musicgen.model.attention import SpatialChannelAttention

    class EmotionNet(nn.Module):
        """Conv stem → spatial-channel attention → window-average → MLP → (8 logits, tanh valence/arousal).

        Args:
            n_features: F, the map's width. n_windows: T, its height (kept for metadata).
            channels: C, conv channels. hidden: hidden units. reduction / kernel_size: of the attention block.
        """

        def __init__(self, n_features: int = len(FEATURES), n_windows: int = 8, channels: int = 16, hidden: int = 64,
                     reduction: int = 4, kernel_size: int = 3, n_classes: int = len(EMOTIONS), dropout: float = 0.2):
            super().__init__()
            self.stem = nn.Sequential(
                nn.Conv2d(3, channels, 3, padding=1), nn.ReLU(),
                nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
            )
            self.attention = SpatialChannelAttention(channels, reduction=reduction, kernel_size=kernel_size, spatial_dims=2)
            self.head = nn.Sequential(nn.Linear(channels * n_features, hidden), nn.ReLU(), nn.Dropout(dropout))
            self.classify = nn.Linear(hidden, n_classes)
            self.va = nn.Linear(hidden, 2)

        def forward(self, x: "torch.Tensor") -> tuple["torch.Tensor", "torch.Tensor"]:
            """``x``: (B, 3, T, F) → (logits (B, 8), valence/arousal (B, 2) in [-1, 1])."""
            h = self.attention(self.stem(x)).mean(dim=2).flatten(1)
            z = self.head(h)
            return self.classify(z), torch.tanh(self.va(z))

    return EmotionNet


@functools.lru_cache(maxsize=1)
def EmotionNetClass():
    """The :class:`EmotionNet` torch module class (built lazily so importing this module needs no torch)."""
    return _make_net_class()


@dataclass
class Normalisation:
    """Per-feature statistics of the training set (float64 arrays of shape (F,))."""

    mean: np.ndarray
    sd: np.ndarray
    delta_sd: np.ndarray

    @classmethod
    def fit(cls, data: FeatureDataset) -> "Normalisation":
        """Mean/SD of measured values and SD of changes from baseline (1 where a feature never occurs)."""
        v = data.values.reshape(-1, data.values.shape[-1]).astype(np.float64)
        m = data.mask.reshape(v.shape)
        d = (data.values - data.baseline[:, None, :]).reshape(v.shape).astype(np.float64)
        dm = m & np.isfinite(d)
        with np.errstate(invalid="ignore", divide="ignore"):
            cnt = m.sum(0)
            mean = np.where(cnt > 0, np.nansum(np.where(m, v, 0.0), 0) / np.maximum(cnt, 1), 0.0)
            var = np.where(cnt > 1, np.nansum(np.where(m, (v - mean) ** 2, 0.0), 0) / np.maximum(cnt - 1, 1), 1.0)
            dcnt = dm.sum(0)
            dvar = np.where(dcnt > 1, np.nansum(np.where(dm, d**2, 0.0), 0) / np.maximum(dcnt - 1, 1), 1.0)
        sd = np.sqrt(var)
        dsd = np.sqrt(dvar)
        return cls(mean, np.where(sd > 1e-9, sd, 1.0), np.where(dsd > 1e-9, dsd, 1.0))

    def as_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "sd": self.sd.tolist(), "delta_sd": self.delta_sd.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> "Normalisation":
        return cls(np.asarray(d["mean"], float), np.asarray(d["sd"], float), np.asarray(d["delta_sd"], float))


def build_maps(values: np.ndarray, mask: np.ndarray, baseline: np.ndarray, norm: Normalisation) -> np.ndarray:
    """The model input for (N, T, F) values/mask and (N, F) baselines: (N, 3, T, F) float32 (see the module docstring)."""
    m = mask & np.isfinite(values)
    v = np.where(m, values, 0.0)
    z = np.where(m, (v - norm.mean) / norm.sd, 0.0)
    b = baseline[:, None, :]
    dm = m & np.isfinite(b)
    dz = np.where(dm, (v - np.where(np.isfinite(b), b, 0.0)) / norm.delta_sd, 0.0)
    out = np.stack([np.clip(z, -8, 8), np.clip(dz, -8, 8), m.astype(np.float64)], axis=1)
    return out.astype(np.float32)


@dataclass
class Estimator:
    """A trained :class:`EmotionNet` with everything needed to use it.

    Attributes:
        model: the torch module (eval mode).
        norm: feature normalisation of its training set.
        config: the window geometry it was trained with.
        n_windows: T, windows per map.
        baseline_windows: windows that make the resting baseline.
        meta: provenance (training data, seed, held-out figures as measured at training time).
    """

    model: object
    norm: Normalisation
    config: WindowConfig
    n_windows: int = 8
    baseline_windows: int = 21
    meta: dict = field(default_factory=dict)

    def predict(self, maps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Class probabilities (N, 8) and valence/arousal (N, 2) for maps (N, 3, T, F).

        Runs on one torch thread (restored afterwards): the model is ~24k parameters, and on shared
        cores a multi-threaded forward pass waits on busy threads (0.15 ms becomes 35 ms+ at p95).
        """
        torch = _torch()
        threads = torch.get_num_threads()
        if threads != 1:
            torch.set_num_threads(1)
        try:
            with torch.inference_mode():
                logits, va = self.model(torch.from_numpy(np.ascontiguousarray(maps, dtype=np.float32)))
                p = torch.softmax(logits, dim=1)
        finally:
            if threads != 1:
                torch.set_num_threads(threads)
        return p.numpy().astype(np.float64), va.numpy().astype(np.float64)

    def predict_dataset(self, data: FeatureDataset, drop: tuple[str, ...] = ()) -> tuple[np.ndarray, np.ndarray]:
        """Predictions for a dataset, optionally with whole modality groups (``"face"``, ...) removed."""
        mask = data.mask.copy()
        for g in drop:
            mask[:, :, list(MODALITY_GROUPS[g])] = False
        maps = build_maps(data.values, mask, data.baseline, self.norm)
        ps, vas = [], []
        for a in range(0, len(data), 2048):
            p, va = self.predict(maps[a : a + 2048])
            ps.append(p)
            vas.append(va)
        return np.concatenate(ps) if ps else np.zeros((0, 8)), np.concatenate(vas) if vas else np.zeros((0, 2))

    def save(self, path: str | Path, force: bool = False) -> tuple[Path, Path]:
        """Write ``path`` (weights) and ``path`` with ``.json`` (normalisation + metadata), atomically.

        Raises:
            OutputExistsError: a file exists and ``force`` is false.
            UsageError: the folder is missing or not writable.
        """
        import io

        from musicgen._files import atomic_write_bytes, atomic_write_text, check_writable

        torch = _torch()
        p = Path(path)
        j = p.with_suffix(".json")
        check_writable(p, force)
        check_writable(j, force)
        buf = io.BytesIO()
        state = {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
        torch.save({"format": FORMAT_VERSION, "state_dict": state, "arch": self.meta.get("arch", {})}, buf)
        atomic_write_bytes(p, buf.getvalue(), force=force)
        doc = {
            "format": FORMAT_VERSION,
            "features": list(FEATURES),
            "classes": list(EMOTIONS),
            "window": {"length_s": self.config.length_s, "hop_s": self.config.hop_s, "rsp_length_s": self.config.rsp_length_s},
            "n_windows": self.n_windows,
            "baseline_windows": self.baseline_windows,
            "normalisation": self.norm.as_dict(),
            **{k: v for k, v in self.meta.items() if k not in ("format",)},
        }
        atomic_write_text(j, json.dumps(doc, indent=1) + "\n", force=force)
        return p, j

    @classmethod
    def load(cls, path: str | Path | None = None) -> "Estimator":
        """Load weights + JSON written by :meth:`save` (default: the shipped :data:`DEFAULT_WEIGHTS`).

        Raises:
            InputError: a file is missing or not an estimator of this format.
        """
        torch = _torch()
        p = Path(path) if path is not None else DEFAULT_WEIGHTS
        j = p.with_suffix(".json")
        for f in (p, j):
            if not f.exists():
                hint = " (train one with `musicgen emotion train`)" if path is None else ""
                raise InputError(f, f"estimator file missing{hint}", reason="missing")
        try:
            doc = json.loads(j.read_text(encoding="utf-8"))
            blob = torch.load(p, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any decode failure is a bad file
            raise InputError(p, f"not a readable estimator ({type(exc).__name__}: {exc})", reason="corrupt") from None
        if doc.get("format") != FORMAT_VERSION or blob.get("format") != FORMAT_VERSION:
            raise InputError(p, f"estimator format {doc.get('format')} is not the supported {FORMAT_VERSION}", reason="unsupported")
        if doc.get("features") != list(FEATURES) or doc.get("classes") != list(EMOTIONS):
            raise InputError(j, "the estimator was trained on other features or classes than this version computes", reason="unsupported")
        arch = dict(doc.get("arch", {}))
        model = EmotionNetClass()(**arch)
        try:
            model.load_state_dict(blob["state_dict"])
        except Exception as exc:  # noqa: BLE001
            raise InputError(p, f"weights do not fit the architecture ({exc})", reason="corrupt") from None
        model.eval()
        w = doc["window"]
        meta = {k: v for k, v in doc.items() if k not in ("features", "classes", "window", "normalisation")}
        return cls(model, Normalisation.from_dict(doc["normalisation"]), WindowConfig(**w), int(doc["n_windows"]),
                   int(doc["baseline_windows"]), meta)


@functools.lru_cache(maxsize=4)
def _load_cached(path: str | None) -> Estimator:
    return Estimator.load(path)


def load_estimator(path: str | Path | None = None) -> Estimator:
    """The estimator at ``path`` (default: the shipped one), loaded once per process.

    Raises:
        InputError: see :meth:`Estimator.load`.
    """
    return _load_cached(None if path is None else str(Path(path).resolve()))


# --------------------------------------------------------------------------------------------------
# streaming state

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
        source: a file path, ``"-"`` (stdin), ``"lsl:SPEC"``, or a :class:`~musicgen.emotion.sources.Source`.
        estimator: the model (default: the shipped weights).
        smoothing: hysteresis settings (None: raw estimates).
        follow / realtime / sampling_rate / idle_timeout: see :class:`~musicgen.emotion.sources.FileSource`.
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


# --------------------------------------------------------------------------------------------------
# training

@dataclass(frozen=True)
class TrainConfig:
    """Training settings (defaults train the shipped estimator on 2 CPU cores in a few minutes).

    Attributes:
        seed: seeds simulation, splits, initialisation and batching.
        train_subjects / test_subjects: simulated people for training / the held-out report.
        epochs, batch_size, lr, weight_decay: optimisation (Adam, cosine decay).
        va_weight: weight of the valence/arousal MSE next to the class cross-entropy.
        drop_prob: per-sample probability of removing each modality group in training (robustness to missing sensors).
        n_windows: T. channels / hidden: model size.
    """

    seed: int = 0
    train_subjects: int = 28
    test_subjects: int = 8
    epochs: int = 60
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 1e-4
    va_weight: float = 0.5
    drop_prob: tuple[tuple[str, float], ...] = (("cardiac", 0.2), ("eda", 0.2), ("rsp", 0.3), ("temp", 0.4), ("face", 0.35))
    n_windows: int = 8
    channels: int = 16
    hidden: int = 64


def _dataset_cache_path(kind: str, n_subjects: int, seed: int, n_windows: int, cfg: WindowConfig) -> Path:
    from musicgen.paths import cache_dir

    tag = f"{kind}-v{FORMAT_VERSION}.{FEATURES_VERSION}-n{n_subjects}-s{seed}-T{n_windows}-L{cfg.length_s:g}-h{cfg.hop_s:g}-r{cfg.rsp_length_s:g}"
    return cache_dir() / "emotion" / f"{tag}.npz"


def synthetic_split(
    n_subjects: int, seed: int, n_windows: int, config: WindowConfig, *, cache: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> FeatureDataset:
    """:func:`~musicgen.emotion.simulate.synthetic_dataset`, cached under the user cache folder."""
    from musicgen.emotion.simulate import synthetic_dataset

    path = _dataset_cache_path("synthetic", n_subjects, seed, n_windows, config)
    if cache and path.exists():
        try:
            return FeatureDataset.load(path)
        except Exception:  # noqa: BLE001 - a broken cache is rebuilt
            pass
    data = synthetic_dataset(n_subjects, seed, n_windows=n_windows, config=config, progress=progress)
    if cache:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            data.save(path)
        except OSError:
            pass
    return data


def _augment_mask(mask: np.ndarray, rng: np.random.Generator, drop_prob: dict[str, float]) -> np.ndarray:
    """Remove whole modality groups at random per sample, never all of a sample's present groups."""
    n = mask.shape[0]
    groups = list(MODALITY_GROUPS)
    present = np.stack([mask[:, :, list(MODALITY_GROUPS[g])].any(axis=(1, 2)) for g in groups], axis=1)
    drop = rng.random((n, len(groups))) < np.array([drop_prob.get(g, 0.0) for g in groups])
    drop &= present
    all_gone = (present & ~drop).sum(axis=1) == 0
    if all_gone.any():
        for i in np.flatnonzero(all_gone):
            keep = rng.choice(np.flatnonzero(present[i])) if present[i].any() else None
            if keep is not None:
                drop[i, keep] = False
    out = mask.copy()
    for k, g in enumerate(groups):
        cols = list(MODALITY_GROUPS[g])
        rows = np.flatnonzero(drop[:, k])
        if rows.size:
            out[np.ix_(rows, np.arange(mask.shape[1]), cols)] = False
    return out


def fit_estimator(
    train: FeatureDataset,
    config: TrainConfig = TrainConfig(),
    window: WindowConfig = WindowConfig(),
    *,
    progress: Callable[[int, int], None] | None = None,
) -> Estimator:
    """Train an :class:`EmotionNet` on ``train`` (soft-target cross-entropy + ``va_weight`` × MSE).

    Runs on one CPU thread (a model this small gains nothing from more, and loses much when the
    cores are shared), which also makes it deterministic for a given ``config.seed``.

    Raises:
        UsageError: an empty dataset.
    """
    torch = _torch()
    if len(train) == 0:
        raise UsageError("no training samples")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _fit(train, config, window, progress)
    finally:
        torch.set_num_threads(threads)


def _fit(train: FeatureDataset, config: TrainConfig, window: WindowConfig, progress) -> Estimator:
    torch = _torch()
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    norm = Normalisation.fit(train)
    arch = {"n_features": len(FEATURES), "n_windows": config.n_windows, "channels": config.channels, "hidden": config.hidden}
    model = EmotionNetClass()(**arch)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = int(math.ceil(len(train) / config.batch_size))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.epochs * steps_per_epoch)
    targets = torch.from_numpy(train.targets.astype(np.float32))
    va_t = torch.from_numpy(train.va.astype(np.float32))
    drop_prob = dict(config.drop_prob)
    model.train()
    for epoch in range(config.epochs):
        mask = _augment_mask(train.mask, rng, drop_prob)
        maps = torch.from_numpy(build_maps(train.values, mask, train.baseline, norm))
        order = torch.from_numpy(rng.permutation(len(train)))
        for a in range(0, len(train), config.batch_size):
            idx = order[a : a + config.batch_size]
            logits, va = model(maps[idx])
            loss = -(targets[idx] * torch.log_softmax(logits, dim=1)).sum(1).mean()
            loss = loss + config.va_weight * ((va - va_t[idx]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        if progress:
            progress(epoch + 1, config.epochs)
    model.eval()
    n_params = sum(p.numel() for p in model.parameters())
    meta = {"arch": arch, "parameters": int(n_params), "train_config": {
        "seed": config.seed, "epochs": config.epochs, "batch_size": config.batch_size, "lr": config.lr,
        "weight_decay": config.weight_decay, "va_weight": config.va_weight, "drop_prob": dict(config.drop_prob)}}
    return Estimator(model, norm, window, config.n_windows, int(round((30.0 - window.length_s) / window.hop_s)) + 1, meta)


@dataclass
class TrainResult:
    """What :func:`train_estimator` made: the estimator, where it was saved, and its held-out reports."""

    estimator: Estimator
    paths: tuple[Path, Path] | None
    reports: list
    seconds: float


def train_estimator(
    config: TrainConfig = TrainConfig(),
    *,
    out: str | Path | None = None,
    force: bool = False,
    deap_dir: str | Path | None = None,
    cache: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
) -> TrainResult:
    """Simulate data, train, evaluate on held-out simulated people (and DEAP subjects), save.

    Args:
        config: training settings.
        out: where to write the weights (and the ``.json`` beside them); None: do not save.
        force: overwrite existing files.
        deap_dir: a folder of DEAP ``sXX.dat`` files to add (75 % of subjects train, 25 % held out).
        cache: reuse simulated datasets from the user cache folder.
        progress: called as ``progress(stage, done, total)``.

    Returns:
        a :class:`TrainResult`; its reports are labelled with the data they were measured on.

    Raises:
        OutputExistsError / UsageError: ``out`` exists without ``force``, or cannot be written.
        InputError: unreadable DEAP files.
    """
    from musicgen._files import check_writable
    from musicgen.emotion.report import classification_report

    t_start = _time.perf_counter()
    if out is not None:
        check_writable(Path(out), force)
        check_writable(Path(out).with_suffix(".json"), force)
    window = WindowConfig()

    def stage(name):
        return (lambda d, t: progress(name, d, t)) if progress else None

    train = synthetic_split(config.train_subjects, config.seed, config.n_windows, window, cache=cache,
                            progress=stage("simulating training subjects"))
    test = synthetic_split(config.test_subjects, config.seed + 1, config.n_windows, window, cache=cache,
                           progress=stage("simulating held-out subjects"))
    deap_test = None
    sources = [train.source]
    if deap_dir is not None:
        from musicgen.emotion.deap import deap_dataset

        deap = deap_dataset(deap_dir, n_windows=config.n_windows, config=window, progress=stage("reading DEAP"))
        subjects = np.unique(deap.groups)
        rng = np.random.default_rng(config.seed)
        held = rng.choice(subjects, size=max(1, len(subjects) // 4), replace=False) if len(subjects) > 1 else np.array([], dtype=int)
        is_test = np.isin(deap.groups, held)
        deap_test = deap.subset(is_test) if is_test.any() else None
        deap_train = deap.subset(~is_test)
        train = _concat(train, deap_train)
        sources.append(deap.source)
    est = fit_estimator(train, config, window, progress=stage("training"))
    reports = []
    p, _ = est.predict_dataset(test)
    reports.append(classification_report(test.labels, p.argmax(1), f"held-out {test.source}, all modalities"))
    p, _ = est.predict_dataset(test, drop=("face",))
    reports.append(classification_report(test.labels, p.argmax(1), f"held-out {test.source}, physiology only (face removed)"))
    p, _ = est.predict_dataset(test, drop=("cardiac", "eda", "rsp", "temp"))
    reports.append(classification_report(test.labels, p.argmax(1), f"held-out {test.source}, face only"))
    if deap_test is not None and len(deap_test):
        p, _ = est.predict_dataset(deap_test)
        reports.append(classification_report(deap_test.labels, p.argmax(1), f"held-out {deap_test.source}"))
    seconds = _time.perf_counter() - t_start
    est.meta.update({
        "trained_on": " + ".join(sources),
        "synthetic": deap_dir is None,
        "heldout": {"seed": config.seed + 1, "subjects": config.test_subjects},
        "train_subjects": config.train_subjects,
        "train_seconds": round(seconds, 1),
        "heldout_reports_at_training": [r.summary() for r in reports],
    })
    paths = est.save(out, force=force) if out is not None else None
    if out is not None:
        _load_cached.cache_clear()
    return TrainResult(est, paths, reports, seconds)


def _concat(a: FeatureDataset, b: FeatureDataset) -> FeatureDataset:
    off = int(a.groups.max()) + 1 if len(a) else 0
    return FeatureDataset(
        np.concatenate([a.values, b.values]), np.concatenate([a.mask, b.mask]), np.concatenate([a.baseline, b.baseline]),
        np.concatenate([a.targets, b.targets]), np.concatenate([a.va, b.va]), np.concatenate([a.labels, b.labels]),
        np.concatenate([a.groups, b.groups + off]), f"{a.source} + {b.source}",
    )


def heldout_reports(
    estimator: Estimator | None = None, *, cache: bool = True, progress: Callable[[str, int, int], None] | None = None,
) -> list:
    """Re-measure an estimator on its held-out SYNTHETIC subjects (regenerated from the seed in its metadata).

    Returns:
        reports for all modalities, physiology only, and face only — each labelled synthetic.
    """
    from musicgen.emotion.report import classification_report

    est = estimator or load_estimator()
    h = est.meta.get("heldout", {"seed": 1, "subjects": 8})
    cb = (lambda d, t: progress("simulating held-out subjects", d, t)) if progress else None
    test = synthetic_split(int(h["subjects"]), int(h["seed"]), est.n_windows, est.config, cache=cache, progress=cb)
    out = []
    for drop, what in (((), "all modalities"), (("face",), "physiology only (face removed)"),
                       (("cardiac", "eda", "rsp", "temp"), "face only")):
        p, _ = est.predict_dataset(test, drop=drop)
        out.append(classification_report(test.labels, p.argmax(1), f"held-out {test.source}, {what}"))
    return out


__all__ = [
    "DEFAULT_WEIGHTS",
    "BaselineTracker",
    "Estimate",
    "Estimator",
    "EstimatorSession",
    "EmotionNetClass",
    "HysteresisSmoother",
    "Normalisation",
    "SmoothingConfig",
    "TrainConfig",
    "TrainResult",
    "build_maps",
    "estimate_stream",
    "fit_estimator",
    "heldout_reports",
    "latest_estimate",
    "load_estimator",
    "synthetic_split",
    "train_estimator",
]
