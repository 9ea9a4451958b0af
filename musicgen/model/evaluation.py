"""Figures of a model during training: the VQ-VAE's reconstruction, and a quick control probe of the
generator that training logs every ``val_every`` iterations.

The figures that judge the shipped model's music (control on the composition, diversity, copying) are
:mod:`musicgen.judge`'s; the probe here is their cheap, unreranked version for watching a run.
"""

from __future__ import annotations

import numpy as np

#: The probe's conditions: the four valence/arousal corners, (v, a).
PROBE_CORNERS = ((0.8, 0.6), (0.8, -0.6), (-0.8, 0.6), (-0.8, -0.6))


def control_probe_inputs(gen, n_bars: int, seed: int, seeds: int = 16):
    """Fixed noise (``seeds`` draws, each repeated under the 4 corners of :data:`PROBE_CORNERS`) and the
    matching condition vectors, for :func:`control_probe`."""
    import torch

    from musicgen.conditions import from_valence_arousal

    g = torch.Generator().manual_seed(seed)
    zg, zl = gen.noise(seeds, n_bars, g)
    k = len(PROBE_CORNERS)
    noise = (zg.repeat_interleave(k, 0), zl.repeat_interleave(k, 0))
    cond = np.stack([from_valence_arousal(v, a).vector() for v, a in PROBE_CORNERS] * seeds)
    return noise, torch.from_numpy(cond)


def control_probe(gen, vq, noise, cond, n_bars: int) -> dict:
    """Quick figures of unreranked pieces from fixed paired noise (see :func:`control_probe_inputs`):
    nearest-neighbour rhythm share and distinct bar rhythms (:mod:`musicgen.metrics.diversity`), share of
    pieces in the mode their valence asks for (read in C), share of seed pairs with the high-arousal piece
    denser (onsets per bar)."""
    import torch

    from musicgen.analysis import mode_in_key_frame, note_starts, pitch_class_histograms
    from musicgen.metrics.diversity import bar_rhythms, distinct_share, nearest_neighbour_share
    from musicgen.model.data import MODEL_SPEC

    with torch.no_grad():
        lat = gen.eval()(cond, n_bars, noise=noise)
        cells = vq.hard_cells(vq.decode_logits(vq.quantize(vq.denormalise(lat))[0])).numpy()
    rh = bar_rhythms(cells)
    minor = mode_in_key_frame(pitch_class_histograms(cells, MODEL_SPEC.lowest_pitch))
    v = cond[:, 8].numpy()
    npb = note_starts(cells).reshape(len(cells), -1).sum(1) / n_bars
    k = len(PROBE_CORNERS)
    npb = npb.reshape(-1, k)  # seeds x corners: (+,+) (+,-) (-,+) (-,-)
    dense = np.r_[npb[:, 0] > npb[:, 1], npb[:, 2] > npb[:, 3]]
    return {
        "val_nn_rhythm": float(nearest_neighbour_share(rh).mean()),
        "val_distinct": distinct_share(rh),
        "val_mode_ok": float(np.mean(minor.astype(bool) == (v < 0))),
        "val_dense_pairs": float(dense.mean()),
    }


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


__all__ = ["PROBE_CORNERS", "control_probe", "control_probe_inputs", "evaluate_vqvae"]
