"""Corpora: bundled (Bach chorales, folk tunes) and folders of files; splits and the cache. Users' files are read
in worker processes that may crash (data/safe.py), within limits (data/limits.py)."""

from tunesmith.data.corpora import BUNDLED, Corpus, load_corpus
from tunesmith.data.files import MUSIC_SUFFIXES, read_piece
from tunesmith.data.limits import DEFAULT_LIMITS, ReadLimits
from tunesmith.data.safe import Rejected, read_pieces
from tunesmith.data.splits import split_of, split_pieces

__all__ = ["BUNDLED", "DEFAULT_LIMITS", "Corpus", "MUSIC_SUFFIXES", "ReadLimits", "Rejected", "load_corpus",
           "read_piece", "read_pieces", "split_of", "split_pieces"]
