"""How ``serve`` and ``worker`` refuse to start on missing or unsafe settings."""

from __future__ import annotations

import sys

EXIT_CONFIG = 2


def refuse(problems: list[tuple[str, str]], hint: str) -> int:
    """Print why the command will not start, one setting a line, and the exit code for it."""
    print("拒绝启动 refusing to start — these settings are missing or unsafe:", file=sys.stderr)
    for where, why in problems:
        print(f"  {where}: {why}", file=sys.stderr)
    print(hint, file=sys.stderr)
    return EXIT_CONFIG


KEYS_HINT = ("Create them with `dealercrm keys init --dir /etc/dealercrm/keys` and set "
             "DEALERCRM_KEY_DIR=/etc/dealercrm/keys (or set each variable); "
             "`--demo` runs without them (tokens, sessions and gate passes then end with the process).")
