"""Signed training receipts: what went into a model, signed with the platform's Ed25519 key so that anyone holding
the public key can check a receipt offline. Django-free; the key comes from settings through the service.

A receipt is signed over its canonical JSON: keys sorted, no spaces, UTF-8 (`canonical_json`). To verify one with
any Ed25519 library, serialise `receipt` the same way and check `signature` (base64) against the public key (base64
of the raw 32 bytes) from `GET /api/v1/receipts/public-key/`.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ALGORITHM = "ed25519"


def canonical_json(payload: dict[str, Any]) -> bytes:
    """The bytes a receipt's signature covers: JSON with sorted keys, no spaces, UTF-8 (non-ASCII kept as is)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def private_key_from_seed(seed_b64: str) -> Ed25519PrivateKey:
    """The signing key from its base64-encoded 32-byte seed (TESSERA_SIGNING_KEY)."""
    seed = base64.b64decode(seed_b64, validate=True)
    if len(seed) != 32:
        raise ValueError(f"An Ed25519 seed is 32 bytes; this one has {len(seed)}.")
    return Ed25519PrivateKey.from_private_bytes(seed)


def new_seed() -> str:
    """A fresh signing key's seed, base64: what an operator puts in TESSERA_SIGNING_KEY."""
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    raw = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return base64.b64encode(raw).decode()


def public_key_b64(key: Ed25519PrivateKey) -> str:
    """The public key as base64 of its raw 32 bytes."""
    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def sign(key: Ed25519PrivateKey, payload: dict[str, Any]) -> str:
    """Base64 signature of the payload's canonical JSON."""
    return base64.b64encode(key.sign(canonical_json(payload))).decode()
