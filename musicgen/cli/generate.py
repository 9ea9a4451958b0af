"""``musicgen generate``: a violin piece in an emotion, written as MIDI (and MusicXML), with a report."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from musicgen.cli.base import app, console, err_console
from musicgen.errors import UsageError


def print_generation_report(report: dict, out: Path | None = None) -> None:
    """Print a generation report as Rich tables (emotion, score, rules, metrics, spread over candidates)."""
    t = Table(title=f"musicgen: {report['emotion']} piece" + (f" -> {out}" if out else ""), show_header=False)
    t.add_column("what", style="bold")
    t.add_column("value")
    t.add_row("emotion", f"{report['emotion']}  (valence {report['valence']:+.2f}, arousal {report['arousal']:+.2f})")
    t.add_row(
        "length",
        f"{report['bars']} bars, {report['n_notes']} notes, {report['key'] or 'key ?'}, {report['tempo_bpm']:.0f} bpm",
    )
    t.add_row("chosen", f"candidate {report['best_candidate']} of {report['candidates']} (seed {report['seed']})")
    t.add_row(
        "score",
        f"{report['score']:.3f} = {report['beta_rules']:g}·R_F {report['candidate_r_f']:.3f} + {report['beta_disc']:g}·D {report['disc']:.3f}",
    )
    t.add_row("R_F (as written)", f"{report['r_f']:.3f}")
    for name, v in report["rules"].items():
        t.add_row(f"  {name}", f"{v:+.3f}")
    t.add_row("pitch class entropy", "n/a" if report["pce"] is None else f"{report['pce']:.3f} bits")
    t.add_row("themes", "n/a" if report["theme_count"] is None else str(report["theme_count"]))
    sp = report["spread"]
    t.add_row(
        "candidates' score",
        f"mean {sp['score']['mean']:.3f} ± {sp['score']['std']:.3f} (min {sp['score']['min']:.3f}, max {sp['score']['max']:.3f})",
    )
    t.add_row(
        "candidates' R_F",
        f"mean {sp['r_f']['mean']:.3f} ± {sp['r_f']['std']:.3f}; best-of-{report['candidates']} gain {report['r_f_gain_over_mean_candidate']:+.3f}",
    )
    console.print(t)


@app.command("generate")
def generate_cmd(
    output: Path = typer.Option(..., "--output", "-o", help="MIDI file to write (.mid)."),
    emotion: str | None = typer.Option(
        None,
        "--emotion",
        "-e",
        help="neutral, happy, anger, sadness, fear, surprise, disgust or contempt (aliases like sad, angry, happiness work).",
    ),
    valence: float | None = typer.Option(
        None, "--valence", min=-1.0, max=1.0, help="Instead of a label: valence in [-1, 1] (with --arousal)."
    ),
    arousal: float | None = typer.Option(
        None, "--arousal", min=-1.0, max=1.0, help="Instead of a label: arousal in [-1, 1] (with --valence)."
    ),
    live: Path | None = typer.Option(
        None,
        "--live",
        help="Instead of a label: condition on the latest estimate from a signal file (CSV / JSON lines, see `musicgen emotion estimate --help`).",
    ),
    bars: int = typer.Option(16, "--bars", "-b", help="Length in bars (1-64)."),
    candidates: int = typer.Option(
        32, "--candidates", "-n", help="Candidates to sample; the best by β1·R_F + β2·D is kept."
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same arguments and seed write the same MIDI bytes."),
    rules: str = typer.Option("violin", "--rules", help="Rule set name (see `musicgen rules list`) or a .toml path."),
    beta_rules: float | None = typer.Option(
        None, "--beta-rules", help="β1, weight of the rules' R_F (default: the rule file's)."
    ),
    beta_disc: float | None = typer.Option(
        None, "--beta-disc", help="β2, weight of the discriminator (default: the rule file's)."
    ),
    checkpoint: Path | None = typer.Option(None, "--checkpoint", help="Model checkpoint (default: the shipped model)."),
    musicxml: Path | None = typer.Option(
        None,
        "--musicxml",
        help="Also write the composition (the generator's notes in their key, no performance nuance) as MusicXML here.",
    ),
    json_out: Path | None = typer.Option(None, "--json", help="Write the report as JSON here."),
    wav: Path | None = typer.Option(
        None,
        "--wav",
        help="Also play the performance with a violin patch into this WAV file (needs a SoundFont: see `musicgen render --help`).",
    ),
    png: Path | None = typer.Option(
        None, "--png", help="Also draw the written piece as a piano roll (bars, chords, notes that break a rule) here."
    ),
    pdf: Path | None = typer.Option(
        None, "--pdf", help="Also engrave the written piece as sheet music here (needs LilyPond or MuseScore)."
    ),
    engraved: bool = typer.Option(False, "--engraved", help="Make --png engraved sheet music instead of a piano roll."),
    soundfont: Path | None = typer.Option(
        None,
        "--soundfont",
        help="SoundFont for --wav (default: $MUSICGEN_SOUNDFONT, then the system's, e.g. /usr/share/sounds/sf2).",
    ),
    performance: Path | None = typer.Option(
        None, "--performance", help="Expressive-rendering parameters (default: the shipped performance.toml)."
    ),
    parallel_mode: bool = typer.Option(
        False,
        "--parallel-mode",
        help="Opt-in: rewrite the piece in the parallel major/minor mode that the emotion's row of the performance file names (scale degrees 3, 6, 7 moved). Off by default: the notes are the generator's own, and the performance changes only timing, dynamics and articulation.",
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite existing output files."),
) -> None:
    """Generate a violin piece in an emotion and write it as MIDI, with a report.

    Examples:

      musicgen generate --emotion happy -o happy.mid

      musicgen generate --emotion sad --bars 32 --candidates 64 --seed 7 -o sad.mid --musicxml sad.musicxml --json sad.json

      musicgen generate --emotion sad -o sad.mid --wav sad.wav --png sad.png

      musicgen generate --valence -0.5 --arousal 0.8 -o tense.mid

      musicgen generate --live session.csv -o now.mid
    """
    from musicgen._files import atomic_write_text, check_writable
    from musicgen.generation import generate
    from musicgen.io import write_midi, write_musicxml

    if output.suffix.lower() not in (".mid", ".midi"):
        raise UsageError(f"-o {output}: expected a .mid or .midi file name")
    for p in [output, musicxml, json_out]:
        if p is not None:
            check_writable(p, force)
    from musicgen.cli.render import check_media_options, write_media

    check_media_options(wav, png, pdf, engraved, soundfont, force)
    condition = None
    if live is not None:
        from musicgen.emotion.streaming import latest_estimate

        est = latest_estimate(live)
        condition = est.condition
        err_console.print(
            f"live estimate at t={est.time:.1f} s from {', '.join(est.modalities) or 'no modality'}: {condition.label}"
        )
    with err_console.status("sampling and scoring candidates..."):
        res = generate(
            emotion,
            valence=valence,
            arousal=arousal,
            condition=condition,
            bars=bars,
            candidates=candidates,
            seed=seed,
            rules=rules,
            beta_rules=beta_rules,
            beta_disc=beta_disc,
            checkpoint=str(checkpoint) if checkpoint else None,
            performance=str(performance) if performance else None,
            parallel_mode=parallel_mode,
        )
    write_midi(res.performance, output, force=force)
    if musicxml is not None:
        write_musicxml(res.composition, musicxml, force=force)
    if json_out is not None:
        atomic_write_text(json_out, json.dumps(res.report, indent=2), force=force)
    write_media(
        res.performance,
        res.composition,
        wav=wav,
        png=png,
        pdf=pdf,
        engraved=engraved,
        soundfont=soundfont,
        emotion=res.report["emotion"],
        rules=rules,
        force=force,
    )
    print_generation_report(res.report, output)
