"""``musicgen interact``: follow a live emotion estimate, phrase by phrase."""

from __future__ import annotations

from pathlib import Path

import typer

from musicgen.cli.base import app, console, err_console


@app.command("interact")
def interact_cmd(
    source: str = typer.Option(
        ...,
        "--source",
        "-s",
        help="Signal source: a CSV / JSON-lines file, '-' for stdin, or lsl:NAME (see `musicgen emotion estimate --help` for columns and units).",
    ),
    output: Path = typer.Option(
        Path("session.mid"), "--output", "-o", help="Session MIDI, rewritten after every phrase (always a valid file)."
    ),
    phrase_bars: int = typer.Option(4, "--phrase-bars", help="Bars per phrase."),
    candidates: int = typer.Option(16, "--candidates", "-n", help="Candidates per phrase."),
    seed: int = typer.Option(0, "--seed", help="Phrase k uses seed + k."),
    rules: str = typer.Option("violin", "--rules", help="Rule set name or .toml path."),
    checkpoint: Path | None = typer.Option(None, "--checkpoint", help="Model checkpoint (default: the shipped model)."),
    midi_port: str | None = typer.Option(
        None, "--midi-port", help="Also play on this MIDI output port (needs python-rtmidi)."
    ),
    log: Path | None = typer.Option(None, "--log", help="Write the emotion timeline and the phrases as JSON here."),
    plot: Path | None = typer.Option(
        None,
        "--plot",
        help="At the end, draw the session's timeline into this PNG: the estimated valence and arousal over time, the label changes, and each phrase's start, key and tempo.",
    ),
    wav: Path | None = typer.Option(
        None,
        "--wav",
        help="At the end, play the whole session with a violin patch into this WAV file (needs a SoundFont: see `musicgen render --help`).",
    ),
    soundfont: Path | None = typer.Option(
        None, "--soundfont", help="SoundFont for --wav (default: $MUSICGEN_SOUNDFONT, then the system's)."
    ),
    follow: bool = typer.Option(False, "--follow", help="Keep reading a growing file (Ctrl-C stops)."),
    realtime: bool = typer.Option(
        False, "--realtime", help="Replay a recorded file at its own pace instead of as fast as possible."
    ),
    max_phrases: int | None = typer.Option(None, "--max-phrases", min=1, help="Stop after this many phrases."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing output files."),
) -> None:
    """Read signals, update the emotion estimate, and generate the next phrase continuing the previous one.

    The session keeps one tonic; when the estimated valence changes sign the music moves to the parallel
    mode. Each phrase joins the last within a fifth, develops it rather than repeating it, and ends on an
    open (half) or closed (full) cadence in turn.

    Examples:

      musicgen interact --source session.csv -o session.mid --log timeline.json --plot timeline.png

      musicgen interact --source lsl:Physio -o live.mid --follow --midi-port "FluidSynth"
    """
    from musicgen._files import check_writable
    from musicgen.cli.render import check_media_options, write_media
    from musicgen.interact import run_interact

    check_media_options(wav=wav, soundfont=soundfont, force=force)
    if plot is not None:
        check_writable(plot, force)

    def show(ph) -> None:
        err_console.print(
            f"phrase {ph.index + 1:3d} at t={ph.stream_time:7.1f} s: {ph.label:<8} (v {ph.valence:+.2f}, a {ph.arousal:+.2f}) "
            f"{ph.key or '?':<9} {ph.tempo_bpm:4.0f} bpm, {ph.n_notes:3d} notes, R_F {ph.r_f:+.3f}, ready in {ph.latency_ms:.0f} ms",
            highlight=False,
        )

    session = run_interact(
        source,
        output=output,
        phrase_bars=phrase_bars,
        candidates=candidates,
        seed=seed,
        rules=rules,
        checkpoint=str(checkpoint) if checkpoint else None,
        midi_port=midi_port,
        log=log,
        follow=follow,
        realtime=realtime,
        force=force,
        max_phrases=max_phrases,
        on_phrase=show,
    )
    n = len(session.phrases)
    console.print(
        f"{n} phrase{'s' if n != 1 else ''}, {len(session.timeline)} estimates -> {output if n else '(nothing written)'}"
    )
    if wav is not None and n:
        write_media(session.piece(), wav=wav, soundfont=soundfont, force=force)
    if plot is not None and session.timeline:
        from musicgen.cli.base import print_line
        from musicgen.plot import plot_session

        plot_session(session.timeline, [p.as_dict() for p in session.phrases], plot, force=force)
        print_line(f"wrote {plot} (session timeline)")
