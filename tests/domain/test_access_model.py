"""Scopes, principals and token values."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tim.domain.model.access import (
    InsufficientScope,
    Principal,
    Scope,
    looks_like_token_secret,
    new_token_secret,
    same_digest,
    token_digest,
)
from tim.domain.model.errors import InvalidInput
from tim.domain.model.images import parse_principal


def test_a_scope_includes_exactly_the_ones_below_it():
    assert [s.label for s in sorted(Scope)] == ["read", "write", "admin"]
    for scope in Scope:
        for other in Scope:
            assert scope.includes(other) == (other <= scope)


@pytest.mark.parametrize("text, scope", [("read", Scope.READ), (" Write ", Scope.WRITE), ("ADMIN", Scope.ADMIN)])
def test_scopes_parse_by_name(text, scope):
    assert Scope.parse(text) is scope


@pytest.mark.parametrize("value", ["", "readonly", "root", 2, None])
def test_other_scopes_are_invalid(value):
    with pytest.raises(InvalidInput) as error:
        Scope.parse(value)
    assert error.value.problems[0].field == "scope"


@pytest.mark.parametrize(
    "grants, scope",
    [
        (["read"], Scope.READ),
        (["openid", "tim:write"], Scope.WRITE),
        (["tim/read", "tim/admin"], Scope.ADMIN),  # the largest one named
        (["tim:read", "write"], Scope.WRITE),
        ([], None),
        (["Write", "orders/write", "timread", "tim:", "tim:root", "aws.cognito.signin.user.admin"], None),
    ],
)
def test_jwt_grants_name_scopes_exactly(grants, scope):
    assert Scope.granted_by(grants) == scope


def test_a_principal_needs_a_scope_that_includes_the_one_asked_for():
    Principal("ana", Scope.WRITE).require(Scope.READ)
    Principal("ana", Scope.WRITE).require(Scope.WRITE)
    with pytest.raises(InsufficientScope, match="'ana' has the write scope; this needs admin"):
        Principal("ana", Scope.WRITE).require(Scope.ADMIN)
    with pytest.raises(InsufficientScope, match="no tim scope"):
        Principal("bob", None).require(Scope.READ)


@pytest.mark.parametrize("name", ["", "x" * 256, "tab\there", "nul\0", "\ud800", "ana\u202eevil", "\u200b", 7, None])
def test_principal_names_follow_the_created_by_rule(name):
    with pytest.raises(InvalidInput):
        parse_principal(name, "name")


@given(st.text(st.characters(exclude_categories=("Cc", "Cf", "Cs")), min_size=1, max_size=255))
def test_every_printable_name_is_a_principal(name):
    # Kept exactly as issued: not normalized, not trimmed.
    assert parse_principal(name, "name") == name


def test_token_secrets_are_recognisable_random_and_hashed():
    secrets = {new_token_secret() for _ in range(100)}
    assert len(secrets) == 100
    for secret in secrets:
        assert secret.startswith("tim_") and len(secret) == 47 and looks_like_token_secret(secret)
        digest = token_digest(secret)
        assert len(digest) == 32 and secret.encode() not in digest
        assert same_digest(digest, token_digest(secret))
        assert not same_digest(digest, token_digest(new_token_secret()))


@pytest.mark.parametrize(
    "text",
    ["", "tim_", "tim_short", "TIM_" + "a" * 43, "tim_" + "a" * 42, "tim_" + "a" * 44, "tim_" + "é" * 43,
     "tim_" + "a" * 42 + " ", "tim_" + "a" * 42 + "\n", "xyz_" + "a" * 43, "tim_" + "a" * 42 + "+"],
)
def test_text_that_is_not_a_token_secret_is_told_apart_before_hashing(text):
    assert not looks_like_token_secret(text)
