"""``dialer cdr load``: files from mod_json_cdr's err-log-dir."""

from __future__ import annotations

import uuid

from dialer_common.cdr import loader
from tests.web.cdr_samples import FIXTURES, for_tenant, read_request


def _write_cdr(folder, tenant_id: int, call_uuid: str, variant: str = "raw") -> None:
    request = read_request(FIXTURES / "cdr_http" / variant / "originate_answer_hangup.http")
    body = for_tenant(request, tenant_id, uuid=call_uuid)
    (folder / f"{call_uuid}.cdr.json").write_bytes(body + b"\n")


def test_loader_stores_and_moves(tmp_path, conn, tenant, config, monkeypatch, capsys):
    monkeypatch.setenv("DIALER_DATABASE_URL", config.database_url)
    stored = str(uuid.uuid4())
    encoded = str(uuid.uuid4())
    _write_cdr(tmp_path, tenant["id"], stored)
    _write_cdr(tmp_path, tenant["id"], encoded, variant="encoded")
    (tmp_path / "broken.cdr.json").write_text('{"variables": {"uuid": ', encoding="utf-8")

    status = loader.main([str(tmp_path)])

    assert status == 2
    assert "stored=2 duplicate=0 rejected=1" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "loaded").iterdir()) == sorted(
        [f"{stored}.cdr.json", f"{encoded}.cdr.json"]
    )
    assert (tmp_path / "rejected" / "broken.cdr.json").exists()
    reason = (tmp_path / "rejected" / "broken.cdr.json.reason.txt").read_text()
    assert reason.startswith("malformed:")
    assert list(tmp_path.glob("*.cdr.json")) == []
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) AS n FROM cdr WHERE call_uuid IN (%s, %s)", (stored, encoded))
        assert cur.fetchone()["n"] == 2


def test_loader_second_run_counts_duplicates(tmp_path, tenant, config, monkeypatch, capsys):
    monkeypatch.setenv("DIALER_DATABASE_URL", config.database_url)
    call_uuid = str(uuid.uuid4())
    _write_cdr(tmp_path, tenant["id"], call_uuid)
    assert loader.main([str(tmp_path)]) == 0
    _write_cdr(tmp_path, tenant["id"], call_uuid)

    status = loader.main([str(tmp_path)])

    assert status == 0
    assert capsys.readouterr().out.splitlines()[-1] == "stored=0 duplicate=1 rejected=0"


def test_loader_missing_folder_fails(tmp_path, capsys):
    status = loader.main([str(tmp_path / "absent")])

    assert status == 1
    assert "is not a folder" in capsys.readouterr().err


def test_loader_sets_aside_rows_the_database_rejects(tmp_path, conn, tenant, config, monkeypatch, capsys):
    """A file PostgreSQL rejects goes to rejected/ with the reason; the files after it still load."""
    monkeypatch.setenv("DIALER_DATABASE_URL", config.database_url)
    first, poisoned, last = (str(uuid.UUID(int=n)) for n in (1, 2, 3))
    for call_uuid in (first, poisoned, last):
        _write_cdr(tmp_path, tenant["id"], call_uuid)
    (tmp_path / "folder.cdr.json").mkdir()
    with conn.cursor() as cur:
        cur.execute(f"""
            CREATE FUNCTION test_reject_one() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.call_uuid = '{poisoned}' THEN
                    RAISE EXCEPTION 'value out of range for this test';
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER test_reject_one BEFORE INSERT ON cdr FOR EACH ROW EXECUTE FUNCTION test_reject_one();
        """)
    conn.commit()
    try:
        status = loader.main([str(tmp_path)])
    finally:
        with conn.cursor() as cur:
            cur.execute("DROP TRIGGER test_reject_one ON cdr; DROP FUNCTION test_reject_one();")
        conn.commit()

    assert status == 2
    assert capsys.readouterr().out.splitlines()[0] == "stored=2 duplicate=0 rejected=1"
    reason = (tmp_path / "rejected" / f"{poisoned}.cdr.json.reason.txt").read_text()
    assert reason.startswith("database_rejected: value out of range for this test")
    assert sorted(p.name for p in (tmp_path / "loaded").iterdir()) == [f"{first}.cdr.json", f"{last}.cdr.json"]
    assert (tmp_path / "folder.cdr.json").is_dir()


def test_loader_messages_in_spanish_through_the_cli(tmp_path, tenant, config, monkeypatch, capsys):
    from dialer_common.cli import main as dialer

    monkeypatch.setenv("DIALER_DATABASE_URL", config.database_url)
    _write_cdr(tmp_path, tenant["id"], str(uuid.uuid4()))

    status = dialer(["cdr", "load", str(tmp_path)])

    assert status == 0
    assert capsys.readouterr().out.splitlines()[-1] == "guardados=1 duplicados=0 rechazados=0"


def test_loader_reads_encoded_files_without_prefix(tmp_path, conn, tenant, config, monkeypatch, capsys):
    """With encode=true, mod_json_cdr writes the percent-encoded text without cdr= to err-log-dir."""
    monkeypatch.setenv("DIALER_DATABASE_URL", config.database_url)
    call_uuid = str(uuid.uuid4())
    request = read_request(FIXTURES / "cdr_http" / "encoded" / "originate_answer_hangup.http")
    body = for_tenant(request, tenant["id"], uuid=call_uuid)
    (tmp_path / f"{call_uuid}.cdr.json").write_bytes(body.removeprefix(b"cdr=") + b"\n")

    status = loader.main([str(tmp_path)])

    assert status == 0
    assert capsys.readouterr().out.splitlines()[-1] == "stored=1 duplicate=0 rejected=0"
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) AS n FROM cdr WHERE call_uuid = %s", (call_uuid,))
        assert cur.fetchone()["n"] == 1
