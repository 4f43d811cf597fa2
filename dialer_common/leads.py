"""Lead import: a CSV exported from Excel or Google Sheets becomes leads.

Reading copes with what Spanish and English spreadsheet exports produce:
UTF-8 with or without BOM or cp1252, ``,``/``;``/tab delimiters, CRLF,
quoted fields with embedded newlines and header names in either language
(see :data:`COLUMN_ALIASES`). Each row is normalised (phone to E.164, state to
its two-letter code, time zone from the state or the number) or rejected with
a reason that names the row, column, value and fix. Rejected rows go to a
rejects CSV: the original cells plus ``row`` and ``reason`` columns.

Writing upserts on (tenant_id, campaign_id, phone_e164): a re-import never
duplicates a lead and keeps its dialing state (status, attempts, schedule),
while names, state, postal code, time zone and ``extra`` take the new values.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import unicodedata
import zoneinfo
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg2.extras

from dialer_common import db
from dialer_common.phone import (
    N_,
    InvalidPhoneNumber,
    TranslatableValidationError,
    mask,
    timezones_for,
    to_e164,
)

log = logging.getLogger(__name__)

Gettext = Callable[[str], str]

BATCH_SIZE = 1000
_SNIFF_BYTES = 64 * 1024


def _identity(message: str) -> str:
    return message


def normalize_key(text: str) -> str:
    """Fold a header or state name to lowercase ASCII letters and digits.

    'Código Postal' becomes 'codigopostal', 'N.Y.' becomes 'ny'.
    """
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(character for character in decomposed if not unicodedata.combining(character))
    return re.sub(r"[^a-z0-9]", "", ascii_text.lower())


# Accepted header names per lead field, already folded by normalize_key.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "phone": (
        "telefono",
        "tel",
        "phone",
        "phonenumber",
        "numero",
        "numerodetelefono",
        "numerotelefono",
        "celular",
        "cel",
        "movil",
        "telefonomovil",
        "telefonocelular",
        "mobile",
        "cell",
        "cellphone",
        "number",
        "telephone",
    ),
    "first_name": ("nombre", "nombres", "firstname", "first", "givenname", "name"),
    "last_name": ("apellido", "apellidos", "lastname", "last", "surname", "familyname"),
    "state": ("estado", "state", "statecode"),
    "postal_code": ("codigopostal", "cp", "zip", "zipcode", "postalcode", "postcode"),
    "external_id": (
        "id",
        "externalid",
        "idexterno",
        "idcliente",
        "clienteid",
        "customerid",
        "cuenta",
        "account",
    ),
    "timezone": ("zonahoraria", "timezone", "tz", "husohorario"),
}

# Time zones per state, province or territory; the first is where most of
# its people live, the others cover the rest (e.g. El Paso in Texas).
STATE_TIMEZONES: dict[str, tuple[str, ...]] = {
    "AL": ("America/Chicago",),
    "AK": ("America/Anchorage", "America/Adak"),
    "AZ": ("America/Phoenix",),
    "AR": ("America/Chicago",),
    "CA": ("America/Los_Angeles",),
    "CO": ("America/Denver",),
    "CT": ("America/New_York",),
    "DE": ("America/New_York",),
    "DC": ("America/New_York",),
    "FL": ("America/New_York", "America/Chicago"),
    "GA": ("America/New_York",),
    "HI": ("Pacific/Honolulu",),
    "ID": ("America/Boise", "America/Los_Angeles"),
    "IL": ("America/Chicago",),
    "IN": ("America/Indiana/Indianapolis", "America/Chicago"),
    "IA": ("America/Chicago",),
    "KS": ("America/Chicago", "America/Denver"),
    "KY": ("America/New_York", "America/Chicago"),
    "LA": ("America/Chicago",),
    "ME": ("America/New_York",),
    "MD": ("America/New_York",),
    "MA": ("America/New_York",),
    "MI": ("America/Detroit", "America/Chicago"),
    "MN": ("America/Chicago",),
    "MS": ("America/Chicago",),
    "MO": ("America/Chicago",),
    "MT": ("America/Denver",),
    "NE": ("America/Chicago", "America/Denver"),
    "NV": ("America/Los_Angeles",),
    "NH": ("America/New_York",),
    "NJ": ("America/New_York",),
    "NM": ("America/Denver",),
    "NY": ("America/New_York",),
    "NC": ("America/New_York",),
    "ND": ("America/Chicago", "America/Denver"),
    "OH": ("America/New_York",),
    "OK": ("America/Chicago",),
    "OR": ("America/Los_Angeles", "America/Boise"),
    "PA": ("America/New_York",),
    "RI": ("America/New_York",),
    "SC": ("America/New_York",),
    "SD": ("America/Chicago", "America/Denver"),
    "TN": ("America/Chicago", "America/New_York"),
    "TX": ("America/Chicago", "America/Denver"),
    "UT": ("America/Denver",),
    "VT": ("America/New_York",),
    "VA": ("America/New_York",),
    "WA": ("America/Los_Angeles",),
    "WV": ("America/New_York",),
    "WI": ("America/Chicago",),
    "WY": ("America/Denver",),
    "PR": ("America/Puerto_Rico",),
    "GU": ("Pacific/Guam",),
    "VI": ("America/St_Thomas",),
    "AS": ("Pacific/Pago_Pago",),
    "MP": ("Pacific/Saipan",),
    # Canada shares country code +1.
    "ON": ("America/Toronto",),
    "QC": ("America/Toronto",),
    "BC": ("America/Vancouver",),
    "AB": ("America/Edmonton",),
    "MB": ("America/Winnipeg",),
    "SK": ("America/Regina",),
    "NS": ("America/Halifax",),
    "NB": ("America/Moncton",),
    "NL": ("America/St_Johns",),
    "PE": ("America/Halifax",),
    "YT": ("America/Whitehorse",),
    "NT": ("America/Edmonton",),
    "NU": ("America/Iqaluit",),
}

# Full names in English and Spanish, keyed by normalize_key.
_STATE_NAMES = {
    "AL": ("alabama",),
    "AK": ("alaska",),
    "AZ": ("arizona",),
    "AR": ("arkansas",),
    "CA": ("california",),
    "CO": ("colorado",),
    "CT": ("connecticut",),
    "DE": ("delaware",),
    "DC": ("districtofcolumbia", "distritodecolumbia", "washingtondc"),
    "FL": ("florida",),
    "GA": ("georgia",),
    "HI": ("hawaii", "hawai"),
    "ID": ("idaho",),
    "IL": ("illinois",),
    "IN": ("indiana",),
    "IA": ("iowa",),
    "KS": ("kansas",),
    "KY": ("kentucky",),
    "LA": ("louisiana", "luisiana"),
    "ME": ("maine",),
    "MD": ("maryland",),
    "MA": ("massachusetts",),
    "MI": ("michigan",),
    "MN": ("minnesota",),
    "MS": ("mississippi", "misisipi"),
    "MO": ("missouri", "misuri"),
    "MT": ("montana",),
    "NE": ("nebraska",),
    "NV": ("nevada",),
    "NH": ("newhampshire", "nuevohampshire"),
    "NJ": ("newjersey", "nuevajersey"),
    "NM": ("newmexico", "nuevomexico"),
    "NY": ("newyork", "nuevayork"),
    "NC": ("northcarolina", "carolinadelnorte"),
    "ND": ("northdakota", "dakotadelnorte"),
    "OH": ("ohio",),
    "OK": ("oklahoma",),
    "OR": ("oregon",),
    "PA": ("pennsylvania", "pensilvania"),
    "RI": ("rhodeisland",),
    "SC": ("southcarolina", "carolinadelsur"),
    "SD": ("southdakota", "dakotadelsur"),
    "TN": ("tennessee", "tenesi"),
    "TX": ("texas",),
    "UT": ("utah",),
    "VT": ("vermont",),
    "VA": ("virginia",),
    "WA": ("washington",),
    "WV": ("westvirginia", "virginiaoccidental"),
    "WI": ("wisconsin",),
    "WY": ("wyoming",),
    "PR": ("puertorico",),
    "GU": ("guam",),
    "VI": ("usvirginislands", "islasvirgenes"),
    "AS": ("americansamoa", "samoaamericana"),
    "MP": ("northernmarianaislands", "islasmarianasdelnorte"),
    "ON": ("ontario",),
    "QC": ("quebec",),
    "BC": ("britishcolumbia", "columbiabritanica"),
    "AB": ("alberta",),
    "MB": ("manitoba",),
    "SK": ("saskatchewan",),
    "NS": ("novascotia", "nuevaescocia"),
    "NB": ("newbrunswick", "nuevobrunswick"),
    "NL": ("newfoundlandandlabrador", "terranovaylabrador"),
    "PE": ("princeedwardisland", "islaprincipeeduardo"),
    "YT": ("yukon",),
    "NT": ("northwestterritories", "territoriosdelnoroeste"),
    "NU": ("nunavut",),
}
STATE_BY_NAME = {name: code for code, names in _STATE_NAMES.items() for name in names}
STATE_BY_NAME.update({code.lower(): code for code in STATE_TIMEZONES})

# Reasons a row is rejected; each is shown after "row N, column 'X': ".
ROW_PREFIX = N_("row {row}, column '{column}': {reason}")
ROW_PREFIX_NO_COLUMN = N_("row {row}: {reason}")
UNKNOWN_STATE = N_(
    "unknown state '{value}'; write the two-letter code (e.g. FL) or the full name in English or Spanish "
    "(e.g. Florida, Nueva York)"
)
UNKNOWN_TIMEZONE = N_(
    "unknown time zone '{value}'; write an IANA name such as America/New_York or leave the cell empty"
)
DUPLICATE = N_(
    "duplicate of row {first_row}: the phone number {value} appears twice in the file; keep one of the rows"
)
TOO_MANY_FIELDS = N_(
    "the row has {count} fields but the header has {expected}; put quotes around values that contain "
    "the delimiter '{delimiter}'"
)

# Fatal errors: the import cannot start.
FILE_NOT_FOUND = N_("file not found: {path}; check the path and try again")
FILE_EMPTY = N_("the file {path} is empty; export the sheet again with a header row and at least one lead")
NO_PHONE_COLUMN = N_(
    "no phone column in {path}: the columns found are {found}; rename the phone column to one of {accepted}"
)
INVALID_CSV = N_("invalid CSV in {path} near row {row}: {error}; export the sheet again as CSV")
UNTERMINATED_QUOTE = N_(
    "invalid CSV in {path}: the quoted field that starts in row {row} is never closed, so every line"
    " after it would be read as one cell; add the missing closing quote (\") or export the sheet again"
)
NUL_CHARACTER = N_(
    "the cell contains a NUL character, which a spreadsheet export never writes; remove it, or if the"
    " whole file shows this, save it again as CSV UTF-8"
)
CAMPAIGN_NOT_FOUND = N_(
    "campaign {campaign_id} not found in tenant '{tenant}'; "
    "list the campaigns of the tenant and use one of their ids"
)
CAMPAIGN_ID_NOT_FOUND = N_("campaign {campaign_id} not found; check the campaign id on the dashboard")

REJECTS_ROW_HEADER = N_("row")
REJECTS_REASON_HEADER = N_("reason")


class LeadImportError(TranslatableValidationError):
    """The import cannot start (missing file, no phone column, unknown campaign)."""


@dataclass
class Lead:
    """One accepted row, normalised for the ``leads`` table."""

    row: int
    phone_e164: str
    first_name: str = ""
    last_name: str = ""
    external_id: str | None = None
    state_code: str | None = None
    postal_code: str | None = None
    timezone: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class Rejection:
    """One rejected row: its cells as read and the untranslated reason."""

    row: int
    cells: list[str]
    column: str | None
    template: str
    params: dict[str, object]

    def render(self, gettext: Gettext = _identity) -> str:
        """Format 'row N, column X: reason', translated by ``gettext`` when given."""
        reason = gettext(self.template).format(**self.params)
        if self.column is None:
            return gettext(ROW_PREFIX_NO_COLUMN).format(row=self.row, reason=reason)
        return gettext(ROW_PREFIX).format(row=self.row, column=self.column, reason=reason)


@dataclass
class LeadFile:
    """A decoded CSV: how it was read, its header and its records."""

    path: Path
    encoding: str
    delimiter: str
    header: list[str]
    header_row: int
    text: str

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """Yield (spreadsheet row number, cells) for each record after the header."""
        # strict mode makes an unterminated quote an error instead of one
        # cell that swallows the rest of the file.
        reader = csv.reader(io.StringIO(self.text, newline=""), delimiter=self.delimiter, strict=True)
        row = 0
        try:
            for row, cells in enumerate(reader, start=1):
                if row > self.header_row:
                    yield row, cells
        except csv.Error as error:
            if "unexpected end of data" in str(error):
                raise LeadImportError(UNTERMINATED_QUOTE, path=self.path, row=row + 1) from None
            raise LeadImportError(INVALID_CSV, path=self.path, row=row + 1, error=error) from None


@dataclass
class ImportResult:
    """Counts of one import, as stored in its ``lead_lists`` row."""

    lead_list_id: int
    encoding: str
    delimiter: str
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    # Leads stored with status 'dnc' because a do-not-call list holds them.
    do_not_call: int = 0
    rejects_path: Path | None = None


# ---------------------------------------------------------------- reading


def detect_encoding(data: bytes) -> str:
    """Return the codec that decodes ``data``: utf-8-sig, utf-8, cp1252 or latin-1."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # Excel on Windows in Spanish and English locales saves "CSV" as cp1252,
    # which leaves five bytes undefined; latin-1 decodes any byte.
    try:
        data.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def map_columns(header: list[str]) -> dict[str, int]:
    """Map lead fields to column indexes; the first matching column wins."""
    alias_to_field = {alias: name for name, aliases in COLUMN_ALIASES.items() for alias in aliases}
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        name = alias_to_field.get(normalize_key(title))
        if name is not None and name not in columns:
            columns[name] = index
    return columns


def _first_record(text: str, delimiter: str) -> tuple[int, list[str]] | None:
    reader = csv.reader(io.StringIO(text[:_SNIFF_BYTES], newline=""), delimiter=delimiter)
    try:
        for row, cells in enumerate(reader, start=1):
            if any(cell.strip() for cell in cells):
                return row, cells
    except csv.Error:
        return None
    return None


def _delimiter_candidates(text: str) -> list[str]:
    """Order delimiters by csv.Sniffer's guess, then by count in the first line."""
    candidates = []
    try:
        candidates.append(csv.Sniffer().sniff(text[:_SNIFF_BYTES], delimiters=",;\t").delimiter)
    except csv.Error:
        pass
    first_line = next((line for line in text[:_SNIFF_BYTES].splitlines() if line.strip()), "")
    candidates.extend(sorted(",;\t", key=first_line.count, reverse=True))
    return list(dict.fromkeys(candidates))


def read_lead_file(path: str | Path) -> LeadFile:
    """Decode a CSV and find its delimiter and header row.

    The chosen delimiter is the first candidate whose header has a phone
    column, so a wrong Sniffer guess (it can pick a character from
    quoted text) is corrected. Raises :class:`LeadImportError` when no delimiter gives one.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        raise LeadImportError(FILE_NOT_FOUND, path=path) from None
    encoding = detect_encoding(data)
    text = data.decode(encoding)
    if not text.strip():
        raise LeadImportError(FILE_EMPTY, path=path)

    candidates = _delimiter_candidates(text)
    headers = {delimiter: _first_record(text, delimiter) for delimiter in candidates}
    for delimiter in candidates:
        found = headers[delimiter]
        if found is not None and "phone" in map_columns(found[1]):
            header_row, header = found
            return LeadFile(path, encoding, delimiter, [title.strip() for title in header], header_row, text)

    found = headers[candidates[0]]
    found_titles = ", ".join(repr(title.strip()) for title in (found[1] if found else []))
    accepted = ", ".join(COLUMN_ALIASES["phone"])
    raise LeadImportError(NO_PHONE_COLUMN, path=path, found=found_titles or "-", accepted=accepted)


# ---------------------------------------------------------------- rows


def normalize_state(value: str) -> str | None:
    """Return the two-letter code of a US state or Canadian province, or None if unknown."""
    return STATE_BY_NAME.get(normalize_key(value))


def pick_timezone(phone_e164: str, state_code: str | None) -> str | None:
    """Choose a lead's IANA time zone from its state, refined by the number's area code.

    Without a state, the number decides when phonenumbers gives one zone.
    """
    number_zones = timezones_for(phone_e164)
    if state_code in STATE_TIMEZONES:
        state_zones = STATE_TIMEZONES[state_code]
        for zone in state_zones:
            if zone in number_zones:
                return zone
        return state_zones[0]
    if len(number_zones) == 1:
        return number_zones[0]
    # NOTE: an area code that spans zones (907 in Alaska: Anchorage and Adak)
    # gives no zone, so the lead is stored without one. Callers that enforce
    # calling hours must treat such a lead conservatively.
    return None


def _clean_cell(value: str) -> str:
    return " ".join(value.split())


def _clean_postal_code(value: str, state_code: str | None) -> str | None:
    text = _clean_cell(value)
    if re.fullmatch(r"\d+\.0+", text):
        text = text.split(".")[0]
    # Excel drops the leading zero of New England ZIP codes (02134 -> 2134).
    if state_code in STATE_TIMEZONES and len(state_code) == 2 and re.fullmatch(r"\d{3,4}", text):
        text = text.zfill(5)
    return text or None


class _RowRejected(Exception):
    def __init__(self, column: str | None, template: str, **params: object) -> None:
        super().__init__(template)
        self.column = column
        self.template = template
        self.params = params


def parse_row(row: int, cells: list[str], header: list[str], columns: dict[str, int], delimiter: str) -> Lead:
    """Normalise one record into a Lead; raises _RowRejected with the reason."""
    for index, text in enumerate(cells):
        if "\x00" in text:
            column = header[index] if index < len(header) else None
            raise _RowRejected(column, NUL_CHARACTER)
    if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header) :]):
        raise _RowRejected(
            None,
            TOO_MANY_FIELDS,
            count=len(cells),
            expected=len(header),
            delimiter=delimiter.replace("\t", "\\t"),
        )
    cells = cells + [""] * (len(header) - len(cells))

    def cell(name: str) -> str:
        return cells[columns[name]] if name in columns else ""

    phone_column = header[columns["phone"]]
    try:
        phone_e164 = to_e164(cell("phone"))
    except InvalidPhoneNumber as error:
        raise _RowRejected(phone_column, error.template, **error.params) from None

    state_text = _clean_cell(cell("state"))
    state_code = normalize_state(state_text) if state_text else None
    if state_text and state_code is None:
        if phone_e164.startswith("+1"):
            raise _RowRejected(header[columns["state"]], UNKNOWN_STATE, value=state_text)
        # Outside North America the region is kept as written (e.g. Jalisco).
        state_code = state_text

    timezone_text = _clean_cell(cell("timezone"))
    if timezone_text:
        if timezone_text not in zoneinfo.available_timezones():
            raise _RowRejected(header[columns["timezone"]], UNKNOWN_TIMEZONE, value=timezone_text)
        timezone = timezone_text
    else:
        timezone = pick_timezone(phone_e164, state_code)

    used = set(columns.values())
    extra = {
        title: _clean_cell(cells[index])
        for index, title in enumerate(header)
        if index not in used and title and cells[index].strip()
    }
    return Lead(
        row=row,
        phone_e164=phone_e164,
        first_name=_clean_cell(cell("first_name")),
        last_name=_clean_cell(cell("last_name")),
        external_id=_clean_cell(cell("external_id")) or None,
        state_code=state_code,
        postal_code=_clean_postal_code(cell("postal_code"), state_code),
        timezone=timezone,
        extra=extra,
    )


def parse_leads(lead_file: LeadFile) -> Iterator[Lead | Rejection]:
    """Yield a Lead or a Rejection for each non-empty record, in file order."""
    columns = map_columns(lead_file.header)
    first_row_by_phone: dict[str, int] = {}
    for row, cells in lead_file.records():
        if not any(cell.strip() for cell in cells):
            continue
        try:
            lead = parse_row(row, cells, lead_file.header, columns, lead_file.delimiter)
        except _RowRejected as rejected:
            yield Rejection(row, cells, rejected.column, rejected.template, rejected.params)
            continue

        first_row = first_row_by_phone.setdefault(lead.phone_e164, row)
        if first_row != row:
            phone_column = lead_file.header[columns["phone"]]
            yield Rejection(
                row, cells, phone_column, DUPLICATE, {"first_row": first_row, "value": lead.phone_e164}
            )
            continue
        yield lead


# ---------------------------------------------------------------- writing

_UPSERT = """
INSERT INTO leads (tenant_id, campaign_id, lead_list_id, external_id, phone_e164, first_name, last_name,
                   state_code, postal_code, timezone, extra)
VALUES %s
ON CONFLICT (tenant_id, campaign_id, phone_e164) DO UPDATE SET
    external_id = COALESCE(EXCLUDED.external_id, leads.external_id),
    first_name = EXCLUDED.first_name,
    last_name = EXCLUDED.last_name,
    state_code = COALESCE(EXCLUDED.state_code, leads.state_code),
    postal_code = COALESCE(EXCLUDED.postal_code, leads.postal_code),
    timezone = COALESCE(EXCLUDED.timezone, leads.timezone),
    extra = leads.extra || EXCLUDED.extra,
    updated_at = now()
WHERE (leads.external_id, leads.first_name, leads.last_name, leads.state_code, leads.postal_code,
       leads.timezone, leads.extra)
      IS DISTINCT FROM
      (COALESCE(EXCLUDED.external_id, leads.external_id), EXCLUDED.first_name, EXCLUDED.last_name,
       COALESCE(EXCLUDED.state_code, leads.state_code), COALESCE(EXCLUDED.postal_code, leads.postal_code),
       COALESCE(EXCLUDED.timezone, leads.timezone), leads.extra || EXCLUDED.extra)
RETURNING (xmax = 0) AS inserted
"""


def find_campaign(conn, campaign_id: int, tenant_slug: str | None) -> tuple[int, str]:
    """Return (tenant id, tenant slug) of a campaign, checking it belongs to ``tenant_slug`` if given."""
    with db.transaction(conn) as cur:
        cur.execute(
            "SELECT c.tenant_id, t.slug FROM campaigns c JOIN tenants t ON t.id = c.tenant_id"
            " WHERE c.id = %s AND (%s::text IS NULL OR t.slug = %s)",
            (campaign_id, tenant_slug, tenant_slug),
        )
        found = cur.fetchone()
    if found is None and tenant_slug is None:
        raise LeadImportError(CAMPAIGN_ID_NOT_FOUND, campaign_id=campaign_id)
    if found is None:
        raise LeadImportError(CAMPAIGN_NOT_FOUND, campaign_id=campaign_id, tenant=tenant_slug)
    return found["tenant_id"], found["slug"]


def _open_lead_list(conn, tenant_id: int, campaign_id: int, name: str, lead_file: LeadFile) -> int:
    with db.transaction(conn) as cur:
        cur.execute(
            "INSERT INTO lead_lists (tenant_id, campaign_id, name, source_file, encoding, delimiter)"
            " VALUES (%s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (tenant_id, campaign_id, name) DO UPDATE SET source_file = EXCLUDED.source_file,"
            " encoding = EXCLUDED.encoding, delimiter = EXCLUDED.delimiter, updated_at = now()"
            " RETURNING id",
            (tenant_id, campaign_id, name, str(lead_file.path), lead_file.encoding, lead_file.delimiter),
        )
        return cur.fetchone()["id"]


class _DncScrub:
    """The campaign's do-not-call check at import, loaded once per import."""

    def __init__(self, conn, tenant_id: int, campaign_id: int) -> None:
        from dialer_common.compliance import dnc
        from dialer_common.compliance.packs import PackSet
        from dialer_common.compliance.settings import load_campaign_rules, tenant_packs

        self._blocked_for_import = dnc.blocked_for_import
        self.tenant_id = tenant_id
        self.purpose = load_campaign_rules(conn, tenant_id, campaign_id).purpose
        self.packs = tenant_packs(conn, tenant_id, PackSet.load())

    def blocked(self, conn, phones: list[str]) -> list[str]:
        """Return the numbers among ``phones`` that a do-not-call list blocks."""
        return list(self._blocked_for_import(conn, self.tenant_id, phones, self.purpose, self.packs))


def _write_batch(
    conn, tenant_id: int, campaign_id: int, lead_list_id: int, batch: list[Lead], scrub: _DncScrub | None = None
) -> tuple[int, int, int]:
    """Upsert one batch in one transaction; return (inserted, updated, marked do-not-call).

    Leads on a do-not-call list are stored with status 'dnc' so the file's
    counts stay whole and the gate never has to see them; a lead already
    dialed keeps its history but is not dialed again.
    """
    values = [
        (
            tenant_id,
            campaign_id,
            lead_list_id,
            lead.external_id,
            lead.phone_e164,
            lead.first_name,
            lead.last_name,
            lead.state_code,
            lead.postal_code,
            lead.timezone,
            json.dumps(lead.extra),
        )
        for lead in batch
    ]
    with db.transaction(conn) as cur:
        returned = psycopg2.extras.execute_values(
            cur,
            _UPSERT,
            values,
            template="(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)",
            page_size=len(values),
            fetch=True,
        )
        marked = 0
        if scrub is not None:
            blocked = scrub.blocked(conn, [lead.phone_e164 for lead in batch])
            if blocked:
                cur.execute(
                    "UPDATE leads SET status = 'dnc', updated_at = now()"
                    " WHERE tenant_id = %s AND campaign_id = %s AND phone_e164 = ANY(%s)"
                    " AND status IN ('new', 'retry')",
                    (tenant_id, campaign_id, blocked),
                )
                marked = cur.rowcount
    inserted = sum(1 for record in returned if record["inserted"])
    return inserted, len(returned) - inserted, marked


def _close_lead_list(conn, result: ImportResult) -> None:
    with db.transaction(conn) as cur:
        cur.execute(
            "UPDATE lead_lists SET rows_total = %s, rows_imported = %s, rows_rejected = %s,"
            " rows_inserted = %s, rows_updated = %s, updated_at = now() WHERE id = %s",
            (
                result.rows_read,
                result.inserted + result.updated + result.unchanged,
                result.rejected,
                result.inserted,
                result.updated,
                result.lead_list_id,
            ),
        )


def default_rejects_path(path: Path) -> Path:
    """Return where the rejects of ``path`` go by default: ``leads.csv`` -> ``leads.rejects.csv``."""
    return path.with_name(f"{path.stem}.rejects.csv")


class RejectsWriter:
    """A rejects CSV: the input's header plus row and reason, UTF-8 with BOM so Excel shows accents."""

    def __init__(self, path: Path, header: list[str], delimiter: str, gettext: Gettext) -> None:
        self.path = path
        self.gettext = gettext
        self._file = open(path, "w", encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._file, delimiter=delimiter, lineterminator="\r\n")
        self._writer.writerow([*header, gettext(REJECTS_ROW_HEADER), gettext(REJECTS_REASON_HEADER)])
        self._width = len(header)

    def write(self, rejection: Rejection) -> None:
        cells = rejection.cells + [""] * (self._width - len(rejection.cells))
        self._writer.writerow([*cells, rejection.row, rejection.render(self.gettext)])

    def close(self) -> None:
        self._file.close()


def import_leads(
    conn,
    path: str | Path,
    campaign_id: int,
    tenant_slug: str | None = None,
    *,
    rejects_path: str | Path | None = None,
    list_name: str | None = None,
    gettext: Gettext = _identity,
    progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportResult:
    """Import a lead CSV into a campaign and write its rejects file.

    Each batch of ``batch_size`` leads is committed in its own transaction,
    so a failure part-way keeps the earlier batches, and running the import
    again completes it without duplicates. ``progress`` is called with the
    number of records handled so far. ``list_name`` defaults to
    the file name plus the UTC time; reusing a name overwrites that list's
    counts with this import's.
    """
    lead_file = read_lead_file(path)
    tenant_id, _ = find_campaign(conn, campaign_id, tenant_slug)
    name = list_name or f"{lead_file.path.name} {datetime.now(UTC):%Y-%m-%d %H:%M:%S}"
    lead_list_id = _open_lead_list(conn, tenant_id, campaign_id, name, lead_file)
    result = ImportResult(lead_list_id, lead_file.encoding, lead_file.delimiter)
    result.rejects_path = Path(rejects_path) if rejects_path else default_rejects_path(lead_file.path)
    log.info(
        "leads.import.start path=%s campaign_id=%s tenant_id=%s encoding=%s delimiter=%r",
        lead_file.path,
        campaign_id,
        tenant_id,
        lead_file.encoding,
        lead_file.delimiter,
    )

    rejects = RejectsWriter(result.rejects_path, lead_file.header, lead_file.delimiter, gettext)
    scrub = _DncScrub(conn, tenant_id, campaign_id)
    batch: list[Lead] = []
    try:
        for item in parse_leads(lead_file):
            result.rows_read += 1
            if isinstance(item, Rejection):
                result.rejected += 1
                rejects.write(item)
            else:
                batch.append(item)
            if len(batch) >= batch_size:
                _flush(conn, tenant_id, campaign_id, result, batch, progress, scrub)
        _flush(conn, tenant_id, campaign_id, result, batch, progress, scrub)
    finally:
        rejects.close()
    _close_lead_list(conn, result)

    log.info(
        "leads.import.done lead_list_id=%s rows=%s inserted=%s updated=%s unchanged=%s rejected=%s dnc=%s",
        lead_list_id,
        result.rows_read,
        result.inserted,
        result.updated,
        result.unchanged,
        result.rejected,
        result.do_not_call,
    )
    return result


def _flush(
    conn, tenant_id, campaign_id, result: ImportResult, batch: list[Lead], progress, scrub: _DncScrub | None
) -> None:
    if batch:
        inserted, updated, marked = _write_batch(conn, tenant_id, campaign_id, result.lead_list_id, batch, scrub)
        result.inserted += inserted
        result.updated += updated
        result.do_not_call += marked
        result.unchanged += len(batch) - inserted - updated
        log.debug("leads.import.batch size=%s first=%s", len(batch), mask(batch[0].phone_e164))
        batch.clear()
    if progress is not None:
        progress(result.rows_read)
