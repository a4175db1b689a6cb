"""The verified-token cache of `TokenCodec`: a hit skips the signature check, but expiry,
tampering and the algorithm policy are enforced exactly as without it."""

import datetime as dt
import time

import jwt
import pytest

import shared.auth
from shared.auth import TokenCodec
from shared.errors import Unauthorized

SECRET = "a-test-secret-of-at-least-thirty-two-bytes!"


@pytest.fixture
def decodes(monkeypatch):
    """Counts the real signature checks (jwt.decode calls) made by shared.auth."""
    calls: list[str] = []
    real = jwt.decode

    def counting(token, *args, **kwargs):
        calls.append(token)
        return real(token, *args, **kwargs)

    monkeypatch.setattr(shared.auth.jwt, "decode", counting)
    return calls


def test_a_verified_token_is_checked_once(decodes):
    codec = TokenCodec(SECRET)
    token = codec.mint(sub="alice", scopes=["registry:read"], region="4309")
    first, second = codec.verify(token), codec.verify(token)
    assert first == second
    assert (first.sub, first.scopes, first.region) == ("alice", {"registry:read"}, "4309")
    assert decodes == [token]


def test_a_tampered_signature_or_payload_is_refused_after_a_hit(decodes):
    codec = TokenCodec(SECRET)
    token = codec.mint(sub="alice", scopes=["registry:read"], region="4309")
    codec.verify(token)
    head, payload, signature = token.split(".")
    other_signature = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    with pytest.raises(Unauthorized):
        codec.verify(f"{head}.{payload}.{other_signature}")
    wider = TokenCodec(SECRET).mint(sub="alice", scopes=["admin"], region="")
    with pytest.raises(Unauthorized):  # another payload under the cached token's signature
        codec.verify(f"{head}.{wider.split('.')[1]}.{signature}")
    assert codec.verify(token).scopes == {"registry:read"}


def test_an_expired_token_is_refused_even_when_cached(decodes):
    codec = TokenCodec(SECRET)
    exp = int(time.time()) + 2  # JWT times are whole seconds
    token = jwt.encode({"sub": "alice", "scopes": [], "region": "", "exp": exp}, SECRET,
                       algorithm="HS256")
    assert codec.verify(token).sub == "alice"
    time.sleep(max(0.0, exp - time.time()) + 0.05)
    with pytest.raises(Unauthorized):
        codec.verify(token)
    assert decodes == [token, token]  # the stale entry sent it back to a full check
    with pytest.raises(Unauthorized):
        codec.verify(token)


def test_a_cached_entry_is_not_used_past_exp(monkeypatch, decodes):
    """The hit path compares `exp` itself (the clock moved past it, the entry is dropped)."""
    codec = TokenCodec(SECRET)
    token = codec.mint(sub="alice", scopes=[], ttl=dt.timedelta(minutes=5))
    codec.verify(token)
    later = time.time() + 600
    monkeypatch.setattr(shared.auth.time, "time", lambda: later)
    codec.verify(token)  # jwt.decode's own clock still says valid: verified afresh
    assert decodes == [token, token]


def test_not_yet_valid_tokens_are_refused_and_not_remembered(decodes):
    codec = TokenCodec(SECRET)
    now = int(time.time())
    token = jwt.encode({"sub": "alice", "scopes": [], "region": "", "nbf": now + 3600,
                        "exp": now + 7200}, SECRET, algorithm="HS256")
    for _ in range(2):
        with pytest.raises(Unauthorized):
            codec.verify(token)
    assert decodes == [token, token]


def test_malformed_claims_are_refused_every_time(decodes):
    codec = TokenCodec(SECRET)
    token = jwt.encode({"sub": "alice", "scopes": "admin", "region": ""}, SECRET,
                       algorithm="HS256")
    for _ in range(2):
        with pytest.raises(Unauthorized):
            codec.verify(token)
    assert len(decodes) == 2


def test_the_cache_is_bounded_least_recently_used_first(decodes):
    codec = TokenCodec(SECRET)
    codec.CACHE_SIZE = 3
    tokens = [codec.mint(sub=f"user{i}", scopes=[]) for i in range(4)]
    for token in tokens[:3]:
        codec.verify(token)
    codec.verify(tokens[0])  # now the most recently used
    codec.verify(tokens[3])  # evicts tokens[1]
    assert len(decodes) == 4
    codec.verify(tokens[0])
    codec.verify(tokens[2])
    assert len(decodes) == 4
    codec.verify(tokens[1])
    assert decodes[-1] == tokens[1] and len(decodes) == 5


def test_a_codec_with_a_public_key_refuses_hs256_whatever_another_codec_cached():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    development = TokenCodec(SECRET)
    token = development.mint(sub="mallory", scopes=["admin"])
    development.verify(token)
    production = TokenCodec(SECRET, public_key=public)
    with pytest.raises(Unauthorized):
        production.verify(token)
    signed = jwt.encode({"sub": "bob", "scopes": ["registry:read"], "region": "43",
                         "exp": int(time.time()) + 60}, key, algorithm="RS256")
    assert production.verify(signed).sub == "bob"
    assert production.verify(signed).region == "43"


async def test_an_idempotent_post_verifies_its_token_once(platform, decodes):
    """The transactional wrapper reads the principal for an Idempotency-Key; the auth
    dependency reuses it instead of checking the signature again (cache disabled here)."""
    await platform.start("registry")
    platform.apps["registry"].state.tokens.CACHE_SIZE = 0
    client, headers = platform.client("registry"), platform.auth()
    decodes.clear()
    r = await client.post("/api/v1/registry/regions", json={"code": "43", "name": "湖南省"},
                          headers={**headers, "Idempotency-Key": "k-1"})
    assert r.status_code == 201, r.text
    assert len(decodes) == 1
    again = await client.post("/api/v1/registry/regions", json={"code": "43", "name": "湖南省"},
                              headers={**headers, "Idempotency-Key": "k-1"})
    assert (again.status_code, again.json()) == (201, r.json())  # replayed, not a 409
    assert len(decodes) == 2
    bad = await client.post("/api/v1/registry/regions", json={"code": "44", "name": "广东省"},
                            headers={"Authorization": headers["Authorization"][:-3] + "xyz",
                                     "Idempotency-Key": "k-2"})
    assert bad.status_code == 401
