"""After a crash (issue 14): outbox rows claimed by a process that is gone go back to pending at
once, never those of a process that still runs or of another machine; and a send's outcome is
written ahead of other SQLite writers. (The SIGKILL test in test_scale_processes.py runs the
whole service.)"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime

from bot.core.dispatcher import Dispatcher
from bot.core.liveness import Liveness, ProcessIdentity
from intake.types import Reply
from storage import Store
from storage.models import OUTBOX_INFLIGHT, OUTBOX_PENDING
from storage.turns import WriteTurns

IDENTITY = "from bot.core.liveness import Liveness; print(Liveness().identity, flush=True)"


def other_process() -> tuple[subprocess.Popen[str], str]:
    """A running Python process and the identity it gives itself."""
    proc = subprocess.Popen(
        [sys.executable, "-c", IDENTITY + "; import time; time.sleep(60)"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def test_a_process_is_gone_once_it_ends_and_only_on_this_machine() -> None:
    here = Liveness()
    proc, identity = other_process()
    try:
        assert identity and identity != here.identity
        assert not here.gone(identity) and not here.gone(here.identity)
        parsed = ProcessIdentity.parse(identity)
        assert parsed is not None and parsed.pid == proc.pid
        reused = ProcessIdentity(parsed.machine, parsed.pid, parsed.started + "1")
        assert here.gone(str(reused))  # the same pid, started another time: another process
        elsewhere = ProcessIdentity("another-machine.4026531836", parsed.pid + 1, "1")
        assert not here.gone(str(elsewhere))  # cannot be judged from here
        assert not here.gone("not an identity")
    finally:
        proc.kill()
        proc.wait()
    assert here.gone(identity)


async def test_rows_of_a_killed_process_are_handed_back_at_once(store: Store) -> None:
    now = datetime.now(UTC)
    async with store.unit_of_work() as uow:
        for chat in ("1", "2", "3"):
            await uow.outbox.add(f"telegram:{chat}", "telegram", chat, Reply("halo").to_dict(), now)
    proc, dead = other_process()
    live = Liveness().identity
    dead_rows = await store.claim_outbox(now, 60, 2, owner=dead)
    live_rows = await store.claim_outbox(now, 60, 1, owner=live)
    assert len(dead_rows) == 2 and len(live_rows) == 1
    dispatcher = Dispatcher(store, {})
    assert await dispatcher.recover() == 0  # it still runs: its rows stay with it
    proc.kill()
    proc.wait()
    assert await dispatcher.recover() == 2
    async with store.unit_of_work() as uow:
        rows = {row.chat_id: await uow.outbox.get(row.id or 0) for row in dead_rows + live_rows}
    assert {chat: row.status for chat, row in rows.items() if row} == {
        dead_rows[0].chat_id: OUTBOX_PENDING,
        dead_rows[1].chat_id: OUTBOX_PENDING,
        live_rows[0].chat_id: OUTBOX_INFLIGHT,
    }
    again = await store.claim_outbox(now, 60, 5, owner=live)  # due again at once
    assert sorted(r.chat_id for r in again) == sorted(r.chat_id for r in dead_rows)


async def test_an_urgent_writer_goes_ahead_of_those_waiting() -> None:
    turns = WriteTurns()
    order: list[str] = []

    async def write(name: str, *, urgent: bool = False) -> None:
        await turns.acquire(urgent=urgent)
        order.append(name)
        await asyncio.sleep(0.01)
        turns.release()

    await turns.acquire()  # someone is writing
    waiting = [asyncio.create_task(write(f"inbound {i}")) for i in range(3)]
    await asyncio.sleep(0.01)
    gives_up = asyncio.create_task(write("timed out"))
    await asyncio.sleep(0.01)
    gives_up.cancel()
    outcome = asyncio.create_task(write("sent", urgent=True))
    await asyncio.sleep(0.01)
    turns.release()
    await asyncio.gather(*waiting, outcome)
    assert order == ["sent", "inbound 0", "inbound 1", "inbound 2"]
    await turns.acquire()  # free again
    turns.release()
