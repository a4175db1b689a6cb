"""ID-number protection: AES-256-GCM encryption at rest and an HMAC blind index for lookup."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.settings import Settings


def _b64key(text: str) -> bytes:
    key = base64.b64decode(text)
    if len(key) != 32:
        raise ValueError("keys must be 32 bytes, base64-encoded")
    return key


def key_id(key: bytes) -> str:
    """A short public fingerprint naming the key a ciphertext was made with."""
    return hashlib.sha256(b"fupin-key-id" + key).hexdigest()[:8]


@dataclass
class PiiCipher:
    """Encrypts with the current key; decrypts with it or any older key still configured."""

    current: bytes
    older: tuple[bytes, ...] = ()
    blind_key: bytes = b""

    def __post_init__(self) -> None:
        self._keys = {key_id(k): AESGCM(k) for k in (self.current, *self.older)}
        self.current_id = key_id(self.current)
        self._prefix = f"v1:{self.current_id}:"
        # Keyed once: each blind index copies this state instead of re-keying HMAC.
        self._blind = hmac.new(self.blind_key, digestmod=hashlib.sha256)

    def encrypt(self, plaintext: str) -> str:
        return self.encrypt_many([plaintext])[0]

    def encrypt_many(self, plaintexts: list[str]) -> list[str]:
        """`encrypt` of each text (a fresh random nonce each), with one call for the nonces:
        the bulk import seals tens of thousands of ID numbers."""
        seal, b64 = self._keys[self.current_id].encrypt, binascii.b2a_base64
        randomness = os.urandom(12 * len(plaintexts))
        out = []
        for i, text in enumerate(plaintexts):
            nonce = randomness[12 * i:12 * i + 12]
            out.append(self._prefix + b64(nonce + seal(nonce, text.encode(), None),
                                          newline=False).decode())
        return out

    def decrypt(self, token: str) -> str:
        version, kid, body = token.split(":", 2)
        if version != "v1" or kid not in self._keys:
            raise ValueError("ciphertext made with an unknown key")
        raw = base64.b64decode(body)
        return self._keys[kid].decrypt(raw[:12], raw[12:], None).decode()

    def encrypt_bytes(self, data: bytes) -> bytes:
        """Seal arbitrary bytes (e.g. a stored response holding ID numbers)."""
        return self.encrypt(base64.b64encode(data).decode()).encode()

    def decrypt_bytes(self, token: bytes) -> bytes:
        return base64.b64decode(self.decrypt(token.decode()))

    def needs_rotation(self, token: str) -> bool:
        return token.split(":", 2)[1] != self.current_id

    def blind_index(self, normalized: str) -> str:
        """Keyed hash for exact lookup and de-duplication; useless without the key."""
        mac = self._blind.copy()
        mac.update(normalized.encode())
        return mac.hexdigest()


def _dev_keys(data_dir: Path) -> dict[str, str]:
    """Keys for the embedded runtime, generated once and kept beside its data."""
    path = data_dir / "dev-keys.json"
    if path.exists():
        return json.loads(path.read_text())
    data_dir.mkdir(parents=True, exist_ok=True)
    keys = {
        "pii_key": base64.b64encode(os.urandom(32)).decode(),
        "blind_index_key": base64.b64encode(os.urandom(32)).decode(),
    }
    path.write_text(json.dumps(keys))
    path.chmod(0o600)
    return keys


def cipher_from_settings(settings: Settings) -> PiiCipher:
    pii, blind = settings.pii_key, settings.blind_index_key
    if not pii or not blind:
        dev = _dev_keys(settings.data_dir)
        pii, blind = pii or dev["pii_key"], blind or dev["blind_index_key"]
    older = tuple(_b64key(k) for k in settings.pii_old_keys.split(",") if k.strip())
    return PiiCipher(current=_b64key(pii), older=older, blind_key=_b64key(blind))
