"""Interactive mode: follow a live emotion estimate and play phrase after phrase that continues the last.

The loop (``musicgen interact``):

1. read the signal source (file, growing file, stdin, LSL) and update the emotion estimate every hop;
2. when the current phrase has played out in *stream time* (its bars at its tempo), generate the next
   phrase conditioned on the current estimate (its valence/arousal point) and continuing the previous phrase: its state (latents,
   key, tempo, last note; :class:`musicgen.continuation.Continuation`) passes explicitly from phrase to
   phrase, so the session keeps one tonic (the parallel mode when the valence changes sign), joins
   phrases within a fifth, develops rather than repeats, and alternates open and closed cadences;
3. append it to the session: the output MIDI is rewritten atomically after every phrase, so the file on
   disk is always a valid MIDI of everything played so far; optionally send it to a MIDI port;
4. log the emotion timeline (every estimate, and which estimate each phrase used).

The end of the stream or Ctrl-C stops it cleanly.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from musicgen.errors import UsageError
from musicgen.piece import NOTE_DTYPE, Piece, Track


@dataclass
class Phrase:
    """One generated phrase of the session."""

    index: int
    stream_time: float
    label: str
    valence: float
    arousal: float
    tempo_bpm: float
    start_tick: int
    n_notes: int
    latency_ms: float
    r_f: float
    estimate_ms: float = 0.0
    generate_ms: float = 0.0
    key: str = ""
    join_semitones: int = -1
    repeat_share: float = float("nan")
    cadence_ok: bool = False
    last_pitch: int | None = None

    def as_dict(self) -> dict:
        """JSON-ready form."""
        return dict(self.__dict__)


def _first_mode(valence: float) -> str | None:
    """The mode the session's first phrase is written in: the one a clear valence asks for
    (:func:`musicgen.continuation.mode_for_valence`), or the generator's own choice near 0."""
    from musicgen.continuation import mode_for_valence

    minor = mode_for_valence(valence)
    return None if minor is None else ("minor" if minor else "major")


@dataclass
class Session:
    """The music played so far and the emotion timeline."""

    resolution: int = 480
    notes: list = field(default_factory=list)
    tempos: list = field(default_factory=list)
    phrases: list[Phrase] = field(default_factory=list)
    timeline: list[dict] = field(default_factory=list)
    end_tick: int = 0

    def append(self, piece: Piece, bars: int) -> int:
        """Append a rendered phrase (at its own tempo) after the previous one; returns its start tick."""
        start = self.end_tick
        n = piece.notes.copy()
        scale = self.resolution / piece.resolution
        n["onset_tick"] = np.rint(n["onset_tick"] * scale).astype(np.int64) + start
        n["duration_tick"] = np.rint(n["duration_tick"] * scale).astype(np.int64)
        n["onset"] = n["onset_tick"] / self.resolution
        n["duration"] = n["duration_tick"] / self.resolution
        n["track"] = 0
        self.notes.append(n)
        self.tempos.append((float(start), float(piece.tempo)))
        self.end_tick = start + int(round(bars * piece.bar_length * self.resolution))
        return start

    def piece(self) -> Piece:
        """The whole session as one violin :class:`Piece` (a tempo change at each phrase)."""
        notes = np.concatenate(self.notes) if self.notes else np.zeros(0, dtype=NOTE_DTYPE)
        tempos = np.asarray(self.tempos or [(0.0, 120.0)], dtype=float)
        p = Piece(
            notes=notes,
            resolution=self.resolution,
            tracks=[Track("Violin")],
            tempos=tempos,
            title="musicgen interactive session",
        )
        p.sort()
        return p


class MidiPortPlayer:
    """Plays phrases on a MIDI output port through mido (python-rtmidi backend), in a background thread.

    Raises:
        UsageError: mido/python-rtmidi missing, or no port with that name (the message lists the ports).
    """

    def __init__(self, name: str):
        import queue
        import threading

        try:
            import mido

            names = mido.get_output_names()
        except Exception as exc:  # ImportError, or the rtmidi backend missing
            raise UsageError(f'--midi-port needs python-rtmidi: pip install "musicgen[midi]" ({exc})') from None
        if name not in names:
            raise UsageError(f"no MIDI output port {name!r}; available: {', '.join(names) or 'none'}")
        self._port = mido.open_output(name)
        self._q: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def play(self, piece: Piece) -> None:
        """Queue a phrase (played after the ones queued before it)."""
        self._q.put(piece)

    def _run(self) -> None:
        import mido

        while True:
            piece = self._q.get()
            if piece is None:
                return
            sec_per_tick = 60.0 / (piece.tempo * piece.resolution)
            events = []
            for r in piece.notes:
                events.append((int(r["onset_tick"]), 1, int(r["pitch"]), int(r["velocity"])))
                events.append((int(r["onset_tick"] + r["duration_tick"]), 0, int(r["pitch"]), 0))
            events.sort(key=lambda e: (e[0], e[1]))
            t0 = time.perf_counter()
            self._port.send(mido.Message("program_change", program=40))
            for tick, on, pitch, vel in events:
                delay = t0 + tick * sec_per_tick - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                self._port.send(mido.Message("note_on" if on else "note_off", note=pitch, velocity=vel))

    def close(self) -> None:
        """Let queued phrases finish, then close the port."""
        self._q.put(None)
        self._thread.join(timeout=600)
        self._port.close()


def run_interact(
    source: str | Path,
    *,
    output: str | Path | None = None,
    phrase_bars: int = 4,
    candidates: int = 16,
    seed: int = 0,
    rules: str = "violin",
    checkpoint: str | None = None,
    midi_port: str | None = None,
    log: str | Path | None = None,
    follow: bool = False,
    realtime: bool = False,
    force: bool = False,
    max_phrases: int | None = None,
    on_phrase: Callable[[Phrase], None] | None = None,
    on_estimate: Callable[[object], None] | None = None,
) -> Session:
    """Run the interactive loop over a signal source until it ends (or Ctrl-C).

    Args:
        source: a signal file (CSV / JSON lines), ``-`` for stdin, or ``lsl:NAME`` (see
            :func:`musicgen.emotion.streaming.estimate_stream`).
        output: session MIDI, rewritten atomically after every phrase.
        phrase_bars: bars per phrase (1..16).
        candidates: candidates per phrase (best by β1·R_F + β2·D).
        seed: phrase ``k`` uses seed ``seed + k``.
        midi_port: also play each phrase on this MIDI output port.
        log: write the emotion timeline and phrases here as JSON at the end.
        follow / realtime: see the estimator's sources.
        max_phrases: stop after this many phrases.
        on_phrase / on_estimate: callbacks for progress display.

    Returns:
        the :class:`Session` (notes, phrases, timeline).

    Raises:
        UsageError: bad options, an existing output without ``force``, an unknown MIDI port.
        InputError: an unreadable source or rule file.
    """
    from musicgen._files import atomic_write_text, check_writable
    from musicgen.emotion.streaming import estimate_stream
    from musicgen.generation import generate
    from musicgen.io import write_midi
    from musicgen.model.api import load_model

    if not 1 <= phrase_bars <= 16:
        raise UsageError(f"--phrase-bars must be between 1 and 16, got {phrase_bars}")
    for p in (output, log):
        if p is not None:
            check_writable(p, force)
    model = load_model(checkpoint)
    # warm up (first torch calls, rule and performance files) before the stream starts, so the first
    # phrase is as quick as the rest
    from musicgen.conditions import from_label, from_valence_arousal

    generate(
        condition=from_label("neutral"), bars=phrase_bars, candidates=candidates, seed=seed, rules=rules, model=model
    )
    player = MidiPortPlayer(midi_port) if midi_port else None
    session = Session()
    state = None  # the previous phrase's Continuation
    next_due = None  # stream time at which the next phrase is due
    stream = estimate_stream(source, follow=follow, realtime=realtime)
    try:
        t_asked = time.perf_counter()
        for est in stream:
            # the time inside the stream for this estimate: reading, window features, the estimator
            estimate_ms = (time.perf_counter() - t_asked) * 1000.0
            session.timeline.append(est.as_dict())
            if on_estimate:
                on_estimate(est)
            if next_due is not None and est.time < next_due:
                t_asked = time.perf_counter()
                continue
            t0 = time.perf_counter()
            k = len(session.phrases)
            # the phrase follows the estimate's valence/arousal point: a live estimate's class
            # probabilities can disagree with its valence (a "neutral" label at valence -0.35), and the
            # session's mode follows the valence
            point = from_valence_arousal(est.condition.valence, est.condition.arousal)
            res = generate(
                condition=point,
                bars=phrase_bars,
                candidates=candidates,
                seed=seed + k,
                rules=rules,
                model=model,
                continuation=state,
                cadence="open" if state is None else None,
                mode=_first_mode(point.valence) if state is None else None,
            )
            generate_ms = (time.perf_counter() - t0) * 1000.0
            state = res.continuation
            start = session.append(res.performance, phrase_bars)
            cont = res.report.get("continuation", {})
            phrase = Phrase(
                k,
                float(est.time),
                est.condition.label,
                est.condition.valence,
                est.condition.arousal,
                res.performance.tempo,
                start,
                len(res.performance),
                estimate_ms + generate_ms,
                res.report["r_f"],
                estimate_ms,
                generate_ms,
                res.report["key"] or "",
                int(cont.get("join_semitones", -1)),
                float(cont.get("repeat_share", float("nan"))),
                bool(cont.get("cadence_ok", False)),
                state.last_pitch,
            )
            session.phrases.append(phrase)
            session.timeline[-1]["phrase"] = k
            if output is not None:
                write_midi(session.piece(), output, force=True)
            if player is not None:
                player.play(res.performance)
            if on_phrase:
                on_phrase(phrase)
            next_due = est.time + phrase_bars * res.performance.bar_length * 60.0 / res.performance.tempo
            if max_phrases is not None and len(session.phrases) >= max_phrases:
                break
            t_asked = time.perf_counter()
    except KeyboardInterrupt:
        pass
    finally:
        stream.close()
        if player is not None:
            player.close()
        if log is not None:
            atomic_write_text(
                log,
                json.dumps(
                    {"estimates": session.timeline, "phrases": [p.as_dict() for p in session.phrases]}, indent=1
                ),
                force=True,
            )
    return session
