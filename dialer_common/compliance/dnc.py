"""Do-not-call lists in PostgreSQL: the tenant's internal list and registry copies.

``dnc_numbers`` has one row per number and list source. Internal rows
(added from the UI, the API, a CSV or an agent's disposition) block every
campaign once committed, because the gate reads the table at dial time.
Registry rows come from an uploaded copy of a public registry
(``dnc_lists`` stores its date) and block only the campaign purposes the
registry covers, from their ``effective_at``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from dialer_common import db
from dialer_common.compliance.packs import PackSet
from dialer_common.errors import ValidationError
from dialer_common.phone import mask

log = logging.getLogger(__name__)

INTERNAL = "internal"


@dataclass(frozen=True)
class DncEntry:
    """One listing of a number: ``registry`` is '' for the internal list."""

    phone_e164: str
    registry: str
    effective_at: dt.datetime
    reason: str


class DncLookup(Protocol):
    """Source of a number's do-not-call listings for the gate."""

    def find(self, tenant_id: int, phone_e164: str) -> list[DncEntry]: ...

    def find_many(self, tenant_id: int, phones: list[str]) -> dict[str, list[DncEntry]]: ...


class PgDncLookup:
    """Look numbers up in ``dnc_numbers`` through one connection (autocommit, so additions show at once)."""

    def __init__(self, conn) -> None:
        self._conn = conn
        self._conn.autocommit = True

    def find(self, tenant_id: int, phone_e164: str) -> list[DncEntry]:
        with self._conn.cursor() as cur:
            cur.execute(
                "SELECT phone_e164, registry, effective_at, reason FROM dnc_numbers"
                " WHERE tenant_id = %s AND phone_e164 = %s",
                (tenant_id, phone_e164),
            )
            return [
                DncEntry(r["phone_e164"], r["registry"], r["effective_at"], r["reason"])
                for r in cur.fetchall()
            ]

    def find_many(self, tenant_id: int, phones: list[str]) -> dict[str, list[DncEntry]]:
        """Look up many numbers in one query; numbers without listings are absent from the result."""
        with self._conn.cursor() as cur:
            cur.execute(
                "SELECT phone_e164, registry, effective_at, reason FROM dnc_numbers"
                " WHERE tenant_id = %s AND phone_e164 = ANY(%s)",
                (tenant_id, phones),
            )
            found: dict[str, list[DncEntry]] = {}
            for r in cur.fetchall():
                found.setdefault(r["phone_e164"], []).append(
                    DncEntry(r["phone_e164"], r["registry"], r["effective_at"], r["reason"])
                )
            return found


def blocking_entry(
    entries: Iterable[DncEntry], purpose: str, packs: PackSet, now: dt.datetime
) -> DncEntry | None:
    """Return the first listing that forbids a call of ``purpose`` at ``now``, or None.

    Internal listings forbid every call from the moment they are stored. A
    registry listing forbids the purposes its registry covers from its
    ``effective_at``; a registry no loaded pack declares is treated as
    covering every purpose.
    """
    for entry in entries:
        if entry.registry == "":
            return entry
        if entry.effective_at > now:
            continue
        registry = packs.registry(entry.registry)
        if registry is None or purpose in registry.covers:
            return entry
    return None


def add_numbers(conn, tenant_id: int, phones: Iterable[str], reason: str, added_by: str) -> int:
    """Add numbers (E.164) to the tenant's internal list, effective at once; return how many were new."""
    rows = [(tenant_id, phone, reason, added_by) for phone in dict.fromkeys(phones)]
    with db.transaction(conn) as cur:
        inserted = 0
        for row in rows:
            cur.execute(
                "INSERT INTO dnc_numbers (tenant_id, phone_e164, registry, reason, added_by)"
                " VALUES (%s, %s, '', %s, %s) ON CONFLICT (tenant_id, phone_e164, registry) DO NOTHING",
                row,
            )
            inserted += cur.rowcount
    log.info("dnc.added tenant_id=%s count=%d new=%d added_by=%s", tenant_id, len(rows), inserted, added_by)
    return inserted


@dataclass(frozen=True)
class RegistryUpload:
    """A stored registry copy and the warnings to show the user."""

    list_id: int
    registry: str
    list_date: dt.date
    numbers: int
    warnings: tuple[str, ...]


def add_registry_list(
    conn,
    tenant_id: int,
    registry: str,
    list_date: dt.date,
    entries: Iterable[tuple[str, dt.date | None]],
    packs: PackSet,
    file_name: str = "",
    today: dt.date | None = None,
) -> RegistryUpload:
    """Store a registry copy dated ``list_date``: entries are ``(phone, signup_date or None)``.

    A number's listing takes effect ``effective_after_days`` after its
    sign-up date (REPEP: 30), or at once without one. A number already
    listed keeps its row with the newer effective date. Raises
    ValidationError for a registry no pack declares or a future date.
    """
    today = today or dt.date.today()
    declared = packs.registry(registry)
    if declared is None:
        known = sorted({r.name for pack in packs for r in pack.registries})
        raise ValidationError(f"unknown registry {registry!r}; expected one of {', '.join(known)}")
    if list_date > today:
        raise ValidationError(
            f"invalid list date {list_date.isoformat()}: it is in the future; "
            "use the date the registry copy was downloaded"
        )
    rows = []
    for phone, signup in entries:
        start = signup + dt.timedelta(days=declared.effective_after_days) if signup else list_date
        rows.append((tenant_id, phone, registry, dt.datetime.combine(start, dt.time(), dt.UTC)))
    with db.transaction(conn) as cur:
        cur.execute(
            "INSERT INTO dnc_lists (tenant_id, registry, list_date, file_name, numbers)"
            " VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (tenant_id, registry, list_date, file_name, len(rows)),
        )
        list_id = cur.fetchone()["id"]
        for row in rows:
            cur.execute(
                "INSERT INTO dnc_numbers"
                " (tenant_id, phone_e164, registry, effective_at, list_id, reason, added_by)"
                " VALUES (%s, %s, %s, %s, %s, 'registry', 'upload')"
                " ON CONFLICT (tenant_id, phone_e164, registry)"
                " DO UPDATE SET effective_at = EXCLUDED.effective_at, list_id = EXCLUDED.list_id",
                (*row, list_id),
            )
    warnings = tuple(stale_warnings([(registry, list_date)], packs, today))
    log.info(
        "dnc.registry_uploaded tenant_id=%s registry=%s list_date=%s numbers=%d",
        tenant_id,
        registry,
        list_date,
        len(rows),
    )
    return RegistryUpload(list_id, registry, list_date, len(rows), warnings)


def stale_warnings(lists: Iterable[tuple[str, dt.date]], packs: PackSet, today: dt.date) -> list[str]:
    """Warn about registry copies older than their registry's maximum age (31 days for the US)."""
    warnings = []
    for registry, list_date in lists:
        declared = packs.registry(registry)
        max_age = declared.max_age_days if declared else None
        if max_age is not None and (today - list_date).days > max_age:
            warnings.append(
                f"the {registry} copy of {list_date.isoformat()} is {(today - list_date).days} days "
                f"old, more than the {max_age} days allowed; upload a newer copy"
            )
    return warnings


def latest_lists(conn, tenant_id: int) -> list[dict]:
    """Return the newest copy of each registry the tenant uploaded (registry, list_date, uploaded_at)."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT DISTINCT ON (registry) registry, list_date, created_at AS uploaded_at, numbers"
            "  FROM dnc_lists WHERE tenant_id = %s ORDER BY registry, list_date DESC, created_at DESC",
            (tenant_id,),
        )
        return list(cur.fetchall())


def blocked_for_import(
    conn, tenant_id: int, phones: Iterable[str], purpose: str, packs: PackSet, now: dt.datetime | None = None
) -> dict[str, str]:
    """Return the numbers among ``phones`` that must not be called, each with the list that blocks it.

    The lead importer calls this once per batch and stores those leads with
    status ``dnc``; the gate checks again at dial time.
    """
    now = now or dt.datetime.now(dt.UTC)
    unique_phones = list(dict.fromkeys(phones))
    with conn.cursor() as cur:
        cur.execute(
            "SELECT phone_e164, registry, effective_at, reason FROM dnc_numbers"
            " WHERE tenant_id = %s AND phone_e164 = ANY(%s)",
            (tenant_id, unique_phones),
        )
        entries: dict[str, list[DncEntry]] = {}
        for r in cur.fetchall():
            entries.setdefault(r["phone_e164"], []).append(
                DncEntry(r["phone_e164"], r["registry"], r["effective_at"], r["reason"])
            )
    blocked = {}
    for phone, listed in entries.items():
        entry = blocking_entry(listed, purpose, packs, now)
        if entry is not None:
            blocked[phone] = entry.registry or INTERNAL
    log.info(
        "dnc.import_scrub tenant_id=%s checked=%d blocked=%d", tenant_id, len(unique_phones), len(blocked)
    )
    return blocked


def lookup_number(conn, tenant_id: int, phone_e164: str) -> list[dict]:
    """Return every listing of one number for the API (registry '' is the internal list)."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT phone_e164, registry, effective_at, reason, added_by, created_at FROM dnc_numbers"
            " WHERE tenant_id = %s AND phone_e164 = %s ORDER BY registry",
            (tenant_id, phone_e164),
        )
        rows = list(cur.fetchall())
    log.debug("dnc.lookup tenant_id=%s phone=%s listings=%d", tenant_id, mask(phone_e164), len(rows))
    return rows
