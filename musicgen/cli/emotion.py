"""``musicgen emotion``: estimate emotions from physiological / facial-expression signals; train and report the estimator.

Registered on :data:`musicgen.cli.app.app`. Thin: every command calls a documented library
function (:mod:`musicgen.emotion.streaming`, :mod:`musicgen.emotion.training`, :mod:`musicgen.emotion.report`,
:mod:`musicgen.emotion.simulate`). Heavy imports (torch, NeuroKit2) happen inside the commands.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Optional

import typer

from musicgen.cli.app import app, console, err_console

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
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the timeline as JSON here."),
    realtime: bool = typer.Option(False, "--realtime", help="Replay a recorded file at the pace of its timestamps (default: as fast as possible)."),
    follow: bool = typer.Option(False, "--follow", help="Keep reading a growing file (Ctrl-C or --idle-timeout stops)."),
    force: bool = typer.Option(False, "--force", help="Overwrite the --json file if it exists."),
    rate: Optional[float] = typer.Option(None, "--rate", min=0.001, help="Sampling rate (Hz) of a file without a time column."),
    idle_timeout: Optional[float] = typer.Option(None, "--idle-timeout", min=0.0, help="With --follow or LSL: stop after this many seconds without new data."),
    every: float = typer.Option(1.0, "--every", min=0.0, help="Print one timeline line per this many seconds of stream time (the JSON keeps all)."),
    raw: bool = typer.Option(False, "--raw", help="No smoothing/hysteresis: one independent estimate per window."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="Estimator weights (default: the shipped ones)."),
) -> None:
    """Print a timeline of emotion estimates (one per second of signal, over 10-s windows).

    Examples:

      musicgen emotion simulate demo.csv --segments neutral:30,happy:40

      musicgen emotion estimate demo.csv --json timeline.json

      tail -f sensors.jsonl | musicgen emotion estimate -
    """
    from musicgen._files import atomic_write_text, check_writable
    from musicgen.emotion.network import load_estimator
    from musicgen.emotion.streaming import SmoothingConfig, estimate_stream
    from musicgen.emotion.contract import Diagnostics
    from musicgen.emotion.sources import open_source

    if json_out is not None:
        check_writable(json_out, force)
    diag = Diagnostics()
    src = open_source(source, follow=follow, realtime=realtime, sampling_rate=rate, idle_timeout=idle_timeout, diagnostics=diag)
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
            if last_printed is None or e.time - last_printed >= every - 1e-9 or (rows[-2]["label"] != d["label"] if len(rows) > 1 else False):
                last_printed = e.time
                p = d["probabilities"][d["label"]]
                console.print(f"{e.time:8.1f}  {d['label']:<9} {100 * p:4.0f}%  {d['valence']:+7.2f} {d['arousal']:+7.2f}  {' '.join(d['modalities'])}",
                              highlight=False)
    except KeyboardInterrupt:
        interrupted = True
    if json_out is not None:
        doc = {"estimates": rows, "warnings": diag.as_dict(),
               "model": {"trained_on": est.meta.get("trained_on", ""), "synthetic": bool(est.meta.get("synthetic", True))}}
        atomic_write_text(json_out, json.dumps(doc, indent=1) + "\n", force=force)
    n = len(rows)
    if n:
        share = ", ".join(f"{lab} {100 * c / n:.0f} %" for lab, c in labels.most_common())
        err_console.print(f"{n} estimates from {rows[0]['time']:.1f} s to {rows[-1]['time']:.1f} s; labels: {share}; "
                          f"modalities: {', '.join(m for m, _ in mods.most_common())}", highlight=False)
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


@emotion_app.command("train")
def train(
    out: Optional[Path] = typer.Option(None, "--out", help="Where to write the weights (+ .json beside). Default: the shipped estimator (needs --force)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (simulation, split, initialisation)."),
    deap: Optional[Path] = typer.Option(None, "--deap", help="A folder of DEAP data_preprocessed_python sXX.dat files to train on as well."),
    epochs: int = typer.Option(60, "--epochs", min=1, help="Training epochs."),
    train_subjects: int = typer.Option(28, "--train-subjects", min=1, help="Simulated people to train on."),
    test_subjects: int = typer.Option(8, "--test-subjects", min=1, help="Simulated people held out for the report."),
    png: Optional[Path] = typer.Option(None, "--png", help="Write the held-out confusion matrix (all modalities) as a PNG."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Re-simulate even if the datasets are cached."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing output files."),
) -> None:
    """Retrain the estimator on SYNTHETIC data (NeuroKit2 simulation; + DEAP with --deap) and print held-out figures.

    Takes a few minutes on 2 CPU cores (simulation is cached for the next run).
    """
    from musicgen._files import check_writable
    from musicgen.cli.progress import progress_bar
    from musicgen.emotion.network import DEFAULT_WEIGHTS
    from musicgen.emotion.training import EstimatorTrainConfig, train_estimator
    from musicgen.emotion.report import confusion_png, report_table

    target = out or DEFAULT_WEIGHTS
    if png is not None:
        check_writable(png, force)
    cfg = EstimatorTrainConfig(seed=seed, epochs=epochs, train_subjects=train_subjects, test_subjects=test_subjects)
    with progress_bar("training", err_console) as bar:
        res = train_estimator(cfg, out=target, force=force, deap_dir=deap, cache=not no_cache, progress=_progress_cb(bar, {}))
    console.print(f"estimator written to {res.paths[0]} (+ {res.paths[1].name}); {res.estimator.meta['parameters']} parameters; "
                  f"{res.seconds:.0f} s", highlight=False)
    for r in res.reports:
        console.print(r.headline(), highlight=False)
    console.print(report_table(res.reports[0]))
    if png is not None:
        confusion_png(res.reports[0], png, force=force)
        console.print(f"confusion matrix written to {png}", highlight=False)


@emotion_app.command("report")
def report(
    weights: Optional[Path] = typer.Option(None, "--weights", help="Estimator weights (default: the shipped ones)."),
    png: Optional[Path] = typer.Option(None, "--png", help="Write the confusion matrix (all modalities) as a PNG."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write all figures and confusion matrices as JSON."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Re-simulate the held-out data even if cached."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing output files."),
) -> None:
    """Measure the estimator on its held-out SYNTHETIC subjects: top-1, macro-F1, eq.-11, confusion matrix.

    The held-out people are re-simulated from the seed stored with the weights (cached after the first run).
    """
    from musicgen._files import atomic_write_text, check_writable
    from musicgen.cli.progress import progress_bar
    from musicgen.emotion.network import load_estimator
    from musicgen.emotion.training import heldout_reports
    from musicgen.emotion.report import confusion_png, report_table

    for p in (png, json_out):
        if p is not None:
            check_writable(p, force)
    est = load_estimator(weights)
    with progress_bar("simulating", err_console, transient=True) as bar:
        reps = heldout_reports(est, cache=not no_cache, progress=_progress_cb(bar, {}))
    console.print(f"estimator trained on: {est.meta.get('trained_on', 'unknown')}", highlight=False)
    console.print("[bold]These are SYNTHETIC-data figures: they measure how well the model decodes the simulation, not real people.[/]")
    for r in reps:
        console.print(r.headline(), highlight=False)
    console.print(report_table(reps[0]))
    if png is not None:
        confusion_png(reps[0], png, force=force)
        console.print(f"confusion matrix written to {png}", highlight=False)
    if json_out is not None:
        atomic_write_text(json_out, json.dumps({"reports": [r.as_dict() for r in reps]}, indent=1) + "\n", force=force)
        console.print(f"report written to {json_out}", highlight=False)


@emotion_app.command("simulate")
def simulate(
    out: Path = typer.Argument(..., help="CSV file to write (the file contract; starts with a '# SYNTHETIC' comment)."),
    segments: str = typer.Option("neutral:30,happy:30,sadness:30", "--segments", help="emotion:seconds parts, e.g. neutral:30,anger:40."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    cardiac: str = typer.Option("ecg", "--cardiac", help="Cardiac channel: ecg, ppg, hr or none."),
    no_face: bool = typer.Option(False, "--no-face", help="Leave out the facial-expression columns."),
    force: bool = typer.Option(False, "--force", help="Overwrite OUT if it exists."),
) -> None:
    """Write a SYNTHETIC recording (NeuroKit2-simulated ECG/PPG, EDA, respiration, temperature + face probabilities).

    For trying `musicgen emotion estimate` and `interact` without sensors. Start with ~30 s of neutral (the resting baseline).
    """
    from musicgen._files import check_writable
    from musicgen.emotion.simulate import parse_segments, simulate_session, write_recording_csv

    check_writable(out, force)
    segs = parse_segments(segments)
    chans = ("eda", "rsp", "temp") + (() if no_face else ("face",))
    rec = simulate_session(segs, seed=seed, cardiac=cardiac, channels=chans)
    write_recording_csv(rec, out, force=force)
    console.print(f"SYNTHETIC recording written to {out}: " + ", ".join(f"{e} {a:g}–{b:g} s" for a, b, e in rec.segments), highlight=False)
