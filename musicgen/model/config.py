"""The training configuration of the D2M-GAN-SCA model: one dataclass whose defaults are the recipe of
the shipped model (``musicgen train`` with no options), config files, and the paper's variants.

``examples/train_default.json`` holds the same defaults (a test checks it); ``examples/paper.json`` the
paper's settings. Why each default is what it is: :class:`TrainConfig`'s attribute list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path

from musicgen.errors import InputError, UsageError
from musicgen.model.discriminator import DiscriminatorConfig
from musicgen.model.generator import GeneratorConfig
from musicgen.model.losses import LOSSES
from musicgen.model.vqvae import VQVAEConfig


@dataclass
class TrainConfig:
    """Everything a training run depends on (saved in every checkpoint).

    The defaults are the recipe of the shipped model. Stage 1 trains the bar VQ-VAE; stage 2 the GAN,
    with the generator's loss

        L_G = β2·adversarial − β1·R_F + l1_weight·L1 + mode_weight·MODE + density_weight·DENSITY
              + line_weight·LINE + scale_weight·SCALE + leap_weight·LEAP + mode_seeking·MS

    (terms in :mod:`musicgen.model.losses`; β1, β2 from the rule file).

    Attributes:
        seed: seed of every random choice (data order, augmentation, noise, initial weights).
        rules: rule set name or path of the reward R_F (:meth:`musicgen.rules.RuleSet.load`).
        vq_iterations / vq_batch / vq_lr / vq_warmup: VQ-VAE stage (steps, bars per step, peak lr, warm-up
            steps before the cosine decay).
        iterations / batch / lr / betas: GAN stage, the paper's 1400, 64, 2e-4, (0.5, 0.999).
        d_lr: the discriminator's learning rate: a quarter of the generator's. At the paper's 2e-4 for
            both, the discriminator won within a few hundred iterations and the generator wrote leapier,
            more chromatic music (a 600-iteration trial: PCE 3.09 against 2.87 bits).
        n_bars: bars per training phrase.
        prev_bars / cont_fraction: bars of the previous phrase given for continuation, and the share of
            each batch trained as continuation (with D2M-GAN's two L1 terms to the true next phrase).
        l1_weight: weight of those L1 terms.
        loss: adversarial loss, ``bce`` (the paper's cross-entropy, non-saturating), ``hinge`` or ``lsgan``.
        rule_reward: put −β1·R_F in the generator's loss (off: the "no rule reward" variant).
        mode_weight: the mode term (:func:`musicgen.model.losses.mode_loss`): valence → major / minor.
        density_weight: the paired density term (:func:`musicgen.model.losses.paired_density_loss`):
            from the same noise, higher arousal → more onsets per bar, by at least the corpus' own slope.
        line_weight: the density-level term (:func:`musicgen.model.losses.density_line_loss`).
        scale_weight: the out-of-scale term (:func:`musicgen.model.losses.out_of_scale`). Without it the
            pieces held 10 pitch classes each (corpus: 7.4) and a pitch-class entropy 0.2 bits above the
            corpus'.
        leap_weight: the melodic-leap and register-spread term (:func:`musicgen.model.losses.leap_excess`,
            :func:`musicgen.model.losses.pitch_spread`). Without it 18 % of melodic intervals were wider
            than a fifth (corpus: 4 %) and 9 % wider than an octave (corpus: 0.2 %).
        mode_seeking: weight of the clamped mode-seeking term (:func:`musicgen.model.losses.mode_seeking_loss`):
            two noise draws under one condition must give pieces as far apart as real phrases are. At 1, a
            1,400-iteration trial drifted back towards one tune after ~800 iterations (validation
            nearest-neighbour rhythm share 0.42-0.45); at 5 the shipped run stayed between 0.11 and 0.22 from
            iteration 800 on (train_log.csv, column val_nn_rhythm).
        val_every / val_samples: validation (PCE, rule score, control probe) every this many iterations,
            on this many pieces.
        checkpoint_every: iterations between checkpoints.
        vqvae / generator / discriminator: model sizes.
    """

    seed: int = 0
    rules: str = "violin"
    vq_iterations: int = 4000
    vq_batch: int = 256
    vq_lr: float = 2e-3
    vq_warmup: int = 100
    iterations: int = 1400
    batch: int = 64
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    d_lr: float = 5e-5
    n_bars: int = 16
    prev_bars: int = 4
    cont_fraction: float = 0.5
    l1_weight: float = 1.0
    loss: str = "bce"
    rule_reward: bool = True
    mode_weight: float = 1.0
    density_weight: float = 3.0
    line_weight: float = 1.0
    scale_weight: float = 10.0
    leap_weight: float = 2.0
    mode_seeking: float = 5.0
    val_every: int = 10
    val_samples: int = 32
    checkpoint_every: int = 100
    vqvae: VQVAEConfig = field(default_factory=VQVAEConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)

    def __post_init__(self) -> None:
        self.generator.latent_dim = self.vqvae.latent_dim

    def validate(self) -> None:
        """Check the values.

        Raises:
            UsageError: an unknown loss, or a count, weight or fraction out of range.
        """
        if self.loss not in LOSSES:
            raise UsageError(f"unknown loss {self.loss!r}; choose from {', '.join(LOSSES)}")
        for name in ("iterations", "vq_iterations"):
            if getattr(self, name) < 0:
                raise UsageError(f"{name} must be >= 0")
        for name in ("batch", "vq_batch", "n_bars", "val_every", "val_samples", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise UsageError(f"{name} must be >= 1")
        for name in (
            "l1_weight",
            "mode_weight",
            "density_weight",
            "line_weight",
            "scale_weight",
            "leap_weight",
            "mode_seeking",
            "lr",
            "d_lr",
            "vq_lr",
        ):
            if not getattr(self, name) >= 0:
                raise UsageError(f"{name} must be >= 0")
        if not 0.0 <= self.cont_fraction <= 1.0:
            raise UsageError("cont_fraction must lie in [0, 1]")
        if self.prev_bars < 1 and self.cont_fraction > 0:
            raise UsageError("prev_bars must be >= 1 when cont_fraction > 0")
        self.generator.latent_dim = self.vqvae.latent_dim

    def as_dict(self) -> dict:
        """Plain-data form (for checkpoints, summary.json and config files)."""
        d = {
            f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("vqvae", "generator", "discriminator")
        }
        d["betas"] = list(self.betas)
        d["vqvae"] = self.vqvae.as_dict()
        d["generator"] = self.generator.as_dict()
        d["discriminator"] = self.discriminator.as_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict, source: str = "<config>") -> TrainConfig:
        """Build from a plain dict (e.g. a TOML/JSON config file); unknown keys are errors.

        Raises:
            UsageError: an unknown key or a value of the wrong type, naming ``source``.
        """
        d = dict(d)
        sub = {}
        for name, kind in (
            ("vqvae", VQVAEConfig),
            ("generator", GeneratorConfig),
            ("discriminator", DiscriminatorConfig),
        ):
            part = d.pop(name, {}) or {}
            if not isinstance(part, dict):
                raise UsageError(f"{source}: [{name}] must be a table")
            known = {f.name for f in fields(kind)}
            bad = sorted(set(part) - known)
            if bad:
                raise UsageError(
                    f"{source}: unknown key(s) in [{name}]: {', '.join(bad)}; known: {', '.join(sorted(known))}"
                )
            part = dict(part)
            for tup in ("res_dilations", "kernels"):
                if tup in part:
                    part[tup] = tuple(part[tup])
            try:
                sub[name] = kind(**part)
            except (TypeError, ValueError) as exc:
                raise UsageError(f"{source}: bad [{name}] values ({exc})") from None
        known = {f.name for f in fields(cls)}
        bad = sorted(set(d) - known)
        if bad:
            raise UsageError(
                f"{source}: unknown key(s): {', '.join(bad)}; known: {', '.join(sorted(known - set(sub)))}"
            )
        if "betas" in d:
            d["betas"] = tuple(float(x) for x in d["betas"])
        try:
            cfg = cls(**d, **sub)
        except TypeError as exc:
            raise UsageError(f"{source}: bad values ({exc})") from None
        cfg.validate()
        return cfg


def load_config(path: str | Path) -> TrainConfig:
    """Read a training configuration file (TOML or JSON; keys as in :class:`TrainConfig`, the model
    sizes in ``[vqvae]``, ``[generator]`` and ``[discriminator]`` tables). Keys left out keep the
    recipe's defaults.

    Raises:
        InputError: the file is missing or not valid TOML/JSON.
        UsageError: unknown keys or bad values.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(p, "no configuration file here", reason="missing")
    text = p.read_text(encoding="utf-8")
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            from musicgen._toml import tomllib

            data = tomllib.loads(text)
    except Exception as exc:
        line = getattr(exc, "lineno", None)
        raise InputError(
            p, f"not valid {'JSON' if p.suffix.lower() == '.json' else 'TOML'} ({exc})", line=line, reason="corrupt"
        ) from None
    return TrainConfig.from_dict(data, str(p))


#: The paper's comparison variants, as the keyword arguments of :func:`apply_variant`.
VARIANTS = {
    "full": {},
    "no_sca": {"no_sca": True},
    "single_scale_disc": {"single_scale_disc": True},
    "no_rule_reward": {"no_rule_reward": True},
    "loss_lsgan": {"loss": "lsgan"},
}


def apply_variant(
    cfg: TrainConfig,
    no_sca: bool = False,
    single_scale_disc: bool = False,
    no_rule_reward: bool = False,
    loss: str | None = None,
) -> TrainConfig:
    """The paper's comparison variants as changes to ``cfg`` (in place; returns it).

    Raises:
        UsageError: an unknown ``loss``.
    """
    if no_sca:
        cfg.generator.use_sca = False
    if single_scale_disc:
        cfg.discriminator.multi_scale = False
    if no_rule_reward:
        cfg.rule_reward = False
    if loss is not None:
        cfg.loss = loss
    cfg.validate()
    return cfg


__all__ = ["VARIANTS", "TrainConfig", "apply_variant", "load_config"]
