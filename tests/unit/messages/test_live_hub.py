"""The worker's live hub: one event per post, fanned out to the worker's own sockets with one
shared read (the message and the members' unread totals), nothing per socket; workbench events
reach the addressees' sockets only."""

from __future__ import annotations

import asyncio
import datetime as dt

from dealercrm.adapters.live import LIVE_CHANNEL, LiveRelay
from dealercrm.application.ports.messages import MessageRow
from dealercrm.application.services.messages import Announced
from dealercrm.domain.identity import Principal, Role
from dealercrm.domain.messages import ConversationKind
from dealercrm.entrypoints.web.live import LiveHub

AT = dt.datetime(2027, 1, 4, 2, 0, tzinfo=dt.UTC)


class CountingMessages:
    """The one method the hub calls, counting its reads."""

    def __init__(self) -> None:
        self.reads: list[tuple[int, list[int]]] = []

    def announced(self, message_id: int, readers: list[int]) -> Announced:
        self.reads.append((message_id, list(readers)))
        row = MessageRow(message_id, 7, 1, "wang", "您好", (), AT, None, None, ())
        return Announced(row, ConversationKind.GROUP, {u: 3 for u in readers if u != 1})


def test_a_post_is_one_event_and_each_worker_reads_it_once_for_all_its_members_sockets():
    relay, relayed = LiveRelay(), []
    relay.connect(lambda channels, event: relayed.append((channels, event)))
    relay.publish([1, 2, 3, 2], {"type": "message", "change": "posted", "message_id": 11})

    async def deliver() -> tuple[list[tuple[int, list[int]]], list, list]:
        hub, messages = LiveHub(), CountingMessages()
        inboxes = [hub.join(Principal(u, f"u{u}", Role.SALES)) for u in (2, 2, 3, 9)]
        hub.dispatch(messages, dict(relayed[0][1]))
        got = []
        for inbox in inboxes[:3]:
            event, read = await inbox.get()
            got.append((event["message_id"], (await read).announced.unread))
        idle_worker, idle_messages = LiveHub(), CountingMessages()
        idle_worker.join(Principal(9, "u9", Role.SALES))
        idle_worker.dispatch(idle_messages, dict(relayed[0][1]))
        return messages.reads, got, idle_messages.reads

    reads, got, idle_reads = asyncio.run(deliver())

    assert relayed == [([LIVE_CHANNEL], {"type": "message", "change": "posted", "message_id": 11,
                                         "user_ids": [1, 2, 3]})]
    assert reads == [(11, [2, 3])]  # one read for the three sockets here, members 2 and 3
    assert got == [(11, {2: 3, 3: 3})] * 3
    assert idle_reads == []  # no member's socket on that worker: nothing read


def test_a_workbench_event_reaches_the_addressees_sockets_only():
    relay, relayed = LiveRelay(), []
    relay.connect(lambda channels, event: relayed.append(event))
    relay.workbench_changed([("role", "finance"), ("dealer", "5"), ("role", "finance")])

    async def deliver() -> list[bool]:
        hub = LiveHub()
        finance = hub.join(Principal(1, "fin", Role.FINANCE))
        dealer = hub.join(Principal(2, "d5", Role.DEALER, dealer_id=5))
        other = hub.join(Principal(3, "d6", Role.DEALER, dealer_id=6))
        hub.dispatch(CountingMessages(), dict(relayed[0]))
        return [len(box) == 1 for box in (finance, dealer, other)]

    assert relayed == [{"type": "workbench", "audience": [["dealer", "5"], ["role", "finance"]]}]
    assert asyncio.run(deliver()) == [True, True, False]
