"""Password hashing (Argon2id via argon2-cffi) and bearer tokens (JWT via PyJWT).

Tokens are HS256 with a required ``exp``, ``iat``, ``nbf``, ``iss`` and ``aud``; verification
pins the algorithm list, so ``alg=none`` and algorithm-confusion tokens are refused.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import jwt
from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from dealercrm.application.ports.persistence import Clock
from dealercrm.domain.errors import AuthenticationFailed
from dealercrm.domain.identity import Principal

_LARGEST_ID = 2**63 - 1  # BIGINT


class Argon2PasswordHasher:
    def __init__(self, *, time_cost: int = 2, memory_cost: int = 19456, parallelism: int = 1) -> None:
        # OWASP's minimum Argon2id profile (19 MiB, t=2, p=1): ~20 ms here.
        self._argon = _Argon2(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)

    def hash(self, password: str) -> str:
        return self._argon.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._argon.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._argon.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True


class JwtTokenService:
    ALGORITHM = "HS256"

    def __init__(self, secret: str, *, issuer: str, audience: str, ttl: dt.timedelta, clock: Clock) -> None:
        if len(secret) < 32:
            raise ValueError("the JWT secret must be at least 32 characters")
        self.secret = secret
        self.issuer = issuer
        self.audience = audience
        self.ttl = ttl
        self.clock = clock
        # token → (expires at, claims): HMAC + JSON + claim checks cost ~0.25 ms a request.
        # An entry lives until the token's own exp (re-checked by PyJWT after that), so caching
        # changes no answer; user deactivation is enforced by the principal cache, not here.
        self._verified: dict[str, tuple[float, dict[str, Any]]] = {}

    def issue(self, principal: Principal) -> tuple[str, dt.datetime]:
        now = self.clock()
        expires = now + self.ttl
        claims = {
            "sub": str(principal.user_id),
            "role": principal.role.value,
            "dealer_id": principal.dealer_id,
            "iss": self.issuer,
            "aud": self.audience,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self.secret, algorithm=self.ALGORITHM), expires

    VERIFIED_CACHE_SIZE = 10_000

    def verify(self, token: str) -> dict[str, Any]:
        hit = self._verified.get(token)
        if hit is not None and self.clock().timestamp() < hit[0]:
            return dict(hit[1])
        claims = self._decode(token)
        if len(self._verified) >= self.VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (float(claims["exp"]), claims)
        return dict(claims)

    LEEWAY_SECONDS = 5

    def _decode(self, token: str) -> dict[str, Any]:
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[self.ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                # exp/nbf/iat are checked in _check_times against the injected clock that issued
                # them: PyJWT would compare with the wall clock, which tests and replays do not use
                options={"require": ["exp", "iat", "nbf", "sub", "iss", "aud"],
                         "verify_exp": False, "verify_nbf": False, "verify_iat": False},
            )
        except jwt.InvalidAudienceError:
            raise AuthenticationFailed("令牌受众不正确", code="auth.token_wrong_audience") from None
        except jwt.PyJWTError:
            raise AuthenticationFailed("令牌无效", code="auth.token_invalid") from None
        self._check_times(claims)
        sub = claims.get("sub")
        # a user id: ASCII digits that a BIGINT holds (str.isdigit admits "²" and 30-digit numbers)
        if not (isinstance(sub, str) and sub.isascii() and sub.isdigit() and 0 < int(sub) <= _LARGEST_ID):
            raise AuthenticationFailed("令牌无效", code="auth.token_invalid")
        return claims

    def _check_times(self, claims: dict[str, Any]) -> None:
        exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
        if not (isinstance(exp, int) and isinstance(nbf, int) and isinstance(iat, int)) or any(
                isinstance(t, bool) for t in (exp, nbf, iat)):
            raise AuthenticationFailed("令牌无效", code="auth.token_invalid")
        now = self.clock().timestamp()
        if now >= exp + self.LEEWAY_SECONDS:
            raise AuthenticationFailed("登录已过期，请重新登录", code="auth.token_expired")
        if now < nbf - self.LEEWAY_SECONDS:
            raise AuthenticationFailed("令牌尚未生效", code="auth.token_not_yet_valid")
