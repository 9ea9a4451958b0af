"""Shared test fixtures: a few real corpus tunes, a tiny built corpus, the shared data folder."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Tests never read or write the user's cache (a built corpus there must not change any result)."""
    import os

    old = os.environ.get("MUSICGEN_CACHE")
    os.environ["MUSICGEN_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if old is None:
        os.environ.pop("MUSICGEN_CACHE", None)
    else:
        os.environ["MUSICGEN_CACHE"] = old


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the repo (skips the test when it is absent)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def acacia():
    """Ryan's Mammoth 'Acacia Reel' (2/4, pickup, sextuplets, grace notes) as a Piece."""
    from music21 import corpus

    from musicgen.io.notation import piece_from_stream

    return piece_from_stream(corpus.parse("ryansMammoth/AcaciaReel.abc"), "ryansMammoth/AcaciaReel.abc")


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    """A corpus built from the first 8 tunes of one file of each collection (a few seconds)."""
    from musicgen.corpus import Corpus, build_corpus

    out = tmp_path_factory.mktemp("corpus") / "corpus.npz"
    build_corpus(out, limit_files=1, limit_tunes_per_file=8)
    return Corpus.load(out)
