"""Read a scenario file into a validated `Scenario`, or raise `ScenarioError` with one clear line."""
from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import ValidationError

from .models import Scenario


class _Loader(yaml.SafeLoader):
    """YAML 1.1 without base-60 numbers: an unquoted `20:00` stays a time of day, not the integer
    1200. Dates stay text too, read by the scenario's own checks: a date that does not exist
    (`2026-02-30`) is then reported at its key rather than as a failure of the whole file, and
    text that looks like a date (a `description`) stays as written."""


_NO_BASE_60 = {
    "tag:yaml.org,2002:int": re.compile(
        r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"
    ),
    "tag:yaml.org,2002:float": re.compile(
        r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
}
_Loader.yaml_implicit_resolvers = {
    first: [(tag, _NO_BASE_60.get(tag, regexp)) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class ScenarioError(Exception):
    """Bad scenario input: names the file, the key path and what was expected."""

    def __init__(self, path: str | Path, key: str, message: str):
        self.path, self.key, self.message = str(path), key, message
        where = f"{self.path}: {key}" if key else self.path
        super().__init__(f"{where}: {message}")


def _loc_text(loc) -> str:
    return ".".join(str(part) for part in loc)


# Pydantic's wording for a wrong container names Python types and model classes; say it in YAML terms.
_CONTAINER_MESSAGES = {
    "dict_type": "expected a mapping (key: value)",
    "model_type": "expected a section of keys and values (key: value)",
    "list_type": "expected a list, e.g. [a, b]",
}


def _first_error(path: str | Path, exc: ValidationError) -> ScenarioError:
    # Report the first error only: later ones are often consequences of it.
    err = exc.errors()[0]
    loc = list(err["loc"])
    ctx = err.get("ctx") or {}
    msg = err["msg"]
    if err["type"] == "unknown_key":
        loc.append(ctx["key"])
        msg = "unknown key" + ctx["hint"]
    elif err["type"] == "located":
        loc = [ctx["loc"]]
        msg = ctx["message"]
    elif err["type"] == "missing":
        msg = "required key is missing"
    elif err["type"] in _CONTAINER_MESSAGES:
        msg = _CONTAINER_MESSAGES[err["type"]]
        if isinstance(err.get("input"), (dict, list)):
            msg += f" (got a {'list' if isinstance(err['input'], list) else 'mapping'})"
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    # Union members add their type name to the path (e.g. `str`, `list[float]`): hide them.
    loc = [p for p in loc if not (isinstance(p, str) and ("[" in p or p in {"str", "float", "int"}))]
    if err["type"] not in ("unknown_key", "located", "missing") and "input" in err and not isinstance(err["input"], (dict, list)):
        msg = f"{msg} (got {err['input']!r})"
    return ScenarioError(path, _loc_text(loc), msg)


def parse_scenario(data: object, path: str | Path = "<scenario>") -> Scenario:
    """Validate already-parsed YAML data."""
    if not isinstance(data, dict):
        raise ScenarioError(path, "", NOT_A_MAPPING)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise _first_error(path, exc) from None


def _duplicate_key(node: yaml.Node, loc: tuple[str, ...], seen_nodes: set[int]):
    """(key path, mark) of the first key repeated within one mapping: PyYAML would keep the last silently."""
    if id(node) in seen_nodes:  # aliases can point back up the tree
        return None
    seen_nodes.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: set[tuple[str, str]] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            if isinstance(key_node, yaml.ScalarNode) and key != "<<":
                if (key_node.tag, key) in keys:
                    return ".".join((*loc, key)), key_node.start_mark
                keys.add((key_node.tag, key))
            found = _duplicate_key(value_node, (*loc, key), seen_nodes)
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            found = _duplicate_key(item, (*loc, str(i)), seen_nodes)
            if found:
                return found
    return None


NOT_A_MAPPING = "expected a mapping of scenario keys (name, horizon, arrivals, pools, ...)"


def _not_yaml(path: Path, exc: yaml.YAMLError) -> ScenarioError:
    if isinstance(exc, yaml.reader.ReaderError):   # a character YAML refuses anywhere
        return ScenarioError(path, "", f"not valid YAML at character {exc.position + 1}: "
                                       f"character #x{exc.character:04x} is not allowed (a control character?)")
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    return ScenarioError(path, "", f"not valid YAML{where}: {getattr(exc, 'problem', exc)}")


def read_scenario_data(path: str | Path) -> dict:
    """A scenario file's contents as plain data, not yet validated (units as written), or
    `ScenarioError`: unreadable, not YAML, a key given twice, empty or not a mapping."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(path, "", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(path, "", f"cannot read the file ({exc.__class__.__name__})") from None
    try:
        loader = _Loader(text)   # reads the first characters: a control character fails here
    except yaml.YAMLError as exc:
        raise _not_yaml(path, exc) from None
    try:
        node = loader.get_single_node()
        duplicate = _duplicate_key(node, (), set()) if node is not None else None
        if duplicate:
            key, mark = duplicate
            raise ScenarioError(path, key, f"duplicate key at line {mark.line + 1}; each key may appear once per section")
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        raise _not_yaml(path, exc) from None
    except (ValueError, TypeError, OverflowError) as exc:   # an explicit tag on a value it does not fit (`!!int abc`)
        raise ScenarioError(path, "", f"not valid YAML: a tagged value cannot be read ({exc})") from None
    except RecursionError:
        raise ScenarioError(path, "", "not valid YAML: nested too deeply") from None
    finally:
        loader.dispose()
    if data is None:
        raise ScenarioError(path, "", "the file is empty; expected a scenario (name, horizon, arrivals, pools, ...)")
    if not isinstance(data, dict):
        raise ScenarioError(path, "", NOT_A_MAPPING)
    return data


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate one scenario file."""
    return parse_scenario(read_scenario_data(path), path)


def dump_scenario(scenario: Scenario) -> str:
    """The validated scenario, every default filled in, as YAML that loads again (durations in
    minutes, rates per minute, times of day and weekdays as written in scenario files)."""
    data = scenario.model_dump(mode="json", by_alias=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def scenario_files(paths: list[str | Path]) -> list[Path]:
    """Expand folders into the scenario files they hold (sorted), keep files as given."""
    files: list[Path] = []
    for item in map(Path, paths):
        if item.is_dir():
            files += sorted(p for p in item.iterdir() if p.suffix in (".yaml", ".yml"))
        else:
            files.append(item)
    return files
