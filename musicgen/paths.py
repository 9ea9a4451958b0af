"""Where musicgen keeps caches (the built corpus) and finds its shipped data."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir

PACKAGE_DIR = Path(__file__).resolve().parent


def cache_dir() -> Path:
    """The cache folder: ``$MUSICGEN_CACHE`` if set, else the platform's user cache dir for musicgen."""
    env = os.environ.get("MUSICGEN_CACHE")
    return Path(env) if env else Path(user_cache_dir("musicgen"))


def default_corpus_path() -> Path:
    """Where ``musicgen data build`` writes the corpus by default (``<cache>/corpus.npz``)."""
    return cache_dir() / "corpus.npz"
