"""Score the theme finder against the JKU-PDD ground truth, and print its calibration on random music.

Usage:  python benchmarks/bench_themes.py [--data DIR]

1. Ground truth: the ``--data`` folder (default: ``data/patterns`` of the shared data folder beside
   the repository) holds JKU Patterns Development Database excerpts in MIREX format (mir_eval's test
   files): for each piece, the annotated repeated patterns and all their occurrences, as (onset in
   crotchets, MIDI pitch) lines. The full scores are not there, so the finder runs on the union of
   all annotated occurrence notes (the notes the annotations cover), placed
   in bars of the piece's meter (the MIREX format has none; we give them: Bach's fugue BWV 889 is in
   4/4, Beethoven's Op. 2 No. 1 third movement (Menuetto) in 3/4 with a one-beat pickup). Its repeated
   themes are exported in MIREX format and scored with ``mir_eval.pattern``: establishment F,
   occurrence F at threshold 0.75 (``occurrence_FPR(ref, est, thres=0.75)`` called directly: in
   mir_eval 0.8.2 ``pattern.evaluate`` passes the threshold under the wrong keyword) and three-layer F.
   Both melody modes are scored: "skyline" (the default) and "all" (every note, for polyphony).
2. Calibration: the share of random melodies and pitch-shuffled melodies (seeded) that get 0 themes,
   and the share of constructed AABA pieces that get exactly 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from musicgen.metrics import NoteBatch, ThemeParams, batch_theme_counts, find_themes, mirex_patterns  # noqa: E402
from musicgen.piece import Piece  # noqa: E402

# piece file -> (bar length numerator, denominator, shift in crotchets that puts bar 1 at a multiple of the bar)
PIECES = {
    "bach_bwv889_fugue_monophonic.txt": (4, 4, 0.0),
    "bach_bwv889_fugue_polyphonic.txt": (4, 4, 0.0),
    "beethoven_op2no1_mvt3_polyphonic.txt": (3, 4, 3.0),
}
RES = 480


def piece_from_patterns(patterns, num: int, den: int, shift: float) -> Piece:
    """A Piece holding the union of all annotated occurrence notes (durations: up to the next onset)."""
    pts = sorted({(float(o), int(round(p))) for pat in patterns for occ in pat for o, p in occ})
    on = np.array([o for o, _ in pts]) + shift
    pitch = np.array([p for _, p in pts])
    uniq = np.unique(on)
    nxt = np.r_[uniq[1:], uniq[-1] + 1.0]
    dur = np.minimum(nxt[np.searchsorted(uniq, on)] - on, 4.0)
    return Piece.from_arrays(
        np.rint(on * RES), np.rint(dur * RES), pitch, resolution=RES, time_signatures=np.array([[0, num, den]])
    )


def score_jku(data: Path) -> None:
    import mir_eval

    print("Theme finder vs JKU-PDD (mir_eval.pattern), finder run on the union of the annotated notes")
    print(f"{'piece':40s} {'melody':8s} {'ref':>3s} {'est':>3s} {'est_F':>7s} {'occ_F(.75)':>10s} {'3layer_F':>9s}")
    rows = {}
    for name, (num, den, shift) in PIECES.items():
        ref = mir_eval.io.load_patterns(str(data / name))
        piece = piece_from_patterns(ref, num, den, shift)
        for mode in ("skyline", "all"):
            an = find_themes(piece, params=ThemeParams(melody=mode))
            est = [[[(o - shift, p) for o, p in occ] for occ in pat] for pat in mirex_patterns(an)]
            if est:
                F_est = mir_eval.pattern.establishment_FPR(ref, est)[0]
                F_occ = mir_eval.pattern.occurrence_FPR(ref, est, thres=0.75)[0]
                F_3 = mir_eval.pattern.three_layer_FPR(ref, est)[0]
            else:
                F_est = F_occ = F_3 = 0.0
            rows.setdefault(mode, []).append((F_est, F_occ, F_3))
            print(f"{name:40s} {mode:8s} {len(ref):3d} {len(est):3d} {F_est:7.3f} {F_occ:10.3f} {F_3:9.3f}")
    for mode, r in rows.items():
        m = np.mean(np.array(r), axis=0)
        print(f"{'mean':40s} {mode:8s} {'':3s} {'':3s} {m[0]:7.3f} {m[1]:10.3f} {m[2]:9.3f}")


sys.path.insert(0, str(REPO / "tests"))
from random_melodies import random_diatonic_phrase as random_phrase  # noqa: E402


def piece_from_sections(sections, bar_qn: float = 4.0) -> Piece:
    """Concatenate (rows, transposition, bars) sections into a 4/4 Piece."""
    out, off = [], 0.0
    for rows, tr, nb in sections:
        out += [(off + o, d, p + tr) for o, d, p in rows]
        off += nb * bar_qn
    a = np.array(out)
    return Piece.from_arrays(np.rint(a[:, 0] * RES), np.rint(a[:, 1] * RES), a[:, 2].astype(int), resolution=RES)


def shuffled(p: Piece, rng) -> Piece:
    q = p.copy()
    q.notes["pitch"] = q.notes["pitch"][rng.permutation(len(q))]
    return q


def calibration(n: int = 500, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    sets = {
        "random melodies, 32 bars": [piece_from_sections([(random_phrase(rng, 32), 0, 32)]) for _ in range(n)],
        "random eighth-note melodies, 32 bars": [
            piece_from_sections([(random_phrase(rng, 32, (0.5,)), 0, 32)]) for _ in range(n)
        ],
    }
    aaba, iso = [], []
    for _ in range(n):
        A, B = random_phrase(rng, 4), random_phrase(rng, 4)
        aaba.append(piece_from_sections([(A, 0, 4), (A, 0, 4), (B, 0, 4), (A, 0, 4)]))
        A, B = random_phrase(rng, 4, (0.5,)), random_phrase(rng, 4, (0.5,))
        iso.append(piece_from_sections([(A, 0, 4), (A, 0, 4), (B, 0, 4), (A, 0, 4)] * 2))
    sets["pitch-shuffled AABA, 16 bars"] = [shuffled(p, rng) for p in aaba]
    sets["pitch-shuffled eighth-note AABAAABA, 32 bars"] = [shuffled(p, rng) for p in iso]
    print(f"\nCalibration (seed {seed}, {n} pieces each, defaults {ThemeParams()}):")
    for name, ps in sets.items():
        c = batch_theme_counts(NoteBatch.from_pieces(ps), [None])[None]
        print(f"  {name:48s} share with 0 themes: {np.mean(c == 0):.3f}")
    c = batch_theme_counts(NoteBatch.from_pieces(aaba), [None])[None]
    print(f"  {'AABA of random 4-bar phrases':48s} share with exactly 2 themes: {np.mean(c == 2):.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "patterns")
    ap.add_argument("-n", type=int, default=500, help="pieces per calibration set")
    args = ap.parse_args()
    t = time.perf_counter()
    if args.data.is_dir():
        score_jku(args.data)
    else:
        print(f"{args.data} not found: skipping the JKU-PDD scores")
    calibration(args.n)
    print(f"\n({time.perf_counter() - t:.1f} s)")


if __name__ == "__main__":
    main()
