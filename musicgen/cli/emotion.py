"""``musicgen emotion``: estimate emotions from physiological / facial-expression signals; train and report the estimator.

Registered on :data:`musicgen.cli.base.app`. Thin: every command calls a documented library
function (:mod:`musicgen.emotion.streaming`, :mod:`musicgen.emotion.training`, :mod:`musicgen.emotion.report`,
:mod:`musicgen.emotion.simulate`). Heavy imports (torch, NeuroKit2) happen inside the commands.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import typer

from musicgen.cli.base import app, console, err_console

emotion_app = typer.Typer(
    help=(
        "Live emotion estimate from physiological signals (ECG/PPG/heart rate, EDA, respiration, skin temperature) "
        "and facial-expression probabilities. The shipped estimator is trained on SYNTHETIC data."
    ),
    no_args_is_help=True,
)
app.add_typer(emotion_app, name="emotion")

_SOURCE_HELP = (
    "A CSV or JSON-lines file ('time' in seconds, then any of ecg mV, ppg, hr bpm, eda µS, rsp, temp °C, "
    "face_neutral … face_contempt), '-' for JSON lines / CSV on stdin, or lsl:NAME / lsl:type=TYPE for Lab Streaming Layer."
)


def _progress_cb(bar, tasks: dict):
    def cb(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done, total=total)

    return cb


@emotion_app.command("estimate")
def estimate(
    source: str = typer.Argument(..., help=_SOURCE_HELP),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the timeline as JSON here."),
    realtime: bool = typer.Option(
        False, "--realtime", help="Replay a recorded file at the pace of its timestamps (default: as fast as possible)."
    ),
    follow: bool = typer.Option(
        False, "--follow", help="Keep reading a growing file (Ctrl-C or --idle-timeout stops)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite the --json file if it exists."),
    rate: float | None = typer.Option(
        None, "--rate", min=0.001, help="Sampling rate (Hz) of a file without a time column."
    ),
    idle_timeout: float | None = typer.Option(
        None, "--idle-timeout", min=0.0, help="With --follow or LSL: stop after this many seconds without new data."
    ),
    every: float = typer.Option(
        1.0,
        "--every",
        min=0.0,
        help="Print one timeline line per this many seconds of stream time (the JSON keeps all).",
    ),
    raw: bool = typer.Option(False, "--raw", help="No smoothing/hysteresis: one independent estimate per window."),
    weights: Path | None = typer.Option(None, "--weights", help="Estimator weights (default: the shipped ones)."),
) -> None:
    """Print a timeline of emotion estimates (one per second of signal, over 10-s windows).

    Examples:

      musicgen emotion simulate demo.csv --segments neutral:30,happy:40

      musicgen emotion estimate demo.csv --json timeline.json

      tail -f sensors.jsonl | musicgen emotion estimate -
    """
    from musicgen._files import atomic_write_text, check_writable
    from musicgen.emotion.contract import Diagnostics
    from musicgen.emotion.network import load_estimator
    from musicgen.emotion.sources import open_source
    from musicgen.emotion.streaming import SmoothingConfig, estimate_stream

    if json_out is not None:
        check_writable(json_out, force)
    diag = Diagnostics()
    src = open_source(
        source, follow=follow, realtime=realtime, sampling_rate=rate, idle_timeout=idle_timeout, diagnostics=diag
    )
    est = load_estimator(weights)
    rows: list[dict] = []
    labels: Counter = Counter()
    mods: Counter = Counter()
    last_printed = None
    interrupted = False
    err_console.print(
        f"[dim]estimator: {est.meta.get('trained_on', 'unknown data')} — figures and estimates from a model trained on "
        f"{'SYNTHETIC data, not validated on people' if est.meta.get('synthetic', True) else 'the data above'}[/]"
    )
    console.print(f"{'time s':>8}  {'label':<9} {'p':>5}  {'valence':>7} {'arousal':>7}  modalities")
    try:
        for e in estimate_stream(src, estimator=est, smoothing=None if raw else SmoothingConfig()):
            d = e.as_dict()
            rows.append(d)
            labels[d["label"]] += 1
            mods.update(d["modalities"])
            if (
                last_printed is None
                or e.time - last_printed >= every - 1e-9
                or (rows[-2]["label"] != d["label"] if len(rows) > 1 else False)
            ):
                last_printed = e.time
                p = d["probabilities"][d["label"]]
                console.print(
                    f"{e.time:8.1f}  {d['label']:<9} {100 * p:4.0f}%  {d['valence']:+7.2f} {d['arousal']:+7.2f}  {' '.join(d['modalities'])}",
                    highlight=False,
                )
    except KeyboardInterrupt:
        interrupted = True
    if json_out is not None:
        doc = {
            "estimates": rows,
            "warnings": diag.as_dict(),
            "model": {"trained_on": est.meta.get("trained_on", ""), "synthetic": bool(est.meta.get("synthetic", True))},
        }
        atomic_write_text(json_out, json.dumps(doc, indent=1) + "\n", force=force)
    n = len(rows)
    if n:
        share = ", ".join(f"{lab} {100 * c / n:.0f} %" for lab, c in labels.most_common())
        err_console.print(
            f"{n} estimates from {rows[0]['time']:.1f} s to {rows[-1]['time']:.1f} s; labels: {share}; "
            f"modalities: {', '.join(m for m, _ in mods.most_common())}",
            highlight=False,
        )
    else:
        err_console.print("no estimate: the source held less than one usable 10-s window of signal", highlight=False)
    if diag.total:
        err_console.print(f"[yellow]{diag.total} warnings (skipped, not fatal):[/]", highlight=False)
        for line in diag.summary_lines():
            err_console.print(f"  {line}", highlight=False, markup=False)
    if json_out is not None:
        err_console.print(f"timeline written to {json_out}", highlight=False)
    if interrupted:
        raise typer.Exit(130)


def _print_evaluation(evaluation) -> None:
    for line in evaluation.table_lines():
        console.print(line, highlight=False, markup=False)


@emotion_app.command("train")
def train(
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Where to write the weights (+ .json beside). Default: the shipped estimator (needs --force).",
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed (simulation, initialisation, batching)."),
    sessions: int | None = typer.Option(
        None,
        "--sessions",
        min=1,
        help="Simulated training sessions, one simulated person each (default: the shipped recipe's).",
    ),
    epochs: int | None = typer.Option(None, "--epochs", min=1, help="Training epochs (default: the shipped recipe's)."),
    deap: Path | None = typer.Option(
        None, "--deap", help="A folder of DEAP data_preprocessed_python sXX.dat files to train on as well."
    ),
    eval_seeds: int = typer.Option(
        20, "--eval-seeds", min=0, help="Unseen simulated people to evaluate on afterwards (0: skip)."
    ),
    workers: int = typer.Option(
        1, "--workers", min=1, help="Processes simulating sessions in parallel (the result does not depend on it)."
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Re-simulate even if the sessions are cached."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing output files."),
) -> None:
    """Retrain the estimator on SYNTHETIC sessions (NeuroKit2 simulation; + DEAP with --deap) and print its accuracy on unseen simulated people.

    The defaults are the recipe of the shipped weights: `musicgen emotion train --out musicgen/weights/estimator.pt --force`.
    Simulation dominates the time (about 10 s a session on one core; cached for the next run, and --workers splits it).
    """
    from musicgen.cli.progress import progress_bar
    from musicgen.emotion.network import DEFAULT_WEIGHTS
    from musicgen.emotion.training import EstimatorTrainConfig, train_estimator

    target = out or DEFAULT_WEIGHTS
    given = {"sessions": sessions, "epochs": epochs}
    cfg = EstimatorTrainConfig(seed=seed, **{k: v for k, v in given.items() if v is not None})
    with progress_bar("training", err_console) as bar:
        res = train_estimator(
            cfg,
            out=target,
            force=force,
            deap_dir=deap,
            cache=not no_cache,
            workers=workers,
            eval_seeds=eval_seeds,
            progress=_progress_cb(bar, {}),
        )
    console.print(
        f"estimator written to {res.paths[0]} (+ {res.paths[1].name}); {res.estimator.meta['parameters']} parameters; "
        f"{res.estimator.meta['train_windows']} training windows; {res.seconds:.0f} s",
        highlight=False,
    )
    if res.evaluation is not None:
        _print_evaluation(res.evaluation)


@emotion_app.command("report")
def report(
    weights: Path | None = typer.Option(None, "--weights", help="Estimator weights (default: the shipped ones)."),
    seeds: int = typer.Option(20, "--seeds", min=1, help="Unseen simulated people (evaluation seeds) to measure."),
    first_seed: int | None = typer.Option(
        None, "--first-seed", help="First evaluation seed (default 2000; 1000-1019 were used in development)."
    ),
    short_seeds: int = typer.Option(
        10,
        "--short-seeds",
        min=0,
        help="Simulated people (seeds 1..N) for the short demo-like sessions, 5 emotion orders each (0: skip).",
    ),
    fresh_seeds: int = typer.Option(
        20, "--fresh-seeds", min=0, help="Fresh short sessions in random orders (seeds 3000 on; 0: skip)."
    ),
    physio_events: Path | None = typer.Option(
        None,
        "--physio-events",
        help="NeuroKit2's bio_eventrelated_100hz.csv (e.g. ../shared/data/physio/): report the valence estimated around its four labelled images.",
    ),
    png: Path | None = typer.Option(None, "--png", help="Write the confusion matrix (all channels) as a PNG."),
    json_out: Path | None = typer.Option(None, "--json", help="Write all figures and confusion matrices as JSON."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Re-simulate the evaluation sessions even if cached."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing output files."),
) -> None:
    """Measure the estimator: unseen SYNTHETIC people (all channels / no face / cardiac only), the README demo, short demo-like sessions, and optionally one real recording.

    Each simulated person goes through all 8 emotions in random order, 30 s each, estimated exactly as
    `musicgen emotion estimate` does; windows at least 12 s into a segment are scored.
    """
    import numpy as np

    from musicgen._files import atomic_write_text, check_writable
    from musicgen.cli.progress import progress_bar
    from musicgen.emotion.evaluation import (
        DEFAULT_FIRST_SEED,
        FRESH_SHORT_SEEDS,
        baseline_handling,
        evaluate_short_sessions,
        evaluate_unseen_sessions,
        physio_event_valences,
        random_short_sessions,
        readme_demo_accuracy,
    )
    from musicgen.emotion.network import load_estimator
    from musicgen.emotion.report import classification_report, confusion_png, report_table

    for p in (png, json_out):
        if p is not None:
            check_writable(p, force)
    est = load_estimator(weights)
    start = DEFAULT_FIRST_SEED if first_seed is None else first_seed
    with progress_bar("simulating", err_console, transient=True) as bar:
        cb = _progress_cb(bar, {})
        ev = evaluate_unseen_sessions(
            est,
            list(range(start, start + seeds)),
            cache=not no_cache,
            progress=lambda d, t: cb("unseen simulated people", d, t),
        )
    console.print(f"estimator trained on: {est.meta.get('trained_on', 'unknown')}", highlight=False)
    note = baseline_handling(est)
    console.print(note, highlight=False)
    console.print(
        "[bold]The figures below are SYNTHETIC: they measure how well the model decodes the simulation, not real people.[/]"
    )
    _print_evaluation(ev)
    conf = ev.confusion["all channels"]
    true = np.repeat(np.repeat(np.arange(8), 8), conf.ravel())
    pred = np.repeat(np.tile(np.arange(8), 8), conf.ravel())
    rep = classification_report(true, pred, ev.data + ", all channels")
    console.print(report_table(rep))
    correct, total, seen = readme_demo_accuracy(est, cache=not no_cache)
    console.print(
        f"README demo (`musicgen emotion simulate session.csv` defaults: neutral, happy, sadness, 30 s each, seed 0): "
        f"{correct}/{total} windows past the 12-s lag labelled correctly — SYNTHETIC",
        highlight=False,
    )
    for emo, labs in seen.items():
        console.print(f"  {emo}: " + ", ".join(f"{lab} {n}" for lab, n in Counter(labs).most_common()), highlight=False)
    short = fresh = None
    with progress_bar("simulating", err_console, transient=True) as bar:
        cb = _progress_cb(bar, {})
        if short_seeds:
            short = evaluate_short_sessions(
                est,
                seeds=list(range(1, short_seeds + 1)),
                cache=not no_cache,
                progress=lambda d, t: cb("short sessions", d, t),
            )
        if fresh_seeds:
            pairs = random_short_sessions(list(range(FRESH_SHORT_SEEDS[0], FRESH_SHORT_SEEDS[0] + fresh_seeds)))
            fresh = evaluate_short_sessions(
                est, sessions=pairs, cache=not no_cache, progress=lambda d, t: cb("fresh short sessions", d, t)
            )
    for title, table in (
        (
            "Short sessions like the demo, other simulated people (seeds 1-10 were compared while choosing the recipe):",
            short,
        ),
        (
            "Fresh short sessions (3 different emotions in a random order; sessions never used to choose the recipe):",
            fresh,
        ),
    ):
        if table is not None:
            console.print(title, highlight=False)
            for line in table.table_lines():
                console.print(line, highlight=False, markup=False)
    events = []
    if physio_events is not None:
        events = physio_event_valences(physio_events, estimator=est)
        console.print(
            f"Real recording {physio_events.name} (one person, NeuroKit2 example data; four images). "
            "Four events from one person prove little: a sanity check, not a validation.",
            highlight=False,
        )
        console.print(
            f"  {'onset s':>8}  {'label':<9} {'valence before':>14} {'valence (10 s from onset)':>25}  estimated label",
            highlight=False,
        )
        for e in events:
            console.print(
                f"  {e.onset_s:8.2f}  {e.condition:<9} {e.valence_before:+14.2f} {e.valence:+25.2f}  {e.label}",
                highlight=False,
            )
    if png is not None:
        confusion_png(rep, png, force=force)
        console.print(f"confusion matrix written to {png}", highlight=False)
    if json_out is not None:
        doc = {
            "baselines": note,
            "unseen_sessions": ev.summary(),
            "readme_demo": {"correct": correct, "scored": total, "labels": seen},
            "short_sessions": None
            if short is None
            else {
                "accuracy": round(short.accuracy(), 4),
                "worst": round(short.worst(), 4),
                "seeds": short.seeds,
                "orders": {
                    ",".join(o): {"correct": short.correct[k].tolist(), "scored": short.scored[k].tolist()}
                    for k, o in enumerate(short.orders)
                },
            },
            "fresh_short_sessions": None
            if fresh is None
            else {
                "accuracy": round(fresh.accuracy(), 4),
                "worst": round(fresh.worst(), 4),
                "seeds": fresh.seeds,
                "orders": [list(o) for o in fresh.by_segment],
                "correct": fresh.correct[0].tolist(),
                "scored": fresh.scored[0].tolist(),
            },
            "physio_events": [e.__dict__ for e in events],
        }
        atomic_write_text(json_out, json.dumps(doc, indent=1) + "\n", force=force)
        console.print(f"report written to {json_out}", highlight=False)


@emotion_app.command("simulate")
def simulate(
    out: Path = typer.Argument(..., help="CSV file to write (the file contract; starts with a '# SYNTHETIC' comment)."),
    segments: str = typer.Option(
        "neutral:30,happy:30,sadness:30", "--segments", help="emotion:seconds parts, e.g. neutral:30,anger:40."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    cardiac: str = typer.Option("ecg", "--cardiac", help="Cardiac channel: ecg, ppg, hr or none."),
    no_face: bool = typer.Option(False, "--no-face", help="Leave out the facial-expression columns."),
    force: bool = typer.Option(False, "--force", help="Overwrite OUT if it exists."),
) -> None:
    """Write a SYNTHETIC recording (NeuroKit2-simulated ECG/PPG, EDA, respiration, temperature + face probabilities).

    For trying `musicgen emotion estimate` and `interact` without sensors. No resting start is needed: the estimator keeps
    a running reference of the session.
    """
    from musicgen._files import check_writable
    from musicgen.emotion.simulate import parse_segments, simulate_session, write_recording_csv

    check_writable(out, force)
    segs = parse_segments(segments)
    chans = ("eda", "rsp", "temp") + (() if no_face else ("face",))
    rec = simulate_session(segs, seed=seed, cardiac=cardiac, channels=chans)
    write_recording_csv(rec, out, force=force)
    console.print(
        f"SYNTHETIC recording written to {out}: " + ", ".join(f"{e} {a:g}–{b:g} s" for a, b, e in rec.segments),
        highlight=False,
    )
