"""TokenService: verification by key id, with the header's kid remembered per header."""
from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

from services.kernel import security
from services.kernel.security import MERCHANT, TokenError, TokenService

OLD, NEW = "old-secret-" + "o" * 40, "new-secret-" + "n" * 40


def test_a_token_signed_with_a_previous_secret_verifies_after_rotation_and_again():
    before = TokenService(OLD, "autofactura")
    token, _ = before.issue(MERCHANT, "7", timedelta(minutes=5))
    after = TokenService(NEW, "autofactura", previous_secrets=[OLD])
    fresh, _ = after.issue(MERCHANT, "8", timedelta(minutes=5))
    for _ in range(2):  # the second time from the remembered header
        assert after.decode(token, MERCHANT).subject == "7"
        assert after.decode(fresh, MERCHANT).subject == "8"
    assert len(after._kids) == 2
    # A secret dropped from the list no longer verifies its tokens.
    with pytest.raises(TokenError, match="unknown key id"):
        TokenService(NEW, "autofactura").decode(token, MERCHANT)


def test_a_remembered_header_does_not_vouch_for_the_rest_of_the_token():
    service = TokenService(NEW, "autofactura")
    token, _ = service.issue(MERCHANT, "7", timedelta(minutes=5))
    service.decode(token, MERCHANT)
    header, payload, signature = token.split(".")
    forged = jwt.encode({"sub": "1", "aud": MERCHANT, "iss": "autofactura", "iat": 1, "exp": 4_000_000_000},
                        "not-the-secret-" + "x" * 40, algorithm="HS256", headers={"kid": service._headers["kid"]})
    assert forged.split(".")[0] == header  # the same header segment, another signature
    with pytest.raises(TokenError):
        service.decode(forged, MERCHANT)
    with pytest.raises(TokenError):
        service.decode(f"{header}.{payload}.{signature[:-2]}AA", MERCHANT)


def test_the_remembered_headers_are_bounded(monkeypatch):
    monkeypatch.setattr(security, "_KNOWN_HEADERS", 2)
    service = TokenService(NEW, "autofactura")
    for i in range(5):
        token = jwt.encode({"sub": "1"}, "x" * 40, algorithm="HS256", headers={"kid": f"k{i}"})
        with pytest.raises(TokenError, match="unknown key id"):
            service.decode(token, MERCHANT)
    assert len(service._kids) == 2
