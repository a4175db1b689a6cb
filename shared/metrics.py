"""Prometheus metrics every service exports at /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter("fupin_http_requests_total", "HTTP requests",
                        ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram("fupin_http_request_duration_seconds", "HTTP request latency",
                         ["service", "method", "route"],
                         buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
OUTBOX_BACKLOG = Gauge("fupin_outbox_backlog", "Outbox rows not yet published", ["service"])
OUTBOX_OLDEST_AGE = Gauge("fupin_outbox_oldest_age_seconds",
                          "Age of the oldest unpublished outbox row", ["service"])
OUTBOX_PUBLISHED = Counter("fupin_outbox_published_total", "Events published by the relay",
                           ["service"])
CONSUMER_LAG = Gauge("fupin_consumer_lag", "Records not yet committed by a consumer group",
                     ["group", "topic", "partition"])
HANDLER_FAILURES = Counter("fupin_handler_failures_total", "Failed event handler attempts",
                           ["group", "event_type"])
EVENTS_HANDLED = Counter("fupin_events_handled_total", "Events handled", ["group", "event_type"])
DEAD_LETTERS = Gauge("fupin_dead_letters", "Dead letters not yet redriven", ["group"])

MONITORING_OPEN_ALERTS = Gauge("fupin_monitoring_open_alerts", "Open alerts", ["region"])
MONITORING_OVERDUE_ALERTS = Gauge("fupin_monitoring_overdue_alerts",
                                  "Open alerts past their due date", ["region"])
FUNDS_STAGNANT_ALLOCATIONS = Gauge("fupin_funds_stagnant_allocations",
                                   "Allocations flagged stagnant and still open", ["region"])
TASKS_OVERDUE_TASKS = Gauge("fupin_tasks_overdue_tasks", "Tasks past due and not completed",
                            ["region"])
