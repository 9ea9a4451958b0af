"""Training the estimator on SYNTHETIC sessions (and DEAP, for those who have it), the way it is used.

Every training window is encoded exactly as :class:`~musicgen.emotion.streaming.EstimatorSession`
encodes it live: face probabilities as log-ratios, compared with the running reference of its own
session so far (:func:`~musicgen.emotion.streaming.session_references`), stacked with the ``T``
windows before it. Sessions start in any state (see :mod:`~musicgen.emotion.sessions`), so the
model learns to read a person without a resting start; short views of the sessions (2–3 segments)
give the first minutes of a session, where the reference is empty or young, as much weight as the
settled rest, so that a 90-s session like the README demo is read as well as a long one. Per sample, whole modality groups are
removed at random (robustness to missing sensors), and windows in the first seconds after a change
of emotion count less (no estimator can know at once).

The shipped weights are ``musicgen emotion train --out musicgen/weights/estimator.pt --force``:
the defaults of :class:`EstimatorTrainConfig` are their recipe.
"""

from __future__ import annotations

import math
import time as _time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from musicgen.conditions import EMOTIONS
from musicgen.emotion.features import FEATURES, MODALITY_GROUPS, WindowConfig
from musicgen.emotion.network import (
    MAP_CHANNELS,
    EmotionNetClass,
    Estimator,
    Normalisation,
    ReferenceConfig,
    encode_features,
    encode_rows,
    forget_loaded_estimators,
)
from musicgen.emotion.sessions import SessionWindows, simulate_training_sessions
from musicgen.emotion.streaming import session_references
from musicgen.errors import UsageError


@dataclass(frozen=True)
class EstimatorTrainConfig:
    """Training settings; the defaults are the recipe of the shipped estimator.

    Attributes:
        seed: seeds simulation, initialisation and batching.
        sessions: simulated training sessions (one simulated person each).
        epochs, batch_size, lr, weight_decay: optimisation (Adam, cosine decay).
        va_weight: weight of the valence/arousal MSE next to the class cross-entropy.
        lag_ramp_s: a window's weight grows from 0.05 to 1 over this many seconds after its
            segment began (``(lag − 1 s) / lag_ramp_s``, clipped).
        drop_prob: per-sample probability of removing each modality group (robustness to missing sensors).
        rest_keep: share of sessions starting with a neutral segment that keep it (the others start
            streaming at their second segment). 1 (the recipe): every resting start the simulation
            plans (40 % of sessions) is kept — a session in use often starts at rest, and a model that
            has seldom seen a session begin in neutral reads a quiet first half-minute as sadness or
            contempt (the README demo did, at 0.25); sessions starting in other states remain the majority.
        late_starts: extra copies of each session that start streaming at a random later segment
            (a person already in some state when the session begins; the reference starts afresh).
        short_views: extra copies of each session that are short sessions: they start at a random
            segment boundary (the first included) and stop after ``short_segments`` (min, max)
            segments. A causal model never sees the rest of a session, so a short view adds nothing
            new except weight: the first minutes of a session (empty or young reference), where a
            90-s session like the README demo spends all its time, count as much as the settled rest.
        face_bias_sd: per session, every face expression's probabilities are multiplied by
            ``exp(N(0, face_bias_sd))`` (then renormalised): people whose resting face an analyser
            reads as, say, contemptuous, beyond the simulator's own spread of such biases.
        reference_delay_s: see :class:`~musicgen.emotion.network.ReferenceConfig`.
        n_windows: T, windows per map. channels / hidden: model size.
    """

    seed: int = 0
    sessions: int = 400
    epochs: int = 14
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 1e-4
    va_weight: float = 0.5
    lag_ramp_s: float = 4.0
    drop_prob: tuple[tuple[str, float], ...] = (
        ("cardiac", 0.2),
        ("eda", 0.2),
        ("rsp", 0.3),
        ("temp", 0.4),
        ("face", 0.35),
    )
    rest_keep: float = 1.0
    late_starts: int = 1
    short_views: int = 6
    short_segments: tuple[int, int] = (2, 3)
    face_bias_sd: float = 0.5
    reference_delay_s: float = 20.0
    n_windows: int = 12
    channels: int = 16
    hidden: int = 64


@dataclass
class EncodedSessions:
    """Training windows encoded as map rows, with what is needed to stack each one's history.

    Attributes:
        rows: (W, channels, F) float32 map rows (:func:`~musicgen.emotion.network.encode_rows`).
        first: (W,) index of the first row of each window's session (histories stop there).
        data: the windows (labels, targets, lags).
        norm: the statistics the rows were encoded with.
    """

    rows: np.ndarray
    first: np.ndarray
    data: SessionWindows
    norm: Normalisation

    def maps(self, index: np.ndarray, n_windows: int) -> np.ndarray:
        """Maps (len(index), channels, T, F) of the windows at ``index`` (earliest row repeated at a session's start)."""
        idx = np.asarray(index)[:, None] + np.arange(-n_windows + 1, 1)[None, :]
        idx = np.maximum(idx, self.first[np.asarray(index)][:, None])
        return np.ascontiguousarray(self.rows[idx].transpose(0, 2, 1, 3))


def encode_sessions(
    data: SessionWindows, reference: ReferenceConfig, hop_s: float, norm: Normalisation | None = None
) -> EncodedSessions:
    """Run every session through the live reference and encode its windows (fitting ``norm`` when None).

    Raises:
        UsageError: no windows.
    """
    if len(data) == 0:
        raise UsageError("no training windows")
    enc = encode_features(data.values)
    mask = np.isfinite(enc)
    med = np.full(enc.shape, np.nan)
    spread = np.full(enc.shape, np.nan)
    mat = np.zeros(len(data))
    first = np.zeros(len(data), dtype=np.int64)
    for sl in data.session_slices():
        med[sl], spread[sl], mat[sl] = session_references(data.ends[sl], enc[sl], mask[sl], reference, hop_s)
        first[sl] = sl.start
    norm = norm or Normalisation.fit(enc, med)
    return EncodedSessions(encode_rows(enc, mask, med, spread, mat, norm), first, data, norm)


def session_views(
    data: SessionWindows,
    rest_keep: float,
    late_starts: int,
    rng: np.random.Generator,
    short_views: int = 0,
    short_segments: tuple[int, int] = (2, 4),
    offset_s: float = 0.0,
) -> SessionWindows:
    """The sessions as streams that start and stop at different points (see :class:`EstimatorTrainConfig`).

    A segment boundary is where ``lag`` falls. Each session keeps its neutral first segment with
    probability ``rest_keep`` (else it starts at its second segment), gains ``late_starts`` copies
    starting at a random later boundary, and ``short_views`` copies that start at a random boundary
    and stop after ``short_segments`` = (min, max) segments (fewer where the session ends first).
    Every copy is a new session (its own reference).

    A copy that starts at a later boundary skips its first windows up to the one ending ``offset_s``
    into the segment (give the window length): a stream's first window lies wholly inside the session,
    it does not hold the previous segment's signal.
    """
    parts = []
    for sl in data.session_slices():
        lag = data.lag[sl]
        starts = np.concatenate([[0], np.flatnonzero(np.diff(lag) < 0) + 1])
        first = 0
        if starts.size > 1 and data.labels[sl][0] == EMOTIONS.index("neutral") and rng.random() >= rest_keep:
            first = int(starts[1])
        views = [(first, sl.stop - sl.start)] + [
            (int(rng.choice(starts[1:])), sl.stop - sl.start) for _ in range(late_starts if starts.size > 1 else 0)
        ]
        for _ in range(short_views):
            k = int(rng.integers(0, starts.size))
            m = int(rng.integers(short_segments[0], short_segments[1] + 1))
            stop = int(starts[k + m]) if k + m < starts.size else sl.stop - sl.start
            views.append((int(starts[k]), stop))
        for v, stop in views:
            if v > 0 and offset_s > 0:  # skip to the first window wholly inside the view's first segment
                seg = lag[v:stop]
                cut = np.flatnonzero(np.diff(seg) < 0)
                inside = (seg[: int(cut[0]) + 1] if cut.size else seg) >= offset_s - 1e-6
                if inside.any():
                    v += int(np.argmax(inside))
            idx = np.arange(sl.start + v, sl.start + stop)
            if idx.size == 0:
                continue
            parts.append(
                SessionWindows(
                    data.values[idx],
                    data.ends[idx],
                    np.full(idx.size, len(parts), dtype=np.int64),
                    data.targets[idx],
                    data.va[idx],
                    data.labels[idx],
                    data.lag[idx],
                    data.source,
                )
            )
    return SessionWindows.concat(parts, data.source)


def with_face_bias(data: SessionWindows, sd: float, rng: np.random.Generator) -> SessionWindows:
    """A copy whose face probabilities carry a random per-session bias (``p · exp(N(0, sd))``, renormalised)."""
    if sd <= 0:
        return data
    face = list(MODALITY_GROUPS["face"])
    values = data.values.copy()
    for sl in data.session_slices():
        p = values[sl][:, face].astype(np.float64) * np.exp(rng.normal(0.0, sd, size=len(face)))
        with np.errstate(invalid="ignore"):
            values[sl, face[0] : face[-1] + 1] = (p / np.nansum(p, axis=1, keepdims=True)).astype(np.float32)
    return SessionWindows(values, data.ends, data.session, data.targets, data.va, data.labels, data.lag, data.source)


def _drop_modalities(maps: np.ndarray, rng: np.random.Generator, drop_prob: dict[str, float]) -> np.ndarray:
    """Zero whole modality groups at random per map (all channels, all windows), never all groups a map has."""
    groups = list(MODALITY_GROUPS)
    mask_ch = MAP_CHANNELS.index("mask")
    present = np.stack([maps[:, mask_ch][:, :, list(MODALITY_GROUPS[g])].any(axis=(1, 2)) for g in groups], axis=1)
    drop = (rng.random(present.shape) < np.array([drop_prob.get(g, 0.0) for g in groups])) & present
    for i in np.flatnonzero(present.any(axis=1) & ~(present & ~drop).any(axis=1)):
        drop[i, rng.choice(np.flatnonzero(present[i]))] = False
    for k, g in enumerate(groups):
        rows = np.flatnonzero(drop[:, k])
        if rows.size:
            maps[np.ix_(rows, np.arange(maps.shape[1]), np.arange(maps.shape[2]), list(MODALITY_GROUPS[g]))] = 0.0
    return maps


def fit_estimator(
    train: SessionWindows,
    config: EstimatorTrainConfig = EstimatorTrainConfig(),
    window: WindowConfig = WindowConfig(),
    *,
    progress: Callable[[int, int], None] | None = None,
) -> Estimator:
    """Train an ``EmotionNet`` on whole sessions (soft-target cross-entropy + ``va_weight`` × MSE).

    Runs on one CPU thread (a model this small gains nothing from more, and loses much when the
    cores are shared), which also makes it deterministic for a given ``config.seed``.

    Raises:
        UsageError: an empty dataset.
    """
    import torch

    if len(train) == 0:
        raise UsageError("no training windows")
    reference = ReferenceConfig(delay_s=config.reference_delay_s)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rng = np.random.default_rng([config.seed, 5])
        views = with_face_bias(
            session_views(
                train,
                config.rest_keep,
                config.late_starts,
                rng,
                config.short_views,
                config.short_segments,
                window.length_s,
            ),
            config.face_bias_sd,
            rng,
        )
        return _fit(encode_sessions(views, reference, window.hop_s), config, window, reference, progress)
    finally:
        torch.set_num_threads(threads)


def _fit(
    enc: EncodedSessions, config: EstimatorTrainConfig, window: WindowConfig, reference: ReferenceConfig, progress
) -> Estimator:
    import torch

    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    data = enc.data
    arch = {
        "n_features": len(FEATURES),
        "n_windows": config.n_windows,
        "in_channels": len(MAP_CHANNELS),
        "channels": config.channels,
        "hidden": config.hidden,
    }
    model = EmotionNetClass()(**arch)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    n = len(data)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.epochs * int(math.ceil(n / config.batch_size)))
    targets = torch.from_numpy(data.targets.astype(np.float32))
    va_t = torch.from_numpy(data.va.astype(np.float32))
    lag = np.where(np.isfinite(data.lag), data.lag, 1e9)
    weight = torch.from_numpy(np.clip((lag - 1.0) / max(config.lag_ramp_s, 1e-6), 0.05, 1.0).astype(np.float32))
    drop_prob = dict(config.drop_prob)
    model.train()
    for epoch in range(config.epochs):
        order = rng.permutation(n)
        for a in range(0, n, config.batch_size):
            idx = order[a : a + config.batch_size]
            maps = torch.from_numpy(_drop_modalities(enc.maps(idx, config.n_windows), rng, drop_prob))
            logits, va = model(maps)
            w = weight[idx]
            ce = -(targets[idx] * torch.log_softmax(logits, dim=1)).sum(1)
            loss = (w * ce).sum() / w.sum() + config.va_weight * ((va - va_t[idx]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        if progress:
            progress(epoch + 1, config.epochs)
    model.eval()
    meta = {"arch": arch, "parameters": int(sum(p.numel() for p in model.parameters())), "train_config": asdict(config)}
    meta["train_config"]["drop_prob"] = dict(config.drop_prob)
    return Estimator(model, enc.norm, window, config.n_windows, reference, meta)


@dataclass
class EstimatorTrainResult:
    """What :func:`train_estimator` made: the estimator, where it was saved, its evaluation on unseen simulated people.

    Attributes:
        estimator: the trained estimator.
        paths: (weights, JSON) where it was saved, or None.
        evaluation: a :class:`~musicgen.emotion.evaluation.SessionEvaluation` (None if not run).
        seconds: wall time of the whole run.
    """

    estimator: Estimator
    paths: tuple[Path, Path] | None
    evaluation: object
    seconds: float


def train_estimator(
    config: EstimatorTrainConfig = EstimatorTrainConfig(),
    *,
    out: str | Path | None = None,
    force: bool = False,
    deap_dir: str | Path | None = None,
    cache: bool = True,
    workers: int = 1,
    eval_seeds: int = 20,
    progress: Callable[[str, int, int], None] | None = None,
) -> EstimatorTrainResult:
    """Simulate sessions, train, evaluate on unseen simulated people, save.

    Args:
        config: training settings (the defaults are the shipped recipe).
        out: where to write the weights (and the ``.json`` beside them); None: do not save.
        force: overwrite existing files.
        deap_dir: a folder of DEAP ``sXX.dat`` files to train on as well (each participant a session).
        cache: reuse simulated sessions from the user cache folder.
        workers: processes simulating sessions in parallel (the result does not depend on it).
        eval_seeds: unseen evaluation sessions to measure (0: none); their figures go into the metadata.
        progress: called as ``progress(stage, done, total)``.

    Raises:
        OutputExistsError / UsageError: ``out`` exists without ``force``, or cannot be written.
        InputError: unreadable DEAP files.
    """
    from musicgen._files import check_writable
    from musicgen.emotion.evaluation import DEFAULT_FIRST_SEED, evaluate_unseen_sessions

    t_start = _time.perf_counter()
    if out is not None:
        check_writable(Path(out), force)
        check_writable(Path(out).with_suffix(".json"), force)
    window = WindowConfig()

    def stage(name):
        return (lambda d, t: progress(name, d, t)) if progress else None

    train = simulate_training_sessions(
        config.sessions,
        config.seed,
        window,
        workers=workers,
        cache=cache,
        progress=stage("simulating training sessions"),
    )
    if deap_dir is not None:
        from musicgen.emotion.deap import deap_sessions

        train = SessionWindows.concat([train, deap_sessions(deap_dir, config=window, progress=stage("reading DEAP"))])
    est = fit_estimator(train, config, window, progress=stage("training"))
    est.meta.update(
        {
            "trained_on": train.source,
            "synthetic": deap_dir is None,
            "train_sessions": config.sessions,
            "train_windows": len(train),
        }
    )
    evaluation = None
    if eval_seeds > 0:
        seeds = list(range(DEFAULT_FIRST_SEED, DEFAULT_FIRST_SEED + eval_seeds))
        evaluation = evaluate_unseen_sessions(
            est, seeds, cache=cache, progress=stage("evaluating on unseen simulated people")
        )
        est.meta["evaluation_at_training"] = evaluation.summary()
    seconds = _time.perf_counter() - t_start
    est.meta["train_seconds"] = round(seconds, 1)
    paths = est.save(out, force=force) if out is not None else None
    if out is not None:
        forget_loaded_estimators()
    return EstimatorTrainResult(est, paths, evaluation, seconds)


__all__ = [
    "EncodedSessions",
    "EstimatorTrainConfig",
    "EstimatorTrainResult",
    "encode_sessions",
    "fit_estimator",
    "session_views",
    "with_face_bias",
    "train_estimator",
]
