"""The CloudEvents 1.0 structured envelope every topic carries, and the type registry."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.ids import new_id

TYPE_PREFIX = "cn.fupin."


class EventData(BaseModel):
    """Base of every payload: ids, region codes, codes and fen amounts only, never PII."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: ClassVar[str]
    topic: ClassVar[str]


@dataclass(frozen=True)
class EventSpec:
    type: str
    topic: str
    model: type[EventData]
    summary: str


_REGISTRY: dict[str, EventSpec] = {}


def event_type(type_suffix: str, *, topic: str, summary: str):
    """Class decorator that registers a payload model under `cn.fupin.<type_suffix>`."""

    def wrap(model: type[EventData]) -> type[EventData]:
        full = TYPE_PREFIX + type_suffix
        if full in _REGISTRY:
            raise ValueError(f"event type registered twice: {full}")
        model.type = full
        model.topic = topic
        _REGISTRY[full] = EventSpec(full, topic, model, summary)
        return model

    return wrap


def event_spec(type_: str) -> EventSpec | None:
    return _REGISTRY.get(type_)


def registered_types() -> dict[str, EventSpec]:
    # Importing the modules registers their types.
    from shared.events import funds, monitoring, registry, tasks  # noqa: F401

    return dict(_REGISTRY)


class CloudEvent(BaseModel):
    """A structured-mode CloudEvent with the `regioncode` extension attribute."""

    model_config = ConfigDict(extra="allow")

    specversion: str = "1.0"
    id: str = Field(default_factory=new_id)
    source: str
    type: str
    subject: str
    time: dt.datetime = Field(default_factory=lambda: dt.datetime.now(dt.UTC))
    datacontenttype: str = "application/json"
    regioncode: str = ""
    data: dict[str, Any]

    @classmethod
    def of(cls, payload: EventData, *, service: str, subject: str, region_code: str) -> CloudEvent:
        return cls(
            source=f"/fupin/{service}", type=payload.type, subject=subject,
            regioncode=region_code, data=payload.model_dump(mode="json"),
        )

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> CloudEvent:
        return cls.model_validate(json.loads(raw))

    def payload(self) -> EventData:
        """The typed payload; raises for an unknown type or a payload that does not fit."""
        spec = event_spec(self.type)
        if spec is None:
            raise LookupError(f"unknown event type {self.type}")
        return spec.model.model_validate(self.data)


def json_schemas() -> dict[str, dict]:
    """Every event type with its topic, summary and the JSON Schema of its `data`."""
    return {
        name: {"topic": spec.topic, "summary": spec.summary,
               "schema": spec.model.model_json_schema()}
        for name, spec in sorted(registered_types().items())
    }
