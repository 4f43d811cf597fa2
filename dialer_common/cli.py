"""The ``dialer`` command line: lead import, migrations, partitions and retention, demo data, users, CDRs.

Messages are translated with the catalogs in ``dialer_common/locale``
(Spanish by default, English with ``--lang en`` or
``DIALER_DEFAULT_LOCALE=en``). Catalogs are ``.po`` files compiled in memory
at start, so a clean clone needs no build step. Exit status: 0 on success,
1 on an error the message explains, 2 on a usage error (argparse).
"""

from __future__ import annotations

import argparse
import datetime
import getpass
import io
import logging
import re
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

import psycopg2
from argon2 import PasswordHasher
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from dialer_common import db, demo, leads, partitions
from dialer_common.config import Config
from dialer_common.errors import DialerError
from dialer_common.phone import N_, TranslatableValidationError

log = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "dialer"
ROLES = ("admin", "supervisor", "agent", "viewer")
MIN_PASSWORD_LENGTH = 8

# argparse's own messages, listed so they are extracted into the catalogs;
# argparse looks them up through its module-level ``_`` (Python 3.11).
ARGPARSE_MESSAGES = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("show this help message and exit"),
    N_("the following arguments are required: %s"),
    N_("unrecognized arguments: %s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"),
    N_("expected one argument"),
    N_("%(prog)s: error: %(message)s\n"),
)

TENANT_NOT_FOUND = N_("tenant '{slug}' not found; check the slug, e.g. demo")
USER_EXISTS = N_("user {email} already exists; choose another email")
INVALID_EMAIL = N_("invalid email '{email}'; write it as name@example.com")
PASSWORD_TOO_SHORT = N_("the password is too short; use at least {length} characters")
PASSWORDS_DIFFER = N_("the passwords do not match; run the command again")
INVALID_DAYS = N_("invalid --days {days}; use a number from 1 to 366")
DATABASE_FAILED = N_(
    "cannot connect to the database at {url}: {error}; start it with scripts/services.sh start"
)
MIN_KEEP_DAYS = 31
INVALID_KEEP_DAYS = N_(
    "invalid --keep-days {days}; keep at least {minimum} days, because the abandonment rate covers 30 days"
)
ARCHIVE_OPTIONS_CONFLICT = N_("--archive-dir and --no-archive exclude each other; choose one")
RETENTION_STOPPED = N_("retention stopped, nothing more was dropped: {error}")
ERROR_PREFIX = N_("error: ")
MISSING_VALUE = N_("message {name} needs a value for {value}; pass {value}=...")
NO_ROWS = N_("no rows read from {path}; the file has a header but no leads")


def load_translations(lang: str) -> NullTranslations:
    """Compile ``locale/<lang>/LC_MESSAGES/dialer.po`` in memory; English needs no catalog."""
    po_path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == "en" or not po_path.exists():
        return NullTranslations()
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=lang, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def mask_url(url: str) -> str:
    """Hide the password in a database URL: postgresql://user:***@host/db."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


# ---------------------------------------------------------------- parser


def build_parser(_) -> argparse.ArgumentParser:
    """Build the argument parser with help texts translated by ``_``."""
    parser = argparse.ArgumentParser(prog="dialer", description=_("Outbound dialer administration."))
    parser.add_argument(
        "--lang", choices=("es", "en"), help=_("language of messages (default: DIALER_DEFAULT_LOCALE or es)")
    )
    parser.add_argument("-v", "--verbose", action="store_true", help=_("log progress details to stderr"))
    areas = parser.add_subparsers(dest="area", required=True, metavar="{leads,db,demo,user,cdr}")

    leads_parser = areas.add_parser("leads", help=_("lead lists"))
    leads_commands = leads_parser.add_subparsers(dest="command", required=True)
    import_parser = leads_commands.add_parser("import", help=_("import a CSV of leads into a campaign"))
    import_parser.add_argument("file", type=Path, help=_("CSV file exported from Excel or Google Sheets"))
    import_parser.add_argument("--campaign", type=int, required=True, help=_("campaign id"))
    import_parser.add_argument(
        "--tenant", help=_("tenant slug; the import fails if the campaign is not in it")
    )
    import_parser.add_argument(
        "--rejects", type=Path, help=_("where to write rejected rows (default: FILE.rejects.csv)")
    )
    import_parser.add_argument("--list-name", help=_("name of the lead list (default: file name and time)"))
    import_parser.add_argument("--no-progress", action="store_true", help=_("do not show the progress bar"))

    db_parser = areas.add_parser("db", help=_("database maintenance"))
    db_commands = db_parser.add_subparsers(dest="command", required=True)
    db_commands.add_parser("migrate", help=_("apply pending migrations"))
    partitions_parser = db_commands.add_parser("partitions", help=_("create daily partitions ahead of time"))
    partitions_parser.add_argument(
        "--days", type=int, default=7, help=_("number of days from yesterday (default: 7)")
    )

    retention_parser = db_commands.add_parser(
        "retention", help=_("archive and drop day partitions older than the retention period")
    )
    retention_parser.add_argument(
        "--keep-days",
        type=int,
        help=_("days of attempts and CDRs to keep (default: DIALER_RETENTION_KEEP_DAYS or 400)"),
    )
    retention_parser.add_argument(
        "--archive-dir",
        type=Path,
        help=_("folder for the gzip CSV archives (default: DIALER_RETENTION_ARCHIVE_DIR or var/archive)"),
    )
    retention_parser.add_argument(
        "--no-archive", action="store_true", help=_("drop old partitions without archiving them first")
    )
    retention_parser.add_argument(
        "--dry-run", action="store_true", help=_("only list what would be archived and dropped")
    )

    demo_parser = areas.add_parser("demo", help=_("demo data"))
    demo_commands = demo_parser.add_subparsers(dest="command", required=True)
    seed_parser = demo_commands.add_parser("seed", help=_("create or update the demo tenant"))
    seed_parser.add_argument("--email", help=_("admin email (default: DEMO_EMAIL or admin@demo.example)"))
    seed_parser.add_argument(
        "--password", help=_("admin password (default: DEMO_PASSWORD or a generated one)")
    )

    messages_parser = demo_commands.add_parser(
        "messages", help=_("print the demo script's messages as shell variables, translated")
    )
    messages_parser.add_argument("values", nargs="*", metavar="NAME=VALUE", help=_("values for the placeholders"))

    user_parser = areas.add_parser("user", help=_("users"))
    user_commands = user_parser.add_subparsers(dest="command", required=True)
    add_parser = user_commands.add_parser("add", help=_("add a user to a tenant"))
    add_parser.add_argument("--tenant", required=True, help=_("tenant slug"))
    add_parser.add_argument("--email", required=True, help=_("login email"))
    add_parser.add_argument("--role", required=True, choices=ROLES, help=_("role"))
    add_parser.add_argument("--name", default="", help=_("full name"))
    add_parser.add_argument(
        "--password-stdin", action="store_true", help=_("read the password from the first line of stdin")
    )

    cdr_parser = areas.add_parser("cdr", help=_("call detail records"))
    cdr_commands = cdr_parser.add_subparsers(dest="command", required=True)
    load_parser = cdr_commands.add_parser("load", help=_("load CDR files a media node could not post"))
    load_parser.add_argument("loader_args", nargs=argparse.REMAINDER, help=_("directory and loader options"))
    return parser


# ---------------------------------------------------------------- commands


class Context:
    """Settings and translation function shared by every command."""

    def __init__(self, config: Config, translations: NullTranslations) -> None:
        self.config = config
        self._ = translations.gettext

    def say(self, template: str, **params: object) -> None:
        print(self._(template).format(**params))


def _count_lines(path: Path) -> int | None:
    try:
        with path.open("rb") as lead_file:
            return sum(1 for _ in lead_file)
    except OSError:
        return None


def cmd_leads_import(ctx: Context, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    show_bar = not args.no_progress and sys.stderr.isatty()
    total = _count_lines(args.file) if show_bar else None
    bar = tqdm(total=total and max(total - 1, 0), unit=ctx._("rows"), file=sys.stderr, disable=not show_bar)

    def advance(rows_read: int) -> None:
        bar.update(rows_read - bar.n)

    conn = db.connect(ctx.config.database_url)
    try:
        result = leads.import_leads(
            conn,
            args.file,
            args.campaign,
            args.tenant,
            rejects_path=args.rejects,
            list_name=args.list_name,
            gettext=ctx._,
            progress=advance,
        )
    finally:
        bar.close()
        conn.close()

    ctx.say(
        N_("File: {path} (encoding {encoding}, delimiter {delimiter})"),
        path=args.file,
        encoding=result.encoding,
        delimiter=repr(result.delimiter),
    )
    ctx.say(N_("Rows read: {count}"), count=result.rows_read)
    ctx.say(N_("Imported (new): {count}"), count=result.inserted)
    ctx.say(N_("Updated: {count}"), count=result.updated)
    ctx.say(N_("Unchanged: {count}"), count=result.unchanged)
    ctx.say(N_("Rejected: {count}"), count=result.rejected)
    ctx.say(N_("On a do-not-call list (stored, not dialed): {count}"), count=result.do_not_call)
    ctx.say(N_("Rejects file: {path}"), path=result.rejects_path)
    if result.rows_read == 0:
        print(ctx._(NO_ROWS).format(path=args.file), file=sys.stderr)
        return 1
    return 0


def cmd_db_migrate(ctx: Context, args: argparse.Namespace) -> int:
    applied = db.apply_migrations(ctx.config.database_url)
    if applied:
        ctx.say(N_("Applied migrations: {ids}"), ids=", ".join(applied))
    else:
        ctx.say(N_("The database is up to date."))
    return 0


def cmd_db_partitions(ctx: Context, args: argparse.Namespace) -> int:
    if not 1 <= args.days <= 366:
        raise TranslatableValidationError(INVALID_DAYS, days=args.days)
    conn = db.connect(ctx.config.database_url)
    yesterday = partitions.utc_today() - datetime.timedelta(days=1)
    try:
        for table in partitions.TABLES:
            created = partitions.ensure_daily_partitions(conn, table, yesterday, args.days)
            ctx.say(N_("{table}: {count} partitions created"), table=table, count=created)
    finally:
        conn.close()
    return 0


def _retention_settings(ctx: Context, args: argparse.Namespace) -> tuple[int, Path | None]:
    keep_days = ctx.config.retention_keep_days if args.keep_days is None else args.keep_days
    if keep_days < MIN_KEEP_DAYS:
        raise TranslatableValidationError(INVALID_KEEP_DAYS, days=keep_days, minimum=MIN_KEEP_DAYS)
    if args.no_archive and args.archive_dir is not None:
        raise TranslatableValidationError(ARCHIVE_OPTIONS_CONFLICT)
    if args.no_archive:
        return keep_days, None
    return keep_days, args.archive_dir or Path(ctx.config.retention_archive_dir)


def _say_retired(ctx: Context, item: partitions.RetiredPartition, dry_run: bool,
                 archive_dir: Path | None) -> None:
    fields = {"table": item.table, "partition": item.partition, "day": item.day, "rows": item.rows,
              "path": item.archive}
    if dry_run and item.partition.endswith("_default"):
        ctx.say(N_("{table}: {rows} rows of {day} in {partition} would be moved to a day partition, "
                   "archived and dropped"), **fields)
    elif dry_run and archive_dir is None:
        ctx.say(N_("{table}: {partition} ({day}, {rows} rows) would be dropped without an archive"), **fields)
    elif dry_run:
        ctx.say(N_("{table}: {partition} ({day}, {rows} rows) would be archived and dropped"), **fields)
    elif item.archive is not None:
        ctx.say(N_("{table}: {partition} ({day}, {rows} rows) archived to {path} and dropped"), **fields)
    else:
        ctx.say(N_("{table}: {partition} ({day}, {rows} rows) dropped without an archive"), **fields)


def cmd_db_retention(ctx: Context, args: argparse.Namespace) -> int:
    keep_days, archive_dir = _retention_settings(ctx, args)
    conn = db.connect(ctx.config.database_url)
    try:
        retired = partitions.apply_retention(conn, keep_days, archive_dir, dry_run=args.dry_run)
    except partitions.ArchiveError as error:
        raise TranslatableValidationError(RETENTION_STOPPED, error=error) from error
    finally:
        conn.close()

    for item in retired:
        _say_retired(ctx, item, args.dry_run, archive_dir)
    if not retired:
        cutoff = partitions.utc_today() - datetime.timedelta(days=keep_days)
        ctx.say(N_("Nothing to drop: no attempts or CDRs from before {cutoff}."), cutoff=cutoff)
    return 0


def cmd_demo_messages(ctx: Context, args: argparse.Namespace) -> int:
    values = dict(item.partition("=")[::2] for item in args.values)
    for name, template in demo.SCRIPT_MESSAGES.items():
        try:
            text = ctx._(template).format(**values)
        except KeyError as missing:
            raise TranslatableValidationError(MISSING_VALUE, name=name, value=missing.args[0]) from None
        print(f"DEMO_MSG_{name.upper()}={shlex.quote(text)}")
    return 0


def cmd_demo_seed(ctx: Context, args: argparse.Namespace) -> int:
    email = args.email or ctx.config.demo_email or None
    password = args.password or ctx.config.demo_password or None
    conn = db.connect(ctx.config.database_url)
    try:
        result = demo.seed(conn, email, password)
    finally:
        conn.close()

    ctx.say(
        N_("Demo tenant '{slug}' ready: campaign {campaign_id}, 8 agents, 5 DIDs."),
        slug=demo.TENANT_SLUG,
        campaign_id=result.campaign_id,
    )
    # DEMO_PASSWORD sets the admin's password only.
    unchanged_admin = N_("User {email}: password unchanged; set DEMO_PASSWORD to choose a new one")
    for email, password, unchanged in (
        (result.admin_email, result.admin_password, unchanged_admin),
        (result.supervisor_email, result.supervisor_password, N_("User {email}: password unchanged")),
    ):
        if password is None:
            ctx.say(unchanged, email=email)
        else:
            ctx.say(N_("User {email}: password {password}"), email=email, password=password)
    # Scripts read this line, so it is never translated.
    print(f"campaign_id={result.campaign_id}")
    return 0


def _read_password(ctx: Context, from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(ctx._("Password: "))
        if getpass.getpass(ctx._("Repeat the password: ")) != password:
            raise TranslatableValidationError(PASSWORDS_DIFFER)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise TranslatableValidationError(PASSWORD_TOO_SHORT, length=MIN_PASSWORD_LENGTH)
    return password


def cmd_user_add(ctx: Context, args: argparse.Namespace) -> int:
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", args.email):
        raise TranslatableValidationError(INVALID_EMAIL, email=args.email)
    password = _read_password(ctx, args.password_stdin)

    conn = db.connect(ctx.config.database_url)
    try:
        with db.transaction(conn) as cur:
            cur.execute("SELECT id FROM tenants WHERE slug = %s", (args.tenant,))
            tenant = cur.fetchone()
            if tenant is None:
                raise TranslatableValidationError(TENANT_NOT_FOUND, slug=args.tenant)
            cur.execute(
                "INSERT INTO users (tenant_id, email, password_hash, full_name, role)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING id",
                (tenant["id"], args.email, PasswordHasher().hash(password), args.name, args.role),
            )
            created = cur.fetchone()
            if created is None:
                raise TranslatableValidationError(USER_EXISTS, email=args.email)
    finally:
        conn.close()
    log.info("user.added user_id=%s tenant=%s role=%s", created["id"], args.tenant, args.role)
    ctx.say(
        N_("User {email} added to tenant '{tenant}' as {role}."),
        email=args.email,
        tenant=args.tenant,
        role=args.role,
    )
    return 0


def cmd_cdr_load(ctx: Context, args: argparse.Namespace) -> int:
    from dialer_common.cdr.loader import main as load_cdrs

    return load_cdrs(args.loader_args, gettext=ctx._) or 0


COMMANDS = {
    ("leads", "import"): cmd_leads_import,
    ("db", "migrate"): cmd_db_migrate,
    ("db", "partitions"): cmd_db_partitions,
    ("db", "retention"): cmd_db_retention,
    ("demo", "seed"): cmd_demo_seed,
    ("demo", "messages"): cmd_demo_messages,
    ("user", "add"): cmd_user_add,
    ("cdr", "load"): cmd_cdr_load,
}


# ---------------------------------------------------------------- entry point


def _choose_language(argv: Sequence[str], config: Config) -> str:
    """Read ``--lang`` before the full parse, because the help texts depend on it."""
    pre_parser = argparse.ArgumentParser(add_help=False)
    pre_parser.add_argument("--lang", choices=("es", "en"))
    known, _ = pre_parser.parse_known_args(argv)
    return known.lang or config.default_locale


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``dialer`` command and return its exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        config = Config.from_env()
    except DialerError as error:
        print(f"dialer: error: {error}", file=sys.stderr)
        return 1

    translations = load_translations(_choose_language(argv, config))
    argparse._ = translations.gettext
    args = build_parser(translations.gettext).parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    ctx = Context(config, translations)
    command = COMMANDS[(args.area, args.command)]
    error_prefix = translations.gettext(ERROR_PREFIX)

    try:
        return command(ctx, args)
    except TranslatableValidationError as error:
        print(f"dialer: {error_prefix}{error.render(translations.gettext)}", file=sys.stderr)
    except DialerError as error:
        print(f"dialer: {error_prefix}{error}", file=sys.stderr)
    except psycopg2.OperationalError as error:
        message = translations.gettext(DATABASE_FAILED).format(
            url=mask_url(config.database_url), error=str(error).strip().splitlines()[0]
        )
        print(f"dialer: {error_prefix}{message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
