"""The spatial-channel attention block (CBAM style) of D2M-GAN-SCA, reusable in 1-D and 2-D conv stacks.

The source paper (Song 2025, "D2M-GAN-SCA") puts this block in its conv layers; it is CBAM's
(Woo et al. 2018, "CBAM: Convolutional Block Attention Module", ECCV) channel-then-spatial attention.
With ``F1`` the input feature map of ``C`` channels (``docs/design.md`` §5):

    Mc = sigmoid(MLP(AvgPool(F1)) + MLP(MaxPool(F1)))          channel attention, shape (B, C, 1[, 1])
    F2 = Mc ⊗ F1
    Ms = sigmoid(conv_kxk([AvgPool_c(F2); MaxPool_c(F2)]))      spatial attention, shape (B, 1, L) or (B, 1, H, W)
    F3 = Ms ⊗ F2

``AvgPool``/``MaxPool`` pool over the spatial positions (one number per channel); ``AvgPool_c``/
``MaxPool_c`` pool over the channels (one map per position); ``[·;·]`` stacks the two maps as two
channels; ``⊗`` is element-wise multiplication with broadcasting. The MLP is shared by both pooled
vectors: ``C → C/r → C`` with a ReLU between. The paper's eq. 3 writes ``MaxPool(F1)`` inside the
spatial branch; that is a typo — CBAM pools ``F2`` for both maps, and so does this module.

The block keeps the input's shape, so it can be dropped between any two conv layers:
``spatial_dims=1`` for ``(B, C, L)`` sequences (the generator's 1-D convs), ``spatial_dims=2`` for
``(B, C, H, W)`` maps (the emotion estimator's window × feature map).
"""

from __future__ import annotations

import torch
from torch import nn


class SpatialChannelAttention(nn.Module):
    """CBAM-style channel attention followed by spatial attention (the paper's eqs. 2–3 with the typo fixed).

    Args:
        channels: ``C``, the number of input (and output) channels.
        reduction: ``r``, the MLP's bottleneck ratio; the hidden layer has ``max(1, C // r)`` units.
        kernel_size: ``k`` of the spatial branch's conv (odd, so the map keeps its size).
        spatial_dims: 1 for inputs shaped ``(B, C, L)``, 2 for ``(B, C, H, W)``.

    Raises:
        ValueError: ``channels`` < 1, ``reduction`` < 1, an even or non-positive ``kernel_size``,
            or ``spatial_dims`` not 1 or 2.
    """

    def __init__(self, channels: int, reduction: int = 16, kernel_size: int = 7, spatial_dims: int = 2):
        super().__init__()
        if channels < 1 or reduction < 1:
            raise ValueError(f"channels and reduction must be >= 1, got {channels}, {reduction}")
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd number, got {kernel_size}")
        if spatial_dims not in (1, 2):
            raise ValueError(f"spatial_dims must be 1 or 2, got {spatial_dims}")
        self.channels = channels
        self.spatial_dims = spatial_dims
        hidden = max(1, channels // reduction)
        # the shared MLP, written with 1x1 convolutions so it applies to (B, C, 1[, 1]) directly
        conv = nn.Conv1d if spatial_dims == 1 else nn.Conv2d
        self.mlp = nn.Sequential(
            conv(channels, hidden, kernel_size=1),
            nn.ReLU(inplace=True),
            conv(hidden, channels, kernel_size=1),
        )
        self.spatial_conv = conv(2, 1, kernel_size=kernel_size, padding=kernel_size // 2, bias=False)

    def _check(self, x: torch.Tensor) -> None:
        if x.dim() != self.spatial_dims + 2 or x.shape[1] != self.channels:
            want = "(B, C, L)" if self.spatial_dims == 1 else "(B, C, H, W)"
            raise ValueError(f"expected a tensor shaped {want} with C={self.channels}, got {tuple(x.shape)}")

    def channel_map(self, f1: torch.Tensor) -> torch.Tensor:
        """``Mc = sigmoid(MLP(AvgPool(F1)) + MLP(MaxPool(F1)))``: shape ``(B, C, 1)`` or ``(B, C, 1, 1)``."""
        dims = tuple(range(2, f1.dim()))
        avg = f1.mean(dim=dims, keepdim=True)
        mx = f1.amax(dim=dims, keepdim=True)
        return torch.sigmoid(self.mlp(avg) + self.mlp(mx))

    def spatial_map(self, f2: torch.Tensor) -> torch.Tensor:
        """``Ms = sigmoid(conv([AvgPool_c(F2); MaxPool_c(F2)]))``: shape ``(B, 1, L)`` or ``(B, 1, H, W)``."""
        avg = f2.mean(dim=1, keepdim=True)
        mx = f2.amax(dim=1, keepdim=True)
        return torch.sigmoid(self.spatial_conv(torch.cat([avg, mx], dim=1)))

    def attention_maps(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Both attention maps ``(Mc, Ms)`` for input ``x`` (for inspection and tests).

        Raises:
            ValueError: ``x`` has the wrong number of dimensions or channels.
        """
        self._check(x)
        mc = self.channel_map(x)
        return mc, self.spatial_map(mc * x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``F3 = Ms ⊗ (Mc ⊗ F1)`` for ``F1 = x``; same shape as ``x``.

        Raises:
            ValueError: ``x`` has the wrong number of dimensions or channels.
        """
        self._check(x)
        f2 = self.channel_map(x) * x
        return self.spatial_map(f2) * f2


__all__ = ["SpatialChannelAttention"]
