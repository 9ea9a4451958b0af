"""The estimator's network and its weights: (window × feature) map → 8-class distribution + valence/arousal.

Model (:func:`EmotionNetClass`)
-------------------------------
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

Honesty note: the shipped weights are trained on SYNTHETIC data only (see
:mod:`~musicgen.emotion.simulate`); their held-out figures measure synthetic data, not people.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from musicgen.emotion.features import FEATURES, MODALITY_GROUPS, FeatureDataset, WindowConfig
from musicgen.emotion.labels import EMOTIONS
from musicgen.errors import InputError
from musicgen.paths import PACKAGE_DIR

#: Where the shipped estimator lives (package data) — weights and its JSON metadata beside it.
DEFAULT_WEIGHTS = PACKAGE_DIR / "weights" / "estimator.pt"
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


def forget_loaded_estimators() -> None:
    """Drop the estimators :func:`load_estimator` keeps (after weights on disk were replaced)."""
    _load_cached.cache_clear()


__all__ = [
    "DEFAULT_WEIGHTS",
    "EmotionNetClass",
    "Estimator",
    "Normalisation",
    "build_maps",
    "forget_loaded_estimators",
    "load_estimator",
]
