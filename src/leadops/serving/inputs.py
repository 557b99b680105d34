"""What the service needs from a request before scoring: the as-of time, and the textbook's flat leads mapped."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from leadops import expr
from leadops.serving.errors import FlatLeadError, MissingFieldsError
from leadops.serving.model import ServedModel
from leadops.serving.schemas import LeadIn
from leadops.settings.features import AttributeFeature, DerivedFeature

CANONICAL = frozenset(LeadIn.model_fields) - {"attributes", "account", "activities"}


def as_of_or_now(as_of: datetime | None) -> datetime:
    """The request's as-of time as naive UTC (the warehouse convention), now when not given."""
    if as_of is None:
        return datetime.now(UTC).replace(tzinfo=None)
    return as_of.astimezone(UTC).replace(tzinfo=None) if as_of.tzinfo is not None else as_of


def lead_inputs(model: ServedModel) -> list[str]:
    """The flat fields a model reads from a lead: canonical lead columns and attribute keys of its features."""
    by_name = {f.name: f for f in model.spec.definitions}
    needed: list[str] = []
    todo = list(model.columns)
    seen: set[str] = set()
    while todo:
        name = todo.pop(0)
        if name in seen or name not in by_name:
            continue
        seen.add(name)
        f = by_name[name]
        if isinstance(f, AttributeFeature) and f.source == "lead":
            needed.append(f.column or f.key or name)
        elif isinstance(f, DerivedFeature):
            todo.extend(sorted(expr.references(f.tree())))
    return list(dict.fromkeys(needed))


def flat_lead(body: Mapping[str, Any], model: ServedModel, where: str) -> LeadIn:
    """A textbook lead (one flat object) as a LeadIn: canonical fields stay, the rest become attributes."""
    missing = [name for name in lead_inputs(model) if body.get(name) is None]
    if missing:
        raise MissingFieldsError(
            f"{where}: missing required field{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
            loc=[where, missing[0]],
            hint=f"the served model (version {model.version}) reads {', '.join(lead_inputs(model))}",
        )
    lead: dict[str, Any] = {"attributes": {}}
    for key, value in body.items():
        if isinstance(value, dict | list):
            raise FlatLeadError(
                f"{where}.{key}: expected a plain value (text, number, true/false), got an object", loc=[where, key]
            )
        if key in CANONICAL:
            lead[key] = value
        else:
            lead["attributes"][key] = value
    if lead.get("lead_id") is not None:
        lead["lead_id"] = str(lead["lead_id"])
    try:
        return LeadIn.model_validate(lead)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(p) for p in first.get("loc", ())]
        raise FlatLeadError(f"{where}.{'.'.join(loc)}: {first.get('msg')}", loc=[where, *loc]) from None
