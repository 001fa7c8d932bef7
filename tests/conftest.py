import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import backends
from searchable import searchable

pytest_plugins = [f"backends.{name}" for name in backends.NAMES]

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# A small real CT slice shipped inside pydicom's wheel, so the tests need
# nothing outside the repository and no network.
SAMPLE_DICOM = "CT_small.dcm"

settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", parent=settings.get_profile("default"), max_examples=200)
settings.load_profile("ci" if IN_CI else "default")


def unavailable(reason: str):
    """Skip a test whose real service is missing, except in CI, where that is a failure."""
    if IN_CI:
        pytest.fail(f"{reason} (CI must provide it)", pytrace=False)
    pytest.skip(reason)


def pytest_generate_tests(metafunc):
    for kind in ("repositories", "blob_stores", "tim_served_blob_stores", "token_stores"):
        if kind in metafunc.fixturenames:
            metafunc.parametrize(kind, backends.offering(kind), indirect=True, scope="session")


@pytest.fixture(scope="session")
def repositories(request):
    """A factory of fresh repositories of one kind (parametrised over all),
    each with a search index of its own (see searchable.Searchable)."""
    fresh = request.getfixturevalue(f"{request.param}_repositories")
    return lambda: searchable(fresh)


@pytest.fixture(scope="session")
def blob_stores(request):
    """A factory of fresh blob stores of one kind (parametrised over all)."""
    return request.getfixturevalue(f"{request.param}_blob_stores")


@pytest.fixture(scope="session")
def tim_served_blob_stores(request):
    """Like blob_stores, for the stores whose signed URLs tim serves itself."""
    return request.getfixturevalue(f"{request.param}_blob_stores")


@pytest.fixture(scope="session")
def token_stores(request):
    """A factory of fresh API token repositories of one kind (parametrised over all)."""
    return request.getfixturevalue(f"{request.param}_token_stores")


@pytest.fixture
def repository(repositories):
    with repositories() as repository:
        yield repository


@pytest.fixture
def blob_store(blob_stores):
    with blob_stores() as store:
        yield store


@pytest.fixture(scope="session")
def sample_dicom() -> Path:
    from pydicom.data import get_testdata_file

    found = get_testdata_file(SAMPLE_DICOM, download=False)  # None unless the wheel bundles it
    assert found is not None, f"pydicom no longer ships {SAMPLE_DICOM}"
    return Path(found)
