"""One contract for every API token repository (memory is the reference)."""

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tim.domain.model.access import (
    ApiToken,
    Scope,
    StoredToken,
    TokenNameTaken,
    new_token_secret,
    token_digest,
)
from tim.domain.model.images import MAX_PRINCIPAL_LENGTH

# Printable names as principals may be: no control characters or surrogates.
names = st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=MAX_PRINCIPAL_LENGTH)


def stored(name="ci", scope=Scope.WRITE, created=1_700_000_000):
    return StoredToken(ApiToken(name, scope, created), token_digest(new_token_secret()))


@pytest.fixture
def tokens(token_stores):
    with token_stores() as repository:
        yield repository


def test_a_token_round_trips_and_is_found_by_digest(tokens):
    token = stored("ßcanner ünïcode", Scope.ADMIN)
    tokens.add_token(token)
    found = tokens.find_token(token.digest)
    assert found == token and isinstance(found.digest, bytes)
    assert tokens.find_token(token_digest(new_token_secret())) is None
    assert tokens.find_token(b"") is None


def test_names_are_unique_and_case_sensitive(tokens):
    first = stored("ci")
    tokens.add_token(first)
    with pytest.raises(TokenNameTaken) as taken:
        tokens.add_token(stored("ci", Scope.READ))
    assert taken.value.name == "ci"
    tokens.add_token(stored("CI"))
    assert [t.token.name for t in tokens.list_tokens()] == ["CI", "ci"]
    assert tokens.find_token(first.digest) == first  # the refused one changed nothing


def test_tokens_are_listed_by_name_in_code_point_order(tokens):
    for name in ["zeta", "Alpha", "émile", "beta", "Ωmega", "_ops"]:
        tokens.add_token(stored(name))
    assert [t.token.name for t in tokens.list_tokens()] == sorted(["zeta", "Alpha", "émile", "beta", "Ωmega", "_ops"])


def test_revoking_removes_exactly_that_token(tokens):
    kept, revoked = stored("kept"), stored("revoked")
    tokens.add_token(kept)
    tokens.add_token(revoked)
    assert tokens.delete_token("revoked") is True
    assert tokens.delete_token("revoked") is False
    assert tokens.delete_token("nobody") is False
    assert tokens.find_token(revoked.digest) is None
    assert tokens.find_token(kept.digest) == kept
    # The name is free again, for a new secret.
    again = stored("revoked", Scope.READ)
    tokens.add_token(again)
    assert tokens.find_token(again.digest) == again


def test_racing_creators_of_one_name_get_one_token(tokens):
    outcomes = []
    start = threading.Barrier(4)

    def create():
        token = stored("race")
        start.wait()
        try:
            tokens.add_token(token)
            outcomes.append(token)
        except TokenNameTaken:
            outcomes.append(None)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    [winner] = [token for token in outcomes if token is not None]
    assert tokens.list_tokens() == [winner]


@settings(max_examples=25)
@given(name=names, scope=st.sampled_from(Scope))
def test_any_valid_name_and_scope_round_trip(token_stores, name, scope):
    with token_stores() as tokens:
        token = stored(name, scope)
        tokens.add_token(token)
        assert tokens.list_tokens() == [token]
        assert tokens.find_token(token.digest) == token
