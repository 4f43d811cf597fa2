"""Lead import into PostgreSQL: upsert, re-import, rejects file, lead list counts."""

import csv

import pytest

from dialer_common import db
from dialer_common.leads import LeadImportError, import_leads

CSV_TEXT = (
    "\ufeffid;Teléfono;Nombre;Apellidos;Estado;Saldo\r\n"
    "A1;(305) 555-0101;José;Peña;Florida;100\r\n"
    "A2;212.555.0102;María;Núñez;NY;200\r\n"
    "A3;555-01;Luis;Muñoz;TX;300\r\n"
    "A4;+1 305 555 0101;José;Peña;FL;100\r\n"
    "A5;3.05556E+9;Ana;Ibáñez;CA;400\r\n"
    "\r\n"
    "A6;6025550103;Sofía;Gómez;Arizona;500\r\n"
)


def count_leads(conn, campaign_id):
    with db.transaction(conn) as cur:
        cur.execute("SELECT count(*) AS n FROM leads WHERE campaign_id = %s", (campaign_id,))
        return cur.fetchone()["n"]


def test_import_counts_and_rows(conn, tenant, write_csv):
    path = write_csv(CSV_TEXT)
    result = import_leads(conn, path, tenant["campaign_id"], tenant["slug"])

    assert result.encoding == "utf-8-sig"
    assert result.delimiter == ";"
    assert result.rows_read == 6
    assert result.inserted == 3
    assert result.updated == 0
    assert result.rejected == 3
    assert count_leads(conn, tenant["campaign_id"]) == 3

    with db.transaction(conn) as cur:
        cur.execute(
            "SELECT * FROM leads WHERE campaign_id = %s AND phone_e164 = '+16025550103'",
            (tenant["campaign_id"],),
        )
        lead = cur.fetchone()
    assert lead["tenant_id"] == tenant["id"]
    assert lead["external_id"] == "A6"
    assert lead["first_name"] == "Sofía"
    assert lead["state_code"] == "AZ"
    assert lead["timezone"] == "America/Phoenix"
    assert lead["extra"] == {"Saldo": "500"}
    assert lead["lead_list_id"] == result.lead_list_id


def test_import_writes_lead_list(conn, tenant, write_csv):
    result = import_leads(conn, write_csv(CSV_TEXT), tenant["campaign_id"], list_name="diciembre")
    with db.transaction(conn) as cur:
        cur.execute("SELECT * FROM lead_lists WHERE id = %s", (result.lead_list_id,))
        lead_list = cur.fetchone()
    assert lead_list["name"] == "diciembre"
    assert lead_list["tenant_id"] == tenant["id"]
    assert lead_list["rows_total"] == 6
    assert lead_list["rows_imported"] == 3
    assert lead_list["rows_rejected"] == 3
    assert lead_list["rows_inserted"] == 3
    assert lead_list["encoding"] == "utf-8-sig"
    assert lead_list["delimiter"] == ";"


def test_rejects_file_content(conn, tenant, write_csv):
    path = write_csv(CSV_TEXT, name="cartera.csv")
    result = import_leads(conn, path, tenant["campaign_id"])

    assert result.rejects_path == path.with_name("cartera.rejects.csv")
    raw = result.rejects_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in raw
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines(), delimiter=";"))
    assert rows[0] == ["id", "Teléfono", "Nombre", "Apellidos", "Estado", "Saldo", "row", "reason"]
    assert [row[0] for row in rows[1:]] == ["A3", "A4", "A5"]
    assert rows[1][:6] == ["A3", "555-01", "Luis", "Muñoz", "TX", "300"]
    assert rows[1][6] == "4"
    assert rows[1][7].startswith("row 4, column 'Teléfono': invalid phone number '555-01': too short")
    assert rows[2][7].startswith("row 5, column 'Teléfono': duplicate of row 2")
    assert "scientific notation" in rows[3][7]


def test_rejects_translated(conn, tenant, write_csv, tmp_path):
    target = tmp_path / "out" / "rechazos.csv"
    target.parent.mkdir()
    spanish = {
        "row": "fila",
        "reason": "motivo",
        "row {row}, column '{column}': {reason}": "fila {row}: {reason}",
    }
    result = import_leads(
        conn,
        write_csv(CSV_TEXT),
        tenant["campaign_id"],
        rejects_path=target,
        gettext=lambda message: spanish.get(message, message),
    )
    assert result.rejects_path == target
    rows = list(csv.reader(target.read_text(encoding="utf-8-sig").splitlines(), delimiter=";"))
    assert rows[0][-2:] == ["fila", "motivo"]
    assert rows[1][-1].startswith("fila 4: invalid phone number")


def test_reimport_is_idempotent(conn, tenant, write_csv):
    path = write_csv(CSV_TEXT)
    import_leads(conn, path, tenant["campaign_id"])
    before = count_leads(conn, tenant["campaign_id"])

    again = import_leads(conn, path, tenant["campaign_id"])

    assert count_leads(conn, tenant["campaign_id"]) == before
    assert again.inserted == 0
    assert again.updated == 0
    assert again.unchanged == 3


def test_reimport_keeps_dialed_state(conn, tenant, write_csv):
    import_leads(conn, write_csv(CSV_TEXT), tenant["campaign_id"])
    with db.transaction(conn) as cur:
        cur.execute(
            "UPDATE leads SET status = 'done', attempts_count = 2, last_attempt_at = now()"
            " WHERE campaign_id = %s AND phone_e164 = '+13055550101' RETURNING id, lead_list_id",
            (tenant["campaign_id"],),
        )
        dialed = cur.fetchone()

    changed = CSV_TEXT.replace(
        "A1;(305) 555-0101;José;Peña;Florida;100", "A1;(305) 555-0101;José Luis;Peña;FL;150"
    )
    result = import_leads(conn, write_csv(changed, name="v2.csv"), tenant["campaign_id"])

    assert result.updated == 1
    assert result.unchanged == 2
    with db.transaction(conn) as cur:
        cur.execute("SELECT * FROM leads WHERE id = %s", (dialed["id"],))
        lead = cur.fetchone()
    assert lead["status"] == "done"
    assert lead["attempts_count"] == 2
    assert lead["last_attempt_at"] is not None
    assert lead["first_name"] == "José Luis"
    assert lead["extra"] == {"Saldo": "150"}
    assert lead["lead_list_id"] == dialed["lead_list_id"]


def test_import_in_small_batches(conn, tenant, write_csv):
    lines = ["phone,nombre"] + [f"(305) 555-01{index:02d},Cliente {index}" for index in range(50)]
    progress = []
    result = import_leads(
        conn, write_csv("\n".join(lines)), tenant["campaign_id"], batch_size=7, progress=progress.append
    )
    assert result.inserted == 50
    assert count_leads(conn, tenant["campaign_id"]) == 50
    assert progress[-1] == 50
    assert progress == sorted(progress)


def test_unknown_campaign_rejected(conn, tenant, write_csv):
    with pytest.raises(LeadImportError, match=f"campaign 999999 not found in tenant '{tenant['slug']}'"):
        import_leads(conn, write_csv(CSV_TEXT), 999999, tenant["slug"])


def test_campaign_of_other_tenant_rejected(conn, tenant, write_csv):
    with pytest.raises(LeadImportError, match="not found in tenant 'otro'"):
        import_leads(conn, write_csv(CSV_TEXT), tenant["campaign_id"], "otro")
    assert count_leads(conn, tenant["campaign_id"]) == 0


def test_import_marks_do_not_call_leads(conn, tenant, write_csv):
    from dialer_common.compliance import dnc

    dnc.add_numbers(conn, tenant["id"], ["+12125550102"], "pidió no ser llamada", "test")
    result = import_leads(conn, write_csv(CSV_TEXT), tenant["campaign_id"], tenant["slug"])

    assert result.inserted == 3
    assert result.do_not_call == 1
    with db.transaction(conn) as cur:
        cur.execute(
            "SELECT phone_e164, status FROM leads WHERE campaign_id = %s ORDER BY phone_e164",
            (tenant["campaign_id"],),
        )
        statuses = {row["phone_e164"]: row["status"] for row in cur.fetchall()}
    assert statuses["+12125550102"] == "dnc"
    assert statuses["+13055550101"] == "new"


def test_reimport_keeps_done_lead_on_dnc(conn, tenant, write_csv):
    from dialer_common.compliance import dnc

    import_leads(conn, write_csv(CSV_TEXT), tenant["campaign_id"], tenant["slug"])
    with db.transaction(conn) as cur:
        cur.execute(
            "UPDATE leads SET status = 'done', attempts_count = 1"
            " WHERE campaign_id = %s AND phone_e164 = '+13055550101'",
            (tenant["campaign_id"],),
        )
    dnc.add_numbers(conn, tenant["id"], ["+13055550101"], "pidió no ser llamado", "test")
    result = import_leads(conn, write_csv(CSV_TEXT), tenant["campaign_id"], tenant["slug"])

    assert result.do_not_call == 0
    with db.transaction(conn) as cur:
        cur.execute(
            "SELECT status, attempts_count FROM leads WHERE campaign_id = %s AND phone_e164 = '+13055550101'",
            (tenant["campaign_id"],),
        )
        lead = cur.fetchone()
    assert lead["status"] == "done"
    assert lead["attempts_count"] == 1


def test_import_rejects_nul_cell(conn, tenant, write_csv):
    path = write_csv("nombre,telefono\nA\x00B,3055550220\nCarla,3055550221\n")
    result = import_leads(conn, path, tenant["campaign_id"], tenant["slug"])

    assert result.inserted == 1
    assert result.rejected == 1
    rejects = result.rejects_path.read_text(encoding="utf-8-sig")
    assert "NUL" in rejects


def test_import_reports_unterminated_quote(conn, tenant, write_csv):
    path = write_csv('nombre,telefono\n"A,3055550217\nB,3055550218\n')
    with pytest.raises(LeadImportError) as raised:
        import_leads(conn, path, tenant["campaign_id"], tenant["slug"])

    assert "never closed" in str(raised.value)
    assert "row 2" in str(raised.value)
    assert count_leads(conn, tenant["campaign_id"]) == 0
