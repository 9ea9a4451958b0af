"""Write one violin piece per emotion into a folder, then evaluate the folder.

    python examples/one_piece_per_emotion.py [OUT_DIR] [--bars 16] [--seed 0]

Uses the shipped default model; each piece is also evaluated with the shipped violin rules.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import musicgen
from musicgen.emotion import EMOTIONS
from musicgen.evaluate import evaluate_paths
from musicgen.io import write_midi
from musicgen.model.api import load_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?", default="pieces", type=Path)
    ap.add_argument("--bars", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    model = load_model()  # load once, reuse for every emotion
    for emotion in EMOTIONS:
        piece, report = musicgen.generate(emotion, bars=args.bars, seed=args.seed, model=model)
        path = write_midi(piece, args.out / f"{emotion}.mid", force=True)
        print(
            f"{path}: {report['key']}, {report['tempo_bpm']:.0f} bpm, R_F {report['r_f']:.3f}, PCE {report['pce']:.3f}"
        )
    result = evaluate_paths([args.out], rules="violin")
    print(json.dumps(result["summary"], indent=2))


if __name__ == "__main__":
    main()
