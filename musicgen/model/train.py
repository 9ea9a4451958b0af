"""Training of the D2M-GAN-SCA model: the bar VQ-VAE stage, then the GAN stage.

Stage 1 — VQ-VAE (``vq_iterations`` steps): random single bars of the train split (with transposition
augmentation, :mod:`musicgen.model.data`), Adam with a 100-step warm-up and cosine decay, EMA codebook
with dead-code restarts (:mod:`musicgen.model.vqvae`). At the end the VQ-VAE is evaluated on the test
split (note F1, codebook perplexity) and frozen.

The encoder's outputs are then standardised per dimension (mean and std over the training bars, kept
in the VQ-VAE's state): the generator and discriminator work in that *model space*.

Stage 2 — GAN (``iterations`` steps, the paper's 1400 by default; Adam lr 2e-4, betas (0.5, 0.999),
batch 64). Each iteration draws ``batch`` windows of ``prev_bars + n_bars`` consecutive bars with their
tunes' emotion vectors; the last ``n_bars`` bars, encoded by the frozen VQ-VAE to *continuous* latents,
are the real sequences. A ``cont_fraction`` of the batch is continuation: the generator also gets the
first ``prev_bars`` bars' latents and is pulled towards the true next phrase by D2M-GAN's two L1 terms
(to its continuous and to its quantised latents); the rest starts freely.

* discriminator step: ``d_loss(D(real, y), D(G(z, y), y))`` over D1, D2, D3 (see
  :mod:`musicgen.model.discriminator`; ``bce`` by default, ``hinge`` and ``lsgan`` as options);
* generator step::

      L_G = β2 · adversarial  −  β1 · mean R_F(soft grid)  +  l1_weight · L1_continuation  +  fm_weight · FM

  with β1 = ``beta_rules`` and β2 = ``beta_disc`` of the rule file (the paper's ``L = β1·R_F + β2·D``
  written as a loss to minimise: R_F is a reward, so it enters with a minus sign). The soft grid is the
  VQ-VAE decoder's output on the generated latents quantised with the straight-through estimator — the
  same bars that sampling produces — turned into onset/sounding probabilities
  (:func:`musicgen.model.vqvae.soft_cells`) and scored by :meth:`musicgen.rules.RuleSet.soft_score`.

Every iteration appends one row to ``train_log.csv`` (losses, discriminator outputs, the soft and exact
rule reward of the batch, and a validation PCE: pitch-class entropy of ``val_samples`` pieces generated
from fixed noise and valid-split emotions, next to the valid split's own); ``train_log.png`` plots it.
Checkpoints (``checkpoint.pt``, with optimiser and RNG states) are written every ``checkpoint_every``
iterations and at the end of each stage, so ``resume=True`` continues exactly; the final shippable model
is ``model.pt`` (no optimiser state), with ``summary.json`` holding the measured figures.

Variants for the paper's comparisons: ``generator.use_sca=False`` (no attention block),
``discriminator.multi_scale=False`` (MelGAN's single-kernel grouped convs), ``rule_reward=False``,
``loss="lsgan"`` / ``"hinge"``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Callable

import numpy as np

from musicgen.errors import InputError, UsageError
from musicgen.model.discriminator import LOSSES, DiscriminatorConfig
from musicgen.model.generator import GeneratorConfig
from musicgen.model.vqvae import VQVAEConfig

LOG_COLUMNS = (
    "iteration", "d_loss", "g_loss", "g_adv", "rule_soft", "rule_hard", "l1", "kl", "fm", "diversity", "aux_real", "aux_fake",
    "d_real", "d_fake", "pce_batch", "val_pce", "val_pce_gap", "val_rule", "seconds",
)
VQ_LOG_COLUMNS = ("iteration", "ce", "commit", "batch_perplexity", "lr", "seconds")


@dataclass
class TrainConfig:
    """Everything a training run depends on (saved in every checkpoint).

    Attributes:
        seed: seed of every random choice (data order, augmentation, noise, initial weights).
        rules: rule set name or path (:meth:`musicgen.rules.RuleSet.load`).
        vq_iterations / vq_batch / vq_lr / vq_warmup: VQ-VAE stage (steps, bars per step, peak lr, warm-up).
        iterations / batch / lr / betas: GAN stage (the paper: 1400, 64, 2e-4, (0.5, 0.999)).
        n_bars: bars per training sequence.
        prev_bars: bars of the previous phrase given for continuation.
        cont_fraction: share of each batch trained as continuation (with the L1 terms).
        l1_weight: weight of D2M-GAN's two L1 latent terms.
        fm_weight: weight of (unpaired) feature matching; 0 = off.
        d_noise: instance noise: std of Gaussian noise added to the discriminator's real and fake inputs
            (model-space units), decayed linearly to 0 over the GAN stage; 0 = off.
        d_lr: discriminator learning rate (None = ``lr``).
        disc_on_quantised: the discriminator sees quantised latents (real: the codebook vectors of the real
            bars; fake: the generator's latents quantised with the straight-through estimator) instead of
            continuous ones.
        posterior_weight: weight of the KL term of the noise posterior (cVAE-GAN training, see
            :mod:`musicgen.model.generator`); 0 = plain GAN training (the L1 terms then apply to the
            continuation samples only).
        key_normalise: train on tunes moved to C major / C minor (:mod:`musicgen.model.data`); sampling
            then transposes each piece to a tonic drawn from the training tunes' tonics.
        aux_weight: weight of the auxiliary emotion term (AC-GAN style, see
            :class:`musicgen.model.discriminator.EmotionCritic`): the generator is pulled towards pieces
            whose (valence, arousal), as the critic reads them, are the ones asked for; 0 = off.
        gan_augment: transposition augmentation in the GAN stage too (the VQ-VAE stage always has it).
        mode_seeking: weight of the mode-seeking term (MSGAN, Mao et al. 2019): with two noise draws for
            the same conditions, the generator loss gets ``λ / (mean|G(z1) − G(z2)| / mean|z1 − z2| + 1e-5)``
            (it keeps the generator from ignoring its noise); 0 = off.
        loss: adversarial loss, one of ``bce`` (non-saturating cross-entropy), ``hinge``, ``lsgan``.
        rule_reward: put −β1·R_F in the generator loss.
        val_every: compute the validation PCE every this many iterations (1 = every iteration).
        val_samples: pieces generated for the validation PCE.
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
    n_bars: int = 16
    prev_bars: int = 4
    cont_fraction: float = 0.5
    l1_weight: float = 1.0
    fm_weight: float = 0.0
    d_noise: float = 0.0
    d_lr: float | None = None
    disc_on_quantised: bool = False
    mode_seeking: float = 0.0
    gan_augment: bool = True
    key_normalise: bool = True
    posterior_weight: float = 0.05
    aux_weight: float = 1.0
    loss: str = "bce"
    rule_reward: bool = True
    val_every: int = 1
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
            UsageError: an unknown loss, or a count or fraction out of range.
        """
        if self.loss not in LOSSES:
            raise UsageError(f"unknown loss {self.loss!r}; choose from {', '.join(LOSSES)}")
        for name in ("iterations", "vq_iterations"):
            if getattr(self, name) < 0:
                raise UsageError(f"{name} must be >= 0")
        for name in ("batch", "vq_batch", "n_bars", "val_every", "val_samples", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise UsageError(f"{name} must be >= 1")
        if not 0.0 <= self.cont_fraction <= 1.0:
            raise UsageError("cont_fraction must lie in [0, 1]")
        if self.prev_bars < 1 and self.cont_fraction > 0:
            raise UsageError("prev_bars must be >= 1 when cont_fraction > 0")
        self.generator.latent_dim = self.vqvae.latent_dim

    def as_dict(self) -> dict:
        """Plain-data form (for checkpoints and summary.json)."""
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("vqvae", "generator", "discriminator")}
        d["betas"] = list(self.betas)
        d["vqvae"] = self.vqvae.as_dict()
        d["generator"] = self.generator.as_dict()
        d["discriminator"] = self.discriminator.as_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict, source: str = "<config>") -> "TrainConfig":
        """Build from a plain dict (e.g. a TOML/JSON config file); unknown keys are errors.

        Raises:
            UsageError: an unknown key or a value of the wrong type, naming ``source``.
        """
        d = dict(d)
        sub = {}
        for name, kind in (("vqvae", VQVAEConfig), ("generator", GeneratorConfig), ("discriminator", DiscriminatorConfig)):
            part = d.pop(name, {}) or {}
            if not isinstance(part, dict):
                raise UsageError(f"{source}: [{name}] must be a table")
            known = {f.name for f in fields(kind)}
            bad = sorted(set(part) - known)
            if bad:
                raise UsageError(f"{source}: unknown key(s) in [{name}]: {', '.join(bad)}; known: {', '.join(sorted(known))}")
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
            raise UsageError(f"{source}: unknown key(s): {', '.join(bad)}; known: {', '.join(sorted(known - set(sub)))}")
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
    sizes in ``[vqvae]``, ``[generator]`` and ``[discriminator]`` tables).

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
            try:
                import tomllib
            except ModuleNotFoundError:  # pragma: no cover
                import tomli as tomllib
            data = tomllib.loads(text)
    except Exception as exc:
        line = getattr(exc, "lineno", None)
        raise InputError(p, f"not valid {'JSON' if p.suffix.lower() == '.json' else 'TOML'} ({exc})", line=line, reason="corrupt") from None
    return TrainConfig.from_dict(data, str(p))


def apply_variant(cfg: TrainConfig, no_sca: bool = False, single_scale_disc: bool = False, no_rule_reward: bool = False, loss: str | None = None) -> TrainConfig:
    """The paper's comparison variants as changes to ``cfg`` (in place; returns it)."""
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


@dataclass
class TrainResult:
    """What :func:`train` produced.

    Attributes:
        model_path: the final model (``model.pt``).
        log_path / vq_log_path / plot_path / summary_path: the CSV logs, the PNG plot and summary.json.
        summary: the measured figures (also in summary.json).
        seconds_per_iteration: mean wall time of a GAN iteration in this run (incl. validation).
    """

    model_path: Path
    log_path: Path
    vq_log_path: Path
    plot_path: Path | None
    summary_path: Path
    summary: dict
    seconds_per_iteration: float


ProgressFn = Callable[[str, int, int, dict], None]


# ------------------------------------------------------------------------------------------ helpers
def _lr_factor(i: int, total: int, warmup: int) -> float:
    return min(1.0, (i + 1) / max(1, warmup)) * 0.5 * (1 + math.cos(math.pi * min(i, total) / max(1, total)))


def _rng_state(torch_gen, sampler) -> dict:
    import torch

    return {"torch": torch.get_rng_state(), "gen": torch_gen.get_state(), "numpy": json.dumps(sampler.rng.bit_generator.state)}


def _set_rng_state(state: dict, torch_gen, sampler) -> None:
    import torch

    torch.set_rng_state(state["torch"])
    torch_gen.set_state(state["gen"])
    sampler.rng.bit_generator.state = json.loads(state["numpy"])


def _read_log(path: Path, upto: int) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return [r for r in csv.DictReader(f) if int(r["iteration"]) <= upto]


def _write_log(path: Path, rows: list[dict], columns) -> None:
    from musicgen._files import atomic_write_text

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    atomic_write_text(path, buf.getvalue(), force=True)


class _CsvAppender:
    """Appends rows to a CSV log (flushing each row, so a crash keeps what was logged)."""

    def __init__(self, path: Path, columns, rows: list[dict]):
        _write_log(path, rows, columns)
        self._f = open(path, "a", newline="")
        self._w = csv.DictWriter(self._f, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")

    def write(self, row: dict) -> None:
        self._w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
        self._f.flush()

    def close(self) -> None:
        self._f.close()


def plot_log(log_path: str | Path, png_path: str | Path) -> Path | None:
    """Plot a GAN training log (losses, rule reward, validation PCE) to a PNG; None if matplotlib fails."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception:  # pragma: no cover
        return None
    rows = _read_log(Path(log_path), 1 << 60)
    if not rows:
        return None

    def col(name):
        return np.asarray([float(r[name]) if r.get(name) not in (None, "") else np.nan for r in rows])

    it = col("iteration")
    fig, ax = plt.subplots(3, 1, figsize=(9, 9), sharex=True)
    for name in ("d_loss", "g_adv", "l1"):
        ax[0].plot(it, col(name), label=name, lw=0.8)
    ax[0].set_ylabel("loss")
    ax[0].legend(loc="upper right")
    for name in ("rule_soft", "rule_hard", "val_rule"):
        ax[1].plot(it, col(name), label=name, lw=0.8)
    ax[1].set_ylabel("R_F")
    ax[1].legend(loc="lower right")
    ax[2].plot(it, col("pce_batch"), label="PCE (batch)", lw=0.6, alpha=0.6)
    ax[2].plot(it, col("val_pce"), label="validation PCE", lw=0.9)
    ref = col("val_pce") - col("val_pce_gap")
    ax[2].plot(it, ref, label="valid split PCE", lw=0.9, ls="--")
    ax[2].set_ylabel("bits")
    ax[2].set_xlabel("GAN iteration")
    ax[2].legend(loc="lower right")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    from musicgen._files import atomic_write_bytes

    return atomic_write_bytes(Path(png_path), buf.getvalue(), force=True)


# ------------------------------------------------------------------------------------------ evaluation
def evaluate_vqvae(vq, data, batch: int = 2048) -> dict:
    """Reconstruction of every bar of ``data`` (a :class:`~musicgen.model.data.BarDataset`): note F1
    (:func:`musicgen.model.vqvae.note_f1`, against the full grid) and codebook perplexity / usage."""
    import torch

    from musicgen.model.vqvae import note_f1, perplexity

    preds, codes = [], []
    with torch.no_grad():
        for s in range(0, len(data.bars), batch):
            x = torch.from_numpy(data.bars[s : s + batch])
            z = vq.encode(x)
            zq, c, _ = vq.quantize(z)
            preds.append(vq.hard_cells(vq.decode_logits(zq)[:, None])[:, 0].numpy())
            codes.append(c.numpy())
    pred = np.concatenate(preds)
    cc = np.concatenate(codes)
    out = note_f1(data.bars, pred)
    out["perplexity"] = perplexity(cc, vq.cfg.codebook_size)
    out["codes_used"] = int(np.unique(cc).size)
    out["codebook_size"] = vq.cfg.codebook_size
    out["bars"] = int(len(data.bars))
    return out


def grid_stats(cells: np.ndarray, spec=None) -> dict:
    """Per-piece statistics of cells (N, bars, steps, pitches): PCE (bits, MusPy's definition), notes per
    bar, estimated mode (Krumhansl–Schmuckler on the duration-weighted pitch-class histogram; 1 = minor),
    share of notes in the violin range, share of sounding steps with at most two notes.

    Returns:
        dict of float arrays (N,): pce, notes_per_bar, minor, in_range, poly_ok.
    """
    from musicgen.grid import VIOLIN_HIGHEST, VIOLIN_LOWEST
    from musicgen.model.data import MODEL_SPEC, pitch_class_entropy_grids
    from musicgen.model.vqvae import note_starts
    from musicgen.rules import estimate_keys

    spec = spec or MODEL_SPEC
    c = np.asarray(cells)
    n, bars = c.shape[0], c.shape[1]
    starts = note_starts(c)  # (N, T, P)
    pitches = np.arange(c.shape[-1]) + spec.lowest_pitch
    per_pitch = starts.sum(1)
    n_notes = per_pitch.sum(1)
    inr = ((pitches >= VIOLIN_LOWEST) & (pitches <= VIOLIN_HIGHEST))[None, :]
    snd = (c != 0).reshape(n, -1, c.shape[-1])
    dur = snd.sum(1).astype(np.float64)  # (N, P)
    pcs = pitches % 12
    hist = np.zeros((n, 12))
    np.add.at(hist.T, pcs, dur.T)
    keys = estimate_keys(hist)
    poly = snd.sum(2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "pce": pitch_class_entropy_grids(c, spec),
            "notes_per_bar": n_notes / bars,
            "minor": keys[:, 1].astype(np.float64),
            "in_range": (per_pitch * inr).sum(1) / n_notes,
            "poly_ok": ((poly <= 2) & (poly > 0)).sum(1) / (poly > 0).sum(1),
        }


def corpus_reference(corpus, split: str = "test") -> dict:
    """Reference figures of a corpus split, to compare generated pieces with.

    Returns:
        dict with ``pce_tunes`` (mean PCE in bits of the split's tunes in the model's meters, each whole tune
        as a Piece, :func:`musicgen.metrics.pitch_class_entropy`), ``pce_tunes_all_meters`` (the same over
        every tune of the split), ``pce_windows16`` (mean PCE of 16-bar model-grid windows, one per tune
        from its first bar, cyclic), and per derived emotion label: tunes, minor share, notes per bar.
    """
    from musicgen.emotion.labels import EMOTIONS
    from musicgen.metrics import NoteBatch, pitch_class_entropy
    from musicgen.model.data import MODEL_METERS, build_bar_dataset

    d = build_bar_dataset(corpus, split)
    idx_all = corpus.indices(split)
    pce_model = pitch_class_entropy(NoteBatch.from_pieces([corpus.piece(int(i)) for i in d.corpus_index]))
    pce_all = pitch_class_entropy(NoteBatch.from_pieces([corpus.piece(int(i)) for i in idx_all]))
    sampler_idx = []
    for k in range(d.n_tunes):
        lo, n = d.offsets[k], d.lengths[k]
        ff = d.first_full[k]
        pos = np.arange(16)
        pos = np.where(pos < n, pos, ff + (pos - n) % max(n - ff, 1))
        sampler_idx.append(lo + pos)
    win = d.bars[np.stack(sampler_idx)]
    st = grid_stats(win)
    per = {}
    for e, name in enumerate(EMOTIONS):
        m = d.emotion == e
        if m.any():
            per[name] = {"tunes": int(m.sum()), "minor_share": float(st["minor"][m].mean()), "notes_per_bar": float(st["notes_per_bar"][m].mean())}
    neg = d.valence < 0
    return {
        "split": split,
        "meters": list(MODEL_METERS),
        "tunes": int(d.n_tunes),
        "pce_tunes": float(np.nanmean(pce_model)),
        "pce_tunes_all_meters": float(np.nanmean(pce_all)),
        "pce_windows16": float(np.nanmean(st["pce"])),
        "minor_share_negative_valence": float(st["minor"][neg].mean()) if neg.any() else float("nan"),
        "minor_share_positive_valence": float(st["minor"][~neg].mean()) if (~neg).any() else float("nan"),
        "per_emotion": per,
    }


def evaluate_model(model, rules=None, n_per_emotion: int = 32, n_bars: int = 16, seed: int = 0, themes: bool = True) -> dict:
    """Figures of a model's unreranked pieces: ``n_per_emotion`` pieces of ``n_bars`` bars for each of the
    8 emotion labels (:func:`musicgen.emotion.labels.from_label`), one seed.

    Returns:
        dict with overall means (pce, r_f (exact rules), per-rule scores, in_range share of notes,
        poly_ok share of sounding steps, notes_per_bar, minor share, theme count per ``n_bars`` bars,
        discriminator score) and a ``per_emotion`` table (minor share, notes per bar, pce, r_f).
    """
    from musicgen.emotion.labels import EMOTIONS, from_label
    from musicgen.grid import Grid, grid_to_piece
    from musicgen.rules import RuleSet

    rs = rules if rules is not None else RuleSet.load("violin")
    conds = np.concatenate([np.tile(from_label(e).vector(), (n_per_emotion, 1)) for e in EMOTIONS]).astype(np.float32)
    labels = np.repeat(np.arange(len(EMOTIONS)), n_per_emotion)
    s = model.sample(conds, n_bars, seed=seed)
    sc = rs.score_grids(s.grids, model.spec)
    st = grid_stats(s.grids, model.spec)
    disc = model.discriminator_score(s, conds) if model.discriminator is not None else np.full(len(conds), np.nan)
    out = {
        "pieces": int(len(conds)),
        "n_bars": int(n_bars),
        "pce": float(np.nanmean(st["pce"])),
        "r_f": float(sc.r_f.mean()),
        "rules": {k: float(v.mean()) for k, v in sc.rules.items()},
        "satisfied": {k: float(v.mean()) for k, v in sc.satisfied.items()},
        "in_range": float(np.nansum(st["in_range"] * st["notes_per_bar"]) / np.nansum(st["notes_per_bar"])),
        "poly_ok": float(np.nanmean(st["poly_ok"])),
        "notes_per_bar": float(st["notes_per_bar"].mean()),
        "minor_share": float(st["minor"].mean()),
        "silent_pieces": int((st["notes_per_bar"] == 0).sum()),
        "disc": float(np.nanmean(disc)),
    }
    if themes:
        from musicgen.metrics import NoteBatch, batch_theme_counts

        pieces = [grid_to_piece(Grid(g, model.spec)) for g in s.grids]
        tc = batch_theme_counts(NoteBatch.from_pieces(pieces), [n_bars])[n_bars]
        out["themes"] = float(np.nanmean(tc))
    per = {}
    for e, name in enumerate(EMOTIONS):
        m = labels == e
        per[name] = {
            "minor_share": float(st["minor"][m].mean()),
            "notes_per_bar": float(st["notes_per_bar"][m].mean()),
            "pce": float(np.nanmean(st["pce"][m])),
            "r_f": float(sc.r_f[m].mean()),
        }
    out["per_emotion"] = per
    return out


# ------------------------------------------------------------------------------------------ train
def train(
    cfg: TrainConfig,
    out: str | Path,
    corpus=None,
    corpus_path: str | Path | None = None,
    resume: bool = False,
    force: bool = False,
    progress: ProgressFn | None = None,
    vqvae_from: str | Path | None = None,
) -> TrainResult:
    """Train the VQ-VAE, then the GAN, writing logs, checkpoints and the final model under ``out``.

    Args:
        cfg: the configuration (see :class:`TrainConfig`).
        out: output folder (created). Holds ``checkpoint.pt``, ``model.pt``, ``vq_log.csv``,
            ``train_log.csv``, ``train_log.png``, ``summary.json``.
        corpus: an already loaded :class:`musicgen.corpus.Corpus` (else loaded from ``corpus_path``, else
            the default cache).
        resume: continue from ``out/checkpoint.pt`` (its configuration wins over ``cfg``, except the
            iteration counts, so a run can be extended).
        force: start over even though ``out`` holds a previous run.
        progress: called as ``progress(stage, done, total, figures)`` after each step.
        vqvae_from: a model or checkpoint file whose trained VQ-VAE to use (its sizes win over
            ``cfg.vqvae``); the VQ-VAE stage is then skipped (for ablations that share one VQ-VAE).

    Raises:
        UsageError: ``out`` holds a previous run and neither ``resume`` nor ``force`` is set; bad config.
        InputError: the corpus or the checkpoint cannot be read.
    """
    import torch

    from musicgen.corpus import Corpus
    from musicgen.model.checkpoint import load_checkpoint, save_checkpoint
    from musicgen.model.data import MODEL_SPEC, WindowSampler, build_bar_dataset, pitch_class_entropy_grids
    from musicgen.model.discriminator import MultiScaleDiscriminator, d_loss, feature_matching, g_adv_loss
    from musicgen.model.generator import Generator
    from musicgen.model.vqvae import BarVQVAE, perplexity, soft_cells
    from musicgen.rules import RuleSet

    out = Path(out)
    ckpt_path, model_path = out / "checkpoint.pt", out / "model.pt"
    log_path, vq_log_path, png_path, summary_path = out / "train_log.csv", out / "vq_log.csv", out / "train_log.png", out / "summary.json"
    state = None
    if resume:
        if not ckpt_path.is_file():
            raise UsageError(f"nothing to resume in {out} (no checkpoint.pt)")
        state = load_checkpoint(ckpt_path)
        saved = TrainConfig.from_dict(state["config"]["train"], str(ckpt_path))
        saved.iterations, saved.vq_iterations = cfg.iterations, cfg.vq_iterations
        if state["train_state"]["stage"] == "gan" and saved.vq_iterations != state["train_state"]["vq_done"]:
            saved.vq_iterations = state["train_state"]["vq_done"]
        cfg = saved
    elif out.exists() and any((out / n).exists() for n in ("checkpoint.pt", "model.pt", "train_log.csv")) and not force:
        raise UsageError(f"{out} holds a previous training run; pass --resume to continue it or --force to start over")
    vq_src = None
    if vqvae_from is not None and state is None:
        vq_src = load_checkpoint(vqvae_from)
        cfg.vqvae = VQVAEConfig(**vq_src["config"]["vqvae"])
        cfg.vq_iterations = 0
    cfg.validate()
    out.mkdir(parents=True, exist_ok=True)

    rules = RuleSet.load(cfg.rules)
    if corpus is None:
        corpus = Corpus.load(corpus_path)
    kn = cfg.key_normalise
    train_set = build_bar_dataset(corpus, "train", key_normalise=kn)
    try:
        valid_set = build_bar_dataset(corpus, "valid", key_normalise=kn)
    except UsageError:
        valid_set = train_set
    try:
        test_set = build_bar_dataset(corpus, "test", key_normalise=kn)
    except UsageError:
        test_set = valid_set

    torch.manual_seed(cfg.seed)
    tgen = torch.Generator().manual_seed(cfg.seed)
    sampler = WindowSampler(train_set, seed=cfg.seed)
    vq = BarVQVAE(cfg.vqvae)
    gen = Generator(cfg.generator)
    dis = MultiScaleDiscriminator(cfg.discriminator, latent_dim=cfg.vqvae.latent_dim)
    vq_opt = torch.optim.Adam(vq.parameters(), lr=cfg.vq_lr)
    g_opt = torch.optim.Adam(gen.parameters(), lr=cfg.lr, betas=tuple(cfg.betas))
    d_opt = torch.optim.Adam(dis.parameters(), lr=cfg.d_lr if cfg.d_lr is not None else cfg.lr, betas=tuple(cfg.betas))
    stage, vq_done, gan_done, meta = "vq", 0, 0, {}
    if state is not None:
        ts = state["train_state"]
        vq.load_state_dict(state["vqvae"])
        if state.get("generator") is not None:
            gen.load_state_dict(state["generator"])
            dis.load_state_dict(state["discriminator"])
        vq_opt.load_state_dict(ts["vq_opt"])
        if ts.get("g_opt") is not None:
            g_opt.load_state_dict(ts["g_opt"])
            d_opt.load_state_dict(ts["d_opt"])
        stage, vq_done, gan_done = ts["stage"], int(ts["vq_done"]), int(ts["gan_done"])
        _set_rng_state(ts["rng"], tgen, sampler)
        meta = dict(state.get("meta", {}))
    elif vq_src is not None:
        vq.load_state_dict(vq_src["vqvae"])
        vq.eval()
        stage = "gan"
        meta["vqvae_from"] = str(vqvae_from)
        meta["vqvae_test"] = evaluate_vqvae(vq, test_set)

    def config_dict() -> dict:
        return {"vqvae": cfg.vqvae.as_dict(), "generator": cfg.generator.as_dict(), "discriminator": cfg.discriminator.as_dict(), "train": cfg.as_dict()}

    def checkpoint() -> None:
        ts = {
            "stage": stage, "vq_done": vq_done, "gan_done": gan_done,
            "vq_opt": vq_opt.state_dict(),
            "g_opt": g_opt.state_dict() if stage == "gan" else None,
            "d_opt": d_opt.state_dict() if stage == "gan" else None,
            "rng": _rng_state(tgen, sampler),
        }
        save_checkpoint(ckpt_path, config_dict(), vq, gen if stage == "gan" else None, dis if stage == "gan" else None, meta=meta, train_state=ts)

    # ------------------------------------------------------------------ stage 1: VQ-VAE
    if stage == "vq":
        log = _CsvAppender(vq_log_path, VQ_LOG_COLUMNS, _read_log(vq_log_path, vq_done) if state is not None else [])
        vq.train()
        try:
            while vq_done < cfg.vq_iterations:
                t0 = time.perf_counter()
                lr = cfg.vq_lr * _lr_factor(vq_done, cfg.vq_iterations, cfg.vq_warmup)
                for g in vq_opt.param_groups:
                    g["lr"] = lr
                x = torch.from_numpy(sampler.sample_bars(cfg.vq_batch))
                o = vq(x, update=True, generator=tgen)
                vq_opt.zero_grad(set_to_none=True)
                o["loss"].backward()
                vq_opt.step()
                vq_done += 1
                row = {"iteration": vq_done, "ce": float(o["ce"].detach()), "commit": float(o["commit"].detach()),
                       "batch_perplexity": perplexity(o["codes"].numpy(), cfg.vqvae.codebook_size), "lr": lr, "seconds": time.perf_counter() - t0}
                log.write(row)
                if progress:
                    progress("vq", vq_done, cfg.vq_iterations, row)
                if vq_done % (cfg.checkpoint_every * 5) == 0:
                    checkpoint()
        finally:
            log.close()
        vq.eval()
        with torch.no_grad():
            vq.set_latent_stats(torch.cat([vq.encode(torch.from_numpy(train_set.bars[s : s + 4096])) for s in range(0, len(train_set.bars), 4096)]))
        meta["vqvae_test"] = evaluate_vqvae(vq, test_set)
        stage = "gan"
        checkpoint()
    vq.eval()
    for p in vq.parameters():
        p.requires_grad_(False)

    # ------------------------------------------------------------------ stage 2: GAN
    vsamp = WindowSampler(valid_set, seed=cfg.seed + 1, augment=False)
    v_cells, v_cond, _ = vsamp.sample(max(cfg.val_samples, 256), cfg.n_bars)
    val_ref_pce = float(np.nanmean(pitch_class_entropy_grids(v_cells)))
    v_cond = v_cond[: cfg.val_samples]
    vgen = torch.Generator().manual_seed(cfg.seed + 2)
    v_noise = gen.noise(cfg.val_samples, cfg.n_bars, vgen)
    v_cond_t = torch.from_numpy(v_cond)
    tonic_p = np.zeros((2, 12))
    np.add.at(tonic_p, (train_set.minor.astype(np.int64), train_set.tonic), 1.0)
    tonic_p = (tonic_p + 1e-9) / (tonic_p + 1e-9).sum(1, keepdims=True)
    meta.update({"key_normalised": bool(kn), "tonic_distribution": {"major": tonic_p[0].tolist(), "minor": tonic_p[1].tolist()}})
    meta.update({"val_ref_pce": val_ref_pce, "rules": rules.name, "beta_rules": rules.beta_rules, "beta_disc": rules.beta_disc,
                 "corpus_tunes": {"train": train_set.n_tunes, "valid": valid_set.n_tunes, "test": test_set.n_tunes},
                 "quantisation_train": train_set.quantisation})
    b1, b2 = float(rules.beta_rules), float(rules.beta_disc)
    n_cont = int(round(cfg.batch * cfg.cont_fraction))
    span = cfg.n_bars + (cfg.prev_bars if n_cont else 0)
    log = _CsvAppender(log_path, LOG_COLUMNS, _read_log(log_path, gan_done) if state is not None else [])
    times: list[float] = []
    last_val = {"val_pce": float("nan"), "val_pce_gap": float("nan"), "val_rule": float("nan")}
    try:
        while gan_done < cfg.iterations:
            t0 = time.perf_counter()
            gen.train()
            dis.train()
            sampler.augment = cfg.gan_augment
            cells, cond_np, _ = sampler.sample(cfg.batch, span)
            cond = torch.from_numpy(cond_np)
            with torch.no_grad():
                lat = vq.normalise(vq.encode(torch.from_numpy(cells)))  # (B, span, D) continuous, model space
                real = lat[:, span - cfg.n_bars :]
                prev = lat[:n_cont, : span - cfg.n_bars] if n_cont else None
            def run_gen(nz):
                parts = []
                if n_cont:
                    parts.append(gen(cond[:n_cont], cfg.n_bars, noise=(nz[0][:n_cont], nz[1][:n_cont]), prev=prev))
                if cfg.batch - n_cont:
                    parts.append(gen(cond[n_cont:], cfg.n_bars, noise=(nz[0][n_cont:], nz[1][n_cont:])))
                return torch.cat(parts)

            noise = gen.noise(cfg.batch, cfg.n_bars)
            fake = run_gen(noise)  # from N(0, 1) noise: what sampling does
            rec, kl = None, torch.zeros(())
            if gen.posterior is not None and cfg.posterior_weight > 0:
                post, kl_each = gen.posterior.sample(gen.posterior(real))
                kl = kl_each.mean()
                rec = run_gen(post)  # reconstruction of the real phrase from its encoded noise

            zq, codes, _ = vq.quantize(vq.denormalise(fake))
            if cfg.disc_on_quantised:
                with torch.no_grad():
                    real_in = vq.normalise(vq.quantize(vq.denormalise(real))[0])
                fake_in = vq.normalise(zq)
            else:
                real_in, fake_in = real, fake
            # instance noise when d_noise > 0
            sigma = cfg.d_noise * max(0.0, 1.0 - (gan_done) / max(1, cfg.iterations))
            if sigma > 0:
                real_in = real_in + sigma * torch.randn(real.shape)
                fake_in = fake_in + sigma * torch.randn(fake.shape)
            d_real = dis(real_in, cond)
            d_fake = dis(fake_in.detach(), cond)
            ld = d_loss([o for o, _ in d_real], [o for o, _ in d_fake], cfg.loss)
            aux_real = torch.zeros(())
            if dis.critic is not None and cfg.aux_weight > 0:
                aux_real = (dis.critic(real) - cond[:, 8:10]).pow(2).mean()
                ld = ld + aux_real
            d_opt.zero_grad(set_to_none=True)
            ld.backward()
            d_opt.step()

            # generator
            for p in dis.parameters():
                p.requires_grad_(False)
            g_out = dis(fake_in, cond)
            adv = g_adv_loss([o for o, _ in g_out], cfg.loss)
            lg = b2 * adv
            logits = vq.decode_logits(zq)
            onset, sounding = soft_cells(logits)
            r_soft, _ = rules.soft_score(onset, sounding, MODEL_SPEC)
            if cfg.rule_reward:
                lg = lg - b1 * r_soft.mean()
            aux_fake = torch.zeros(())
            if dis.critic is not None and cfg.aux_weight > 0:
                aux_fake = (dis.critic(fake) - cond[:, 8:10]).pow(2).mean()
                lg = lg + cfg.aux_weight * aux_fake
            l1 = torch.zeros(())
            if rec is not None:
                # D2M-GAN's L1 terms to the true phrase's continuous and quantised latents, for every sample
                target_q = vq.normalise(vq.quantize(vq.denormalise(real))[0])
                l1 = (rec - real).abs().mean() + (rec - target_q).abs().mean()
                lg = lg + cfg.l1_weight * l1 + cfg.posterior_weight * kl
            elif n_cont:
                target_q = vq.normalise(vq.quantize(vq.denormalise(real[:n_cont]))[0])
                l1 = (fake[:n_cont] - real[:n_cont]).abs().mean() + (fake[:n_cont] - target_q).abs().mean()
                lg = lg + cfg.l1_weight * l1
            fm = torch.zeros(())
            if cfg.fm_weight > 0:
                fm = feature_matching([f for _, f in d_real], [f for _, f in g_out])
                lg = lg + cfg.fm_weight * fm
            ms_ratio = torch.zeros(())
            if cfg.mode_seeking > 0:
                # MSGAN: a second draw for the same conditions; penalise 1 / (|G(z1) - G(z2)| / |z1 - z2|)
                noise2 = gen.noise(cfg.batch, cfg.n_bars)
                fake2 = run_gen(noise2)
                dz = torch.cat([(noise[0] - noise2[0]).abs().flatten(1), (noise[1] - noise2[1]).abs().flatten(1)], 1).mean(1)
                ms_ratio = ((fake - fake2).abs().mean(dim=(1, 2)) / dz).mean()
                lg = lg + cfg.mode_seeking / (ms_ratio + 1e-5)
            g_opt.zero_grad(set_to_none=True)
            lg.backward()
            g_opt.step()
            for p in dis.parameters():
                p.requires_grad_(True)
            gan_done += 1

            with torch.no_grad():
                hard = vq.hard_cells(logits).numpy()
            rule_hard = float(rules.score_grids(hard, MODEL_SPEC).r_f.mean())
            pce_batch = float(np.nanmean(pitch_class_entropy_grids(hard)))
            if gan_done % cfg.val_every == 0 or gan_done == cfg.iterations:
                gen.eval()
                with torch.no_grad():
                    vlat = gen(v_cond_t, cfg.n_bars, noise=v_noise)
                    vcells = vq.hard_cells(vq.decode_logits(vq.quantize(vq.denormalise(vlat))[0])).numpy()
                vp = float(np.nanmean(pitch_class_entropy_grids(vcells)))
                last_val = {"val_pce": vp, "val_pce_gap": vp - val_ref_pce, "val_rule": float(rules.score_grids(vcells, MODEL_SPEC).r_f.mean())}
            dt = time.perf_counter() - t0
            times.append(dt)
            row = {
                "iteration": gan_done, "d_loss": float(ld.detach()), "g_loss": float(lg.detach()), "g_adv": float(adv.detach()),
                "rule_soft": float(r_soft.detach().mean()), "rule_hard": rule_hard, "l1": float(l1.detach()), "kl": float(kl.detach()), "fm": float(fm.detach()), "diversity": float(ms_ratio.detach()), "aux_real": float(aux_real.detach()), "aux_fake": float(aux_fake.detach()),
                "d_real": float(np.mean([o.detach().mean().item() for o, _ in d_real])),
                "d_fake": float(np.mean([o.detach().mean().item() for o, _ in d_fake])),
                "pce_batch": pce_batch, **last_val, "seconds": dt,
            }
            log.write(row)
            if progress:
                progress("gan", gan_done, cfg.iterations, row)
            if gan_done % cfg.checkpoint_every == 0 and gan_done < cfg.iterations:
                checkpoint()
    finally:
        log.close()
    checkpoint()

    # ------------------------------------------------------------------ final model + summary
    gen.eval()
    dis.eval()
    rows = _read_log(log_path, gan_done)
    dl = np.asarray([float(r["d_loss"]) for r in rows])
    summary = {
        "config": cfg.as_dict(),
        "vqvae_test": meta.get("vqvae_test"),
        "val_ref_pce": val_ref_pce,
        "gan_iterations": gan_done,
        "seconds_per_iteration_this_run": float(np.mean(times)) if times else None,
        "d_loss_std_last_200": float(dl[-200:].std()) if dl.size else None,
        "final_val_pce": last_val["val_pce"],
        "final_val_rule": last_val["val_rule"],
        "quantisation_train": train_set.quantisation,
        "rules": rules.name,
    }
    meta["summary"] = {k: v for k, v in summary.items() if k != "config"}
    save_checkpoint(model_path, config_dict(), vq, gen, dis, meta=meta)
    from musicgen._files import atomic_write_text

    atomic_write_text(summary_path, json.dumps(summary, indent=2, default=float), force=True)
    plot = plot_log(log_path, png_path)
    return TrainResult(model_path, log_path, vq_log_path, plot, summary_path, summary, float(np.mean(times)) if times else 0.0)
