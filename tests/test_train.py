"""Training loop of the D2M-GAN-SCA model on a tiny corpus with tiny models (a few seconds each)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from musicgen.errors import UsageError
from musicgen.model.config import TrainConfig, apply_variant, load_config
from musicgen.model.discriminator import DiscriminatorConfig
from musicgen.model.generator import GeneratorConfig
from musicgen.model.train import train
from musicgen.model.training_log import LOG_COLUMNS
from musicgen.model.vqvae import VQVAEConfig

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run fastest on one thread (several threads only contend on a shared 2-core machine)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def tiny_cfg(**kw) -> TrainConfig:
    base = dict(
        vq_iterations=10,
        vq_batch=32,
        iterations=4,
        batch=8,
        n_bars=4,
        prev_bars=2,
        val_samples=4,
        val_every=1,
        checkpoint_every=2,
        vqvae=VQVAEConfig(channels=16, groups=2, code_dim=4, codebook_size=16),
        generator=GeneratorConfig(
            channels=16, cond_emb=8, z_global=4, z_local=4, prev_channels=8, prev_emb=8, sca_reduction=4
        ),
        discriminator=DiscriminatorConfig(ndf=12, max_channels=48),
    )
    base.update(kw)
    return TrainConfig(**base)


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_run_writes_logs_plot_model_and_summary(tiny_corpus, tmp_path):
    res = train(tiny_cfg(), tmp_path / "run", corpus=tiny_corpus)
    rows = _rows(res.log_path)
    assert [int(r["iteration"]) for r in rows] == [1, 2, 3, 4]
    assert list(rows[0]) == list(LOG_COLUMNS)
    assert all(r["val_pce"] != "" and np.isfinite(float(r["d_loss"])) for r in rows)
    assert len(_rows(res.vq_log_path)) == 10
    assert res.plot_path is not None and res.plot_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    s = json.loads(res.summary_path.read_text())
    assert s["gan_iterations"] == 4 and 0 <= s["vqvae_test"]["onset_f1"] <= 1
    assert s["vqvae_test"]["perplexity"] >= 1.0
    from musicgen.model.api import load_model

    m = load_model(res.model_path)
    assert m.sample(np.eye(10, dtype=np.float32)[:2], 4, seed=0).grids.shape == (2, 4, 16, 60)


def test_resume_continues_exactly(tiny_corpus, tmp_path):
    a = train(tiny_cfg(iterations=6), tmp_path / "a", corpus=tiny_corpus)
    train(tiny_cfg(iterations=3), tmp_path / "b", corpus=tiny_corpus)
    b = train(tiny_cfg(iterations=6), tmp_path / "b", corpus=tiny_corpus, resume=True)
    sa = torch.load(a.model_path, weights_only=True)
    sb = torch.load(b.model_path, weights_only=True)
    for part in ("vqvae", "generator", "discriminator"):
        for k, v in sa[part].items():
            assert torch.equal(v, sb[part][k]), (part, k)
    ra, rb = _rows(a.log_path), _rows(b.log_path)
    assert [r["iteration"] for r in rb] == [str(i) for i in range(1, 7)]
    assert [r["d_loss"] for r in ra] == [r["d_loss"] for r in rb]


def test_refuses_to_overwrite_a_run(tiny_corpus, tmp_path):
    train(tiny_cfg(iterations=1), tmp_path / "r", corpus=tiny_corpus)
    with pytest.raises(UsageError, match="--resume"):
        train(tiny_cfg(iterations=1), tmp_path / "r", corpus=tiny_corpus)
    with pytest.raises(UsageError, match="nothing to resume"):
        train(tiny_cfg(iterations=1), tmp_path / "empty", corpus=tiny_corpus, resume=True)
    train(tiny_cfg(iterations=1), tmp_path / "r", corpus=tiny_corpus, force=True)


def test_rule_reward_lowers_the_rule_penalty(tiny_corpus, tmp_path):
    """With the rule term as the generator's only objective (β2 = 0, no L1, emotion, style or diversity terms), a short
    run raises the generator's soft R_F (the quantity the rule term optimises) during training, and ends
    above the same run without the rule reward on fixed noise."""
    from musicgen.model.api import load_model
    from musicgen.model.data import MODEL_SPEC
    from musicgen.model.vqvae import soft_cells
    from musicgen.rules import RuleSet

    text = (
        (REPO / "rules" / "violin.toml")
        .read_text()
        .replace("beta_rules = 0.3", "beta_rules = 20.0")
        .replace("beta_disc = 1.0", "beta_disc = 0.0")
    )
    assert "beta_rules = 20.0" in text and "beta_disc = 0.0" in text
    (tmp_path / "strong.toml").write_text(text)
    rules = str(tmp_path / "strong.toml")
    rs = RuleSet.load(rules)
    cond = np.tile(np.eye(10, dtype=np.float32)[1], (64, 1))

    def soft_r_f(model_path):
        m = load_model(model_path)
        lat = torch.from_numpy(m.sample(cond, 4, seed=123).latents)
        with torch.no_grad():
            zq = m.vqvae.quantize(m.vqvae.denormalise(lat))[0]
            onset, sounding = soft_cells(m.vqvae.decode_logits(zq))
            return float(rs.soft_score(onset, sounding, MODEL_SPEC)[0].mean())

    base = dict(
        rules=rules,
        vq_iterations=300,
        vq_lr=5e-3,
        batch=16,
        lr=2e-3,
        iterations=40,
        cont_fraction=0.0,
        mode_weight=0.0,
        density_weight=0.0,
        line_weight=0.0,
        scale_weight=0.0,
        leap_weight=0.0,
        mode_seeking=0.0,
        vqvae=VQVAEConfig(channels=16, groups=2, code_dim=4, codebook_size=64),
    )
    with_rules = train(tiny_cfg(**base), tmp_path / "with", corpus=tiny_corpus)
    without = train(apply_variant(tiny_cfg(**base), no_rule_reward=True), tmp_path / "without", corpus=tiny_corpus)
    log = [float(r["rule_soft"]) for r in _rows(with_rules.log_path)]
    assert np.mean(log[-5:]) > np.mean(log[:5]) + 0.02
    assert soft_r_f(with_rules.model_path) > soft_r_f(without.model_path) + 0.02


def _scale_grid(pcs, bars=2):
    """Cells (1, bars, 16, 60) of a melody cycling through the pitch classes ``pcs`` (octave of C5) in eighths."""
    g = np.zeros((1, bars, 16, 60), np.int8)
    seq = [72 + p for p in pcs]
    for i in range(bars * 8):
        b, st = divmod(i * 2, 16)
        g[0, b, st, seq[i % len(seq)] - 48] = 1
        g[0, b, st + 1, seq[i % len(seq)] - 48] = 2
    return g


def test_emotion_and_style_terms():
    """The training terms of musicgen.model.losses on hand-made soft grids."""
    from musicgen.analysis import estimate_keys
    from musicgen.model import losses as L

    major = torch.from_numpy(_scale_grid([0, 4, 7, 2, 5, 9, 11, 4]) != 0).float()
    minor = torch.from_numpy(_scale_grid([0, 3, 7, 2, 5, 8, 11, 3]) != 0).float()
    assert L.mode_contrast(major, 48).item() > 0.3 and L.mode_contrast(minor, 48).item() < -0.3
    v_pos, v_neg = torch.tensor([0.8]), torch.tensor([-0.8])
    assert L.mode_loss(major, v_pos, 48).item() < L.mode_loss(major, v_neg, 48).item()
    assert L.mode_loss(minor, v_neg, 48).item() < L.mode_loss(minor, v_pos, 48).item()
    # the soft correlations read the key as estimate_keys does
    hist = np.zeros((1, 12))
    np.add.at(hist[0], (np.arange(60) + 48) % 12, minor.sum(dim=(0, 1, 2)).numpy())
    best = estimate_keys(hist)[0]
    assert int(L.soft_key_correlations(minor, 48).argmax()) == best[0] + 12 * best[1]
    # out of scale: C major notes are in C major's scale, not all in C minor's
    assert L.out_of_scale(major, torch.tensor([0.0]), 48).item() == 0.0
    assert L.out_of_scale(major, torch.tensor([1.0]), 48).item() > 0.2
    assert L.out_of_scale(minor, torch.tensor([1.0]), 48).item() == 0.0  # the leading tone B belongs to minor
    # onsets per bar, the density line, the paired density hinge
    onset = torch.from_numpy(_scale_grid([0, 4, 7]) == 1).float()
    npb = L.onsets_per_bar(onset)
    assert npb.item() == 8.0
    assert L.density_line_loss(npb, torch.tensor([0.0]), (4.0, 0.0)).item() == pytest.approx(1.0)  # ((8 - 4) / 4)^2
    hi, lo = torch.tensor([9.0, 7.0]), torch.tensor([7.0, 7.0])
    pair = L.paired_density_loss(hi, lo, torch.tensor([0.6, 0.6]), torch.tensor([-0.6, -0.6]), 1.5)
    assert pair[0].item() == pytest.approx(0.0) and pair[1].item() == pytest.approx(1.8)
    # leaps: stepwise costs nothing, octave leaps cost
    steps = torch.from_numpy(_scale_grid([0, 2, 4, 5, 7, 5, 4, 2]) != 0).float()
    leaps = torch.from_numpy(_scale_grid([0, 12, 0, 12]) != 0).float()
    assert (
        L.leap_excess(steps, 48).item() == 0.0 and L.leap_excess(leaps, 48).item() > 2.0
    )  # (12 - 7) at every other step
    assert L.melodic_shape_loss(leaps, 48).item() > L.melodic_shape_loss(steps, 48).item()
    # gradients reach the soft grid
    snd = minor.clone().requires_grad_(True)
    (
        L.mode_loss(snd, v_pos, 48) + L.out_of_scale(snd, torch.tensor([0.0]), 48) + L.leap_excess(snd, 48)
    ).sum().backward()
    assert snd.grad is not None and snd.grad.abs().sum() > 0


def test_mode_seeking_is_clamped():
    from musicgen.model.losses import mode_seeking_loss

    za = (torch.zeros(2, 4), torch.zeros(2, 2, 1))
    zb = (torch.ones(2, 4), torch.ones(2, 2, 1))
    same = torch.zeros(2, 3, 5)
    loss, ratio = mode_seeking_loss(same, same, za, zb)
    assert ratio.item() == 0.0 and loss.item() == pytest.approx(1.0)
    far = torch.full((2, 3, 5), 3.0)
    loss, ratio = mode_seeking_loss(same, far, za, zb)
    assert ratio.item() == pytest.approx(3.0) and loss.item() == 0.0  # no reward for going further than real phrases


def test_paired_conditions_flip_signs_and_balance():
    from musicgen.model.data import paired_conditions

    rng = np.random.default_rng(0)
    cond = np.tile(np.r_[np.eye(8)[1], 0.75, 0.45].astype(np.float32), (300, 1))  # all happy
    p = paired_conditions(cond, rng)
    assert p.shape == cond.shape and np.allclose(p[:, :8].sum(1), 1.0)
    flipped_v, flipped_a = p[:, 8] < 0, p[:, 9] < 0
    assert flipped_v.mean() == pytest.approx(2 / 3, abs=0.1) and flipped_a.mean() == pytest.approx(2 / 3, abs=0.1)
    assert (flipped_v | flipped_a).all()
    assert np.all(np.abs(p[:, 8][flipped_v]) >= 0.2)


def test_recipe_file_equals_the_defaults():
    """`musicgen train` with no options is the recipe: examples/train_default.json holds exactly the
    defaults of TrainConfig, and examples/paper.json the paper's settings."""
    default = json.loads((REPO / "examples" / "train_default.json").read_text())
    assert default == TrainConfig().as_dict()
    assert load_config(REPO / "examples" / "train_default.json").as_dict() == TrainConfig().as_dict()
    paper = load_config(REPO / "examples" / "paper.json")
    assert (paper.iterations, paper.batch, paper.lr, paper.betas, paper.loss) == (1400, 64, 2e-4, (0.5, 0.999), "bce")


def test_shipped_model_holds_no_untrained_tensors():
    """Every parameter of the shipped generator and discriminator takes part in generation and scoring:
    one forward pass (a free and a continued phrase, then the discriminator) gives each a gradient."""
    from musicgen.model.api import load_model

    m = load_model()
    gen, dis = m.generator, m.discriminator
    cond = torch.from_numpy(np.tile(np.r_[np.eye(8)[3], -0.7, -0.45].astype(np.float32), (4, 1)))
    free = gen(cond, 8, generator=torch.Generator().manual_seed(0))
    cont = gen(cond, 8, prev=free[:, -4:].detach(), generator=torch.Generator().manual_seed(1))
    score = sum(o.sum() for o, _ in dis(torch.cat([free, cont]), torch.cat([cond, cond])))
    (score + free.sum() + cont.sum()).backward()
    for name, p in list(gen.named_parameters()) + list(dis.named_parameters()):
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert set(m.meta["summary"]) >= {"gan_iterations", "vqvae_test"} and m.meta["summary"]["gan_iterations"] >= 1400


def test_config_file_and_variants(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('iterations = 7\nloss = "hinge"\n[generator]\nchannels = 32\n[discriminator]\nmulti_scale = false\n')
    cfg = load_config(p)
    assert (
        cfg.iterations == 7
        and cfg.loss == "hinge"
        and cfg.generator.channels == 32
        and not cfg.discriminator.multi_scale
    )
    assert cfg.generator.latent_dim == cfg.vqvae.latent_dim
    p.write_text("iteration = 7\n")
    with pytest.raises(UsageError, match="unknown key.*iteration"):
        load_config(p)
    p.write_text('loss = "wgan"\n')
    with pytest.raises(UsageError, match="unknown loss"):
        load_config(p)
    cfg = apply_variant(TrainConfig(), no_sca=True, single_scale_disc=True, no_rule_reward=True, loss="lsgan")
    p.write_text("mode_weight = -1\n")
    with pytest.raises(UsageError, match="mode_weight"):
        load_config(p)
    assert (cfg.generator.use_sca, cfg.discriminator.multi_scale, cfg.rule_reward, cfg.loss) == (
        False,
        False,
        False,
        "lsgan",
    )
    d = TrainConfig().as_dict()
    assert (
        d["iterations"] == 1400
        and d["batch"] == 64
        and d["lr"] == 2e-4
        and d["betas"] == [0.5, 0.999]
        and d["loss"] == "bce"
    )


def test_cli_train(tiny_corpus, tmp_path):
    from typer.testing import CliRunner

    from musicgen.cli import app  # every command registered

    cfg = tmp_path / "tiny.json"
    t = tiny_cfg().as_dict()
    cfg.write_text(json.dumps(t))
    out = tmp_path / "cli"
    args = [
        "train",
        "--config",
        cfg,
        "--corpus",
        tiny_corpus.path,
        "--out",
        out,
        "--iterations",
        2,
        "--vq-iterations",
        3,
        "--seed",
        5,
        "--no-sca",
        "--loss",
        "lsgan",
    ]
    r = CliRunner().invoke(app, [str(a) for a in args], terminal_width=200)
    assert r.exit_code == 0, r.output
    assert (out / "model.pt").is_file() and "model written to" in r.output
    s = json.loads((out / "summary.json").read_text())
    assert s["config"]["seed"] == 5 and s["config"]["loss"] == "lsgan" and s["config"]["generator"]["use_sca"] is False
    r = CliRunner().invoke(app, [str(a) for a in args], terminal_width=200)
    assert r.exit_code != 0 and isinstance(r.exception, UsageError)
