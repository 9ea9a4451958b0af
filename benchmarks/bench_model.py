"""Figures of the shipped default model (or any model file), without any reranking.

    python benchmarks/bench_model.py [--model PATH] [--per-emotion 32]

Prints the mean pitch-class entropy of unreranked 16-bar pieces (``per-emotion`` pieces for each of the
8 labels, one sample each, no best-of-N) against the corpus test split's tunes, the share of notes in the
violin's range and of sounding steps within the polyphony limit, R_F, notes per bar and minor share per
emotion, and the training summary saved with the model (VQ-VAE test note-F1 and codebook perplexity,
seconds per iteration, D-loss oscillation).
"""

from __future__ import annotations

import argparse
import json


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="model file (default: the shipped one)")
    ap.add_argument("--per-emotion", type=int, default=32)
    args = ap.parse_args()

    import torch

    from musicgen.corpus import Corpus
    from musicgen.model.api import load_model
    from musicgen.model.train import corpus_reference, evaluate_model

    torch.set_num_threads(1)
    model = load_model(args.model)
    ref = corpus_reference(Corpus.load(), "test")
    ev = evaluate_model(model, n_per_emotion=args.per_emotion, themes=True)
    print(f"model: {model.path}")
    print(f"unreranked 16-bar pieces: {ev['pieces']} ({args.per_emotion} per emotion, seed 0)")
    print(f"mean PCE {ev['pce']:.3f} bits; corpus test split tunes {ref['pce_tunes']:.3f} bits; gap {ev['pce'] - ref['pce_tunes']:+.3f} bits")
    print(f"  (corpus test split as 16-bar model-grid windows: {ref['pce_windows16']:.3f} bits)")
    print(f"notes in the violin range: {ev['in_range']:.4f}; sounding steps within the polyphony limit: {ev['poly_ok']:.4f}")
    print(f"R_F (exact, violin rules) {ev['r_f']:.3f}; per rule " + ", ".join(f"{k} {v:+.3f}" for k, v in ev["rules"].items()))
    print(f"notes per bar {ev['notes_per_bar']:.2f}; minor share {ev['minor_share']:.3f}; themes per 16 bars {ev.get('themes', float('nan')):.2f}")
    print("per emotion (minor share, notes per bar): " + ", ".join(f"{k} {v['minor_share']:.2f}/{v['notes_per_bar']:.2f}" for k, v in ev["per_emotion"].items()))
    summary = model.meta.get("summary") or model.meta
    keep = {k: summary[k] for k in ("vqvae_test", "gan_iterations", "seconds_per_iteration_this_run", "d_loss_std_last_200", "final_val_pce", "val_ref_pce") if k in summary}
    print("training summary saved with the model: " + json.dumps(keep))


if __name__ == "__main__":
    main()
