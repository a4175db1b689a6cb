"""Kafka topics, one per aggregate (CONTRACT.md § Events)."""

HOUSEHOLDS = "fupin.registry.households"
REGIONS = "fupin.registry.regions"
MONITORING_CASES = "fupin.monitoring.cases"
FUNDS_LEDGER = "fupin.funds.ledger"
TASKS = "fupin.tasks.tasks"

ALL = (HOUSEHOLDS, REGIONS, MONITORING_CASES, FUNDS_LEDGER, TASKS)


def dead_letter_topic(group: str) -> str:
    """Where a consumer group parks events it could not handle."""
    return f"fupin.dlq.{group}"
