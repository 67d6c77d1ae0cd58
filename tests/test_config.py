"""The strict settings reader (tunesmith.config): unknown keys, kinds, sections as tables or dotted keys,
settings that moved or were removed, and the one-line errors of a section's own checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import pytest

from tunesmith.config import (
    SettingError,
    at_least,
    config_from_dict,
    config_to_dict,
    nested,
    one_of,
    same_kind,
)
from tunesmith.errors import TunesmithError


@dataclass(frozen=True)
class Inner:
    size: int = 3
    rate: float = 0.5
    name: str = "a"

    def __post_init__(self) -> None:
        at_least("inner.size", self.size, 1)


@dataclass(frozen=True)
class Outer:
    flag: bool = False
    inner: Inner = field(default_factory=Inner)
    other: Inner = field(default_factory=lambda: Inner(size=7))  # a section whose defaults are not its class's
    kind: str = "x"

    MOVED: ClassVar[dict[str, str]] = {"inner_size": "inner.size"}
    REMOVED: ClassVar[dict[str, bool]] = {"old_trick": False}

    def __post_init__(self) -> None:
        one_of("kind", self.kind, ("x", "y"))


def error(values: dict, what: str = "model") -> str:
    with pytest.raises(TunesmithError) as raised:
        config_from_dict(Outer, values, what)
    return str(raised.value)


def test_sections_are_tables_or_dotted_keys_and_keep_their_defaults():
    assert config_from_dict(Outer, None) == Outer()
    config = config_from_dict(Outer, {"inner": {"rate": 1}, "inner.name": "b", "other": {"rate": 0.25}})
    assert config == Outer(inner=Inner(rate=1, name="b"), other=Inner(size=7, rate=0.25))
    assert config_to_dict(config) == {"flag": False, "inner": {"size": 3, "rate": 1, "name": "b"},
                                      "other": {"size": 7, "rate": 0.25, "name": "a"}, "kind": "x"}
    assert config_from_dict(Outer, config_to_dict(config)) == config  # what config.json holds reads back
    assert nested({"a.b.c": 1, "a": {"d": 2}, "e": 3}) == {"a": {"b": {"c": 1}, "d": 2}, "e": 3}


def test_unknown_keys_and_wrong_kinds_are_one_line_errors_naming_the_setting():
    assert error({"flg": True}) == "unknown model setting(s) flg (known: flag, inner.*, kind, other.*)"
    assert error({"inner": {"sise": 1, "rat": 2}}) == ("unknown model setting(s) inner.rat, inner.sise "
                                                       "(known: inner.name, inner.rate, inner.size)")
    assert error({"inner.size": "big"}, "training") == "training setting inner.size must be a whole number (got 'big')"
    assert error({"flag": 1}) == "model setting flag must be true or false (got 1)"
    assert error({"inner": 3}) == ("model setting inner is a section: give it as a table ([model.inner]) or as "
                                   "inner.KEY = VALUE")
    assert same_kind(0.5, 2) and not same_kind(2, 0.5) and not same_kind(1, True) and same_kind(None, "anything")


def test_moved_and_removed_settings_say_so():
    assert error({"inner_size": 2}) == ("model setting inner_size is now inner.size (in a TOML file: "
                                        "[model.inner] size = ...)")
    assert error({"old_trick": True}) == ("model setting old_trick was removed: it did not help "
                                          "(docs/experiments.md); leave it out")


def test_a_sections_own_checks_name_the_setting():
    assert error({"inner.size": 0}) == "model setting inner.size must be at least 1 (got 0)"
    assert error({"kind": "z"}) == "model setting kind must be one of x, y (got 'z')"
    with pytest.raises(SettingError) as raised:  # built directly in Python: the same words, without the file's name
        Inner(size=0)
    assert str(raised.value) == "setting inner.size must be at least 1 (got 0)" and raised.value.setting == "inner.size"


def test_classes_that_are_not_dataclasses_are_read_by_their_keyword_arguments():
    class Plain:
        def __init__(self, voices: int = 1, tempo: float = 120.0, names: list | None = None):
            self.voices, self.tempo, self.names = voices, tempo, names

    plain = config_from_dict(Plain, {"voices": 2, "tempo": 90, "names": ["a"]}, "voices representation")
    assert (plain.voices, plain.tempo, plain.names) == (2, 90, ["a"])
    with pytest.raises(TunesmithError) as raised:
        config_from_dict(Plain, {"voice": 2}, "voices representation")
    assert str(raised.value) == "unknown voices representation setting(s) voice (known: names, tempo, voices)"


def test_a_settings_file_is_read_by_its_suffix(tmp_path):
    from tunesmith.config import read_settings_file

    (tmp_path / "a.toml").write_text("[model]\nlayers = 2\n")
    (tmp_path / "b.json").write_text('{"model": {"layers": 3}}')
    assert read_settings_file(tmp_path / "a.toml") == {"model": {"layers": 2}}
    assert read_settings_file(tmp_path / "b.json") == {"model": {"layers": 3}}


def test_a_missing_or_broken_settings_file_is_one_line_of_the_callers_error(tmp_path):
    from tunesmith.config import read_settings_file
    from tunesmith.errors import ControlError

    with pytest.raises(ControlError, match=r"^preset file not found: .*nope\.toml$"):
        read_settings_file(tmp_path / "nope.toml", ControlError, "preset file")
    (tmp_path / "bad.toml").write_text("[model\n")
    with pytest.raises(TunesmithError, match=r"bad\.toml is not valid TOML: "):
        read_settings_file(tmp_path / "bad.toml")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(TunesmithError, match=r"bad\.json is not valid JSON: "):
        read_settings_file(tmp_path / "bad.json")


def test_unknown_keys_are_named_with_the_known_ones():
    from tunesmith.config import reject_unknown

    reject_unknown(["b", "a"], ["a", "b", "c"], "here")  # all known: nothing raised
    with pytest.raises(TunesmithError) as raised:
        reject_unknown(["zed", "a", "why"], ["b", "a"], "f.toml [controls]", noun="section")
    assert str(raised.value) == "f.toml [controls]: unknown section(s) why, zed (known: a, b)"
