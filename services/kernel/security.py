"""Passwords (argon2id), encryption at rest (AES-256-GCM), and JWTs (HS256, pinned)."""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from services.kernel.ids import parse_row_id

# ---- passwords -----------------------------------------------------------------------

_hasher = PasswordHasher()  # argon2id with the library's current defaults
# Verified against when the e-mail is unknown, so both failures cost the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


# ---- encryption at rest --------------------------------------------------------------


class SecretBox:
    """AES-256-GCM under a key derived (HKDF-SHA256) from a settings secret.

    Blob layout: version byte, 12-byte nonce, ciphertext+tag. ``purpose`` is bound as
    associated data, so a blob cannot be moved from one column to another.
    """

    VERSION = b"\x01"

    def __init__(self, secret: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"autofactura-at-rest", info=b"aes-gcm-v1").derive(
            secret.encode()
        )
        self._aead = AESGCM(key)
        # A second key from the same secret, for keyed hashes (API key secrets): a leaked
        # database alone cannot be used to test guesses offline.
        self._mac_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"autofactura-mac", info=b"hmac-sha256-v1").derive(
            secret.encode()
        )

    def mac(self, message: str, purpose: str) -> str:
        """HMAC-SHA256 of ``message`` bound to ``purpose``, as hex."""
        return hmac.new(self._mac_key, purpose.encode() + b"\x00" + message.encode(), hashlib.sha256).hexdigest()

    def seal(self, plaintext: bytes, purpose: str) -> bytes:
        nonce = os.urandom(12)
        return self.VERSION + nonce + self._aead.encrypt(nonce, plaintext, purpose.encode())

    def open(self, blob: bytes, purpose: str) -> bytes:
        if blob[:1] != self.VERSION:
            raise ValueError("unknown encryption version")
        return self._aead.decrypt(blob[1:13], blob[13:], purpose.encode())


# ---- tokens --------------------------------------------------------------------------

MERCHANT = "merchant"
TICKET = "ticket"
INVOICE = "invoice"
DOWNLOAD = "download"
AUDIENCES = (MERCHANT, TICKET, INVOICE, DOWNLOAD)
_ALGORITHM = "HS256"
_PUBLIC_ID = re.compile(r"[0-9a-z]{1,40}")
_KNOWN_HEADERS = 32


class TokenError(Exception):
    pass


@dataclass(frozen=True)
class Claims:
    audience: str
    subject: str
    expires_at: datetime
    extra: dict


def _kid(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


class TokenService:
    """Signs with the current secret; verifies with it or with a previous one by ``kid``."""

    def __init__(self, secret: str, issuer: str, previous_secrets: list[str] | tuple[str, ...] = ()) -> None:
        self._secret = secret
        self._issuer = issuer
        self._keys = {_kid(s): s for s in (*previous_secrets, secret)}
        self._headers = {"kid": _kid(secret)}
        # kid of each header segment seen (a pure function of it). PyJWT's
        # get_unverified_header decodes the whole token, as decode() does again: a second
        # full decode on every authenticated request, for the same few headers (issue 16).
        # Bounded: headers an attacker invents past it are decoded as before, not kept.
        self._kids: dict[str, str | None] = {}

    def issue(self, audience: str, subject: str, ttl: timedelta, **extra) -> tuple[str, datetime]:
        now = datetime.now(UTC)
        expires = now + ttl
        payload = {
            "iss": self._issuer,
            "aud": audience,
            "sub": subject,
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": uuid.uuid4().hex,
            **extra,
        }
        token = jwt.encode(payload, self._secret, algorithm=_ALGORITHM, headers=self._headers)
        return token, expires.replace(microsecond=0)

    def _header_kid(self, token: str) -> str | None:
        segment = token.partition(".")[0]
        try:
            return self._kids[segment]
        except KeyError:
            kid = jwt.get_unverified_header(token).get("kid")
            if len(self._kids) < _KNOWN_HEADERS:
                self._kids[segment] = kid
            return kid

    def decode(self, token: str, audience: str) -> Claims:
        try:
            kid = self._header_kid(token)
            secret = self._keys.get(kid)
            if secret is None:
                raise TokenError("unknown key id")
            payload = jwt.decode(
                token,
                secret,
                algorithms=[_ALGORITHM],  # pinned: never "none", never RS/HS confusion
                audience=audience,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise TokenError(str(exc)) from exc
        extra = {k: v for k, v in payload.items() if k not in {"iss", "aud", "sub", "iat", "exp", "jti"}}
        subject = str(payload["sub"])
        # A merchant token names a merchant's row, a ticket token a sale's and (claim m) its
        # merchant's: a subject that is no row id is a token this server never issued, not
        # an "Error interno" when int() fails or the id overflows BIGINT.
        if audience in (MERCHANT, TICKET) and parse_row_id(subject) is None:
            raise TokenError("the subject is not a row id")
        if audience == TICKET and parse_row_id(extra.get("m")) is None:
            raise TokenError("the merchant claim is not a row id")
        # Invoice and download tokens name a document's public id (32 hex, or "g" and 30).
        if audience in (INVOICE, DOWNLOAD) and _PUBLIC_ID.fullmatch(subject) is None:
            raise TokenError("the subject is not a public id")
        try:
            expires_at = datetime.fromtimestamp(payload["exp"], UTC)
        except (OverflowError, OSError, ValueError) as exc:  # PyJWT checked it is a number, not its range
            raise TokenError("exp out of range") from exc
        return Claims(audience, subject, expires_at, extra)

    def audience_of(self, token: str) -> str | None:
        """Which audience a token claims (unverified); callers still decode() with it."""
        try:
            aud = jwt.decode(token, options={"verify_signature": False}).get("aud")
        except jwt.PyJWTError:
            return None
        return aud if aud in AUDIENCES else None
