"""Every e-mail the system sends links to a real web page: the demo's mails plus the ones this
test makes the system send (survey, training change, receipt reminder and discrepancies, alerts)
are rendered as in the outbox, and each link is followed in the web app — by a visitor (the
login page, or the signed approval link's own confirmation page) and by the addressee (the page)."""

from __future__ import annotations

import datetime as dt
import json
import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from dealercrm.application import shipping
from dealercrm.application.identity import CreateUser
from dealercrm.domain.identity import Principal
from dealercrm.domain.notifications import TEMPLATES, Channel
from dealercrm.entrypoints.demo import DEMO_PASSWORD

pytestmark = pytest.mark.slow
URL = re.compile(r"https?://[^\s，。；）)]+")
LINK_VARIABLE = re.compile(r"\{(\w*(?:url|link)\w*)\}")
#: links that leave our site on purpose: the video meeting a training runs in
EXTERNAL = {"training.meeting_ready"}
PUBLIC_PREFIXES = ("/api/v1/workflow-links/",)  # the signed token authenticates; GET only confirms


def _as(crm, username: str) -> Principal:
    return crm.identity.login(username, DEMO_PASSWORD).principal


def _send_the_mails_the_demo_does_not(crm, clock) -> None:
    marketing, dispatch, dealer = _as(crm, "marketing"), _as(crm, "dispatch"), _as(crm, "dealer09")
    crm.identity.create_user(_as(crm, "admin"), CreateUser("dispatch_mail", "调度·邮件", "dispatch", DEMO_PASSWORD,
                                                           email="dispatch@factory.example.cn"))
    survey = crm.care.create_survey(marketing, "2026年度经销商满意度调查", "请如实评价", [
        {"topic": "delivery", "kind": "score", "text": "交付是否准时？"},
        {"topic": "products", "kind": "text", "text": "其他建议", "required": False}], 3, None)
    crm.care.send_survey(marketing, survey, [9], None)
    campaign = next(c for c in crm.marketing.campaigns(marketing) if str(getattr(c["status"], "value", c["status"]))
                    in ("planned", "active"))
    assert crm.marketing.invite_targets(marketing, campaign["id"])["invited"] > 0
    training = crm.marketing.training(marketing, 1)
    crm.marketing.reschedule_training(marketing, 1, training["starts_at"] + dt.timedelta(days=1),
                                      training["ends_at"] + dt.timedelta(days=1))
    clock.now += dt.timedelta(days=6)  # the delivery of shipment 1 is overdue for its receipt
    crm.gate.remind_missing_receipts(dispatch)
    shipment = crm.gate.shipment(dealer, 1)
    crm.gate.submit_receipt(dealer, 1, shipping.SubmitReceipt(tuple(
        shipping.ReceiptLineIn(vin, "damaged" if i == 0 else "received", True, "护栏刮伤" if i == 0 else None)
        for i, vin in enumerate(shipment["vins"])), "王收货"))
    with crm.engine.connect() as conn:  # a pass handed to the dealer's own driver (自提), who drives out
        pass_id, vins, username = conn.execute(sa.text(
            "select p.id, p.vins, min(u.username) from gate_passes p join users u on u.dealer_id = p.dealer_id "
            "where p.status = 'handed_over' and u.role = 'dealer' group by p.id, p.vins order by p.id")).first()
        guard = conn.execute(sa.text("select min(username) from users where role = 'guard'")).scalar_one()
    vins = json.loads(vins) if isinstance(vins, str) else vins
    crm.gate.confirm_exit(_as(crm, guard), pass_id, None)
    crm.gate.submit_pickup_receipt(_as(crm, username), pass_id, shipping.SubmitReceipt(tuple(
        shipping.ReceiptLineIn(vin, "damaged" if i == 0 else "received", True, "后挡泥板变形" if i == 0 else None)
        for i, vin in enumerate(vins)), "李提车"))
    clock.now = dt.datetime(2027, 2, 10, 2, 0, tzinfo=dt.UTC)  # a week before order 15's delivery date:
    crm.engagement.run_scheduler_once(clock.now)  # the alert mails 华中's regional manager


def _addressees(engine) -> dict[str, str]:
    """E-mail address → the username who reads it (staff by their own address, a dealer's
    contacts by the dealer's login)."""
    with engine.connect() as conn:
        users = dict(conn.execute(sa.text("select email, username from users where email is not null")).all())
        dealers = conn.execute(sa.text(
            "select c.email, min(u.username) from dealer_contacts c join users u on u.dealer_id = c.dealer_id "
            "where c.email is not null and u.role = 'dealer' group by c.email")).all()
    return {**dict(dealers), **users}


def test_every_email_link_opens_the_page_it_names(crm, browser, clock):
    _send_the_mails_the_demo_does_not(crm, clock)
    engine = sa.create_engine(crm.settings.database_url)
    with engine.connect() as conn:
        mails = conn.execute(sa.text("select template_code, recipient, body from notification_outbox "
                                     "where channel = 'email'")).all()
    readers = _addressees(engine)
    engine.dispose()
    portal = urlsplit(crm.settings.portal_url)
    clients: dict[str | None, object] = {}
    seen: set[str] = set()
    checked: set[tuple[str, str]] = set()
    failures = []

    for code, recipient, body in mails:
        for url in URL.findall(body):
            parts = urlsplit(url)
            seen.add(code)
            if code in EXTERNAL and parts.netloc != portal.netloc:
                continue
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            reader = readers.get(recipient)
            if parts.netloc != portal.netloc or reader is None:
                failures.append((code, url, "not our site" if reader else f"no login reads {recipient}"))
                continue
            if (target, reader) in checked:
                continue
            checked.add((target, reader))
            for who in (None, reader):
                if who not in clients:
                    clients[who] = browser(who)
                r = clients[who].get(target, follow_redirects=False)
                if target.startswith(PUBLIC_PREFIXES):  # a used, expired or decided link says so, as a page
                    ok = r.status_code in (200, 409, 410) and r.headers["content-type"].startswith("text/html")
                elif who:
                    ok = r.status_code == 200
                else:
                    ok = r.status_code == 303 and r.headers["location"].startswith("/login")
                if not ok:
                    failures.append((code, target, who, r.status_code))

    linked = {t.code for t in TEMPLATES._templates.values()
              if t.channel is Channel.EMAIL and LINK_VARIABLE.search(t.subject + t.body)}
    # nothing enqueues approval.requested any more; task_assigned_portal is task_assigned without
    # the signed links (approval links turned off) and carries the same task_url, checked above
    never_sent = {"approval.requested", "workflow.task_assigned_portal"}
    assert sorted(set(failures), key=str) == []
    assert linked - never_sent - seen == set()
    assert len(checked) > 20
