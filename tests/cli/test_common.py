"""The helpers the subcommands share: the user's text turned into values, or one-line errors."""

from __future__ import annotations

import pytest

from tunesmith.cli.common import existing_path, given, parse_csv, read_music
from tunesmith.controls.controls import parse_attributes
from tunesmith.errors import TunesmithError


def test_attributes_are_name_equals_amount():
    assert parse_attributes(["density=+1.5", " pitch =-1"]) == {"density": 1.5, "pitch": -1.0}
    assert parse_attributes(None) == {} and parse_attributes([]) == {}
    assert parse_attributes("density=+1.5; pitch=-1,") == {"density": 1.5, "pitch": -1.0}  # the studio's one text
    for bad in ("density", "density=lots", "=1"):
        with pytest.raises(TunesmithError, match=f"--attribute takes NAME=AMOUNT .*got '{bad}'"):
            parse_attributes([bad])


def test_only_the_given_options_are_kept():
    assert given(seed=0, lr=None, augment=False, epochs=None) == {"seed": 0, "augment": False}


def test_comma_separated_values():
    assert parse_csv(" piano, violin ,,cello ") == ["piano", "violin", "cello"]
    assert parse_csv(None) == [] and parse_csv("") == []


def test_a_missing_file_is_named_with_what_it_should_have_been(tmp_path):
    assert existing_path(tmp_path, "folder") == tmp_path
    with pytest.raises(TunesmithError, match="^first piece not found: .*nowhere.mid$"):
        read_music(tmp_path / "nowhere.mid", "first piece")
