"""Re-create the bundled cassettes in ``cassettes/`` from the shared corpus.

    python -m tests.support.curate

Each is the vcrpy cassette converted by ``read_vcr`` with its attribution.
"""

from __future__ import annotations

from stream_replay.cassette import save_cassette
from stream_replay.vcr.importer import read_vcr

from .corpus import CASSETTES, CURATED, VCRPY_DIR, attribution


def curated_cassette(name: str):  # type: ignore[no-untyped-def]
    stem = CURATED[name]
    return read_vcr(VCRPY_DIR / f"{stem}.yaml", source=attribution(stem))


def main() -> None:
    for name in CURATED:
        path = save_cassette(curated_cassette(name), CASSETTES / f"{name}.yaml", overwrite=True)
        print(path)


if __name__ == "__main__":
    main()
