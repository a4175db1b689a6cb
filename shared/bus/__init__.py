"""The event bus: one interface, a Kafka implementation and an embedded durable one."""

from shared.bus.base import Bus, BusUnavailable, Consumer, Outgoing, Record
from shared.settings import Settings


def bus_from_settings(settings: Settings) -> Bus:
    if settings.bus == "kafka":
        from shared.bus.kafka import KafkaBus

        return KafkaBus(settings.kafka_bootstrap, partitions=settings.kafka_partitions,
                        prefix=settings.topic_prefix)
    from shared.bus.embedded import EmbeddedBus

    return EmbeddedBus(settings.embedded_bus_path)


__all__ = ["Bus", "BusUnavailable", "Consumer", "Outgoing", "Record", "bus_from_settings"]
