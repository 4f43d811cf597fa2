"""Structure checks on the SIPp scenarios in sipp/, and real calls between them when sipp is installed."""

import re
import shutil
import socket
import subprocess
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIO_DIR = ROOT / "sipp"
TEST_SCENARIO_DIR = Path(__file__).resolve().parent
SCENARIOS = sorted(SCENARIO_DIR.glob("*.xml")) + sorted(TEST_SCENARIO_DIR.glob("*.xml"))
SIPP = shutil.which("sipp")
REQUEST_LINE = re.compile(r"^([A-Z]+) \S+ SIP/2\.0$")
STATUS_LINE = re.compile(r"^SIP/2\.0 (\d{3}) .+$")


def commands(path):
    root = ElementTree.parse(path).getroot()
    return [element for element in root if element.tag in ("send", "recv", "pause", "nop", "label")]


def first_line(send):
    return next(line.strip() for line in (send.text or "").splitlines() if line.strip())


def send_kind(send):
    """Return ('request', method) or ('response', code) for a send element."""
    line = first_line(send)
    request = REQUEST_LINE.match(line)
    if request:
        return "request", request.group(1)
    status = STATUS_LINE.match(line)
    assert status, f"send starts with neither a request nor a status line: {line!r}"
    return "response", int(status.group(1))


def next_recv(steps, index):
    return next((step for step in steps[index + 1 :] if step.tag == "recv"), None)


def recvs_until_next_send(steps, index):
    following = []
    for step in steps[index + 1 :]:
        if step.tag == "send":
            break
        if step.tag == "recv":
            following.append(step)
    return following


def answers_invite(send, last_request):
    """Return True when a sent response carries the INVITE's CSeq."""
    if "[last_CSeq:]" in send.text:
        return last_request == "INVITE"
    cseq = re.search(r"^\s*CSeq: (.+)$", send.text, flags=re.MULTILINE)
    return cseq is not None and cseq.group(1).strip().endswith("INVITE")


def ids(path):
    return path.relative_to(ROOT).as_posix()


def test_scenario_files_present():
    names = {path.name for path in SCENARIO_DIR.glob("*.xml")}

    assert names >= {
        "uas_183_200_bye.xml",
        "uas_486.xml",
        "uas_503.xml",
        "uas_180_noanswer.xml",
        "uas_answer_hangup.xml",
        "uas_machine_greeting.xml",
        "uac_load.xml",
    }


@pytest.mark.parametrize("path", SCENARIOS, ids=ids)
def test_scenario_well_formed(path):
    root = ElementTree.parse(path).getroot()
    steps = commands(path)

    assert root.tag == "scenario"
    assert root.get("name")
    assert steps
    for send in (step for step in steps if step.tag == "send"):
        send_kind(send)
        assert "Content-Length:" in send.text


@pytest.mark.parametrize("path", SCENARIOS, ids=ids)
def test_jump_targets_exist(path):
    steps = commands(path)
    labels = {step.get("id") for step in steps if step.tag == "label"}

    for step in steps:
        for attribute in ("next", "ontimeout"):
            target = step.get(attribute)
            if target is not None:
                assert target in labels, f"{attribute}={target!r} names no label"


@pytest.mark.parametrize("path", SCENARIOS, ids=ids)
def test_sent_requests_await_final(path):
    steps = commands(path)

    for index, step in enumerate(steps):
        if step.tag != "send":
            continue
        kind, value = send_kind(step)
        if kind != "request" or value == "ACK":
            continue
        # A CANCEL may come first, so an INVITE's final response can follow later sends.
        window = steps[index + 1 :] if value == "INVITE" else recvs_until_next_send(steps, index)
        final = [
            recv
            for recv in window
            if recv.tag == "recv"
            and recv.get("response")
            and int(recv.get("response")) >= 200
            and recv.get("optional") != "true"
        ]
        assert final, f"{value} at step {index} is not followed by a mandatory final response"


@pytest.mark.parametrize("path", SCENARIOS, ids=ids)
def test_bye_and_cancel_await_200(path):
    steps = commands(path)

    for index, step in enumerate(steps):
        if step.tag == "send" and send_kind(step) in (("request", "BYE"), ("request", "CANCEL")):
            answer = next_recv(steps, index)
            assert answer is not None
            assert answer.get("response") == "200"
            assert answer.get("optional") != "true"


@pytest.mark.parametrize("path", SCENARIOS, ids=ids)
def test_invite_final_awaits_ack(path):
    steps = commands(path)
    last_request = None

    for index, step in enumerate(steps):
        if step.tag == "recv" and step.get("request"):
            last_request = step.get("request")
        if step.tag != "send":
            continue
        kind, value = send_kind(step)
        if kind == "response" and value >= 200 and answers_invite(step, last_request):
            ack = next_recv(steps, index)
            assert ack is not None, f"final {value} at step {index} is not followed by a recv"
            assert ack.get("request") == "ACK", f"final {value} at step {index} is not followed by the ACK"


@pytest.mark.parametrize("path", SCENARIOS, ids=ids)
def test_received_bye_answered(path):
    steps = commands(path)

    for index, step in enumerate(steps):
        if step.tag == "recv" and step.get("request") == "BYE":
            reply = steps[index + 1]
            assert reply.tag == "send"
            assert send_kind(reply) == ("response", 200)


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_call(tmp_path, uas, uac, uac_options=()):
    """Run one call from a SIPp caller to a SIPp callee on 127.0.0.1 and return both exit codes."""
    sip_port = free_udp_port()
    common = ["-i", "127.0.0.1", "-m", "1", "-nostdin", "-timeout", "20", "-mi", "127.0.0.1"]
    callee = subprocess.Popen(
        [SIPP, "-sf", str(uas), "-p", str(sip_port), "-mp", str(free_udp_port()), *common],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        caller = subprocess.run(
            [SIPP, f"127.0.0.1:{sip_port}", "-sf", str(uac), "-p", str(free_udp_port()),
             "-mp", str(free_udp_port()), "-s", "15550100", *common, *uac_options],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=30,
        )
        callee_code = callee.wait(timeout=30)
    finally:
        if callee.poll() is None:
            callee.kill()
            callee.wait()
    return caller.returncode, callee_code


needs_sipp = pytest.mark.skipif(SIPP is None, reason="sipp is not installed (apt-get install sip-tester)")


@needs_sipp
@pytest.mark.parametrize(
    ("uas", "uac", "uac_options"),
    [
        ("uas_486.xml", "uac_load.xml", ("-d", "200")),
        ("uas_503.xml", "uac_load.xml", ("-d", "200")),
        ("uas_answer_hangup.xml", "uac_load.xml", ("-d", "300")),
        ("uas_180_noanswer.xml", "uac_cancel.xml", ()),
        pytest.param("uas_183_200_bye.xml", "uac_callee_hangs_up.xml", (), marks=pytest.mark.slow),
        pytest.param("uas_answer_hangup.xml", "uac_callee_hangs_up.xml", (), marks=pytest.mark.slow),
    ],
)
def test_sipp_call_completes(tmp_path, uas, uac, uac_options):
    uac_path = SCENARIO_DIR / uac if (SCENARIO_DIR / uac).exists() else TEST_SCENARIO_DIR / uac

    caller_code, callee_code = run_call(tmp_path, SCENARIO_DIR / uas, uac_path, uac_options)

    assert caller_code == 0
    assert callee_code == 0


@needs_sipp
def test_sipp_mismatch_fails(tmp_path):
    caller_code, _ = run_call(tmp_path, SCENARIO_DIR / "uas_486.xml", TEST_SCENARIO_DIR / "uac_callee_hangs_up.xml")

    assert caller_code != 0
