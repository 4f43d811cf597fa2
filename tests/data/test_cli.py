"""The dialer CLI run as a subprocess against the test database, in Spanish and English."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from dialer_common import db

ROOT = Path(__file__).resolve().parents[2]
DEMO_CSV = ROOT / "demo" / "leads_demo.csv"


@pytest.fixture
def run_cli(config):
    """Return a function that runs ``python -m dialer_common.cli`` with the test database."""

    def run(*args, stdin=None, env=None):
        environment = {
            key: value for key, value in os.environ.items() if not key.startswith(("DIALER_", "DEMO_"))
        }
        environment["DIALER_DATABASE_URL"] = config.database_url
        environment["PYTHONPATH"] = str(ROOT)
        environment.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "dialer_common.cli", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=environment,
            cwd=ROOT,
            timeout=60,
        )

    return run


def test_import_summary_spanish(run_cli, tenant, write_csv):
    path = write_csv("teléfono;nombre\r\n(305) 555-0101;José\r\n555-01;Ana\r\n")
    result = run_cli(
        "leads", "import", str(path), "--campaign", str(tenant["campaign_id"]), "--tenant", tenant["slug"]
    )

    assert result.returncode == 0, result.stderr
    assert "Filas leídas: 2" in result.stdout
    assert "Importados (nuevos): 1" in result.stdout
    assert "Rechazados: 1" in result.stdout
    assert f"Archivo de rechazos: {path.with_name('leads.rejects.csv')}" in result.stdout
    rejects = path.with_name("leads.rejects.csv").read_text(encoding="utf-8-sig")
    assert "fila;motivo" in rejects
    assert "fila 3, columna 'teléfono': número de teléfono no válido '555-01': demasiado corto" in rejects


def test_import_summary_english(run_cli, tenant, write_csv, tmp_path):
    path = write_csv("phone,name\n(305) 555-0101,Ann\n")
    rejects = tmp_path / "bad.csv"
    result = run_cli(
        "--lang",
        "en",
        "leads",
        "import",
        str(path),
        "--campaign",
        str(tenant["campaign_id"]),
        "--rejects",
        str(rejects),
        "--list-name",
        "first",
        "--no-progress",
    )

    assert result.returncode == 0, result.stderr
    assert "Rows read: 1" in result.stdout
    assert "Imported (new): 1" in result.stdout
    assert f"Rejects file: {rejects}" in result.stdout
    assert rejects.read_text(encoding="utf-8-sig").splitlines() == ["phone,name,row,reason"]
    # Progress goes to stderr only on a terminal.
    assert result.stderr == ""


def test_locale_from_environment(run_cli, tenant, write_csv):
    path = write_csv("phone\n(305) 555-0101\n")
    result = run_cli(
        "leads",
        "import",
        str(path),
        "--campaign",
        str(tenant["campaign_id"]),
        env={"DIALER_DEFAULT_LOCALE": "en"},
    )
    assert "Rows read: 1" in result.stdout


def test_import_missing_file_fails(run_cli, tenant, tmp_path):
    result = run_cli("leads", "import", str(tmp_path / "nada.csv"), "--campaign", str(tenant["campaign_id"]))
    assert result.returncode == 1
    assert f"dialer: error: no se encontró el archivo {tmp_path / 'nada.csv'}" in result.stderr


def test_import_no_phone_column_fails(run_cli, tenant, write_csv):
    path = write_csv("nombre,correo\nAna,ana@example.com\n")
    result = run_cli("--lang", "en", "leads", "import", str(path), "--campaign", str(tenant["campaign_id"]))
    assert result.returncode == 1
    assert "no phone column" in result.stderr
    assert "'nombre', 'correo'" in result.stderr
    assert "telefono" in result.stderr


def test_import_unknown_campaign_fails(run_cli, tenant, write_csv):
    path = write_csv("phone\n(305) 555-0101\n")
    result = run_cli("leads", "import", str(path), "--campaign", "987654", "--tenant", tenant["slug"])
    assert result.returncode == 1
    assert f"no se encontró la campaña 987654 en el cliente '{tenant['slug']}'" in result.stderr


def test_import_header_only_fails(run_cli, tenant, write_csv):
    path = write_csv("phone\n")
    result = run_cli("--lang", "en", "leads", "import", str(path), "--campaign", str(tenant["campaign_id"]))
    assert result.returncode == 1
    assert "no rows read" in result.stderr


def test_database_down_message(run_cli, tenant, write_csv):
    path = write_csv("phone\n(305) 555-0101\n")
    result = run_cli(
        "--lang",
        "en",
        "leads",
        "import",
        str(path),
        "--campaign",
        "1",
        env={"DIALER_DATABASE_URL": "postgresql://dialer:secreto@127.0.0.1:1/dialer"},
    )
    assert result.returncode == 1
    assert "cannot connect to the database at postgresql://dialer:***@127.0.0.1:1/dialer" in result.stderr
    assert "secreto" not in result.stderr


def test_usage_error_spanish(run_cli):
    result = run_cli("leads", "import")
    assert result.returncode == 2
    assert "faltan los argumentos obligatorios" in result.stderr


def test_db_migrate_up_to_date(run_cli):
    result = run_cli("--lang", "en", "db", "migrate")
    assert result.returncode == 0, result.stderr
    assert "The database is up to date." in result.stdout


def test_db_partitions_creates_days(run_cli, conn):
    result = run_cli("--lang", "en", "db", "partitions", "--days", "12")
    assert result.returncode == 0, result.stderr
    # The schema creates 9 days from yesterday, so 3 more are new.
    assert "attempts: 3 partitions created" in result.stdout
    assert "cdr: 3 partitions created" in result.stdout

    again = run_cli("--lang", "en", "db", "partitions", "--days", "12")
    assert "attempts: 0 partitions created" in again.stdout

    bad = run_cli("--lang", "en", "db", "partitions", "--days", "0")
    assert bad.returncode == 1
    assert "invalid --days 0" in bad.stderr


def count(conn, sql, *params):
    with db.transaction(conn) as cur:
        cur.execute(sql, params)
        return cur.fetchone()["n"]


def test_demo_seed_twice_and_import(run_cli, conn, tmp_path):
    first = run_cli("demo", "seed", env={"DEMO_EMAIL": "jefa@demo.example", "DEMO_PASSWORD": "Clave-Demo-1"})
    assert first.returncode == 0, first.stderr
    assert "Usuario jefa@demo.example: contraseña Clave-Demo-1" in first.stdout
    campaign_lines = [line for line in first.stdout.splitlines() if line.startswith("campaign_id=")]
    assert len(campaign_lines) == 1
    campaign_id = int(campaign_lines[0].split("=")[1])

    second = run_cli("--lang", "en", "demo", "seed", "--email", "jefa@demo.example")
    assert second.returncode == 0, second.stderr
    assert f"campaign_id={campaign_id}" in second.stdout
    assert "User jefa@demo.example: password unchanged; set DEMO_PASSWORD" in second.stdout

    tenant_id = count(conn, "SELECT id AS n FROM tenants WHERE slug = 'demo'")
    assert count(conn, "SELECT count(*) AS n FROM users WHERE tenant_id = %s", tenant_id) == 2
    assert count(conn, "SELECT count(*) AS n FROM campaigns WHERE tenant_id = %s", tenant_id) == 1
    assert (
        count(
            conn,
            "SELECT count(*) AS n FROM trunks WHERE tenant_id = %s AND gateway = 'carrier_demo'",
            tenant_id,
        )
        == 1
    )
    assert (
        count(
            conn,
            "SELECT count(*) AS n FROM dids WHERE tenant_id = %s AND number LIKE '+1305555015_'",
            tenant_id,
        )
        == 5
    )
    assert (
        count(
            conn,
            "SELECT count(*) AS n FROM agents WHERE tenant_id = %s AND campaign_id = %s"
            " AND status = 'Available'"
            " AND agent_type = 'uuid-standby' AND name ~ '^10[0-9][0-9]@default$'",
            tenant_id,
            campaign_id,
        )
        == 8
    )
    with db.transaction(conn) as cur:
        cur.execute("SELECT * FROM campaigns WHERE id = %s", (campaign_id,))
        campaign = cur.fetchone()
        cur.execute("SELECT password_hash FROM users WHERE email = 'jefa@demo.example'")
        password_hash = cur.fetchone()["password_hash"]
    assert campaign["name"] == "Cobranza Demo"
    assert campaign["status"] == "running"
    assert campaign["dial_mode"] == "progressive"
    assert campaign["queue_name"] == f"campaign-{campaign_id}@default"
    assert PasswordHasher().verify(password_hash, "Clave-Demo-1")

    rejects = tmp_path / "demo.rejects.csv"
    imported = run_cli(
        "--lang",
        "en",
        "leads",
        "import",
        str(DEMO_CSV),
        "--campaign",
        str(campaign_id),
        "--tenant",
        "demo",
        "--rejects",
        str(rejects),
    )
    assert imported.returncode == 0, imported.stderr
    assert "Imported (new): 1000" in imported.stdout
    assert "Rejected: 7" in imported.stdout
    with rejects.open(encoding="utf-8-sig", newline="") as rejects_file:
        rejected_ids = [row[0] for row in csv.reader(rejects_file, delimiter=";")][1:]
    assert rejected_ids == [f"CLI-9000{number}" for number in range(1, 8)]
    assert (
        count(conn, "SELECT count(DISTINCT timezone) AS n FROM leads WHERE campaign_id = %s", campaign_id)
        >= 7
    )
    assert (
        count(conn, "SELECT count(DISTINCT state_code) AS n FROM leads WHERE campaign_id = %s", campaign_id)
        >= 10
    )

    again = run_cli(
        "--lang",
        "en",
        "leads",
        "import",
        str(DEMO_CSV),
        "--campaign",
        str(campaign_id),
        "--rejects",
        str(rejects),
    )
    assert "Imported (new): 0" in again.stdout
    assert "Unchanged: 1000" in again.stdout
    assert count(conn, "SELECT count(*) AS n FROM leads WHERE campaign_id = %s", campaign_id) == 1000


def test_user_add_from_stdin(run_cli, conn, tenant):
    email = f"agente@{tenant['slug']}.example"
    result = run_cli(
        "--lang",
        "en",
        "user",
        "add",
        "--tenant",
        tenant["slug"],
        "--email",
        email,
        "--role",
        "agent",
        "--password-stdin",
        stdin="Agente-Clave-9\n",
    )
    assert result.returncode == 0, result.stderr
    assert f"User {email} added to tenant '{tenant['slug']}' as agent." in result.stdout
    with db.transaction(conn) as cur:
        cur.execute("SELECT * FROM users WHERE email = %s", (email,))
        user = cur.fetchone()
    assert user["tenant_id"] == tenant["id"]
    assert user["role"] == "agent"
    assert PasswordHasher().verify(user["password_hash"], "Agente-Clave-9")

    duplicate = run_cli(
        "user",
        "add",
        "--tenant",
        tenant["slug"],
        "--email",
        email.upper(),
        "--role",
        "agent",
        "--password-stdin",
        stdin="Agente-Clave-9\n",
    )
    assert duplicate.returncode == 1
    assert "ya existe" in duplicate.stderr


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            ["--tenant", "no-existe", "--email", "a@b.example", "--role", "agent"],
            "Clave-12345\n",
            "tenant 'no-existe' not found",
        ),
        (
            ["--tenant", "demo", "--email", "sin-arroba", "--role", "agent"],
            "Clave-12345\n",
            "invalid email 'sin-arroba'",
        ),
        (
            ["--tenant", "demo", "--email", "a@b.example", "--role", "agent"],
            "corta\n",
            "the password is too short",
        ),
    ],
)
def test_user_add_rejects_bad_input(run_cli, args, stdin, message):
    result = run_cli("--lang", "en", "user", "add", *args, "--password-stdin", stdin=stdin)
    assert result.returncode == 1
    assert message in result.stderr


def test_cdr_load_dispatches(run_cli, tmp_path):
    result = run_cli("--lang", "en", "cdr", "load", str(tmp_path))
    # dialer_common.cdr.loader belongs to the web tier; without it the CLI prints that it is missing.
    if "dialer_common.cdr.loader" in result.stderr:
        assert result.returncode == 1
        assert "is not installed" in result.stderr
    else:
        assert "Traceback" not in result.stderr
