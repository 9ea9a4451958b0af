"""Training of the D2M-GAN-SCA model: ``train()`` runs the bar VQ-VAE stage, then the GAN stage, and writes
the logs, checkpoints, summary and the final model of a run.

The stages are :mod:`musicgen.model.train_vqvae` and :mod:`musicgen.model.train_gan`; the configuration
(whose defaults are the recipe of the shipped model) is :class:`musicgen.model.config.TrainConfig`; the
logs :mod:`musicgen.model.training_log`. Data (:mod:`musicgen.model.data`): the 4/4, 2/2 and 2/4 tunes
of the fiddle corpus as 16-step bars (MIDI 48..107), every tune moved to C major / C minor.

A run folder holds ``checkpoint.pt`` (everything needed to resume exactly: models, optimisers, random
state), ``model.pt`` (what ``generate`` loads: VQ-VAE, generator, discriminator, configuration and the
figures of the run), ``vq_log.csv``, ``train_log.csv``, ``train_log.png`` and ``summary.json``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from musicgen.errors import UsageError
from musicgen.model.config import TrainConfig, apply_variant, load_config
from musicgen.model.training_log import LOG_COLUMNS, VQ_LOG_COLUMNS, CsvLog, plot_log, read_log
from musicgen.model.vqvae import VQVAEConfig

ProgressFn = Callable[[str, int, int, dict], None]


@dataclass
class TrainResult:
    """What :func:`train` produced.

    Attributes:
        model_path: the final model (``model.pt``).
        log_path / vq_log_path / plot_path / summary_path: the CSV logs, the PNG plot and summary.json.
        summary: the measured figures (also in summary.json).
        seconds_per_iteration: mean wall time of a GAN iteration in this run (incl. validation).
    """

    model_path: Path
    log_path: Path
    vq_log_path: Path
    plot_path: Path | None
    summary_path: Path
    summary: dict
    seconds_per_iteration: float


def _tonic_distribution(train_set) -> dict:
    """How often each tonic occurs among the training tunes, per mode (sampling draws from it)."""
    p = np.zeros((2, 12))
    np.add.at(p, (train_set.minor.astype(np.int64), train_set.tonic), 1.0)
    p = (p + 1e-9) / (p + 1e-9).sum(1, keepdims=True)
    return {"major": p[0].tolist(), "minor": p[1].tolist()}


def train(
    cfg: TrainConfig,
    out: str | Path,
    corpus=None,
    corpus_path: str | Path | None = None,
    resume: bool = False,
    force: bool = False,
    progress: ProgressFn | None = None,
    vqvae_from: str | Path | None = None,
) -> TrainResult:
    """Train the VQ-VAE, then the GAN, writing logs, checkpoints and the final model under ``out``.

    Args:
        cfg: the configuration (see :class:`TrainConfig`).
        out: output folder (created).
        corpus: an already loaded :class:`musicgen.corpus.Corpus` (else loaded from ``corpus_path``, else
            the default cache).
        resume: continue from ``out/checkpoint.pt`` (its configuration wins over ``cfg``, except the
            iteration counts, so a run can be extended).
        force: start over even though ``out`` holds a previous run.
        progress: called as ``progress(stage, done, total, figures)`` after each step.
        vqvae_from: a model or checkpoint file whose trained VQ-VAE to use (its sizes win over
            ``cfg.vqvae``); the VQ-VAE stage is then skipped (for ablations that share one VQ-VAE).

    Raises:
        UsageError: ``out`` holds a previous run and neither ``resume`` nor ``force`` is set; bad config.
        InputError: the corpus or the checkpoint cannot be read.
    """
    from musicgen.corpus import Corpus
    from musicgen.model.checkpoint import load_checkpoint, save_checkpoint
    from musicgen.model.data import WindowSampler, build_bar_dataset
    from musicgen.model.discriminator import MultiScaleDiscriminator
    from musicgen.model.evaluation import evaluate_vqvae
    from musicgen.model.generator import Generator
    from musicgen.model.train_gan import GanTrainer
    from musicgen.model.train_vqvae import freeze, run_vqvae_stage
    from musicgen.model.vqvae import BarVQVAE
    from musicgen.rules import RuleSet

    out = Path(out)
    ckpt_path, model_path = out / "checkpoint.pt", out / "model.pt"
    log_path, vq_log_path, png_path, summary_path = (
        out / "train_log.csv",
        out / "vq_log.csv",
        out / "train_log.png",
        out / "summary.json",
    )
    state = None
    if resume:
        if not ckpt_path.is_file():
            raise UsageError(f"nothing to resume in {out} (no checkpoint.pt)")
        state = load_checkpoint(ckpt_path)
        saved = TrainConfig.from_dict(state["config"]["train"], str(ckpt_path))
        saved.iterations, saved.vq_iterations = cfg.iterations, cfg.vq_iterations
        if state["train_state"]["stage"] == "gan":
            saved.vq_iterations = state["train_state"]["vq_done"]
        cfg = saved
    elif out.exists() and any((out / n).exists() for n in ("checkpoint.pt", "model.pt", "train_log.csv")) and not force:
        raise UsageError(f"{out} holds a previous training run; pass --resume to continue it or --force to start over")
    vq_src = None
    if vqvae_from is not None and state is None:
        vq_src = load_checkpoint(vqvae_from)
        cfg.vqvae = VQVAEConfig(**vq_src["config"]["vqvae"])
        cfg.vq_iterations = 0
    cfg.validate()
    out.mkdir(parents=True, exist_ok=True)

    rules = RuleSet.load(cfg.rules)
    corpus = corpus if corpus is not None else Corpus.load(corpus_path)
    train_set = build_bar_dataset(corpus, "train", key_normalise=True)
    splits = {}
    for split in ("valid", "test"):
        try:
            splits[split] = build_bar_dataset(corpus, split, key_normalise=True)
        except UsageError:  # a tiny corpus may have no tune of that split in the model's meters
            splits[split] = splits.get("valid", train_set)
    valid_set, test_set = splits["valid"], splits["test"]

    torch.manual_seed(cfg.seed)
    vq_gen = torch.Generator().manual_seed(cfg.seed)
    vq_sampler = WindowSampler(train_set, seed=cfg.seed, augment=True, balance_modes=True)
    vq = BarVQVAE(cfg.vqvae)
    gen = Generator(cfg.generator)
    dis = MultiScaleDiscriminator(cfg.discriminator)
    vq_opt = torch.optim.Adam(vq.parameters(), lr=cfg.vq_lr)
    stage, vq_done, gan_done, meta = "vq", 0, 0, {}
    if state is not None:
        ts = state["train_state"]
        vq.load_state_dict(state["vqvae"])
        vq_opt.load_state_dict(ts["vq_opt"])
        vq_gen.set_state(ts["vq_rng"])
        vq_sampler.rng.bit_generator.state = json.loads(ts["vq_sampler"])
        stage, vq_done, gan_done = ts["stage"], int(ts["vq_done"]), int(ts["gan_done"])
        meta = dict(state.get("meta", {}))
    elif vq_src is not None:
        vq.load_state_dict(vq_src["vqvae"])
        stage = "gan"
        meta["vqvae_from"] = str(vqvae_from)
        meta["vqvae_test"] = evaluate_vqvae(vq.eval(), test_set)
    trainer = None

    def config_dict() -> dict:
        return {
            "vqvae": cfg.vqvae.as_dict(),
            "generator": cfg.generator.as_dict(),
            "discriminator": cfg.discriminator.as_dict(),
            "train": cfg.as_dict(),
        }

    def checkpoint(vq_steps: int | None = None) -> None:
        ts = {
            "stage": stage,
            "vq_done": vq_done if vq_steps is None else vq_steps,
            "gan_done": gan_done,
            "vq_opt": vq_opt.state_dict(),
            "vq_rng": vq_gen.get_state(),
            "vq_sampler": json.dumps(vq_sampler.rng.bit_generator.state),
            "gan": trainer.state_dict() if trainer is not None else None,
        }
        gan = stage == "gan" and trainer is not None
        save_checkpoint(
            ckpt_path, config_dict(), vq, gen if gan else None, dis if gan else None, meta=meta, train_state=ts
        )

    # ------------------------------------------------------------------ stage 1: VQ-VAE
    if stage == "vq":
        log = CsvLog(vq_log_path, VQ_LOG_COLUMNS, read_log(vq_log_path, vq_done) if state is not None else [])
        try:
            vq_done = run_vqvae_stage(vq, vq_opt, vq_sampler, cfg, vq_gen, vq_done, log, progress, checkpoint)
        finally:
            log.close()
        freeze(vq, train_set.bars)
        meta["vqvae_test"] = evaluate_vqvae(vq, test_set)
        stage = "gan"
    freeze_only = vq_src is not None or state is not None
    if freeze_only:
        vq.eval()
        for p in vq.parameters():
            p.requires_grad_(False)

    # ------------------------------------------------------------------ stage 2: GAN
    trainer = GanTrainer(cfg, vq, gen, dis, rules, train_set, valid_set)
    if state is not None and state.get("generator") is not None:
        gen.load_state_dict(state["generator"])
        dis.load_state_dict(state["discriminator"])
        if state["train_state"].get("gan") is not None:
            trainer.load_state_dict(state["train_state"]["gan"])
    checkpoint()
    meta.update(
        {
            "key_normalised": True,
            "tonic_distribution": _tonic_distribution(train_set),
            "density_line": list(trainer.line),
            "val_ref_pce": trainer.val_ref_pce,
            "rules": rules.name,
            "beta_rules": rules.beta_rules,
            "beta_disc": rules.beta_disc,
            "corpus_tunes": {"train": train_set.n_tunes, "valid": valid_set.n_tunes, "test": test_set.n_tunes},
            "quantisation_train": train_set.quantisation,
        }
    )
    log = CsvLog(log_path, LOG_COLUMNS, read_log(log_path, gan_done) if state is not None else [])
    times: list[float] = []
    last_val = {c: float("nan") for c in LOG_COLUMNS if c.startswith("val_")}
    try:
        while gan_done < cfg.iterations:
            row = trainer.step()
            gan_done += 1
            if gan_done % cfg.val_every == 0 or gan_done == cfg.iterations:
                t0 = time.perf_counter()
                last_val = trainer.validate()
                row["seconds"] += time.perf_counter() - t0
            times.append(row["seconds"])
            row.update(iteration=gan_done, **last_val)
            log.write(row)
            if progress:
                progress("gan", gan_done, cfg.iterations, row)
            if gan_done % cfg.checkpoint_every == 0 and gan_done < cfg.iterations:
                checkpoint()
    finally:
        log.close()
    checkpoint()

    # ------------------------------------------------------------------ final model + summary
    gen.eval()
    dis.eval()
    dl = np.asarray([float(r["d_loss"]) for r in read_log(log_path, gan_done)])
    summary = {
        "config": cfg.as_dict(),
        "vqvae_test": meta.get("vqvae_test"),
        "val_ref_pce": trainer.val_ref_pce,
        "gan_iterations": gan_done,
        "seconds_per_iteration_this_run": float(np.mean(times)) if times else None,
        "d_loss_std_last_200": float(dl[-200:].std()) if dl.size else None,
        "final_validation": last_val,
        "quantisation_train": train_set.quantisation,
        "rules": rules.name,
    }
    meta["summary"] = {k: v for k, v in summary.items() if k != "config"}
    save_checkpoint(model_path, config_dict(), vq, gen, dis, meta=meta)
    from musicgen._files import atomic_write_text

    atomic_write_text(summary_path, json.dumps(summary, indent=2, default=float), force=True)
    plot = plot_log(log_path, png_path)
    return TrainResult(
        model_path, log_path, vq_log_path, plot, summary_path, summary, float(np.mean(times)) if times else 0.0
    )


__all__ = ["TrainConfig", "TrainResult", "apply_variant", "load_config", "train"]
