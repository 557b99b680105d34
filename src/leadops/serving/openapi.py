"""The service's OpenAPI document, told the truth: the API key it needs, and the fields the served model reads.

FastAPI's generated document knows neither: keys are checked in a dependency, and the textbook's flat leads are
free-form objects whose required fields depend on tonight's champion. `install` wraps `app.openapi` so the
document says both, rebuilt when the champion changes (a hot swap changes what /score_lead needs).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from leadops.serving.inputs import CANONICAL, lead_inputs
from leadops.serving.schemas import LeadIn
from leadops.serving.slot import ModelSlot

OPEN = frozenset({"/health", "/ready", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})
"""Routes that need no key."""
SECURITY = {
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "bearer": {"type": "http", "scheme": "bearer", "description": "the same API key as `Authorization: Bearer <key>`"},
}
PLAIN: dict[str, Any] = {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]}
"""An attribute of a flat lead: one plain value (an object or a list is refused with 422)."""
_EXAMPLE_BY_TYPE: dict[str, Any] = {"string": "unknown", "boolean": False, "number": 0, "integer": 0}


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A field's schema without its `null` alternative (a required field must have a value)."""
    options = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    if len(options) == 1:
        kept = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
        return {**kept, **options[0]}
    return {k: v for k, v in schema.items() if k != "default"}


def _example(name: str, schema: dict[str, Any], book: dict[str, Any]) -> Any:
    if name in book:
        return book[name]
    if schema.get("examples"):
        return schema["examples"][0]
    if schema.get("format") == "date-time":
        return "2026-11-28T09:12:00Z"
    return _EXAMPLE_BY_TYPE.get(str(schema.get("type")), 0)


def flat_lead_schema(fields: list[str], book_example: dict[str, Any]) -> dict[str, Any]:
    """A textbook lead: the served model's fields required (not null), canonical ones typed, the rest plain."""
    canonical = LeadIn.model_json_schema()["properties"]
    properties: dict[str, Any] = {}
    for name in sorted(CANONICAL):
        schema = {k: v for k, v in canonical[name].items() if k != "title"}
        properties[name] = _not_null(schema) if name in fields else schema
    properties["lead_id"] = {"anyOf": [{"type": "string", "minLength": 1, "maxLength": 500}, {"type": "integer"}]}
    if "lead_id" not in fields:
        properties["lead_id"]["anyOf"].append({"type": "null"})
    for name in fields:
        properties.setdefault(name, PLAIN)
    example = {name: _example(name, properties[name], book_example) for name in fields}
    return {
        "type": "object",
        "required": list(fields),
        "properties": properties,
        "additionalProperties": {"anyOf": [*PLAIN["anyOf"], {"type": "null"}]},
        "examples": [example],
        "description": "the served model's fields are required; other keys become the lead's attributes",
    }


def _errors_as_json(operation: dict[str, Any]) -> None:
    """Errors are JSON even where the route's own answer is not (FastAPI files them under the route's type)."""
    for status, response in operation.get("responses", {}).items():
        content = response.get("content", {})
        if status[:1] in "45" and content and "application/json" not in content:
            response["content"] = {"application/json": next(iter(content.values()))}


def _body(spec: dict[str, Any], path: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    except KeyError:
        return None
    return found


def install(app: FastAPI, slot: ModelSlot, *, max_batch: int, book_example: dict[str, Any]) -> None:
    """Replace `app.openapi` with the document plus security schemes and the champion's textbook fields."""
    generate: Callable[[], dict[str, Any]] = app.openapi
    built: dict[int | None, dict[str, Any]] = {}

    def openapi() -> dict[str, Any]:
        version = slot.version
        if version not in built:
            spec = copy.deepcopy(generate())
            spec.setdefault("components", {})["securitySchemes"] = SECURITY
            for path, operations in spec.get("paths", {}).items():
                for operation in operations.values():
                    _errors_as_json(operation)
                    if path not in OPEN:
                        operation["security"] = [{"apiKey": []}, {"bearer": []}]
            if version is not None:
                lead = flat_lead_schema(lead_inputs(slot.models().champion), book_example)
                single, batch = _body(spec, "/score_lead"), _body(spec, "/batch_score")
                if single is not None:
                    single["schema"] = {**lead, "title": "Lead"}
                if batch is not None:
                    leads = {"type": "array", "items": lead, "minItems": 1, "maxItems": max_batch}
                    batch["schema"] = {
                        "type": "object",
                        "required": ["leads"],
                        "properties": {"leads": leads},
                        "additionalProperties": {"type": "array", "items": {"type": "object"}},
                        "title": "Leads",
                        "examples": [{"leads": lead["examples"]}],
                    }
            built.clear()
            built[version] = spec
        app.openapi_schema = built[version]
        return built[version]

    app.openapi = openapi  # type: ignore[method-assign]
