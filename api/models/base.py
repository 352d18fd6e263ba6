"""What every schema shares: strict request models, the one-of rule, statuses, the error body."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Status = Literal["PRESENT", "NOT_FOUND", "NULL_VALUE", "OUTSIDE_MAX_AGE"]


def _one_of_schema(schema: dict[str, Any], cls: type) -> None:
    """Publish each "exactly one of" rule of a model (``ONE_OF``) as a JSON Schema oneOf."""
    groups = getattr(cls, "ONE_OF", ())
    if groups:
        schema["allOf"] = [{"oneOf": [{"required": [name]} for name in group]} for group in groups]


class Strict(BaseModel):
    """Unknown fields, non-finite numbers (NaN, Infinity) and values of another JSON type
    ("1" for 1, 0 for false) are refused: the schema's types are the ones accepted."""

    model_config = ConfigDict(
        extra="forbid", strict=True, allow_inf_nan=False, json_schema_extra=_one_of_schema
    )


class FeatureSelection(Strict):
    """Exactly one of a feature service or a list of "view:feature" references."""

    ONE_OF: ClassVar[tuple[tuple[str, ...], ...]] = (("feature_service", "features"),)

    # typed without None: null is "absent" only by leaving the field out, as the schema says
    feature_service: str = Field(None, min_length=1, examples=["model_inference_v1"])
    features: list[str] = Field(
        None, min_length=1, examples=[["trip_features:trip_miles", "trip_features:fare"]]
    )

    @model_validator(mode="after")
    def _one_selection(self) -> FeatureSelection:
        if (self.feature_service is None) == (self.features is None):
            raise ValueError("give exactly one of feature_service or features")
        return self


class ErrorBody(BaseModel):
    error: str
    detail: Any = None
