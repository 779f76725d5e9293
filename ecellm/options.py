"""Command-line flags generated from an options dataclass, so each option is declared once.

An option is a dataclass field made with :func:`option`: its default, its help text (``metadata["help"]``), its
type (``int``, ``float``, ``str``, ``bool``, ``list[str]``, ``dict[str, Any]``, a ``Literal[...]`` of choices,
each possibly ``| None``) and, where a value can be wrong, its check. A ``bool`` flag turns a ``False`` default on
(``--sample``) or a ``True`` default off (``--no-published``); a ``bool | None`` defaulting to ``None`` is a
tri-state ``--flag`` / ``--no-flag`` (``None``: neither given). A ``list[str]`` flag is repeatable; a
``dict[str, Any]`` flag is a repeatable ``KEY=VALUE`` (the value read as JSON when it parses, else kept as
text). :func:`add_flags` turns the fields into argparse flags (``--max-samples`` for ``max_samples``:
kebab-case, the flag's destination is the field name, its metavar the flag's name), and :func:`check_fields`
runs the same checks on a config built in Python, so the command line and the API refuse a bad value with the
same one-line message.

Why not ``transformers.HfArgumentParser``: it declares every field as ``--field_name`` *and* ``--field-name``,
turns a ``bool`` into ``--flag [true|false]`` plus ``--no_flag``, and sets argparse's ``type=`` from the field's
type, so a value check cannot run at parse time; and it passes every metadata key to ``add_argument``. The
existing command lines (``--no-published`` for ``show_published``, ``--no-stop-at-marker``, checks that reject
``--batch-size 0`` with a usage error before torch is imported) would not keep their spelling and behaviour.
This generator is ~150 lines on top of :func:`dataclasses.fields`.

Metadata keys (all optional but ``help``):

``help``
    The flag's help text (and the field's documentation; the ``--help`` output shows it verbatim).
``flag``
    The flag's spelling when it is not ``--`` + the name in kebab-case (``--no-published`` for a ``True``
    default that the flag turns off).
``aliases``
    More spellings of the same flag.
``check``
    ``check(flag, value)`` raising an error (``ValueError``, e.g. ``EcellmError``) whose message says what was
    wrong and what is expected; run on the parsed value (a usage error) and by :func:`check_fields`.
``parse``
    A whole argparse ``type=`` function (text → value, ``argparse.ArgumentTypeError`` on bad text), where the
    generic conversion's message would not do. For a ``dict`` field: one ``KEY=VALUE`` text → its
    ``(key, value)`` pair (a ``ValueError``'s message is the usage error; default :func:`key_value`).
``metavar``, ``required``
    Passed to argparse (``required``: the flag must be given; the field's default is then ``None``).
``positional``
    A positional argument (``ecellm score PREDICTIONS``) instead of a flag; required.
``cli``
    ``False``: an option of the Python API only, without a flag (e.g. a request body of extra settings).

A field the dataclass cannot do without takes ``dataclasses.MISSING`` as its default; its flag's default is
``None`` and the dataclass says, in one line, that it is missing (``OpenAIOptions.base_url``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import MISSING
from typing import Any, Literal

Check = Callable[[str, Any], Any]


def option(default: Any, help: str, *, flag: str | None = None, aliases: Iterable[str] = (), check: Check | None = None,
           parse: Callable[[str], Any] | None = None, metavar: str | None = None, required: bool = False,
           positional: bool = False, cli: bool = True) -> Any:
    """A dataclass field that is also a command-line flag (see the module docstring for the keys)."""
    metadata: dict[str, Any] = {"help": help}
    for key, value in (("flag", flag), ("check", check), ("parse", parse), ("metavar", metavar)):
        if value is not None:
            metadata[key] = value
    if aliases:
        metadata["aliases"] = tuple(aliases)
    if required:
        metadata["required"] = True
    if positional:
        metadata["positional"] = True
    if not cli:
        metadata["cli"] = False
    if isinstance(default, list | dict | set):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass(frozen=True)
class Flag:
    """What one field becomes on the command line."""

    field: dataclasses.Field
    flag: str
    kind: type  # int, float, str, bool, list or dict
    choices: tuple[Any, ...] | None
    optional: bool  # None is a value of the field

    @property
    def name(self) -> str:
        return self.field.name

    @property
    def help(self) -> str:
        return self.field.metadata["help"]

    @property
    def default(self) -> Any:
        if self.field.default_factory is not MISSING:
            return self.field.default_factory()
        return None if self.field.default is MISSING else self.field.default


def flags(cls: type) -> list[Flag]:
    """The flag of every field of the options dataclass ``cls`` (but those declared ``cli=False``), in field
    order."""
    hints = typing.get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        if "help" not in f.metadata:
            raise TypeError(f"{cls.__name__}.{f.name}: an option needs metadata help (use ecellm.options.option)")
        if f.metadata.get("cli") is False:
            continue
        kind, choices, optional = _kind(hints[f.name])
        flag = f.name if f.metadata.get("positional") else f.metadata.get("flag") or "--" + f.name.replace("_", "-")
        out.append(Flag(f, flag, kind, choices, optional))
    return out


def _kind(hint: Any) -> tuple[type, tuple[Any, ...] | None, bool]:
    args = typing.get_args(hint)
    optional = False
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        optional = len(rest) < len(args)
        if len(rest) != 1:
            raise TypeError(f"option type {hint}: one type (or Literal) with None at most")
        hint, args = rest[0], typing.get_args(rest[0])
    if typing.get_origin(hint) is Literal:
        return type(args[0]), tuple(args), optional
    if typing.get_origin(hint) in (list, dict):
        return typing.get_origin(hint), None, optional
    if hint in (int, float, str, bool):
        return hint, None, optional
    raise TypeError(f"option type {hint} is not supported (int, float, str, bool, list[str], dict[str, Any], "
                    "Literal)")


def add_flags(parser: Any, cls: type, *, exclude: Iterable[str] = (), only: Iterable[str] | None = None,
              required: Iterable[str] = ()) -> None:
    """Add a flag for every field of ``cls`` (but ``exclude``; or ``only`` these) to ``parser`` (or an argument
    group); ``required``: fields whose flag must be given here (a shared field one command cannot do without)."""
    skip, needed, wanted = set(exclude), set(required), None if only is None else set(only)
    for spec in flags(cls):
        if spec.name in skip or (wanted is not None and spec.name not in wanted):
            continue
        meta = spec.field.metadata
        names = [spec.flag, *meta.get("aliases", ())]
        kwargs: dict[str, Any] = {"dest": spec.name, "help": spec.help, "default": spec.default}
        if meta.get("positional"):
            del kwargs["dest"], kwargs["default"]  # argparse names a positional by its dest; it is required
        elif meta.get("required") or spec.name in needed:
            kwargs["required"] = True
        if "metavar" in meta:
            kwargs["metavar"] = meta["metavar"]
        elif "flag" in meta and spec.kind in (int, float, str, list) and spec.choices is None:
            kwargs["metavar"] = spec.flag.lstrip("-").replace("-", "_").upper()  # named as the flag, not the field
        if spec.kind is bool and spec.optional and spec.default is None:
            kwargs["action"] = argparse.BooleanOptionalAction  # --flag / --no-flag; None: neither given
        elif spec.kind is bool:
            if spec.default and not spec.flag.startswith("--no-"):
                raise TypeError(f"{cls.__name__}.{spec.name}: a True default needs flag='--no-...' (turns it off)")
            kwargs["action"] = "store_false" if spec.default else "store_true"
        elif spec.kind is list:
            kwargs["action"] = "append"
        elif spec.kind is dict:
            kwargs["action"] = _KeyValues
            kwargs["type"] = _pair_parser(spec.flag, meta.get("parse"))
            kwargs.setdefault("metavar", "KEY=VALUE")
        else:
            kwargs["type"] = meta.get("parse") or _parser(spec.flag, spec.kind, meta.get("check"))
            if spec.choices is not None:
                kwargs["choices"] = spec.choices
        parser.add_argument(*names, **kwargs)


def _parser(flag: str, convert: type, check: Check | None) -> Callable[[str], Any]:
    """An argparse ``type=``: converts, runs the field's check, and reports a bad value as a usage error."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            kind = {int: "whole number", float: "number"}.get(convert, convert.__name__)
            raise argparse.ArgumentTypeError(f"{text!r} is not a {kind}") from None
        if check is not None:
            try:
                check(flag, value)
            except ValueError as err:
                raise argparse.ArgumentTypeError(str(err)) from None
        return value

    parse.__name__ = convert.__name__  # argparse names the type in its own messages
    return parse


def whole_number(flag: str, least: int = 0) -> Callable[[str], int]:
    """An argparse ``type=`` for a whole number >= ``least`` outside a config dataclass (scripts' own flags)."""

    def check(name: str, value: int) -> int:
        if value < least:
            raise ValueError(f"{name} must be a whole number >= {least}, got {value}")
        return value

    return _parser(flag, int, check)


def whole_numbers(flag: str) -> Callable[[str], list[int]]:
    """An argparse ``type=`` for distinct whole numbers >= 0, comma-separated (``--seeds 42,1,2``)."""
    one = whole_number(flag)

    def parse(text: str) -> list[int]:
        values = [one(part.strip()) for part in text.split(",") if part.strip()]
        if not values or len(set(values)) != len(values):
            raise argparse.ArgumentTypeError(f"{flag} {text!r}: expected distinct whole numbers, comma-separated "
                                             "(e.g. 42,1,2)")
        return values

    return parse


def key_value(flag: str, text: str) -> tuple[str, Any]:
    """One ``KEY=VALUE`` of a ``dict`` flag: the value read as JSON when it parses (numbers, true/false, lists),
    else kept as text; ``ValueError`` without a ``=`` or a key."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"{flag} {text!r}: expected KEY=VALUE")
    try:
        return key.strip(), json.loads(value)
    except json.JSONDecodeError:
        return key.strip(), value


def _pair_parser(flag: str, parse: Callable[[str], tuple[str, Any]] | None) -> Callable[[str], tuple[str, Any]]:
    """An argparse ``type=`` for one ``KEY=VALUE`` of a ``dict`` flag; a bad one is a usage error."""

    def pair(text: str) -> tuple[str, Any]:
        try:
            return parse(text) if parse is not None else key_value(flag, text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    return pair


class _KeyValues(argparse.Action):
    """A repeatable ``KEY=VALUE`` flag collected into a dict (a later KEY wins; the default is never changed)."""

    def __call__(self, parser: Any, namespace: Any, values: Any, option_string: str | None = None) -> None:
        key, value = values
        setattr(namespace, self.dest, {**(getattr(namespace, self.dest, None) or {}), key: value})


def check_fields(config: Any, error: type[Exception] = ValueError) -> None:
    """Run every field's declared check on a config built in Python: its choices (``unknown backend 'x';
    expected one of: ...``) and its ``check`` (the same message as the flag's usage error)."""
    for spec in flags(type(config)):
        value = getattr(config, spec.name)
        if value is None:
            continue
        if spec.choices is not None and value not in spec.choices:
            name = spec.name.replace("_", " ")
            raise error(f"unknown {name} {value!r}; expected one of: {', '.join(map(str, spec.choices))}")
        if "check" in spec.field.metadata:
            spec.field.metadata["check"](spec.flag, value)


def from_args(cls: type, args: Any, **overrides: Any) -> Any:
    """An instance of ``cls`` from parsed flags (the destinations are the field names), or from another options
    object holding its fields (a command's config → the options dataclass it extends)."""
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
    return cls(**{**values, **overrides})
