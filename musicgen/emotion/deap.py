"""Loader for the DEAP dataset's preprocessed Python files, for users who have DEAP (it cannot be shipped).

DEAP (Koelstra et al. 2012, "DEAP: A Database for Emotion Analysis Using Physiological Signals",
IEEE Trans. Affective Computing 3(1):18–31) distributes ``data_preprocessed_python/sXX.dat``: one
pickle per participant (written by Python 2) holding a dict with

- ``data``: 40 trials × 40 channels × 8064 samples (128 Hz, 63 s: a 3-s pre-trial baseline then the
  60-s music video);
- ``labels``: 40 trials × 4 ratings — valence, arousal, dominance, liking — on the 1–9 scale.

Channels 1–32 are EEG; the peripheral ones (1-based, as DEAP's documentation numbers them) are
33 hEOG, 34 vEOG, 35 zEMG (zygomaticus), 36 tEMG (trapezius), 37 GSR ("values from Twente
converted to Geneva format (Ohm)": skin *resistance*), 38 respiration belt, 39 plethysmograph,
40 temperature. This loader maps GSR → ``eda`` (µS = 10⁶ / Ω), respiration → ``rsp``,
plethysmograph → ``ppg`` and temperature → ``temp`` (kept only if its values look like °C);
EEG, EOG and EMG are not used by the estimator.

DEAP has no categorical labels: each trial's (valence, arousal) is mapped to [-1, 1] by
``(rating − 5) / 4`` and to a soft 8-class distribution with
:func:`musicgen.conditions.va_to_probabilities`. Reports on DEAP say "classes derived from
valence/arousal ratings". Files are read with a restricted unpickler that only rebuilds numpy
arrays (a pickle can otherwise run code).
"""

from __future__ import annotations

import pickle
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicgen.conditions import va_to_probabilities
from musicgen.errors import InputError, UsageError

DEAP_RATE = 128.0
PRETRIAL_S = 3.0
N_CHANNELS = 40
#: 0-based channel index → DEAP's name, for the peripheral channels.
PERIPHERAL: dict[int, str] = {
    32: "hEOG",
    33: "vEOG",
    34: "zEMG",
    35: "tEMG",
    36: "GSR",
    37: "Respiration belt",
    38: "Plethysmograph",
    39: "Temperature",
}
#: 0-based DEAP channel → contract channel, for those the estimator uses.
CHANNEL_MAP: dict[int, str] = {36: "eda", 37: "rsp", 38: "ppg", 39: "temp"}
RATINGS = ("valence", "arousal", "dominance", "liking")

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),  # how protocol-2 pickles written by Python 3 carry raw bytes (harmless)
}


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} (only numpy arrays are expected)")


@dataclass
class DeapSubject:
    """One DEAP participant.

    Attributes:
        subject: participant number (from the ``sXX`` file name; 0 if the name has none).
        data: (trials, 40, samples) float64.
        labels: (trials, 4) ratings — valence, arousal, dominance, liking — on 1–9.
        path: the file.
    """

    subject: int
    data: np.ndarray
    labels: np.ndarray
    path: Path

    @property
    def n_trials(self) -> int:
        return int(self.data.shape[0])

    def valence_arousal(self) -> np.ndarray:
        """(trials, 2) valence and arousal mapped to [-1, 1] by ``(rating − 5) / 4``."""
        return np.clip((self.labels[:, :2].astype(np.float64) - 5.0) / 4.0, -1.0, 1.0)

    def trial_signals(self, trial: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Contract channels of one trial: ``{"eda": (t, µS), "rsp": ..., "ppg": ..., "temp": ...}`` (t in s from the trial start).

        GSR is converted from Ω to µS (10⁶/Ω) when its median is a plausible skin resistance
        (1 kΩ–100 MΩ); a channel that is flat, non-finite or implausible is left out.
        """
        n = self.data.shape[2]
        t = np.arange(n) / DEAP_RATE
        out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for ch, name in CHANNEL_MAP.items():
            v = self.data[trial, ch].astype(np.float64)
            ok = np.isfinite(v)
            if ok.sum() < 2 or np.ptp(v[ok]) == 0:
                continue
            if name == "eda":
                med = float(np.median(v[ok]))
                if not 1e3 <= med <= 1e8:
                    continue
                with np.errstate(divide="ignore", invalid="ignore"):
                    v = np.where(v > 0, 1e6 / v, np.nan)
                ok = np.isfinite(v)
            elif name == "temp":
                med = float(np.median(v[ok]))
                if not 15.0 <= med <= 45.0:
                    continue
            out[name] = (t[ok], v[ok])
        return out


def _subject_number(path: Path) -> int:
    m = re.search(r"(\d+)", path.stem)
    return int(m.group(1)) if m else 0


def load_deap_subject(path: str | Path) -> DeapSubject:
    """Read one ``sXX.dat`` file of DEAP's preprocessed Python data.

    Raises:
        InputError: missing, not a DEAP pickle, or arrays of the wrong shape (naming what was expected).
    """
    p = Path(path)
    if not p.exists():
        raise InputError(p, "no such file", reason="missing")
    try:
        with open(p, "rb") as fh:
            obj = _ArrayUnpickler(fh, encoding="latin1").load()
    except Exception as exc:  # noqa: BLE001 - every failure here is "not a DEAP file"
        raise InputError(p, f"not a DEAP preprocessed pickle ({type(exc).__name__}: {exc})", reason="corrupt") from None
    if not isinstance(obj, dict) or "data" not in obj or "labels" not in obj:
        raise InputError(
            p, "expected a dict with 'data' and 'labels' (DEAP's data_preprocessed_python format)", reason="corrupt"
        )
    data = np.asarray(obj["data"])
    labels = np.asarray(obj["labels"])
    if data.ndim != 3 or data.shape[1] != N_CHANNELS:
        raise InputError(
            p, f"'data' must be trials × {N_CHANNELS} channels × samples, got shape {data.shape}", reason="corrupt"
        )
    if labels.shape != (data.shape[0], 4):
        raise InputError(
            p, f"'labels' must be {data.shape[0]} trials × 4 ratings, got shape {labels.shape}", reason="corrupt"
        )
    if not np.all(np.isfinite(labels)) or labels.min() < 1 or labels.max() > 9:
        raise InputError(p, "ratings must lie on DEAP's 1–9 scale", reason="corrupt")
    return DeapSubject(_subject_number(p), data, labels.astype(np.float64), p)


def deap_files(folder: str | Path) -> list[Path]:
    """The ``s*.dat`` files of a DEAP folder, in subject order.

    Raises:
        InputError: the folder is missing or holds no ``s*.dat`` file.
    """
    d = Path(folder)
    if not d.is_dir():
        raise InputError(d, "not a folder (expected DEAP's data_preprocessed_python folder)", reason="missing")
    files = sorted(d.glob("s*.dat"), key=lambda f: (_subject_number(f), f.name))
    if not files:
        raise InputError(d, "no s*.dat files (expected DEAP's data_preprocessed_python folder)", reason="empty")
    return files


def deap_sessions(
    folder: str | Path,
    *,
    config=None,
    progress: Callable[[int, int], None] | None = None,
):
    """Estimator training sessions from a DEAP folder (a :class:`~musicgen.emotion.sessions.SessionWindows`).

    Each participant is one session: his or her trials in order, every window of each 63-s trial
    (the trials are joined in time, as one stream would deliver them), so the running session
    reference is built exactly as it is live. Targets: soft distributions from the valence/arousal
    ratings; ``lag`` is the window's end after the video's start.

    Raises:
        InputError: see :func:`load_deap_subject` / :func:`deap_files`.
        UsageError: a trial shorter than one window.
    """
    from musicgen.emotion.features import WindowConfig, features_for_signals
    from musicgen.emotion.sessions import SessionWindows

    cfg = config or WindowConfig()
    files = deap_files(folder)
    parts = []
    for k, f in enumerate(files):
        subj = load_deap_subject(f)
        dur = subj.data.shape[2] / DEAP_RATE
        if dur + 1e-9 < cfg.length_s:
            raise UsageError(f"{f}: trials of {dur:.1f} s are shorter than one {cfg.length_s:g}-s window")
        ends = np.arange(cfg.length_s, dur + 1e-9, cfg.hop_s)
        va = subj.valence_arousal()
        vals, all_ends, targets, vas, labels, lags = [], [], [], [], [], []
        for trial in range(subj.n_trials):
            v, _ = features_for_signals(subj.trial_signals(trial), ends, cfg, where=f"{f.name} trial {trial + 1}")
            p = va_to_probabilities(float(va[trial, 0]), float(va[trial, 1]))
            vals.append(v)
            all_ends.append(ends + trial * dur)
            targets.append(np.tile(p, (ends.size, 1)))
            vas.append(np.tile(va[trial], (ends.size, 1)))
            labels.append(np.full(ends.size, int(np.argmax(p))))
            lags.append(ends - PRETRIAL_S)
        values = np.concatenate(vals)
        keep = np.isfinite(values).any(axis=1)
        parts.append(
            SessionWindows(
                values[keep].astype(np.float32),
                np.concatenate(all_ends)[keep],
                np.full(int(keep.sum()), subj.subject, dtype=np.int64),
                np.concatenate(targets)[keep].astype(np.float32),
                np.concatenate(vas)[keep].astype(np.float32),
                np.concatenate(labels)[keep].astype(np.int64),
                np.concatenate(lags)[keep].astype(np.float32),
                "DEAP",
            )
        )
        if progress:
            progress(k + 1, len(files))
    out = SessionWindows.concat(parts)
    out.source = f"DEAP ({len(files)} participants; classes derived from valence/arousal ratings)"
    return out


__all__ = [
    "CHANNEL_MAP",
    "DEAP_RATE",
    "DeapSubject",
    "PERIPHERAL",
    "PRETRIAL_S",
    "RATINGS",
    "deap_sessions",
    "deap_files",
    "load_deap_subject",
]
