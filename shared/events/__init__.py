"""Event envelope (CloudEvents 1.0) and the registry of event types with payload models."""

from shared.events.envelope import CloudEvent, EventData, EventSpec, event_spec, registered_types

__all__ = ["CloudEvent", "EventData", "EventSpec", "event_spec", "registered_types"]
