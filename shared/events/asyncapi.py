"""AsyncAPI 3.0 documents generated from the event registry: what each service publishes."""

from __future__ import annotations

from typing import Any

from shared.events.envelope import CloudEvent, registered_types
from shared.events.topics import dead_letter_topic
from shared.outbox import CE_CONTENT_TYPE, TYPE_HEADER


def _envelope_schema(data_schema: dict[str, Any], type_: str) -> dict[str, Any]:
    schema = CloudEvent.model_json_schema()
    schema["properties"]["type"] = {"const": type_, "type": "string"}
    schema["properties"]["data"] = data_schema
    schema["properties"]["subject"]["description"] = "聚合 id，亦为 Kafka 消息键 / aggregate id = Kafka key"
    schema["properties"]["regioncode"]["description"] = "12 位区划代码 / region code (extension)"
    return schema


def _headers_schema(type_: str) -> dict[str, Any]:
    return {"type": "object", "properties": {
        CE_CONTENT_TYPE[0]: {"const": CE_CONTENT_TYPE[1].decode(), "type": "string"},
        TYPE_HEADER: {"const": type_, "type": "string",
                      "description": "事件类型，同 CloudEvent 的 `type`，"
                                     "便于不解析消息体即跳过不处理的类型 / "
                                     "the CloudEvent's `type` again, to skip unhandled types "
                                     "without parsing the value (the value is authoritative)"},
    }}


def asyncapi_document(service: str, *, groups: list[str] | None = None) -> dict[str, Any]:
    """Every topic the service writes, every event type on it with its JSON Schema and key."""
    prefix = f"cn.fupin.{service}."
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for type_, spec in sorted(registered_types().items()):
        if not type_.startswith(prefix):
            continue
        name = type_.removeprefix("cn.fupin.").replace(".", "_")
        channel_id = spec.topic.replace(".", "_")
        channel = channels.setdefault(channel_id, {
            "address": spec.topic, "messages": {},
            "description": "每个聚合一个主题；消息键为聚合 id，同一聚合的事件保持顺序 / one topic per "
                           "aggregate; the key is the aggregate id, so its events stay in order",
            "bindings": {"kafka": {"bindingVersion": "0.5.0"}},
        })
        channel["messages"][name] = {"$ref": f"#/components/messages/{name}"}
        messages[name] = {
            "name": type_, "title": spec.summary, "contentType": "application/cloudevents+json",
            "headers": _headers_schema(type_),
            "payload": _envelope_schema(spec.model.model_json_schema(), type_),
            "bindings": {"kafka": {"key": {"type": "string", "description": "subject"},
                                   "bindingVersion": "0.5.0"}},
        }
    for channel_id, channel in channels.items():
        operations[f"publish_{channel_id}"] = {
            "action": "send", "channel": {"$ref": f"#/channels/{channel_id}"},
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{m}"}
                         for m in channel["messages"]],
        }
    for group in groups or []:
        topic = dead_letter_topic(group)
        channels[topic.replace(".", "_")] = {
            "address": topic,
            "description": f"死信：{group} 处理失败的事件及错误 / events consumer group {group} "
                           "could not handle, with the error",
        }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": f"fupin {service} events", "version": "1.0.0",
                 "description": "事件不含姓名、身份证号等个人信息；按 `id` 去重（至少一次投递）。"
                                " Events carry no names or ID numbers; delivery is at least once, "
                                "de-duplicate by `id`."},
        "defaultContentType": "application/cloudevents+json",
        "channels": channels, "operations": operations,
        "components": {"messages": messages},
    }


def write_all(directory: str = "docs/asyncapi") -> None:
    """Regenerate the checked-in documents: `python -m shared.events.asyncapi`."""
    import json
    from pathlib import Path

    from services import definitions

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    for d in definitions():
        doc = asyncapi_document(d.name, groups=[s.group for s in d.all_subscriptions()])
        (out / f"{d.name}.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    write_all()
