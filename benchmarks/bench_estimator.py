"""Latency of the live emotion estimate per window: features (NeuroKit2) + model, vs NeuroKit2's all-in-one pipeline.

A new window arrives every hop (1 s); its estimate must be ready well within 50 ms on 2 cores so that
`interact` stays under 100 ms end to end with the generator. This script simulates a SYNTHETIC
recording (ECG 250 Hz, EDA 50 Hz, respiration 50 Hz, temperature 4 Hz, face 10 Hz), then times,
per window:

- ``features``: :func:`musicgen.emotion.features.window_features` on the buffered signals;
- ``model``: building the (3 × T × F) map and one forward pass of the shipped estimator;
- ``total``: both, through :class:`~musicgen.emotion.streaming.EstimatorSession` (what
  ``estimate_stream`` does per window);
- the named peer: NeuroKit2's ``nk.bio_process`` (ECG + RSP + EDA, all at 250 Hz) on the same
  10-s window — the usual one-call way to process these signals (``nk.bio_analyze`` on top of it
  raises on 10-s windows: its complexity indices need longer signals, so it is left out).

It also times a whole file replay (``estimate_stream``: parsing + features + model) per window.

Usage: python benchmarks/bench_estimator.py [--seconds 90] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def _stats(xs: list[float]) -> str:
    a = np.asarray(xs) * 1000
    return f"median {np.median(a):6.2f} ms   p95 {np.percentile(a, 95):6.2f} ms   max {a.max():6.2f} ms   (n={a.size})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=90.0, help="length of the simulated recording (s)")
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    ap.add_argument("--peer-windows", type=int, default=15, help="windows to time the NeuroKit2 peer on")
    args = ap.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    import neurokit2 as nk

    from musicgen.emotion.network import build_maps, load_estimator
    from musicgen.emotion.streaming import EstimatorSession, estimate_stream
    from musicgen.emotion.features import window_features
    from musicgen.emotion.simulate import simulate_session, write_recording_csv

    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count()
    print(f"machine: {cores} usable cores, torch {torch.__version__} with {torch.get_num_threads()} threads, "
          f"NeuroKit2 {nk.__version__}, Python {sys.version.split()[0]}")
    rec = simulate_session([("neutral", 30.0), ("anger", max(10.0, args.seconds - 30.0))], seed=5)
    print(f"data: SYNTHETIC recording, {rec.duration:.0f} s (neutral then anger), channels {', '.join(rec.signals)}")
    est = load_estimator()
    cfg = est.config
    ends = np.arange(cfg.length_s, rec.duration + 1e-9, cfg.hop_s)

    # warm up imports and caches
    window_features(rec.signals, float(ends[0]), cfg, stream_start=0.0)
    session = EstimatorSession(est)
    t_feat, t_model, t_total = [], [], []
    for e in ends:
        t0 = time.perf_counter()
        wf = window_features(rec.signals, float(e), cfg, stream_start=0.0, seen=set(rec.signals))
        t1 = time.perf_counter()
        session.update(wf)
        t2 = time.perf_counter()
        t_feat.append(t1 - t0)
        t_total.append(t2 - t0)
    # the model alone (map + forward), on the session's last map
    vals = np.stack([w.values for w in session.hist])[None]
    mask = np.stack([w.mask for w in session.hist])[None]
    base = session.base.baseline()[None]
    for _ in range(len(ends)):
        t0 = time.perf_counter()
        est.predict(build_maps(vals, mask, base, est.norm))
        t_model.append(time.perf_counter() - t0)

    print("\nper window (10-s window, new every 1 s):")
    print(f"  features (NeuroKit2 steps)   {_stats(t_feat)}")
    print(f"  model (map + forward)        {_stats(t_model)}")
    print(f"  features + model             {_stats(t_total)}")

    # the named peer: NeuroKit2's one-call pipeline on the same windows
    fs = 250
    t_peer, failed = [], 0
    for e in (ends[-args.peer_windows:] if args.peer_windows > 0 else []):
        a, b = int((e - cfg.length_s) * fs), int(e * fs)
        ecg = rec.signals["ecg"][1][a:b]
        tt = np.arange(a, b) / fs
        eda = np.interp(tt, *rec.signals["eda"])
        rsp = np.interp(tt, *rec.signals["rsp"])
        t0 = time.perf_counter()
        try:
            nk.bio_process(ecg=ecg, rsp=rsp, eda=eda, sampling_rate=fs)
        except Exception:  # noqa: BLE001 - count, do not crash the benchmark
            failed += 1
            continue
        t_peer.append(time.perf_counter() - t0)
    if t_peer:
        print(f"  peer: nk.bio_process (ECG + RSP + EDA at 250 Hz, no analysis step)  {_stats(t_peer)}"
              + (f"  [{failed} windows raised]" if failed else ""))
        print(f"  ratio peer / ours (features + model, medians): {np.median(t_peer) / np.median(t_total):.1f}x")
    elif failed:
        print(f"  peer: nk.bio_process raised on all {failed} windows")

    # whole replay through estimate_stream (parse + features + model)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "rec.csv"
        write_recording_csv(rec, path)
        t0 = time.perf_counter()
        n = sum(1 for _ in estimate_stream(path, estimator=est))
        dt = time.perf_counter() - t0
    print(f"\nfile replay via estimate_stream ({path.name}, {rec.duration:.0f} s of signal, {n} estimates): "
          f"{dt:.2f} s total, {1000 * dt / max(n, 1):.2f} ms per estimate (includes CSV parsing)")
    verdict = "meets" if np.percentile(np.asarray(t_total) * 1000, 95) < 50 else "MISSES"
    print(f"\ntarget: a new window's estimate well under 50 ms -> p95 {np.percentile(np.asarray(t_total) * 1000, 95):.2f} ms: {verdict} it")


if __name__ == "__main__":
    main()
