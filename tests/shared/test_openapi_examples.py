"""Every JSON request body in the OpenAPI document has an example, and the example
validates against the body's own JSON Schema in that document."""

import jsonschema_rs
import pytest

from services import definitions
from shared.app import create_app
from shared.settings import Settings


@pytest.fixture(scope="module")
def doc(tmp_path_factory):
    app = create_app(definitions(), settings=Settings(data_dir=tmp_path_factory.mktemp("d")))
    return app.openapi()


def test_every_json_body_has_a_valid_example(doc):
    missing, invalid, checked = [], [], 0
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None:
                continue
            if "example" not in body:
                missing.append((method, path))
                continue
            # The body schema with the document's components beside it, so $refs resolve.
            schema = {**body["schema"], "components": doc["components"]}
            errors = [e.message for e in
                      jsonschema_rs.validator_for(schema).iter_errors(body["example"])]
            if errors:
                invalid.append((method, path, errors[:3]))
            checked += 1
    assert not missing, missing
    assert not invalid, invalid
    assert checked >= 40
