"""musicgen.plot and the picture side of the CLI: piano rolls with rule breaks, metric distributions,
engraved sheet music (skipped where neither LilyPond nor MuseScore is installed)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

import musicgen
from musicgen import plot as P
from musicgen.cli import app
from musicgen.errors import InputError, OutputExistsError, UsageError
from musicgen.io import write_midi
from musicgen.piece import Key, Piece
from musicgen.rules import RuleSet

RED = (0xD6, 0x27, 0x28)  # chord_tones
PURPLE = (0x8E, 0x24, 0xAA)  # range


def _clean_piece() -> Piece:
    """Two bars of C major, every strong-beat note a tone of the bar's triad (C major, then F major)."""
    q = 480
    on = np.arange(8) * q
    pitches = [72, 76, 79, 84, 77, 81, 84, 77]  # C5 E5 G5 C6 | F5 A5 C6 F5
    return Piece.from_arrays(on, np.full(8, q), pitches, velocity=np.full(8, 90), key=Key(0, "major"), title="clean")


def _faulty_piece() -> Piece:
    """The clean piece with E2 (below the violin's G3) on bar 1 beat 2 and G5 (not in F major) on bar 2 beat 3.

    Bar 1 (C5 E2 G5 C6) stays C major; bar 2 (F5 A5 G5 C6) is still estimated F major (F, A, C sound three
    beats; C major's tones only two), so G5 on the strong beat 3 is not a chord tone."""
    p = _clean_piece()
    notes = p.notes.copy()
    notes["pitch"][1] = 40  # E2, bar 1 beat 2: only the range rule
    notes["pitch"][6] = 79  # G5, bar 2 beat 3 (strong): not a tone of F major
    p.notes = notes
    p.title = "faulty"
    return p


def _pixels(path, rgb) -> int:
    a = np.asarray(Image.open(path).convert("RGB"))
    return int(np.all(a == np.asarray(rgb, dtype=np.uint8), axis=-1).sum())


def test_chord_symbols():
    assert [P.chord_symbol(r, q) for r, q in ((9, 1), (7, 0), (11, 2), (0, 3))] == ["Am", "G", "B°", "C+"]


def test_bar_chords_estimated_or_from_symbols():
    p = _clean_piece()
    assert P.bar_chords(p) == [(0.0, 0, 0, True), (4.0, 5, 0, True)]  # C major, F major: estimated
    p.chords = np.array([[0.0, 9, 1], [4.0, 2, 1]])
    assert P.bar_chords(p) == [(0.0, 9, 1, False), (4.0, 2, 1, False)]  # the symbols, as given


def test_rule_breaks_map_to_their_notes():
    p = _faulty_piece()
    score = RuleSet.load("violin").score_piece(p)
    rule_of_note, bars, kinds = P.piano_roll._violation_marks(p, score)
    assert list(rule_of_note) == ["", "range", "", "", "", "", "chord_tones", ""]
    assert kinds == {"range": "pitch_range", "chord_tones": "strong_beat_chord_tones"} and bars == {}
    assert (
        list(P.piano_roll._violation_marks(_clean_piece(), RuleSet.load("violin").score_piece(_clean_piece()))[0])
        == [""] * 8
    )


def test_piano_roll_colours_titles_and_legend():
    fig = P.piano_roll_figure(_faulty_piece(), emotion="sadness")
    ax = fig.axes[0]
    from matplotlib.collections import PatchCollection

    coll = next(c for c in ax.collections if isinstance(c, PatchCollection))
    faces = coll.get_facecolors()[:, :3]
    red, purple = np.asarray(RED) / 255, np.asarray(PURPLE) / 255
    assert np.allclose(faces[1], purple, atol=1e-3) and np.allclose(faces[6], red, atol=1e-3)
    assert not any(
        np.allclose(f, red, atol=1e-3) or np.allclose(f, purple, atol=1e-3)
        for i, f in enumerate(faces)
        if i not in (1, 6)
    )
    texts = " | ".join(t.get_text() for t in fig.texts)
    assert "faulty" in texts and "emotion: sadness" in texts and "key: C major" in texts and "120 bpm" in texts
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["note (darker = louder)", "breaks 'chord_tones' (1 note)", "breaks 'range' (1 note)"]
    chords = [t.get_text() for t in ax.texts]
    assert chords == ["C", "F"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2"]


def test_plot_piece_png(tmp_path):
    out = P.plot_piece(_faulty_piece(), tmp_path / "f.png", size=(10, 5), dpi=100)
    img = Image.open(out)
    assert img.format == "PNG" and img.size == (1000, 500)
    assert _pixels(out, RED) > 50 and _pixels(out, PURPLE) > 50  # the broken notes (and their legend keys)
    clean = musicgen.plot_piece(_clean_piece(), tmp_path / "c.png")
    w, h = P.piano_roll_size(_clean_piece())
    assert Image.open(clean).size == (round(w * P.DPI), round(h * P.DPI))
    assert _pixels(clean, RED) == 0 and _pixels(clean, PURPLE) == 0
    with pytest.raises(OutputExistsError):
        P.plot_piece(_clean_piece(), clean)
    with pytest.raises(InputError, match="no notes"):
        P.plot_piece(Piece.empty(title="empty"), tmp_path / "e.png")
    assert not (tmp_path / "e.png").exists()


def test_rests_rule_tints_the_bar():
    # bar 2 holds one short note and a long rest: the rests rule is broken for the bar as a whole
    p = Piece.from_arrays([0, 480, 960, 1440, 1920], [480] * 4 + [120], [72, 76, 79, 84, 72], key=Key(0, "major"))
    score = RuleSet.load("violin").score_piece(p)
    assert any(v.rule == "rests" for v in score.violations)
    _, bars, _ = P.piano_roll._violation_marks(p, score)
    assert bars == {1: {"rests"}}
    legend = [t.get_text() for t in P.piano_roll_figure(p).axes[0].get_legend().get_texts()]
    assert "bar breaks 'rests' (1 bar)" in legend


def _report(values: dict[str, list]) -> dict:
    n = len(next(iter(values.values())))
    files = [dict({k: v[i] for k, v in values.items()}, path=f"f{i}.mid", error=None) for i in range(n)]
    return {"files": files, "summary": {k: {} for k in values}}


def test_metric_distributions_share_bins(tmp_path):
    a = _report({"pce": [2.0, 2.5, 2.6, 3.0], "theme_count": [0, 1, 1, 2], "pce_4bar": [None] * 4})
    b = _report({"pce": [1.0, 1.5, 3.5], "theme_count": [3, 4, 4], "pce_4bar": [None] * 3})
    fig = P.metrics_figure([("generated", a), ("real", b)])
    assert [ax.get_title() for ax in fig.axes] == ["pce  [bits]", "theme_count  [themes]"]  # pce_4bar: no values
    for ax in fig.axes:
        spans = {(round(p.get_xy()[:, 0].min(), 9), round(p.get_xy()[:, 0].max(), 9)) for p in ax.patches}
        assert len(spans) == 1  # both folders, filled and outlined, drawn on the same bins
    lo, hi = next(iter({(p.get_xy()[:, 0].min(), p.get_xy()[:, 0].max()) for p in fig.axes[1].patches}))
    assert (lo, hi) == (-0.5, 4.5)  # whole numbers: one bin per value
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[0].startswith("generated (4 files") and legend[1].startswith("real (3 files")
    out = P.plot_metrics([("generated", a), ("real", b)], tmp_path / "m.png", dpi=100)
    assert Image.open(out).size == (round(fig.get_figwidth() * 100), round(fig.get_figheight() * 100))


def _folder(path, shift: int) -> None:
    path.mkdir()
    for i in range(3):
        p = Piece.from_arrays(np.arange(8) * 480, np.full(8, 480), 67 + shift + np.array([0, 2, 4, 5, 7, 5, 4, 2]) + i)
        write_midi(p, path / f"t{i}.mid")


def test_cli_evaluate_plot_against(tmp_path):
    _folder(tmp_path / "gen", 0)
    _folder(tmp_path / "ref", 5)
    out = tmp_path / "m.png"
    r = CliRunner().invoke(
        app,
        ["evaluate", str(tmp_path / "gen"), "--plot", str(out), "--against", str(tmp_path / "ref")],
        terminal_width=200,
    )
    assert r.exit_code == 0, r.output
    assert Image.open(out).format == "PNG"
    r = CliRunner().invoke(
        app, ["evaluate", str(tmp_path / "gen"), "--against", str(tmp_path / "ref")], terminal_width=200
    )
    assert r.exit_code == 2 and "--plot" in r.output
    r = CliRunner().invoke(app, ["evaluate", str(tmp_path / "gen"), "--plot", str(out)], terminal_width=200)
    assert r.exit_code == 2 and "already exists" in r.output


def test_cli_render_png_only(tmp_path):
    write_midi(_faulty_piece(), tmp_path / "in.mid")
    r = CliRunner().invoke(
        app, ["render", str(tmp_path / "in.mid"), "--png", str(tmp_path / "in.png"), "--emotion", "fear"]
    )
    assert r.exit_code == 0, r.output
    assert _pixels(tmp_path / "in.png", RED) > 0
    r = CliRunner().invoke(app, ["render", str(tmp_path / "in.mid")])
    assert isinstance(r.exception, UsageError) and "nothing to write" in str(r.exception)


# ------------------------------------------------------------------------------------ engraving
def test_engrave_without_an_engraver(tmp_path, monkeypatch):
    monkeypatch.setattr(P.engraving, "find_engraver", lambda: None)
    with pytest.raises(P.EngraverMissing, match="LilyPond or MuseScore"):
        P.engrave(_clean_piece(), tmp_path / "s.pdf")
    write_midi(_clean_piece(), tmp_path / "in.mid")
    code = "import musicgen.plot as p; p.find_engraver = lambda: None; from musicgen.cli import main; main()"
    r = subprocess.run(
        [sys.executable, "-c", code, "render", "in.mid", "--pdf", "s.pdf"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=dict(os.environ),
    )
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and len(lines) == 1 and "lilypond" in lines[0] and "Traceback" not in r.stderr


def test_engrave_pdf_and_png(tmp_path):
    eng = P.find_engraver()
    if eng is None:
        pytest.skip(
            "no engraver installed (apt install lilypond, or musescore3): --pdf and --engraved are untested here"
        )
    pdf = P.engrave(_clean_piece(), tmp_path / "s.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    png = P.engrave(_clean_piece(), tmp_path / "s.png", resolution=100)
    img = Image.open(png)
    assert img.format == "PNG" and img.size[0] > 500 and img.size[1] > 300


def test_cli_generate_writes_wav_and_png(tmp_path):
    from musicgen import audio

    try:
        audio.find_soundfont()
        audio.synthesizer_version()
        wav = ["--wav", str(tmp_path / "sad.wav")]
    except audio.AudioError:
        wav = []  # no SoundFont or FluidSynth here: the picture alone (tests/test_audio.py says why)
    args = [
        "generate",
        "--emotion",
        "sad",
        "--bars",
        "4",
        "--candidates",
        "4",
        "-o",
        str(tmp_path / "sad.mid"),
        "--png",
        str(tmp_path / "sad.png"),
        "--musicxml",
        str(tmp_path / "sad.musicxml"),
    ]
    r = CliRunner().invoke(app, args + wav)
    assert r.exit_code == 0, r.output
    w, h = P.piano_roll_size(musicgen.io.read_piece(tmp_path / "sad.musicxml"))  # the picture shows the written piece
    assert Image.open(tmp_path / "sad.png").size == (round(w * P.DPI), round(h * P.DPI))
    if wav:
        import wave

        with wave.open(str(tmp_path / "sad.wav")) as f:
            seconds = f.getnframes() / f.getframerate()
        perf = audio.performance_seconds(musicgen.io.read_piece(tmp_path / "sad.mid"))
        assert perf <= seconds <= perf + audio.MAX_TAIL_S + 1e-3
