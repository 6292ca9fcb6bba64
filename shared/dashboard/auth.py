"""Who reads the dashboard: a Supabase user (a JWT verified locally) or an organization API key with `read`.

Either way the answer is a `Viewer` whose `claims` are what the database sees in `request.jwt.claims` for the
length of each query's transaction, so row-level security (`analytics_request_org()`) keeps the caller to the
rows of their own organization. Nothing here trusts the organization id in Python alone.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import jwt
import requests

from shared.core import apikeys, db
from shared.dashboard import settings as dashboard_settings

_ASYMMETRIC = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "EdDSA")


class AuthError(Exception):
    """The request is refused: `status` is 401 (no or bad credentials) or 403 (not allowed)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Viewer:
    organization_id: UUID
    claims: dict[str, Any]
    via: str  # "jwt", "api_key" or "share_link"
    panels: frozenset[str] | None = None  # a share link's panels; None: every panel
    scopes: frozenset[str] = frozenset()  # an API key's scopes (admin: dead letters, share links)

    @property
    def claims_json(self) -> str:
        return json.dumps(self.claims, separators=(",", ":"), default=str)


class _Jwks:
    """The project's signing keys, fetched with `requests` and kept for `jwks_cache_seconds`; an unknown `kid`
    refetches at most once a minute (key rotation) so a flood of forged kids cannot hammer the JWKS endpoint."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, Any] = {}
        self._fetched = 0.0
        self._url: str | None = None

    def key(self, url: str, kid: str | None) -> Any:
        now = time.monotonic()
        ttl = dashboard_settings.get().jwks_cache_seconds
        with self._lock:
            fresh = self._url == url and now - self._fetched < ttl
            known = self._keys.get(kid or "") if fresh else None
            may_refetch = not fresh or now - self._fetched > 60
        if known is not None:
            return known
        if may_refetch:
            self._fetch(url)
        with self._lock:
            found = self._keys.get(kid or "")
            if found is None and kid is None and len(self._keys) == 1:
                found = next(iter(self._keys.values()))
        if found is None:
            raise AuthError(401, f"the token's signing key {kid!r} is not in the project's JWKS")
        return found

    def _fetch(self, url: str) -> None:
        try:
            answer = requests.get(url, timeout=5)
            answer.raise_for_status()
            keys = jwt.PyJWKSet.from_dict(answer.json())
        except (requests.RequestException, ValueError, jwt.PyJWKSetError) as exc:
            raise AuthError(401, f"cannot verify the token: the JWKS could not be fetched ({exc})") from exc
        with self._lock:
            self._keys = {k.key_id or "": k for k in keys.keys}
            self._fetched = time.monotonic()
            self._url = url

    def clear(self) -> None:
        with self._lock:
            self._keys, self._fetched, self._url = {}, 0.0, None


jwks = _Jwks()


def _kid(header: dict[str, Any]) -> str | None:
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise AuthError(401, f"the token's header 'kid' must be a string, not {type(kid).__name__}")
    return kid


def _same_family(key_alg: str, token_alg: str) -> bool:
    """An RSA key verifies RS256/384/512 alike; EC and EdDSA keys are bound to one curve, hence one algorithm."""
    return key_alg[:2] == token_alg[:2] == "RS"


def _organization(claims: dict[str, Any]) -> UUID:
    raw = claims.get("organization_id")
    if raw is None and isinstance(claims.get("app_metadata"), dict):
        raw = claims["app_metadata"].get("organization_id")
    if raw is None:
        raise AuthError(403, "the token names no organization (claim organization_id or app_metadata.organization_id)")
    try:
        return UUID(str(raw))
    except ValueError:
        raise AuthError(403, f"the token's organization_id {raw!r} is not a UUID") from None


def verify_jwt(token: str) -> Viewer:
    """A Supabase access token: signature (HS256 with SUPABASE_JWT_SECRET, or a JWKS key), `exp`, and
    `aud` = SUPABASE_JWT_AUDIENCE ("authenticated") are all required."""
    conf = dashboard_settings.get()
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise AuthError(401, f"the bearer token is not a valid JWT: {exc}") from exc
    alg = header.get("alg")
    if alg == "HS256" and conf.supabase_jwt_secret is not None:
        key: Any = conf.supabase_jwt_secret.get_secret_value()
    elif alg in _ASYMMETRIC and conf.supabase_jwks_url:
        found = jwks.key(conf.supabase_jwks_url, _kid(header))
        if found.algorithm_name != alg and not _same_family(found.algorithm_name, alg):
            raise AuthError(
                401,
                f"the token says it is signed with {alg!r} but its key {found.key_id!r} is a "
                f"{found.algorithm_name} key; the algorithm must match the key",
            )
        key = found.key
    else:
        accepted = ["HS256"] if conf.supabase_jwt_secret is not None else []
        accepted += list(_ASYMMETRIC) if conf.supabase_jwks_url else []
        raise AuthError(
            401, f"tokens signed with {alg!r} are not accepted here; accepted: {', '.join(accepted) or 'none'}"
        )
    try:
        claims = jwt.decode(
            token, key, algorithms=[alg], audience=conf.supabase_jwt_audience, options={"require": ["exp", "aud"]}
        )
    except (TypeError, ValueError, jwt.InvalidKeyError) as exc:
        # The key loader refuses a key of another kind than the algorithm (an EC key for RS256, ...).
        raise AuthError(
            401, f"the token's algorithm {alg!r} cannot be verified with the project's key: {exc}"
        ) from None
    except jwt.ExpiredSignatureError:
        raise AuthError(401, "the token has expired") from None
    except jwt.InvalidAudienceError:
        raise AuthError(401, f"the token's audience is not {conf.supabase_jwt_audience!r}") from None
    except jwt.PyJWTError as exc:
        raise AuthError(401, f"the token is not valid: {exc}") from exc
    role = claims.get("role", "authenticated")
    if role != "authenticated":
        # An anon (or service_role) token is signed by the same project but is no signed-in user.
        raise AuthError(
            403, f"the token's role is {role!r}; the dashboard serves signed-in users (role 'authenticated')"
        )
    org = _organization(claims)
    return Viewer(org, {**claims, "role": "authenticated"}, "jwt")


def authenticate(token: str | None) -> Viewer:
    """The viewer behind an `Authorization: Bearer` value: an API key (`wsk_...`) or a user JWT."""
    if token is None:
        raise AuthError(
            401, "send a Supabase access token or an API key with the 'read' scope as 'Authorization: Bearer <token>'"
        )
    if token.startswith("wsk_"):
        caller = apikeys.cache.lookup(db.transaction, token)
        if caller is None:
            raise AuthError(401, "the API key is unknown or revoked")
        if "read" not in caller.scopes:
            raise AuthError(403, "this key does not have the 'read' scope")
        claims = {
            "role": "authenticated",
            "sub": f"api-key:{caller.key_id}",
            "organization_id": str(caller.organization_id),
        }
        return Viewer(caller.organization_id, claims, "api_key", scopes=frozenset(caller.scopes))
    return verify_jwt(token)
