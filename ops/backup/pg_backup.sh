#!/usr/bin/env bash
# Daily logical backup of the dialer database, kept for BACKUP_KEEP_DAYS.
# Restore with: pg_restore -d <database url> --clean --if-exists FILE
#   DIALER_DATABASE_URL  database to dump (required)
#   BACKUP_DIR           where dumps go (default /var/backups/dialer)
#   BACKUP_KEEP_DAYS     days of dumps to keep (default 14)
set -euo pipefail
: "${DIALER_DATABASE_URL:?set DIALER_DATABASE_URL to the database to back up}"
dir=${BACKUP_DIR:-/var/backups/dialer}
keep=${BACKUP_KEEP_DAYS:-14}
mkdir -p "$dir"
file="$dir/dialer-$(date -u +%Y%m%dT%H%M%SZ).dump"
pg_dump --format=custom --compress=6 --file="$file.partial" "$DIALER_DATABASE_URL"
mv "$file.partial" "$file"
# A dump that pg_restore cannot list is not a backup.
pg_restore --list "$file" >/dev/null
find "$dir" -name 'dialer-*.dump' -mtime +"$keep" -delete
echo "backup written: $file"
