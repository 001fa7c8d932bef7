"""The composition root: configuration in, adapters out."""

import stat

import pytest

from tim.entrypoints.bootstrap import SECRET_FILE, Config, ConfigError, build_manager, redacted


def test_passwords_never_reach_messages():
    assert redacted("postgresql://tim:s3cret@db.internal:5432/tim") == "postgresql://tim:***@db.internal:5432/tim"
    assert redacted("postgresql://tim@db/tim") == "postgresql://tim@db/tim"
    with pytest.raises(ConfigError) as error:
        build_manager(Config(database_url="mysql://tim:s3cret@db/tim"))
    assert "s3cret" not in str(error.value) and "***" in str(error.value)


def test_the_kept_signing_secret_is_private_and_kept(tmp_path):
    config = Config(blobstore_url=f"file://{tmp_path}/files", data_dir=str(tmp_path))
    urls = []
    for _ in range(2):  # a restart signs with the same secret
        manager = build_manager(config)
        urls.append(manager.ports.blobs.upload_url("0" * 32, 1, 1_900_000_000))
        manager.close()
    assert urls[0] == urls[1]
    secret = tmp_path / SECRET_FILE
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert set(tmp_path.iterdir()) == {tmp_path / "files", secret}  # no temporary left behind
