"""Stage 1 of training: the bar VQ-VAE.

Random single bars of the training split (key-normalised, octave-augmented, as many from minor tunes as
from major ones; :class:`musicgen.model.data.WindowSampler`), Adam with a warm-up then a cosine decay,
EMA codebook with dead-code restarts (:mod:`musicgen.model.vqvae`), loss = cross-entropy of the step
classes + commitment. At the end the encoder's outputs over the training bars fix the per-dimension
standardisation that defines *model space*, and the VQ-VAE is frozen.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch

from musicgen.model.vqvae import BarVQVAE, perplexity


def lr_factor(i: int, total: int, warmup: int) -> float:
    """Learning-rate multiplier at step ``i`` of ``total``: linear warm-up over ``warmup`` steps, then a
    cosine decay to 0."""
    return min(1.0, (i + 1) / max(1, warmup)) * 0.5 * (1 + math.cos(math.pi * min(i, total) / max(1, total)))


def vqvae_step(
    vq: BarVQVAE, opt: torch.optim.Optimizer, bars: np.ndarray, lr: float, generator: torch.Generator
) -> dict:
    """One training step on ``bars`` (B, steps, pitches) of cells at learning rate ``lr``; returns the
    log row's figures (ce, commit, batch_perplexity, lr)."""
    for g in opt.param_groups:
        g["lr"] = lr
    o = vq(torch.from_numpy(bars), update=True, generator=generator)
    opt.zero_grad(set_to_none=True)
    o["loss"].backward()
    opt.step()
    return {
        "ce": float(o["ce"].detach()),
        "commit": float(o["commit"].detach()),
        "batch_perplexity": perplexity(o["codes"].numpy(), vq.cfg.codebook_size),
        "lr": lr,
    }


def freeze(vq: BarVQVAE, train_bars: np.ndarray, batch: int = 4096) -> None:
    """Fix the model-space standardisation from the encoder's outputs on ``train_bars`` (all the training
    bars), put the VQ-VAE in eval mode and stop its gradients."""
    vq.eval()
    with torch.no_grad():
        vq.set_latent_stats(
            torch.cat(
                [vq.encode(torch.from_numpy(train_bars[s : s + batch])) for s in range(0, len(train_bars), batch)]
            )
        )
    for p in vq.parameters():
        p.requires_grad_(False)


def run_vqvae_stage(vq, opt, sampler, cfg, generator, done: int, log, progress=None, checkpoint=None) -> int:
    """Train from step ``done`` to ``cfg.vq_iterations``, logging each step and checkpointing every
    ``5 · cfg.checkpoint_every`` steps (``checkpoint(done)``); returns the steps done."""
    vq.train()
    while done < cfg.vq_iterations:
        t0 = time.perf_counter()
        lr = cfg.vq_lr * lr_factor(done, cfg.vq_iterations, cfg.vq_warmup)
        row = vqvae_step(vq, opt, sampler.sample_bars(cfg.vq_batch), lr, generator)
        done += 1
        row.update(iteration=done, seconds=time.perf_counter() - t0)
        log.write(row)
        if progress:
            progress("vq", done, cfg.vq_iterations, row)
        if checkpoint is not None and done % (cfg.checkpoint_every * 5) == 0:
            checkpoint(done)
    return done


__all__ = ["freeze", "lr_factor", "run_vqvae_stage", "vqvae_step"]
