"""Whole sessions as the estimator's data: per-window features with labels, simulated (SYNTHETIC) or from DEAP.

The estimator is trained the way it is used: on sessions streamed window by window, each compared
with its own running reference (:class:`~musicgen.emotion.streaming.SessionReference`). A
:class:`SessionWindows` holds the features of every window of many sessions, in time order.

Simulated training sessions (:func:`training_session_plan`)
-----------------------------------------------------------
Session ``i`` of seed ``s`` is one simulated person, ``SubjectProfile.random(i + 1, s)`` — ids from
1, while :func:`~musicgen.emotion.simulate.simulate_session` (the demo, the tests and the
evaluation) always simulates person 0, so no evaluated person or recording is ever trained on.
Every person has their own resting heart rate, skin conductance, breathing, temperature, response
gain and facial expressivity (the ranges in :mod:`~musicgen.emotion.simulate`). The session:

- with probability 0.4 starts with 20–40 s at rest (neutral at intensity 0), else in an emotion:
  the estimator must not depend on a resting start;
- then all 8 emotions in a random order, plus (with probability 0.5) 1–3 more random ones;
- each segment 20–45 s at a random intensity 0.6–1.4 (scaling the person's response);
- the cardiac channel is ECG (60 %), PPG (25 %) or a wearable's heart rate (15 %); EDA,
  respiration, temperature and face are always simulated (training removes modalities at random).

Each window is labelled with the emotion of the segment its end falls in; ``lag`` says how long
that segment had been going (training weighs the first seconds after a change down).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicgen.conditions import EMOTION_VA, EMOTIONS
from musicgen.emotion.features import FEATURES_VERSION, WindowConfig, features_for_signals
from musicgen.errors import UsageError

#: Bumped whenever the simulated session design changes (cached sessions carry it in their path).
SESSIONS_VERSION = 1
#: Cardiac channel of simulated training sessions, with its probability.
CARDIAC_MIX: tuple[tuple[str, float], ...] = (("ecg", 0.6), ("ppg", 0.25), ("hr", 0.15))


@dataclass
class SessionWindows:
    """Per-window features of whole sessions, concatenated; each session's windows are contiguous and in time order.

    Attributes:
        values: (W, F) float32 features, NaN where missing (the mask is ``isfinite(values)``).
        ends: (W,) window ends (s from the session's start).
        session: (W,) int64 session number.
        targets: (W, 8) float32 class distributions (one-hot for categorical labels).
        va: (W, 2) float32 valence/arousal targets in [-1, 1].
        labels: (W,) int64 class index (argmax of ``targets``).
        lag: (W,) float32 seconds since the window's labelled segment began (``inf`` where unknown).
        source: what the data are — carried into every figure measured on them.
    """

    values: np.ndarray
    ends: np.ndarray
    session: np.ndarray
    targets: np.ndarray
    va: np.ndarray
    labels: np.ndarray
    lag: np.ndarray
    source: str

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def session_slices(self) -> list[slice]:
        """One slice per session, in order."""
        if len(self) == 0:
            return []
        cut = np.flatnonzero(np.diff(self.session)) + 1
        edges = np.concatenate([[0], cut, [len(self)]])
        return [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]

    def save(self, path: str | Path) -> None:
        """Write as ``.npz`` (a cache; not a user-facing file), atomically."""
        import io

        buf = io.BytesIO()
        np.savez_compressed(
            buf,
            values=self.values,
            ends=self.ends,
            session=self.session,
            targets=self.targets,
            va=self.va,
            labels=self.labels,
            lag=self.lag,
            source=np.asarray(self.source),
        )
        tmp = f"{path}.tmp{os.getpid()}"
        with open(tmp, "wb") as fh:
            fh.write(buf.getvalue())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | Path) -> SessionWindows:
        """Read what :meth:`save` wrote."""
        with np.load(path, allow_pickle=False) as z:
            return cls(
                z["values"], z["ends"], z["session"], z["targets"], z["va"], z["labels"], z["lag"], str(z["source"])
            )

    @classmethod
    def concat(cls, parts: list[SessionWindows], source: str | None = None) -> SessionWindows:
        """Several datasets as one (session numbers renumbered so they stay distinct)."""
        parts = [p for p in parts if len(p)]
        if not parts:
            raise UsageError("no session windows to join")
        sessions, off = [], 0
        for p in parts:
            _, s = np.unique(p.session, return_inverse=True)
            sessions.append(s + off)
            off += int(s.max()) + 1
        return cls(
            np.concatenate([p.values for p in parts]),
            np.concatenate([p.ends for p in parts]),
            np.concatenate(sessions),
            np.concatenate([p.targets for p in parts]),
            np.concatenate([p.va for p in parts]),
            np.concatenate([p.labels for p in parts]),
            np.concatenate([p.lag for p in parts]),
            source or " + ".join(dict.fromkeys(p.source for p in parts)),
        )


def labelled_windows(
    signals,
    segments: list[tuple[float, float, str]],
    config: WindowConfig,
    session: int = 0,
) -> SessionWindows:
    """Features of every window of one recorded session whose segments are known (a simulation).

    Args:
        signals: channel → (times s, values) of the whole session.
        segments: ``(start s, end s, emotion)`` of each part, in order.
        config: window geometry.
        session: the session number to store.

    Returns:
        a :class:`SessionWindows` (windows without any usable modality are left out, as a stream
        leaves them out); each window is labelled with the segment its end falls in.
    """
    dur = segments[-1][1]
    ends = np.arange(config.length_s, dur + 1e-9, config.hop_s)
    values, mask = features_for_signals(signals, ends, config)
    keep = mask.any(axis=1)
    ends, values = ends[keep], values[keep]
    starts = np.array([a for a, _, _ in segments])
    seg = np.clip(np.searchsorted(starts, ends - 1e-9, side="right") - 1, 0, len(segments) - 1)
    labels = np.array([EMOTIONS.index(segments[k][2]) for k in seg], dtype=np.int64)
    return SessionWindows(
        values.astype(np.float32),
        ends,
        np.full(ends.size, session, dtype=np.int64),
        np.eye(len(EMOTIONS), dtype=np.float32)[labels],
        np.array([EMOTION_VA[EMOTIONS[k]] for k in labels], np.float32).reshape(-1, 2),
        labels,
        (ends - starts[seg]).astype(np.float32),
        "synthetic",
    )


def training_session_plan(index: int, seed: int):
    """The simulated person, cardiac channel and segments of training session ``index`` (see the module docstring).

    Returns:
        ``(SubjectProfile, cardiac, [(emotion, seconds, intensity), ...])``.
    """
    from musicgen.emotion.simulate import SubjectProfile

    rng = np.random.default_rng([seed, index, 31])
    subject = SubjectProfile.random(index + 1, seed)
    kinds = [k for k, _ in CARDIAC_MIX]
    probs = np.array([p for _, p in CARDIAC_MIX])
    cardiac = str(rng.choice(kinds, p=probs / probs.sum()))
    segments: list[tuple[str, float, float]] = []
    if rng.random() < 0.4:
        segments.append(("neutral", float(np.round(rng.uniform(20, 40))), 0.0))
    order = list(rng.permutation(len(EMOTIONS)))
    if rng.random() < 0.5:
        order += list(rng.integers(0, len(EMOTIONS), size=int(rng.integers(1, 4))))
    for k in order:
        segments.append((EMOTIONS[int(k)], float(np.round(rng.uniform(20, 45))), float(rng.uniform(0.6, 1.4))))
    return subject, cardiac, segments


def _simulate_one(args: tuple[int, int, WindowConfig, str | None]) -> SessionWindows:
    """Simulate training session ``index`` and compute its windows (cached per session when a folder is given)."""
    import warnings

    from musicgen.emotion.simulate import simulate_session

    index, seed, config, folder = args
    path = Path(folder) / f"{index:05d}.npz" if folder else None
    if path is not None and path.exists():
        try:
            return SessionWindows.load(path)
        except Exception:  # noqa: BLE001 - a broken cache entry is rebuilt
            pass
    subject, cardiac, segments = training_session_plan(index, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = simulate_session(segments, seed=seed * 100_000 + index, subject=subject, cardiac=cardiac)
        out = labelled_windows(rec.signals, rec.segments, config, session=index)
    if path is not None:
        try:
            out.save(path)
        except OSError:
            pass
    return out


def simulate_training_sessions(
    n_sessions: int,
    seed: int,
    config: WindowConfig = WindowConfig(),
    *,
    workers: int = 1,
    cache: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> SessionWindows:
    """SYNTHETIC training sessions 0 … ``n_sessions`` − 1 of ``seed`` (:func:`training_session_plan`), as windows.

    Args:
        n_sessions: how many simulated sessions (one person each).
        seed: random seed of people, plans and signals.
        config: window geometry.
        workers: processes simulating in parallel (results do not depend on it).
        cache: keep each simulated session under the user cache folder and reuse it.
        progress: called as ``progress(done, total)`` after each session.

    Raises:
        UsageError: ``n_sessions`` < 1.
    """
    if n_sessions < 1:
        raise UsageError(f"need at least one training session, got {n_sessions}")
    folder = None
    if cache:
        from musicgen.emotion.simulate import SIMULATOR_VERSION
        from musicgen.paths import cache_dir

        tag = (
            f"sessions-v{SESSIONS_VERSION}.{SIMULATOR_VERSION}.{FEATURES_VERSION}-s{seed}-L{config.length_s:g}-h{config.hop_s:g}"
            f"-r{config.rsp_length_s:g}"
        )
        folder = cache_dir() / "emotion" / tag
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            folder = None
    jobs = [(i, seed, config, str(folder) if folder else None) for i in range(n_sessions)]
    parts: list[SessionWindows] = []
    if workers > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            for k, part in enumerate(pool.map(_simulate_one, jobs)):
                parts.append(part)
                if progress:
                    progress(k + 1, n_sessions)
    else:
        for k, job in enumerate(jobs):
            parts.append(_simulate_one(job))
            if progress:
                progress(k + 1, n_sessions)
    out = SessionWindows.concat(parts)
    out.source = f"synthetic (NeuroKit2 simulation, {n_sessions} simulated sessions of one person each, seed {seed})"
    return out


__all__ = [
    "CARDIAC_MIX",
    "SESSIONS_VERSION",
    "SessionWindows",
    "labelled_windows",
    "simulate_training_sessions",
    "training_session_plan",
]
