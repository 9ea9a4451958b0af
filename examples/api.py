"""The Python API in a few lines: generate, inspect, write, score."""

import musicgen
from musicgen.io import write_midi, write_musicxml
from musicgen.metrics import pitch_class_entropy
from musicgen.rules import RuleSet

piece, report = musicgen.generate("sad", bars=8, candidates=32, seed=3)
print(report["key"], report["tempo_bpm"], "bpm,", len(piece), "notes")
print("R_F", report["r_f"], "rules", report["rules"])
print("PCE", pitch_class_entropy(piece))

# the notes are numpy arrays: onset/duration in quarter notes, MIDI pitch, velocity
print(piece.notes[["onset", "duration", "pitch", "velocity"]][:8])

# `piece` is the performance (articulation, timing, dynamics); `result.composition` holds the generator's notes as written
result = musicgen.generate("sad", bars=8, candidates=32, seed=3)
scored = RuleSet.load("melody").score_piece(result.composition)
for v in scored.violations[:5]:
    print(v.message)

write_midi(piece, "sad.mid", force=True)
write_musicxml(result.composition, "sad.musicxml", force=True)
