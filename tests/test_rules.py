"""Rules engine: rule files and validation, each rule's values on hand-made grids, chords and keys,
explanations, the soft form, and the `musicgen rules` commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from musicgen.errors import InputError, UsageError
from musicgen.grid import GridSpec
from musicgen.piece import Key, Piece
from musicgen.rules import RuleSet, estimate_bar_chords, estimate_keys, strong_beat_steps
from musicgen.rules.kinds import parse_pitch

REPO = Path(__file__).resolve().parents[1]
SPEC = GridSpec(steps_per_quarter=4, lowest_pitch=36, n_pitches=72)  # 4/4, 16 steps a bar, C2..B7


def grid(notes, n_bars=1, spec=SPEC):
    """An int8 grid (bars, steps, pitches) from (absolute step, duration steps, MIDI pitch) triples."""
    g = np.zeros((n_bars, spec.steps_per_bar, spec.n_pitches), dtype=np.int8)
    flat = g.reshape(-1, spec.n_pitches)
    for on, dur, pitch in notes:
        p = pitch - spec.lowest_pitch
        flat[on + 1 : on + dur, p] = 2
        flat[on, p] = 1
    return g


def one_rule(kind_table: str, beta: str = "beta_rules = 1.0\nbeta_disc = 1.0\n") -> RuleSet:
    return RuleSet.from_toml(beta + "[[rule]]\n" + kind_table, "test.toml")


# ------------------------------------------------------------------------------------------- files
def test_shipped_sets_carry_the_papers_values():
    assert {"violin", "melody"} <= set(RuleSet.list_available())
    rs = RuleSet.load("violin")
    assert rs.name == "violin" and [r.kind for r in rs.rules] == [
        "pitch_range",
        "polyphony",
        "rests",
        "strong_beat_chord_tones",
    ]
    got = {r.name: (r.reward, r.penalty) for r in rs.rules}
    assert got == {"range": (0.1, -0.6), "polyphony": (0.2, -0.5), "rests": (0.1, -0.3), "chord_tones": (0.7, -1.0)}
    assert rs.rule("range").lowest == 55 and rs.rule("range").highest == 100  # G3..E7
    assert rs.rule("polyphony").max_notes == 2 and rs.rule("rests").max_ratio == 0.4
    assert rs.beta_rules == 0.3 and rs.beta_disc == 1.0
    assert rs.bounds == pytest.approx((-2.4, 1.1))
    assert RuleSet.load("melody").rule("polyphony").max_notes == 1


def test_rule_files_ship_as_package_data():
    from importlib.resources import files

    res = files("musicgen.rulefiles")
    assert (res / "violin.toml").is_file() and (res / "melody.toml").is_file()
    assert (
        "musicgen.rulefiles" in (REPO / "setup.py").read_text()
        and '"musicgen.rulefiles" = ["*.toml"]' in (REPO / "pyproject.toml").read_text()
    )


def test_load_user_file_by_path_and_override_weights(tmp_path):
    text = (
        (REPO / "rules" / "violin.toml")
        .read_text()
        .replace('name = "violin"', 'name = "mine"')
        .replace("beta_rules = 0.3", "beta_rules = 2.5")
    )
    p = tmp_path / "mine.toml"
    p.write_text(text)
    rs = RuleSet.load(str(p))
    assert rs.name == "mine" and rs.beta_rules == 2.5
    rs2 = rs.with_weights(alpha={"chord_tones": 0.0}, beta_disc=0.5)
    assert rs2.rule("chord_tones").alpha == 0.0 and rs2.beta_disc == 0.5 and rs.rule("chord_tones").alpha == 1.0
    with pytest.raises(UsageError, match="no rule 'nope'"):
        rs.with_weights(alpha={"nope": 1.0})
    with pytest.raises(UsageError, match="unknown rule set 'nosuchset'"):
        RuleSet.load("nosuchset")
    with pytest.raises(InputError, match="no such rule file"):
        RuleSet.load(tmp_path / "absent.toml")


GOOD_RULE = (
    'name = "range"\nkind = "pitch_range"\nalpha = 1.0\nreward = 0.1\npenalty = -0.6\nlowest = "G3"\nhighest = "E7"\n'
)


@pytest.mark.parametrize(
    "change, field, words",
    [
        (('kind = "pitch_range"', 'kind = "pitch_rnage"'), "kind", "unknown rule kind 'pitch_rnage'"),
        (("reward = 0.1\n", ""), "reward", "missing"),
        (("alpha = 1.0", 'alpha = "high"'), "alpha", "expected a number"),
        (("reward = 0.1", "reward = -0.7"), "reward", "below penalty"),
        (("alpha = 1.0", "alpha = -1.0"), "alpha", "must be >= 0"),
        (('lowest = "G3"', 'lowest = "H3"'), "lowest", "note name"),
        (('highest = "E7"', 'highest = "E7"\nhighst = 3'), "highst", "unknown field"),
        (('highest = "E7"', 'highest = "C3"'), "highest", "below lowest"),
    ],
)
def test_validation_names_file_rule_field_and_line(tmp_path, change, field, words):
    text = "beta_rules = 1.0\nbeta_disc = 1.0\n\n[[rule]]\n" + GOOD_RULE.replace(*change)
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(InputError) as ei:
        RuleSet.load(p)
    msg = str(ei.value)
    assert str(p) in msg and "rule 'range'" in msg and f"field '{field}'" in msg and words in msg
    assert ei.value.line is not None and ei.value.line >= 4  # points into the rule's block


def test_validation_of_set_level_fields(tmp_path):
    p = tmp_path / "b.toml"
    p.write_text("beta_rules = -1\nbeta_disc = 1.0\n[[rule]]\n" + GOOD_RULE)
    with pytest.raises(InputError, match=r"b\.toml:1: field 'beta_rules': must be >= 0"):
        RuleSet.load(p)
    p.write_text("beta_disc = 1.0\n[[rule]]\n" + GOOD_RULE)
    with pytest.raises(InputError, match="missing field 'beta_rules'"):
        RuleSet.load(p)
    p.write_text("beta_rules = 1\nbeta_disc = 1.0\n[[rule]]\n" + GOOD_RULE + "[[rule]]\n" + GOOD_RULE)
    with pytest.raises(InputError, match="another rule already has this name"):
        RuleSet.load(p)
    p.write_text("beta_rules = 1\nbeta_disc = = 1.0\n")
    with pytest.raises(InputError, match="not valid TOML") as ei:
        RuleSet.load(p)
    assert ei.value.line == 2


def test_pitch_names():
    assert [parse_pitch(x) for x in ("G3", "E7", "F#5", "Bb4", "C-1", 60)] == [55, 100, 78, 70, 0, 60]
    for bad in ("H3", 200, True, "G"):
        with pytest.raises(ValueError):
            parse_pitch(bad)


def test_adding_a_kind_is_one_class_and_one_registration():
    from musicgen.rules import RULE_KINDS, Outcome, Param, Rule, register_rule_kind

    @register_rule_kind
    class HighestNoteOnce(Rule):  # reward when at most `limit` notes reach the top pitch
        kind = "test_top_notes"
        summary = "test kind"
        params = {"top": Param("pitch", doc="top note")}

        def exact(self, ctx):
            hi = ctx.pitches >= self.top
            bad = ctx.onset_bp[..., hi].sum(axis=-1, dtype=np.int64)
            ev = ctx.onset_bp.sum(axis=(1, 2), dtype=np.int64).astype(float)
            return Outcome(ev - bad.sum(axis=1), ev, bad)

    try:
        rs = one_rule('name = "top"\nkind = "test_top_notes"\nalpha = 1\nreward = 1\npenalty = -1\ntop = "C6"\n')
        g = grid([(0, 4, 60), (4, 4, 84), (8, 4, 86), (12, 4, 62)])
        assert rs.score_grids(g, SPEC).rules["top"][0] == pytest.approx(0.0)  # half the notes at/above C6
    finally:
        del RULE_KINDS["test_top_notes"]


# ------------------------------------------------------------------------------------------- rule values
def test_range_rule_value():
    rs = RuleSet.load("violin")
    g = grid([(0, 4, 50), (4, 4, 60), (8, 4, 62), (12, 4, 64)])  # D3 is below G3
    s = rs.score_grids(g, SPEC)
    assert s.rules["range"][0] == pytest.approx(0.1 * 0.75 - 0.6 * 0.25)
    assert s.bar_violations["range"].tolist() == [[1]]
    v = [x for x in rs.violations(g, SPEC) if x.rule == "range"]
    assert [x.message for x in v] == ["bar 1, beat 1: D3 is below the range G3–E7 (5 semitones too low)"]


def test_polyphony_rule_value():
    rs = RuleSet.load("violin")  # n = 2
    g = grid([(0, 8, 60), (0, 8, 64), (0, 8, 67), (8, 8, 72)])  # a triad for two beats, then one note
    s = rs.score_grids(g, SPEC)
    assert s.satisfied["polyphony"][0] == pytest.approx(0.5)
    assert s.rules["polyphony"][0] == pytest.approx(0.2 * 0.5 - 0.5 * 0.5)
    v = [x for x in rs.violations(g, SPEC) if x.rule == "polyphony"]
    assert len(v) == 1 and v[0].events == 8
    assert v[0].message == "bar 1, beat 1: 3 notes sound together (C4, E4, G4); at most 2 at a time"
    double = grid([(0, 16, 60), (0, 16, 67)])  # a double stop is fine on the violin, not in a melody
    assert rs.score_grids(double, SPEC).rules["polyphony"][0] == pytest.approx(0.2)
    assert RuleSet.load("melody").score_grids(double, SPEC).rules["polyphony"][0] == pytest.approx(-0.5)


def test_rests_rule_value():
    rs = RuleSet.load("violin")
    bar1 = [(0, 4, 60), (8, 4, 62)]  # note, rest, note, rest: 2 rests > 0.4 x 2 notes
    bar2 = [(16 + 2 * i, 2, 60 + i) for i in range(8) if i != 4]  # 7 eighths and one eighth rest: fine
    g = grid(bar1 + bar2, n_bars=3)  # bar 3 is empty: 1 rest, 0 notes
    s = rs.score_grids(g, SPEC)
    assert s.bar_violations["rests"].tolist() == [[1, 0, 1]]
    assert s.rules["rests"][0] == pytest.approx(0.1 / 3 - 0.3 * 2 / 3)
    msgs = [x.message for x in rs.violations(g, SPEC) if x.rule == "rests"]
    assert msgs == [
        "bar 1, beat 2: 2 rests against 2 notes; at most 0.4 rests per note are allowed (0.8 here)",
        "bar 3: the bar is empty (a whole-bar rest and no notes)",
    ]
    # exactly at the limit: 2 rests and 5 notes (0.4 x 5 = 2) is allowed
    five = [(0, 2, 60), (2, 2, 62), (6, 2, 64), (8, 2, 65), (12, 2, 67)]  # silences at steps 4-5, 10-11, 14-15
    assert rs.score_grids(grid(five), SPEC).bar_violations["rests"].tolist() == [[1]]  # 3 rests > 2
    five_ok = [(0, 2, 60), (2, 2, 62), (6, 2, 64), (8, 2, 65), (10, 2, 67)]  # rests at 4-5 and 12-15
    assert rs.score_grids(grid(five_ok), SPEC).bar_violations["rests"].tolist() == [[0]]


def test_strong_beats_per_meter():
    assert strong_beat_steps(4, 4, 12)[0].tolist() == [0, 24]  # beats 1 and 3
    assert strong_beat_steps(3, 4, 12)[0].tolist() == [0]
    assert strong_beat_steps(2, 4, 12)[0].tolist() == [0]
    assert strong_beat_steps(6, 8, 12)[0].tolist() == [0, 18]  # eighths 1 and 4 (dotted-quarter pulses)
    assert strong_beat_steps(5, 4, 12)[0].tolist() == [0]  # not in the table: the downbeat only
    with pytest.raises(ValueError):
        strong_beat_steps(4, 4, 12, {"4/4": (9,)})


def test_chord_rule_value_with_given_chords_and_message():
    rs = RuleSet.load("violin")
    g = grid([(0, 4, 60), (4, 4, 62), (8, 4, 78), (12, 4, 64)])  # C4 on beat 1, F#5 on beat 3
    s = rs.score_grids(g, SPEC, key=Key(0), chords=np.array([[0, 0]]))
    assert s.rules["chord_tones"][0] == pytest.approx(0.7 * 0.5 - 1.0 * 0.5)
    v = [x for x in rs.violations(g, SPEC, key=Key(0), chords=np.array([[0, 0]])) if x.rule == "chord_tones"]
    assert [x.message for x in v] == [
        "bar 1, beat 3: F#5 is not a tone of the C major chord (C–E–G, from the chord symbol)"
    ]
    # a note held over beat 3 counts (held_notes = true) and is named as held
    held = grid([(0, 4, 60), (4, 8, 78), (12, 4, 64)])
    v = [x for x in rs.violations(held, SPEC, chords=np.array([[0, 0]])) if x.rule == "chord_tones"]
    assert [x.message for x in v] == [
        "bar 1, beat 3: F#5 (held over the beat) is not a tone of the C major chord (C–E–G, from the chord symbol)"
    ]
    onsets_only = one_rule(
        'name = "c"\nkind = "strong_beat_chord_tones"\nalpha = 1\nreward = 0.7\npenalty = -1\nheld_notes = false\n'
    )
    assert onsets_only.score_grids(held, SPEC, chords=np.array([[0, 0]])).rules["c"][0] == pytest.approx(0.7)


def test_piece_chord_symbols_and_the_musicians_message():
    # bar 7 (4/4): C major symbol on beat 1, G major from beat 3; notes C5 (beat 1), F#5 (beat 3), B4 (beat 4)
    res = 480
    on = [6 * 4 * res, (6 * 4 + 2) * res, (6 * 4 + 3) * res]
    piece = Piece.from_arrays(
        on, [2 * res, res, res], [72, 78, 71], key=Key(0), chords=np.array([[24.0, 0, 0], [26.0, 7, 0]])
    )
    sc = RuleSet.load("violin").score_piece(piece)
    assert sc.chord_symbols and not sc.key_estimated
    msgs = [v.message for v in sc.violations if v.rule == "chord_tones"]
    # F#5 belongs to neither triad? It is the 7th of G only as a seventh chord: the rule uses triads.
    assert msgs == ["bar 7, beat 3: F#5 is not a tone of the G major chord (G–B–D, from the chord symbol)"]
    assert sc.rules["chord_tones"] == pytest.approx(0.7 * 0.5 - 0.5)
    # the same note against a C symbol from beat 3 reads as the example
    piece2 = piece.copy(chords=np.array([[24.0, 0, 0]]))
    msgs = [v.message for v in RuleSet.load("violin").score_piece(piece2).violations if v.rule == "chord_tones"]
    assert msgs == ["bar 7, beat 3: F#5 is not a tone of the C major chord (C–E–G, from the chord symbol)"]


def test_estimated_chords_and_keys():
    h = np.zeros((1, 3, 12))
    h[0, 0, [0, 4, 7]] = 4  # C E G -> C major (I)
    h[0, 1, [7, 11, 2, 5]] = 4  # G B D F -> G major (V), F is not enough to make it B diminished
    h[0, 2, [9, 0, 4]] = [4, 2, 2]  # A C E -> A minor (vi)
    assert estimate_bar_chords(h, np.array([[0, 0]])).tolist() == [[[0, 0], [7, 0], [9, 1]]]
    # ties go to the preferred triad: a lone G fits I, V and iii; I comes first
    h2 = np.zeros((1, 1, 12))
    h2[0, 0, 7] = 1
    assert estimate_bar_chords(h2, np.array([[0, 0]])).tolist() == [[[0, 0]]]
    # in A minor, G# makes the dominant major (harmonic minor)
    h3 = np.zeros((1, 1, 12))
    h3[0, 0, [4, 8, 11]] = 3
    assert estimate_bar_chords(h3, np.array([[9, 1]])).tolist() == [[[4, 0]]]
    c_major = np.array([[6, 0, 2, 0, 4, 3, 0, 5, 0, 2, 0, 1.0]])
    a_minor = np.array([[3, 0, 1, 0, 4, 2, 0, 0, 2, 6, 0, 2.0]])
    assert estimate_keys(np.concatenate([c_major, a_minor, np.zeros((1, 12))])).tolist() == [[0, 0], [9, 1], [0, 0]]


def test_estimated_key_is_used_and_reported(acacia):
    rs = RuleSet.load("violin")
    no_key = acacia.copy(key=None)
    sc = rs.score_piece(no_key)
    assert sc.key_estimated and sc.key == Key(7, "major")  # the reel is in G major
    assert rs.score_piece(acacia).key == Key(7, "major") and not rs.score_piece(acacia).key_estimated


def test_corpus_tune_scores_and_pickup_numbering(acacia):
    sc = RuleSet.load("violin").score_piece(acacia)
    assert sc.bar_offset == 0  # pickup bar is bar 0, as printed
    assert sc.rules["range"] == pytest.approx(0.1) and sc.rules["polyphony"] == pytest.approx(0.2)
    assert sc.rules["rests"] == pytest.approx(0.1)  # the padding before the pickup is not a rest
    assert -2.4 <= sc.r_f <= 1.1
    assert all(v.bar >= 0 for v in sc.violations)
    assert sc.r_f == pytest.approx(sum(sc.rules.values()))


def test_batched_scores_include_keys_bar_costs_and_cells():
    rs = RuleSet.load("violin")
    a = grid([(0, 4, 50), (4, 4, 60), (8, 4, 62), (12, 4, 64)])
    b = grid([(0, 16, 60), (0, 16, 64), (0, 16, 67)])
    s = rs.score_grids(np.stack([a, b]), SPEC, explain=True)
    assert s.r_f.shape == (2,) and all(v.shape == (2,) for v in s.rules.values())
    assert s.cell_violations["range"][0].sum() == 1 and s.cell_violations["range"][1].sum() == 0
    assert s.cell_violations["polyphony"][1].sum() == 48 and s.cell_violations["rests"] is None
    assert s.bar_cost.shape == (2, 1) and s.bar_cost[1, 0] == pytest.approx(
        0.2 + 0.5
    )  # every step too thick, nothing else wrong
    assert np.allclose(s.r_f, sum(r.alpha * s.rules[r.name] for r in rs.rules))


def test_silence_earns_penalties_not_rewards():
    for name in ("violin", "melody"):
        rs = RuleSet.load(name)
        s = rs.score_grids(np.zeros((2, 4, 16, 72), np.int8), SPEC)
        # sums of the same rewards in another order may differ in the last bit (they do on Python 3.13)
        assert s.r_f.tolist() == pytest.approx([rs.bounds[0]] * 2, rel=1e-12, abs=1e-12)
        r, _ = rs.soft_score(
            torch.zeros(2, 4, 16, 72, dtype=torch.float64), torch.zeros(2, 4, 16, 72, dtype=torch.float64), SPEC
        )
        assert r.tolist() == pytest.approx(s.r_f.tolist(), rel=1e-12, abs=1e-12)
    assert RuleSet.load("violin").score_piece(Piece.empty()).r_f == pytest.approx(-2.4)


# ------------------------------------------------------------------------------------------- soft form
def test_soft_equals_exact_and_has_gradients():
    rs = RuleSet.load("melody")
    rng = np.random.default_rng(3)
    g = np.stack(
        [
            grid([(int(s), 2, int(p)) for s, p in zip(range(0, 32, 2), rng.integers(40, 105, 16))], n_bars=2)
            for _ in range(4)
        ]
    )
    exact = rs.score_grids(g, SPEC)
    on = torch.tensor(g == 1, dtype=torch.float64)
    so = torch.tensor(g != 0, dtype=torch.float64)
    r_f, per = rs.soft_score(on, so, SPEC)
    assert r_f.numpy().tolist() == exact.r_f.tolist()  # bit for bit in float64
    for k in exact.rules:
        assert per[k].numpy().tolist() == exact.rules[k].tolist()
    r32, _ = rs.soft_score(on.float(), so.float(), SPEC)
    assert np.allclose(r32.numpy(), exact.r_f, atol=1e-5)
    # gradients flow from soft probabilities
    p_on = torch.full(g.shape, 0.05, dtype=torch.float64, requires_grad=True)
    p_so = torch.full(g.shape, 0.1, dtype=torch.float64, requires_grad=True)
    r, _ = rs.soft_score(p_on, p_so, SPEC)
    r.sum().backward()
    assert torch.isfinite(p_on.grad).all() and torch.isfinite(p_so.grad).all()
    assert p_on.grad.abs().sum() > 0 and p_so.grad.abs().sum() > 0
    lo, hi = rs.bounds
    assert ((r >= lo - 1e-9) & (r <= hi + 1e-9)).all()


def test_soft_range_gradient_points_into_range():
    rs = one_rule(GOOD_RULE)
    p = torch.full((1, 1, 16, 72), 0.01, dtype=torch.float64, requires_grad=True)
    r, _ = rs.soft_score(p, p, SPEC)
    r.sum().backward()
    pitches = SPEC.lowest_pitch + np.arange(72)
    g = p.grad[0, 0, 0].numpy()
    inside = (pitches >= 55) & (pitches <= 100)
    assert (g[inside] > 0).all() and (g[~inside] < 0).all()


# ------------------------------------------------------------------------------------------- CLI
def _broken_tune(acacia) -> Piece:
    """The Acacia Reel with deliberate mistakes: a note out of range, a three-note chord, an empty bar,
    and a wrong note on a downbeat."""
    p = acacia.copy()
    notes = p.notes.copy()
    res = p.resolution
    bar = 2 * res  # 2/4
    first = notes[notes["onset_tick"] >= 3 * bar][0]
    notes["pitch"][notes["onset_tick"] == first["onset_tick"]] = 40  # E2, far below G3
    extra = np.zeros(2, dtype=notes.dtype)
    for i, pitch in enumerate((62, 66)):
        extra[i] = (5 * bar / res, bar / res, 5 * bar, bar, pitch, 80, 0)
    gap = (notes["onset_tick"] >= 8 * bar) & (notes["onset_tick"] < 9 * bar)
    notes = np.concatenate([notes[~gap], extra])
    down = notes["onset_tick"] == 10 * bar
    notes["pitch"][down] = 61  # C#4 on a downbeat in G major
    p.notes = notes
    p.sort()
    return p


def test_cli_check_corpus_and_broken_tune(acacia, tmp_path):
    from typer.testing import CliRunner

    from musicgen.cli import app
    from musicgen.io import write_midi

    good, bad = tmp_path / "acacia.mid", tmp_path / "broken.mid"
    write_midi(acacia, good)
    write_midi(_broken_tune(acacia), bad)
    out = tmp_path / "scores.json"
    r = CliRunner().invoke(app, ["rules", "check", str(good), str(bad), "--json", str(out)], terminal_width=200)
    assert r.exit_code == 0, r.output
    assert "R_F" in r.output and "worst bars" in r.output
    assert "E2 is below the range G3–E7" in r.output
    assert "3 notes sound together" in r.output and "the bar is empty" in r.output
    rep = json.loads(out.read_text())
    assert [f["path"] for f in rep["files"]] == [str(good), str(bad)]
    g, b = rep["files"]
    assert set(g["rules"]) == {"range", "polyphony", "rests", "chord_tones"}
    assert g["r_f"] == pytest.approx(sum(g["rules"].values())) and b["r_f"] < g["r_f"]
    assert b["rules"]["range"] < 0.1 and b["rules"]["polyphony"] < 0.2 and b["rules"]["rests"] < 0.1
    kinds = {v["rule"] for v in b["violations"]}
    assert {"range", "polyphony", "rests", "chord_tones"} <= kinds
    assert all(set(v) >= {"bar", "beat", "rule", "message"} for v in b["violations"])
    # MIDI keeps no pickup mark, so bars count from 1 here: grid bar 10 is bar 11
    assert any(v["message"].startswith("bar 11, beat 1: C#4 is not a tone of") for v in b["violations"])
    assert any(v["message"].startswith("bar 4, beat 1: E2 is below the range G3–E7") for v in b["violations"])
    # the JSON file is not overwritten without --force
    r2 = CliRunner().invoke(app, ["rules", "check", str(good), "--json", str(out)])
    assert r2.exit_code != 0 and "--force" in str(r2.exception)
    r3 = CliRunner().invoke(app, ["rules", "check", str(good), "--json", str(out), "--force", "--rules", "melody"])
    assert r3.exit_code == 0 and json.loads(out.read_text())["rule_set"] == "melody"


def test_cli_list_and_user_errors_without_traceback(tmp_path):
    from typer.testing import CliRunner

    from musicgen.cli import app

    r = CliRunner().invoke(app, ["rules", "list"], terminal_width=200)
    assert r.exit_code == 0
    for word in ("violin", "melody", "pitch_range", "G3–E7", "chord_tones", "β1"):
        assert word in r.output
    bad = tmp_path / "bad.toml"
    bad.write_text("beta_rules = 1\nbeta_disc = 1\n[[rule]]\n" + GOOD_RULE.replace("pitch_range", "nope"))
    exe = Path(sys.executable).with_name("musicgen")
    p = subprocess.run(
        [str(exe), "rules", "check", str(REPO / "README.md"), "--rules", str(bad)], capture_output=True, text=True
    )
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert "bad.toml:5: rule 'range', field 'kind': unknown rule kind 'nope'" in " ".join(p.stderr.split())


def test_non_editable_install_finds_the_shipped_rule_files(tmp_path):
    """Build a wheel from a copy of the sources, install it into a folder, load --rules violin from there."""
    import shutil

    src = tmp_path / "src"
    src.mkdir()
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "musicgen", src / "musicgen", ignore=ignore)
    shutil.copytree(REPO / "rules", src / "rules", ignore=ignore)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        pip + ["wheel", str(src), "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist")],
        check=True,
        capture_output=True,
        cwd=src,
    )
    wheel = next((tmp_path / "dist").glob("*.whl"))
    subprocess.run(
        pip + ["install", "--no-deps", "--target", str(tmp_path / "site"), str(wheel)], check=True, capture_output=True
    )
    code = "import musicgen.rules as r; print(r.__file__); print(r.RuleSet.load('violin').path); print(r.RuleSet.list_available())"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"},
        check=True,
    ).stdout.splitlines()
    site = str(tmp_path / "site")
    assert out[0].startswith(site) and out[1].startswith(site) and out[1].endswith("violin.toml")
    assert "violin" in out[2] and "melody" in out[2]
