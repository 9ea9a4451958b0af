"""The D2M-GAN-SCA generator: (noise, emotion, optional previous phrase) -> continuous bar latents.

D2M-GAN's generator is a conv encoder that maps its conditioning sequence to a sequence of *continuous*
VQ embeddings; quantisation to the codebook happens only to decode (DESIGN.md §2). Here the conditioning
is the emotion vector (8 class probabilities + valence + arousal, see
:meth:`musicgen.emotion.labels.EmotionCondition.vector`) and, for phrase-by-phrase continuation, the
previous phrase's bar latents; the sequence to generate from is noise.

Shapes, for ``n_bars`` bars (``L0 = ceil(n_bars / 4)`` positions of four bars each)
------------------------------------------------------------------------------------
* emotion (B, 10) → MLP 10 → 64 → ``cond_emb`` (ReLU);
* previous phrase (B, P, D) (optional) → conv k3 (D → ``prev_channels``) · ReLU · conv k3 · ReLU →
  [mean over bars ; last bar] → linear → ``prev_emb``; absent → zeros and a 0 flag;
* input per position: local noise (``z_local``) ⊕ broadcast [global noise (``z_global``), emotion
  embedding, previous-phrase embedding, flag] → conv k3 → ``C`` channels · ReLU · residual stack · SCA;
* stage 1: transposed conv k4 stride 2 (``L0`` → ``2·L0``, ``C`` → ``C/2``) · ReLU · residual stack · SCA;
* stage 2: transposed conv k4 stride 2 (→ ``4·L0`` bars, ``C/2`` → ``C/4``) · ReLU · residual stack · SCA;
* output conv k3 (``C/4`` → D), cropped to ``n_bars``: continuous bar latents (B, n_bars, D).

Noise posterior (training only). ``Generator.posterior`` is a small conv encoder that maps a real phrase's
latents (B, n_bars, D) to a Gaussian over the generator's noise (global and per-position means and
log-variances). Training uses it as a conditional VAE-GAN does (Larsen et al. 2016; BicycleGAN, Zhu et al.
2017): the generator reconstructs real phrases from their encoded noise — which makes D2M-GAN's two L1
latent terms apply to every sample, not only to continuations — a KL term keeps the encoded noise close to
N(0, 1), and the adversarial and rule terms are applied to pieces generated from N(0, 1) noise, which is
what sampling uses. The generator itself is unchanged: noise + emotion (+ previous phrase) in, latents out.

Residual stacks are MelGAN's: ``x + conv1(ReLU(conv3_dilated(ReLU(x))))`` with dilations 1 and 3. SCA is
:class:`musicgen.model.attention.SpatialChannelAttention` on (B, C, L) (CBAM, DESIGN.md §2); the
``use_sca=False`` variant replaces it by the identity. Activations are ReLU (the paper's choice).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from musicgen.model.attention import SpatialChannelAttention

#: Bars per input position (two stride-2 upsampling stages).
BARS_PER_POSITION = 4


@dataclass
class GeneratorConfig:
    """Sizes of the generator (see the module docstring).

    Attributes:
        latent_dim: D, the bar latent size (the VQ-VAE's ``G·d``).
        cond_dim: size of the emotion vector (10).
        cond_emb: emotion embedding size.
        z_global / z_local: noise sizes (one global vector per piece; one per 4-bar position).
        channels: C, the width of the first stage.
        res_dilations: dilations of the residual blocks in each stage.
        prev_channels / prev_emb: previous-phrase encoder width and embedding size.
        use_sca: put the spatial-channel attention block after every stage.
        sca_reduction / sca_kernel: the block's MLP ratio ``r`` and spatial kernel ``k``.
        posterior / posterior_channels: build the training-time noise encoder (:class:`NoisePosterior`)
            and its width.
    """

    latent_dim: int = 64
    cond_dim: int = 10
    cond_emb: int = 32
    z_global: int = 32
    z_local: int = 16
    channels: int = 128
    res_dilations: tuple[int, ...] = (1, 3)
    prev_channels: int = 64
    prev_emb: int = 32
    use_sca: bool = True
    sca_reduction: int = 8
    sca_kernel: int = 7
    posterior: bool = True
    posterior_channels: int = 64

    def as_dict(self) -> dict:
        """Plain dict (for checkpoints)."""
        d = asdict(self)
        d["res_dilations"] = list(self.res_dilations)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "GeneratorConfig":
        """Inverse of :meth:`as_dict`."""
        d = dict(d)
        d["res_dilations"] = tuple(d.get("res_dilations", (1, 3)))
        d.setdefault("posterior", False)  # files written before the posterior existed have none
        return cls(**d)


class ResBlock(nn.Module):
    """MelGAN's residual unit: ``x + conv1(ReLU(conv3_d(ReLU(x))))``, same shape."""

    def __init__(self, channels: int, dilation: int):
        super().__init__()
        self.block = nn.Sequential(
            nn.ReLU(),
            nn.Conv1d(channels, channels, 3, dilation=dilation, padding=dilation),
            nn.ReLU(),
            nn.Conv1d(channels, channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, L) -> (B, C, L)."""
        return x + self.block(x)


class Stage(nn.Module):
    """One generator stage: (optional upsampling) · ReLU · residual stack · SCA (or identity)."""

    def __init__(self, c_in: int, c_out: int, upsample: bool, cfg: GeneratorConfig):
        super().__init__()
        if upsample:
            self.head = nn.ConvTranspose1d(c_in, c_out, 4, stride=2, padding=1)
        else:
            self.head = nn.Conv1d(c_in, c_out, 3, padding=1)
        self.res = nn.Sequential(*[ResBlock(c_out, d) for d in cfg.res_dilations])
        self.sca = SpatialChannelAttention(c_out, reduction=cfg.sca_reduction, kernel_size=cfg.sca_kernel, spatial_dims=1) if cfg.use_sca else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, c_in, L) -> (B, c_out, L or 2L)."""
        return self.sca(self.res(torch.relu(self.head(x))))


class NoisePosterior(nn.Module):
    """q(z | real phrase): real bar latents (B, n_bars, D) -> Gaussian parameters of the generator's noise.

    Two stride-2 convs bring the bars to the generator's input positions (``ceil(n_bars / 4)``); the
    global noise comes from the mean over positions. Returns ((mu_g, logvar_g) each (B, z_global),
    (mu_l, logvar_l) each (B, z_local, L0)).
    """

    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        c = cfg.posterior_channels
        self.cfg = cfg
        self.body = nn.Sequential(
            nn.Conv1d(cfg.latent_dim, c, 3, padding=1), nn.ReLU(),
            nn.Conv1d(c, c, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv1d(c, c, 4, stride=2, padding=1), nn.ReLU(),
        )
        self.local = nn.Conv1d(c, 2 * cfg.z_local, 3, padding=1)
        self.glob = nn.Linear(c, 2 * cfg.z_global)

    def forward(self, latents: torch.Tensor):
        """See the class docstring."""
        b, t, _ = latents.shape
        l0 = -(-t // BARS_PER_POSITION)
        x = latents.transpose(1, 2)
        if l0 * BARS_PER_POSITION != t:
            x = nn.functional.pad(x, (0, l0 * BARS_PER_POSITION - t))
        h = self.body(x)[:, :, :l0]
        mu_l, lv_l = self.local(h).chunk(2, dim=1)
        mu_g, lv_g = self.glob(h.mean(2)).chunk(2, dim=1)
        return (mu_g, lv_g.clamp(-8, 4)), (mu_l, lv_l.clamp(-8, 4))

    @staticmethod
    def sample(params, generator: torch.Generator | None = None):
        """Reparameterised draw ``mu + exp(logvar / 2) · eps`` of (global, local) noise, and the KL to
        N(0, 1) averaged over noise dimensions (B,)."""
        (mg, lg), (ml, ll) = params
        zg = mg + torch.exp(0.5 * lg) * torch.randn(mg.shape, generator=generator)
        zl = ml + torch.exp(0.5 * ll) * torch.randn(ml.shape, generator=generator)
        kl_g = 0.5 * (mg.pow(2) + lg.exp() - 1 - lg)
        kl_l = 0.5 * (ml.pow(2) + ll.exp() - 1 - ll)
        kl = (kl_g.sum(1) + kl_l.sum(dim=(1, 2))) / (kl_g.shape[1] + kl_l.shape[1] * kl_l.shape[2])
        return (zg, zl), kl


class Generator(nn.Module):
    """Noise + emotion (+ previous phrase) -> continuous bar latents (see the module docstring)."""

    def __init__(self, cfg: GeneratorConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or GeneratorConfig()
        c = cfg.channels
        if c % 4:
            raise ValueError(f"generator channels must be a multiple of 4, got {c}")
        self.cond = nn.Sequential(nn.Linear(cfg.cond_dim, 64), nn.ReLU(), nn.Linear(64, cfg.cond_emb), nn.ReLU())
        self.prev_conv = nn.Sequential(
            nn.Conv1d(cfg.latent_dim, cfg.prev_channels, 3, padding=1), nn.ReLU(),
            nn.Conv1d(cfg.prev_channels, cfg.prev_channels, 3, padding=1), nn.ReLU(),
        )
        self.prev_out = nn.Linear(2 * cfg.prev_channels, cfg.prev_emb)
        c_in = cfg.z_local + cfg.z_global + cfg.cond_emb + cfg.prev_emb + 1
        self.stages = nn.ModuleList([
            Stage(c_in, c, False, cfg),
            Stage(c, c // 2, True, cfg),
            Stage(c // 2, c // 4, True, cfg),
        ])
        self.out = nn.Conv1d(c // 4, cfg.latent_dim, 3, padding=1)
        self.posterior = NoisePosterior(cfg) if cfg.posterior else None

    def noise(self, batch: int, n_bars: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw (global (B, z_global), local (B, z_local, ceil(n_bars/4))) standard-normal noise."""
        l0 = -(-n_bars // BARS_PER_POSITION)
        zg = torch.randn(batch, self.cfg.z_global, generator=generator)
        zl = torch.randn(batch, self.cfg.z_local, l0, generator=generator)
        return zg, zl

    def encode_prev(self, prev: torch.Tensor | None, batch: int) -> torch.Tensor:
        """Embedding of the previous phrase's latents (B, P, D) -> (B, prev_emb + 1) incl. the flag."""
        if prev is None:
            return torch.zeros(batch, self.cfg.prev_emb + 1)
        h = self.prev_conv(prev.transpose(1, 2))
        e = self.prev_out(torch.cat([h.mean(2), h[:, :, -1]], dim=1))
        return torch.cat([e, torch.ones(batch, 1)], dim=1)

    def forward(
        self,
        cond: torch.Tensor,
        n_bars: int,
        noise: tuple[torch.Tensor, torch.Tensor] | None = None,
        prev: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Generate continuous bar latents.

        Args:
            cond: emotion vectors (B, 10).
            n_bars: bars to generate (any positive number; 4, 8, 16, 32 are the designed lengths).
            noise: (global, local) noise from :meth:`noise`; drawn with ``generator`` when None.
            prev: the previous phrase's bar latents (B, P, D), or None for a free start.
            generator: RNG for the noise.

        Returns:
            float tensor (B, n_bars, D).

        Raises:
            ValueError: ``n_bars`` < 1 or a condition of the wrong shape.
        """
        if n_bars < 1:
            raise ValueError(f"n_bars must be >= 1, got {n_bars}")
        if cond.dim() != 2 or cond.shape[1] != self.cfg.cond_dim:
            raise ValueError(f"expected conditions shaped (B, {self.cfg.cond_dim}), got {tuple(cond.shape)}")
        b = cond.shape[0]
        zg, zl = noise if noise is not None else self.noise(b, n_bars, generator)
        l0 = zl.shape[2]
        glob = torch.cat([zg, self.cond(cond), self.encode_prev(prev, b)], dim=1)
        h = torch.cat([zl, glob[:, :, None].expand(-1, -1, l0)], dim=1)
        for st in self.stages:
            h = st(h)
        return self.out(h)[:, :, :n_bars].transpose(1, 2)
