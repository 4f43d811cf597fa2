"""Write demo/leads_demo.csv: 1,000 fictional leads plus a few bad rows.

The file looks like a Spanish-locale Excel export (UTF-8 with BOM, ';'
delimiter, CRLF, decimal comma) with numbers typed in mixed formats. Every
number is in the North American fictional range 555-0100..555-0199, spread
over area codes in several states and time zones. The random seed is fixed,
so running the script again writes the same bytes.

Usage: .venv/bin/python demo/make_leads.py [OUTPUT]
"""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

SEED = 20241201
LEADS = 1000
OUTPUT = Path(__file__).resolve().parent / "leads_demo.csv"

# Area code -> (state as written in the sheet, sample ZIP code). The state
# is spelled as people type it: two-letter code, English or Spanish name.
AREA_CODES = {
    "305": ("FL", "33130"),
    "786": ("Florida", "33125"),
    "954": ("FL", "33301"),
    "407": ("Florida", "32801"),
    "212": ("Nueva York", "10001"),
    "718": ("NY", "11201"),
    "917": ("New York", "10027"),
    "213": ("California", "90012"),
    "310": ("CA", "90401"),
    "415": ("CA", "94103"),
    "619": ("California", "92101"),
    "214": ("Texas", "75201"),
    "713": ("TX", "77002"),
    "915": ("TX", "79901"),
    "312": ("Illinois", "60601"),
    "773": ("IL", "60614"),
    "602": ("Arizona", "85004"),
    "520": ("AZ", "85701"),
    "808": ("Hawái", "96813"),
    "907": ("Alaska", "99501"),
    "303": ("Colorado", "80202"),
    "720": ("CO", "80205"),
    "617": ("Massachusetts", "02108"),
    "404": ("Georgia", "30303"),
    "206": ("Washington", "98101"),
    "702": ("Nevada", "89101"),
    "919": ("Carolina del Norte", "27601"),
}

FIRST_NAMES = (
    "José",
    "María",
    "Juan",
    "Ana",
    "Luis",
    "Carmen",
    "Jorge",
    "Lucía",
    "Andrés",
    "Sofía",
    "Raúl",
    "Inés",
    "Martín",
    "Begoña",
    "Ramón",
    "Verónica",
    "Óscar",
    "Mónica",
    "Álvaro",
    "Noemí",
    "Joaquín",
    "Elena",
    "Sebastián",
    "Paula",
    "Iñaki",
    "Rocío",
    "Tomás",
    "Ángela",
    "Germán",
    "Adrián",
)
LAST_NAMES = (
    "Peña",
    "Núñez",
    "Muñoz",
    "Ibáñez",
    "García",
    "Martínez",
    "López",
    "González",
    "Pérez",
    "Sánchez",
    "Gómez",
    "Díaz",
    "Hernández",
    "Jiménez",
    "Álvarez",
    "Fernández",
    "Rodríguez",
    "Ramírez",
    "Cortés",
    "Domínguez",
    "Vázquez",
    "Ortiz",
    "Castaño",
    "Rubio",
    "Morán",
    "Quiñones",
    "Zúñiga",
    "Beltrán",
)
NOTES = (
    "",
    "",
    "",
    "Llamar por la tarde",
    "Prefiere español",
    "Pagó parcial en noviembre",
    "Dejar mensaje\ncon la asistente",
    "Cliente desde 2019",
)


def typed(area: str, line: str, rng: random.Random) -> str:
    """Write a number in one of the formats people type in a spreadsheet."""
    formats = (
        f"({area}) 555-{line}",
        f"{area}.555.{line}",
        f"+1 {area} 555 {line}",
        f"1-{area}-555-{line}",
        f"{area}555{line}",
        f"{area}-555-{line}",
        f"{area}555{line}.0",
    )
    return rng.choices(formats, weights=(5, 2, 3, 2, 4, 3, 1))[0]


def good_rows(rng: random.Random) -> list[list[str]]:
    numbers = [(area, f"01{suffix:02d}") for area in AREA_CODES for suffix in range(100)]
    rows = []
    for index, (area, line) in enumerate(rng.sample(numbers, LEADS), start=1):
        state, zip_code = AREA_CODES[area]
        if rng.random() < 0.1:
            state = ""
        last_names = (
            f"{rng.choice(LAST_NAMES)} {rng.choice(LAST_NAMES)}"
            if rng.random() < 0.6
            else rng.choice(LAST_NAMES)
        )
        balance = f"{rng.randint(50, 9999)},{rng.randint(0, 99):02d}"
        rows.append(
            [
                f"CLI-{index:05d}",
                rng.choice(FIRST_NAMES),
                last_names,
                typed(area, line, rng),
                state,
                zip_code,
                balance,
                rng.choice(NOTES),
            ]
        )
    return rows


def bad_rows(first: list[str]) -> list[list[str]]:
    """Rows the import must reject, one per reason."""
    return [
        ["CLI-90001", "Pedro", "Sin Área", "555-01", "FL", "33130", "10,00", "muy corto"],
        ["CLI-90002", "Marta", "Letras", "305-555-CASA", "FL", "33130", "10,00", "letras"],
        ["CLI-90003", "Nadie", "Vacío", "", "FL", "33130", "10,00", "sin teléfono"],
        ["CLI-90004", "Excel", "Científico", "3,05556E+09", "FL", "33130", "10,00", "notación científica"],
        [
            "CLI-90005",
            first[1],
            first[2],
            first[3].replace(".0", ""),
            first[4],
            first[5],
            first[6],
            "duplicado",
        ],
        ["CLI-90006", "Julia", "Extensión", "305 555 0100 ext. 12", "FL", "33130", "10,00", "extensión"],
        [
            "CLI-90007",
            "Rosa",
            "Estado",
            "+1 212 555 0100",
            "Floridda",
            "10001",
            "10,00",
            "estado mal escrito",
        ],
    ]


def main(argv: list[str]) -> None:
    output = Path(argv[0]) if argv else OUTPUT
    rng = random.Random(SEED)
    rows = good_rows(rng)
    bad = bad_rows(rows[0])
    # Spread the bad rows through the file, as they would be in real data.
    for offset, row in enumerate(bad):
        rows.insert(100 + offset * 130, row)
    # A blank line, as Excel leaves when a row was cleared.
    rows.insert(500, [])

    with output.open("w", encoding="utf-8-sig", newline="") as csv_file:
        writer = csv.writer(csv_file, delimiter=";", lineterminator="\r\n")
        writer.writerow(
            ["ID", "Nombre", "Apellidos", "Teléfono", "Estado", "Código Postal", "Saldo", "Notas"]
        )
        writer.writerows(rows)
    print(f"wrote {output}: {LEADS} leads and {len(bad)} bad rows")


if __name__ == "__main__":
    main(sys.argv[1:])
