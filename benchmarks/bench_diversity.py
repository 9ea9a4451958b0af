"""Is the generator writing different music for different seeds, and music of its own?

    python benchmarks/bench_diversity.py [--per-emotion 8] [--bars 16] [--candidates 32] [--checkpoint PATH]

Generates one piece per (emotion label, seed) with the default ``generate`` path (8 labels x
``--per-emotion`` seeds, seeds 100, 101, ...) and measures, on the written composition's bar grid, next
to 64 held-out 4/4 tunes of the corpus' test split (16 bars each, from their first full bar):

* NN rhythm: for each piece, the other piece with the most aligned bars of identical onset pattern, and
  the share of such bars (mean over pieces, with a 95 % bootstrap interval);
* NN contour: the same with the bar's melodic contour (signs of successive intervals);
* distinct bar rhythms: distinct onset patterns over all bars;
* copied windows: the share of 4-bar windows (transposition-invariant) that also occur in the training
  split.

Definitions: :mod:`musicgen.metrics.diversity`. Then the quality of the same pieces: pitch-class entropy
(MusPy's definition) against the held-out tunes' (whole tunes of the test split in the model's meters),
R_F of the written piece (best of 32), and the share of notes in the violin range (G3-E7). Last, a few
pieces as note names (the first two bars), two seeds of the same emotion side by side and two real tunes,
to be read.
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-emotion", type=int, default=8, help="seeds per emotion label (x8 pieces)")
    ap.add_argument("--bars", type=int, default=16)
    ap.add_argument("--candidates", type=int, default=32)
    ap.add_argument("--reference", type=int, default=64, help="held-out tunes")
    ap.add_argument("--checkpoint", default=None, help="model file (default: the shipped model)")
    args = ap.parse_args()

    import torch
    from rich.console import Console

    from musicgen import judge
    from musicgen.cli.progress import progress_bar
    from musicgen.corpus import Corpus
    from musicgen.grid import Grid, grid_to_piece
    from musicgen.model.api import load_model
    from musicgen.model.data import MODEL_SPEC

    torch.set_num_threads(1)
    model = load_model(args.checkpoint)
    corpus = Corpus.load()
    t0 = time.perf_counter()
    seeds = range(100, 100 + args.per_emotion)
    with progress_bar("generating", Console(stderr=True)) as bar:
        task = bar.add_task("generating", total=8 * args.per_emotion)
        pieces = judge.generate_and_judge(
            model, seeds, args.bars, args.candidates, corners=False, progress=lambda: bar.advance(task)
        )
    index = judge.training_index(corpus)
    ref = judge.reference_windows(corpus, n=args.reference, bars=args.bars)
    gen = judge.diversity_with_intervals(np.stack([p.cells for p in pieces]), index)
    real = judge.diversity_with_intervals(ref, index)

    print(
        f"{len(pieces)} generated pieces (8 emotions x {args.per_emotion} seeds, {args.bars} bars, best of {args.candidates}, "
        f"{'shipped model' if args.checkpoint is None else args.checkpoint}) against {len(ref)} held-out 4/4 tunes; "
        f"training split index: {len(index.signatures)} distinct 4-bar windows"
    )
    print(f"{'':10} {'NN rhythm':>22} {'NN contour':>22} {'distinct rhythms':>17} {'copied 4-bar windows':>21}")
    for name, f in (("generated", gen), ("held-out", real)):
        print(
            f"{name:10} {f['nn_rhythm']:8.3f} [{f['nn_rhythm_ci'][0]:.3f}, {f['nn_rhythm_ci'][1]:.3f}] "
            f"{f['nn_contour']:8.3f} [{f['nn_contour_ci'][0]:.3f}, {f['nn_contour_ci'][1]:.3f}] "
            f"{f['distinct_rhythms']:17.3f} {f['copied_windows']:10.3f} of {f['windows']:>4}"
        )

    q = judge.quality_figures(pieces)
    ref_pce = judge.heldout_pce(corpus)
    print(
        f"\nquality of the same pieces: PCE {q['pce']:.3f} bits [{q['pce_ci'][0]:.3f}, {q['pce_ci'][1]:.3f}] against the held-out tunes' "
        f"{ref_pce:.3f} (gap {q['pce'] - ref_pce:+.3f}); R_F {q['r_f']:.3f} [{q['r_f_ci'][0]:.3f}, {q['r_f_ci'][1]:.3f}]; "
        f"notes in the violin range {100 * q['in_range']:.2f} % of {q['notes']}"
    )

    print("\nthe first two bars, as note names:")
    for emo in ("happy", "sadness"):
        for p in [x for x in pieces if x.condition == emo][:2]:
            print(f"  {emo:8} seed {p.seed} ({p.report['key']}): " + " | ".join(judge.bar_note_names(p.composition, 2)))
    for k in range(2):
        real_piece = grid_to_piece(Grid(ref[k], MODEL_SPEC))
        print(f"  held-out tune {k}:        " + " | ".join(judge.bar_note_names(real_piece, 2)))
    print(f"({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
