"""Definition files in the ``questionnaire/v1`` format: parsing, validation and dumping.

Promises:
- ``load_definition`` turns YAML or JSON text into plain data (dicts, lists, str, int, float,
  bool, None) or raises ``DefinitionError`` naming the line and column of a syntax error. Dates
  stay text, only true/false are booleans (``en: No`` is the word No); duplicate keys, and
  aliases that blow up into huge or recursive data, are refused.
- ``validate_definition`` (in ``survey.interchange_checks``, re-exported here) returns every
  problem of a definition as ``"place: message"``, ``[]`` when it is valid.
- ``dump_definition`` writes data back as YAML (Chinese kept readable) or JSON, so that
  ``load_definition`` gives the same data back.
- ``read_definition_file`` and ``write_definition_file`` are what every path that takes or
  gives a file uses (the commands, the admin): they add XLSForm (``survey.xlsform``) to the two
  text formats, chosen by the file's name or, for a workbook, its first bytes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

import yaml

from survey.interchange_checks import validate_definition
from survey.interchange_problems import kind_of

__all__ = [
    "FILE_FORMATS",
    "DefinitionError",
    "DefinitionFile",
    "dump_definition",
    "load_definition",
    "read_definition_file",
    "validate_definition",
    "write_definition_file",
]

MAX_VALUES = 200_000  # after alias expansion; the reference file has under 1,000


class DefinitionError(ValueError):
    """A definition that cannot be imported; ``problems`` lists every ``"place: message"``."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


# --- loading ----------------------------------------------------------------------------------


_BOOL = "tag:yaml.org,2002:bool"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys, keeps dates as text (JSON has none), and reads
    only true/false as booleans (as YAML 1.2 does): ``{en: No}`` is a label, not ``False``."""

    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in (_BOOL, _TIMESTAMP)]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[object] = set()
        for key_node, _value in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_Loader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), "tTfF")


class _RefusedJSON(ValueError):
    pass


def _json_object(pairs: list[tuple[str, Any]]) -> dict:
    data: dict = {}
    for key, value in pairs:
        if key in data:
            raise _RefusedJSON(f"duplicate key {key!r}")
        data[key] = value
    return data


def _json_constant(name: str) -> float:
    raise _RefusedJSON(f"{name} is not a number a definition may contain")


def _parse_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if mark is None:
            raise DefinitionError([f"file: {problem}"]) from exc
        where = f"line {mark.line + 1}, column {mark.column + 1}"
        raise DefinitionError([f"{where}: {problem}"]) from exc
    except yaml.YAMLError as exc:
        raise DefinitionError([f"file: not valid YAML ({exc})"]) from exc


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_json_object, parse_constant=_json_constant)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise DefinitionError([f"{where}: {exc.msg}"]) from exc
    except _RefusedJSON as exc:
        raise DefinitionError([f"file: {exc}"]) from exc


def _expanded_size(data: Any) -> int:
    """How many values ``data`` holds when every shared (aliased) part is counted each time."""
    sizes: dict[int, int] = {}
    open_ids: set[int] = set()

    def size(value: Any) -> int:
        if not isinstance(value, dict | list):
            return 1
        key = id(value)
        if key in sizes:
            return sizes[key]
        if key in open_ids:
            raise DefinitionError(["file: a value contains itself (a recursive alias)"])
        open_ids.add(key)
        children = value.values() if isinstance(value, dict) else value
        total = 1
        for child in children:
            total = min(total + size(child), MAX_VALUES + 1)
        open_ids.discard(key)
        sizes[key] = total
        return total

    return size(data)


def load_definition(text: str | bytes, *, filename: str = "") -> dict:
    """Parse a definition file into plain data; the structure is checked by validate_definition.

    The syntax follows ``filename``'s extension (``.json``; ``.yaml``/``.yml``), else is sniffed:
    text that starts with ``{`` is read as JSON (then as YAML if that fails), anything else as
    YAML. Raises ``DefinitionError`` for text that is not UTF-8, a syntax error (with line and
    column), an empty file, a top level that is not a mapping, or more than ``MAX_VALUES``
    values once aliases are expanded.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            message = f"file: not UTF-8 text (invalid byte at offset {exc.start})"
            raise DefinitionError([message]) from exc
    text = text.removeprefix("\ufeff")
    suffix = PurePath(filename).suffix.lower()
    try:
        if suffix == ".json":
            data = _parse_json(text)
        elif suffix in (".yaml", ".yml") or not text.lstrip().startswith("{"):
            data = _parse_yaml(text)
        else:
            data = _parse_sniffed_json(text)
        if data is None:
            raise DefinitionError(["file: empty (no definition in it)"])
        if not isinstance(data, dict):
            message = f"must be a mapping (format: ..., slug: ..., ...), not {kind_of(data)}"
            raise DefinitionError([f"definition: {message}"])
        if _expanded_size(data) > MAX_VALUES:
            raise DefinitionError([f"file: more than {MAX_VALUES:,} values (aliases expanded)"])
    except RecursionError as exc:
        raise DefinitionError(["file: nested too deeply"]) from exc
    return data


def _parse_sniffed_json(text: str) -> Any:
    try:
        return _parse_json(text)
    except DefinitionError as json_error:
        try:
            return _parse_yaml(text)
        except DefinitionError:
            raise json_error from None


# --- dumping ----------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Block style for the outline, flow style for small leaves (labels, options, items)."""


def _is_leaf(value: Any) -> bool:
    if isinstance(value, list):
        return all(not isinstance(v, dict | list) for v in value)
    if isinstance(value, dict):
        return all(not isinstance(v, list) and _is_leaf(v) for v in value.values())
    return True


def _represent_dict(dumper: yaml.SafeDumper, data: dict) -> yaml.Node:
    node = dumper.represent_mapping("tag:yaml.org,2002:map", data.items())
    node.flow_style = bool(data) and _is_leaf(data)
    return node


def _represent_list(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    node = dumper.represent_sequence("tag:yaml.org,2002:seq", data)
    node.flow_style = bool(data) and _is_leaf(data)
    return node


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    # With allow_unicode, a plain or single-quoted NEL or line/paragraph separator is read
    # back as a line break; only the double-quoted style escapes them.
    style = '"' if _YAML_BREAKS.search(data) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_YAML_BREAKS = re.compile("[\x85\u2028\u2029]")
_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(list, _represent_list)


def dump_definition(data: dict, *, fmt: str) -> str:
    """``data`` as YAML (``fmt="yaml"``: Unicode kept, key order kept) or indented JSON.

    ``load_definition`` of the result gives back ``data``. Raises ValueError for another fmt.
    """
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    if fmt == "yaml":
        return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1_000_000)
    raise ValueError(f"unknown definition format {fmt!r}: use 'yaml' or 'json'")


# --- files in every format --------------------------------------------------------------------

# format → (file extension, content type)
FILE_FORMATS = {
    "yaml": ("yaml", "application/yaml; charset=utf-8"),
    "json": ("json", "application/json; charset=utf-8"),
    "xlsform": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}
XLSFORM_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".csv", ".md")  # what pyxform reads
_WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # .xlsx (zip), .xls (OLE)


@dataclass
class DefinitionFile:
    """A file read into a document; ``notes`` says what an XLSForm had that was not kept."""

    document: dict
    notes: list[str] = field(default_factory=list)


def read_definition_file(data: bytes, *, filename: str = "") -> DefinitionFile:
    """The document in a questionnaire/v1 file (YAML, JSON) or an XLSForm.

    An XLSForm is recognised by its extension (.xlsx, .xlsm, .xls, .csv, .md) or, whatever its
    name, by a workbook's first bytes. Raises ``DefinitionError`` like ``load_definition``; the
    document is not validated here (importing it is).
    """
    suffix = PurePath(filename).suffix.lower()
    if suffix in XLSFORM_SUFFIXES or data.startswith(_WORKBOOK_MAGIC):
        from survey.xlsform import xlsform_read

        result = xlsform_read(data, filename=filename if suffix else "form.xlsx")
        return DefinitionFile(result.document, result.notes)
    return DefinitionFile(load_definition(data, filename=filename))


def write_definition_file(document: dict, *, fmt: str) -> bytes:
    """``document`` as a file of ``fmt`` (a key of ``FILE_FORMATS``); ValueError for another."""
    if fmt == "xlsform":
        from survey.xlsform import xlsform_write

        return xlsform_write(document)
    if fmt not in FILE_FORMATS:
        raise ValueError(f"unknown definition format {fmt!r}: use one of {', '.join(FILE_FORMATS)}")
    return dump_definition(document, fmt=fmt).encode()
