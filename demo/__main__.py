"""``make demo``: the seed campaign of docs/domain.md played through all five services.

It talks to the system only as its users do: REST with role tokens (minted as the company's
identity provider would, with the development secret) and Standard-Webhooks-signed metric
batches. Without DEMO_BASE_URL it starts the whole system itself on a throw-away embedded
database, plus a local webhook receiver for alert notifications.
"""

from __future__ import annotations

import asyncio
import sys
import time

from demo.harness import Receiver, Stuck, free_port, say, serving, system
from demo.story import play


def main() -> int:
    """Run the story once (a new plan every time)."""
    started = time.monotonic()
    receiver = Receiver()
    receiver_port = free_port()
    with serving(receiver, receiver_port), system() as base:
        try:
            asyncio.run(play(base, f"http://127.0.0.1:{receiver_port}/hook", receiver))
        except Stuck as exc:
            say(f"The demo stopped: {exc}")
            return 1
    say(f"({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
