"""mod_json_cdr: build a leg's JSON CDR from a recorded one and post it."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from urllib.parse import quote

import gevent
from gevent.pool import Pool

log = logging.getLogger(__name__)

_PROFILE_KEYS = {
    "caller_id_name": "Caller-Caller-ID-Name",
    "ani": "Caller-ANI",
    "caller_id_number": "Caller-Caller-ID-Number",
    "destination_number": "Caller-Destination-Number",
    "uuid": "Unique-ID",
    "chan_name": "Channel-Name",
}


def build_cdr(template: dict, node, leg, headers, applications) -> dict:
    """Fill a recorded CDR with the leg's CHANNEL_HANGUP_COMPLETE values."""
    cdr = copy.deepcopy(template)
    cdr["core-uuid"] = node.core_uuid
    cdr["switchname"] = node.settings.hostname
    cdr["variables"] = {name[9:]: value for name, value in headers if name.startswith("variable_")}
    values = dict(headers)
    times = leg.times
    for entry in cdr["callflow"]:
        profile = entry["caller_profile"]
        for key, header in _PROFILE_KEYS.items():
            if header in values:
                profile[key] = values[header]
        entry["times"].update(
            created_time=str(times["created"]),
            profile_created_time=str(times["created"]),
            progress_time=str(times["progress"]),
            progress_media_time=str(times["progress_media"]),
            answered_time=str(times["answered"]),
            bridged_time=str(times["bridged"]),
            hangup_time=str(times["hangup"]),
        )
        originator = profile.get("originator")
        if originator and leg.other is not None:
            other = originator["originator_caller_profiles"][0]
            other.update(
                uuid=leg.other.uuid,
                destination_number=leg.other.tokens.get("number", ""),
                chan_name=leg.other.tokens.get("channel_name", ""),
            )
    if applications:
        stamp = str(times["answered"] or times["created"])
        cdr["app_log"] = {
            "applications": [
                {"app_name": name, "app_data": data, "app_stamp": stamp} for name, data in applications
            ]
        }
    else:
        cdr.pop("app_log", None)
    return cdr


class CdrPoster:
    """Posts CDRs from a pool of worker greenlets, retrying like mod_json_cdr."""

    def __init__(
        self,
        url: str,
        user: str,
        password: str,
        templates,
        retries: int = 0,
        delay_s: float = 1.0,
        timeout_s: float = 5.0,
        form_encoded: bool = False,
        err_log_dir: Path | None = None,
        workers: int = 50,
    ) -> None:
        import requests

        self.url = url
        self.templates = templates
        self.retries = retries
        self.delay_s = delay_s
        self.timeout_s = timeout_s
        self.form_encoded = form_encoded
        self.err_log_dir = err_log_dir
        self.pool = Pool(workers)
        self.session = requests.Session()
        self.session.auth = (user, password)
        self.session.headers["User-Agent"] = "freeswitch-json/1.0"

    def post_and_wait(self, node, leg, headers, template_key: str, applications) -> None:
        """Post the leg's CDR and return after the whole retry cycle.

        mod_json_cdr posts from the session thread before CHANNEL_HANGUP_COMPLETE
        fires, so a failing web tier delays that event by at most
        ``retries * delay_s + (retries + 1) * timeout_s``, as on a real node.
        At most ``workers`` posts run at once; the others wait their turn.
        """
        cdr = build_cdr(self.templates.cdrs[template_key], node, leg, headers, applications)
        self.pool.spawn(self._deliver, leg.uuid, cdr).join()

    def _body(self, cdr: dict) -> tuple[bytes, str]:
        text = json.dumps(cdr, ensure_ascii=False, separators=(",", ":"))
        if self.form_encoded:
            return ("cdr=" + quote(text, safe="")).encode("ascii"), "application/x-www-form-urlencoded"
        return text.encode("utf-8"), "application/json"

    def _deliver(self, uuid: str, cdr: dict) -> None:
        import requests

        body, content_type = self._body(cdr)
        for attempt in range(self.retries + 1):
            if attempt:
                gevent.sleep(self.delay_s)
            try:
                response = self.session.post(
                    self.url,
                    params={"uuid": uuid},
                    data=body,
                    headers={"Content-Type": content_type},
                    timeout=self.timeout_s,
                )
                status = response.status_code
            except requests.RequestException as error:
                status = 0
                log.warning("cdr.post_failed uuid=%s attempt=%s error=%s", uuid, attempt + 1, error)
            if 200 <= status < 300:
                log.debug("cdr.posted uuid=%s status=%s", uuid, status)
                return
            if status:
                log.warning("cdr.post_rejected uuid=%s attempt=%s status=%s", uuid, attempt + 1, status)
        self._write_error_log(uuid, body)

    def _write_error_log(self, uuid: str, body: bytes) -> None:
        log.error(
            "cdr.undelivered uuid=%s attempts=%s err_log_dir=%s", uuid, self.retries + 1, self.err_log_dir
        )
        if self.err_log_dir is None:
            return
        self.err_log_dir.mkdir(parents=True, exist_ok=True)
        (self.err_log_dir / f"{uuid}.cdr.json").write_bytes(body + b"\n")
