"""Write ``docs/cli.md``, the command-line reference, from the argparse definitions of ``sharpvid``.

    python docs/gen_cli.py            # rewrite docs/cli.md
    python docs/gen_cli.py --check    # exit 1, naming the first difference, if docs/cli.md is stale

The page is built from :func:`sharpvid.fast.cli.build_parser` alone: the top-level parser, then
every subcommand in the order :data:`sharpvid.fast.cli._COMMANDS` registers them (a new command
appears once its module is in that tuple; nothing here names a command), each with its description,
usage, every argument group with each argument's help, default and choices, and its epilog (the
examples). Commands that take ``--key=value`` config overrides (their parser sets
``accepts_overrides``) link to one generated table of :class:`sharpvid.fast.config.TrainConfig` keys
and
:class:`sharpvid.reference.networks.NetworkConfig` fields.

Deterministic: the text depends on the parsers and dataclasses only, not on the terminal or the
environment (usage lines are wrapped by argparse at a fixed width of :data:`WIDTH` columns,
``COLUMNS`` is pinned while the parser is built, colour is off).  ``tests/test_docs.py`` checks
that the committed page equals :func:`render`.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import difflib
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "cli.md"
#: Columns at which argparse wraps the usage lines.
WIDTH = 100
_ENV = {"COLUMNS": str(WIDTH), "LINES": "50", "NO_COLOR": "1", "PYTHON_COLORS": "0",
        "FORCE_COLOR": None, "TERM": "dumb"}
_NO_VALUE = "-"


@contextlib.contextmanager
def _fixed_environment():
    """Pin the variables argparse (and Python's colour support) read; restore them after."""
    saved = {key: os.environ.get(key) for key in _ENV}
    try:
        _set_environment(_ENV)
        yield
    finally:
        _set_environment(saved)


def _set_environment(values: dict) -> None:
    """``os.environ[key] = value`` for each pair; a None value unsets the key."""
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def _formatter(parser: argparse.ArgumentParser) -> argparse.HelpFormatter:
    try:
        fmt = parser.formatter_class(prog=parser.prog, width=WIDTH)
    except TypeError:  # a formatter class without ``width``
        fmt = argparse.HelpFormatter(prog=parser.prog, width=WIDTH)
    if hasattr(fmt, "_set_color"):  # pragma: no cover - argparse has colour from Python 3.14
        fmt._set_color(False)
    return fmt


def _usage(parser: argparse.ArgumentParser) -> str:
    fmt = _formatter(parser)
    fmt.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)
    return fmt.format_help().strip()


def _cell(text: str) -> str:
    """One line of a Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _invocation(action: argparse.Action, fmt: argparse.HelpFormatter) -> str:
    if not action.option_strings:
        return fmt._format_args(action, action.dest)
    names = ", ".join(action.option_strings)
    if action.nargs == 0:
        return names
    return f"{names} {fmt._format_args(action, fmt._get_default_metavar_for_optional(action))}"


def _default(action: argparse.Action) -> str:
    if isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
        return _NO_VALUE
    if action.required or (not action.option_strings and action.nargs in (None, "+")):
        return "required"
    if isinstance(action, argparse._StoreTrueAction):
        return "off"
    if isinstance(action, argparse._StoreFalseAction):
        return "on"
    default = action.default
    if default is None or default == argparse.SUPPRESS:
        return _NO_VALUE
    return f"`{default}`"


def _help(action: argparse.Action, fmt: argparse.HelpFormatter) -> str:
    text = fmt._expand_help(action) if action.help else ""
    if action.choices is not None and action.metavar is not None:  # else the invocation shows them
        choices = ", ".join(f"`{c}`" for c in action.choices)
        text = f"{text} (one of {choices})" if text else f"one of {choices}"
    return text


def _epilog(epilog: str) -> list[str]:
    """The epilog as Markdown: an ``examples:`` block becomes a shell code block."""
    import textwrap

    text = epilog.strip("\n")
    head, _, rest = text.partition("\n")
    if head.strip().lower().rstrip(":") == "examples" and rest.strip():
        return ["Examples:", "", "```sh", textwrap.dedent(rest).rstrip(), "```", ""]
    return ["```text", textwrap.dedent(text).rstrip(), "```", ""]


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, one-line help, parser) of every subcommand, in registration order."""
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            seen = set()
            for name, sub in action.choices.items():
                if id(sub) in seen:  # an alias of a command already listed
                    continue
                seen.add(id(sub))
                out.append((name, helps.get(name, ""), sub))
    return out


def _anchor(title: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    kept = "".join(c for c in title.lower() if c.isalnum() or c in " -_")
    return kept.strip().replace(" ", "-")


def _command_title(parser: argparse.ArgumentParser) -> str:
    return f"`{parser.prog}`"


def _parser_section(parser: argparse.ArgumentParser, level: int) -> list[str]:
    """Description, usage, argument groups and epilog of one parser, then its subcommands."""
    lines = [f"{'#' * level} {_command_title(parser)}", ""]
    if parser.description:
        lines += [parser.description.strip(), ""]
    lines += ["```text", _usage(parser), "```", ""]
    fmt = _formatter(parser)
    subcommands = _subcommands(parser)
    for group in parser._action_groups:
        actions = [a for a in group._group_actions if a.help != argparse.SUPPRESS]
        if not actions:
            continue
        if subcommands and all(isinstance(a, argparse._SubParsersAction) for a in actions):
            title = group.title or "commands"
            lines += [f"{title[:1].upper()}{title[1:]}:", "", "| command | what |", "| --- | --- |"]
            for name, text, sub in subcommands:
                lines.append(f"| [`{sub.prog}`](#{_anchor(_command_title(sub))}) | {_cell(text)} |")
            lines.append("")
            continue
        title = group.title or "arguments"
        lines += [f"{title[:1].upper()}{title[1:]}:", ""]
        if group.description:
            lines += [group.description.strip(), ""]
        lines += ["| argument | default | description |", "| --- | --- | --- |"]
        for action in actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            lines.append(f"| `{_cell(_invocation(action, fmt))}` | {_cell(_default(action))} | "
                         f"{_cell(_help(action, fmt))} |")
        lines.append("")
    if parser.get_default("accepts_overrides"):
        lines += ["Any other `--key=value` (or `key=value`) sets a config key: see "
                  f"[Config keys](#{_anchor(CONFIG_TITLE)}).", ""]
    if parser.epilog:
        lines += _epilog(parser.epilog)
    for _, _, sub in subcommands:
        lines += _parser_section(sub, level + 1)
    return lines


CONFIG_TITLE = "Config keys"


def _type_name(tp) -> str:
    """``int``, ``str``, ``tuple[tuple[str, float], ...]``: the annotation as written."""
    import typing

    return str(tp) if typing.get_origin(tp) is not None else tp.__name__


def _json(value) -> str:
    if dataclasses.is_dataclass(value):
        value = dataclasses.asdict(value)
    return json.dumps(value, ensure_ascii=False)


def _config_section() -> list[str]:
    """Every TrainConfig key and NetworkConfig field: what ``--key=value`` accepts."""
    from sharpvid.fast.config import TrainConfig, field_types
    from sharpvid.reference.networks import NetworkConfig

    lines = [f"## {CONFIG_TITLE}", "",
             "The keys of `sharpvid.fast.config.TrainConfig`, set by a config file "
             "(`tiny`, `demo`, `paper`, "
             "`tf` or a `.toml`/`.json` path) and then by `--key=value` overrides "
             "(`sharpvid train --list-keys` prints the same list). The defaults below are the "
             "dataclass's (the paper's); a shipped config overrides some of them. What each key "
             "does and which value the paper, the authors' code and the TF reimplementation use: "
             "[training.md](training.md).", "",
             "| key | type | default |", "| --- | --- | --- |"]
    types = field_types(TrainConfig)
    for f in dataclasses.fields(TrainConfig):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        lines.append(f"| `{f.name}` | `{_cell(_type_name(types[f.name]))}` | "
                     f"`{_cell(_json(default))}` |")
    lines += ["", "`--net.FIELD=VALUE` replaces a field of "
              "`sharpvid.reference.networks.NetworkConfig` "
              "(lists as JSON, e.g. `--net.d_fc=[[64,1],[64,1],[64,1],[64,1]]`); `in_frames` and "
              "`patch_size` are set by `m` and `patch`. The defaults are those of the `paper` "
              "network; the `network` key picks another table (`tf`, `authors_small`, `tiny`).", "",
              "| field | type | `paper` value |", "| --- | --- | --- |"]
    net_types = field_types(NetworkConfig)
    for f in dataclasses.fields(NetworkConfig):
        lines.append(f"| `{f.name}` | `{_cell(_type_name(net_types[f.name]))}` | "
                     f"`{_cell(_json(f.default))}` |")
    return lines + [""]


def render() -> str:
    """The text of ``docs/cli.md``."""
    with _fixed_environment():
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        from sharpvid.fast.cli import build_parser

        parser = build_parser()
        lines = ["<!-- Generated by docs/gen_cli.py from sharpvid.fast.cli.build_parser(); "
                 "do not edit by hand. After changing a command, run: python docs/gen_cli.py -->", "",
                 "# Command-line reference", "",
                 "Every `sharpvid` command, its options and their defaults, as `--help` prints "
                 "them. How the commands fit together: [architecture.md](architecture.md); "
                 "conventions and differences from the authors' code: "
                 "[conventions.md](conventions.md).", ""]
        lines += _parser_section(parser, 2)
        if any(sub.get_default("accepts_overrides") for _, _, sub in _subcommands(parser)):
            lines += _config_section()
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write docs/cli.md from the sharpvid parsers.")
    ap.add_argument("--check", action="store_true",
                    help="do not write; exit 1 if docs/cli.md differs from what would be written")
    args = ap.parse_args(argv)
    text = render()
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.is_file() else ""
        if current != text:
            diff = list(difflib.unified_diff(current.splitlines(), text.splitlines(),
                                             "docs/cli.md", "generated", lineterm="", n=1))
            print(f"docs/cli.md is stale; run: python docs/gen_cli.py\n"
                  + "\n".join(diff[:40]), file=sys.stderr)
            return 1
        print("docs/cli.md is up to date")
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
