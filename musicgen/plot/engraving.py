"""Engraved sheet music (:func:`engrave`)
--------------------------------------
The piece's MusicXML is engraved by LilyPond (``musicxml2ly`` + ``lilypond``) or MuseScore (``mscore``),
whichever is installed (LilyPond first). Without either, :class:`EngraverMissing` says what to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from musicgen._files import atomic_write_bytes
from musicgen.errors import MusicgenError, UsageError
from musicgen.piece import Piece


# --------------------------------------------------------------------------------------- engraving
class EngraverMissing(UsageError):
    """Engraving was asked for but neither LilyPond nor MuseScore is installed (exit status 2)."""


class EngraverError(MusicgenError):
    """The engraver ran but failed (its last message is quoted)."""


@dataclass(frozen=True)
class Engraver:
    """An installed engraver: ``kind`` "lilypond" or "musescore", and its executables."""

    kind: str
    program: str
    converter: str | None = None

    def __str__(self) -> str:
        return f"{self.kind} ({self.program})"


_MUSESCORE_NAMES = ("mscore", "musescore", "mscore4portable", "musescore4", "mscore3", "musescore3")


def find_engraver() -> Engraver | None:
    """The first installed engraver: LilyPond (``lilypond`` with its ``musicxml2ly``), else MuseScore
    (``mscore``/``musescore``, versions 3 and 4); None when there is neither."""
    lily, conv = shutil.which("lilypond"), shutil.which("musicxml2ly")
    if lily and conv:
        return Engraver("lilypond", lily, conv)
    for name in _MUSESCORE_NAMES:
        exe = shutil.which(name)
        if exe:
            return Engraver("musescore", exe)
    return None


def _run(cmd: list[str], cwd: str, what: str, env: dict | None = None) -> None:
    try:
        r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300, env=env)
    except subprocess.TimeoutExpired:
        raise EngraverError(f"{what} took more than 300 s and was stopped") from None
    if r.returncode != 0:
        lines = [ln for ln in (r.stderr or r.stdout or "").splitlines() if ln.strip()]
        raise EngraverError(f"{what} failed (exit {r.returncode}): {lines[-1] if lines else 'no message'}")


def engrave(
    piece: Piece | str | os.PathLike,
    path: str | os.PathLike,
    *,
    engraver: Engraver | None = None,
    resolution: int = 150,
    force: bool = False,
) -> Path:
    """Engrave sheet music from MusicXML as a PDF (all pages) or a PNG (the first page), by ``path``'s suffix.

    Args:
        piece: a :class:`Piece` (written as MusicXML first) or a MusicXML file (.musicxml/.xml/.mxl).
        path: a ``.pdf`` or ``.png`` file.
        engraver: which one (default: :func:`find_engraver`).
        resolution: PNG resolution in dots per inch.
        force: replace an existing file.

    Returns:
        the path written.

    Raises:
        EngraverMissing: neither LilyPond nor MuseScore is installed (the message says what to install).
        EngraverError: the engraver failed.
        UsageError: ``path`` is neither .pdf nor .png, exists without ``force``, or its folder is missing.
    """
    from musicgen._files import check_writable

    out = Path(path)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("pdf", "png"):
        raise UsageError(f"{out}: engraved music is written as .pdf or .png")
    check_writable(out, force)
    eng = engraver or find_engraver()
    if eng is None:
        raise EngraverMissing(
            "engraved sheet music needs LilyPond or MuseScore: install one "
            "(Debian/Ubuntu: sudo apt install lilypond, or musescore3; macOS: brew install lilypond)"
        )
    with tempfile.TemporaryDirectory(prefix="musicgen-engrave-") as td:
        if isinstance(piece, Piece):
            from musicgen.io import musicxml_bytes

            xml = Path(td) / "piece.musicxml"
            xml.write_bytes(musicxml_bytes(piece))
        else:
            xml = Path(piece).resolve()
        if eng.kind == "lilypond":
            ly = Path(td) / "piece.ly"
            _run([eng.converter or "musicxml2ly", "--output", str(ly), str(xml)], td, "musicxml2ly")
            opts = ["--pdf"] if fmt == "pdf" else ["--png", f"-dresolution={int(resolution)}"]
            _run([eng.program, *opts, "-o", str(Path(td) / "score"), str(ly)], td, "lilypond")
        else:
            env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
            _run(
                [eng.program, "-r", str(int(resolution)), "-o", str(Path(td) / f"score.{fmt}"), str(xml)],
                td,
                "MuseScore",
                env,
            )
        made = sorted(Path(td).glob(f"score*.{fmt}"))
        if not made:
            raise EngraverError(f"{eng} wrote no {fmt.upper()} file")
        # one file, or one per page (score-page1.png / score-1.png): the first page
        first = next((m for m in made if m.stem == "score"), made[0])
        data = first.read_bytes()
    return atomic_write_bytes(out, data, force)
