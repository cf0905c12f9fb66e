"""Console sign-in and the signed-in user of a request: the service behind the console's pages.

A sign-in names no org: the login does (logins are unique across orgs ignoring case). Failed
sign-ins go through the API's failed-authentication throttle (`patron.auth.throttle`), counted
against the client address and the login, and a throttled attempt is refused before the
password is looked at. An unknown login spends a dummy argon2 verification, so a miss costs
what a hit costs, and every refusal is the same sentence.
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio.to_thread

from patron import errors
from patron.auth.passwords import burn_verification, verify_secret
from patron.auth.principal import Principal
from patron.auth.throttle import FailureThrottle, Key
from patron.console.sessions import Session, SessionCodec
from patron.db.driver import Database
from patron.errors import ApiError
from patron.orgs import repository
from patron.orgs.cache import OrgConfigCache
from patron.orgs.model import ConsoleUser, OrgConfig
from patron.orgs.schema import CREDENTIAL_MAX, SECRET_MAX

ACTOR_TYPE = "CONSOLE_USER"
"""How the history attributes a console user's changes: `{"code": login, "type": ACTOR_TYPE}`."""
DENIED_MESSAGE = "Wrong login or password"


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A request's console user: their org's current configuration and their session."""

    config: OrgConfig
    user: ConsoleUser
    session: Session

    @property
    def principal(self) -> Principal:
        """The caller the customer services attribute changes to."""
        return Principal(self.config.org_id, self.user.login, ACTOR_TYPE)


def login_key(login: str) -> Key:
    """The throttle's counter of a console login (ignoring case, as logins are matched)."""
    return ("console", login.lower())


def _denied() -> ApiError:
    return ApiError.one(errors.UNAUTHORIZED, DENIED_MESSAGE)


async def sign_in(
    db: Database,
    orgs: OrgConfigCache,
    throttle: FailureThrottle,
    address: Key | None,
    login: str,
    password: str,
) -> tuple[OrgConfig, ConsoleUser]:
    """The console user `login` if `password` is theirs; 401 otherwise, 429 while throttled."""
    login = login.strip()
    counted = login_key(login)
    throttle.check(address, counted)
    shaped = 0 < len(login) <= CREDENTIAL_MAX and login.isascii() and login.isprintable()
    if not shaped or not password or len(password) > SECRET_MAX:
        throttle.failed(address, counted)
        raise _denied()
    async with db.transaction(write=False) as conn:
        org_id = await repository.console_user_org(conn, login)
    config = await orgs.get(org_id) if org_id is not None else None
    user = config.console_user(login) if config is not None else None
    if config is None or user is None:
        await anyio.to_thread.run_sync(burn_verification, password)
        throttle.failed(address, counted)
        raise _denied()
    if not await anyio.to_thread.run_sync(verify_secret, user.password_hash, password):
        throttle.failed(address, counted)
        raise _denied()
    return config, user


async def signed_in(
    orgs: OrgConfigCache, codec: SessionCodec, cookie: str | None, *, now: float
) -> SignedIn | None:
    """The console user a session cookie proves, as the org's configuration has them now.

    None when the cookie is missing, forged or expired, or when the user was removed or their
    password changed since they signed in. The role is the current one: a demoted editor loses
    their edit controls on their next page.
    """
    session = codec.read(cookie, now=now)
    if session is None:
        return None
    config = await orgs.get(session.org_id)
    user = config.console_user(session.login) if config is not None else None
    if config is None or user is None:
        return None
    if codec.credential(user.password_hash) != session.credential:
        return None
    return SignedIn(config, user, session)
