"""Linear probes on the shipped VQ-VAE's bar latents of real tunes: does the representation carry mode and density?

    python benchmarks/bench_latent_probe.py [--checkpoint MODEL]

The generator writes in the VQ-VAE's latent space, so it can follow valence (mode) and arousal (rhythmic
activity) only if those are readable there. For each 4-bar window of the corpus' tunes (moved to C major /
C minor, as the model sees them), the feature is the mean of its normalised bar latents. A class-balanced
logistic regression reads the tune's mode and least squares its onsets per bar; both are fitted on the
train split and scored on the test split.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch


def window_features(model, corpus, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean normalised latent (N, D), minor (N,) and onsets per bar (N,) of every 4-bar window of ``split``."""
    from musicgen.grid import note_starts
    from musicgen.model.data import build_bar_dataset

    ds = build_bar_dataset(corpus, split, key_normalise=True)
    vq = model.vqvae.eval()
    feats, minor, density = [], [], []
    for k in range(len(ds.offsets) - 1):
        bars = ds.bars[ds.offsets[k] + ds.first_full[k] : ds.offsets[k + 1]]
        for s in range(0, len(bars) - 3, 4):
            w = bars[s : s + 4]
            with torch.no_grad():
                z = vq.normalise(vq.encode(torch.from_numpy(w.astype(np.int64)))).numpy()
            feats.append(z.mean(0))
            minor.append(int(ds.minor[k]))
            density.append(note_starts(w[None]).sum() / 4)
    return np.asarray(feats), np.asarray(minor), np.asarray(density, float)


def balanced_logistic(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Weights (D + 1,) of an L2-regularised logistic regression with the positive class reweighted to balance."""
    xt = torch.from_numpy(np.c_[x, np.ones(len(x))]).float()
    yt = torch.from_numpy(y).float()
    pos_weight = torch.tensor((1 - y.mean()) / y.mean())
    w = torch.zeros(xt.shape[1], requires_grad=True)
    opt = torch.optim.LBFGS([w], max_iter=200)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(xt @ w, yt, pos_weight=pos_weight)
        loss = loss + 1e-3 * w.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach().numpy()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default=None, help="model file (default: the shipped model)")
    args = ap.parse_args()
    from musicgen.corpus import Corpus
    from musicgen.model.api import load_model

    torch.set_num_threads(1)
    model, corpus = load_model(args.checkpoint), Corpus.load()
    x_tr, m_tr, d_tr = window_features(model, corpus, "train")
    x_te, m_te, d_te = window_features(model, corpus, "test")
    mu, sd = x_tr.mean(0), x_tr.std(0) + 1e-6
    a, b = (x_tr - mu) / sd, (x_te - mu) / sd
    w = balanced_logistic(a, m_tr)
    said_minor = np.c_[b, np.ones(len(b))] @ w > 0
    balanced = 0.5 * (said_minor[m_te == 1].mean() + (~said_minor[m_te == 0]).mean())
    beta, *_ = np.linalg.lstsq(np.c_[a, np.ones(len(a))], d_tr, rcond=None)
    pred = np.c_[b, np.ones(len(b))] @ beta
    r2 = 1 - ((pred - d_te) ** 2).sum() / ((d_te - d_te.mean()) ** 2).sum()
    print(f"4-bar windows: train {len(a)}, test {len(b)} (minor: {m_te.mean():.3f} of the test windows)")
    print(f"mode (minor vs major) from the mean latent: test balanced accuracy {balanced:.3f}")
    print(f"onsets per bar from the mean latent: test R^2 {r2:.3f}")


if __name__ == "__main__":
    main()
