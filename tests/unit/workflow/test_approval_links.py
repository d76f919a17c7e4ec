"""Approval-link tokens: signed, expiring, bound to one step, user and decision."""

import datetime as dt

import pytest

from dealercrm.application.approval_links import (
    ApprovalLinkExpired,
    ApprovalLinkInvalid,
    ApprovalLinkSigner,
    ApprovalMail,
    derive_link_key,
)

NOW = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC)
SIGNER = ApprovalLinkSigner(b"0123456789abcdef-test-key")


def issue(**over):
    args = {"step_id": 7, "user_id": 3, "decision": "reject", "expires_at": NOW + dt.timedelta(hours=1)} | over
    return SIGNER.issue(**args)


def test_a_token_round_trips_its_claims():
    token, nonce = issue()

    claims = SIGNER.verify(token, NOW)

    assert (claims.step_id, claims.user_id, claims.decision, claims.nonce) == (7, 3, "reject", nonce)
    assert claims.expires_at == NOW + dt.timedelta(hours=1)


def test_every_token_has_its_own_nonce():
    assert issue()[1] != issue()[1]


def test_a_token_stops_working_at_its_expiry():
    token, _ = issue()

    with pytest.raises(ApprovalLinkExpired):
        SIGNER.verify(token, NOW + dt.timedelta(hours=1))


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
    lambda t: ("x" + t[1:]),
    lambda t: t.split(".")[0],
    lambda t: t + ".x",
    lambda t: "",
    lambda t: "é" * 10,
    lambda t: t * 10,
])
def test_a_mangled_token_is_invalid(mangle):
    token, _ = issue()

    with pytest.raises(ApprovalLinkInvalid):
        SIGNER.verify(mangle(token), NOW)


def test_a_token_signed_with_another_key_is_invalid_even_before_its_expiry_is_checked():
    other = ApprovalLinkSigner(b"another key of sixteen bytes+")
    token, _ = other.issue(step_id=7, user_id=3, decision="approve", expires_at=NOW - dt.timedelta(days=1))

    with pytest.raises(ApprovalLinkInvalid):
        SIGNER.verify(token, NOW)


def test_keys_are_long_enough_and_decisions_known():
    with pytest.raises(ValueError):
        ApprovalLinkSigner(b"short")
    with pytest.raises(ValueError):
        issue(decision="maybe")


def test_the_link_key_comes_from_its_setting_or_is_derived_from_the_jwt_secret():
    assert derive_link_key("configured", "jwt") == b"configured"
    assert derive_link_key("", "jwt-a") == derive_link_key("", "jwt-a") != derive_link_key("", "jwt-b")
    assert derive_link_key("", "jwt-a") != b"jwt-a"


def test_link_addresses_hang_off_the_portal():
    mail = ApprovalMail(portal_url="https://crm.example.cn/")

    assert mail.link_url("abc.def") == "https://crm.example.cn/api/v1/workflow-links/abc.def"
    assert mail.workflow_url(5) == "https://crm.example.cn/api/v1/workflows/5"
    assert mail.task_url(7, 5) == "https://crm.example.cn/tasks/7?workflow=5"
