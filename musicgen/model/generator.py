"""The D2M-GAN-SCA generator: (noise, emotion, optional previous phrase) -> continuous bar latents.

D2M-GAN's generator is a conv encoder that maps its conditioning sequence to a sequence of *continuous*
VQ embeddings; quantisation to the codebook happens only to decode (``docs/design.md`` §6). Here the conditioning
is the emotion vector (8 class probabilities + valence + arousal, see
:meth:`musicgen.conditions.EmotionCondition.vector`) and, for phrase-by-phrase continuation, the
previous phrase's bar latents; the sequence to generate from is noise.

Shapes, for ``n_bars`` bars (``L0 = ceil(n_bars / 4)`` positions of four bars each)
------------------------------------------------------------------------------------
* emotion (B, 10) → MLP 10 → 64 → ``cond_emb`` (ReLU);
* previous phrase (B, P, D) (optional) → conv k3 (D → ``prev_channels``) · ReLU · conv k3 · ReLU →
  [mean over bars ; last bar] → linear → ``prev_emb``; absent → zeros and a 0 flag;
* input per position: local noise (``z_local``) ⊕ broadcast [global noise (``z_global``), emotion
  embedding, previous-phrase embedding, flag] → conv k3 → ``C`` channels · FiLM · ReLU · residual stack · SCA;
* stage 1: transposed conv k4 stride 2 (``L0`` → ``2·L0``, ``C`` → ``C/2``) · FiLM · ReLU · residual stack · SCA;
* stage 2: transposed conv k4 stride 2 (→ ``4·L0`` bars, ``C/2`` → ``C/4``) · FiLM · ReLU · residual stack · SCA;
  (in each stage the SCA block weighs the residual stack's output, which is added to its input, as CBAM
  sits in residual networks; see :class:`Stage`);
  (FiLM: a per-channel scale and shift from the emotion embedding in every stage, see :class:`Stage`);
* output conv k3 (``C/4`` → D), cropped to ``n_bars``, bounded by ``5·tanh(x / 5)``
  (:data:`LATENT_BOUND`): continuous bar latents (B, n_bars, D).

Residual stacks are MelGAN's: ``x + conv1(ReLU(conv3_dilated(ReLU(x))))`` with dilations 1 and 3. SCA is
:class:`musicgen.model.attention.SpatialChannelAttention` on (B, C, L) (CBAM, ``docs/design.md`` §5); the
``use_sca=False`` variant replaces it by the identity. Activations are ReLU (the paper's choice).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from musicgen.model.attention import SpatialChannelAttention

#: Bars per input position (two stride-2 upsampling stages).
BARS_PER_POSITION = 4
#: The generator's latents are bounded to (-LATENT_BOUND, LATENT_BOUND) by ``LATENT_BOUND·tanh(x / LATENT_BOUND)``:
#: real bars' latents in model space lie within ±3.4 (99.9 %; at most 5.1 over the training bars), and an
#: unbounded output let a GAN run escape to latents of size 1e20 when the discriminator's response grew
#: without bound in some direction.
LATENT_BOUND = 5.0


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

    def as_dict(self) -> dict:
        """Plain dict (for checkpoints)."""
        d = asdict(self)
        d["res_dilations"] = list(self.res_dilations)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> GeneratorConfig:
        """Inverse of :meth:`as_dict`."""
        d = dict(d)
        d["res_dilations"] = tuple(d.get("res_dilations", (1, 3)))
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
    """One generator stage: (optional upsampling) · FiLM by the emotion · ReLU ``h``, then
    ``h + SCA(residual stack(h))`` (or the identity in place of SCA).

    The attention block sits on the residual branch, as CBAM is placed in residual networks (Woo et al.
    2018): on the main path its two sigmoid gates (about 0.5 each at the start) would scale the signal
    by about a quarter per stage, and after three stages the output would hardly depend on the noise.

    FiLM (Perez et al. 2018): the emotion embedding ``e`` gives a per-channel scale and shift,
    ``h · (1 + γ(e)) + β(e)``, so that every stage sees the condition and the network cannot route
    around it. The FiLM layer starts at zero (the identity).
    """

    def __init__(self, c_in: int, c_out: int, upsample: bool, cfg: GeneratorConfig):
        super().__init__()
        if upsample:
            self.head = nn.ConvTranspose1d(c_in, c_out, 4, stride=2, padding=1)
        else:
            self.head = nn.Conv1d(c_in, c_out, 3, padding=1)
        self.film = nn.Linear(cfg.cond_emb, 2 * c_out)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)
        self.res = nn.Sequential(*[ResBlock(c_out, d) for d in cfg.res_dilations])
        self.sca = (
            SpatialChannelAttention(c_out, reduction=cfg.sca_reduction, kernel_size=cfg.sca_kernel, spatial_dims=1)
            if cfg.use_sca
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor, emotion: torch.Tensor) -> torch.Tensor:
        """(B, c_in, L) and the emotion embedding (B, cond_emb) -> (B, c_out, L or 2L)."""
        gamma, beta = self.film(emotion)[:, :, None].chunk(2, dim=1)
        h = torch.relu(self.head(x) * (1.0 + gamma) + beta)
        return h + self.sca(self.res(h))


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
            nn.Conv1d(cfg.latent_dim, cfg.prev_channels, 3, padding=1),
            nn.ReLU(),
            nn.Conv1d(cfg.prev_channels, cfg.prev_channels, 3, padding=1),
            nn.ReLU(),
        )
        self.prev_out = nn.Linear(2 * cfg.prev_channels, cfg.prev_emb)
        c_in = cfg.z_local + cfg.z_global + cfg.cond_emb + cfg.prev_emb + 1
        self.stages = nn.ModuleList(
            [
                Stage(c_in, c, False, cfg),
                Stage(c, c // 2, True, cfg),
                Stage(c // 2, c // 4, True, cfg),
            ]
        )
        self.out = nn.Conv1d(c // 4, cfg.latent_dim, 3, padding=1)
        self._init_weights()

    def _init_weights(self) -> None:
        """He (Kaiming) normal initialisation of every conv and linear layer, zero biases, FiLM layers at
        zero (the identity), the attention blocks with their own initialisation, and the output layer at
        half scale. With PyTorch's default initialisation (and the attention on the main path) the output
        hardly depended on the noise at the start (std 3e-4 over noise draws): every piece decoded to the
        same bars and training started from a collapsed generator. Now the output's spread over noise
        draws starts near that of real latents (std ~1, see the tests)."""
        skip = {id(st.film) for st in self.stages}  # FiLM starts as the identity
        for st in self.stages:  # the attention blocks keep their own initialisation (gates near 0.5)
            skip |= {id(m) for m in st.sca.modules()}
        for mod in self.modules():
            if isinstance(mod, (nn.Conv1d, nn.ConvTranspose1d, nn.Linear)) and id(mod) not in skip:
                nn.init.kaiming_normal_(mod.weight, nonlinearity="relu")
                if mod.bias is not None:
                    nn.init.zeros_(mod.bias)
        with torch.no_grad():
            self.out.weight.mul_(0.5)

    def noise(
        self, batch: int, n_bars: int, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
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
        emo = self.cond(cond)
        glob = torch.cat([zg, emo, self.encode_prev(prev, b)], dim=1)
        h = torch.cat([zl, glob[:, :, None].expand(-1, -1, l0)], dim=1)
        for st in self.stages:
            h = st(h, emo)
        raw = self.out(h)[:, :, :n_bars].transpose(1, 2)
        return LATENT_BOUND * torch.tanh(raw / LATENT_BOUND)
