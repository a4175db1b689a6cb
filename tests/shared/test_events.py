"""The event registry against CONTRACT.md: every type, its topic, its schema, and no PII."""

import json
import re
from pathlib import Path

import pytest

from shared.events.envelope import CloudEvent, json_schemas, registered_types
from shared.events.registry import HouseholdExited

CONTRACT = Path(__file__).resolve().parents[3] / "shared" / "CONTRACT.md"
TOPIC_OF = {"registry.household": "fupin.registry.households",
            "registry.region": "fupin.registry.regions",
            "monitoring": "fupin.monitoring.cases", "funds": "fupin.funds.ledger",
            "tasks": "fupin.tasks.tasks"}


def contract_types() -> set[str]:
    text = CONTRACT.read_text().split("Types (prefix `cn.fupin.`):", 1)[1]
    found = set()
    for group, names in re.findall(r"`([a-z_.]+)\.\{([^}]*)\}", text):
        for name in names.replace("\n", " ").split(","):
            found.add(f"cn.fupin.{group}.{name.strip()}")
    return found


def test_every_contract_type_is_registered():
    types = contract_types()
    assert len(types) == 31
    assert types <= set(registered_types())


@pytest.mark.parametrize("type_", sorted(contract_types()))
def test_topic_follows_the_contract(type_):
    suffix = type_.removeprefix("cn.fupin.")
    topic = next(t for prefix, t in TOPIC_OF.items() if suffix.startswith(prefix + "."))
    assert registered_types()[type_].topic == topic


def test_schemas_export_and_carry_no_personal_fields():
    forbidden = {"name", "id_number", "phone", "bank_account", "health_status", "payee"}
    for type_, entry in json_schemas().items():
        schema = json.dumps(entry["schema"])
        props = set(re.findall(r'"([a-z_]+)": \{', schema))
        assert not props & forbidden, type_


def test_envelope_round_trip():
    event = CloudEvent.of(HouseholdExited(household_id="h", region_code="430902100201", year=2019),
                          service="registry", subject="h", region_code="430902100201")
    again = CloudEvent.from_bytes(event.to_bytes())
    assert again.payload() == HouseholdExited(household_id="h", region_code="430902100201",
                                              year=2019)
    raw = json.loads(event.to_bytes())
    assert raw["specversion"] == "1.0" and raw["source"] == "/fupin/registry"
    assert raw["type"] == "cn.fupin.registry.household.exited" and raw["regioncode"]


@pytest.mark.parametrize("service", ["registry", "monitoring", "funds", "tasks"])
def test_asyncapi_lists_every_type_the_service_publishes(service):
    from shared.events.asyncapi import asyncapi_document

    doc = asyncapi_document(service)
    assert doc["asyncapi"] == "3.0.0"
    published = {m["name"] for m in doc["components"]["messages"].values()}
    mine = {t for t in contract_types() if t.startswith(f"cn.fupin.{service}.")}
    assert mine <= published
    for message in doc["components"]["messages"].values():
        assert message["payload"]["properties"]["type"]["const"] == message["name"]
        assert message["bindings"]["kafka"]["key"]["description"] == "subject"
        headers = message["headers"]["properties"]
        assert headers["fupin-event-type"]["const"] == message["name"]
        assert headers["content-type"]["const"] == "application/cloudevents+json"
    addresses = {c["address"] for c in doc["channels"].values()}
    assert {registered_types()[t].topic for t in mine} <= addresses


def test_checked_in_asyncapi_matches_the_code():
    """docs/asyncapi/<service>.json is what integrators read; it must follow the code."""
    from services import definitions
    from shared.events.asyncapi import asyncapi_document

    docs = Path(__file__).resolve().parents[2] / "docs" / "asyncapi"
    for d in definitions():
        expected = asyncapi_document(d.name, groups=[s.group for s in d.all_subscriptions()])
        on_disk = json.loads((docs / f"{d.name}.json").read_text())
        assert on_disk == json.loads(json.dumps(expected)), (
            "regenerate with: python -m shared.events.asyncapi")
