"""The composition root: configuration in, adapters out."""

import stat

import pytest

from tim.entrypoints import configuration
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


def test_settings_reach_worker_processes_unchanged(tmp_path):
    # `tim serve` hands its settings to uvicorn's workers as environment variables.
    settings = configuration.from_environment(
        {"TIM_DATA_DIR": str(tmp_path), "TIM_MAX_TAGS_PER_IMAGE": "7", "TIM_URL_EXPIRY_SECONDS": "60"}
    )
    assert settings.core.max_tags_per_image == 7
    assert configuration.from_environment(settings.environment()) == settings
    manager = build_manager(settings.core)
    try:
        assert manager.settings.max_tags_per_image == 7
    finally:
        manager.close()
