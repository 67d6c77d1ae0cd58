"""Settings as plain dataclasses, read strictly from the dicts that TOML files, `--set` and config.json give.

A small helper over dataclasses, not pydantic: configs stay the plain @dataclass beside the module they
configure, no dependency is added for a walk over a dict, and every problem is one line naming the setting,
which the command line prints as it is.

- `config_from_dict(cls, values, what)`: an unknown key is an error naming it and the known ones; a value
  must be of its default's kind (a number for a number, true or false for a flag, text for text); a field
  whose default is a dataclass is a section, given as a dict (a TOML table such as [model.critic]) in which
  missing settings keep the section's defaults; a dotted key ("critic.steps", from
  `--set model.critic.steps=3`) is the same as the nested dict. A class may list settings that moved since
  format 1 (`MOVED`: old name -> where it is now) or were removed (`REMOVED`: name -> the value every run
  now has): a file that still uses one is told so.
- `config_to_dict(config)`: nested dicts, as config.json stores them.
- `read_settings_file(path)`, `reject_unknown(values, known, where)`: a file the user wrote (TOML, or JSON by
  its suffix) read with one-line errors, and its top-level keys checked.
- `at_least`, `between`, `one_of`, `require`: the checks a section's `__post_init__` makes; each raises a
  one-line `SettingError` naming the setting.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tunesmith.errors import TunesmithError

_KINDS = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}


class SettingError(TunesmithError):
    """A setting out of its range, or a combination of settings that cannot work together."""

    def __init__(self, setting: str, problem: str, what: str = ""):
        self.setting, self.problem, self.what = setting, problem, what
        super().__init__(f"{what + ' ' if what else ''}setting {setting} {problem}")


def read_settings_file(path: Path, error: type[TunesmithError] = TunesmithError,
                       what: str = "config file") -> dict[str, Any]:
    """A TOML file (JSON when it ends in .json) as a dict; a missing or unparsable file is one line of `error`."""
    path = Path(path)
    if not path.exists():
        raise error(f"{what} not found: {path}")
    try:
        return json.loads(path.read_text()) if path.suffix == ".json" else tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise error(f"{path} is not valid {'JSON' if path.suffix == '.json' else 'TOML'}: {exc}") from exc


def reject_unknown(values: Iterable[str], known: Iterable[str], where: str, noun: str = "key",
                   error: type[TunesmithError] = TunesmithError) -> None:
    """One line of `error` naming the `values` that are not `known` (and the known ones), if any."""
    known = sorted(known)
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise error(f"{where}: unknown {noun}(s) {', '.join(unknown)} (known: {', '.join(known)})")


def require(ok: bool, setting: str, problem: str) -> None:
    """Raise SettingError(`setting`, `problem`) unless `ok`."""
    if not ok:
        raise SettingError(setting, problem)


def at_least(setting: str, value: float, low: float) -> None:
    """`value` must be `low` or more."""
    require(value >= low, setting, f"must be at least {low} (got {value})")


def between(setting: str, value: float, low: float, high: float) -> None:
    """`value` must lie in [low, high]."""
    require(low <= value <= high, setting, f"must be between {low} and {high} (got {value})")


def one_of(setting: str, value: Any, choices: tuple[Any, ...]) -> None:
    """`value` must be one of `choices`."""
    require(value in choices, setting, f"must be one of {', '.join(map(str, choices))} (got {value!r})")


def same_kind(default: Any, value: Any) -> bool:
    """Whether `value` can stand where `default` does (a number for a number, text for text...); settings
    whose default is None or a collection are not checked here."""
    if type(default) not in _KINDS:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))


def known_settings(cls: type, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """{name: default} of a dataclass's fields or of a class's keyword arguments (inspect.Parameter.empty
    where there is no default)."""
    if dataclasses.is_dataclass(cls):
        return {f.name: _default(f) for f in dataclasses.fields(cls) if f.init and f.name not in exclude}
    parameters = list(inspect.signature(cls).parameters.values())
    return {p.name: p.default for p in parameters if p.name not in exclude
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return inspect.Parameter.empty


def _is_section(default: Any) -> bool:
    return dataclasses.is_dataclass(default) and not isinstance(default, type)


def nested(values: dict[str, Any]) -> dict[str, Any]:
    """`values` with dotted keys ("critic.steps": 3) made nested ({"critic": {"steps": 3}})."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        head, dot, rest = str(key).partition(".")
        if not dot:
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = {**out[key], **nested(value)}
            else:
                out[key] = nested(value) if isinstance(value, dict) else value
            continue
        inner = out.setdefault(head, {})
        if isinstance(inner, dict):
            out[head] = {**inner, **nested({rest: value})}
    return out


def check_settings(cls: type, values: dict[str, Any], what: str, prefix: str = "",
                   exclude: tuple[str, ...] = ()) -> None:
    """Raise a one-line error for the first unknown key (naming the known ones) or value of the wrong kind."""
    known = known_settings(cls, exclude)
    unknown = sorted(set(values) - set(known))
    moved: dict[str, str] = getattr(cls, "MOVED", {})
    for name in unknown:
        if name in moved:
            new = moved[name]
            section, _, leaf = new.rpartition(".")
            raise TunesmithError(f"{what} setting {prefix}{name} is now {prefix}{new} (in a TOML file: "
                                 f"[{what}.{prefix}{section}] {leaf} = ...)")
        if name in getattr(cls, "REMOVED", {}):
            raise TunesmithError(f"{what} setting {prefix}{name} was removed: it did not help (docs/experiments.md); "
                                 f"leave it out")
    if unknown:
        names = [f"{prefix}{k}.*" if _is_section(d) else f"{prefix}{k}" for k, d in sorted(known.items())]
        raise TunesmithError(f"unknown {what} setting(s) {', '.join(prefix + k for k in unknown)} "
                             f"(known: {', '.join(names)})")
    for name, value in values.items():
        default = known[name]
        if _is_section(default):
            if not isinstance(value, dict):
                raise TunesmithError(f"{what} setting {prefix}{name} is a section: give it as a table "
                                     f"([{what}.{prefix}{name}]) or as {prefix}{name}.KEY = VALUE")
            check_settings(type(default), value, what, f"{prefix}{name}.")
        elif not same_kind(default, value):
            raise TunesmithError(f"{what} setting {prefix}{name} must be {_KINDS[type(default)]} (got {value!r})")


def _build(cls: type, values: dict[str, Any], what: str, prefix: str) -> Any:
    """The (nested) dataclass `cls` from checked values: sections built first, from the parent's defaults."""
    known = known_settings(cls)
    kwargs = {}
    for name, value in values.items():
        default = known[name]
        if _is_section(default):
            value = _build(type(default), {**config_to_dict(default), **value}, what, f"{prefix}{name}.")
        kwargs[name] = value
    missing = sorted(k for k, d in known.items() if d is inspect.Parameter.empty and k not in kwargs)
    if missing:
        raise TunesmithError(f"missing {what} setting(s) {', '.join(prefix + k for k in missing)}")
    return cls(**kwargs)


def config_from_dict(config_class: type, values: dict[str, Any] | None, what: str = "model") -> Any:
    """Build a (possibly nested) config dataclass strictly: an unknown key is an error naming it and the known
    ones, a value of the wrong kind an error naming the setting, sections are dicts (TOML tables). A saved run
    is brought to the current layout by `tunesmith.runs` (read_config) before its settings get here."""
    values = nested(dict(values or {}))
    check_settings(config_class, values, what)
    try:
        return _build(config_class, values, what, "")
    except SettingError as exc:
        raise SettingError(exc.setting, exc.problem, what) from None


def config_to_dict(config: Any) -> dict[str, Any]:
    """A config dataclass as a plain dict, sections as nested dicts (for config.json)."""
    return dataclasses.asdict(config)
