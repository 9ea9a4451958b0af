"""What generation uses: load a trained D2M-GAN-SCA model and sample bar grids from it.

    >>> from musicgen.model.api import load_model
    >>> from musicgen.conditions import from_label
    >>> m = load_model()                                   # the model shipped in musicgen/weights
    >>> conds = np.stack([from_label("sad").vector()] * 8) # (N, 10)
    >>> s = m.sample(conds, n_bars=16, seed=0)
    >>> s.grids.shape                                      # (8, 16, 16, 60): bars of 4/4 at 4 steps per quarter
    >>> m.discriminator_score(s, conds)                    # (8,), higher = more real

Sampling is deterministic: the same conditions, length, seed (and previous latents) give the same grids.
The output grid is :attr:`MusicModel.spec`: 4/4 bars of 16 sixteenth-note steps, MIDI 48..107. A
key-normalised model (the default) generates in C major / C minor and transposes each piece to a tonic
drawn from the corpus' tonics (``Sample.key_shift`` says by how much).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musicgen.errors import MusicgenError, UsageError
from musicgen.grid import GridSpec

#: Where the shipped default model lives.
SHIPPED_MODEL = Path(__file__).resolve().parent.parent / "weights" / "generator.pt"

_CHUNK = 256  # samples per forward pass (fixed, so results never depend on how many are asked for)


@dataclass
class Sample:
    """Generated pieces.

    Attributes:
        grids: int8 (N, bars, steps, pitches) of 0 silent / 1 onset / 2 hold, on :attr:`MusicModel.spec`.
        latents: float32 (N, bars, D): the generator's continuous bar latents, in model space (the VQ-VAE
            encoder's outputs standardised per dimension); what continuation takes as ``prev_latents``
            and the discriminator scores.
        codes: int64 (N, bars, G): the codebook entries the latents were quantised to for decoding.
        key_shift: int64 (N,): semitones each decoded piece was transposed by from the model's key frame
            (C major / C minor for a key-normalised model; all 0 otherwise). Pass it back as
            ``key_shift`` when continuing a piece, so the continuation stays in its key.
        keys: int64 (N, 2): each piece's key as (tonic pitch class, mode 0 major / 1 minor). For a
            key-normalised model the tonic is where C was moved to and the mode is read in C
            (:func:`musicgen.analysis.mode_in_key_frame`); otherwise Krumhansl–Schmuckler.
    """

    grids: np.ndarray
    latents: np.ndarray
    codes: np.ndarray
    key_shift: np.ndarray | None = None
    keys: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.grids.shape[0])


class MusicModel:
    """A loaded model: frozen bar VQ-VAE, generator and multi-scale discriminator (eval mode, CPU).

    Attributes:
        spec: the :class:`GridSpec` of the grids it writes.
        config: the configuration it was built from.
        meta: figures and notes saved with it (training summary, rules used, ...).
        path: the file it was loaded from.
    """

    def __init__(self, vqvae, generator, discriminator, config: dict, meta: dict, path: Path | None = None):
        from musicgen.model.data import MODEL_SPEC

        if generator is None:
            raise UsageError(f"{path}: this checkpoint holds only a VQ-VAE (training stopped before the GAN stage)")
        self.vqvae, self.generator, self.discriminator = vqvae, generator, discriminator
        self.config, self.meta, self.path = config, meta, path
        self.spec: GridSpec = MODEL_SPEC

    @property
    def latent_dim(self) -> int:
        """D, numbers per bar latent."""
        return int(self.vqvae.cfg.latent_dim)

    def _conds(self, condition_vectors) -> np.ndarray:
        c = np.asarray(condition_vectors, dtype=np.float32)
        if c.ndim == 1:
            c = c[None, :]
        if c.ndim != 2 or c.shape[1] != self.generator.cfg.cond_dim or not np.all(np.isfinite(c)):
            raise UsageError(
                f"condition vectors must be finite, shaped (N, {self.generator.cfg.cond_dim}); got {c.shape}"
            )
        return c

    @property
    def key_normalised(self) -> bool:
        """Whether the model works in C major / C minor (sampling then transposes each piece)."""
        return bool(self.meta.get("key_normalised", False))

    def model_frame_keys(self, grids: np.ndarray) -> np.ndarray:
        """Keys (N, 2) of (tonic, minor) of grids in the model's key frame: for a key-normalised model
        the tonic is C and the mode the better of C major / C minor; otherwise Krumhansl–Schmuckler."""
        from musicgen.analysis import estimate_keys, mode_in_key_frame, pitch_class_histograms

        hist = pitch_class_histograms(np.asarray(grids), self.spec.lowest_pitch)
        if not self.key_normalised:
            return estimate_keys(hist)
        return np.stack([np.zeros(len(hist), np.int64), mode_in_key_frame(hist, 0)], axis=1)

    def choose_key_shift(self, grids: np.ndarray, seed: int, minor: np.ndarray | None = None) -> np.ndarray:
        """Per piece, the transposition from the model's key frame to a tonic drawn (with ``seed``) from the
        training tunes' tonics of the piece's mode (``minor``, (N,) 0/1; None = read from the grids), placed
        in the octave that keeps the most notes in the violin range. All zeros for a model that is not
        key-normalised."""
        from musicgen.model.data import fit_shift

        g = np.asarray(grids)
        n = g.shape[0]
        if not self.key_normalised or n == 0:
            return np.zeros(n, np.int64)
        if minor is None:
            minor = self.model_frame_keys(g)[:, 1]
        pitches = np.arange(g.shape[-1]) + self.spec.lowest_pitch
        used = (g != 0).reshape(n, -1, g.shape[-1]).any(axis=1)
        dist = self.meta.get("tonic_distribution", {})
        rng = np.random.default_rng([int(seed), 7])
        u = rng.random(n)
        out = np.zeros(n, np.int64)
        for i in range(n):  # one cheap choice per piece (N is the candidate count)
            p = np.asarray(dist.get("minor" if minor[i] else "major", np.full(12, 1 / 12)), dtype=np.float64)
            t = int(np.searchsorted(np.cumsum(p / p.sum()), u[i], side="right").clip(0, 11))
            base = t if t <= 6 else t - 12
            if used[i].any():
                lo, hi = int(pitches[used[i]].min()), int(pitches[used[i]].max())
                out[i] = fit_shift(lo, hi, base)
            else:
                out[i] = base
        return out

    def sample(
        self,
        condition_vectors: np.ndarray,
        n_bars: int,
        seed: int,
        prev_latents: np.ndarray | None = None,
        key_shift: int | np.ndarray | None = None,
    ) -> Sample:
        """Generate ``N`` pieces of ``n_bars`` bars.

        Args:
            condition_vectors: float (N, 10) emotion vectors (:meth:`EmotionCondition.vector`); (10,) = one.
            n_bars: length in bars (>= 1; the model was trained on 16, and is built for 4, 8, 16, 32).
            seed: noise seed.
            prev_latents: the previous phrase's latents, (P, D) for all or (N, P, D) per piece; the new
                bars continue it.
            key_shift: transposition(s) from the model's key frame, one for all or (N,); None = drawn per
                piece (:meth:`choose_key_shift`). To continue a piece, pass its ``Sample.key_shift``.

        Returns:
            a :class:`Sample`.

        Raises:
            UsageError: bad shapes or ``n_bars`` < 1.
        """
        import torch

        c = self._conds(condition_vectors)
        n = c.shape[0]
        if int(n_bars) < 1:
            raise UsageError(f"n_bars must be >= 1, got {n_bars}")
        prev = None
        if prev_latents is not None:
            prev = np.asarray(prev_latents, dtype=np.float32)
            if prev.ndim == 2:
                prev = np.broadcast_to(prev, (n,) + prev.shape)
            if prev.ndim != 3 or prev.shape[0] != n or prev.shape[2] != self.latent_dim or prev.shape[1] < 1:
                raise UsageError(
                    f"prev_latents must be shaped (P, {self.latent_dim}) or ({n}, P, {self.latent_dim}); got {np.shape(prev_latents)}"
                )
        g = torch.Generator().manual_seed(int(seed))
        zg, zl = self.generator.noise(n, int(n_bars), g)
        lats, grids, codes = [], [], []
        with torch.no_grad():
            for s in range(0, n, _CHUNK):
                sl = slice(s, s + _CHUNK)
                pv = torch.from_numpy(np.ascontiguousarray(prev[sl])) if prev is not None else None
                lat = self.generator(torch.from_numpy(c[sl]), int(n_bars), noise=(zg[sl], zl[sl]), prev=pv)
                zq, cd, _ = self.vqvae.quantize(self.vqvae.denormalise(lat))
                grids.append(self.vqvae.hard_cells(self.vqvae.decode_logits(zq)).numpy())
                lats.append(lat.numpy())
                codes.append(cd.numpy())
        from musicgen.model.data import transpose_cells

        grid = np.concatenate(grids).astype(np.int8)
        keys = self.model_frame_keys(grid)
        if key_shift is None:
            shift = self.choose_key_shift(grid, int(seed), keys[:, 1])
        else:
            shift = np.broadcast_to(np.asarray(key_shift, dtype=np.int64), (n,)).copy()
        if shift.any():
            grid = transpose_cells(grid, shift)
        keys[:, 0] = (keys[:, 0] + shift) % 12
        return Sample(
            grid, np.concatenate(lats).astype(np.float32), np.concatenate(codes).astype(np.int64), shift, keys
        )

    def discriminator_score(self, sample: Sample | np.ndarray, condition_vectors: np.ndarray) -> np.ndarray:
        """How real the discriminator finds each piece: the mean over D1, D2, D3 of the mean over output
        positions of sigmoid(output), in (0, 1) (higher = more real).

        Args:
            sample: a :class:`Sample` or latents (N, bars, D).
            condition_vectors: (N, 10) (or (10,) for all).

        Raises:
            UsageError: bad shapes, or the model file has no discriminator.
        """
        import torch

        if self.discriminator is None:
            raise UsageError(f"{self.path}: this model file has no discriminator")
        lat = np.asarray(sample.latents if isinstance(sample, Sample) else sample, dtype=np.float32)
        if lat.ndim != 3 or lat.shape[2] != self.latent_dim:
            raise UsageError(f"latents must be shaped (N, bars, {self.latent_dim}); got {lat.shape}")
        c = self._conds(condition_vectors)
        if c.shape[0] == 1 and lat.shape[0] > 1:
            c = np.repeat(c, lat.shape[0], axis=0)
        if c.shape[0] != lat.shape[0]:
            raise UsageError(f"{lat.shape[0]} pieces but {c.shape[0]} condition vectors")
        out = []
        with torch.no_grad():
            for s in range(0, lat.shape[0], _CHUNK):
                res = self.discriminator(torch.from_numpy(lat[s : s + _CHUNK]), torch.from_numpy(c[s : s + _CHUNK]))
                out.append(torch.stack([torch.sigmoid(o).mean(dim=(1, 2)) for o, _ in res]).mean(0).numpy())
        return np.concatenate(out).astype(np.float64)

    def encode(self, grids: np.ndarray, key_shift: int | np.ndarray | None = None) -> np.ndarray:
        """Continuous latents (N, bars, D) of grids (N, bars, 16, 60) on :attr:`spec` (e.g. a user's phrase
        to continue). ``key_shift``: the grids' transposition from the model's key frame (a Sample's
        ``key_shift``), undone before encoding; None = the grids are in the model's frame already.

        Raises:
            UsageError: grids of another shape.
        """
        import torch

        from musicgen.model.data import transpose_cells

        g = np.asarray(grids)
        want = (self.spec.steps_per_bar, self.spec.n_pitches)
        if g.ndim != 4 or g.shape[2:] != want:
            raise UsageError(f"grids must be shaped (N, bars, {want[0]}, {want[1]}); got {g.shape}")
        if key_shift is not None:
            g = transpose_cells(g, -np.broadcast_to(np.asarray(key_shift, dtype=np.int64), (g.shape[0],)))
        with torch.no_grad():
            return (
                self.vqvae.normalise(self.vqvae.encode(torch.from_numpy(g.astype(np.int64)))).numpy().astype(np.float32)
            )

    def decode(self, latents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Quantise and decode latents (N, bars, D): returns (grids int8 in the model's key frame, codes int64)."""
        import torch

        lat = np.asarray(latents, dtype=np.float32)
        with torch.no_grad():
            zq, cd, _ = self.vqvae.quantize(self.vqvae.denormalise(torch.from_numpy(lat)))
            return self.vqvae.hard_cells(self.vqvae.decode_logits(zq)).numpy(), cd.numpy()


_cache: dict = {}


def load_model(path: str | Path | None = None) -> MusicModel:
    """Load a model file (None = the shipped default model, :data:`SHIPPED_MODEL`).

    Loaded models are cached by path and modification time.

    Raises:
        MusicgenError: the shipped model is missing (the message says how to train one).
        InputError: the file is missing, unreadable or not a musicgen model.
    """
    from musicgen.model.checkpoint import build_models, load_checkpoint

    p = Path(path) if path is not None else SHIPPED_MODEL
    if path is None and not p.is_file():
        raise MusicgenError(
            f"the shipped model is missing ({p}); train one with `musicgen train --out DIR` and pass its model.pt"
        )
    key = (str(p.resolve()), p.stat().st_mtime_ns if p.is_file() else None)
    if key in _cache:
        return _cache[key]
    ckpt = load_checkpoint(p)
    vq, gen, dis = build_models(ckpt, p)
    m = MusicModel(vq, gen, dis, ckpt["config"], ckpt.get("meta", {}), p)
    _cache.clear()
    _cache[key] = m
    return m
