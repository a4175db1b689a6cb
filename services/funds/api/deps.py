"""Auth dependencies shared by the funds routers."""

from typing import Annotated

from shared.auth import Principal, require

Reader = Annotated[Principal, require("funds:read")]
Writer = Annotated[Principal, require("funds:write")]
