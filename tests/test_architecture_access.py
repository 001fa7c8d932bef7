"""The access control contracts catch what they exist for: PyJWT outside the
JWT adapter, and the JWT adapter leaning on another adapter."""

import pytest

from test_architecture import test_a_violation_is_caught as caught

VIOLATIONS = [
    ("src/tim/entrypoints/http/auth.py", "import jwt"),
    ("src/tim/adapters/jwt/authenticator.py", "import tim.adapters.memory.tokens"),
]


@pytest.mark.parametrize("path, line", VIOLATIONS, ids=[f"{p}: {l}" for p, l in VIOLATIONS])
def test_an_access_control_violation_is_caught(tmp_path, path, line):
    caught(tmp_path, path, line)
