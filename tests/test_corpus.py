"""The corpus builder: real music21 tunes, derived labels, deterministic split, skip reasons, the CLI."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from musicgen.corpus import Corpus, arousal_from, build_corpus, nearest_emotion, split_abc_tunes, split_of, tune_type
from musicgen.emotion import EMOTIONS


def test_tiny_corpus_contents(tiny_corpus):
    c = tiny_corpus
    assert len(c) >= 15
    assert {t.collection for t in c.tunes} == {"ryansMammoth", "oneills1850", "airdsAirs"}
    for i, t in enumerate(c.tunes):
        assert t.split in ("train", "valid", "test")
        assert t.mode in ("major", "minor")
        assert -1 <= t.valence <= 1 and -1 < t.arousal < 1
        assert t.emotion in EMOTIONS
        assert (t.valence > 0) == (t.mode == "major")
        p = c.piece(i)
        assert len(p) == t.n_notes and p.title == t.title
        # sparse grid steps are the notes at 12 steps per quarter
        steps = c.grid_steps(i)
        assert np.array_equal(steps[:, 2], p.notes["pitch"])
        assert np.array_equal(steps[:, 0], np.rint(p.notes["onset_tick"] / 40).astype(int))


def test_split_is_deterministic_by_content(tiny_corpus, tmp_path):
    again = build_corpus(tmp_path / "again.npz", limit_files=1, limit_tunes_per_file=8)
    c2 = Corpus.load(again.path)
    assert [t.split for t in c2.tunes] == [t.split for t in tiny_corpus.tunes]
    assert split_of("00000000") == "train" and split_of("00000059") == "valid"


def test_labels_follow_the_music():
    assert arousal_from(7.0) > 0.5 > -0.5 > arousal_from(2.0)
    assert nearest_emotion(0.8, 0.5) == "happy" and nearest_emotion(-0.7, -0.5) == "sadness"
    assert tune_type("R:reel\n", "X", (4, 4)) == "reel"
    assert tune_type("", "The Foo -- Hornpipe", (4, 4)) == "hornpipe"
    assert tune_type("", "Untitled", (6, 8)) == "jig"


def test_split_abc_tunes_keeps_file_header():
    text = "%comment\nL:1/8\n\nX:1\nT:A\nK:G\nGAB|\n\nX:2\nT:B\nK:D\nDEF|\n"
    tunes = split_abc_tunes(text)
    assert [n for n, _ in tunes] == ["1", "2"]
    assert tunes[1][1].startswith("L:1/8") and "T:B" in tunes[1][1] and "T:A" not in tunes[1][1]


def test_skips_are_counted(tmp_path, monkeypatch):
    import musicgen.corpus as corpus

    root = tmp_path / "fake"
    (root / "airdsAirs").mkdir(parents=True)
    (root / "airdsAirs" / "a.abc").write_text(
        "X:1\nT:Good\nM:4/4\nL:1/8\nK:G\nGABc dedB|GABc d4|GABc dedB|d2B2 G4|]\n\n"
        "X:2\nT:Empty\nM:4/4\nL:1/8\nK:G\nz8|]\n\n"
        "X:3\nT:Same as one\nM:4/4\nL:1/8\nK:G\nGABc dedB|GABc d4|GABc dedB|d2B2 G4|]\n"
    )
    monkeypatch.setattr(corpus, "music21_corpus_root", lambda: root)
    rep = build_corpus(tmp_path / "c.npz", collections=["airdsAirs"])
    assert rep.kept == 1
    assert rep.skipped["duplicate of a kept tune"] == 1
    assert sum(rep.skipped.values()) == 2


def test_load_errors(tmp_path):
    from musicgen.errors import InputError

    with pytest.raises(InputError, match="musicgen data build"):
        Corpus.load(tmp_path / "none.npz")
    (tmp_path / "bad.npz").write_bytes(b"nonsense")
    with pytest.raises(InputError):
        Corpus.load(tmp_path / "bad.npz")


def test_cli_build_and_info(tmp_path):
    from musicgen.cli import app

    out = tmp_path / "c.npz"
    r = CliRunner().invoke(
        app,
        [
            "data",
            "build",
            "--out",
            str(out),
            "--collection",
            "airdsAirs",
            "--limit-files",
            "1",
            "--limit-tunes",
            "5",
            "--workers",
            "1",
        ],
    )
    assert r.exit_code == 0, r.output
    assert out.is_file() and "tunes kept" in r.output
    assert len(Corpus.load(out)) == 5
    r2 = CliRunner().invoke(
        app, ["data", "build", "--out", str(out), "--collection", "airdsAirs", "--limit-files", "1"]
    )
    assert r2.exit_code != 0  # refuses to overwrite without --force
    r3 = CliRunner().invoke(app, ["data", "info", str(out)])
    assert r3.exit_code == 0 and "airdsAirs" in r3.output
