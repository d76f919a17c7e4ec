"""The pass QR: signed claims a device verifies offline; forged, expired and unknown-key tokens
refused; the ID number neither in the token nor guessable from it without the server's key."""

import base64
import datetime as dt
import json

import pytest

from dealercrm.adapters.gate_keys import ensure_signing_key, load_gate_keys
from dealercrm.adapters.signing import Ed25519PassSigner
from dealercrm.application.gate import IdDigester, gate_pass_claims
from dealercrm.application.ports.signing import PassExpired, PassForged, PassMalformed, PassNotYetValid
from dealercrm.domain.gate import GatePass
from dealercrm.domain.printing import document_from_wire, document_to_wire, layout_gate_pass
from dealercrm.domain.values import ChineseIdNumber, Vin

T0 = dt.datetime(2026, 3, 1, 1, 0, tzinfo=dt.UTC)
ID = ChineseIdNumber("110105199003071239")
VINS = [Vin.build("LZZ", "1CLVB", "T", "A", f"{n:06d}").value for n in (1, 2)]
THIRD = Vin.build("LZZ", "1CLVB", "T", "A", "000003").value


def a_pass(digester: IdDigester, pass_no: str = "GP-2026-000001") -> GatePass:
    return GatePass(pass_no=pass_no, authorization_id=1, dealer_id=7, contract_no="HT-1", vins=VINS,
                    person_name="张伟", id_digest=digester.lookup(ID), id_masked=ID.masked, id_verified_via="desk",
                    id_verified_at=T0, valid_from=T0, valid_to=T0 + dt.timedelta(hours=8), created_at=T0,
                    created_by="dispatch")


@pytest.fixture
def keys():
    return load_gate_keys()


def test_a_device_verifies_the_pass_offline_with_the_public_key(keys):
    digester = IdDigester(keys.id_key)
    token = keys.signer.sign(gate_pass_claims(a_pass(digester), digester))

    claims = keys.verifier.verify(token, T0 + dt.timedelta(hours=1))

    assert claims["pass_no"] == "GP-2026-000001" and claims["vins"] == VINS
    assert claims["kid"] == keys.signer.kid == keys.public_keys[0]["kid"]
    assert claims["id_hmac"] == digester.for_pass("GP-2026-000001", digester.lookup(ID))


def test_the_token_does_not_reveal_the_id_number_nor_allow_guessing_it_without_the_key(keys):
    digester = IdDigester(keys.id_key)
    token = keys.signer.sign(gate_pass_claims(a_pass(digester), digester))
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))

    other_server = IdDigester(b"another-server-secret-key-0123456789")

    assert ID.value not in token and ID.value not in json.dumps(payload)
    assert payload["id_hmac"] != other_server.for_pass("GP-2026-000001", other_server.lookup(ID))
    # two passes of the same person are not linkable by their QR codes
    second = gate_pass_claims(a_pass(digester, "GP-2026-000002"), digester)
    assert second["id_hmac"] != payload["id_hmac"]


def test_tampered_foreign_malformed_expired_and_early_tokens_are_refused_with_the_reason(keys):
    digester = IdDigester(keys.id_key)
    token = keys.signer.sign(gate_pass_claims(a_pass(digester), digester))
    body, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=="))
    claims["vins"] = VINS + [THIRD]
    tampered = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode() + "." + signature
    foreign = Ed25519PassSigner.generate().sign(gate_pass_claims(a_pass(digester), digester))

    with pytest.raises(PassForged):
        keys.verifier.verify(tampered, T0)
    with pytest.raises(PassForged):
        keys.verifier.verify(foreign, T0)
    with pytest.raises(PassMalformed):
        keys.verifier.verify("not-a-token", T0)
    with pytest.raises(PassExpired):
        keys.verifier.verify(token, T0 + dt.timedelta(hours=9))
    with pytest.raises(PassNotYetValid):
        keys.verifier.verify(token, T0 - dt.timedelta(hours=1))


def test_keys_come_from_a_pem_file_and_old_public_keys_stay_trusted_after_rotation(tmp_path):
    old_path = ensure_signing_key(tmp_path / "old.pem")
    old = load_gate_keys(str(old_path), id_hash_key="a-fixed-id-hash-secret-0123")
    digester = IdDigester(old.id_key)
    old_token = old.signer.sign(gate_pass_claims(a_pass(digester), digester))
    new_path = ensure_signing_key(tmp_path / "new.pem")

    rotated = load_gate_keys(str(new_path), (str(tmp_path / "old.pem.pub"),), "a-fixed-id-hash-secret-0123")

    assert rotated.verifier.verify(old_token, T0)["pass_no"] == "GP-2026-000001"
    assert [k["current"] for k in rotated.public_keys] == [True, False]
    assert rotated.id_key == old.id_key  # an explicit ID secret survives the rotation
    assert load_gate_keys(str(old_path)).signer.kid == old.signer.kid  # the same file, the same key
    assert (tmp_path / "old.pem").stat().st_mode & 0o077 == 0


def test_the_print_layout_travels_to_the_kiosk_and_back_unchanged():
    doc = layout_gate_pass("GP-2026-000001", "张伟", VINS, T0, T0 + dt.timedelta(hours=8), "tok.sig", T0)

    wire = json.loads(json.dumps(document_to_wire(doc), ensure_ascii=False))

    assert document_from_wire(wire) == doc
    assert wire["text"][0] == "出门证"
