"""ID-number protection: the batched and keyed-once paths give what the plain ones gave, so
every stored ciphertext and blind index stays valid."""

import base64
import hashlib
import hmac
import os
import re

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.crypto import PiiCipher, key_id

KEY, OLD, BLIND = os.urandom(32), os.urandom(32), os.urandom(32)
NUMBERS = ["430902198005170016", "43090219800517001X", "110101190001010017", "", "长"]


def _old_style_token(key: bytes, plaintext: str) -> str:
    """A ciphertext as `encrypt` has written it since the start: v1:<key id>:b64(nonce|sealed)."""
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), None)
    return f"v1:{key_id(key)}:{base64.b64encode(nonce + sealed).decode()}"


def test_blind_index_is_hmac_sha256_of_the_number():
    cipher = PiiCipher(current=KEY, blind_key=BLIND)
    for number in NUMBERS * 2:  # the keyed state is copied, never consumed
        assert cipher.blind_index(number) == hmac.new(BLIND, number.encode(),
                                                      hashlib.sha256).hexdigest()
    assert PiiCipher(current=KEY, blind_key=OLD).blind_index(NUMBERS[0]) != \
        cipher.blind_index(NUMBERS[0])


def test_encrypt_many_seals_each_text_with_its_own_nonce():
    cipher = PiiCipher(current=KEY, blind_key=BLIND)
    tokens = cipher.encrypt_many(NUMBERS * 3)
    assert [cipher.decrypt(t) for t in tokens] == NUMBERS * 3
    assert all(re.fullmatch(rf"v1:{key_id(KEY)}:[A-Za-z0-9+/]+=*", t) for t in tokens)
    nonces = {base64.b64decode(t.split(":")[2])[:12] for t in tokens}
    assert len(nonces) == len(tokens)
    # Readable with the plain AES-GCM construction, as older code and tools read it.
    raw = base64.b64decode(tokens[0].split(":")[2])
    assert AESGCM(KEY).decrypt(raw[:12], raw[12:], None).decode() == NUMBERS[0]
    assert cipher.encrypt_many([]) == []


def test_existing_ciphertexts_still_decrypt_and_single_encrypt_is_unchanged():
    cipher = PiiCipher(current=KEY, older=(OLD,), blind_key=BLIND)
    assert cipher.decrypt(_old_style_token(KEY, NUMBERS[1])) == NUMBERS[1]
    assert cipher.decrypt(_old_style_token(OLD, NUMBERS[2])) == NUMBERS[2]
    token = cipher.encrypt(NUMBERS[0])
    assert token.startswith(f"v1:{key_id(KEY)}:") and cipher.decrypt(token) == NUMBERS[0]
    assert not cipher.needs_rotation(token)
    assert cipher.decrypt_bytes(cipher.encrypt_bytes(b"\x00\xff")) == b"\x00\xff"
