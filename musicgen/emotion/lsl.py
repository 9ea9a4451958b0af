"""Lab Streaming Layer (LSL) outlets as a :class:`~musicgen.emotion.contract.Source`, through pylsl.

Live sensors and face analysers publish LSL streams; :class:`LSLSource` resolves them by name or
property, maps their channel labels to the contract's channels, and validates every sample as a
file row is validated (:class:`~musicgen.emotion.parsing.RowParser`). liblsl is optional:
:func:`lsl_available` says whether it loads here.
"""

from __future__ import annotations

import time as _time
from collections.abc import Iterable, Iterator

import numpy as np

from musicgen.emotion.contract import CHANNELS, FACE_CHANNELS, Chunk, Diagnostics, Source, canonical_column
from musicgen.emotion.parsing import RowParser
from musicgen.errors import UsageError

_LSL_QUIET = False


def _quiet_liblsl() -> None:
    """Lower liblsl's console logging to errors only (once, before the first liblsl call)."""
    global _LSL_QUIET
    if _LSL_QUIET:
        return
    _LSL_QUIET = True
    import os

    if "LSLAPICFG" not in os.environ:
        try:
            import pylsl

            pylsl.set_config_content("[log]\nlevel = -3\n")
        except Exception:  # noqa: BLE001 - logging configuration is cosmetic
            pass


def lsl_available() -> tuple[bool, str]:
    """Whether pylsl and liblsl load here: ``(True, version)`` or ``(False, reason)``."""
    try:
        import pylsl

        return True, f"liblsl {pylsl.library_version()}"
    except Exception as exc:  # noqa: BLE001 - any load failure means "unavailable", with its reason
        return False, f"{type(exc).__name__}: {exc}"


def _lsl_channel_labels(info) -> list[str]:
    labels = []
    ch = info.desc().child("channels").child("channel")
    while not ch.empty():
        labels.append(ch.child_value("label"))
        ch = ch.next_sibling()
    return labels


class LSLSource(Source):
    """Samples from Lab Streaming Layer outlets (live sensors, face analysers), through pylsl.

    A spec is ``NAME`` (a stream name) or ``PROP=VALUE`` (``type=EDA``, ``source_id=...``); several
    specs are separated by commas (e.g. ``"MyECG,type=FaceExpressions"``) and their samples merge.
    Channels are named from each stream's ``desc/channels/channel/label`` (matched like file
    columns); a one-channel stream without labels is named after its ``type`` (``ECG``, ``EDA``, …).
    Times are the outlet's timestamps mapped to this machine's clock (``time_correction``), in
    seconds.

    Args:
        specs: the stream specs (a list, or one comma-separated string; an ``lsl:`` prefix is allowed).
        resolve_timeout: seconds to wait for each stream to appear.
        idle_timeout: stop after this many seconds without a sample (None: run until interrupted).
        diagnostics: where to count warnings.

    Raises:
        UsageError: liblsl cannot load, or a stream is not found within ``resolve_timeout``, or a
            stream's channels cannot be mapped to the contract.
    """

    def __init__(
        self,
        specs: str | Iterable[str],
        *,
        resolve_timeout: float = 5.0,
        idle_timeout: float | None = None,
        diagnostics: Diagnostics | None = None,
    ):
        if isinstance(specs, str):
            specs = specs[4:] if specs.lower().startswith("lsl:") else specs
            specs = [s for s in specs.split(",") if s.strip()]
        self.specs = [s.strip() for s in specs]
        if not self.specs:
            raise UsageError("an LSL source needs a stream name or PROP=VALUE, e.g. lsl:MyECG or lsl:type=EDA")
        self.name = "lsl:" + ",".join(self.specs)
        self.resolve_timeout = resolve_timeout
        self.idle_timeout = idle_timeout
        self.diagnostics = diagnostics if diagnostics is not None else Diagnostics()
        self._inlets: list = []
        self._maps: list[np.ndarray] = []
        self._opened = False

    def open(self) -> None:
        """Resolve the streams and open their inlets (done on first iteration if not called).

        Raises:
            UsageError: see the class docstring.
        """
        if self._opened:
            return
        ok, why = lsl_available()
        if not ok:
            raise UsageError(f"cannot use LSL: liblsl does not load ({why})")
        _quiet_liblsl()
        import pylsl

        for spec in self.specs:
            prop, value = spec.split("=", 1) if "=" in spec else ("name", spec)
            found = pylsl.resolve_byprop(prop.strip(), value.strip(), 1, self.resolve_timeout)
            if not found:
                raise UsageError(
                    f"no LSL stream with {prop.strip()}={value.strip()!r} found within {self.resolve_timeout:g} s"
                )
            inlet = pylsl.StreamInlet(found[0], max_buflen=360, processing_flags=pylsl.proc_clocksync)
            info = inlet.info(timeout=self.resolve_timeout)
            labels = _lsl_channel_labels(info)
            n = info.channel_count()
            if len(labels) != n or not any(labels):
                labels = [info.type()] if n == 1 else []
                if n == len(FACE_CHANNELS) and "face" in info.type().lower():
                    labels = list(FACE_CHANNELS)
            cols = np.full(n, -1)
            for i, lab in enumerate(labels):
                c = canonical_column(lab)
                if c is not None and c in CHANNELS:
                    cols[i] = CHANNELS.index(c)
                elif lab:
                    self.diagnostics.warn(
                        "unknown column",
                        f"{self.name}: channel {lab!r} of stream {info.name()!r} is not part of the contract; ignored",
                    )
            if (cols < 0).all():
                raise UsageError(
                    f"LSL stream {info.name()!r} ({n} channels, type {info.type()!r}) has no channel this toolkit reads; "
                    "label its channels (desc/channels/channel/label) as ecg, ppg, hr, eda, rsp, temp or face_*"
                )
            inlet.open_stream(timeout=self.resolve_timeout)
            self._inlets.append(inlet)
            self._maps.append(cols)
        self._opened = True

    def close(self) -> None:
        for inlet in self._inlets:
            try:
                inlet.close_stream()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
        self._inlets = []

    def __iter__(self) -> Iterator[Chunk]:
        self.open()
        parsers = [RowParser(f"{self.name}[{i}]", self.diagnostics) for i in range(len(self._inlets))]
        last_data = _time.monotonic()
        try:
            while True:
                got = False
                for inlet, cols, parser in zip(self._inlets, self._maps, parsers):
                    try:
                        samples, stamps = inlet.pull_chunk(timeout=0.05, max_samples=4096)
                    except Exception as exc:  # noqa: BLE001 - e.g. pylsl.LostError: end this stream cleanly
                        self.diagnostics.warn("dropout", f"{self.name}: stream lost ({type(exc).__name__}: {exc})")
                        return
                    if not stamps:
                        continue
                    got = True
                    try:
                        arr = np.asarray(samples, dtype=np.float64).reshape(len(stamps), -1)
                    except (TypeError, ValueError):
                        self.diagnostics.warn(
                            "garbage line", f"{self.name}: a chunk of {len(stamps)} non-numeric samples", len(stamps)
                        )
                        continue
                    ts = np.asarray(stamps, dtype=np.float64)
                    for k in range(len(ts)):
                        if not parser.accept_time(float(ts[k]), parser.n_rows + 1):
                            continue
                        parser.n_rows += 1
                        v = np.full(len(CHANNELS), np.nan)
                        use = cols >= 0
                        v[cols[use]] = arr[k, use]
                        parser.append(float(ts[k]), parser.check_values(v, parser.n_rows), None)
                    chunk = parser.flush()
                    if chunk is not None:
                        yield chunk
                if got:
                    last_data = _time.monotonic()
                elif self.idle_timeout is not None and _time.monotonic() - last_data >= self.idle_timeout:
                    return
        finally:
            self.close()


__all__ = ["LSLSource", "lsl_available"]
