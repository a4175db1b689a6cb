"""`fupin keys rotate`: every stored ID number re-encrypted under the new key, readable after."""

import base64
import os

from services import definitions
from shared.crypto import key_id
from shared.keys import rotate
from shared.runtime import open_runtime
from tests.support.db import rows
from tests.support.factories import household, region_tree


async def test_rotation_re_encrypts_and_keeps_lookups(platform):
    await platform.start("registry")
    client = platform.client("registry")
    await region_tree(client, platform.auth())
    bodies = [household() for _ in range(3)]
    ids = []
    for body in bodies:
        r = await client.post("/api/v1/registry/households", json=body, headers=platform.auth())
        assert r.status_code == 201
        ids.append(r.json()["id"])
    old = await platform.settings()
    new_key = base64.b64encode(os.urandom(32)).decode()
    rotated = await platform.settings(pii_key=new_key, pii_old_keys=old.pii_key)
    (definition,) = definitions(["registry"])
    async with open_runtime(definition, rotated, migrate=False) as runtime:
        assert await rotate(runtime, batch_size=2) == 6
        assert await rotate(runtime) == 0
        stored = await rows(runtime, "SELECT id_cipher FROM members")
        new_id = key_id(base64.b64decode(new_key))
        assert all(r.id_cipher.startswith(f"v1:{new_id}:") for r in stored)
    # The old key can now go: a runtime holding only the new key reads every number.
    only_new = await platform.settings(pii_key=new_key, pii_old_keys="")
    async with open_runtime(definition, only_new, migrate=False) as runtime:
        plain = {runtime.cipher.decrypt(r.id_cipher)
                 for r in await rows(runtime, "SELECT id_cipher FROM members")}
    assert plain == {m["id_number"] for b in bodies for m in b["members"]}
