"""Installing the app in workspaces: Slack's authorize page, oauth.v2.access, and the tokens it hands out.

Slack's OAuth v2 flow: the app's install page links to (or redirects to) `/oauth/v2/authorize?client_id&scope&
user_scope&state[&redirect_uri]`; a person approves, and Slack sends their browser to the redirect URI with a
one-time `code` (and the `state`); the app trades the code for tokens with oauth.v2.access (its client id and
secret by HTTP basic auth or as form fields). `Installs` keeps the workspaces, the codes and every token issued;
`follow_install` plays the person's browser.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import aiohttp

from emulator.slack.model import JSON, Grant, Identity, Team
from emulator.slack.webapi import SlackError

AUTHORIZE_PATH = "/oauth/v2/authorize"
DEFAULT_REDIRECT_PATH = "/slack/oauth_redirect"  # bolt's default redirect_uri_path
CODE_LIFETIME = 600.0  # seconds a code stays good (Slack: ten minutes)


@dataclass
class _Code:
    team: Team
    user: str
    scope: str
    user_scope: str
    redirect_uri: str | None  # as named in the authorize request; oauth.v2.access must repeat it
    issued: float
    used: bool = False
    token: str | None = None  # the bot token it was traded for


@dataclass(frozen=True)
class InstallResult:
    """How an install went: the app's answer to its redirect URI, and the workspace, installer and code.

    `status` and `body` are the app's answer at its redirect URI (`location`: where that answer redirects, if it
    does); `token` is the bot token the app got for the code (None if it never traded it, or failed to).
    """

    status: int
    body: str
    team_id: str
    user: str
    code: str
    location: str | None
    token: str | None


class Installs:
    """The workspaces, the codes issued on the authorize page, and the tokens (bot, user and app-level)."""

    def __init__(
        self, identity: Identity, *, client_id: str, client_secret: str, bot_token: str, app_token: str
    ) -> None:
        self.identity = identity
        self.client_id = client_id
        self.client_secret = client_secret
        home = Team(identity.team_id, identity.team_domain, identity.team_domain)
        self.teams: dict[str, Team] = {home.id: home}
        self.grants: dict[str, Grant] = {
            bot_token: Grant(bot_token, home, "bot", identity.bot_user_id),
            app_token: Grant(app_token, home, "app", identity.app_id),
        }
        self._codes: dict[str, _Code] = {}
        self._numbers = itertools.count(2)

    # -- workspaces -----------------------------------------------------------------------------------

    def add_team(self, team_id: str | None = None, name: str | None = None) -> Team:
        """A workspace: the known one with that id, else a new one (a made-up id when none is given)."""
        if team_id is not None and team_id in self.teams:
            return self.teams[team_id]
        number = next(self._numbers)
        team_id = team_id or f"T{number:08d}"
        name = name or f"Workspace {number}"
        domain = "".join(ch for ch in name.lower() if ch.isalnum()) or team_id.lower()
        team = self.teams[team_id] = Team(team_id, name, domain)
        return team

    def bot_token(self, team_id: str) -> str | None:
        """The live bot token of a workspace, if the app is installed there."""
        return next((g.token for g in self.grants.values() if g.team.id == team_id and g.kind == "bot"), None)

    def grant_bot(self, team: Team, scope: str = "") -> str:
        """The workspace's bot token, issued now if it has none (the app installed there without OAuth)."""
        return self._grant(team, "bot", self.identity.bot_user_id, scope).token

    def revoke_team(self, team_id: str) -> list[str]:
        """Forget a workspace's bot and user tokens (calls with them then answer invalid_auth); the tokens."""
        gone = [g.token for g in self.grants.values() if g.team.id == team_id and g.kind in ("bot", "user")]
        for token in gone:
            del self.grants[token]
        return gone

    # -- the authorize page ---------------------------------------------------------------------------

    def authorize(
        self,
        query: Mapping[str, str],
        *,
        team: Team,
        user: str,
        approve: bool,
        redirect_url: str | None,
        fallback: str | None = None,
    ) -> tuple[str, str | None]:
        """A person answering the authorize page: where Slack sends their browser, and the code (if approved).

        `redirect_url` is the app's configured Redirect URL: a redirect_uri the request names must start with
        it, and it is used when the request names none (else `fallback`). Raises SlackError for what Slack shows
        as an error page instead of redirecting.
        """
        if query.get("client_id") != self.client_id:
            raise SlackError("invalid_client_id")
        if not query.get("scope") and not query.get("user_scope"):
            raise SlackError("invalid_scope")
        named = query.get("redirect_uri") or None
        if named is not None and redirect_url is not None and not named.startswith(redirect_url):
            raise SlackError("bad_redirect_uri")
        target = named or redirect_url or fallback
        if target is None:
            raise SlackError("bad_redirect_uri")
        state = query.get("state", "")
        if not approve:
            return _with_query(target, {"error": "access_denied", "state": state}), None
        code = f"{team.id}.{secrets.token_hex(12)}"
        self._codes[code] = _Code(
            team, user, query.get("scope", ""), query.get("user_scope", ""), named, time.monotonic()
        )
        return _with_query(target, {"code": code, "state": state}), code

    def token_for(self, code: str) -> str | None:
        """The bot token a code was traded for, if it was."""
        issued = self._codes.get(code)
        return issued.token if issued is not None else None

    # -- oauth.v2.access ------------------------------------------------------------------------------

    def exchange(self, args: JSON, basic: tuple[str, str] | None) -> JSON:
        """oauth.v2.access: trade a code (once) for the workspace's bot token (and the installer's user token)."""
        client_id, client_secret = basic or (str(args.get("client_id") or ""), str(args.get("client_secret") or ""))
        if client_id != self.client_id:
            raise SlackError("invalid_client_id")
        if client_secret != self.client_secret:
            raise SlackError("bad_client_secret")
        issued = self._codes.get(str(args.get("code") or ""))
        if issued is None or issued.used or time.monotonic() - issued.issued > CODE_LIFETIME:
            raise SlackError("invalid_code")
        if (args.get("redirect_uri") or None) != issued.redirect_uri:
            raise SlackError("bad_redirect_uri")
        issued.used = True
        team = issued.team
        bot = self._grant(team, "bot", self.identity.bot_user_id, issued.scope, scoped=True)
        issued.token = bot.token
        installer: JSON = {"id": issued.user}
        if issued.user_scope:
            person = self._grant(team, "user", issued.user, issued.user_scope, scoped=True)
            installer.update({"scope": person.scope, "access_token": person.token, "token_type": "user"})
        return {
            "access_token": bot.token,
            "token_type": "bot",
            "scope": bot.scope,
            "bot_user_id": self.identity.bot_user_id,
            "app_id": self.identity.app_id,
            "team": {"name": team.name, "id": team.id},
            "enterprise": None,
            "is_enterprise_install": False,
            "authed_user": installer,
        }

    def _grant(self, team: Team, kind: str, user_id: str, scope: str, *, scoped: bool = False) -> Grant:
        """The workspace's live token of that kind (and user) with its scopes widened, or a new one.

        `scoped`: the scopes come from an install, and from now on bound what the token may call.
        """
        for grant in self.grants.values():
            if grant.team.id == team.id and grant.kind == kind and grant.user_id == user_id:
                grant.scope = _union(grant.scope, scope)
                grant.scoped = grant.scoped or scoped
                return grant
        prefix = "xoxb" if kind == "bot" else "xoxp"
        token = f"{prefix}-{team.id}-{secrets.token_hex(12)}"
        grant = self.grants[token] = Grant(token, team, kind, user_id, _union("", scope), scoped=scoped)
        return grant

    def set_scopes(self, team_id: str, scopes: list[str] | tuple[str, ...]) -> Grant:
        """Make the workspace's bot token hold exactly these scopes (an install approved long ago, say)."""
        grant = next((g for g in self.grants.values() if g.team.id == team_id and g.kind == "bot"), None)
        if grant is None:
            raise LookupError(f"the app has no bot token in {team_id!r}")
        grant.scope = _union("", ",".join(scopes))
        grant.scoped = True
        return grant


# -- the installer's browser ----------------------------------------------------------------------------


class _Links(HTMLParser):
    """The targets of a page's links, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.extend(value for name, value in attrs if name == "href" and value)


def authorize_link(html: str) -> str | None:
    """The first link on a page to Slack's authorize page (an "Add to Slack" button), if any."""
    links = _Links()
    links.feed(html)
    return next((href for href in links.hrefs if urlsplit(href).path.endswith(AUTHORIZE_PATH)), None)


async def follow_install(
    installs: Installs,
    install_url: str,
    *,
    team: Team,
    user: str,
    approve: bool,
    redirect_url: str | None,
) -> InstallResult:
    """Open the app's install page, approve on Slack's authorize page, and land on the app's redirect URI.

    The browser keeps cookies (bolt checks its state cookie at the redirect), treating the install page's
    origin as secure as browsers treat localhost. The authorize page is played here, not fetched, wherever the
    link points (the emulator's `/oauth/v2/authorize` or slack.com's). `redirect_url` is the app's configured
    Redirect URL (None: any); a link that names no redirect_uri leads to it, else to the install page's origin
    with bolt's default path, /slack/oauth_redirect.
    """
    parts = urlsplit(install_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[origin])
    async with aiohttp.ClientSession(cookie_jar=jar) as browser:
        async with browser.get(install_url, allow_redirects=False) as page:
            moved = page.headers.get("Location") if 300 <= page.status < 400 else None
            link = moved or authorize_link(await page.text())
            status = page.status
        authorize_url = urljoin(install_url, link) if link is not None else ""
        if not urlsplit(authorize_url).path.endswith(AUTHORIZE_PATH):
            raise LookupError(f"{install_url} answered {status} without a link to Slack's authorize page")
        query = dict(parse_qsl(urlsplit(authorize_url).query, keep_blank_values=True))
        landing_url, code = installs.authorize(
            query,
            team=team,
            user=user,
            approve=approve,
            redirect_url=redirect_url,
            fallback=origin + DEFAULT_REDIRECT_PATH,
        )
        async with browser.get(landing_url, allow_redirects=False) as landing:
            body = await landing.text()
            result = InstallResult(
                status=landing.status,
                body=body,
                team_id=team.id,
                user=user,
                code=code or "",
                location=landing.headers.get("Location"),
                token=installs.token_for(code) if code else None,
            )
    return result


# -- helpers --------------------------------------------------------------------------------------------


def basic_credentials(header: str) -> tuple[str, str] | None:
    """The (client id, client secret) of an `Authorization: Basic ...` header, if it is one."""
    if not header.startswith("Basic "):
        return None
    try:
        decoded = base64.b64decode(header.removeprefix("Basic ").strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, colon, client_secret = decoded.partition(":")
    return (client_id, client_secret) if colon else None


def _with_query(url: str, params: dict[str, str]) -> str:
    return url + ("&" if urlsplit(url).query else "?") + urlencode(params)


def _union(scope: str, more: str) -> str:
    """Two comma-separated scope lists as one, in order, without repeats."""
    seen = [part for part in (*scope.split(","), *more.split(",")) if part]
    return ",".join(dict.fromkeys(seen))
