"""The four fupin services."""

from shared.service import ServiceDefinition


def definitions(names: list[str] | None = None) -> list[ServiceDefinition]:
    from services.funds.service import definition as funds
    from services.monitoring.service import definition as monitoring
    from services.registry.service import definition as registry
    from services.tasks.service import definition as tasks

    every = {"registry": registry, "monitoring": monitoring, "funds": funds, "tasks": tasks}
    return [every[n] for n in (names or list(every))]
