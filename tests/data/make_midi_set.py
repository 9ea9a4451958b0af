"""Write the fixed MIDI set under ``tests/data/midi_set/`` (run once; the files are committed).

Usage:  python tests/data/make_midi_set.py

The set mixes real files and crafted edge cases, so that a stored ``musicgen evaluate`` report of it
(``tests/data/midi_set_report.json``, written by ``--report``) pins what the MIDI reader and the
metrics give:

* ``m21_*.mid``: MIDI test files that ship inside the music21 package (``music21/midi/testPrimitive``,
  ``music21/omr``; BSD licence): type 0 and 1, several resolutions, tempo maps (one with 96 tempos),
  meter changes, several key signatures, a 21-track file, a track without notes.
* ``miditoolkit_1390.mid``: the example file of the miditoolkit package (MIT licence).
* ``chorale_*.mid``: two Bach chorales from music21's corpus, written by music21's own MIDI writer.
* ``fiddle_acacia_reel.mid``: a corpus tune written by musicgen's writer.
* ``edge_*.mid``: crafted with symusic: a drum track beside pitched ones, meter and tempo given only
  after tick 0, overlapping same-pitch notes, a zero-length note, tracks out of onset order; a file
  without notes; an empty file; a file that is not MIDI; a truncated file.

With ``--report`` it (re)writes the stored report from the current code instead: do that only when a
change of results is intended and understood.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SET = HERE / "midi_set"
REPORT = HERE / "midi_set_report.json"
sys.path.insert(0, str(HERE.parents[1]))

M21_FILES = ["test01", "test02", "test03", "test04", "test05", "test08", "test09", "test10", "test11", "test12", "test17", "test18"]


def write_files() -> None:
    import miditoolkit
    import music21
    import symusic
    from music21 import corpus

    from musicgen.io import piece_from_stream, write_midi

    SET.mkdir(parents=True, exist_ok=True)
    m21 = Path(music21.__file__).parent
    for name in M21_FILES:
        shutil.copyfile(m21 / "midi" / "testPrimitive" / f"{name}.mid", SET / f"m21_{name}.mid")
    shutil.copyfile(m21 / "omr" / "k525short.mid", SET / "m21_k525short.mid")
    shutil.copyfile(Path(miditoolkit.__file__).parent / "midi" / "examples_data" / "1390.mid", SET / "miditoolkit_1390.mid")
    for bwv in ("bwv269", "bwv66.6"):
        corpus.parse(f"bach/{bwv}").write("midi", fp=str(SET / f"chorale_{bwv.replace('.', '_')}.mid"))
    reel = corpus.parse("ryansMammoth/AcaciaReel.abc")
    write_midi(piece_from_stream(reel, "ryansMammoth/AcaciaReel.abc"), SET / "fiddle_acacia_reel.mid", force=True)

    # a band: melody with overlapping same-pitch notes and a zero-length note, bass, drums;
    # meter (3/4) and tempo first given after tick 0; the bass track starts before the melody
    s = symusic.Score(96)
    s.time_signatures.append(symusic.TimeSignature(192, 3, 4))
    s.tempos.append(symusic.Tempo(96, 90.0))
    s.tempos.append(symusic.Tempo(1152, 132.0))
    s.key_signatures.append(symusic.KeySignature(0, -3, 1))
    mel = symusic.Track("melody", 40, False)
    for i, (t, d, p) in enumerate([(96, 96, 72), (144, 96, 72), (192, 48, 74), (240, 0, 76), (288, 144, 77), (432, 48, 79)] * 6):
        mel.notes.append(symusic.Note(t + 288 * (i // 6), d, p + (i // 6) % 3, 70 + i % 30))
    bass = symusic.Track("bass", 32, False)
    for k in range(12):
        bass.notes.append(symusic.Note(48 + 144 * k, 144, 43 + (k * 5) % 12, 90))
    drums = symusic.Track("drums", 0, True)
    for k in range(36):
        drums.notes.append(symusic.Note(48 * k, 24, 36 if k % 2 == 0 else 38, 100))
    s.tracks.extend([mel, bass, drums])
    s.dump_midi(str(SET / "edge_band_drums.mid"))

    quiet = symusic.Score(480)
    quiet.tempos.append(symusic.Tempo(0, 100.0))
    quiet.tracks.append(symusic.Track("silent", 40, False))
    quiet.dump_midi(str(SET / "edge_no_notes.mid"))
    (SET / "edge_empty.mid").write_bytes(b"")
    (SET / "edge_not_midi.mid").write_text("X:1\nT:not a MIDI file\nK:D\nabc|\n")
    (SET / "edge_truncated.mid").write_bytes((SET / "m21_test02.mid").read_bytes()[:60])


def write_report() -> None:
    from musicgen.evaluate import evaluate_paths, report_to_json

    report = evaluate_paths([str(SET)])
    for row in report["files"]:
        row["path"] = Path(row["path"]).name
    REPORT.write_text(report_to_json(report))
    print(f"wrote {REPORT} ({len(report['files'])} files)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--report", action="store_true", help="write the stored report from the current code instead")
    args = ap.parse_args()
    if args.report:
        write_report()
    else:
        write_files()
        print(f"wrote {len(list(SET.iterdir()))} files into {SET}")


if __name__ == "__main__":
    main()
