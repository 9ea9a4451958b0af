"""Training cost and the paper's comparisons, long enough to mean something.

    python benchmarks/bench_train.py [--iterations 1400] [--per-emotion 8] [--vqvae-from MODEL] [--variants full,no_sca,...]

1. The VQ-VAE stage is trained once (or taken from ``--vqvae-from``) and shared: every variant trains
   its GAN stage from the same VQ-VAE, with the recipe's length and seed
   (``musicgen.model.config.TrainConfig`` defaults).
2. Variants (``musicgen.model.config.VARIANTS``): the full model, no SCA, single-scale discriminator
   (MelGAN's k41 grouped convs), no rule reward, LSGAN loss.
3. Each variant's model is judged like the shipped one (``musicgen.judge``), on pieces written by the
   default ``generate`` path (best of 32): the 8 labels and the 4 V/A corners x ``--per-emotion`` seeds
   (96 pieces with the default 8), paired noise. Printed per variant, each with a 95 % bootstrap
   interval: PCE gap to the held-out tunes, R_F, the valence shares (positive in major, negative in minor;
   Temperley-Kostka-Payne), the arousal pair share, NN rhythm, NN contour, distinct bar rhythms, copied
   4-bar windows, and the spread of the discriminator's loss over the last 200 iterations.
4. Then each variant's difference from the full model, with its interval from a paired bootstrap over
   pieces (the same seeds and conditions in every variant), marked * where the interval excludes 0.

A full run takes several hours on a 2-core CPU (each variant trains the recipe's GAN stage); run it in
the background and keep its output, e.g. ``nohup python benchmarks/bench_train.py > bench_train.txt``.
On two cores, two processes with ``--work W --resume`` and disjoint ``--variants`` train in parallel; a
last ``--work W --resume`` run over all variants then only judges them (the wall times it prints are then
the judging's; the seconds per iteration are the training's, from each run's log).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _paired_diff(a: np.ndarray, b: np.ndarray, n: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Mean of a − b over paired units and its percentile-bootstrap 95 % interval."""
    d = np.asarray(a, float) - np.asarray(b, float)
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, d.size, size=(n, d.size))].mean(axis=1)
    return float(d.mean()), float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def _figures(model, seeds, index, ref_pce) -> dict:
    """Per-piece arrays and summary figures of one model."""
    from musicgen import judge

    pieces = judge.generate_and_judge(model, seeds)
    ctl = judge.control_figures(pieces)
    labels = [p for p in pieces if p.condition in judge.EMOTIONS]
    div = judge.diversity_with_intervals(np.stack([p.cells for p in labels]), index)
    from musicgen.metrics import pitch_class_entropy
    from musicgen.metrics.diversity import bar_contours, bar_rhythms, nearest_neighbour_share

    cells = np.stack([p.cells for p in labels])
    per = {
        "pce_gap": np.asarray([pitch_class_entropy(p.composition) - ref_pce for p in pieces], float),
        "r_f": np.asarray([p.report["r_f"] for p in pieces], float),
        "valence_ok": np.asarray(
            [
                (p.mode == "major")
                if p.valence > judge.VALENCE_SIDE
                else (p.mode == "minor")
                if p.valence < -judge.VALENCE_SIDE
                else np.nan
                for p in pieces
            ],
            float,
        ),
        "nn_rhythm": nearest_neighbour_share(bar_rhythms(cells)),
        "nn_contour": nearest_neighbour_share(bar_contours(cells)),
    }
    return {"per_piece": per, "control": ctl, "diversity": div, "pieces": len(pieces)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=None, help="GAN iterations per variant (default: the recipe's)")
    ap.add_argument(
        "--vqvae-from",
        type=Path,
        default=None,
        help="reuse the VQ-VAE of this model/checkpoint instead of training one",
    )
    ap.add_argument("--per-emotion", type=int, default=8, help="seeds per condition (x12 conditions)")
    ap.add_argument("--variants", default=None, help="comma-separated subset of the variants")
    ap.add_argument("--work", type=Path, default=None, help="folder for the runs (default: a temporary folder)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    ap.add_argument(
        "--threads", type=int, default=1, help="torch CPU threads (1 is fastest on a shared 2-core machine)"
    )
    ap.add_argument(
        "--resume",
        action="store_true",
        help="continue the variants' runs in --work from their checkpoints (a finished run is only "
        "judged): split the variants over processes, then judge them all together",
    )
    a = ap.parse_args(argv)

    import torch

    from musicgen import judge
    from musicgen.corpus import Corpus
    from musicgen.model.api import load_model
    from musicgen.model.config import VARIANTS, TrainConfig, apply_variant
    from musicgen.model.train import train

    torch.set_num_threads(a.threads)
    names = [v.strip() for v in (a.variants or ",".join(VARIANTS)).split(",") if v.strip()]
    for n in names:
        if n not in VARIANTS:
            print(f"unknown variant {n!r}; choose from {', '.join(VARIANTS)}", file=sys.stderr)
            return 2
    work = a.work or Path(tempfile.mkdtemp(prefix="bench_train_"))
    work.mkdir(parents=True, exist_ok=True)
    corpus = Corpus.load()
    recipe = TrainConfig()
    iterations = a.iterations or recipe.iterations
    print(
        f"torch threads {torch.get_num_threads()}; load average at start {os.getloadavg()[0]:.2f}; GAN iterations per variant {iterations}"
    )
    vq_from = a.vqvae_from
    if vq_from is None:
        t0 = time.perf_counter()
        r = train(TrainConfig(iterations=0), work / "vq", corpus=corpus, force=True)
        vq_from = r.model_path
        vq = r.summary["vqvae_test"]
        print(
            f"VQ-VAE stage: {recipe.vq_iterations} iterations (batch {recipe.vq_batch}) in {time.perf_counter() - t0:.0f} s; test split onset F1 "
            f"{vq['onset_f1']:.4f}, note F1 {vq['note_f1']:.4f}, perplexity {vq['perplexity']:.1f} of {vq['codebook_size']}"
        )
    ref_pce = judge.heldout_pce(corpus)
    index = judge.training_index(corpus)
    seeds = range(100, 100 + a.per_emotion)
    results = {}
    for n in names:
        cfg = apply_variant(TrainConfig(iterations=iterations), **VARIANTS[n])
        t0 = time.perf_counter()
        resume = a.resume and (work / n / "checkpoint.pt").is_file()
        r = train(cfg, work / n, corpus=corpus, resume=resume, force=not resume, vqvae_from=vq_from)
        wall = time.perf_counter() - t0
        with open(r.log_path, newline="") as f:
            rows = list(csv.DictReader(f))
        dl = np.asarray([float(x["d_loss"]) for x in rows])
        s_it = float(np.mean([float(x["seconds"]) for x in rows]))  # from the log: right after a resume too
        f = _figures(load_model(r.model_path), seeds, index, ref_pce)
        f.update(wall_seconds=wall, seconds_per_iteration=s_it, d_loss_std_last200=float(dl[-200:].std()))
        results[n] = f
        print(
            f"  {n}: {len(rows)} iterations, {s_it:.2f} s/iteration; this process {wall:.0f} s; judged on {f['pieces']} pieces",
            flush=True,
        )

    def ci(x) -> str:
        x = np.asarray(x, float)
        x = x[np.isfinite(x)]
        lo, hi = judge.bootstrap_interval(x)
        return f"{x.mean():+.3f} [{lo:+.3f},{hi:+.3f}]"

    def sh(s) -> str:
        return f"{s['share']:.3f} [{s['lo']:.2f},{s['hi']:.2f}]"

    print(
        f"\nheld-out tunes' PCE {ref_pce:.4f} bits; {len(seeds)} seeds x 12 conditions per variant, best of 32, paired noise"
    )
    for n, f in results.items():
        c, d, p = f["control"], f["diversity"], f["per_piece"]
        print(f"{n}:")
        print(
            f"   PCE gap {ci(p['pce_gap'])}   R_F {ci(p['r_f'])}   D-loss std (last 200) {f['d_loss_std_last200']:.4f}"
        )
        print(
            f"   valence: positive in major {sh(c['labels']['positive'])} (labels), {sh(c['corners']['positive'])} (corners); "
            f"negative in minor {sh(c['labels']['negative'])} (labels), {sh(c['corners']['negative'])} (corners)"
        )
        print(
            f"   arousal pairs denser {sh(c['labels']['arousal_pairs'])} (labels), {sh(c['corners']['arousal_pairs'])} (corners)"
        )
        print(
            f"   NN rhythm {d['nn_rhythm']:.3f} [{d['nn_rhythm_ci'][0]:.3f},{d['nn_rhythm_ci'][1]:.3f}]  NN contour {d['nn_contour']:.3f} "
            f"[{d['nn_contour_ci'][0]:.3f},{d['nn_contour_ci'][1]:.3f}]  distinct rhythms {d['distinct_rhythms']:.3f}  copied windows {d['copied_windows']:.3f}"
        )
    if "full" in results:
        print(
            "\ndifference from the full model (paired bootstrap over the same pieces; * = the 95 % interval excludes 0):"
        )
        base = results["full"]["per_piece"]
        for n, f in results.items():
            if n == "full":
                continue
            parts = []
            for k in ("pce_gap", "r_f", "valence_ok", "nn_rhythm", "nn_contour"):
                x, y = f["per_piece"][k], base[k]
                ok = np.isfinite(x) & np.isfinite(y)
                m, lo, hi = _paired_diff(x[ok], y[ok])
                parts.append(f"{k} {m:+.3f} [{lo:+.3f},{hi:+.3f}]{'*' if lo > 0 or hi < 0 else ''}")
            print(f"   {n}: " + "; ".join(parts))
    if a.json:
        a.json.write_text(
            json.dumps(
                {n: {k: v for k, v in f.items() if k != "per_piece"} for n, f in results.items()},
                indent=2,
                default=float,
            )
        )
    print(f"\nruns in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
