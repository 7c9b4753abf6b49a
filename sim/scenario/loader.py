"""Read a scenario file into a validated `Scenario`, or raise `ScenarioError` with one clear line."""
from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from .models import Scenario


class ScenarioError(Exception):
    """Bad scenario input: names the file, the key path and what was expected."""

    def __init__(self, path: str | Path, key: str, message: str):
        self.path, self.key, self.message = str(path), key, message
        where = f"{self.path}: {key}" if key else self.path
        super().__init__(f"{where}: {message}")


def _loc_text(loc) -> str:
    return ".".join(str(part) for part in loc)


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
        raise ScenarioError(path, "", "expected a mapping of scenario keys (name, horizon, arrivals, pools, ...)")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise _first_error(path, exc) from None


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate one scenario file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(path, "", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(path, "", f"cannot read the file ({exc.__class__.__name__})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ScenarioError(path, "", f"not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        raise ScenarioError(path, "", "the file is empty; expected a scenario (name, horizon, arrivals, pools, ...)")
    return parse_scenario(data, path)


def scenario_files(paths: list[str | Path]) -> list[Path]:
    """Expand folders into the scenario files they hold (sorted), keep files as given."""
    files: list[Path] = []
    for item in map(Path, paths):
        if item.is_dir():
            files += sorted(p for p in item.iterdir() if p.suffix in (".yaml", ".yml"))
        else:
            files.append(item)
    return files
