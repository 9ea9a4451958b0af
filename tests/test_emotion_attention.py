"""SpatialChannelAttention: exactly CBAM's equations (Mc from F1; Ms pools F2 = Mc ⊗ F1, where the paper's eq. 3 has a typo
saying MaxPool(F1)), shape-preserving in 1-D and 2-D."""

from __future__ import annotations

import pytest
import torch

from musicgen.model.attention import SpatialChannelAttention


def _manual(block: SpatialChannelAttention, f1: torch.Tensor) -> torch.Tensor:
    """The equations written out by hand from the block's own parameters."""
    dims = tuple(range(2, f1.dim()))
    mlp = block.mlp
    w1, b1 = mlp[0].weight.flatten(1), mlp[0].bias
    w2, b2 = mlp[2].weight.flatten(1), mlp[2].bias

    def shared_mlp(v):  # v: (B, C)
        return torch.relu(v @ w1.T + b1) @ w2.T + b2

    mc = torch.sigmoid(shared_mlp(f1.mean(dim=dims)) + shared_mlp(f1.amax(dim=dims)))
    mc = mc.reshape(mc.shape + (1,) * len(dims))
    f2 = mc * f1
    pooled = torch.cat([f2.mean(dim=1, keepdim=True), f2.amax(dim=1, keepdim=True)], dim=1)  # pools F2, not F1
    conv = torch.nn.functional.conv2d if f1.dim() == 4 else torch.nn.functional.conv1d
    ms = torch.sigmoid(conv(pooled, block.spatial_conv.weight, padding=block.spatial_conv.padding))
    return ms * f2


@pytest.mark.parametrize("shape,dims", [((3, 12, 8, 20), 2), ((2, 12, 50), 1)])
def test_matches_the_equations_and_keeps_shape(shape, dims):
    torch.manual_seed(0)
    block = SpatialChannelAttention(shape[1], reduction=4, kernel_size=3, spatial_dims=dims)
    x = torch.randn(*shape)
    y = block(x)
    assert y.shape == x.shape
    torch.testing.assert_close(y, _manual(block, x))
    mc, ms = block.attention_maps(x)
    assert mc.shape == (shape[0], shape[1]) + (1,) * dims
    assert ms.shape == (shape[0], 1) + shape[2:]
    assert float(mc.detach().min()) > 0 and float(mc.detach().max()) < 1  # sigmoids


def test_spatial_branch_pools_f2_not_f1():
    """With a channel map far from uniform, pooling F1 (the paper's typo) would give a different Ms."""
    torch.manual_seed(1)
    block = SpatialChannelAttention(8, reduction=2, kernel_size=3)
    with torch.no_grad():
        block.mlp[2].bias.copy_(torch.linspace(-6, 6, 8))
    x = torch.randn(2, 8, 6, 7)
    mc, ms = block.attention_maps(x)
    ms_typo = block.spatial_map(x)
    assert not torch.allclose(ms, ms_typo)
    torch.testing.assert_close(ms, block.spatial_map(mc * x))


def test_gradients_flow_and_bad_input_is_refused():
    block = SpatialChannelAttention(4, reduction=16, kernel_size=5)  # hidden clamps to 1
    assert block.mlp[0].out_channels == 1
    x = torch.randn(2, 4, 5, 5, requires_grad=True)
    block(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert all(p.grad is not None for p in block.parameters())
    with pytest.raises(ValueError):
        block(torch.randn(2, 3, 5, 5))
    with pytest.raises(ValueError):
        block(torch.randn(2, 4, 5))
    with pytest.raises(ValueError):
        SpatialChannelAttention(4, kernel_size=4)
    with pytest.raises(ValueError):
        SpatialChannelAttention(4, spatial_dims=3)
