"""Who is acting, as every audit trail (registry promotions, erasures) records it."""

from __future__ import annotations

import getpass
import os


def default_actor() -> str:
    """$LEADOPS_ACTOR, else the OS user, else the numeric uid: a cron job can name itself."""
    named = os.environ.get("LEADOPS_ACTOR", "").strip()
    if named:
        return named
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return f"uid:{os.getuid()}"
