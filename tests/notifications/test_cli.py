"""``opsloop notify`` as a real process, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from opsloop.core.db import Database
from opsloop.notifications.kinds import OutboxState
from opsloop.notifications.models import OutboxEntry
from tests.cli_run import assert_clean_failure, run


def notify(db: Database, tmp_path: Path, *args: str) -> Any:
    return run(
        db, "notify", *args, OPSLOOP_DATA_DIR=str(tmp_path),
        OPSLOOP_NOTIFICATIONS_ALLOW_PRIVATE_TARGETS="true",
    )  # fmt: skip


@pytest.mark.slow
def test_channels_subscriptions_and_the_outbox(db: Database, tmp_path: Path) -> None:
    added = notify(
        db, tmp_path, "channel", "add", "ops-hook", "--kind", "webhook",
        "--target", "http://127.0.0.1:9/in",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    secret = added.stdout.split("secret: ", 1)[1].strip()
    assert secret.startswith("whsec_")
    shown = notify(db, tmp_path, "channel", "show", "ops-hook")
    assert json.loads(shown.stdout)["secret"] == "********" and secret not in shown.stdout
    listed = notify(db, tmp_path, "channel", "list", "--json")
    assert [c["name"] for c in json.loads(listed.stdout)] == ["ops-hook"]
    subscribed = notify(db, tmp_path, "subscribe", "ops-hook", "-e", "slo.*", "--team", "payments")
    assert subscribed.returncode == 0, subscribed.stderr
    subs = json.loads(notify(db, tmp_path, "subscriptions", "--json").stdout)
    assert subs[0]["events"] == ["slo.*"] and subs[0]["team"] == "payments"
    assert notify(db, tmp_path, "channel", "test", "ops-hook").returncode == 0
    queued = json.loads(notify(db, tmp_path, "outbox", "--json").stdout)
    assert queued[0]["event_type"] == "notification.test" and queued[0]["state"] == "pending"
    early = notify(db, tmp_path, "resend", str(queued[0]["id"]))
    assert "only dead or delivered" in assert_clean_failure(early)
    with db.write(audited=False) as session:
        row = session.scalars(select(OutboxEntry)).one()
        row.state = OutboxState.dead
    dead = json.loads(notify(db, tmp_path, "outbox", "--state", "dead", "--json").stdout)
    assert len(dead) == 1
    assert notify(db, tmp_path, "resend", str(dead[0]["id"])).returncode == 0
    assert json.loads(notify(db, tmp_path, "outbox", "--state", "dead", "--json").stdout) == []
    rotated = notify(db, tmp_path, "channel", "rotate-secret", "ops-hook")
    assert rotated.returncode == 0 and rotated.stdout.startswith("secret: whsec_")
    assert notify(db, tmp_path, "unsubscribe", str(subs[0]["id"])).returncode == 0
    assert notify(db, tmp_path, "channel", "delete", "ops-hook").returncode == 0
    assert json.loads(notify(db, tmp_path, "channel", "list", "--json").stdout) == []


def test_bad_input_is_one_line_and_exit_2(db: Database, tmp_path: Path) -> None:
    bad_url = notify(
        db, tmp_path, "channel", "add", "x", "--kind", "webhook", "--target", "ftp://h/"
    )
    assert "http" in assert_clean_failure(bad_url)
    metadata = notify(
        db, tmp_path, "channel", "add", "x", "--kind", "webhook",
        "--target", "http://169.254.169.254/",
    )  # fmt: skip
    assert "metadata" in assert_clean_failure(metadata)
    scheme = notify(db, tmp_path, "channel", "add", "x", "--kind", "apprise", "--target", "zz://a")
    assert "Apprise" in assert_clean_failure(scheme)
    assert "no notification channel" in assert_clean_failure(
        notify(db, tmp_path, "subscribe", "nope", "-e", "*")
    )
    notify(
        db,
        tmp_path,
        "channel",
        "add",
        "hook",
        "--kind",
        "webhook",
        "--target",
        "http://127.0.0.1:9/",
    )
    unknown = notify(db, tmp_path, "subscribe", "hook", "-e", "slo.nothing")
    assert "unknown event type" in assert_clean_failure(unknown)


def test_config_show_masks_the_notification_key(tmp_path: Path) -> None:
    shown = run(
        None, "config", "show", OPSLOOP_NOTIFICATION_KEY="k" * 40, OPSLOOP_DATA_DIR=str(tmp_path)
    )
    assert "notification_key = ********" in shown.stdout and "kkkk" not in shown.stdout
