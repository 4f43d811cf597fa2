"""Reading lead CSVs: encodings, delimiters, headers and row normalisation (no database)."""

import pytest

from dialer_common.leads import (
    Lead,
    LeadImportError,
    Rejection,
    detect_encoding,
    map_columns,
    normalize_state,
    parse_leads,
    pick_timezone,
    read_lead_file,
)


def parsed(path):
    return list(parse_leads(read_lead_file(path)))


def test_comma_utf8_english_headers(write_csv):
    path = write_csv("phone,first_name,last_name,state\r\n(305) 555-0123,Ana,Smith,FL\r\n")
    lead_file = read_lead_file(path)
    assert lead_file.encoding == "utf-8"
    assert lead_file.delimiter == ","
    leads = parsed(path)
    assert leads == [
        Lead(
            row=2,
            phone_e164="+13055550123",
            first_name="Ana",
            last_name="Smith",
            state_code="FL",
            timezone="America/New_York",
        )
    ]


def test_semicolon_bom_spanish_headers(write_csv):
    text = (
        "\ufeffTeléfono;Nombre;Apellidos;Estado;Código Postal\r\n"
        "305.555.0124;José;Peña Núñez;Florida;33101\r\n"
    )
    path = write_csv(text)
    lead_file = read_lead_file(path)
    assert lead_file.encoding == "utf-8-sig"
    assert lead_file.delimiter == ";"
    assert lead_file.header[0] == "Teléfono"
    (lead,) = parsed(path)
    assert lead.phone_e164 == "+13055550124"
    assert lead.first_name == "José"
    assert lead.last_name == "Peña Núñez"
    assert lead.state_code == "FL"
    assert lead.postal_code == "33101"


def test_cp1252_spanish_excel(write_csv):
    text = "NÚMERO;nombre;apellido;estado\r\n2125550100;María;Ibáñez;Nueva York\r\n"
    path = write_csv(text, encoding="cp1252")
    lead_file = read_lead_file(path)
    assert lead_file.encoding == "cp1252"
    (lead,) = parsed(path)
    assert lead.first_name == "María"
    assert lead.last_name == "Ibáñez"
    assert lead.state_code == "NY"


def test_tab_delimited(write_csv):
    path = write_csv("celular\tnombre\tzip\n3105550101\tLuis\t90001\n")
    assert read_lead_file(path).delimiter == "\t"
    (lead,) = parsed(path)
    assert lead.phone_e164 == "+13105550101"
    assert lead.timezone == "America/Los_Angeles"
    assert lead.postal_code == "90001"


def test_embedded_newlines_keep_row_numbers(write_csv):
    text = 'telefono,nombre,notas\r\n3055550101,Ana,"línea uno\r\nlínea dos"\r\n\r\n555-01,Beto,\r\n'
    items = parsed(write_csv(text))
    assert isinstance(items[0], Lead)
    assert items[0].extra == {"notas": "línea uno línea dos"}
    assert isinstance(items[1], Rejection)
    # Spreadsheet rows: the header is row 1, the quoted newline stays in
    # row 2 and the blank line is row 3.
    assert items[1].row == 4
    assert len(items) == 2


def test_unknown_columns_go_to_extra(write_csv):
    path = write_csv("phone,Saldo,Fecha de vencimiento,Empty\n3055550101,1.234,2024-12-01,\n")
    (lead,) = parsed(path)
    assert lead.extra == {"Saldo": "1.234", "Fecha de vencimiento": "2024-12-01"}


def test_header_after_blank_lines(write_csv):
    path = write_csv("\n\nphone;nombre\n3055550101;Ana\n")
    lead_file = read_lead_file(path)
    assert lead_file.header_row == 3
    (lead,) = parsed(path)
    assert lead.row == 4


def test_no_phone_column_names_columns(write_csv):
    path = write_csv("nombre,email\nAna,ana@example.com\n")
    with pytest.raises(LeadImportError) as caught:
        read_lead_file(path)
    message = str(caught.value)
    assert "no phone column" in message
    assert "'nombre', 'email'" in message
    assert "telefono" in message


def test_missing_file_is_named(tmp_path):
    with pytest.raises(LeadImportError, match="file not found: .*missing.csv"):
        read_lead_file(tmp_path / "missing.csv")


def test_empty_file_rejected(write_csv):
    with pytest.raises(LeadImportError, match="is empty"):
        read_lead_file(write_csv("\r\n\r\n"))


def test_duplicate_names_first_row(write_csv):
    path = write_csv("phone\n(305) 555-0123\n+1 305 555 0123\n")
    first, second = parsed(path)
    assert isinstance(first, Lead)
    assert isinstance(second, Rejection)
    assert second.render() == (
        "row 3, column 'phone': duplicate of row 2: the phone number +13055550123 appears twice "
        "in the file; keep one of the rows"
    )


def test_bad_rows_get_reasons(write_csv):
    text = (
        "phone,state,timezone,name\n"
        "3.05556E+9,FL,,Ana\n"
        "305 555 0123,Floridda,,Beto\n"
        "305 555 0124,FL,Mars/Olympus,Carla\n"
        "305 555 0125,FL,,Dani,extra cell\n"
    )
    reasons = [item.render() for item in parsed(write_csv(text))]
    assert reasons[0].startswith("row 2, column 'phone': invalid phone number '3.05556E+9': Excel converted")
    assert reasons[1].startswith("row 3, column 'state': unknown state 'Floridda'")
    assert reasons[2].startswith("row 4, column 'timezone': unknown time zone 'Mars/Olympus'")
    assert reasons[3].startswith("row 5: the row has 5 fields but the header has 4")


def test_latam_state_kept_as_written(write_csv):
    (lead,) = parsed(write_csv("phone,estado\n+52 33 1234 5678,Jalisco\n"))
    assert lead.state_code == "Jalisco"
    assert lead.timezone == "America/Mexico_City"


def test_postal_code_excel_damage(write_csv):
    (lead,) = parsed(write_csv("phone,state,zip\n6175550100,MA,2134\n"))
    assert lead.postal_code == "02134"
    (lead,) = parsed(write_csv("phone,state,zip\n6175550100,MA,2134.0\n"))
    assert lead.postal_code == "02134"


def test_detect_encoding_cases():
    assert detect_encoding(b"\xef\xbb\xbfphone") == "utf-8-sig"
    assert detect_encoding("teléfono".encode()) == "utf-8"
    assert detect_encoding("teléfono".encode("cp1252")) == "cp1252"
    assert detect_encoding(b"tel\x81fono") == "latin-1"


def test_map_columns_aliases():
    header = ["ID", "Teléfono Celular", "Nombres", "Apellido(s)", "C.P.", "Estado", "Zona horaria", "Otro"]
    assert map_columns(header) == {
        "external_id": 0,
        "phone": 1,
        "first_name": 2,
        "last_name": 3,
        "postal_code": 4,
        "state": 5,
        "timezone": 6,
    }


def test_map_columns_first_phone_wins():
    assert map_columns(["celular", "phone"]) == {"phone": 0}


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("FL", "FL"),
        ("fl", "FL"),
        ("Florida", "FL"),
        ("Nueva York", "NY"),
        ("New York", "NY"),
        ("N.Y.", "NY"),
        ("Carolina del Norte", "NC"),
        ("Hawái", "HI"),
        ("Misisipi", "MS"),
        ("Washington DC", "DC"),
        ("Quebec", "QC"),
        ("Narnia", None),
    ],
)
def test_normalize_state_names(value, code):
    assert normalize_state(value) == code


def test_pick_timezone_state_and_number():
    assert pick_timezone("+16025550100", "AZ") == "America/Phoenix"
    assert pick_timezone("+13055550100", None) == "America/New_York"
    # The 915 area code is El Paso, on Mountain time.
    assert pick_timezone("+19155550100", "TX") == "America/Denver"
    assert pick_timezone("+12145550100", "TX") == "America/Chicago"
    # A number from another state keeps the state's main zone.
    assert pick_timezone("+12125550100", "FL") == "America/New_York"
    assert pick_timezone("+19075550100", None) is None
    assert pick_timezone("+19075550100", "AK") == "America/Anchorage"
