"""Client input read as JSON Schema reads it: numbers are not dates, booleans are not numbers
and numbers are not booleans.

Pydantic's lax mode reads ``0`` (or ``"0"``) as 1970-01-01 and ``false`` as the integer 0; a
client making either mistake should hear about it, not get a silence that started in 1970.
Pydantic's strict mode would also refuse ISO text for a date in a parsed JSON body, so the
confusable cases are refused by hand: ``InputModel`` checks every field against its
annotation, and ``IsoDate``/``IsoDateTime`` do the same for query parameters.
"""

from __future__ import annotations

import re
import types
from datetime import date, datetime, time
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    FutureDate,
    FutureDatetime,
    NaiveDatetime,
    PastDate,
    PastDatetime,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")
_TEMPORAL = (datetime, date, time)
# Pydantic's constrained temporal types are classes of their own, not subclasses.
_CONSTRAINED: dict[Any, type] = {
    AwareDatetime: datetime,
    NaiveDatetime: datetime,
    PastDatetime: datetime,
    FutureDatetime: datetime,
    PastDate: date,
    FutureDate: date,
}


def _temporal_refusal(kind: type, value: object) -> PydanticCustomError | None:
    number = isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.match(value))
    if not number:
        return None
    return PydanticCustomError(
        f"{kind.__name__}_from_number",
        "a {kind} is ISO 8601 text (e.g. {example}), not a number",
        {"kind": kind.__name__, "example": _EXAMPLES[kind]},
    )


_EXAMPLES = {datetime: "2024-05-01T09:00:00+08:00", date: "2024-05-01", time: "09:00"}


def refusal(annotation: Any, value: object) -> PydanticCustomError | None:
    """Why ``value`` must not be read as ``annotation`` although lax pydantic would, or None."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return refusal(get_args(annotation)[0], value)
    if origin in (Union, types.UnionType):
        members = [m for m in get_args(annotation) if m is not type(None)]
        reasons = [refusal(member, value) for member in members]
        # Refused only when no member of the union would take it as it is.
        return reasons[0] if reasons and all(reasons) else None
    if origin in (list, set, frozenset, tuple) and isinstance(value, list | tuple):
        item = get_args(annotation)[0] if get_args(annotation) else Any
        return next((r for v in value if (r := refusal(item, v))), None)
    if origin is dict and isinstance(value, dict) and len(get_args(annotation)) == 2:
        item = get_args(annotation)[1]
        return next((r for v in value.values() if (r := refusal(item, v))), None)
    if annotation in _CONSTRAINED:
        return _temporal_refusal(_CONSTRAINED[annotation], value)
    if origin is Literal or not isinstance(annotation, type):
        return None
    if issubclass(annotation, _TEMPORAL):
        kind = next(k for k in _TEMPORAL if issubclass(annotation, k))
        return _temporal_refusal(kind, value)
    if annotation is bool and value is not None and not isinstance(value, bool):
        return PydanticCustomError("bool_from_other", "send true or false")
    if annotation in (int, float) and isinstance(value, bool):
        return PydanticCustomError(
            f"{annotation.__name__}_from_bool",
            "true and false are not numbers; send a number",
        )
    return None


class InputModel(BaseModel):
    """Base of request bodies: a number is no date, a boolean no number."""

    @field_validator("*", mode="before")
    @classmethod
    def _json_types(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is not None and (reason := refusal(field.annotation, value)):
            raise reason
        return value


def _iso(kind: type) -> BeforeValidator:
    def check(value: Any) -> Any:
        if reason := _temporal_refusal(kind, value):
            raise reason
        return value

    return BeforeValidator(check)


# For query and path parameters, which arrive as text: "0" is not a date either.
TEXT_DATE = _iso(date)
TEXT_DATETIME = _iso(datetime)
IsoDate = Annotated[date, TEXT_DATE]
IsoDateTime = Annotated[datetime, TEXT_DATETIME]
