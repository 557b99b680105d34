"""Credentials out of sight: URLs and free text with passwords, tokens or keys masked before anything shows them.

Kept at the bottom of the house (no leadops imports, no heavy ones) so config, errors, the CLI, logs and the
warehouse layer all mask the same way: `postgresql://u:pw@h/db` -> `postgresql://u:***@h/db`, and query-string
secrets (`?password=...&sslpassword=...&token=...`) -> `***`.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
# query-string / conninfo keys whose value is a secret (matched case-insensitively, as a whole key or a suffix)
SECRET_KEYS = re.compile(
    r"^(password|passwd|pwd|pass|secret|token|api[_-]?key|apikey|access[_-]?key|secret[_-]?key|"
    r"sslpassword|auth|authorization|credentials?|.*_(password|secret|token|key))$",
    re.IGNORECASE,
)
# a URL with a scheme, inside any text (error messages, logs)
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>`]+")
# libpq key=value conninfo secrets inside text: password=xyz
_CONNINFO_SECRET = re.compile(r"\b(password|sslpassword)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def redact_url(url: str) -> str:
    """A URL fit for logs and errors: the password of `user:password@` and secret query values replaced."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _CONNINFO_SECRET.sub(lambda m: f"{m.group(1)}={MASK}", url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        if ":" in userinfo:
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:{MASK}@{host}"
        elif parts.scheme.startswith(("http", "databricks")) and userinfo:
            netloc = f"{MASK}@{host}"  # https://TOKEN@host: a token alone in the user part
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(SECRET_KEYS.match(k) for k, _ in pairs):
            query = urlencode([(k, MASK if SECRET_KEYS.match(k) else v) for k, v in pairs], safe="*/:,")
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def redact_text(text: str) -> str:
    """Every URL and libpq `password=` inside free text (an error message, a log line) masked."""
    masked = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
    return _CONNINFO_SECRET.sub(lambda m: f"{m.group(1)}={MASK}", masked)


def redact_data(value: Any) -> Any:
    """A copy of plain data (dicts, lists, strings) with every string passed through redact_text."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: redact_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v) for v in value]
    return value
