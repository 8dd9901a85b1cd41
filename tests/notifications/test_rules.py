"""The pure parts: the SSRF guard, backoff, Retry-After, event patterns, secrets."""

from __future__ import annotations

import ipaddress
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsloop.core.config import Settings
from opsloop.core.errors import ConfigError, ValidationFailed
from opsloop.notifications import backoff, events, signing, targets
from opsloop.notifications.crypto import SecretBox, box_for

PUBLIC = "93.184.215.14"


def resolver(*addresses: str) -> targets.Resolver:
    return lambda _host: list(addresses)


@pytest.mark.parametrize(
    "address",
    ["169.254.169.254", "169.254.10.1", "fe80::1", "fd00:ec2::254", "100.100.100.200",
     "::ffff:169.254.169.254", "0.0.0.0"],
)  # fmt: skip
def test_link_local_and_metadata_addresses_are_always_refused(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert targets.address_refusal(ip, allow_private=True) is not None
    assert targets.address_refusal(ip, allow_private=False) is not None


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.0.5", "::1", "fd12::1"])
def test_loopback_and_private_addresses_only_when_allowed(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert targets.address_refusal(ip, allow_private=True) is None
    assert "private" in (targets.address_refusal(ip, allow_private=False) or "")


def test_public_addresses_pass() -> None:
    assert targets.address_refusal(ipaddress.ip_address(PUBLIC), allow_private=False) is None


def test_a_name_is_judged_by_every_address_it_resolves_to() -> None:
    assert (
        targets.host_refusal("hooks.example", allow_private=False, resolve=resolver(PUBLIC)) is None
    )
    mixed = resolver(PUBLIC, "169.254.169.254")
    problem = targets.host_refusal("hooks.example", allow_private=True, resolve=mixed)
    assert problem and "hooks.example resolves to" in problem
    assert targets.host_refusal(
        "metadata.google.internal", allow_private=True, resolve=resolver(PUBLIC)
    )


def test_webhook_urls() -> None:
    ok = targets.check_webhook_url(
        "https://hooks.example/x", allow_private=False, resolve=resolver(PUBLIC)
    )
    assert ok == "https://hooks.example/x"
    for bad, words in [
        ("ftp://hooks.example/x", "http"),
        ("https:///nohost", "no host"),
        ("http://hooks.example:99999/", "not a URL"),
        ("http://u:p@hooks.example/", "credentials"),
        ("http://169.254.169.254/latest/meta-data", "metadata"),
    ]:
        with pytest.raises(ValidationFailed) as caught:
            targets.check_webhook_url(bad, allow_private=True, resolve=resolver(PUBLIC))
        assert caught.value.field == "target" and words in caught.value.message


def test_apprise_urls_are_parsed_by_apprise_and_self_hosted_hosts_guarded() -> None:
    assert targets.apprise_host("slack://T1/B1/C1") is None  # a cloud service: tokens, no host
    assert (
        targets.apprise_host("mailtos://u:p@example.com?smtp=mail.example.com")
        == "mail.example.com"
    )
    assert targets.apprise_host("mmost://chat.example.com/token") == "chat.example.com"
    with pytest.raises(ValidationFailed, match="not a valid Apprise URL"):
        targets.check_apprise_url("bogus://x", allow_private=True)
    with pytest.raises(ValidationFailed, match="link-local"):
        targets.check_apprise_url("json://169.254.1.1/x", allow_private=True)
    assert targets.hint("slack://T1/B1/C1") == "slack://…"
    assert "secret" not in targets.hint("https://h.example/path?token=secret")


def test_full_jitter_stays_under_the_exponential_ceiling_and_the_cap() -> None:
    rand = random.Random(7)
    for attempts, ceiling in [(1, 10), (2, 20), (3, 40), (10, 300)]:
        values = [
            backoff.backoff_seconds(attempts, base=10, cap=300, rand=rand) for _ in range(200)
        ]
        assert min(values) >= 0 and max(values) <= ceiling
        assert max(values) > ceiling / 2  # spread over the range, not stuck at the bottom


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert backoff.retry_after("120", now, cap=3600) == timedelta(seconds=120)
    assert backoff.retry_after("Mon, 02 Nov 2026 09:05:00 GMT", now, cap=3600) == timedelta(
        minutes=5
    )
    assert backoff.retry_after("99999", now, cap=600) == timedelta(seconds=600)
    assert backoff.retry_after("soon", now, cap=600) is None
    assert backoff.retry_after(None, now, cap=600) is None


def test_event_patterns() -> None:
    assert events.matches("*", "slo.alert.firing")
    assert events.matches("slo.*", "slo.alert.firing")
    assert not events.matches("slo.alert.*", "slo.policy.changed")
    assert events.check_patterns(["slo.*", "slo.*", "notification.test"]) == [
        "slo.*",
        "notification.test",
    ]
    with pytest.raises(ValidationFailed, match=r"unknown event type 'drill\.started'") as caught:
        events.check_patterns(["drill.started"])
    assert caught.value.field == "events"
    events.register_event_types({"drill.started": "a game day began"})
    assert events.check_patterns(["drill.*"]) == ["drill.*"]
    with pytest.raises(ValueError):
        events.register_event_types({"Bad Name": "x"})


def test_webhook_secrets() -> None:
    secret = signing.new_secret()
    assert secret.startswith("whsec_") and signing.check_secret(secret) == secret
    for bad in ["nope", "whsec_!!!", "whsec_" + "QUFB"]:  # the last one holds 3 bytes
        with pytest.raises(ValidationFailed) as caught:
            signing.check_secret(bad)
        assert caught.value.field == "secret"


def test_secrets_are_sealed_with_the_configured_key(tmp_path: Path) -> None:
    box = SecretBox(b"k" * 40)
    sealed = box.seal("slack://T1/B1/C1")
    assert "T1" not in sealed and box.open(sealed) == "slack://T1/B1/C1"
    with pytest.raises(ConfigError):
        SecretBox(b"other" * 10).open(sealed)
    made = box_for(Settings(data_dir=tmp_path))
    assert (tmp_path / "notification.key").stat().st_mode & 0o777 == 0o600
    assert box_for(Settings(data_dir=tmp_path)).open(made.seal("x")) == "x"
    with pytest.raises(ConfigError, match="at least 32"):
        box_for(Settings(data_dir=tmp_path, notification_key="short"))
