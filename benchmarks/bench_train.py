"""Training cost and the ablation table of the D2M-GAN-SCA model.

Prints:

1. seconds per GAN iteration (batch 64, CPU, this machine; the load average is printed beside it because
   the figure depends on what else runs), and the time of the VQ-VAE stage;
2. the ablation table — the full model and each variant (``--no-sca``, ``--single-scale-disc``,
   ``--no-rule-reward``, ``--loss lsgan``), all trained from the same VQ-VAE with the same iterations and
   seed: discriminator-loss oscillation (std of the D loss over the last 200 iterations), mean PCE of
   unreranked 16-bar pieces and its gap to the corpus test split's tunes, exact R_F, share of notes in
   the violin range, theme count per 16 bars (:func:`musicgen.metrics.batch_theme_counts`);
3. the emotion response of the full model: minor-mode share and notes per bar per emotion label, beside
   the corpus test split's figures for tunes with that derived label.

Usage::

    python benchmarks/bench_train.py                       # 1400 iterations per variant (~40-60 min)
    python benchmarks/bench_train.py --iterations 400      # shorter, same comparison
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

VARIANTS = {
    "full": {},
    "no_sca": {"no_sca": True},
    "single_scale_disc": {"single_scale_disc": True},
    "no_rule_reward": {"no_rule_reward": True},
    "loss_lsgan": {"loss": "lsgan"},
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--iterations", type=int, default=1400, help="GAN iterations per variant (default 1400)")
    ap.add_argument("--vq-iterations", type=int, default=4000, help="VQ-VAE iterations (trained once, shared)")
    ap.add_argument("--vqvae-from", type=Path, default=None, help="reuse the VQ-VAE of this model/checkpoint instead of training one")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--corpus", type=Path, default=None, help="corpus file (default: the built cache)")
    ap.add_argument("--work", type=Path, default=None, help="folder for the runs (default: a temporary folder)")
    ap.add_argument("--per-emotion", type=int, default=16, help="pieces per emotion label for the figures (x8)")
    ap.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated subset of " + ",".join(VARIANTS))
    ap.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    a = ap.parse_args(argv)

    import torch

    from musicgen.corpus import Corpus
    from musicgen.model.api import load_model
    from musicgen.model.train import TrainConfig, apply_variant, corpus_reference, evaluate_model, train
    from musicgen.rules import RuleSet

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    work = a.work or Path(tempfile.mkdtemp(prefix="bench_train_"))
    work.mkdir(parents=True, exist_ok=True)
    corpus = Corpus.load(a.corpus)
    ref = corpus_reference(corpus, "test")
    rules = RuleSet.load("violin")
    names = [v.strip() for v in a.variants.split(",") if v.strip()]
    for n in names:
        if n not in VARIANTS:
            print(f"unknown variant {n!r}; choose from {', '.join(VARIANTS)}", file=sys.stderr)
            return 2

    print(f"corpus {corpus.path}: test split {ref['tunes']} tunes in {'/'.join(ref['meters'])}; "
          f"PCE {ref['pce_tunes']:.4f} bits (whole tunes), {ref['pce_windows16']:.4f} (16-bar windows), "
          f"{ref['pce_tunes_all_meters']:.4f} (all meters)")
    vq_from = a.vqvae_from
    if vq_from is None:
        t0 = time.perf_counter()
        load0 = os.getloadavg()[0]
        r = train(TrainConfig(seed=a.seed, vq_iterations=a.vq_iterations, iterations=0), work / "vq", corpus=corpus, force=True)
        vq_from = r.model_path
        vq = r.summary["vqvae_test"]
        print(f"VQ-VAE stage: {a.vq_iterations} iterations (batch 256) in {time.perf_counter() - t0:.1f} s "
              f"(load average {load0:.2f} -> {os.getloadavg()[0]:.2f})")
        print(f"VQ-VAE test split: onset F1 {vq['onset_f1']:.4f}, note F1 (with duration) {vq['note_f1']:.4f}, "
              f"perplexity {vq['perplexity']:.1f} of {vq['codebook_size']} ({vq['codes_used']} codes used), {vq['bars']} bars")

    results = {}
    for n in names:
        cfg = apply_variant(TrainConfig(seed=a.seed, iterations=a.iterations), **VARIANTS[n])
        load0 = os.getloadavg()[0]
        t0 = time.perf_counter()
        r = train(cfg, work / n, corpus=corpus, force=True, vqvae_from=vq_from)
        wall = time.perf_counter() - t0
        import csv

        with open(r.log_path, newline="") as f:
            rows = list(csv.DictReader(f))
        dl = np.asarray([float(x["d_loss"]) for x in rows])
        secs = np.asarray([float(x["seconds"]) for x in rows])
        ev = evaluate_model(load_model(r.model_path), rules, n_per_emotion=a.per_emotion, n_bars=16, seed=a.seed + 1000)
        results[n] = {
            "seconds_per_iteration": float(secs.mean()),
            "wall_seconds": wall,
            "load_average": [load0, os.getloadavg()[0]],
            "d_loss_std_last200": float(dl[-200:].std()),
            "d_loss_mean_last200": float(dl[-200:].mean()),
            "eval": ev,
            "pce_gap": ev["pce"] - ref["pce_tunes"],
        }
        print(f"  {n}: {len(rows)} iterations, {secs.mean():.3f} s/iteration, {wall:.0f} s wall "
              f"(load average {load0:.2f} -> {os.getloadavg()[0]:.2f})", flush=True)

    print()
    print(f"GAN iterations per variant: {a.iterations}; seed {a.seed}; {8 * a.per_emotion} unreranked 16-bar pieces each "
          f"({a.per_emotion} per emotion label); test-split PCE {ref['pce_tunes']:.4f} bits")
    hdr = f"{'variant':<18} {'s/it':>6} {'D-loss std':>10} {'PCE':>7} {'PCE gap':>8} {'R_F':>7} {'in range':>8} {'poly ok':>7} {'themes/16':>9} {'notes/bar':>9}"
    print(hdr)
    print("-" * len(hdr))
    for n, r in results.items():
        e = r["eval"]
        print(f"{n:<18} {r['seconds_per_iteration']:>6.3f} {r['d_loss_std_last200']:>10.4f} {e['pce']:>7.4f} {r['pce_gap']:>+8.4f} "
              f"{e['r_f']:>7.4f} {e['in_range']:>8.4f} {e['poly_ok']:>7.4f} {e.get('themes', float('nan')):>9.3f} {e['notes_per_bar']:>9.3f}")
    if "full" in results:
        e = results["full"]["eval"]
        print()
        print("emotion response of the full model (unreranked) vs the test split's tunes with that derived label")
        print(f"{'emotion':<10} {'minor share':>11} {'notes/bar':>9} {'PCE':>7} {'R_F':>7} | {'test tunes':>10} {'minor':>6} {'notes/bar':>9}")
        for name, v in e["per_emotion"].items():
            c = ref["per_emotion"].get(name)
            cs = f"{c['tunes']:>10d} {c['minor_share']:>6.3f} {c['notes_per_bar']:>9.3f}" if c else f"{'-':>10} {'-':>6} {'-':>9}"
            print(f"{name:<10} {v['minor_share']:>11.3f} {v['notes_per_bar']:>9.3f} {v['pce']:>7.4f} {v['r_f']:>7.4f} | {cs}")
        print(f"rule satisfaction (share of events): " + ", ".join(f"{k} {v:.4f}" for k, v in e["satisfied"].items()))
    if a.json:
        a.json.write_text(json.dumps({"reference": ref, "results": results, "args": {k: str(v) for k, v in vars(a).items()}}, indent=2, default=float))
    print(f"\nruns in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
