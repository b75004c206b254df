"""Command-line options made from the settings' dataclasses (``cloudatlas.config``).

Every field with help text becomes a flag (``img_size`` -> ``--img-size``), typed from its
annotation, with the dataclass default shown in ``--help``. A flag that is not given is not an
override, so a recipe's own values stand unless the command line says otherwise. Old flag
spellings stay for one release as deprecated aliases that warn.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
from typing import Literal

from ..config import SECTIONS, field_types

PREFIX = "config:"


def flag_of(field: dataclasses.Field, rename: dict[str, str] | None = None) -> str | None:
    """The flag of a setting, or None when it is not one (lists, tables: recipe-only)."""
    if rename and field.name in rename:
        return rename[field.name]
    flag = field.metadata.get("flag")
    if flag == "" or "help" not in field.metadata:
        return None
    return flag or field.name.replace("_", "-")


def add_config_options(parser: argparse.ArgumentParser, section: str, title: str | None = None,
                       rename: dict[str, str] | None = None, skip: tuple[str, ...] = ()) -> None:
    """One flag per setting of ``section`` (``student``, ``data``, ...), in an argument group."""
    kind = SECTIONS[section]
    types = field_types(kind)
    group = parser.add_argument_group(title or f"[{section}] settings (override the recipe's)")
    for f in dataclasses.fields(kind):
        flag = flag_of(f, rename)
        if flag is None or f.name in skip:
            continue
        tp = types[f.name]
        default = f.default if f.default is not dataclasses.MISSING else None
        shown = f" (default: {default})" if default not in (None, dataclasses.MISSING) else ""
        kwargs: dict = {"dest": f"{PREFIX}{section}.{f.name}", "default": argparse.SUPPRESS,
                        "help": f.metadata["help"] + shown}
        if tp is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(tp) is Literal:
            kwargs["choices"] = list(typing.get_args(tp))
        else:
            kwargs["type"] = tp
            kwargs["metavar"] = f.metadata.get("metavar") or {int: "N", float: "X", str: "TEXT"}.get(tp, "VALUE")
        group.add_argument(f"--{flag}", **kwargs)


def overrides(args: argparse.Namespace) -> dict:
    """``{"student.epochs": 3, ...}``: the settings the command line gave."""
    return {k[len(PREFIX):]: v for k, v in vars(args).items() if k.startswith(PREFIX)}


class Deprecated(argparse.Action):
    """An old spelling: still works for one release, with a warning naming the new one."""

    def __init__(self, option_strings, dest, new: str, **kwargs):
        self.new = new
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        if option_string is None and values in (None, []):
            return  # argparse calls a positional's action even when it is absent
        old = option_string or f"giving {self.metavar or self.dest} without {self.new}"
        print(f"warning: {old} is deprecated and will be removed in the next release; use {self.new}",
              file=sys.stderr)
        setattr(namespace, self.dest, values if self.nargs != 0 else self.const)


def deprecated(parser, *flags: str, dest: str, new: str, **kwargs) -> None:
    """Add the old ``flags`` (or a positional, when none) as a hidden alias of ``new``."""
    if flags:
        parser.add_argument(*flags, dest=dest, action=Deprecated, new=new, help=argparse.SUPPRESS, **kwargs)
    else:
        parser.add_argument(f"{dest}_positional", nargs="?", action=Deprecated, new=new, metavar=dest.upper(),
                            help=argparse.SUPPRESS, **kwargs)


def positional_or_flag(args: argparse.Namespace, name: str) -> str | None:
    """The value of ``--name``, or of its deprecated positional spelling."""
    return getattr(args, name, None) or getattr(args, f"{name}_positional", None)
