"""Corpora: bundled (Bach chorales, folk tunes) and folders of files; splits and the cache."""

from tunesmith.data.corpora import BUNDLED, Corpus, load_corpus
from tunesmith.data.files import MUSIC_SUFFIXES, read_piece
from tunesmith.data.splits import split_of, split_pieces

__all__ = ["BUNDLED", "Corpus", "MUSIC_SUFFIXES", "load_corpus", "read_piece", "split_of", "split_pieces"]
