"""Views of the compliance blueprint (see the package docstring for the routes)."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import logging

from flask import Blueprint, Response, current_app, g, jsonify, make_response, render_template, request
from flask_babel import force_locale, format_decimal, lazy_gettext
from flask_babel import gettext as _

from dialer_common.compliance import dnc, report, settings
from dialer_common.compliance.packs import PackSet
from dialer_common.errors import ValidationError
from dialer_common.phone import InvalidPhoneNumber, mask, to_e164
from web.auth.rbac import require_role
from web.dashboard import common_strings, page_locale, page_response
from web.db import get_conn
from web.errors import ApiError
from web.i18n import shared_gettext
from web.json_body import field, json_object, string_items

log = logging.getLogger(__name__)

bp = Blueprint(
    "compliance",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/compliance/static",
)

PACKS_KEY = "dialer.compliance_packs"
MAX_DNC_NUMBERS = 10_000
# A national registry copy for a few area codes has some million rows.
MAX_UPLOAD_BYTES = 64 * 1024 * 1024


@bp.record_once
def _load_packs(state) -> None:
    state.app.extensions.setdefault(PACKS_KEY, PackSet.load())


def shipped_packs() -> PackSet:
    return current_app.extensions[PACKS_KEY]


def _tenant_packs() -> PackSet:
    return settings.tenant_packs(get_conn(), g.tenant_id, shipped_packs())


# Rule packs ------------------------------------------------------------------


@bp.get("/api/compliance/packs")
@require_role("admin", "supervisor", "viewer")
def list_packs() -> Response:
    packs = _tenant_packs()
    return jsonify({"packs": [_pack_json(pack) for pack in sorted(packs, key=lambda p: p.id)]})


@bp.put("/api/compliance/packs/<pack_id>/override")
@require_role("admin")
def put_override(pack_id: str) -> Response:
    body = request.get_data(as_text=True)
    try:
        saved = settings.save_override(get_conn(), g.tenant_id, body, shipped_packs())
    except ValidationError as error:
        raise ApiError("invalid_pack", _("The rule pack was rejected: %(error)s", error=str(error))) from None
    if saved != pack_id:
        raise ApiError(
            "invalid_pack", _("The override is for pack %(saved)s, not %(pack)s.", saved=saved, pack=pack_id)
        )
    return jsonify({"pack": _pack_json(_tenant_packs().get(pack_id))})


def _pack_json(pack) -> dict:
    return {
        "id": pack.id,
        "version": pack.version,
        "title": pack.title,
        "country": pack.country,
        "purposes": sorted(pack.purposes),
        "states": sorted(pack.states),
        "windows": [
            {"weekdays": sorted(w.weekdays), "start_minute": w.start, "end_minute": w.end}
            for w in pack.windows
        ],
        "closed_weekdays": sorted(pack.closed_weekdays),
        "holiday_calendar": pack.holiday_calendar,
        "caps": [{"scope": c.scope, "limit": c.limit, "window_s": c.window_s} for c in pack.caps],
        "registries": [r.name for r in pack.registries],
    }


# Campaign settings and report ------------------------------------------------


def _campaign(campaign_id: int) -> dict:
    row = report.campaign_row(get_conn(), g.tenant_id, campaign_id)
    if row is None:
        raise ApiError("not_found", _("Campaign %(id)s not found.", id=campaign_id), status=404)
    return row


@bp.get("/api/compliance/campaigns/<int:campaign_id>/settings")
@require_role("admin", "supervisor", "viewer")
def get_settings(campaign_id: int) -> Response:
    return _settings_json(_campaign(campaign_id))


def _settings_json(row: dict) -> Response:
    return jsonify(
        {
            "purpose": row["compliance_purpose"],
            "packs": list(row["compliance_packs"]),
            "retry_delays_s": row["retry_delays_s"],
        }
    )


@bp.put("/api/compliance/campaigns/<int:campaign_id>/settings")
@require_role("admin")
def put_settings(campaign_id: int) -> Response:
    _campaign(campaign_id)
    data = json_object('{"purpose": "sales", "packs": ["us-federal"], "retry_delays_s": {"busy": 600}}')
    purpose = field(data, "purpose", "string", "")
    packs = string_items(field(data, "packs", "list", []), "packs")
    retry_delays_s = field(data, "retry_delays_s", "object", {})
    try:
        settings.save_campaign_rules(
            get_conn(), g.tenant_id, campaign_id, purpose, packs, retry_delays_s, shipped_packs()
        )
    except ValidationError as error:
        raise ApiError(
            "invalid_settings", _("Invalid compliance settings: %(error)s", error=str(error))
        ) from None
    return _settings_json(_campaign(campaign_id))


@bp.get("/api/compliance/campaigns/<int:campaign_id>/report")
@require_role("admin", "supervisor", "viewer")
def campaign_report(campaign_id: int) -> Response:
    data = report.build_report(get_conn(), g.tenant_id, _campaign(campaign_id), _tenant_packs())
    if request.args.get("format") == "csv":
        return _report_csv(data)
    return jsonify(data)


# Labels of the report's fixed keys in the CSV's key column.
CSV_KEY_LABELS = {
    "rate_pct": lazy_gettext("abandonment rate (%)"),
    "must_go_progressive": lazy_gettext("must switch to progressive"),
    "unanswered": lazy_gettext("unanswered calls"),
    "min_ring_s": lazy_gettext("shortest ring (s)"),
    "avg_ring_s": lazy_gettext("average ring (s)"),
    "gave_up_early": lazy_gettext("calls given up before the minimum ring"),
    "min_required_s": lazy_gettext("minimum ring required (s)"),
}


def _csv_value(value) -> str:
    """Format one CSV cell in the request's locale: yes/no for booleans, the locale's decimal mark."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int | float | decimal.Decimal):
        return format_decimal(value)
    return str(value)


def _csv_key(key: str) -> str:
    label = CSV_KEY_LABELS.get(key)
    return str(label) if label is not None else key


def _report_csv(data: dict) -> Response:
    """Write the report as CSV; the section column keeps its code so filters work in any language."""
    out = io.StringIO()
    writer = csv.writer(out)
    abandonment = data["abandonment"]
    writer.writerow([_("section"), _("key"), _("value"), _("detail")])
    counts = f"{_csv_value(abandonment['abandoned'])}/{_csv_value(abandonment['live_answers'])}"
    writer.writerow(["abandonment", _csv_key("rate_pct"), _csv_value(abandonment["rate_pct"]),
                     f"{counts} {abandonment['since']} .. {abandonment['until']}"])
    writer.writerow(["abandonment", _csv_key("must_go_progressive"),
                     _csv_value(abandonment["must_go_progressive"]), ""])
    for window in abandonment["daily_30_day_windows"]:
        writer.writerow(["abandonment_30_day_window", window["window_end"], _csv_value(window["rate_pct"]),
                         f"{_csv_value(window['abandoned'])}/{_csv_value(window['live_answers'])}"])
    for key, value in data["ring_times"].items():
        writer.writerow(["ring_times", _csv_key(key), _csv_value(value), ""])
    for play in data["safe_harbor_plays"]:
        writer.writerow(["safe_harbor_play", play["call_uuid"], play["safe_harbor_at"], play["lead_id"]])
    for item in data["dnc_lists"]:
        writer.writerow(["dnc_list", item["registry"], item["list_date"], item["uploaded_at"]])
    for warning in data["dnc_warnings"]:
        writer.writerow(["dnc_warning", "", "", warning])
    for block in data["blocked_by_rule"]:
        writer.writerow(
            ["blocked_by_rule", block["rule"], _csv_value(block["blocked"]), block["last_blocked_at"]]
        )
    response = make_response(out.getvalue())
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="compliance-campaign-{data["campaign"]["id"]}.csv"'
    )
    return response


@bp.get("/compliance/campaigns/<int:campaign_id>")
def report_page(campaign_id: int) -> Response:
    return _page_response("compliance_report.html", _page_strings, campaign_id=campaign_id)


@bp.get("/compliance/dnc")
def dnc_page() -> Response:
    registries = sorted({registry.name for pack in shipped_packs() for registry in pack.registries})
    return _page_response("compliance_dnc.html", _dnc_page_strings, registries=registries)


def _page_response(template: str, strings, **context) -> Response:
    """Render a page in the ``?lang=`` or cookie locale; its data comes from the API with the token."""
    locale = page_locale()
    with force_locale(locale):
        body = render_template(
            template,
            locale=locale,
            other_locale="en" if locale == "es" else "es",
            strings=strings(),
            **context,
        )
    return page_response(body, locale)


def _page_strings() -> dict:
    return {
        **common_strings(),
        "noData": _("No data in this period."),
        "yes": _("Yes"),
        "no": _("No"),
        "heading": _("Compliance report · {name}"),
    }


def _dnc_page_strings() -> dict:
    return {
        **common_strings(),
        "noNumbers": _("Write at least one phone number, one per line."),
        "addedSummary": _("{added} numbers added to the internal list, {listed} were already on it."),
        "rejectedSummary": _("{count} lines rejected:"),
        "uploadSummary": _("{numbers} numbers stored from the {registry} copy."),
        "listed": _("{number} is on the do-not-call list."),
        "notListed": _("{number} is not on any do-not-call list."),
        "internal": _("internal list"),
    }


# Do-not-call -----------------------------------------------------------------


def _e164(value: str, field: str) -> str:
    try:
        return to_e164(str(value))
    except InvalidPhoneNumber as error:
        raise ApiError("invalid_number", error.render(shared_gettext), field=field) from None


@bp.post("/api/dnc")
@require_role("admin", "supervisor", "agent")
def add_dnc() -> Response:
    data = json_object('{"numbers": ["+13055550150"], "reason": "customer request"}')
    numbers = data.get("numbers")
    if not isinstance(numbers, list) or not numbers or len(numbers) > MAX_DNC_NUMBERS:
        raise ApiError(
            "invalid_numbers",
            _('Send "numbers" as a list of 1 to %(max)s phone numbers.', max=MAX_DNC_NUMBERS),
            field="numbers",
        )
    skip_invalid = data.get("skip_invalid", False)
    if not isinstance(skip_invalid, bool):
        raise ApiError(
            "invalid_field", _("The field skip_invalid must be true or false."), field="skip_invalid"
        )
    phones, rejected = _parse_numbers(string_items(numbers, "numbers"), skip_invalid)
    reason = field(data, "reason", "string", "")
    added = 0
    if phones:
        added = dnc.add_numbers(get_conn(), g.tenant_id, phones, reason[:200], f"user:{g.user_id}")
    body = {"numbers": len(phones), "added": added, "accepted": phones, "rejected": rejected}
    return jsonify(body), 201


def _parse_numbers(numbers: list[str], skip_invalid: bool) -> tuple[list[str], list[dict]]:
    """Convert numbers to E.164; an invalid one raises ApiError, or with skip_invalid goes to rejected."""
    if not skip_invalid:
        return [_e164(number, "numbers") for number in numbers], []
    phones = []
    rejected = []
    for number in numbers:
        try:
            phones.append(to_e164(str(number)))
        except InvalidPhoneNumber as error:
            rejected.append({"number": number, "message": error.render(shared_gettext)})
    return phones, rejected


@bp.post("/api/dnc/upload")
@require_role("admin", "supervisor")
def upload_dnc() -> Response:
    # The app's 1 MB request limit is too small for a registry copy.
    request.max_content_length = MAX_UPLOAD_BYTES
    upload = request.files.get("file")
    if upload is None:
        raise ApiError("missing_file", _('Attach the CSV file in the "file" field.'), field="file")
    registry = request.form.get("registry", "internal").strip()
    rows = _read_dnc_csv(upload.read())
    if registry == "internal":
        added = dnc.add_numbers(
            get_conn(), g.tenant_id, [phone for phone, _signup in rows], "csv upload", f"user:{g.user_id}"
        )
        return jsonify({"registry": "internal", "numbers": len(rows), "added": added, "warnings": []}), 201
    list_date = _date(request.form.get("list_date", ""), "list_date")
    try:
        result = dnc.add_registry_list(
            get_conn(),
            g.tenant_id,
            registry,
            list_date,
            rows,
            _tenant_packs(),
            file_name=upload.filename or "",
        )
    except ValidationError as error:
        raise ApiError("invalid_registry", str(error), field="registry") from None
    for warning in result.warnings:
        log.warning("dnc.registry_stale tenant_id=%s registry=%s warning=%s", g.tenant_id, registry, warning)
    return jsonify(
        {
            "registry": registry,
            "list_id": result.list_id,
            "list_date": list_date.isoformat(),
            "numbers": result.numbers,
            "warnings": list(result.warnings),
        }
    ), 201


def _read_dnc_csv(data: bytes) -> list[tuple[str, dt.date | None]]:
    """Read ``phone[,signup_date]`` rows; a header row is skipped when its first cell has no digit."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    rows = []
    reader = csv.reader(io.StringIO(text))
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            # A cell over csv.field_size_limit() (128 KiB) or a stray NUL byte.
            raise ApiError(
                "invalid_file",
                _("The CSV file is invalid at line %(line)s: %(error)s. Send one phone number per line.",
                  line=reader.line_num, error=str(error)),
                field="file",
            ) from None
        line_number = reader.line_num
        if not cells or not cells[0].strip():
            continue
        if line_number == 1 and not any(ch.isdigit() for ch in cells[0]):
            continue
        phone = _e164(cells[0], f"file line {line_number}")
        signup = _date(cells[1], f"file line {line_number}") if len(cells) > 1 and cells[1].strip() else None
        rows.append((phone, signup))
    if not rows:
        raise ApiError("empty_file", _("The file has no phone numbers."), field="file")
    return rows


def _date(value: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ApiError(
            "invalid_date", _("Invalid date %(value)s: write it as YYYY-MM-DD.", value=value), field=field
        ) from None


@bp.get("/api/dnc")
@require_role("admin", "supervisor", "agent", "viewer")
def lookup_dnc() -> Response:
    phone = _e164(request.args.get("number", ""), "number")
    listings = dnc.lookup_number(get_conn(), g.tenant_id, phone)
    log.info("dnc.looked_up tenant_id=%s phone=%s listed=%s", g.tenant_id, mask(phone), bool(listings))
    return jsonify(
        {
            "number": phone,
            "listed": bool(listings),
            "listings": [
                {
                    "registry": row["registry"] or "internal",
                    "effective_at": row["effective_at"].isoformat(),
                    "reason": row["reason"],
                    "added_at": row["created_at"].isoformat(),
                }
                for row in listings
            ],
        }
    )
