"""The demo catalog: the demo SLOs' services get owners, tiers and links on a first start."""

from __future__ import annotations

from opsloop.cli import DEMO_SEEDERS
from opsloop.core.db import Database
from opsloop.services import service as catalog


def test_demo_data_gives_every_demo_service_an_owner_and_a_tier(db: Database) -> None:
    with db.write() as session:
        for seed in DEMO_SEEDERS:
            seed(session)
    with db.read() as session:
        facts = catalog.routing_facts(session, ["checkout", "search", "billing"])
        checkout = catalog.get_service(session, name="checkout")
    assert {name: (f.owner_team, f.tier) for name, f in facts.items()} == {
        "checkout": ("commerce", 1),
        "search": ("discovery", 2),
        "billing": ("commerce", 3),
    }
    assert [link.name for link in checkout.links] == ["repository", "dashboard", "runbook"]
