"""`patron org apply FILE`: the same service as the admin API, from YAML or JSON files."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from patron import errors
from patron.cli.main import app
from patron.db.driver import create_database
from patron.db.migrate import upgrade
from patron.orgs import repository
from patron.orgs.model import OrgId
from patron.orgs.passwords import md5_hex, verify_secret

DEMO = Path(__file__).parents[2] / "examples" / "demo-org.yaml"
runner = CliRunner()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A fresh, migrated SQLite database."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    return url


def apply(*args: str | Path) -> Any:
    return runner.invoke(app, ["org", "apply", *map(str, args)])


def stored(url: str, org: str) -> Any:
    """The org's configuration in the database of `url`."""

    async def read() -> Any:
        db = create_database(url)
        await db.open()
        try:
            async with db.transaction(write=False) as conn:
                return await repository.load_config(conn, OrgId(org))
        finally:
            await db.close()

    return asyncio.run(read())


def test_demo_org_is_applied_then_unchanged(db_url: str) -> None:
    first = apply(DEMO, "--database-url", db_url)
    assert first.exit_code == 0, first.output
    assert first.output.strip() == "org 'demo' created: config version 1"
    again = apply(DEMO, "--database-url", db_url)
    assert again.exit_code == 0, again.output
    assert again.output.strip() == "org 'demo' unchanged: config version 1"

    config = stored(db_url, "demo")
    assert config.name == "Demo Retail" and config.default_country == "IN"
    assert config.sources == {
        "INSTORE": (),
        "WECHAT": ("wc_main", "wc_promo"),
        "ECOMMERCE": (),
        "MOBILE_APP": ("app1",),
    }
    assert verify_secret(config.tills["demo.till"].password_hash, md5_hex("demo-pass-123"))
    assert verify_secret(config.oauth_clients["demo-backend"].secret_hash, "demo-secret-123456")
    assert list(config.extended_fields) == [
        "gender", "city", "dob", "anniversary", "nationality",
        "preferred_language", "children", "annual_income", "is_vip",
    ]  # fmt: skip
    assert list(config.custom_fields) == ["employee", "favourite_colour", "shoe_size"]
    users = config.console_users
    assert {login: u.role for login, u in users.items()} == {
        "demo.care": "editor",
        "demo.viewer": "viewer",
    }
    assert verify_secret(users["demo.care"].password_hash, "demo-care-123")
    assert verify_secret(users["demo.viewer"].password_hash, "demo-viewer-123")
    assert config.custom_fields["shoe_size"].data_type == "INTEGER"
    program = config.default_program
    assert program is not None and program.program_id == 1016 and program.name == "Demo Rewards"
    assert [t.name for t in program.tiers.values()] == ["Silver", "Gold", "Platinum"]


def test_a_changed_file_updates_the_org(db_url: str, tmp_path: Path) -> None:
    assert apply(DEMO, "--database-url", db_url).exit_code == 0
    data = yaml.safe_load(DEMO.read_text())
    data["name"] = "Demo Retail 2"
    changed = tmp_path / "demo.json"
    changed.write_text(json.dumps(data))
    result = apply(changed, "--database-url", db_url)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "org 'demo' updated: config version 2"
    assert stored(db_url, "demo").name == "Demo Retail 2"


def test_bad_file_prints_every_problem_and_exits_1(db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "orgCode: demo\n"
        "name: Bad\n"
        "defaultCountry: NO\n"  # YAML 1.1 reads this as false
        "tills:\n"
        "  - {code: 'a:b', password: short}\n"
        "programs:\n"
        "  - {programId: 1, name: P, tiers: [{number: 2, name: x}]}\n"
    )
    result = apply(bad, "--database-url", db_url)
    assert result.exit_code == 1
    assert "4 problems" in result.output
    for path in (
        "defaultCountry",
        "tills[0].code",
        "tills[0].password",
        "programs[0].tiers[0].number",
    ):
        assert path in result.output
    assert f"[{errors.WRONG_TYPE.code}]" in result.output
    assert f"[{errors.INVALID_ORG_DOCUMENT.code}]" in result.output
    assert "quote" in result.output  # the YAML hint
    assert stored(db_url, "demo") is None


def test_org_code_comes_from_the_file_or_the_option(db_url: str, tmp_path: Path) -> None:
    data = yaml.safe_load(DEMO.read_text())
    del data["orgCode"]
    data["tills"][0]["code"] = "other.till"
    data["oauthClients"] = []
    nameless = tmp_path / "nameless.yaml"
    nameless.write_text(yaml.safe_dump(data))

    missing = apply(nameless, "--database-url", db_url)
    assert missing.exit_code == 1 and "--org" in missing.output
    assert apply(nameless, "--org", "other", "--database-url", db_url).exit_code == 0
    assert stored(db_url, "other") is not None

    disagree = apply(DEMO, "--org", "someone-else", "--database-url", db_url)
    assert disagree.exit_code == 1 and "differs" in disagree.output
    bad_code = apply(nameless, "--org", "Bad Code", "--database-url", db_url)
    assert bad_code.exit_code == 1 and "orgCode" in bad_code.output


def test_credential_of_another_org_is_refused(db_url: str, tmp_path: Path) -> None:
    assert apply(DEMO, "--database-url", db_url).exit_code == 0
    result = apply(DEMO, "--org", "demo", "--database-url", db_url)
    assert result.exit_code == 0  # the same org keeps its till
    data = yaml.safe_load(DEMO.read_text())
    data["orgCode"] = "copycat"
    copy = tmp_path / "copy.yaml"
    copy.write_text(yaml.safe_dump(data))
    refused = apply(copy, "--database-url", db_url)
    assert refused.exit_code == 1
    assert "tills[0].code" in refused.output and "oauthClients[0].key" in refused.output
    assert f"[{errors.CREDENTIAL_TAKEN.code}]" in refused.output


def test_unmigrated_or_missing_database_is_explained(tmp_path: Path) -> None:
    missing = apply(DEMO, "--database-url", f"sqlite:///{tmp_path / 'none.db'}")
    assert missing.exit_code == 1 and "patron migrate" in missing.output
    assert not (tmp_path / "none.db").exists()  # not created as a side effect
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    unmigrated = apply(DEMO, "--database-url", f"sqlite:///{empty}")
    assert unmigrated.exit_code == 1
    assert "no patron tables" in unmigrated.output and "patron migrate" in unmigrated.output


def test_unreadable_files_are_refused(db_url: str, tmp_path: Path) -> None:
    duplicate = tmp_path / "dup.yaml"
    duplicate.write_text("orgCode: a\nname: x\nname: y\n")
    result = apply(duplicate, "--database-url", db_url)
    assert result.exit_code == 1 and "repeated" in result.output
    listing = tmp_path / "list.json"
    listing.write_text("[1, 2]")
    result = apply(listing, "--database-url", db_url)
    assert result.exit_code == 1 and "mapping" in result.output
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": ')
    assert apply(broken, "--database-url", db_url).exit_code == 1
    assert apply(tmp_path / "absent.yaml", "--database-url", db_url).exit_code == 1
