"""The D2M-GAN-SCA model parts: bar representation, VQ-VAE, generator, discriminator, checkpoints, API."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from musicgen.grid import Grid, GridSpec, grid_to_piece
from musicgen.metrics import pitch_class_entropy_grids
from musicgen.model.data import MODEL_SPEC, WindowSampler, build_bar_dataset, transpose_cells, tune_model_bars
from musicgen.model.discriminator import (
    DiscriminatorConfig,
    MultiScaleDiscriminator,
    MultiScaleGroupedConv,
    layer_channels,
)
from musicgen.model.generator import Generator, GeneratorConfig
from musicgen.model.losses import d_loss, g_adv_loss
from musicgen.model.vqvae import BarVQVAE, VQVAEConfig, cells_to_steps, note_f1, perplexity, soft_cells, steps_to_cells


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest on one thread (several threads only contend on a shared 2-core machine)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


TINY_VQ = VQVAEConfig(channels=16, groups=2, code_dim=4, codebook_size=16)
TINY_D = DiscriminatorConfig(ndf=12, max_channels=48)


def tiny_gen(use_sca: bool = True) -> Generator:
    return Generator(
        GeneratorConfig(
            latent_dim=TINY_VQ.latent_dim,
            channels=16,
            cond_emb=8,
            z_global=4,
            z_local=4,
            prev_channels=8,
            prev_emb=8,
            sca_reduction=4,
            use_sca=use_sca,
        )
    )


def monophonic_cells(rng: np.random.Generator, n: int, bars: int) -> np.ndarray:
    """Random melodies: each step rest / hold / a new note."""
    t = bars * 16
    cls = rng.choice(3, size=(n, t), p=[0.2, 0.4, 0.4])
    cls[:, 0] = 2
    pitch = rng.integers(0, 60, size=(n, t))
    steps = np.where(cls == 2, pitch + 2, cls)  # 0 rest, 1 hold, 2+p onset
    return steps_to_cells(torch.from_numpy(steps.reshape(n, bars, 16))).numpy()


# ------------------------------------------------------------------------------------ representation
def test_tune_model_bars_joins_24_bars_after_pickup(tiny_corpus):
    i = next(k for k, t in enumerate(tiny_corpus.tunes) if t.meter == "2/4")
    piece = tiny_corpus.piece(i)
    bars, first_full, rep = tune_model_bars(piece)
    g24 = __import__("musicgen.grid", fromlist=["piece_to_grid"]).piece_to_grid(piece, GridSpec(4, 48, 60))[0].data
    pickup = piece.meta["pickup_qn"] > 0
    assert bars.shape[1:] == (16, 60)
    # the first 2/4 bar lands in the second half of model bar 0 when there is a pickup, else the first half
    half = 8 if pickup else 0
    np.testing.assert_array_equal(bars[0, half : half + 8], g24[0])
    assert first_full == (1 if pickup else 0)
    assert rep.n_notes == len(piece)


def test_other_meters_are_not_model_bars(tiny_corpus):
    i = next(k for k, t in enumerate(tiny_corpus.tunes) if t.meter == "6/8")
    assert tune_model_bars(tiny_corpus.piece(i)) is None


def test_dataset_counts_quantisation(tiny_corpus):
    d = build_bar_dataset(tiny_corpus, None)
    assert d.bars.shape[1:] == (16, 60)
    assert d.offsets[-1] == len(d.bars)
    q = d.quantisation
    assert q["n_tunes"] == d.n_tunes and q["n_notes"] > 0 and 0 <= q["moved_share"] <= 1


def test_transpose_cells_shifts_and_drops():
    c = np.zeros((2, 1, 2, 60), np.int8)
    c[:, 0, 0, 58] = 1
    c[:, 0, 1, 3] = 2
    out = transpose_cells(c, np.array([1, -4]))
    assert out[0, 0, 0, 59] == 1 and out[0, 0, 1, 4] == 2
    assert out[1, 0, 0, 54] == 1 and out[1, 0, 1].sum() == 0  # pitch 3 - 4 falls off the window


def test_window_sampler_wraps_and_keeps_violin_range(tiny_corpus):
    d = build_bar_dataset(tiny_corpus, None)
    s = WindowSampler(d, seed=3)
    cells, cond, tunes = s.sample(32, 40)  # longer than any tune: wraps
    assert cells.shape == (32, 40, 16, 60) and cond.shape == (32, 10)
    pitches = np.nonzero(cells.any(axis=(1, 2)))[1] + 48
    assert pitches.min() >= 55 and pitches.max() <= 100  # augmentation never leaves the violin range
    np.testing.assert_allclose(cond[:, :8].sum(1), 1.0, atol=1e-5)
    s2 = WindowSampler(d, seed=3)
    np.testing.assert_array_equal(s2.sample(32, 40)[0], cells)


def test_key_normalisation_moves_tunes_to_c(tiny_corpus):
    from musicgen.model.data import fit_shift, parse_key
    from musicgen.rules import estimate_keys

    assert parse_key("F# minor") == (6, True) and parse_key("Bb major") == (10, False)
    with pytest.raises(ValueError):
        parse_key("H major")
    assert fit_shift(50, 80, 2) == 14 and fit_shift(90, 99, 5) == -7 and fit_shift(60, 70, 2) == 2
    raw = build_bar_dataset(tiny_corpus, None)
    kn = build_bar_dataset(tiny_corpus, None, key_normalise=True)
    assert kn.key_normalised and np.all(kn.pitch_lo >= 55) and np.all(kn.pitch_hi <= 100)
    assert np.all((kn.tonic + kn.key_shift) % 12 == 0)
    np.testing.assert_array_equal(
        kn.bars[kn.offsets[0] : kn.offsets[1]],
        transpose_cells(raw.bars[raw.offsets[0] : raw.offsets[1]], np.full(raw.lengths[0], kn.key_shift[0])),
    )
    # octave-only augmentation keeps the tonic
    cells = WindowSampler(kn, seed=0).sample(16, 8)[0]
    pitches = np.nonzero(cells.any(axis=(1, 2)))[1] + 48
    assert pitches.min() >= 55 and pitches.max() <= 100
    hist = np.zeros((1, 12))
    snd = (cells != 0).sum(axis=(0, 1, 2))
    np.add.at(hist[0], (np.arange(60) + 48) % 12, snd)
    assert estimate_keys(hist)[0, 0] in (0, 3, 7, 9)  # C, or its relative / dominant keys


def test_pce_matches_metrics_module(tiny_corpus):
    from musicgen.metrics import pitch_class_entropy

    d = build_bar_dataset(tiny_corpus, None)
    cells = np.stack([d.bars[d.offsets[k] : d.offsets[k] + 4] for k in range(3)])
    ours = pitch_class_entropy_grids(cells, MODEL_SPEC.lowest_pitch)
    ref = [pitch_class_entropy(grid_to_piece(Grid(c, MODEL_SPEC))) for c in cells]
    np.testing.assert_allclose(ours, ref, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_step_classes_round_trip_monophonic(seed):
    cells = monophonic_cells(np.random.default_rng(seed), 2, 3)
    back = steps_to_cells(cells_to_steps(torch.from_numpy(cells)).reshape(2, 3, 16)).numpy()
    np.testing.assert_array_equal(back, cells)


def test_steps_to_cells_hold_after_rest_is_rest():
    cls = torch.tensor([[[0, 1, 5, 1, 0, 1] + [0] * 10]])
    c = steps_to_cells(cls)[0, 0]
    assert c[:2].sum() == 0 and c[2, 3] == 1 and c[3, 3] == 2 and c[4:].sum() == 0


def test_soft_cells_equal_hard_grid_and_sum_holds():
    rng = np.random.default_rng(0)
    cells = monophonic_cells(rng, 3, 2)
    cls = cells_to_steps(torch.from_numpy(cells))
    logits = torch.nn.functional.one_hot(cls, 62).float() * 40.0
    onset, sounding = soft_cells(logits)
    assert torch.equal(onset > 0.5, torch.from_numpy(cells == 1))
    assert torch.equal(sounding > 0.5, torch.from_numpy(cells != 0))
    # with uncertain logits: sounding = onset at the step + P(hold) * sounding one step earlier
    lg = torch.randn(1, 1, 16, 62)
    on, snd = soft_cells(lg)
    p = torch.softmax(lg, -1)[0, 0]
    expect = on[0, 0, 0].clone()
    for s in range(1, 16):
        expect = on[0, 0, s] + p[s, 1] * expect
    torch.testing.assert_close(snd[0, 0, 15], expect.clamp(max=1.0), rtol=1e-4, atol=1e-5)


def test_note_f1_and_perplexity_known_values():
    t = np.zeros((1, 16, 60), np.int8)
    t[0, 0, 10], t[0, 1, 10], t[0, 4, 12], t[0, 8, 14] = 1, 2, 1, 1
    p = t.copy()
    p[0, 1, 10] = 0  # first note shorter: onset right, duration wrong
    p[0, 8, 14], p[0, 8, 15] = 0, 1  # wrong pitch
    f = note_f1(t, p)
    assert f["onset_precision"] == pytest.approx(2 / 3) and f["onset_recall"] == pytest.approx(2 / 3)
    assert f["note_f1"] == pytest.approx(1 / 3)
    assert perplexity(np.array([0, 1, 2, 3]), 8) == pytest.approx(4.0)
    assert perplexity(np.zeros(10, int), 8) == pytest.approx(1.0)


# ------------------------------------------------------------------------------------ VQ-VAE
def test_vqvae_shapes_and_codebook_update():
    torch.manual_seed(0)
    vq = BarVQVAE(TINY_VQ)
    cells = torch.from_numpy(monophonic_cells(np.random.default_rng(1), 8, 1)[:, 0])
    before = vq.quantizer.codebook.clone()
    out = vq(cells, update=True, generator=torch.Generator().manual_seed(0))
    assert out["z"].shape == (8, TINY_VQ.latent_dim) and out["codes"].shape == (8, TINY_VQ.groups)
    assert out["logits"].shape == (8, 16, 62)
    assert not torch.equal(before, vq.quantizer.codebook)
    out["loss"].backward()
    # straight-through: the quantised value equals the codebook vectors of the codes
    again = vq(cells)
    torch.testing.assert_close(again["zq"], vq.codes_to_latents(again["codes"]))
    assert vq.enc_out.weight.grad is not None and vq.enc_out.weight.grad.abs().sum() > 0


def test_latent_standardisation_round_trip():
    vq = BarVQVAE(TINY_VQ)
    z = torch.randn(100, TINY_VQ.latent_dim) * 3 + 1
    vq.set_latent_stats(z)
    x = vq.normalise(z)
    torch.testing.assert_close(x.mean(0), torch.zeros(TINY_VQ.latent_dim), atol=1e-5, rtol=0)
    torch.testing.assert_close(vq.denormalise(x), z, atol=1e-5, rtol=1e-5)


# ------------------------------------------------------------------------------------ generator
@pytest.mark.parametrize("n_bars", [4, 8, 16, 32])
def test_generator_and_discriminator_shapes_every_length(n_bars):
    torch.manual_seed(0)
    g, d = tiny_gen(), MultiScaleDiscriminator(TINY_D)
    cond = torch.rand(3, 10)
    z = g(cond, n_bars)
    assert z.shape == (3, n_bars, TINY_VQ.latent_dim)
    zc = g(cond, n_bars, prev=torch.randn(3, 4, TINY_VQ.latent_dim))
    assert zc.shape == z.shape and not torch.allclose(zc, z)
    outs = d(z, cond)
    L = n_bars * TINY_VQ.latent_dim
    assert [o.shape[-1] for o, _ in outs] == [-(-L // 64), -(-L // 128), -(-L // 256)]
    assert all(len(f) == 5 for _, f in outs)


def test_generator_odd_length_crops():
    assert tiny_gen()(torch.rand(2, 10), 6).shape == (2, 6, TINY_VQ.latent_dim)
    with pytest.raises(ValueError):
        tiny_gen()(torch.rand(2, 9), 4)


def test_generator_stages_use_sca_and_no_sca_removes_it():
    from musicgen.model.attention import SpatialChannelAttention

    g = tiny_gen(True)
    assert sum(isinstance(m, SpatialChannelAttention) for m in g.modules()) == 3
    assert all(st.sca.spatial_dims == 1 for st in g.stages)
    assert sum(isinstance(m, SpatialChannelAttention) for m in tiny_gen(False).modules()) == 0


def test_generator_depends_on_condition():
    torch.manual_seed(0)
    g = tiny_gen()
    noise = g.noise(2, 8, torch.Generator().manual_seed(0))
    a = g(torch.zeros(2, 10), 8, noise=noise)
    b = g(torch.ones(2, 10), 8, noise=noise)
    assert not torch.allclose(a, b)


# ------------------------------------------------------------------------------------ discriminator
def test_three_scales_see_full_half_quarter_length():
    d = MultiScaleDiscriminator(TINY_D)
    seen = []
    for sd in d.scales:
        sd.layers[0].register_forward_hook(lambda m, inp, out: seen.append(inp[0].shape[-1]))
    T, D = 16, TINY_VQ.latent_dim
    d(torch.randn(2, T, D), torch.rand(2, 10))
    assert seen == [T * D, T * D // 2, T * D // 4]


def test_discriminator_has_six_layers_and_tracks_channels():
    cfg = DiscriminatorConfig()
    assert layer_channels(cfg) == [12, 48, 192, 192, 192]
    sd = MultiScaleDiscriminator(cfg).scales[0]
    assert len(sd.layers) + 1 == 6  # k16, 3 grouped, k5, k3
    ks = [c.kernel_size[0] for c in sd.layers[1].convs]
    assert ks == [9, 21, 41]
    assert sd.layers[0][1].kernel_size[0] == 16 and sd.layers[4].kernel_size[0] == 5 and sd.last.kernel_size[0] == 3
    single = MultiScaleDiscriminator(DiscriminatorConfig(multi_scale=False)).scales[0]
    assert single.layers[1].kernel_size[0] == 41 and single.layers[1].groups == 3
    with pytest.raises(ValueError, match="cannot be split"):
        layer_channels(DiscriminatorConfig(ndf=8))


def test_multiscale_grouped_conv_parts_are_independent():
    conv = MultiScaleGroupedConv(12, 48, (9, 21, 41), 4)
    x = torch.randn(1, 12, 64)
    y = conv(x)
    assert y.shape == (1, 48, 16)
    x2 = x.clone()
    x2[:, 8:] += 1.0  # change only the third part's input
    y2 = conv(x2)
    assert torch.equal(y[:, :32], y2[:, :32]) and not torch.equal(y[:, 32:], y2[:, 32:])


def test_projection_conditioning_changes_score():
    torch.manual_seed(0)
    d = MultiScaleDiscriminator(TINY_D)
    z = torch.randn(2, 8, TINY_VQ.latent_dim)
    assert not torch.allclose(d.score(z, torch.zeros(2, 10)), d.score(z, torch.ones(2, 10)))


def test_adversarial_losses_known_values():
    r, f = [torch.zeros(2, 1, 3)], [torch.zeros(2, 1, 3)]
    assert d_loss(r, f, "bce").item() == pytest.approx(2 * np.log(2))
    assert g_adv_loss(f, "bce").item() == pytest.approx(np.log(2))
    assert d_loss([torch.full((1, 1, 2), 2.0)], [torch.full((1, 1, 2), -2.0)], "hinge").item() == 0.0
    assert d_loss([torch.ones(1, 1, 2)], [torch.zeros(1, 1, 2)], "lsgan").item() == 0.0
    assert g_adv_loss([torch.ones(1, 1, 2)], "lsgan").item() == 0.0
    with pytest.raises(ValueError):
        d_loss(r, f, "wgan")


# ------------------------------------------------------------------------------------ rule reward gradient
def test_soft_rule_reward_gradient_reaches_generator():
    from musicgen.rules import RuleSet

    torch.manual_seed(0)
    vq, g = BarVQVAE(TINY_VQ), tiny_gen()
    for p in vq.parameters():
        p.requires_grad_(False)
    fake = g(torch.rand(4, 10), 8)
    zq, _, _ = vq.quantize(vq.denormalise(fake))
    onset, sounding = soft_cells(vq.decode_logits(zq))
    r_f, per_rule = RuleSet.load("violin").soft_score(onset, sounding, MODEL_SPEC)
    assert r_f.shape == (4,) and set(per_rule) >= {"range", "chord_tones"}
    (-r_f.mean()).backward()
    grads = [p.grad for p in g.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(x).all() for x in grads)
    assert g.out.weight.grad.abs().sum() > 0 and g.stages[0].head.weight.grad.abs().sum() > 0


# ------------------------------------------------------------------------------------ checkpoint + API
def _save_tiny(path, seed=0):
    from musicgen.model.checkpoint import save_checkpoint

    torch.manual_seed(seed)
    vq, g, d = BarVQVAE(TINY_VQ), tiny_gen(), MultiScaleDiscriminator(TINY_D)
    cfg = {"vqvae": TINY_VQ.as_dict(), "generator": g.cfg.as_dict(), "discriminator": TINY_D.as_dict()}
    save_checkpoint(path, cfg, vq, g, d, meta={"note": "tiny"})
    return vq, g, d


def test_checkpoint_round_trip_same_outputs(tmp_path):
    from musicgen.model.api import MusicModel, load_model

    vq, g, d = _save_tiny(tmp_path / "m.pt")
    m = load_model(tmp_path / "m.pt")
    direct = MusicModel(vq.eval(), g.eval(), d.eval(), {}, {})
    cond = np.random.default_rng(0).random((5, 10)).astype(np.float32)
    a, b = m.sample(cond, 8, seed=11), direct.sample(cond, 8, seed=11)
    np.testing.assert_array_equal(a.grids, b.grids)
    np.testing.assert_array_equal(a.latents, b.latents)
    np.testing.assert_array_equal(a.codes, b.codes)
    np.testing.assert_array_equal(m.discriminator_score(a, cond), direct.discriminator_score(b, cond))
    assert m.meta["note"] == "tiny"


def test_sample_is_deterministic_and_seed_matters(tmp_path):
    from musicgen.model.api import load_model

    _save_tiny(tmp_path / "m.pt")
    m = load_model(tmp_path / "m.pt")
    cond = np.tile(np.eye(10, dtype=np.float32)[1], (3, 1))
    a, b, c = m.sample(cond, 4, seed=1), m.sample(cond, 4, seed=1), m.sample(cond, 4, seed=2)
    assert a.grids.dtype == np.int8 and a.grids.shape == (3, 4, 16, 60)
    assert a.latents.shape == (3, 4, TINY_VQ.latent_dim) and a.codes.shape == (3, 4, TINY_VQ.groups)
    np.testing.assert_array_equal(a.latents, b.latents)
    assert not np.array_equal(a.latents, c.latents)
    # continuation from one previous phrase for all, or one per piece
    p1 = m.sample(cond, 4, seed=1, prev_latents=a.latents[0])
    p2 = m.sample(cond, 4, seed=1, prev_latents=np.repeat(a.latents[:1], 3, 0))
    np.testing.assert_array_equal(p1.latents, p2.latents)
    assert not np.array_equal(p1.latents, a.latents)
    s = m.discriminator_score(a, cond[0])
    assert s.shape == (3,) and np.all((s > 0) & (s < 1))
    # decode(latents) reproduces the sampled grids; encode gives latents of the right shape
    grids, codes = m.decode(a.latents)
    np.testing.assert_array_equal(grids, a.grids)
    assert m.encode(a.grids).shape == a.latents.shape


def test_key_normalised_model_transposes_and_continues_in_key(tmp_path):
    from musicgen.model.api import load_model
    from musicgen.model.checkpoint import load_checkpoint
    from musicgen.model.data import transpose_cells

    _save_tiny(tmp_path / "m.pt")
    ck = load_checkpoint(tmp_path / "m.pt")
    ck["meta"].update(
        key_normalised=True, tonic_distribution={"major": [0, 0, 1.0] + [0] * 9, "minor": [0] * 9 + [1.0, 0, 0]}
    )
    torch.save(ck, tmp_path / "k.pt")
    m = load_model(tmp_path / "k.pt")
    cond = np.tile(np.eye(10, dtype=np.float32)[1], (6, 1))
    s = m.sample(cond, 4, seed=3)
    assert np.all(np.isin(s.key_shift % 12, (2, 9)))  # D (major) or A (minor), in some octave
    base, _ = m.decode(s.latents)
    np.testing.assert_array_equal(s.grids, transpose_cells(base, s.key_shift))
    np.testing.assert_allclose(m.encode(s.grids, key_shift=s.key_shift), m.encode(base), atol=1e-5)
    c = m.sample(cond, 4, seed=9, prev_latents=s.latents, key_shift=s.key_shift)
    np.testing.assert_array_equal(c.key_shift, s.key_shift)


def test_api_errors(tmp_path, monkeypatch):
    from musicgen.errors import InputError, MusicgenError, UsageError
    from musicgen.model import api

    monkeypatch.setattr(api, "SHIPPED_MODEL", tmp_path / "none.pt")
    with pytest.raises(MusicgenError, match="shipped model is missing"):
        api.load_model()
    with pytest.raises(InputError):
        api.load_model(tmp_path / "absent.pt")
    (tmp_path / "bad.pt").write_bytes(b"not a model")
    with pytest.raises(InputError, match="bad.pt"):
        api.load_model(tmp_path / "bad.pt")
    torch.save({"format": "other"}, tmp_path / "other.pt")
    with pytest.raises(InputError, match="not a musicgen model"):
        api.load_model(tmp_path / "other.pt")
    _save_tiny(tmp_path / "m.pt")
    m = api.load_model(tmp_path / "m.pt")
    with pytest.raises(UsageError):
        m.sample(np.zeros((2, 7)), 4, 0)
    with pytest.raises(UsageError):
        m.sample(np.zeros((2, 10)), 0, 0)
    with pytest.raises(UsageError):
        m.sample(np.zeros((2, 10)), 4, 0, prev_latents=np.zeros((2, 3, 5)))


def test_shipped_model_loads_and_is_small():
    from musicgen.model import api

    if not api.SHIPPED_MODEL.is_file():
        pytest.skip("no shipped model in this checkout")
    assert api.SHIPPED_MODEL.stat().st_size < 30 * 2**20
    m = api.load_model()
    s = m.sample(np.tile(np.eye(10, dtype=np.float32)[1], (2, 1)), 16, seed=0)
    assert s.grids.shape == (2, 16, 16, 60) and (s.grids == 1).sum() > 0
