"""The user's price file as text: TOML or YAML read into plain data, with the line of each entry.

``read_toml(shown, text)`` / ``read_yaml(shown, text)`` return ``(data, lines)``: the file's data
(numbers as ``Decimal`` straight from the file's text -- TOML ``parse_float=Decimal``, a YAML
loader whose floats are Decimals -- so ``0.3`` is exactly three tenths, never a float) and the
line of every ``(section, index, key)`` (neither parser keeps positions in its data), for errors
that name the line. A syntax error raises :class:`PriceFileError` with the parser's line.
What the data must say: ``_price_file``.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any


class PriceFileError(ValueError):
    """The price file is invalid. ``str()`` is ``"<file>:<line>: <what is wrong and what to do>"``.

    The exporter's CLI maps it to ``errors.ConfigError``; it is a ``ValueError`` here because the
    instrumentation never imports the exporter.
    """

    def __init__(self, path: str, line: int | None, message: str, field: str | None = None):
        self.path = path
        self.line = line
        self.field = field
        location = f"{path}:{line}" if line else path
        super().__init__(f"{location}: {message}")


# The line of each (section, index in it, key) of the file; None parts stand for the whole.
Lines = dict[tuple[str | None, int | None, str | None], int]


def read_toml(shown: str, text: str) -> tuple[Any, Lines]:
    import tomllib

    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise PriceFileError(
            shown, int(match.group(1)) if match else None, f"invalid TOML: {exc}"
        ) from None
    return data, _toml_lines(text)


_TOML_HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_-]+)\s*\]\]")
_TOML_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.-]+)\s*\]")
_TOML_KEY = re.compile(r"""^\s*["']?([A-Za-z0-9_-]+)["']?\s*=""")


def _toml_lines(text: str) -> Lines:
    """Line of every array-of-tables entry and key (tomllib keeps no positions)."""
    lines: Lines = {}
    counts: dict[str, int] = {}
    section: str | None = None
    index: int | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        if m := _TOML_HEADER.match(raw):
            section = m.group(1)
            index = counts.get(section, 0)
            counts[section] = index + 1
            lines[(section, index, None)] = number
            lines.setdefault((section, None, None), number)
        elif m := _TOML_TABLE.match(raw):
            section, index = m.group(1), None
            lines.setdefault((section, None, None), number)
        elif m := _TOML_KEY.match(raw):
            lines.setdefault((section, index, m.group(1)), number)
    return lines


def read_yaml(shown: str, text: str) -> tuple[Any, Lines]:
    import yaml

    class _DecimalLoader(yaml.SafeLoader):
        pass

    def _decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
        value = str(loader.construct_scalar(node)).replace("_", "")  # type: ignore[arg-type]
        try:
            return Decimal(value)
        except InvalidOperation:
            return Decimal("NaN")

    _DecimalLoader.add_constructor("tag:yaml.org,2002:float", _decimal)
    try:
        data = yaml.load(text, Loader=_DecimalLoader)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise PriceFileError(
            shown, mark.line + 1 if mark is not None else None, f"invalid YAML: {exc}"
        ) from None
    lines: Lines = {}
    if isinstance(root, yaml.MappingNode):
        for key_node, value_node in root.value:
            section = str(key_node.value)
            lines[(section, None, None)] = key_node.start_mark.line + 1
            lines[(None, None, section)] = key_node.start_mark.line + 1
            if isinstance(value_node, yaml.SequenceNode):
                for index, item in enumerate(value_node.value):
                    lines[(section, index, None)] = item.start_mark.line + 1
                    if isinstance(item, yaml.MappingNode):
                        for k, _v in item.value:
                            lines[(section, index, str(k.value))] = k.start_mark.line + 1
    return data, lines
