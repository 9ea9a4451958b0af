"""The TOML reader of the running Python: the standard library's ``tomllib`` from 3.11, the ``tomli``
backport (a dependency on 3.10) before. Every module that reads TOML imports ``tomllib`` from here."""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 in CI
    import tomli as tomllib

__all__ = ["tomllib"]
