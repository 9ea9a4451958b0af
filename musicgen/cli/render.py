"""``musicgen render``: hear and see any music file (WAV with a violin patch, piano-roll PNG, engraved PDF).

The option checks and writers here are shared by ``generate`` (``--wav``, ``--png``, ``--pdf``) and
``interact`` (``--wav``), so that every command checks its outputs before any long work and words its
results the same way.
"""

from __future__ import annotations

from pathlib import Path

import typer

from musicgen.cli.base import app, console, err_console, print_line
from musicgen.errors import UsageError


def check_media_options(
    wav: Path | None = None,
    png: Path | None = None,
    pdf: Path | None = None,
    engraved: bool = False,
    soundfont: Path | None = None,
    force: bool = False,
) -> None:
    """Check ``--wav/-o``, ``--png``, ``--pdf``, ``--engraved`` and ``--soundfont`` before any work:
    suffixes, writable paths, a SoundFont and FluidSynth for audio, an engraver for engraving.

    Raises:
        UsageError: a wrong suffix, ``--engraved`` without ``--png``, an existing file without ``--force``,
            a missing folder; AudioError (no SoundFont or no FluidSynth) and EngraverMissing are UsageErrors
            too, with the line that says what to install.
        InputError: ``--soundfont`` / ``$MUSICGEN_SOUNDFONT`` names a missing or non-SoundFont file.
    """
    from musicgen._files import check_writable

    for p, suffix, opt in ((wav, ".wav", "--wav"), (png, ".png", "--png"), (pdf, ".pdf", "--pdf")):
        if p is not None:
            if p.suffix.lower() != suffix:
                raise UsageError(f"{opt} {p}: expected a {suffix} file name")
            check_writable(p, force)
    if engraved and png is None:
        raise UsageError("--engraved says how to draw --png; give --png OUT.png with it")
    if wav is not None:
        from musicgen.audio import _fluidsynth, find_soundfont

        find_soundfont(soundfont)
        _fluidsynth()
    elif soundfont is not None:
        raise UsageError("--soundfont is only used for audio; give a .wav output too")
    if pdf is not None or engraved:
        from musicgen.plot import EngraverMissing, find_engraver

        if find_engraver() is None:
            raise EngraverMissing(
                "--pdf and --engraved need LilyPond or MuseScore: install one "
                "(Debian/Ubuntu: sudo apt install lilypond, or musescore3; macOS: brew install lilypond)"
            )


def write_media(
    performance,
    notation=None,
    *,
    wav: Path | None = None,
    png: Path | None = None,
    pdf: Path | None = None,
    engraved: bool = False,
    soundfont: Path | None = None,
    program: int | None = 40,
    emotion: str | None = None,
    rules: str = "violin",
    engrave_from: Path | None = None,
    force: bool = False,
) -> None:
    """Write the audio of ``performance`` and the pictures of ``notation`` (default: the performance),
    printing one line per file on stderr; ``engrave_from`` is a MusicXML file to engrave as it is instead
    of ``notation``. Call :func:`check_media_options` first."""
    notation = performance if notation is None else notation
    score = notation if engrave_from is None else engrave_from
    if wav is not None:
        from musicgen.audio import render_wav

        with err_console.status(f"rendering audio to {wav}..."):
            info = render_wav(performance, wav, soundfont, program=program, force=force)
        print_line(f"wrote {info.describe()}")
    if png is not None:
        with err_console.status(f"drawing {png}..."):
            if engraved:
                from musicgen.plot import engrave

                engrave(score, png, force=force)
            else:
                from musicgen.plot import plot_piece

                plot_piece(notation, png, emotion=emotion, rules=rules, force=force)
        print_line(f"wrote {png}" + (" (engraved)" if engraved else " (piano roll)"))
    if pdf is not None:
        from musicgen.plot import engrave

        with err_console.status(f"engraving {pdf}..."):
            engrave(score, pdf, force=force)
        print_line(f"wrote {pdf} (engraved)")


@app.command("render")
def render_cmd(
    source: Path = typer.Argument(
        ...,
        help="A MIDI (.mid .midi), MusicXML (.musicxml .xml .mxl) or ABC (.abc) file.",
        show_default=False,
        metavar="FILE",
    ),
    output: Path | None = typer.Option(None, "--output", "-o", help="WAV file to write (44.1 kHz, 16-bit stereo)."),
    png: Path | None = typer.Option(
        None, "--png", help="Also draw a piano roll (bars, chords, rule breaks) here; with --engraved, sheet music."
    ),
    pdf: Path | None = typer.Option(None, "--pdf", help="Engraved sheet music as PDF (needs LilyPond or MuseScore)."),
    engraved: bool = typer.Option(
        False,
        "--engraved",
        help="Make --png engraved sheet music instead of a piano roll (needs LilyPond or MuseScore).",
    ),
    soundfont: Path | None = typer.Option(
        None,
        "--soundfont",
        help="SoundFont (.sf2/.sf3); default $MUSICGEN_SOUNDFONT, then /usr/share/sounds/sf2 and other system folders.",
    ),
    program: int = typer.Option(
        40, "--program", min=0, max=127, help="General MIDI program (0-based) for every track: 40 is the violin."
    ),
    file_programs: bool = typer.Option(
        False, "--file-programs", help="Play each track with its own program from the file instead of --program."
    ),
    emotion: str | None = typer.Option(None, "--emotion", help="Emotion to name in the piano roll's title."),
    rules: str = typer.Option(
        "violin", "--rules", help="Rule set whose broken rules the piano roll marks (name or .toml path)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite existing output files."),
) -> None:
    """Play a music file with a violin patch into a WAV file, and draw it.

    Audio needs a General MIDI SoundFont (Debian/Ubuntu: sudo apt install timgm6mb-soundfont) and the
    FluidSynth library (libfluidsynth3); nothing is downloaded.

    Examples:

      musicgen render tune.mid -o tune.wav

      musicgen render tune.musicxml -o tune.wav --png tune.png --soundfont ~/sf/FluidR3_GM.sf2

      musicgen render tune.mid --pdf tune.pdf
    """
    from musicgen.io import read_piece

    if output is None and png is None and pdf is None:
        raise UsageError("nothing to write: give -o OUT.wav, --png OUT.png and/or --pdf OUT.pdf")
    check_media_options(output, png, pdf, engraved, soundfont, force)
    with err_console.status(f"reading {source}..."):
        piece = read_piece(source)
    xml = source if source.suffix.lower() in (".musicxml", ".xml", ".mxl") else None
    write_media(
        piece,
        wav=output,
        png=png,
        pdf=pdf,
        engraved=engraved,
        soundfont=soundfont,
        program=None if file_programs else program,
        emotion=emotion,
        rules=rules,
        engrave_from=xml,
        force=force,
    )
    print_line(f"rendered {source}: {len(piece)} notes, {piece.n_bars} bars", console)
