"""Stage 2 of training: the GAN, with the frozen VQ-VAE.

Each iteration draws ``batch`` windows of ``prev_bars + n_bars`` consecutive bars of the training split
(key-normalised to C major / C minor, in their own octave, as many from minor tunes as from major ones)
with their tunes' emotion vectors; the last ``n_bars`` bars, encoded to *continuous* latents in model
space, are the real phrases. A ``cont_fraction`` of the batch is continuation: the generator also gets
the first ``prev_bars`` bars' latents, and D2M-GAN's two L1 terms pull it towards the true next phrase
(its continuous and its quantised latents); the rest starts freely.

* **Discriminator step**: ``d_loss(D(real, y), D(G(z, y), y))`` over D1, D2, D3.
* **Generator step** (:class:`musicgen.model.config.TrainConfig` gives the weights):

      L_G = β2·adversarial − β1·R_F + L1 + mode + paired density + density line + out-of-scale
            + melodic shape + clamped mode seeking

  The music terms read the *decoded soft grid*: the generator's latents quantised with the
  straight-through estimator (the bars that sampling produces) and decoded to onset / sounding
  probabilities (:func:`musicgen.model.vqvae.soft_cells`). R_F is the rules engine's soft score
  (:meth:`musicgen.rules.RuleSet.soft_score`); the others are in :mod:`musicgen.model.losses`.
  The same noise is also generated under *partner* conditions (:func:`musicgen.model.data.paired_conditions`:
  the valence, the arousal or both change sign), so that the condition is the only difference between two
  pieces, and the emotion terms see pieces of both signs whatever the batch's tunes were.
"""

from __future__ import annotations

import json
import time

import numpy as np
import torch

import musicgen.model.losses as L
from musicgen.metrics import pitch_class_entropy_grids
from musicgen.model.data import MODEL_SPEC, WindowSampler, paired_conditions
from musicgen.model.evaluation import control_probe, control_probe_inputs
from musicgen.model.vqvae import soft_cells


class GanTrainer:
    """Holds the GAN stage's optimisers, data and random state; :meth:`step` runs one iteration.

    Args:
        cfg: the :class:`~musicgen.model.config.TrainConfig`.
        vq / gen / dis: the frozen VQ-VAE, the generator and the discriminator.
        rules: the :class:`~musicgen.rules.RuleSet` of the reward.
        train_set / valid_set: :class:`~musicgen.model.data.BarDataset` splits (key-normalised).
    """

    def __init__(self, cfg, vq, gen, dis, rules, train_set, valid_set):
        self.cfg, self.vq, self.gen, self.dis, self.rules = cfg, vq, gen, dis, rules
        self.g_opt = torch.optim.Adam(gen.parameters(), lr=cfg.lr, betas=tuple(cfg.betas))
        self.d_opt = torch.optim.Adam(dis.parameters(), lr=cfg.d_lr, betas=tuple(cfg.betas))
        self.sampler = WindowSampler(train_set, seed=cfg.seed + 1, augment=False, balance_modes=True)
        self.noise_gen = torch.Generator().manual_seed(cfg.seed + 2)
        self.pair_rng = np.random.default_rng(cfg.seed + 3)
        self.line = L.density_line(train_set.bars, train_set.offsets, train_set.arousal)
        self.slope = max(self.line[1], 0.5)  # the corpus' onsets per bar per unit of arousal
        self.b1, self.b2 = float(rules.beta_rules), float(rules.beta_disc)
        self.n_cont = int(round(cfg.batch * cfg.cont_fraction))
        self.span = cfg.n_bars + (cfg.prev_bars if self.n_cont else 0)
        # validation: fixed valid-split conditions and noise, and the control probe's paired noise
        v_cells, v_cond, _ = WindowSampler(valid_set, seed=cfg.seed + 4, augment=False).sample(
            max(cfg.val_samples, 256), cfg.n_bars
        )
        self.val_ref_pce = float(np.nanmean(pitch_class_entropy_grids(v_cells, MODEL_SPEC.lowest_pitch)))
        self.v_cond = torch.from_numpy(v_cond[: cfg.val_samples])
        self.v_noise = gen.noise(cfg.val_samples, cfg.n_bars, torch.Generator().manual_seed(cfg.seed + 5))
        self.probe_noise, self.probe_cond = control_probe_inputs(gen, cfg.n_bars, cfg.seed + 6)

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict:
        """Optimisers and random state, for checkpoints."""
        return {
            "g_opt": self.g_opt.state_dict(),
            "d_opt": self.d_opt.state_dict(),
            "noise": self.noise_gen.get_state(),
            "sampler": json.dumps(self.sampler.rng.bit_generator.state),
            "pairs": json.dumps(self.pair_rng.bit_generator.state),
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict`."""
        self.g_opt.load_state_dict(state["g_opt"])
        self.d_opt.load_state_dict(state["d_opt"])
        self.noise_gen.set_state(state["noise"])
        self.sampler.rng.bit_generator.state = json.loads(state["sampler"])
        self.pair_rng.bit_generator.state = json.loads(state["pairs"])

    # ------------------------------------------------------------------ one iteration
    def _generate(self, noise, cond, prev):
        """The batch's latents: the first ``n_cont`` rows continue ``prev``, the rest start freely."""
        cfg, n = self.cfg, self.n_cont
        parts = []
        if n:
            parts.append(self.gen(cond[:n], cfg.n_bars, noise=(noise[0][:n], noise[1][:n]), prev=prev))
        if cfg.batch - n:
            parts.append(self.gen(cond[n:], cfg.n_bars, noise=(noise[0][n:], noise[1][n:])))
        return torch.cat(parts)

    def _decode_soft(self, latents):
        zq = self.vq.quantize(self.vq.denormalise(latents))[0]
        logits = self.vq.decode_logits(zq)
        return logits, soft_cells(logits)

    def step(self) -> dict:
        """One discriminator step and one generator step; returns the log row's figures (without
        ``iteration`` and the validation columns)."""
        cfg, vq, gen, dis = self.cfg, self.vq, self.gen, self.dis
        t0 = time.perf_counter()
        gen.train()
        dis.train()
        cells, cond_np, _ = self.sampler.sample(cfg.batch, self.span)
        cond = torch.from_numpy(cond_np)
        with torch.no_grad():
            lat = vq.normalise(vq.encode(torch.from_numpy(cells)))  # (B, span, D), model space
            real = lat[:, self.span - cfg.n_bars :]
            prev = lat[: self.n_cont, : self.span - cfg.n_bars] if self.n_cont else None
        noise = gen.noise(cfg.batch, cfg.n_bars, self.noise_gen)
        fake = self._generate(noise, cond, prev)

        d_real = dis(real, cond)
        d_fake = dis(fake.detach(), cond)
        ld = L.d_loss([o for o, _ in d_real], [o for o, _ in d_fake], cfg.loss)
        self.d_opt.zero_grad(set_to_none=True)
        ld.backward()
        self.d_opt.step()

        dis.requires_grad_(False)
        adv = L.g_adv_loss([o for o, _ in dis(fake, cond)], cfg.loss)
        cond2 = torch.from_numpy(paired_conditions(cond_np, self.pair_rng))
        fake_p = self._generate(noise, cond2, prev)  # the same noise under partner conditions
        logits, (onset, sounding) = self._decode_soft(torch.cat([fake, fake_p]))
        b = cfg.batch
        v, a = torch.cat([cond[:, 8], cond2[:, 8]]), torch.cat([cond[:, 9], cond2[:, 9]])
        lowest = MODEL_SPEC.lowest_pitch
        r_soft, _ = self.rules.soft_score(onset, sounding, MODEL_SPEC)
        npb = L.onsets_per_bar(onset)
        terms = {
            "mode": L.mode_loss(sounding, v, lowest).mean(),
            "density_pair": L.paired_density_loss(npb[:b], npb[b:], a[:b], a[b:], self.slope).mean(),
            "density_line": L.density_line_loss(npb, a, self.line).mean(),
            "scale": L.out_of_scale(sounding, 1.0 - L.major_weight(v), lowest).mean(),
            "leap": L.melodic_shape_loss(sounding, lowest).mean(),
        }
        l1 = torch.zeros(())
        if self.n_cont:
            n = self.n_cont
            target_q = vq.normalise(vq.quantize(vq.denormalise(real[:n]))[0])
            l1 = (fake[:n] - real[:n]).abs().mean() + (fake[:n] - target_q).abs().mean()
        lg = (
            self.b2 * adv
            + cfg.l1_weight * l1
            + cfg.mode_weight * terms["mode"]
            + cfg.density_weight * terms["density_pair"]
            + cfg.line_weight * terms["density_line"]
            + cfg.scale_weight * terms["scale"]
            + cfg.leap_weight * terms["leap"]
        )
        if cfg.rule_reward:
            lg = lg - self.b1 * r_soft.mean()
        ratio = torch.zeros(())
        if cfg.mode_seeking > 0:
            noise_b = gen.noise(cfg.batch, cfg.n_bars, self.noise_gen)
            ms, ratio = L.mode_seeking_loss(fake, self._generate(noise_b, cond, prev), noise, noise_b)
            lg = lg + cfg.mode_seeking * ms
        self.g_opt.zero_grad(set_to_none=True)
        lg.backward()
        self.g_opt.step()
        dis.requires_grad_(True)

        with torch.no_grad():
            hard = vq.hard_cells(logits[:b]).numpy()
            mc = L.mode_contrast(sounding, lowest)
            dv, da = torch.sign(v[:b] - v[b:]), torch.sign(a[:b] - a[b:])
            mc_gap = float((dv * (mc[:b] - mc[b:]))[dv != 0].mean()) if (dv != 0).any() else float("nan")
            npb_gap = float((da * (npb[:b] - npb[b:]))[da != 0].mean()) if (da != 0).any() else float("nan")
        row = {
            "d_loss": float(ld.detach()),
            "g_loss": float(lg.detach()),
            "g_adv": float(adv.detach()),
            "rule_soft": float(r_soft.detach()[:b].mean()),
            "rule_hard": float(self.rules.score_grids(hard, MODEL_SPEC).r_f.mean()),
            "l1": float(l1.detach()),
            **{k: float(t.detach()) for k, t in terms.items()},
            "mode_seeking_ratio": float(ratio.detach()),
            "mode_contrast_gap": mc_gap,
            "npb_gap": npb_gap,
            "d_real": float(np.mean([o.detach().mean().item() for o, _ in d_real])),
            "d_fake": float(np.mean([o.detach().mean().item() for o, _ in d_fake])),
            "pce_batch": float(np.nanmean(pitch_class_entropy_grids(hard, MODEL_SPEC.lowest_pitch))),
        }
        row["seconds"] = time.perf_counter() - t0
        return row

    def validate(self) -> dict:
        """Validation figures of the current generator on fixed noise: PCE of unreranked pieces under the
        valid split's conditions and its gap to the split's own PCE, their R_F, and the control probe
        (:func:`musicgen.model.evaluation.control_probe`)."""
        cfg, vq = self.cfg, self.vq
        with torch.no_grad():
            lat = self.gen.eval()(self.v_cond, cfg.n_bars, noise=self.v_noise)
            cells = vq.hard_cells(vq.decode_logits(vq.quantize(vq.denormalise(lat))[0])).numpy()
        pce = float(np.nanmean(pitch_class_entropy_grids(cells, MODEL_SPEC.lowest_pitch)))
        out = {
            "val_pce": pce,
            "val_pce_gap": pce - self.val_ref_pce,
            "val_rule": float(self.rules.score_grids(cells, MODEL_SPEC).r_f.mean()),
        }
        out.update(control_probe(self.gen, vq, self.probe_noise, self.probe_cond, cfg.n_bars))
        return out


__all__ = ["GanTrainer"]
