"""Training the estimator on SYNTHETIC people (and DEAP, for those who have it); held-out reports.

The shipped weights are made by ``musicgen emotion train --out musicgen/weights/estimator.pt --force``
with the defaults of :class:`EstimatorTrainConfig`.
"""

from __future__ import annotations

import math
import time as _time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from musicgen.emotion.features import FEATURES, FEATURES_VERSION, MODALITY_GROUPS, FeatureDataset, WindowConfig
from musicgen.emotion.network import (
    FORMAT_VERSION,
    EmotionNetClass,
    Estimator,
    Normalisation,
    build_maps,
    forget_loaded_estimators,
    load_estimator,
)
from musicgen.errors import UsageError


@dataclass(frozen=True)
class EstimatorTrainConfig:
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
    config: EstimatorTrainConfig = EstimatorTrainConfig(),
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
    import torch

    if len(train) == 0:
        raise UsageError("no training samples")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _fit(train, config, window, progress)
    finally:
        torch.set_num_threads(threads)


def _fit(train: FeatureDataset, config: EstimatorTrainConfig, window: WindowConfig, progress) -> Estimator:
    import torch

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
class EstimatorTrainResult:
    """What :func:`train_estimator` made: the estimator, where it was saved, and its held-out reports."""

    estimator: Estimator
    paths: tuple[Path, Path] | None
    reports: list
    seconds: float


def train_estimator(
    config: EstimatorTrainConfig = EstimatorTrainConfig(),
    *,
    out: str | Path | None = None,
    force: bool = False,
    deap_dir: str | Path | None = None,
    cache: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
) -> EstimatorTrainResult:
    """Simulate data, train, evaluate on held-out simulated people (and DEAP subjects), save.

    Args:
        config: training settings.
        out: where to write the weights (and the ``.json`` beside them); None: do not save.
        force: overwrite existing files.
        deap_dir: a folder of DEAP ``sXX.dat`` files to add (75 % of subjects train, 25 % held out).
        cache: reuse simulated datasets from the user cache folder.
        progress: called as ``progress(stage, done, total)``.

    Returns:
        an :class:`EstimatorTrainResult`; its reports are labelled with the data they were measured on.

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
        forget_loaded_estimators()
    return EstimatorTrainResult(est, paths, reports, seconds)


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
    "EstimatorTrainConfig",
    "EstimatorTrainResult",
    "fit_estimator",
    "heldout_reports",
    "synthetic_split",
    "train_estimator",
]
