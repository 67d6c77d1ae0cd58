"""Representations: event tokens (MidiTok) and piano-rolls, behind one interface."""

from tunesmith.representations.base import REPRESENTATIONS, Representation, representation_from_dict

__all__ = ["REPRESENTATIONS", "Representation", "representation_from_dict"]
