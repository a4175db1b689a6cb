"""Auth dependencies shared by the monitoring routers."""

from typing import Annotated

from shared.auth import Principal, require

Reader = Annotated[Principal, require("monitoring:read")]
Writer = Annotated[Principal, require("monitoring:write")]
