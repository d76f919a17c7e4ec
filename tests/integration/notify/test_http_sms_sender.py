import hashlib
import hmac

import httpx
import pytest

from dealercrm.adapters.notify.http_sms import HttpSmsSender
from dealercrm.application.ports.notify import PermanentDeliveryError, TransientDeliveryError

TEXT = "出门证GP-001已审批通过：车辆LZZ1CLVB7GA123456，请凭出门证二维码出厂。"
PHONE = "13800138000"


@pytest.fixture
def make_sender(sms_gateway):
    senders = []

    def make(*, secret: str | None = None, timeout: float = 5.0, url: str | None = None) -> HttpSmsSender:
        sender = HttpSmsSender(url or sms_gateway.url, sms_gateway.access_key,
                               secret or sms_gateway.secret, "华东专用车", timeout)
        senders.append(sender)
        return sender

    yield make
    for s in senders:
        s.close()


def test_a_signed_sms_reaches_the_gateway_with_all_fields(sms_gateway, make_sender):
    sender = make_sender()

    sender.send(PHONE, TEXT, idempotency_key="gate-pass:GP-001")

    [req] = sms_gateway.requests
    assert req.signature_ok
    assert req.payload["phone"] == PHONE
    assert req.payload["text"] == TEXT
    assert req.payload["sign_name"] == "华东专用车"
    assert req.payload["idempotency_key"] == "gate-pass:GP-001"
    assert req.payload["access_key"] == sms_gateway.access_key
    assert isinstance(req.payload["timestamp"], int)
    assert len(req.payload["nonce"]) >= 16
    assert req.headers["x-access-key"] == sms_gateway.access_key
    assert req.headers["idempotency-key"] == "gate-pass:GP-001"
    assert sms_gateway.delivered["gate-pass:GP-001"] == 1


def test_the_signature_covers_the_exact_body_bytes(sms_gateway, make_sender):
    sender = make_sender()

    body, headers = sender.build_request(PHONE, TEXT, idempotency_key="k")

    expected = hmac.new(sms_gateway.secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Signature"] == expected
    assert TEXT.encode("utf-8") in body


def test_every_request_has_a_fresh_nonce(sms_gateway, make_sender):
    sender = make_sender()

    sender.send(PHONE, TEXT, idempotency_key="a")
    sender.send(PHONE, TEXT, idempotency_key="b")

    nonces = {r.payload["nonce"] for r in sms_gateway.requests}
    assert len(nonces) == 2


def test_a_resend_with_the_same_key_is_deduplicated_by_the_gateway(sms_gateway, make_sender):
    sender = make_sender()

    sender.send(PHONE, TEXT, idempotency_key="same")
    sender.send(PHONE, TEXT, idempotency_key="same")

    assert len(sms_gateway.requests) == 2
    assert sms_gateway.delivered["same"] == 1


def test_a_bad_number_is_permanent_with_the_gateways_reason(sms_gateway, make_sender):
    sms_gateway.bad_numbers.add("13900000000")
    sender = make_sender()

    with pytest.raises(PermanentDeliveryError) as err:
        sender.send("13900000000", TEXT, idempotency_key="k")

    assert err.value.reason == "手机号码格式错误"
    assert err.value.provider_code == "isv.MOBILE_NUMBER_ILLEGAL"


def test_a_wrong_secret_is_refused_by_the_gateway_as_a_transient_configuration_error(sms_gateway,
                                                                                      make_sender):
    sender = make_sender(secret="not-the-secret")

    with pytest.raises(TransientDeliveryError) as err:
        sender.send(PHONE, TEXT, idempotency_key="k")

    assert err.value.code == "notify.sms_gateway_auth_failed"
    assert "签名校验失败" in err.value.message
    assert sms_gateway.delivered == {}


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_errors_and_throttling_are_transient(sms_gateway, make_sender, status):
    sms_gateway.script.append(status)
    sender = make_sender()

    with pytest.raises(TransientDeliveryError) as err:
        sender.send(PHONE, TEXT, idempotency_key="k")

    assert err.value.details["http_status"] == status


def test_a_gateway_that_does_not_answer_in_time_is_transient(sms_gateway, make_sender):
    sms_gateway.stall = 1.5
    sender = make_sender(timeout=0.2)

    with pytest.raises(TransientDeliveryError) as err:
        sender.send(PHONE, TEXT, idempotency_key="k")

    assert err.value.code == "notify.sms_gateway_timeout"


def test_a_gateway_that_is_down_is_transient(make_sender, unused_port):
    sender = make_sender(url=f"http://127.0.0.1:{unused_port}/sms/send")

    with pytest.raises(TransientDeliveryError) as err:
        sender.send(PHONE, TEXT, idempotency_key="k")

    assert err.value.code == "notify.sms_gateway_unavailable"


def test_a_caller_supplied_client_is_not_closed_by_the_sender(sms_gateway):
    with httpx.Client() as client:
        with HttpSmsSender(sms_gateway.url, sms_gateway.access_key, sms_gateway.secret, "签名",
                           client=client) as sender:
            sender.send(PHONE, TEXT, idempotency_key="k")

        assert not client.is_closed
