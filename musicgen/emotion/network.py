"""The estimator's network, its input map and its weights: recent windows → 8-class distribution + valence/arousal.

Input map (:func:`encode_rows`, :func:`stack_history`)
------------------------------------------------------
Each window's :data:`~musicgen.emotion.features.FEATURES` (face probabilities first turned into
centred log-ratios by :func:`encode_features`, the scale on which a face analyser's per-person bias
is a constant offset) becomes one row of ``F`` = 20 columns in :data:`MAP_CHANNELS` = 5 channels:

0. ``level``: the value, standardised with the training set's mean and SD;
1. ``change``: its change from the person's reference (the running median of this session so far,
   see :class:`~musicgen.emotion.streaming.SessionReference`), divided by the training set's SD of
   such changes;
2. ``within``: the same change divided by this session's own spread of the feature (1.4826 × its
   running median absolute deviation, floored at half the training SD of changes): a within-session
   standardisation that makes a weakly responding person's changes comparable with a strong one's;
3. ``mask``: 1 measured, 0 missing, so missing modalities are told apart from average values;
4. ``maturity``: how much session the reference rests on (0 → 1 over its first minutes), so the
   model learns when to trust ``change``/``within`` and when only ``level`` means anything.

Every channel is 0 where the feature is missing; values are clipped to ±8. The map stacks the
rows of the last ``T`` windows (the recipe: 12, i.e. 21 s of signal at a 1-s hop with 10-s
windows; the earliest row repeats until ``T`` windows exist).

Model (:func:`EmotionNetClass`)
-------------------------------
Two 3×3 conv layers (ReLU) lift the (channels × T × F) map to ``C`` channels; the spatial-channel
attention block (:class:`musicgen.model.attention.SpatialChannelAttention`, the paper's CBAM-style
block) weighs channels and then (window, feature) positions — with the mask in the input it learns
to look away from missing modalities; the map is pooled over windows with learnt weights (a
softmax over the ``T`` positions, so that the latest windows can count more than those that still
hold the previous state), flattened (feature positions keep their identity), and a hidden layer
feeds two heads: 8 logits (softmax → distribution) and tanh (valence, arousal).

Honesty note: the shipped weights are trained on SYNTHETIC data only (see
:mod:`~musicgen.emotion.simulate`); their figures measure synthetic data, not people.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from musicgen.conditions import EMOTIONS
from musicgen.emotion.features import FEATURES, MODALITY_GROUPS, WindowConfig
from musicgen.errors import InputError
from musicgen.paths import PACKAGE_DIR

#: Where the shipped estimator lives (package data) — weights and its JSON metadata beside it.
DEFAULT_WEIGHTS = PACKAGE_DIR / "weights" / "estimator.pt"
#: Version of the weights/JSON pair (2: five-channel maps against a running session reference).
FORMAT_VERSION = 2
#: The map's channels, in order (see the module docstring).
MAP_CHANNELS: tuple[str, ...] = ("level", "change", "within", "mask", "maturity")
#: Face probabilities are clipped here before their logarithm (an analyser's "never" is not −∞).
FACE_FLOOR = 1e-3

_FACE = list(MODALITY_GROUPS["face"])


def _make_net_class():
    import torch
    from torch import nn

    from musicgen.model.attention import SpatialChannelAttention

    class EmotionNet(nn.Module):
        """Conv stem → spatial-channel attention → learnt pooling over windows → MLP → (8 logits, tanh valence/arousal).

        Args:
            n_features: F, the map's width. n_windows: T, its height (one pooling weight per window).
            in_channels: the map's channels (:data:`MAP_CHANNELS`). channels: C, conv channels.
            hidden: hidden units. reduction / kernel_size: of the attention block.
        """

        def __init__(
            self,
            n_features: int = len(FEATURES),
            n_windows: int = 8,
            in_channels: int = len(MAP_CHANNELS),
            channels: int = 16,
            hidden: int = 64,
            reduction: int = 4,
            kernel_size: int = 3,
            n_classes: int = len(EMOTIONS),
            dropout: float = 0.2,
        ):
            super().__init__()
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, channels, 3, padding=1),
                nn.ReLU(),
                nn.Conv2d(channels, channels, 3, padding=1),
                nn.ReLU(),
            )
            self.attention = SpatialChannelAttention(
                channels, reduction=reduction, kernel_size=kernel_size, spatial_dims=2
            )
            # how much each of the T windows counts when the map is pooled over time (softmax of
            # these; zeros = a plain average): learnt, so that recent windows can outweigh those
            # that still hold the previous state
            self.time_logits = nn.Parameter(torch.zeros(n_windows))
            self.head = nn.Sequential(nn.Linear(channels * n_features, hidden), nn.ReLU(), nn.Dropout(dropout))
            self.classify = nn.Linear(hidden, n_classes)
            self.va = nn.Linear(hidden, 2)

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            """``x``: (B, channels, T, F) → (logits (B, 8), valence/arousal (B, 2) in [-1, 1])."""
            w = torch.softmax(self.time_logits, dim=0)
            h = (self.attention(self.stem(x)) * w[None, None, :, None]).sum(dim=2).flatten(1)
            z = self.head(h)
            return self.classify(z), torch.tanh(self.va(z))

    return EmotionNet


@functools.lru_cache(maxsize=1)
def EmotionNetClass():
    """The ``EmotionNet`` torch module class (built lazily so importing this module needs no torch)."""
    return _make_net_class()


def encode_features(values: np.ndarray) -> np.ndarray:
    """Features as the network sees them: face probabilities → centred log-ratios, the rest unchanged.

    Args:
        values: (..., F) features in :data:`~musicgen.emotion.features.FEATURES` order (NaN where missing).

    Returns:
        float64 array of the same shape: for the 8 face columns ``log(max(p, FACE_FLOOR))`` minus
        its mean over the measured ones (NaN stays NaN).
    """
    v = np.array(values, dtype=np.float64, copy=True)
    lf = np.log(np.clip(v[..., _FACE], FACE_FLOOR, None))
    ok = np.isfinite(lf)
    n = ok.sum(axis=-1, keepdims=True)
    centre = np.where(ok, lf, 0.0).sum(axis=-1, keepdims=True) / np.maximum(n, 1)
    v[..., _FACE] = lf - centre
    return v


@dataclass
class Normalisation:
    """Per-feature statistics of the training set (float64 arrays of shape (F,), of encoded features).

    Attributes:
        mean / sd: of measured values.
        delta_sd: root mean square of changes from the running session reference.
    """

    mean: np.ndarray
    sd: np.ndarray
    delta_sd: np.ndarray

    @classmethod
    def fit(cls, values: np.ndarray, reference: np.ndarray) -> Normalisation:
        """Statistics of encoded values (N, F) and their references (N, F); NaN = missing (SD 1 where a feature never occurs)."""
        v = np.asarray(values, dtype=np.float64)
        d = v - np.asarray(reference, dtype=np.float64)
        m = np.isfinite(v)
        dm = np.isfinite(d)
        cnt = m.sum(0)
        mean = np.where(cnt > 0, np.where(m, v, 0.0).sum(0) / np.maximum(cnt, 1), 0.0)
        var = np.where(cnt > 1, np.where(m, (v - mean) ** 2, 0.0).sum(0) / np.maximum(cnt - 1, 1), 1.0)
        dcnt = dm.sum(0)
        dvar = np.where(dcnt > 1, np.where(dm, d**2, 0.0).sum(0) / np.maximum(dcnt - 1, 1), 1.0)
        sd, dsd = np.sqrt(var), np.sqrt(dvar)
        return cls(mean, np.where(sd > 1e-9, sd, 1.0), np.where(dsd > 1e-9, dsd, 1.0))

    def as_dict(self) -> dict:
        """JSON-ready lists."""
        return {"mean": self.mean.tolist(), "sd": self.sd.tolist(), "delta_sd": self.delta_sd.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> Normalisation:
        """The inverse of :meth:`as_dict`."""
        return cls(np.asarray(d["mean"], float), np.asarray(d["sd"], float), np.asarray(d["delta_sd"], float))


def encode_rows(
    values: np.ndarray,
    mask: np.ndarray,
    reference: np.ndarray,
    spread: np.ndarray,
    maturity: np.ndarray,
    norm: Normalisation,
) -> np.ndarray:
    """Map rows for N windows: (N, len(MAP_CHANNELS), F) float32 (see the module docstring).

    Args:
        values: (N, F) encoded features (:func:`encode_features`), NaN where missing.
        mask: (N, F) True where measured.
        reference / spread: (N, F) the session reference (running median) and spread (1.4826 × MAD)
            at each window (NaN where none yet).
        maturity: (N,) 0..1, how much session the reference rests on.
        norm: the training set's statistics.
    """
    m = np.asarray(mask, dtype=bool) & np.isfinite(values)
    v = np.where(m, values, 0.0)
    level = np.where(m, (v - norm.mean) / norm.sd, 0.0)
    dm = m & np.isfinite(reference)
    d = np.where(dm, v - np.where(dm, reference, 0.0), 0.0)
    change = d / norm.delta_sd
    s = np.where(np.isfinite(spread), spread, 0.0)
    within = d / np.maximum(s, 0.5 * norm.delta_sd)
    mat = np.where(m, np.asarray(maturity, dtype=np.float64)[:, None], 0.0)
    rows = np.stack(
        [np.clip(level, -8, 8), np.clip(change, -8, 8), np.clip(within, -8, 8), m.astype(np.float64), mat], axis=1
    )
    return rows.astype(np.float32)


def stack_history(rows: np.ndarray, n_windows: int) -> np.ndarray:
    """Maps (N, channels, T, F) from consecutive rows (N, channels, F) of one session: map i holds rows i−T+1 … i.

    Before ``T`` rows exist the earliest row repeats (as a live stream's first maps do).
    """
    idx = np.maximum(np.arange(len(rows))[:, None] + np.arange(-n_windows + 1, 1)[None, :], 0)
    return np.ascontiguousarray(rows[idx].transpose(0, 2, 1, 3))


@dataclass(frozen=True)
class ReferenceConfig:
    """How the per-person reference is kept (see :class:`~musicgen.emotion.streaming.SessionReference`).

    Attributes:
        stride_s: a window enters the reference every this many seconds of stream (consecutive
            10-s windows overlap by 9 s, so thinning them loses little and keeps the reference cheap
            to rebuild from a file).
        delay_s: a window enters the reference this long after its end, so the present state is
            compared with the session before it rather than partly with itself.
        horizon_s: the reference covers at most the last this many seconds.
        mature_s: after this much session the reference counts as mature (maturity 1).
    """

    stride_s: float = 5.0
    delay_s: float = 20.0
    horizon_s: float = 600.0
    mature_s: float = 120.0


@dataclass
class Estimator:
    """A trained ``EmotionNet`` with everything needed to use it.

    Attributes:
        model: the torch module (eval mode).
        norm: feature normalisation of its training set.
        config: the window geometry it was trained with.
        n_windows: T, windows per map.
        reference: how the per-person reference is kept.
        meta: provenance (training data, seed, figures as measured at training time).
    """

    model: object
    norm: Normalisation
    config: WindowConfig
    n_windows: int = 8
    reference: ReferenceConfig = field(default_factory=ReferenceConfig)
    meta: dict = field(default_factory=dict)

    def predict(self, maps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Class probabilities (N, 8) and valence/arousal (N, 2) for maps (N, channels, T, F).

        Runs on one torch thread (restored afterwards): the model has a few tens of thousands of
        parameters, and on shared cores a multi-threaded forward pass waits on busy threads (0.15 ms
        becomes 35 ms+ at p95).
        """
        import torch

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

    def save(self, path: str | Path, force: bool = False) -> tuple[Path, Path]:
        """Write ``path`` (weights) and ``path`` with ``.json`` (normalisation + metadata), atomically.

        Raises:
            OutputExistsError: a file exists and ``force`` is false.
            UsageError: the folder is missing or not writable.
        """
        import io

        import torch

        from musicgen._files import atomic_write_bytes, atomic_write_text, check_writable

        p = Path(path)
        j = p.with_suffix(".json")
        check_writable(p, force)
        check_writable(j, force)
        buf = io.BytesIO()
        state = {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
        torch.save({"format": FORMAT_VERSION, "state_dict": state, "arch": self.meta.get("arch", {})}, buf)
        atomic_write_bytes(p, buf.getvalue(), force=force)
        r = self.reference
        doc = {
            "format": FORMAT_VERSION,
            "features": list(FEATURES),
            "classes": list(EMOTIONS),
            "map_channels": list(MAP_CHANNELS),
            "window": {
                "length_s": self.config.length_s,
                "hop_s": self.config.hop_s,
                "rsp_length_s": self.config.rsp_length_s,
            },
            "n_windows": self.n_windows,
            "reference": {
                "stride_s": r.stride_s,
                "delay_s": r.delay_s,
                "horizon_s": r.horizon_s,
                "mature_s": r.mature_s,
            },
            "normalisation": self.norm.as_dict(),
            **{k: v for k, v in self.meta.items() if k not in ("format",)},
        }
        atomic_write_text(j, json.dumps(doc, indent=1) + "\n", force=force)
        return p, j

    @classmethod
    def load(cls, path: str | Path | None = None) -> Estimator:
        """Load weights + JSON written by :meth:`save` (default: the shipped :data:`DEFAULT_WEIGHTS`).

        Raises:
            InputError: a file is missing or not an estimator of this format.
        """
        import torch

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
        if not isinstance(doc, dict) or doc.get("format") != FORMAT_VERSION or blob.get("format") != FORMAT_VERSION:
            got = doc.get("format") if isinstance(doc, dict) else None
            raise InputError(
                p,
                f"estimator format {got} is not the supported {FORMAT_VERSION} (retrain with `musicgen emotion train`)",
                reason="unsupported",
            )
        if (
            doc.get("features") != list(FEATURES)
            or doc.get("classes") != list(EMOTIONS)
            or doc.get("map_channels") != list(MAP_CHANNELS)
        ):
            raise InputError(
                j,
                "the estimator was trained on other features, classes or map channels than this version computes",
                reason="unsupported",
            )
        arch = dict(doc.get("arch", {}))
        model = EmotionNetClass()(**arch)
        try:
            state = dict(blob["state_dict"])
            # weights from before the time pooling was learnt pooled with a plain average
            state.setdefault("time_logits", torch.zeros(int(arch.get("n_windows", 8))))
            model.load_state_dict(state)
        except Exception as exc:  # noqa: BLE001
            raise InputError(p, f"weights do not fit the architecture ({exc})", reason="corrupt") from None
        model.eval()
        meta = {
            k: v
            for k, v in doc.items()
            if k not in ("features", "classes", "map_channels", "window", "normalisation", "reference", "n_windows")
        }
        return cls(
            model,
            Normalisation.from_dict(doc["normalisation"]),
            WindowConfig(**doc["window"]),
            int(doc["n_windows"]),
            ReferenceConfig(**doc["reference"]),
            meta,
        )


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
    "FACE_FLOOR",
    "FORMAT_VERSION",
    "MAP_CHANNELS",
    "Normalisation",
    "ReferenceConfig",
    "encode_features",
    "encode_rows",
    "forget_loaded_estimators",
    "load_estimator",
    "stack_history",
]
