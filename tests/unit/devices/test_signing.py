from datetime import timedelta

import pytest

from dealercrm.adapters.signing import (
    Ed25519PassSigner,
    Ed25519PassVerifier,
    generate_key_files,
)
from dealercrm.application.ports.signing import (
    PassExpired,
    PassForged,
    PassMalformed,
    PassNotYetValid,
    gate_pass_claims,
    id_number_digest,
)


@pytest.fixture
def signer():
    return Ed25519PassSigner.generate()


@pytest.fixture
def claims(at):
    return gate_pass_claims("GP-20250307-0001", ["LFV2A21K8N3000001"], "110105199003071239",
                            at(8), at(18))


def test_signed_pass_verifies_with_only_the_public_key(signer, claims, at):
    token = signer.sign(claims)

    verified = Ed25519PassVerifier([signer.public_key]).verify(token, at(9))

    assert verified["pass_no"] == "GP-20250307-0001"
    assert verified["vins"] == ["LFV2A21K8N3000001"]
    assert verified["kid"] == signer.kid


def test_claims_carry_a_hash_of_the_id_number_never_the_number(signer, claims):
    token = signer.sign(claims)

    assert claims["id_sha256"] == id_number_digest("110105199003071239")
    assert len(claims["id_sha256"]) == 64
    assert "110105199003071239" not in str(claims)
    assert "110105199003071239" not in token


def test_validity_claims_are_aware_iso_8601(claims):
    assert claims["valid_from"] == "2025-03-07T08:00:00+08:00"
    assert claims["valid_to"] == "2025-03-07T18:00:00+08:00"


def test_token_is_two_base64url_parts(signer, claims):
    token = signer.sign(claims)

    payload, signature = token.split(".")
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    assert len(signature) == 86


def test_tampered_claims_are_forged(signer, claims, at):
    other = signer.sign(dict(claims, pass_no="GP-20250307-9999"))
    token = signer.sign(claims)
    forged = other.split(".")[0] + "." + token.split(".")[1]

    with pytest.raises(PassForged):
        Ed25519PassVerifier([signer.public_key]).verify(forged, at(9))


def test_pass_signed_by_an_untrusted_key_is_forged(signer, claims, at):
    intruder = Ed25519PassSigner.generate()

    with pytest.raises(PassForged) as caught:
        Ed25519PassVerifier([signer.public_key]).verify(intruder.sign(claims), at(9))

    assert caught.value.code == "gate_pass.forged"


def test_expired_pass_is_refused(signer, claims, at):
    with pytest.raises(PassExpired):
        signer.verifier().verify(signer.sign(claims), at(18, 1))


def test_pass_before_its_start_is_refused(signer, claims, at):
    with pytest.raises(PassNotYetValid):
        signer.verifier().verify(signer.sign(claims), at(7, 59))


def test_small_clock_drift_is_tolerated(signer, claims, at):
    verifier = signer.verifier(leeway=timedelta(seconds=30))

    verified = verifier.verify(signer.sign(claims), at(7, 59) + timedelta(seconds=40))

    assert verified["pass_no"] == "GP-20250307-0001"


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "!!!.???", "e30.AAAA", "x" * 5000])
def test_garbage_is_malformed(signer, token, at):
    with pytest.raises(PassMalformed):
        signer.verifier().verify(token, at(9))


def test_naive_validity_in_claims_is_malformed(signer, at):
    token = signer.sign({"pass_no": "X", "valid_from": "2025-03-07T08:00:00",
                         "valid_to": "2025-03-07T18:00:00+08:00"})

    with pytest.raises(PassMalformed):
        signer.verifier().verify(token, at(9))


def test_keys_round_trip_through_pem_files(tmp_path, claims, at):
    private, public = tmp_path / "gate.key", tmp_path / "gate.pub"
    generate_key_files(private, public)

    token = Ed25519PassSigner.from_pem_file(private).sign(claims)
    verified = Ed25519PassVerifier.from_pem_files(public).verify(token, at(9))

    assert verified["pass_no"] == "GP-20250307-0001"
    assert private.stat().st_mode & 0o077 == 0
    assert b"PRIVATE" not in public.read_bytes()


def test_verifier_accepts_any_of_several_trusted_keys(claims, at):
    old, new = Ed25519PassSigner.generate(), Ed25519PassSigner.generate()
    verifier = Ed25519PassVerifier([old.public_key, new.public_key])

    assert verifier.verify(old.sign(claims), at(9))["kid"] == old.kid
    assert verifier.verify(new.sign(claims), at(9))["kid"] == new.kid
