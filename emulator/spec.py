"""Discord's official OpenAPI description, loaded once, as precompiled JSON Schema validators."""

from __future__ import annotations

import functools
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

log = logging.getLogger(__name__)

SPEC_ENV = "DISCORD_API_SPEC"
JSON = "application/json"
_MISMATCH = frozenset({"type", "enum", "const"})
_REQUEST_URI = "urn:discord-api-spec:requests"
_RESPONSE_URI = "urn:discord-api-spec:responses"
# Discord accepts snowflakes sent as JSON numbers (discord.py sends attachment ids as 0, 1, ...), though the
# spec says strings; replies must use strings.
_LENIENT_SNOWFLAKE = {
    "oneOf": [
        {"type": "string", "pattern": "^(0|[1-9][0-9]*)$"},
        {"type": "integer", "minimum": 0},
    ]
}
# Discord's own error codes for the JSON Schema keywords that fail most often; the rest get a generic one.
_ERROR_CODES = {
    "maxLength": "BASE_TYPE_MAX_LENGTH",
    "minLength": "BASE_TYPE_MIN_LENGTH",
    "maxItems": "BASE_TYPE_MAX_LENGTH",
    "minItems": "BASE_TYPE_MIN_LENGTH",
    "required": "BASE_TYPE_REQUIRED",
    "type": "BASE_TYPE_BAD_TYPE",
    "enum": "BASE_TYPE_CHOICES",
    "const": "BASE_TYPE_CHOICES",
    "maximum": "NUMBER_TYPE_MAX",
    "minimum": "NUMBER_TYPE_MIN",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a JSON body: where (a path of keys and indexes), a Discord-style code, and why."""

    path: tuple[str | int, ...]
    code: str
    message: str

    def __str__(self) -> str:
        where = ".".join(str(part) for part in self.path) or "<body>"
        return f"{where}: {self.message} ({self.code})"


def spec_path() -> Path | None:
    """Where Discord's OpenAPI description is: `$DISCORD_API_SPEC`, or None when it is not set.

    The description is not shipped with the package (it is Discord's, and large); without it the emulator
    checks Discord's limits but not the schema.
    """
    override = os.environ.get(SPEC_ENV, "").strip()
    return Path(override).expanduser() if override else None


def _pointer(uri: str, *parts: str) -> str:
    """A URI for a JSON pointer to `parts` inside the spec document known as `uri`."""
    escaped = "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)
    return f"{uri}#/{quote(escaped, safe='/~')}"


def _simplify(schema: Any) -> Any:
    """Rewrite the spec for fast validation with the same verdicts.

    A union of `const` branches (Discord's enums) becomes an `enum`, and `oneOf` becomes `anyOf`: Discord's
    unions are tagged (or `T | null`), so at most one branch can match and the first match can stop the search.
    """
    if isinstance(schema, list):
        return [_simplify(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    simplified: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("oneOf", "anyOf") and value and all(isinstance(b, dict) and "const" in b for b in value):
            simplified["enum"] = [branch["const"] for branch in value]
        else:
            simplified["anyOf" if key == "oneOf" else key] = _simplify(value)
    return simplified


def _leaves(error: ValidationError) -> list[ValidationError]:
    """The errors behind a failed union: those of the branch that came closest to matching.

    Closest means the fewest errors; on a tie, not a branch that only failed on its type or tag (the `null` of
    `T | null`, or the other callback types of the callback union).
    """
    if not error.context:
        return [error]
    branches: dict[Any, list[ValidationError]] = {}
    for inner in error.context:
        branches.setdefault(inner.relative_schema_path[0], []).extend(_leaves(inner))
    return min(branches.values(), key=lambda leaves: (len(leaves), all(e.validator in _MISMATCH for e in leaves)))


def _problems(errors: list[ValidationError]) -> list[Problem]:
    """Flatten validator errors to problems, following the closest branch of failed unions."""
    problems: list[Problem] = []
    for leaf in (leaf for error in errors for leaf in _leaves(error)):
        path = tuple(leaf.absolute_path)
        if leaf.validator == "required" and isinstance(leaf.instance, dict):
            # Like Discord, name the missing field itself rather than the object that lacks it.
            missing = [key for key in leaf.validator_value if key not in leaf.instance]
            problems += [Problem((*path, key), "BASE_TYPE_REQUIRED", "This field is required") for key in missing]
            continue
        message = leaf.message if len(leaf.message) <= 200 else leaf.message[:197] + "..."
        problems.append(Problem(path, _ERROR_CODES.get(str(leaf.validator), "BASE_TYPE_INVALID"), message))
    return problems


class ApiSpec:
    """Validators for request and response bodies, built lazily per operation and then reused."""

    def __init__(self, document: dict[str, Any]) -> None:
        self._paths: dict[str, dict[str, Any]] = document["paths"]
        self._schemas: dict[str, Any] = document["components"]["schemas"]
        schemas = {**self._schemas, "SnowflakeType": _LENIENT_SNOWFLAKE}
        lenient = {**document, "components": {**document["components"], "schemas": schemas}}
        self._registry: Registry[Any] = Registry().with_resources(
            [
                (_REQUEST_URI, Resource.from_contents(lenient, default_specification=DRAFT202012)),
                (_RESPONSE_URI, Resource.from_contents(document, default_specification=DRAFT202012)),
            ]
        )
        self._validators: dict[str, Draft202012Validator] = {}

    def _validator(self, ref: str) -> Draft202012Validator:
        """A compiled validator for the schema at `ref`."""
        found = self._validators.get(ref)
        if found is None:
            found = Draft202012Validator({"$ref": ref}, registry=self._registry)
            self._validators[ref] = found
        return found

    def request_problems(self, method: str, path: str, body: Any) -> list[Problem]:
        """Problems of a JSON request body against the operation's `requestBody` schema."""
        operation = self._paths[path][method.lower()]
        if JSON not in operation.get("requestBody", {}).get("content", {}):
            return []
        ref = _pointer(_REQUEST_URI, "paths", path, method.lower(), "requestBody", "content", JSON, "schema")
        return _problems(list(self._validator(ref).iter_errors(body)))

    def response_problems(self, method: str, path: str, status: int, body: Any) -> list[Problem]:
        """Problems of a JSON reply against the operation's schema for `status` (none if it has no schema)."""
        response = self._paths[path][method.lower()].get("responses", {}).get(str(status))
        if response is None or JSON not in response.get("content", {}):
            return []
        where = ("paths", path, method.lower(), "responses", str(status), "content", JSON, "schema")
        ref = _pointer(_RESPONSE_URI, *where)
        return _problems(list(self._validator(ref).iter_errors(body)))

    def schema_problems(self, name: str, body: Any) -> list[Problem]:
        """Problems of a request body against `#/components/schemas/<name>`."""
        if name not in self._schemas:
            raise KeyError(f"the spec has no schema named {name!r}")
        ref = _pointer(_REQUEST_URI, "components", "schemas", name)
        return _problems(list(self._validator(ref).iter_errors(body)))


def load_spec(path: Path | None = None) -> ApiSpec:
    """The spec at `path`, else at `$DISCORD_API_SPEC`: read and indexed once per path, then the same object."""
    source = path or spec_path()
    if source is None:
        raise FileNotFoundError(f"Discord's OpenAPI description is not configured: set {SPEC_ENV} to its path")
    return _load(source)


@functools.cache
def _load(source: Path) -> ApiSpec:
    try:
        document = _simplify(json.loads(source.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"Discord's OpenAPI description is not at {source}; set {SPEC_ENV} to its path or run with validate=False"
        ) from None
    return ApiSpec(document)


@functools.cache
def available_spec() -> ApiSpec | None:
    """The spec when `$DISCORD_API_SPEC` names one, else None, saying so once per process."""
    source = spec_path()
    if source is None:
        log.info("%s is not set: the emulator checks Discord's limits but not its API schema", SPEC_ENV)
        return None
    return load_spec(source)


def form_body_errors(problems: list[Problem]) -> dict[str, Any]:
    """Nest problems the way Discord's 50035 "Invalid Form Body" reply does: `{"content": {"_errors": [...]}}`."""
    errors: dict[str, Any] = {}
    for problem in problems:
        node = errors
        for part in problem.path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": problem.code, "message": problem.message})
    return errors
