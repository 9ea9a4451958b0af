"""The multi-scale discriminator D1, D2, D3 on the flattened latent sequence (D2M-GAN / MelGAN style).

Input: bar latents (B, T, D) flattened to one channel, (B, 1, T·D) (D2M-GAN's ``view(B, 1, -1)``).
D1 sees it at full length, D2 after one and D3 after two ``AvgPool1d(4, stride=2, padding=1,
count_include_pad=False)`` (lengths T·D, T·D/2, T·D/4).

Each scale is MelGAN's ``NLayerDiscriminator`` with three downsampling layers — six layers in all:

====  =============================================================  ==================  =========
layer operation                                                      channels (default)  length
====  =============================================================  ==================  =========
1     reflection pad (7, 8) · conv k16                               1 → 12              L
2     multi-scale grouped conv, stride 4                              12 → 48             L/4
3     multi-scale grouped conv, stride 4                              48 → 192            L/16
4     multi-scale grouped conv, stride 4                              192 → 192 (cap)     L/64
5     conv k5                                                        192 → 192           L/64
6     conv k3                                                        192 → 1             L/64
====  =============================================================  ==================  =========

LeakyReLU(0.2) after layers 1–5, weight normalisation on every conv.

*Multi-scale grouped conv* (the paper's change to MelGAN): the input channels are split into as many
equal parts as there are kernel sizes (default 9, 21, 41); each part goes through its own grouped conv
(groups = part channels / 4, MelGAN's ratio) with its kernel size, stride 4 and padding k // 2, so all
parts keep the same output length; the outputs are concatenated. The ``multi_scale=False`` variant is
MelGAN's: one grouped conv with kernel 41 (groups = in channels / 4) over all channels.

Conditioning: projection (Miyato & Koyama 2018): the emotion vector is mapped linearly to a vector ``e``
of layer 5's width and the output at every position gets ``<e, h5>`` added, so the score is
``w·h5 + <e(y), h5>``.

The channel counts are computed and checked explicitly (:func:`layer_channels`), for any number of
downsampling layers (D2M-GAN's own code only adds up for four).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm


@dataclass
class DiscriminatorConfig:
    """Sizes of each scale's discriminator.

    Attributes:
        ndf: channels after the first (k16) layer.
        max_channels: cap of the channel count.
        n_down: downsampling grouped-conv layers (3 gives the paper's 6 layers).
        stride: stride of those layers.
        kernels: kernel sizes of the multi-scale grouped convs (one per channel part).
        single_kernel: MelGAN's kernel for the ``multi_scale=False`` variant.
        multi_scale: multi-scale (True) or MelGAN single-kernel (False) grouped convs.
        n_scales: discriminators (1 = D1 only, 3 = D1, D2, D3).
        cond_dim: size of the emotion vector (projection conditioning; 0 = unconditional).
    """

    ndf: int = 12
    max_channels: int = 192
    n_down: int = 3
    stride: int = 4
    kernels: tuple[int, ...] = (9, 21, 41)
    single_kernel: int = 41
    multi_scale: bool = True
    n_scales: int = 3
    cond_dim: int = 10

    def as_dict(self) -> dict:
        """Plain dict (for checkpoints)."""
        d = asdict(self)
        d["kernels"] = list(self.kernels)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> DiscriminatorConfig:
        """Inverse of :meth:`as_dict`."""
        d = dict(d)
        d["kernels"] = tuple(d.get("kernels", (9, 21, 41)))
        return cls(**d)


def layer_channels(cfg: DiscriminatorConfig) -> list[int]:
    """Channel counts after layers 1..5 (layer 6 has one): ndf, then ×stride per downsampling layer up to
    the cap, and layer 5 keeps the last count.

    Raises:
        ValueError: a count that the grouped convs cannot split (each kernel's part of the input must
            hold a multiple of 4 channels, and its output part a multiple of its groups).
    """
    ch = [cfg.ndf]
    for _ in range(cfg.n_down):
        ch.append(min(ch[-1] * cfg.stride, cfg.max_channels))
    nk = len(cfg.kernels) if cfg.multi_scale else 1
    for c_in, c_out in zip(ch[:-1], ch[1:]):
        if c_in % (4 * nk) or c_out % nk or (c_out // nk) % (c_in // nk // 4):
            raise ValueError(
                f"discriminator channels {c_in} -> {c_out} cannot be split into {nk} part(s) of grouped convs "
                f"with 4 input channels per group; choose ndf/max_channels divisible by {4 * nk}"
            )
    ch.append(ch[-1])
    return ch


class MultiScaleGroupedConv(nn.Module):
    """Grouped conv whose channel parts use different kernel sizes (same stride, same output length).

    Args:
        c_in / c_out: channels (split evenly over the kernels).
        kernels: one kernel size per part (odd sizes keep lengths aligned; padding k // 2).
        stride: stride of every part.
    """

    def __init__(self, c_in: int, c_out: int, kernels: tuple[int, ...], stride: int):
        super().__init__()
        nk = len(kernels)
        pi, po = c_in // nk, c_out // nk
        self.part_in = pi
        self.convs = nn.ModuleList(
            [weight_norm(nn.Conv1d(pi, po, k, stride=stride, padding=k // 2, groups=pi // 4)) for k in kernels]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, c_in, L) -> (B, c_out, ceil(L / stride))."""
        parts = torch.split(x, self.part_in, dim=1)
        return torch.cat([conv(p) for conv, p in zip(self.convs, parts)], dim=1)


class _Pad16(nn.Module):
    """Reflection padding (7, 8) before the k16 conv (MelGAN's); replicate padding for inputs of 8 or
    fewer samples, which reflection cannot pad."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, (7, 8), mode="reflect" if x.shape[-1] > 8 else "replicate")


class ScaleDiscriminator(nn.Module):
    """One of D1/D2/D3: six layers (see the module table) with projection conditioning."""

    def __init__(self, cfg: DiscriminatorConfig):
        super().__init__()
        ch = layer_channels(cfg)
        layers = [nn.Sequential(_Pad16(), weight_norm(nn.Conv1d(1, ch[0], 16)))]
        for c_in, c_out in zip(ch[: cfg.n_down], ch[1 : cfg.n_down + 1]):
            if cfg.multi_scale:
                layers.append(MultiScaleGroupedConv(c_in, c_out, cfg.kernels, cfg.stride))
            else:
                k = cfg.single_kernel
                layers.append(
                    weight_norm(nn.Conv1d(c_in, c_out, k, stride=cfg.stride, padding=k // 2, groups=c_in // 4))
                )
        layers.append(weight_norm(nn.Conv1d(ch[cfg.n_down], ch[-1], 5, padding=2)))
        self.layers = nn.ModuleList(layers)
        self.last = weight_norm(nn.Conv1d(ch[-1], 1, 3, padding=1))
        self.embed = nn.Linear(cfg.cond_dim, ch[-1], bias=False) if cfg.cond_dim else None

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Score ``x`` (B, 1, L) under conditions (B, cond_dim).

        Returns:
            (scores (B, 1, L'), features of layers 1..5).
        """
        feats = []
        h = x
        for layer in self.layers:
            h = F.leaky_relu(layer(h), 0.2)
            feats.append(h)
        # projection term uses layer 5's features at the output positions (same length: k3, padding 1)
        out = self.last(h)
        if self.embed is not None and cond is not None:
            out = out + (self.embed(cond)[:, :, None] * h).sum(1, keepdim=True)
        return out, feats


class MultiScaleDiscriminator(nn.Module):
    """D1, D2, D3 at full, 1/2 and 1/4 resolution of the flattened latent sequence."""

    def __init__(self, cfg: DiscriminatorConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or DiscriminatorConfig()
        self.scales = nn.ModuleList([ScaleDiscriminator(cfg) for _ in range(cfg.n_scales)])
        self.pool = nn.AvgPool1d(4, stride=2, padding=1, count_include_pad=False)

    def inputs(self, latents: torch.Tensor) -> list[torch.Tensor]:
        """The sequences each scale sees: (B, T, D) -> [(B, 1, T·D), (B, 1, T·D/2), (B, 1, T·D/4), ...]."""
        x = latents.reshape(latents.shape[0], 1, -1)
        out = []
        for i in range(len(self.scales)):
            out.append(x)
            if i + 1 < len(self.scales):
                x = self.pool(x)
        return out

    def forward(
        self, latents: torch.Tensor, cond: torch.Tensor | None
    ) -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
        """Score bar latents (B, T, D): a list, one (scores (B, 1, L'), features) per scale."""
        return [d(x, cond) for d, x in zip(self.scales, self.inputs(latents))]

    def score(self, latents: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        """One number per sample (B,): the mean over scales of each scale's mean output (higher = more real)."""
        outs = self.forward(latents, cond)
        return torch.stack([o.mean(dim=(1, 2)) for o, _ in outs], dim=0).mean(0)
