"""Proof-of-work challenges (ALTCHA, PoW v2), asked for once a target's burst of failed
attempts is spent (services/kernel/throttle.py): instead of refusing everybody, each further
attempt costs its sender a solved challenge.

Created and verified here with the PyPI ``altcha`` library (self-hosted, no third-party
service): the challenge is signed with an HMAC key from the settings, and in the library's
deterministic mode the server knows the answer's derived key in advance (signed with a
second key), so verifying costs one HMAC while solving costs the client, on average,
``3/4 * max_number`` key derivations of ``cost`` PBKDF2-SHA-256 iterations. The portal
solves them with the npm ``altcha`` widget's PBKDF2 worker (api/static/vendor/altcha).

A challenge is bound to its purpose (``ticket:<company number>``, ``login:<e-mail>``) and
expires; its signature is counted as used in the throttle's counters, so a replayed
solution is refused until the challenge has expired.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import datetime, timedelta

import altcha

from services.kernel.throttle import Throttle, key

ALGORITHM = "PBKDF2/SHA-256"  # WebCrypto derives it natively in every browser
MAX_PAYLOAD = 4096  # a solved v2 payload is about 700 characters of base64


class Challenges:
    def __init__(self, hmac_key: str, *, cost: int = 1000, max_number: int = 5000,
                 ttl: timedelta = timedelta(minutes=10)) -> None:
        if not hmac_key:
            raise ValueError("the challenge HMAC key must not be empty")
        self._key = hmac_key
        # The derived key's signature uses its own secret (the library's fast path); one
        # setting suffices, so it is derived from the first.
        self._key_secret = hmac.new(hmac_key.encode(), b"altcha derived-key signature", hashlib.sha256).hexdigest()
        self.cost = cost
        self.max_number = max(2, max_number)
        self.ttl = ttl

    def create(self, purpose: str, now: datetime) -> str:
        """A signed challenge as JSON (what the ALTCHA solvers read)."""
        half = self.max_number // 2
        counter = half + secrets.randbelow(self.max_number - half)  # at least half the work
        challenge = altcha.create_challenge(
            algorithm=ALGORITHM, cost=self.cost, counter=counter, expires_at=now + self.ttl,
            data={"purpose": purpose}, hmac_secret=self._key, hmac_key_secret=self._key_secret,
        )
        return json.dumps(challenge.to_dict(), separators=(",", ":"))

    def verified_signature(self, payload: str, purpose: str) -> str | None:
        """The challenge's signature when ``payload`` (base64 JSON of challenge and solution,
        as the solvers send it) solves a challenge of ours for this purpose and has not
        expired; None otherwise. Replays are the caller's business (``redeem``)."""
        if not payload or len(payload) > MAX_PAYLOAD:
            return None
        try:
            parsed = altcha.Payload.from_base64(payload)
            params = parsed.challenge.parameters
            if not params.key_signature or not isinstance(params.data, dict) or params.data.get("purpose") != purpose:
                return None
            result = altcha.verify_solution(parsed, self._key, hmac_key_secret=self._key_secret)
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):  # the client's input
            return None
        return parsed.challenge.signature if result.verified else None

    async def redeem(self, throttle: Throttle, payload: str | None, purpose: str, now: datetime) -> bool:
        """True once per solved challenge: its signature is counted as used (one atomic
        step) and kept for the throttle window, longer than the challenge lives."""
        signature = self.verified_signature(payload or "", purpose)
        if signature is None:
            return False
        [used] = await throttle.hit([key("pow", signature)], now)
        return used.count == 1
