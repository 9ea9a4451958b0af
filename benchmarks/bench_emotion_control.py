"""Does the emotion steer the composition? Paired-noise control figures of the shipped model.

    python benchmarks/bench_emotion_control.py [--seeds 16] [--bars 16] [--candidates 32] [--checkpoint PATH]

For each of the 8 emotion labels and the 4 valence/arousal corners (+-0.8, +-0.6), one piece per seed
(seeds 100, 101, ...; the same seeds under every condition: paired noise) with the default ``generate``
path. Each piece's MusicXML is written and read back, and judged on its notes (the composition, never the
rendered MIDI):

* mode by music21's Temperley-Kostka-Payne key finder (the corpus' labels come from Krumhansl-Schmuckler
  and the training's mode term reads Krumhansl-Kessler and Bellman-Budge profiles, so this is an
  independent judge); Aarden-Essen, also unused by training, is printed beside it;
* rhythmic activity: distinct onsets per beat.

Printed: per condition, the minor share and onsets per beat; then, for the labels and for the corners,
the share of positive requests (valence > 0.2) written in major, of negative requests (< -0.2) in minor,
and of seed pairs in which the high-arousal piece is denser than the low-arousal one (corners: (v, +0.6)
against (v, -0.6); labels: each of happy/anger/fear/surprise against each of neutral/sadness/contempt),
each with a 95 % bootstrap interval. Design details: :mod:`musicgen.judge`.
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=16, help="seeds per condition")
    ap.add_argument("--bars", type=int, default=16)
    ap.add_argument("--candidates", type=int, default=32)
    ap.add_argument("--checkpoint", default=None, help="model file (default: the shipped model)")
    args = ap.parse_args()

    import torch
    from rich.console import Console

    from musicgen import judge
    from musicgen.cli.progress import progress_bar
    from musicgen.model.api import load_model

    torch.set_num_threads(1)
    model = load_model(args.checkpoint)
    t0 = time.perf_counter()
    conds = judge.conditions()
    with progress_bar("generating", Console(stderr=True)) as bar:
        task = bar.add_task("generating", total=len(conds) * args.seeds)
        pieces = judge.generate_and_judge(
            model,
            range(100, 100 + args.seeds),
            args.bars,
            args.candidates,
            via_musicxml=True,
            progress=lambda: bar.advance(task),
        )
    fig = judge.control_figures(pieces)

    print(
        f"{args.seeds} seeds per condition (paired), {args.bars} bars, best of {args.candidates}, "
        f"{'shipped model' if args.checkpoint is None else args.checkpoint}; judged on the MusicXML (Temperley-Kostka-Payne)"
    )
    print(f"{'condition':10} {'valence':>7} {'arousal':>7} {'minor':>6} {'onsets/beat':>11}")
    for name, row in fig["per_condition"].items():
        print(
            f"{name:10} {row['valence']:+7.2f} {row['arousal']:+7.2f} {row['minor']:6.2f} {row['onsets_per_beat']:11.2f}"
        )

    def fmt(s: dict) -> str:
        return f"{s['share']:.3f} [{s['lo']:.3f}, {s['hi']:.3f}] of {s['n']}"

    for group in ("labels", "corners"):
        g = fig[group]
        print(
            f"{group}: positive requests in major {fmt(g['positive'])}; negative requests in minor {fmt(g['negative'])}; "
            f"seed pairs with high arousal denser {fmt(g['arousal_pairs'])}"
        )
        for name, o in g["other_judges"].items():
            print(
                f"    the same judged by {name}: positive in major {fmt(o['positive'])}; negative in minor {fmt(o['negative'])}"
            )
    print(f"({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
