"""Does the emotion steer the music? K pieces per emotion from the shipped model, measured.

    python benchmarks/bench_emotion_control.py [--per-emotion 16] [--bars 16] [--candidates 32]

For every piece: mode by music21's key analysis (Krumhansl-Schmuckler, an independent judge), tempo,
note density (notes per second and notes per bar), mean velocity, register (mean pitch). The table is
printed per emotion, for the written (rendered) piece and, to show how much comes from the generator and
the candidate choice rather than from the rendering, for the chosen notated candidate before rendering
changes its tempo, dynamics or mode.

Shares on the intended side:
* valence: negative-valence emotions (anger, sadness, fear, disgust, contempt) -> minor; positive
  (happy, surprise) -> major; neutral is not counted;
* arousal: high-arousal emotions (valence/arousal table: arousal >= 0.4: happy, anger, fear, surprise)
  against low-arousal ones (arousal <= 0.1: neutral, sadness, contempt): a high piece is on its side when
  its tempo AND its notes per second exceed the low group's medians; a low piece when both are below
  the high group's medians.
"""

from __future__ import annotations

import argparse

import numpy as np


def _mode_music21(piece) -> str:
    from musicgen.io import piece_to_stream

    k = piece_to_stream(piece).analyze("key")
    return "minor" if k.mode == "minor" else "major"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-emotion", type=int, default=16)
    ap.add_argument("--bars", type=int, default=16)
    ap.add_argument("--candidates", type=int, default=32)
    args = ap.parse_args()

    import musicgen
    from musicgen.emotion import EMOTION_VA, EMOTIONS
    from musicgen.grid import grid_to_piece
    from musicgen.model.api import load_model
    from musicgen.cli.progress import progress_bar
    from rich.console import Console

    model = load_model()
    rows = []
    with progress_bar("generating", Console(stderr=True)) as bar:
        task = bar.add_task("generating", total=len(EMOTIONS) * args.per_emotion)
        for emo in EMOTIONS:
            for k in range(args.per_emotion):
                res = musicgen.generate(emo, bars=args.bars, candidates=args.candidates, seed=100 + k, model=model)
                p = res.piece
                notated = grid_to_piece(res.notated)
                secs = args.bars * p.bar_length * 60.0 / p.tempo
                rows.append(
                    {
                        "emotion": emo,
                        "mode": _mode_music21(p),
                        "gen_mode": _mode_music21(notated) if len(notated) else "major",
                        "tempo": p.tempo,
                        "nps": len(p) / secs,
                        "npb": len(p) / args.bars,
                        "gen_npb": len(notated) / args.bars,
                        "velocity": float(p.notes["velocity"].mean()) if len(p) else 0.0,
                        "register": float(p.notes["pitch"].mean()) if len(p) else 0.0,
                    }
                )
                bar.advance(task)

    def col(e, k):
        return np.array([r[k] for r in rows if r["emotion"] == e], dtype=object)

    print(f"{args.per_emotion} pieces per emotion, {args.bars} bars, best of {args.candidates}, shipped model")
    print(f"{'emotion':<9} {'val':>5} {'aro':>5} | {'minor':>5} {'tempo':>6} {'notes/s':>7} {'notes/bar':>9} {'vel':>5} {'pitch':>5} | chosen candidate before rendering: {'minor':>5} {'notes/bar':>9}")
    for e in EMOTIONS:
        v, a = EMOTION_VA[e]
        print(
            f"{e:<9} {v:+.2f} {a:+.2f} | {np.mean(col(e, 'mode') == 'minor'):5.2f} {np.mean(col(e, 'tempo').astype(float)):6.1f} "
            f"{np.mean(col(e, 'nps').astype(float)):7.2f} {np.mean(col(e, 'npb').astype(float)):9.2f} {np.mean(col(e, 'velocity').astype(float)):5.1f} "
            f"{np.mean(col(e, 'register').astype(float)):5.1f} |                  {np.mean(col(e, 'gen_mode') == 'minor'):5.2f} {np.mean(col(e, 'gen_npb').astype(float)):9.2f}"
        )
    neg = [e for e in EMOTIONS if EMOTION_VA[e][0] < -0.2]
    pos = [e for e in EMOTIONS if EMOTION_VA[e][0] > 0.2]
    high = [e for e in EMOTIONS if EMOTION_VA[e][1] >= 0.4]
    low = [e for e in EMOTIONS if EMOTION_VA[e][1] <= 0.1]
    for label, key in (("written piece", "mode"), ("chosen candidate before rendering", "gen_mode")):
        ok = [r[key] == "minor" for r in rows if r["emotion"] in neg] + [r[key] == "major" for r in rows if r["emotion"] in pos]
        print(f"valence on the intended side ({label}, mode): {np.mean(ok):.3f} of {len(ok)} pieces")
    hi_rows = [r for r in rows if r["emotion"] in high]
    lo_rows = [r for r in rows if r["emotion"] in low]
    lo_t, lo_d = np.median([r["tempo"] for r in lo_rows]), np.median([r["nps"] for r in lo_rows])
    hi_t, hi_d = np.median([r["tempo"] for r in hi_rows]), np.median([r["nps"] for r in hi_rows])
    ok = [r["tempo"] > lo_t and r["nps"] > lo_d for r in hi_rows] + [r["tempo"] < hi_t and r["nps"] < hi_d for r in lo_rows]
    print(f"arousal on the intended side (tempo and notes/s): {np.mean(ok):.3f} of {len(ok)} pieces")
    lo_g, hi_g = np.median([r["gen_npb"] for r in lo_rows]), np.median([r["gen_npb"] for r in hi_rows])
    okg = [r["gen_npb"] > lo_g for r in hi_rows] + [r["gen_npb"] < hi_g for r in lo_rows]
    print(f"arousal, chosen candidate before rendering (notes per bar vs the other group's median): {np.mean(okg):.3f}; median notes/bar high {hi_g:.2f}, low {lo_g:.2f}")


if __name__ == "__main__":
    main()
