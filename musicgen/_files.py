"""Small file helpers: atomic writes that never leave a half-written file and never overwrite by accident."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from musicgen.errors import OutputExistsError, UsageError


def check_writable(path: str | Path, force: bool = False) -> Path:
    """Check that ``path`` may be written before any long work starts.

    Raises:
        OutputExistsError: the file exists and ``force`` is false.
        UsageError: the parent folder does not exist or is not writable, or ``path`` is a folder.
    """
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    try:
        if p.is_dir():
            raise UsageError(f"{p} is a folder; give a file name")
        if p.exists() and not force:
            raise OutputExistsError(p)
        if not parent.exists():
            raise UsageError(f"cannot write {p}: folder {parent} does not exist")
    except OSError as exc:  # e.g. a file or folder name longer than the file system allows
        raise UsageError(f"cannot write {p}: {exc.strerror or exc}") from None
    if not os.access(parent, os.W_OK):
        raise UsageError(f"cannot write {p}: folder {parent} is not writable")
    return p


def atomic_write_bytes(path: str | Path, data: bytes, force: bool = False) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and an atomic rename.

    Raises:
        OutputExistsError: the file exists and ``force`` is false.
        UsageError: the folder is missing or not writable.
    """
    p = check_writable(path, force)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent if str(p.parent) else ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        # mkstemp makes the file private (0600); give it the mode a plain open() would have
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return p


def atomic_write_text(path: str | Path, text: str, force: bool = False) -> Path:
    """Write UTF-8 ``text`` atomically (see :func:`atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode("utf-8"), force)
