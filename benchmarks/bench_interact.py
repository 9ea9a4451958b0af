"""Does a live session sound like one piece, and does it answer the listener fast enough?

    python benchmarks/bench_interact.py [--sessions 5] [--phrase-bars 4] [--candidates 16] [--no-estimator]

Simulates SYNTHETIC recordings (NeuroKit2-based simulation, :mod:`musicgen.emotion.simulate`): each
session plays all 8 emotions for 30 s each, in a random order per session (seeds 200, 201, ...). Each is
replayed through ``musicgen.interact.run_interact`` as fast as possible. Printed:

* per session: the phrases' keys and labels;
* joins within a fifth: the share of consecutive phrases whose first note lies within 7 semitones of
  the previous phrase's last note;
* repeat share: the mean share of a phrase's bars repeating the previous phrase's bar (rhythm and
  contour) at the same position;
* tonic changes per session (there should be none: one tonic per session), and mode changes: how many
  happen where the estimate's valence asked for the other mode (a clear valence, |v| >= 0.1, of the
  other sign: the only place they should) and how many elsewhere; and the share of phrases with a clear
  valence that are in the mode it asks for;
* cadences: the share of phrases ending on a tone of their intended cadence triad (open: dominant, closed:
  tonic; phrases alternate);
* latency: new window -> next phrase ready (ms);
* the estimator's window accuracy over unseen simulated subjects (:mod:`musicgen.emotion.evaluation`;
  skip with --no-estimator).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=5)
    ap.add_argument("--phrase-bars", type=int, default=4)
    ap.add_argument("--candidates", type=int, default=16)
    ap.add_argument("--no-estimator", action="store_true", help="skip the estimator accuracy table")
    args = ap.parse_args()

    import torch

    from musicgen.conditions import EMOTIONS
    from musicgen.continuation import MAX_JOIN, NEUTRAL_VALENCE, cadence_tones, is_closed, mode_asked
    from musicgen.emotion.simulate import simulate_session, write_recording_csv
    from musicgen.interact import run_interact
    from musicgen.model.api import load_model
    from musicgen.piece import PITCH_NAMES

    torch.set_num_threads(1)
    load_model()  # loading is not part of the per-phrase latency
    joins, repeats, lat, cad = [], [], [], []
    tonic_changes, mode_at_sign, mode_elsewhere, sign_changes, against, n_clear = [], 0, 0, 0, 0, 0
    for s in range(args.sessions):
        seed = 200 + s
        order = np.random.default_rng(seed).permutation(EMOTIONS)
        with tempfile.TemporaryDirectory() as d:
            src = Path(d) / "rec.csv"
            write_recording_csv(simulate_session([(e, 30.0) for e in order], seed=seed), src)
            session = run_interact(
                str(src), output=Path(d) / "s.mid", phrase_bars=args.phrase_bars, candidates=args.candidates, seed=seed
            )
        ph = session.phrases
        keys = [p.key.split() for p in ph]
        tonics = [k[0] for k in keys]
        tonic_changes.append(sum(a != b for a, b in zip(tonics, tonics[1:])))
        for a, b in zip(ph, ph[1:]):
            # the policy (musicgen.continuation.mode_asked): a clear valence sets the mode, a near-zero
            # one keeps the previous phrase's
            sign_changed = mode_asked(a.key.split()[1] == "minor", b.valence) != (a.key.split()[1] == "minor")
            sign_changes += sign_changed
            if a.key.split()[1] != b.key.split()[1]:
                if sign_changed:
                    mode_at_sign += 1
                else:
                    mode_elsewhere += 1
        clear = [p for p in ph if abs(p.valence) >= NEUTRAL_VALENCE]
        against += sum((p.key.split()[1] == "minor") != (p.valence < 0) for p in clear)
        n_clear += len(clear)
        joins += [p.join_semitones for p in ph[1:] if p.join_semitones >= 0]
        repeats += [p.repeat_share for p in ph[1:]]
        lat += [p.latency_ms for p in ph[1:]]  # the first phrase carries the one-off warm-up
        for p in ph:
            tonic, mode = p.key.split()
            tones = cadence_tones(PITCH_NAMES.index(tonic), mode == "minor", is_closed(p.index))
            cad.append(p.last_pitch is not None and p.last_pitch % 12 in tones)
        print(f"session {s} (seed {seed}, {' '.join(order)}): {len(ph)} phrases")
        print("   " + " | ".join(f"{p.label[:4]} {p.valence:+.2f} {p.key}" for p in ph))
    joins, repeats = np.asarray(joins), np.asarray(repeats)
    print(
        f"\njoins within a fifth: {np.mean(joins <= MAX_JOIN):.3f} of {joins.size} (median {np.median(joins):.0f} semitones)"
    )
    print(f"mean repeat share between consecutive phrases: {np.mean(repeats):.3f} (max {np.max(repeats):.2f})")
    print(f"tonic changes per session: {' '.join(map(str, tonic_changes))}")
    print(
        f"mode changes: {mode_at_sign} where the valence asked for the other mode ({sign_changes} times: a clear valence of the other "
        f"sign, |v| >= {NEUTRAL_VALENCE}), {mode_elsewhere} elsewhere"
    )
    print(f"phrases in the mode their clear valence asks for: {1 - against / max(n_clear, 1):.3f} of {n_clear}")
    print(f"phrase endings on the intended cadence triad: {np.mean(cad):.3f} of {len(cad)}")
    lat = np.asarray(lat)
    print(
        f"latency, new window -> phrase ready (phrases after the first): median {np.median(lat):.1f} ms, p90 {np.percentile(lat, 90):.1f} ms, max {lat.max():.1f} ms"
    )
    if not args.no_estimator:
        from musicgen.emotion.evaluation import evaluate_unseen_sessions

        print("\nestimator (the shipped one, as `musicgen emotion report` prints it):")
        for line in evaluate_unseen_sessions().table_lines():
            print("  " + line)


if __name__ == "__main__":
    main()
