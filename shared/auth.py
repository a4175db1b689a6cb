"""Bearer JWT auth: `sub`, `scopes` and a `region` prefix that bounds what a caller sees."""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import jwt
from fastapi import Depends, Request

from shared.errors import Forbidden, NotFound, Unauthorized, Unprocessable
from shared.regions import is_region_prefix, within

SCOPES = (
    "registry:read", "registry:write", "monitoring:read", "monitoring:write",
    "funds:read", "funds:write", "tasks:read", "tasks:write", "pii:read", "admin",
)


@dataclass(frozen=True)
class Principal:
    sub: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    region: str = ""

    def has(self, scope: str) -> bool:
        # admin grants every service scope but not pii:read, which is always explicit.
        return scope in self.scopes or ("admin" in self.scopes and scope != "pii:read")

    def sees(self, region_code: str) -> bool:
        return within(region_code, self.region)

    def ensure_visible(self, region_code: str, what: str = "资源") -> None:
        """Reading outside the caller's region: 404, so existence is not revealed."""
        if not self.sees(region_code):
            raise NotFound(what)

    def ensure_writable(self, region_code: str) -> None:
        """Creating or moving something outside the caller's region: 403."""
        if not self.sees(region_code):
            raise Forbidden("region_forbidden", "无权操作该行政区域的数据 (outside your region)",
                            field="region_code")

    def narrow(self, region: str | None) -> str:
        """The effective region filter: the caller's scope, narrowed by a requested prefix."""
        if region is None or region == "":
            return self.region
        if not is_region_prefix(region):
            raise Unprocessable("invalid_region_code",
                                "区划代码应为 2/4/6/9/12 位数字 (invalid region code)",
                                field="region")
        if within(region, self.region):
            return region
        if within(self.region, region):
            return self.region
        raise Forbidden("region_forbidden", "无权查询该行政区域 (outside your region)",
                        field="region")


class TokenCodec:
    """Signs (HS256, development) and verifies (HS256 or RS256) access tokens.

    Verified tokens are remembered (a bounded LRU keyed by the whole token string, so a
    token whose signature or claims differ by one character is a miss and is verified
    afresh): a client sending the same token on every request pays for the signature once.
    A remembered token still expires: its `exp` and `nbf` are checked on every hit, as
    `jwt.decode` checks them. Only successfully verified tokens are remembered."""

    CACHE_SIZE = 4096

    def __init__(self, secret: str, public_key: str | None = None) -> None:
        self._secret = secret
        self._public_key = public_key
        self._verified: OrderedDict[str, tuple[Principal, float | None, float | None]] = \
            OrderedDict()

    def mint(self, *, sub: str, scopes: list[str], region: str = "",
             ttl: dt.timedelta = dt.timedelta(hours=12)) -> str:
        now = dt.datetime.now(dt.UTC)
        claims = {"sub": sub, "scopes": scopes, "region": region, "iat": now, "exp": now + ttl}
        return jwt.encode(claims, self._secret, algorithm="HS256")

    def verify(self, token: str) -> Principal:
        hit = self._verified.get(token)
        if hit is not None:
            principal, not_before, expires = hit
            now = time.time()
            if (expires is None or now < expires) and (not_before is None or now >= not_before):
                with contextlib.suppress(KeyError):  # evicted meanwhile by another thread
                    self._verified.move_to_end(token)
                return principal
            self._verified.pop(token, None)
        principal, claims = self._decode(token)
        self._remember(token, principal, claims)
        return principal

    def _remember(self, token: str, principal: Principal, claims: dict) -> None:
        # jwt.decode has validated both as numbers when present (a valid `iat` stays valid).
        self._verified[token] = (principal, _number(claims.get("nbf")),
                                 _number(claims.get("exp")))
        while len(self._verified) > self.CACHE_SIZE:
            with contextlib.suppress(KeyError):
                self._verified.popitem(last=False)

    def _decode(self, token: str) -> tuple[Principal, dict]:
        try:
            # With a public key configured only RS256 is accepted: the HS256 secret may be
            # the development default, and must never be able to sign a production token.
            if self._public_key:
                claims = jwt.decode(token, self._public_key, algorithms=["RS256"])
            else:
                claims = jwt.decode(token, self._secret, algorithms=["HS256"])
        except jwt.PyJWTError:
            raise Unauthorized("invalid_token", "令牌无效或已过期 (invalid or expired token)") \
                from None
        scopes, region, sub = claims.get("scopes"), claims.get("region", ""), claims.get("sub")
        if (not isinstance(sub, str) or not sub or not isinstance(scopes, list)
                or not isinstance(region, str) or not is_region_prefix(region)):
            raise Unauthorized("invalid_token", "令牌声明不完整 (token claims malformed)")
        return Principal(sub=sub, scopes=frozenset(str(s) for s in scopes), region=region), claims


def _number(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


async def current_principal(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("missing_token", "缺少访问令牌 (missing bearer token)")
    token = token.strip()
    # The transactional wrapper may have verified this very header already (Idempotency-Key).
    peeked = getattr(request.state, "principal_of", None)
    if peeked is not None and peeked[0] == token:
        principal = peeked[1]
    else:
        principal = request.app.state.tokens.verify(token)
    request.state.principal = principal
    return principal


def require(scope: str):
    """A dependency that authenticates and demands `scope`."""

    async def dependency(request: Request) -> Principal:
        # One dependency, not one on top of `current_principal`: FastAPI resolves every
        # level of a dependency graph on every request.
        principal = await current_principal(request)
        if not principal.has(scope):
            raise Forbidden("missing_scope", f"缺少权限 {scope} (missing scope)")
        return principal

    dependency.__name__ = f"require_{scope.replace(':', '_')}"
    return Depends(dependency)
