"""The emotion terms of the generator's objective: losses on the decoded *soft* grid that make the
music follow the condition.

The generator's bars are quantised with the straight-through estimator and decoded by the frozen
VQ-VAE into per-step class probabilities, read as onset and sounding probabilities per pitch
(:func:`musicgen.model.vqvae.soft_cells`) — the same bars that sampling produces. Two attributes of that
soft grid are differentiable and grounded in how listeners hear emotion in music:

* **mode** (valence): the duration-weighted soft pitch-class histogram correlated with the 24 key
  profiles (:func:`soft_key_correlations`; Krumhansl–Kessler, the quantities
  :func:`musicgen.analysis.estimate_keys` takes the best of, and Bellman–Budge). The model works in
  C major / C minor (key normalisation), so a positive valence asks for "C major" and a negative one
  for "C minor": :func:`mode_loss` is the cross-entropy of a softmax over the 24 keys towards that key
  under both profile sets (it also keeps the piece clearly *in* C, not in a neighbouring key). Many of
  the corpus' minor tunes are modal (natural minor, dorian) and read as their relative major under
  other key finders; a sad request should sound minor, so the second profile set asks for the minor
  that every model of key hears as minor, with the harmonic minor's leading tone;
* **rhythmic activity** (arousal): soft note onsets per bar (:func:`onsets_per_bar`).
  :func:`paired_density_loss` compares two pieces generated from the *same* noise under two conditions
  whose arousal differs, and asks the higher-arousal one to have at least ``slope`` more onsets per bar
  per unit of arousal; :func:`density_line_loss` keeps the level near the corpus' own line of onsets per
  bar against arousal.

Style terms keep the generated music close to what fiddle tunes do, whatever the condition:
:func:`out_of_scale` (time spent outside the scale of the wanted mode), :func:`leap_excess` (melodic leaps
beyond a fifth) and :func:`pitch_spread` (register spread).

The adversarial losses (:func:`d_loss`, :func:`g_adv_loss`) and the clamped mode-seeking term
(:func:`mode_seeking_loss`) complete the generator's objective (:class:`musicgen.model.config.TrainConfig`).

These are rewards of the same kind as the music-theory reward R_F (a differentiable reading of the
decoded music), written as losses to minimise.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from musicgen.analysis import key_profiles
from musicgen.rules.chords import SCALE_STEPS

#: Adversarial losses.
LOSSES = ("bce", "hinge", "lsgan")

#: The key-profile sets the mode term reads with (:func:`musicgen.analysis.key_profiles`): Krumhansl–Kessler
#: (what made the corpus' labels) and Bellman–Budge (whose minor has the harmonic minor's leading tone).
MODE_PROFILES = ("kk", "bb")
_PROFILES_T = {k: torch.from_numpy(key_profiles(k)).float() for k in MODE_PROFILES}  # (24, 12) each

#: Indices of C major and C minor in :func:`musicgen.analysis.key_profiles` order.
C_MAJOR, C_MINOR = 0, 12


def soft_key_correlations(sounding: torch.Tensor, lowest_pitch: int, kind: str = "kk") -> torch.Tensor:
    """Pearson correlations (N, 24) of each soft grid's duration-weighted pitch-class histogram with the
    24 key profiles of set ``kind`` (C..B major, then C..B minor).

    Args:
        sounding: (N, bars, steps, pitches) probabilities that each pitch sounds at each step.
        lowest_pitch: MIDI pitch of pitch index 0.
        kind: a profile set of :data:`MODE_PROFILES`.
    """
    per_pitch = sounding.sum(dim=(1, 2))  # (N, P)
    pcs = (torch.arange(per_pitch.shape[1]) + int(lowest_pitch)) % 12
    hist = torch.zeros(per_pitch.shape[0], 12, dtype=per_pitch.dtype).index_add(1, pcs, per_pitch)
    h = hist - hist.mean(1, keepdim=True)
    hn = h / (h.norm(dim=1, keepdim=True) + 1e-6)
    return hn @ _PROFILES_T[kind].to(per_pitch.dtype).t()


def mode_contrast(sounding: torch.Tensor, lowest_pitch: int) -> torch.Tensor:
    """Correlation with C major minus correlation with C minor, per piece (N,): positive = major."""
    c = soft_key_correlations(sounding, lowest_pitch)
    return c[:, C_MAJOR] - c[:, C_MINOR]


def major_weight(valence: torch.Tensor, sharpness: float = 2.5) -> torch.Tensor:
    """How much a valence asks for major, in [0, 1]: ``clip(0.5 + sharpness·v, 0, 1)`` (v ≥ 0.2 → 1,
    v ≤ −0.2 → 0, neutral 0.5)."""
    return torch.clamp(0.5 + sharpness * valence, 0.0, 1.0)


def mode_loss(
    sounding: torch.Tensor, valence: torch.Tensor, lowest_pitch: int, temperature: float = 0.05
) -> torch.Tensor:
    """Per piece (N,): cross-entropy of softmax(key correlations / temperature) towards C major with
    weight :func:`major_weight` and towards C minor with the rest, averaged over the profile sets of
    :data:`MODE_PROFILES` (so that the piece reads in its mode under more than one model of key)."""
    w = major_weight(valence)
    out = 0.0
    for kind in MODE_PROFILES:
        logp = torch.log_softmax(soft_key_correlations(sounding, lowest_pitch, kind) / temperature, dim=1)
        out = out - (w * logp[:, C_MAJOR] + (1.0 - w) * logp[:, C_MINOR])
    return out / len(MODE_PROFILES)


def onsets_per_bar(onset: torch.Tensor) -> torch.Tensor:
    """Expected note onsets per bar (N,) of soft onset probabilities (N, bars, steps, pitches)."""
    return onset.sum(dim=(1, 2, 3)) / onset.shape[1]


def density_line_loss(
    npb: torch.Tensor, arousal: torch.Tensor, line: tuple[float, float], scale: float = 4.0
) -> torch.Tensor:
    """Per piece (N,): ``((npb − (c0 + c1·a)) / scale)²``, the distance of onsets per bar from the
    corpus' least-squares line ``line = (c0, c1)`` at arousal ``a``."""
    return ((npb - (line[0] + line[1] * arousal)) / scale).pow(2)


def paired_density_loss(
    npb_a: torch.Tensor, npb_b: torch.Tensor, arousal_a: torch.Tensor, arousal_b: torch.Tensor, slope: float
) -> torch.Tensor:
    """Per pair (N,): hinge ``relu(slope·|Δa| − sign(Δa)·Δnpb)`` for two pieces from the same noise under
    arousals ``a`` and ``b``: zero once the higher-arousal piece has at least ``slope`` more onsets per
    bar per unit of arousal than the other."""
    da = arousal_a - arousal_b
    return torch.relu(slope * da.abs() - torch.sign(da) * (npb_a - npb_b))


#: Pitch classes (in the key frame of C) of the major scale, and of the minor scales: natural minor
#: (the rules engine's :data:`musicgen.rules.chords.SCALE_STEPS`) plus the harmonic minor's leading tone B.
SCALES = (SCALE_STEPS[0], np.append(SCALE_STEPS[1], 11))


def out_of_scale(sounding: torch.Tensor, want_minor: torch.Tensor, lowest_pitch: int) -> torch.Tensor:
    """Per piece (N,): the share of sounding time on pitch classes outside the scale of the wanted mode
    (:data:`SCALES`, in C; ``want_minor`` (N,) in [0, 1] mixes the two)."""
    per_pitch = sounding.sum(dim=(1, 2))
    pcs = (torch.arange(per_pitch.shape[1]) + int(lowest_pitch)) % 12
    hist = torch.zeros(per_pitch.shape[0], 12, dtype=per_pitch.dtype).index_add(1, pcs, per_pitch)
    p = hist / hist.sum(1, keepdim=True).clamp_min(1e-6)
    outside = []
    for scale in SCALES:
        mask = torch.ones(12, dtype=p.dtype)
        mask[torch.from_numpy(scale)] = 0.0
        outside.append((p * mask).sum(1))
    return (1.0 - want_minor) * outside[0] + want_minor * outside[1]


def pitch_spread(sounding: torch.Tensor, lowest_pitch: int) -> torch.Tensor:
    """Per piece (N,): the standard deviation (semitones) of the sounding pitches, duration-weighted."""
    per_pitch = sounding.sum(dim=(1, 2))
    w = per_pitch / per_pitch.sum(1, keepdim=True).clamp_min(1e-6)
    pitch = torch.arange(per_pitch.shape[1], dtype=per_pitch.dtype) + float(lowest_pitch)
    mean = (w * pitch).sum(1, keepdim=True)
    return ((w * (pitch - mean).pow(2)).sum(1) + 1e-6).sqrt()


def leap_excess(sounding: torch.Tensor, lowest_pitch: int, largest: float = 7.0) -> torch.Tensor:
    """Per piece (N,): the mean, over consecutive sounding steps, of how far the (expected) sounding
    pitch moves beyond ``largest`` semitones (a fifth): ``relu(|Δpitch| − largest)``. Melodies that move
    by step or small skips cost nothing; wide leaps cost in proportion."""
    flat = sounding.reshape(sounding.shape[0], -1, sounding.shape[-1])  # (N, T, P)
    mass = flat.sum(-1)
    pitch = torch.arange(flat.shape[-1], dtype=flat.dtype) + float(lowest_pitch)
    expected = (flat * pitch).sum(-1) / mass.clamp_min(1e-6)
    both = mass[:, 1:].clamp(max=1.0) * mass[:, :-1].clamp(max=1.0)
    excess = torch.relu((expected[:, 1:] - expected[:, :-1]).abs() - largest)
    return (both * excess).sum(1) / both.sum(1).clamp_min(1.0)


#: Register spread (semitones, duration-weighted standard deviation of the pitches) above which
#: :func:`melodic_shape_loss` charges; the corpus' 16-bar windows: median 4.6, 90th percentile 5.7.
SPREAD_LIMIT = 6.0


def melodic_shape_loss(sounding: torch.Tensor, lowest_pitch: int) -> torch.Tensor:
    """Per piece (N,): :func:`leap_excess` plus ``0.25·relu(spread − SPREAD_LIMIT)²`` (:func:`pitch_spread`)."""
    return leap_excess(sounding, lowest_pitch) + 0.25 * torch.relu(
        pitch_spread(sounding, lowest_pitch) - SPREAD_LIMIT
    ).pow(2)


def mode_seeking_loss(
    fake_a: torch.Tensor, fake_b: torch.Tensor, noise_a, noise_b, clamp: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Clamped mode-seeking term (MSGAN, Mao et al. 2019): two noise draws under the same conditions
    give latents ``fake_a``, ``fake_b`` (B, bars, D); their distance per unit of noise distance,
    ``ratio = mean|a − b| / mean|z_a − z_b|`` (noise: the generator's (global, local) pair), should be
    at least ``clamp``, about what two real phrases have. The loss is ``relu(clamp − ratio)`` — unlike
    MSGAN's ``1 / ratio`` it stops pushing once pieces differ as much as real ones do, so it never
    rewards latents that leave the data.

    Returns:
        (loss (scalar), mean ratio (scalar, for the log)).
    """
    dz = torch.cat([(noise_a[0] - noise_b[0]).abs().flatten(1), (noise_a[1] - noise_b[1]).abs().flatten(1)], 1).mean(1)
    ratio = (fake_a - fake_b).abs().mean(dim=(1, 2)) / dz
    return torch.relu(clamp - ratio).mean(), ratio.mean()


def d_loss(real: list[torch.Tensor], fake: list[torch.Tensor], kind: str = "bce") -> torch.Tensor:
    """Discriminator loss averaged over scales (each a mean over batch and positions).

    ``bce``: softplus(−D(x)) + softplus(D(G(z))) (cross-entropy with logits); ``hinge``: relu(1 − D(x)) +
    relu(1 + D(G(z))); ``lsgan``: (D(x) − 1)² + D(G(z))².

    Raises:
        ValueError: unknown ``kind``.
    """
    terms = []
    for r, f in zip(real, fake):
        if kind == "bce":
            terms.append(F.softplus(-r).mean() + F.softplus(f).mean())
        elif kind == "hinge":
            terms.append(F.relu(1 - r).mean() + F.relu(1 + f).mean())
        elif kind == "lsgan":
            terms.append((r - 1).pow(2).mean() + f.pow(2).mean())
        else:
            raise ValueError(f"unknown loss {kind!r}; choose from {', '.join(LOSSES)}")
    return torch.stack(terms).mean()


def g_adv_loss(fake: list[torch.Tensor], kind: str = "bce") -> torch.Tensor:
    """Generator adversarial loss averaged over scales: ``bce`` non-saturating softplus(−D(G(z))),
    ``hinge`` −D(G(z)), ``lsgan`` (D(G(z)) − 1)².

    Raises:
        ValueError: unknown ``kind``.
    """
    terms = []
    for f in fake:
        if kind == "bce":
            terms.append(F.softplus(-f).mean())
        elif kind == "hinge":
            terms.append(-f.mean())
        elif kind == "lsgan":
            terms.append((f - 1).pow(2).mean())
        else:
            raise ValueError(f"unknown loss {kind!r}; choose from {', '.join(LOSSES)}")
    return torch.stack(terms).mean()


def density_line(bars: np.ndarray, offsets: np.ndarray, arousal: np.ndarray) -> tuple[float, float]:
    """The corpus' least-squares line (c0, c1) of onsets per bar against derived arousal over tunes.

    Args:
        bars: int8 (n_bars_total, steps, pitches) cells of every tune (ONSET = 1).
        offsets: (n_tunes + 1,) tune boundaries in ``bars``.
        arousal: (n_tunes,) derived arousal.
    """
    from musicgen.grid import ONSET

    onsets = (np.asarray(bars) == ONSET).reshape(len(bars), -1).sum(axis=1)
    per_tune = np.add.reduceat(onsets, offsets[:-1]) / np.maximum(np.diff(offsets), 1)
    a = np.asarray(arousal, dtype=np.float64)
    if per_tune.size > 1 and np.ptp(a) > 0:
        c1, c0 = np.polyfit(a, per_tune, 1)
        return float(c0), float(c1)
    return float(per_tune.mean()), 0.0


__all__ = [
    "C_MAJOR",
    "C_MINOR",
    "LOSSES",
    "MODE_PROFILES",
    "SCALES",
    "d_loss",
    "g_adv_loss",
    "SPREAD_LIMIT",
    "melodic_shape_loss",
    "mode_seeking_loss",
    "density_line",
    "leap_excess",
    "out_of_scale",
    "pitch_spread",
    "density_line_loss",
    "major_weight",
    "mode_contrast",
    "mode_loss",
    "onsets_per_bar",
    "paired_density_loss",
    "soft_key_correlations",
]
