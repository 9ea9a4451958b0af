"""Latency of the interactive loop: new window -> next phrase ready.

    python benchmarks/bench_interact.py [--seconds 120] [--phrase-bars 4] [--candidates 16]

Writes a SYNTHETIC recording (NeuroKit2 simulation: neutral, happy, sadness, anger), replays it through
``musicgen.interact.run_interact`` as fast as possible and prints, per phrase, the time from asking the
stream for the window that triggers the phrase (reading, window features, estimator) to the phrase
being rendered and appended (sampling, scoring, rendering), plus the estimator's share.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--phrase-bars", type=int, default=4)
    ap.add_argument("--candidates", type=int, default=16)
    args = ap.parse_args()

    from musicgen.emotion.simulate import simulate_session, write_recording_csv
    from musicgen.interact import run_interact
    from musicgen.model.api import load_model

    load_model()  # loading is not part of the per-phrase latency
    part = args.seconds / 4
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "rec.csv"
        write_recording_csv(simulate_session([("neutral", part), ("happy", part), ("sadness", part), ("anger", part)], seed=3), src)
        session = run_interact(str(src), output=Path(d) / "s.mid", phrase_bars=args.phrase_bars, candidates=args.candidates)
    lat = np.array([p.latency_ms for p in session.phrases])
    est = np.array([p.estimate_ms for p in session.phrases])
    gen = np.array([p.generate_ms for p in session.phrases])
    print(f"{len(session.phrases)} phrases of {args.phrase_bars} bars, {args.candidates} candidates each, over {args.seconds:.0f} s of SYNTHETIC signal")
    print(f"end-to-end phrase latency (new window -> phrase ready): median {np.median(lat):.1f} ms, p90 {np.percentile(lat, 90):.1f} ms, max {lat.max():.1f} ms")
    print(f"  of which window + estimate: median {np.median(est):.1f} ms; generate + render: median {np.median(gen):.1f} ms")
    print("  per phrase (ms): " + " ".join(f"{x:.0f}" for x in lat))
    print("  labels per phrase: " + " ".join(p.label for p in session.phrases))
    print(f"  without the first phrase (one-off warm-up): median {np.median(lat[1:]):.1f} ms, max {lat[1:].max():.1f} ms" if lat.size > 1 else "")


if __name__ == "__main__":
    main()
