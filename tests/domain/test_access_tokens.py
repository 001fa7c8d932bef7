"""The API token use cases, on the in-memory repository."""

import pytest

from tim.adapters.memory.clock import ManualClock
from tim.adapters.memory.tokens import MemoryTokenRepository
from tim.domain.model.access import ApiToken, Principal, Scope, TokenNameTaken, Unauthenticated
from tim.domain.model.errors import InvalidInput, NotFound
from tim.domain.use_cases.tokens import OpenAccess, TokenManager


@pytest.fixture
def repository():
    return MemoryTokenRepository()


@pytest.fixture
def tokens(repository):
    return TokenManager(tokens=repository, clock=ManualClock(1_700_000_000))


def test_a_new_token_authenticates_its_principal_with_its_scope(tokens):
    issued = tokens.create_token("categorizer", scope="write")
    assert issued.token == ApiToken("categorizer", Scope.WRITE, 1_700_000_000)
    assert tokens.authenticate(issued.secret) == Principal("categorizer", Scope.WRITE)


def test_only_the_hash_is_kept_and_listing_shows_no_secret(tokens, repository):
    issued = tokens.create_token("trainer", scope="read")
    [stored] = repository.list_tokens()
    assert issued.secret not in repr(stored) and issued.secret.encode() != stored.digest
    assert tokens.list_tokens() == [ApiToken("trainer", Scope.READ, 1_700_000_000)]
    assert issued.secret not in repr(tokens.list_tokens())


def test_revoked_tokens_stop_working_at_once(tokens):
    issued = tokens.create_token("ci", scope="admin")
    tokens.revoke_token("ci")
    with pytest.raises(Unauthenticated) as error:
        tokens.authenticate(issued.secret)
    assert error.value.credential_given
    with pytest.raises(NotFound):
        tokens.revoke_token("ci")
    assert tokens.list_tokens() == []


def test_a_name_in_use_is_refused_and_bad_input_is_invalid(tokens):
    tokens.create_token("ci", scope="write")
    with pytest.raises(TokenNameTaken):
        tokens.create_token("ci", scope="read")
    with pytest.raises(InvalidInput) as error:
        tokens.create_token("bad\nname", scope="read")
    assert error.value.problems[0].field == "name"
    with pytest.raises(InvalidInput) as error:
        tokens.create_token("ok", scope="superuser")
    assert error.value.problems[0].field == "scope"


@pytest.mark.parametrize("credential", [None, ""])
def test_no_credential_is_unauthenticated_without_blaming_a_token(tokens, credential):
    with pytest.raises(Unauthenticated) as error:
        tokens.authenticate(credential)
    assert not error.value.credential_given


def test_wrong_secrets_are_refused(tokens):
    issued = tokens.create_token("ci", scope="write")
    last = issued.secret[-1]
    for wrong in [
        issued.secret[:-1] + ("A" if last != "A" else "B"),
        issued.secret.upper(),
        issued.secret + "x",
        issued.secret[4:],
        "tim_" + "é" * 43,
        "not a token at all",
    ]:
        with pytest.raises(Unauthenticated):
            tokens.authenticate(wrong)


def test_open_access_makes_everyone_the_default_user_with_every_scope():
    access = OpenAccess.as_user("radiology")
    assert access.authenticate(None) == Principal("radiology", Scope.ADMIN)
    assert access.authenticate("anything at all") == Principal("radiology", Scope.ADMIN)
    with pytest.raises(InvalidInput):
        OpenAccess.as_user("")
