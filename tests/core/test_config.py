from __future__ import annotations

from pathlib import Path

import pytest

from opsloop.core.config import load_settings, mask_url_password
from opsloop.core.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("OPSLOOP_"):
            monkeypatch.delenv(key)


def test_defaults_put_sqlite_in_the_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OPSLOOP_DATA_DIR", str(tmp_path))
    settings = load_settings()
    assert settings.database_url == f"sqlite:///{tmp_path}/opsloop.db"
    assert settings.port == 8080 and settings.log_format == "text"


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSLOOP_PORT", "9000")
    monkeypatch.setenv("OPSLOOP_LOG_FORMAT", "json")
    monkeypatch.setenv("OPSLOOP_DATABASE_URL", "postgresql://u:pw@db:5432/ops")
    settings = load_settings()
    assert settings.port == 9000 and settings.log_format == "json"
    assert settings.database_url == "postgresql+psycopg://u:pw@db:5432/ops"


@pytest.mark.parametrize("suffix", [".yaml", ".toml"])
def test_config_file_below_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"opsloop{suffix}"
    if suffix == ".yaml":
        path.write_text("port: 7000\nlog_level: debug\n")
    else:
        path.write_text('port = 7000\nlog_level = "debug"\n')
    monkeypatch.setenv("OPSLOOP_CONFIG_FILE", str(path))
    monkeypatch.setenv("OPSLOOP_LOG_LEVEL", "error")
    settings = load_settings()
    assert settings.port == 7000
    assert settings.log_level == "error"


@pytest.mark.parametrize(
    ("key", "value", "name"),
    [
        ("OPSLOOP_PORT", "eighty", "OPSLOOP_PORT"),
        ("OPSLOOP_PORT", "70000", "OPSLOOP_PORT"),
        ("OPSLOOP_LOG_FORMAT", "xml", "OPSLOOP_LOG_FORMAT"),
        ("OPSLOOP_DATABASE_URL", "mysql://x", "OPSLOOP_DATABASE_URL"),
    ],
)
def test_invalid_setting_names_it_in_one_line(
    monkeypatch: pytest.MonkeyPatch, key: str, value: str, name: str
) -> None:
    monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert message.startswith(f"invalid setting {name}:")
    assert "\n" not in message


def test_unknown_key_in_config_file_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "opsloop.yaml"
    path.write_text("prot: 7000\n")
    monkeypatch.setenv("OPSLOOP_CONFIG_FILE", str(path))
    with pytest.raises(ConfigError, match="OPSLOOP_PROT"):
        load_settings()


def test_missing_config_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPSLOOP_CONFIG_FILE", str(tmp_path / "nope.yaml"))
    with pytest.raises(ConfigError, match="OPSLOOP_CONFIG_FILE"):
        load_settings()


def test_masked_settings_hide_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSLOOP_SECRET_KEY", "s3cret")
    monkeypatch.setenv("OPSLOOP_DATABASE_URL", "postgresql://ops:hunter2@db/ops")
    shown = load_settings().masked()
    assert shown["secret_key"] == "********"
    assert "hunter2" not in shown["database_url"]
    assert "s3cret" not in str(shown)


def test_mask_url_password_leaves_other_urls() -> None:
    assert mask_url_password("sqlite:///x.db") == "sqlite:///x.db"
    assert mask_url_password("postgresql://a:b@h/d") == "postgresql://a:********@h/d"
