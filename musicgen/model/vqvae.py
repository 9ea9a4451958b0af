"""The bar VQ-VAE: one bar of the model grid <-> ``G`` code vectors.

Shapes (with the defaults of :class:`VQVAEConfig`)
--------------------------------------------------
* input: cells (B, 16 steps, 60 pitches) of 0 silent / 1 onset / 2 hold, turned into one *step class*
  per step (:func:`cells_to_steps`): 0 rest, 1 hold (the sounding note goes on), ``2 + p`` a note of
  pitch index ``p`` starts — 62 classes. The fiddle corpus is melodic: 99.3 % of its sounding steps in
  the training split have one note (measured), so a bar is read as its top voice (the highest note
  starting at a step; the other 0.7 % are dropped — :func:`note_f1` scores against the full grid);
* the encoder sees the one-hot step classes as a 1-D sequence over the 16 steps with 62 channels;
* encoder: conv k3 (62 → C) · ReLU · conv k4 stride 2 (16 → 8 steps) · ReLU · conv k4 stride 2
  (8 → 4 beats) · ReLU · flatten (C × 4) · linear → ``G × d`` — the bar's continuous latent, ``D = G·d``
  numbers, seen as ``G`` sub-vectors ("groups") of ``d``;
* quantiser: each sub-vector is replaced by its nearest (Euclidean) entry of one shared codebook of ``K``
  vectors (product quantisation: a bar has ``K**G`` possible codings with one small codebook);
* decoder: linear ``G·d`` → (C × 4) · ReLU · transposed conv (4 → 8) · ReLU · transposed conv (8 → 16) ·
  ReLU · conv k3 → 62 logits per step (softmax over the step classes). The decoded bar is therefore
  monophonic by construction; its soft form (:func:`soft_cells`) gives the rules engine the
  probability that each pitch starts / sounds at each step.

Codebook update rule
--------------------
Exponential moving averages (van den Oord et al. 2017, appendix; decay 0.99, Laplace smoothing 1e-5):
the codebook is *not* trained by gradient; each entry follows the running mean of the encoder outputs
assigned to it. The encoder gets a commitment loss ``β·‖z − sg(q)‖²`` (β = 0.25) and the decoder's
gradient through the straight-through estimator ``q = z + sg(q − z)``.

Dead-code restarts: after every training step, any entry whose EMA usage (expected assignments per
step) fell below ``dead_threshold`` is moved onto a random encoder output of the current batch
(Dhariwal et al. 2020, Jukebox). The codebook is initialised from encoder outputs of the first batch.

Loss: cross-entropy of the step classes plus the commitment loss.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from musicgen.grid import note_starts


@dataclass
class VQVAEConfig:
    """Sizes of the bar VQ-VAE.

    Attributes:
        steps: steps per bar (16).
        pitches: pitch-axis size (60).
        channels: conv width ``C``.
        groups: code vectors per bar ``G``.
        code_dim: size ``d`` of one code vector (bar latent ``D = G·d``).
        codebook_size: ``K`` entries in the shared codebook.
        decay: EMA decay of the codebook.
        commitment: β of the commitment loss.
        dead_threshold: EMA usage below which an entry is restarted.
    """

    steps: int = 16
    pitches: int = 60
    channels: int = 96
    groups: int = 8
    code_dim: int = 8
    codebook_size: int = 1024
    decay: float = 0.99
    commitment: float = 0.25
    dead_threshold: float = 0.03

    @property
    def n_classes(self) -> int:
        """Step classes: rest, hold and one onset class per pitch."""
        return 2 + self.pitches

    @property
    def latent_dim(self) -> int:
        """``D = G·d``: numbers per bar latent."""
        return self.groups * self.code_dim

    def as_dict(self) -> dict:
        """Plain dict (for checkpoints)."""
        return asdict(self)


class EMAQuantizer(nn.Module):
    """Nearest-neighbour vector quantiser with an EMA-updated codebook and dead-code restarts.

    Args:
        size: number of entries ``K``.
        dim: entry size ``d``.
        decay / eps: EMA decay and Laplace smoothing.
        dead_threshold: EMA usage below which an entry is restarted on a random input vector.
    """

    def __init__(self, size: int, dim: int, decay: float = 0.99, eps: float = 1e-5, dead_threshold: float = 0.03):
        super().__init__()
        self.size, self.dim, self.decay, self.eps, self.dead_threshold = size, dim, decay, eps, dead_threshold
        self.register_buffer("codebook", torch.randn(size, dim) * 0.1)
        self.register_buffer("ema_count", torch.ones(size))
        self.register_buffer("ema_sum", self.codebook.clone())
        self.register_buffer("initialised", torch.zeros((), dtype=torch.bool))

    def codes(self, z: torch.Tensor) -> torch.Tensor:
        """Index of the nearest entry for each vector of ``z`` (..., d) -> int64 (...)."""
        flat = z.reshape(-1, self.dim)
        d2 = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ self.codebook.t() + self.codebook.pow(2).sum(1)[None, :]
        return d2.argmin(1).reshape(z.shape[:-1])

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        """Codebook vectors for ``codes`` (...) -> (..., d)."""
        return F.embedding(codes, self.codebook)

    def forward(
        self, z: torch.Tensor, update: bool = False, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Quantise ``z`` (..., d).

        Args:
            z: vectors to quantise.
            update: update the codebook (EMA + restarts) from this batch (training only).
            generator: RNG for the restarts.

        Returns:
            (straight-through quantised vectors, codes, commitment MSE ``‖z − sg(q)‖²`` mean).
        """
        flat = z.reshape(-1, self.dim)
        if update and not bool(self.initialised):
            with torch.no_grad():
                pick = torch.randint(0, flat.shape[0], (self.size,), generator=generator)
                self.codebook.copy_(flat[pick].detach() + 1e-3 * torch.randn(self.size, self.dim, generator=generator))
                self.ema_sum.copy_(self.codebook)
                self.ema_count.fill_(1.0)
                self.initialised.fill_(True)
        codes = self.codes(flat)
        q = self.lookup(codes)
        if update:
            with torch.no_grad():
                onehot = F.one_hot(codes, self.size).to(flat.dtype)
                count = onehot.sum(0)
                self.ema_count.mul_(self.decay).add_(count, alpha=1 - self.decay)
                self.ema_sum.mul_(self.decay).add_(onehot.t() @ flat.detach(), alpha=1 - self.decay)
                n = self.ema_count.sum()
                smoothed = (self.ema_count + self.eps) / (n + self.size * self.eps) * n
                self.codebook.copy_(self.ema_sum / smoothed[:, None])
                dead = self.ema_count < self.dead_threshold
                nd = int(dead.sum())
                if nd:
                    pick = torch.randint(0, flat.shape[0], (nd,), generator=generator)
                    self.codebook[dead] = flat[pick].detach()
                    self.ema_sum[dead] = flat[pick].detach()
                    self.ema_count[dead] = 1.0
        commit = F.mse_loss(flat, q.detach())
        st = flat + (q - flat).detach()
        return st.reshape(z.shape), codes.reshape(z.shape[:-1]), commit


class BarVQVAE(nn.Module):
    """Encoder, codebook and decoder of bars (see the module docstring for shapes and the update rule)."""

    def __init__(self, cfg: VQVAEConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or VQVAEConfig()
        c = cfg.channels
        if cfg.steps % 4:
            raise ValueError("steps per bar must be a multiple of 4")
        q4 = cfg.steps // 4
        self.enc = nn.Sequential(
            nn.Conv1d(cfg.n_classes, c, 3, padding=1),
            nn.ReLU(),
            nn.Conv1d(c, c, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv1d(c, c, 4, stride=2, padding=1),
            nn.ReLU(),
        )
        self.enc_out = nn.Linear(c * q4, cfg.latent_dim)
        self.dec_in = nn.Linear(cfg.latent_dim, c * q4)
        self.dec = nn.Sequential(
            nn.ReLU(),
            nn.ConvTranspose1d(c, c, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.ConvTranspose1d(c, c, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv1d(c, cfg.n_classes, 3, padding=1),
        )
        self.quantizer = EMAQuantizer(cfg.codebook_size, cfg.code_dim, cfg.decay, dead_threshold=cfg.dead_threshold)
        # per-dimension mean and std of the encoder's outputs on the training bars (set after training):
        # the generator and the discriminator work on standardised latents ("model space")
        self.register_buffer("z_mean", torch.zeros(cfg.latent_dim))
        self.register_buffer("z_std", torch.ones(cfg.latent_dim))

    def set_latent_stats(self, z: torch.Tensor) -> None:
        """Set the standardisation from encoder outputs ``z`` (N, D) of the training bars."""
        with torch.no_grad():
            self.z_mean.copy_(z.mean(0))
            self.z_std.copy_(z.std(0).clamp_min(1e-4))

    def normalise(self, z: torch.Tensor) -> torch.Tensor:
        """Encoder space -> model space (standardised per dimension)."""
        return (z - self.z_mean) / self.z_std

    def denormalise(self, x: torch.Tensor) -> torch.Tensor:
        """Model space -> encoder space."""
        return x * self.z_std + self.z_mean

    # ------------------------------------------------------------------ pieces
    def encode(self, cells: torch.Tensor) -> torch.Tensor:
        """Continuous bar latents: cells int (..., steps, pitches) -> float (..., D)."""
        lead = cells.shape[:-2]
        x = cells_to_steps(cells.reshape(-1, self.cfg.steps, self.cfg.pitches))
        h = self.enc(F.one_hot(x, self.cfg.n_classes).float().transpose(1, 2))
        return self.enc_out(h.flatten(1)).reshape(*lead, self.cfg.latent_dim)

    def quantize(
        self, z: torch.Tensor, update: bool = False, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Quantise bar latents (..., D): returns (straight-through quantised (..., D), codes (..., G), commitment)."""
        g, d = self.cfg.groups, self.cfg.code_dim
        zq, codes, commit = self.quantizer(z.reshape(*z.shape[:-1], g, d), update=update, generator=generator)
        return zq.reshape(z.shape), codes, commit

    def codes_to_latents(self, codes: torch.Tensor) -> torch.Tensor:
        """Quantised bar latents (..., D) for codes (..., G)."""
        return self.quantizer.lookup(codes).reshape(*codes.shape[:-1], self.cfg.latent_dim)

    def decode_logits(self, zq: torch.Tensor) -> torch.Tensor:
        """Step-class logits for bar latents (..., D) -> (..., steps, 2 + pitches)."""
        lead = zq.shape[:-1]
        c = self.cfg.channels
        h = self.dec_in(zq.reshape(-1, self.cfg.latent_dim)).reshape(-1, c, self.cfg.steps // 4)
        out = self.dec(h)  # (B, classes, steps)
        return out.transpose(1, 2).reshape(*lead, self.cfg.steps, self.cfg.n_classes)

    @staticmethod
    def hard_cells(logits: torch.Tensor) -> torch.Tensor:
        """Cells int8 (..., steps, pitches) of the most probable step classes (see :func:`steps_to_cells`)."""
        return steps_to_cells(logits.argmax(-1))

    def forward(self, cells: torch.Tensor, update: bool = False, generator: torch.Generator | None = None) -> dict:
        """Encode, quantise and decode ``cells`` (B, steps, pitches); returns a dict of tensors and losses."""
        z = self.encode(cells)
        zq, codes, commit = self.quantize(z, update=update, generator=generator)
        logits = self.decode_logits(zq)
        target = cells_to_steps(cells)
        ce = F.cross_entropy(logits.reshape(-1, self.cfg.n_classes), target.reshape(-1))
        return {
            "z": z,
            "zq": zq,
            "codes": codes,
            "logits": logits,
            "ce": ce,
            "commit": commit,
            "loss": ce + self.cfg.commitment * commit,
        }


# ---------------------------------------------------------------------- step classes
REST, CONTINUE = 0, 1


def cells_to_steps(cells: torch.Tensor) -> torch.Tensor:
    """Step classes int64 (..., steps) of cells (..., steps, pitches): 0 rest, 1 hold, 2 + p onset of pitch p.

    At a step where several notes start, the highest wins; a step where nothing starts but something
    sounds is a hold (also when the sounding note is not the one the melody held: the top-voice reading).
    """
    c = cells.long()
    onset = c == 1
    p = c.shape[-1]
    top = torch.where(onset, torch.arange(p, device=c.device), -1).amax(-1)  # highest onset pitch or -1
    sounding = (c != 0).any(-1)
    return torch.where(top >= 0, top + 2, torch.where(sounding, CONTINUE, REST))


def steps_to_cells(classes: torch.Tensor, pitches: int = 60) -> torch.Tensor:
    """Cells int8 (..., steps, pitches) from step classes (..., steps); the last two axes before ``steps``
    are read as one sequence (a hold continues a note across a bar line). A hold with no note sounding
    (at the start, or after a rest) is a rest.

    Args:
        classes: int (..., bars, steps) or (..., steps).
        pitches: size of the pitch axis (classes are ``2 + pitches``).
    """
    cls = classes.long()
    shape = cls.shape
    flat = cls.reshape(-1, shape[-1] * shape[-2]) if cls.dim() >= 2 else cls.reshape(1, -1)
    n, t = flat.shape
    idx = torch.arange(t, device=cls.device).expand(n, t)
    last_on = torch.where(flat >= 2, idx, -1).cummax(1).values
    last_rest = torch.where(flat == REST, idx, -1).cummax(1).values
    held = (flat == CONTINUE) & (last_on > last_rest)
    pitch_on = torch.gather(flat, 1, last_on.clamp(min=0)) - 2
    out = torch.zeros(n, t, pitches, dtype=torch.int8, device=cls.device)
    rows = torch.arange(n, device=cls.device)[:, None].expand(n, t)
    on = flat >= 2
    out[rows[on], idx[on], (flat - 2)[on]] = 1
    out[rows[held], idx[held], pitch_on[held]] = 2
    return out.reshape(*shape, pitches)


def soft_cells(logits: torch.Tensor, min_log: float = -30.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Differentiable (onset, sounding) probabilities (..., bars, steps, pitches) from step-class logits
    (..., bars, steps, 2 + pitches), reading bars ... steps as one sequence.

    ``onset[s, p] = P(class 2 + p at s)``; a note started at step k still sounds at s when every step in
    between is a hold: ``sounding[s, p] = Σ_{k ≤ s} onset[k, p] · Π_{k < j ≤ s} P(hold at j)`` (the
    products are taken in log space; a (T, T) matrix per sample, T = bars × steps).
    """
    prob = torch.softmax(logits, dim=-1)
    shape = prob.shape
    t = shape[-2] * shape[-3] if prob.dim() >= 3 else shape[-2]
    flat = prob.reshape(-1, t, shape[-1])
    onset = flat[..., 2:]
    loghold = torch.log(flat[..., CONTINUE].clamp_min(1e-12)).clamp_min(min_log)
    c = torch.cumsum(loghold, dim=1)  # (n, T)
    diff = c[:, :, None] - c[:, None, :]  # c[s] - c[k]
    mask = torch.ones(t, t, dtype=torch.bool, device=logits.device).tril()
    w = torch.where(mask, torch.exp(diff.clamp(max=0.0)), torch.zeros((), device=logits.device))
    sounding = torch.bmm(w, onset).clamp(max=1.0)
    out_shape = shape[:-1] + (shape[-1] - 2,)
    return onset.reshape(out_shape), sounding.reshape(out_shape)


# ---------------------------------------------------------------------- evaluation
def note_f1(true_cells: np.ndarray, pred_cells: np.ndarray) -> dict:
    """Note-level precision, recall and F1 of a reconstruction.

    A note is identified by its onset step and pitch ("onset" figures) and, in the stricter "note"
    figures, also by its end step (so a note must have the right duration too).

    Args:
        true_cells / pred_cells: int (N, [bars,] steps, pitches) of 0/1/2, same shape.

    Returns:
        dict with onset_precision, onset_recall, onset_f1, note_precision, note_recall, note_f1.
    """
    t, p = np.asarray(true_cells), np.asarray(pred_cells)
    ts, ps = note_starts(t), note_starts(p)
    out = {}
    tp = float((ts & ps).sum())
    out.update(_prf("onset", tp, float(ts.sum()), float(ps.sum())))
    te, pe = _note_ends(t), _note_ends(p)
    # a start matches in full when the notes starting there also end at the same step
    tid, pid = _end_at_start(ts, te), _end_at_start(ps, pe)
    tp2 = float((ts & ps & (tid == pid)).sum())
    out.update(_prf("note", tp2, float(ts.sum()), float(ps.sum())))
    return out


def _prf(name: str, tp: float, n_true: float, n_pred: float) -> dict:
    pr = tp / n_pred if n_pred else 0.0
    rc = tp / n_true if n_true else 0.0
    f1 = 2 * pr * rc / (pr + rc) if pr + rc else 0.0
    return {f"{name}_precision": pr, f"{name}_recall": rc, f"{name}_f1": f1}


def _note_ends(cells: np.ndarray) -> np.ndarray:
    c = np.asarray(cells)
    flat = c.reshape(c.shape[0], -1, c.shape[-1])
    snd = flat != 0
    nxt = np.zeros_like(snd)
    nxt[:, :-1] = flat[:, 1:] == 2
    return snd & ~nxt


def _end_at_start(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """For each start cell, the step index of the end of its note (-1 elsewhere)."""
    n, t, p = ends.shape
    idx = np.where(ends, np.arange(t)[None, :, None], t + 1)
    # next end at or after each step: reverse cumulative minimum
    nxt = np.minimum.accumulate(idx[:, ::-1], axis=1)[:, ::-1]
    return np.where(starts, nxt, -1)


def perplexity(codes: np.ndarray, size: int) -> float:
    """Codebook perplexity ``2**H`` (H the entropy in bits of the code histogram): 1 = one code used,
    ``size`` = all codes used equally."""
    h = np.bincount(np.asarray(codes).ravel(), minlength=size).astype(np.float64)
    p = h / max(h.sum(), 1.0)
    p = p[p > 0]
    return float(2 ** (-(p * np.log2(p)).sum()))
