"""The churn soak: a fleet whose names change every round, polled by the fleet monitor.

Every round one new backend joins the emulator's fleet and the oldest newcomer leaves it. The
monitor (`create_app`, as `serve` runs it) polls the whole fleet each round. Judged by counts,
never by timing, so quick mode judges it too:

- polling requests per round stay at one list request (v0.4: every `BackendName` is listed;
  a newcomer's characterization is fetched once besides);
- the backends the monitor keeps (its page's rows) and the backends `/metrics` names stay at
  most the fleet's size plus the `GONE_AFTER_ROUNDS` rounds a leaver takes to be gone;
- every backend that left was said to be gone, once, in the history.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import tempfile
from pathlib import Path

import aiohttp
from aiohttp import web

from ionq_backends import IonQClient
from ionq_backends._constants import GONE_AFTER_ROUNDS
from ionq_backends.emulator import Emulator
from ionq_backends.service import MONITOR, create_app

from ._common import Figure

_BACKEND_LABEL = re.compile(r'backend="([^"]*)"')


async def churn(rounds: int) -> Figure:
    async with Emulator() as emulator:
        fleet = len(emulator.fleet)
        with tempfile.TemporaryDirectory(prefix="ionq-churn-") as tmp:
            app = create_app(
                client_factory=lambda: IonQClient(base_url=emulator.base_url, max_retries=0),
                db_path=Path(tmp) / "history.sqlite3",
                interval=0.02,  # a round every 20 ms: SQLite keeps up, nothing is dropped
                jitter=0.0,
            )
            monitor = app[MONITOR]
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
            most_kept = most_named = most_requests = 0
            try:
                async with aiohttp.ClientSession() as http:
                    await monitor.wait_rounds(1)
                    for i in range(rounds):
                        emulator.set_backend(f"qpu.churn-{i}", qubits=8)
                        if i >= 1:
                            emulator.remove_backend(f"qpu.churn-{i - 1}")
                        before, done = len(emulator.requests), monitor.state.rounds
                        await monitor.wait_rounds(done + 1)
                        polls = [r for r in list(emulator.requests)[before:]
                                 if "characterizations" not in r.path]  # fmt: skip
                        most_requests = max(most_requests, len(polls))
                        most_kept = max(most_kept, len(monitor.state.views))
                        async with http.get(url + "metrics") as response:
                            named = set(_BACKEND_LABEL.findall(await response.text()))
                        most_named = max(most_named, len(named))
                    await monitor.history.flush()
            finally:
                await runner.cleanup()
            with contextlib.closing(sqlite3.connect(Path(tmp) / "history.sqlite3")) as db:
                gone = db.execute("SELECT count(*) FROM events WHERE kind = 'gone' AND "
                                  "backend LIKE 'qpu.churn-%'").fetchone()[0]  # fmt: skip
    bound = fleet + 1 + GONE_AFTER_ROUNDS
    left = rounds - 1 - GONE_AFTER_ROUNDS  # those that had time to be gone
    # A round may see two list requests when the next starts before this one is counted.
    ok = most_kept <= bound and most_named <= bound and most_requests <= 2 and gone >= left
    return Figure(
        "churn",
        float(most_kept),
        "backends kept at most",
        f"<= {bound} (fleet + {GONE_AFTER_ROUNDS} + 1)",
        ok,
        f"{rounds} rounds, a backend joining and one leaving each: at most {most_kept} kept, "
        f"{most_named} named in /metrics, {most_requests} requests a round; {gone} gone events "
        f"for the {left} leavers old enough",
        timed=False,
    )


def main() -> None:  # python -m benchmarks.churn: the figure alone
    figure = asyncio.run(churn(200))
    print(figure.name, figure.value, figure.budget, figure.ok, figure.detail)


if __name__ == "__main__":
    main()
