"""The backup script writes a dump that pg_restore can read back."""

import os
import subprocess

from tests.conftest import ROOT


def test_backup_writes_restorable_dump(config, tmp_path):
    env = dict(os.environ, DIALER_DATABASE_URL=config.database_url, BACKUP_DIR=str(tmp_path))
    result = subprocess.run(
        ["bash", str(ROOT / "ops/backup/pg_backup.sh")], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    dumps = list(tmp_path.glob("dialer-*.dump"))
    assert len(dumps) == 1
    listing = subprocess.run(["pg_restore", "--list", str(dumps[0])], capture_output=True, text=True)
    assert "TABLE public campaigns" in listing.stdout
    assert "TABLE public cdr" in listing.stdout


def test_backup_without_database_url_fails(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "DIALER_DATABASE_URL"}
    env["BACKUP_DIR"] = str(tmp_path)
    result = subprocess.run(
        ["bash", str(ROOT / "ops/backup/pg_backup.sh")], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "DIALER_DATABASE_URL" in result.stderr
