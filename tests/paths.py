"""Where the tests find the repository's files, whatever folder a test lives in."""

from pathlib import Path

#: the repository's root (this file is ``tests/paths.py``)
REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
BENCH = REPO / "bench"
