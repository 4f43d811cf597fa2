"""Tests of the ESL wire format against recordings of a real FreeSWITCH 1.10.12."""

from __future__ import annotations

import random

import pytest

from dialer_common.errors import ProtocolError
from dialer_common.esl import (
    MAX_HEADER_BLOCK,
    Frame,
    FrameParser,
    encode_command,
    encode_event_json,
    encode_event_plain,
    encode_frame,
    parse_event,
)
from tests.esl.recordings import ESL_FILES, recorded_events, recorded_frames, recording_bytes


def frame_key(frame: Frame) -> tuple[tuple[tuple[str, str], ...], bytes]:
    return tuple(frame.headers.items()), frame.body


def feed_in_chunks(data: bytes, sizes: list[int]) -> list[Frame]:
    parser = FrameParser()
    frames = []
    position = 0
    for size in sizes:
        frames += parser.feed(data[position : position + size])
        position += size
    frames += parser.feed(data[position:])
    return frames


# -- framing ---------------------------------------------------------------


def test_recordings_listed():
    assert len(ESL_FILES) == 18


@pytest.mark.parametrize("name", ESL_FILES)
def test_recording_frames_cover_every_byte(name):
    data = recording_bytes(name)
    frames = recorded_frames(name)

    reencoded = b"".join(encode_frame(list(frame.headers.items()), frame.body) for frame in frames)

    assert frames
    assert reencoded == data


@pytest.mark.parametrize("name", ["originate_busy.esl", "api_and_errors.esl", "acl_rejected.esl"])
def test_parser_split_at_every_byte(name):
    data = recording_bytes(name)
    expected = [frame_key(frame) for frame in recorded_frames(name)]

    parser = FrameParser()
    frames = []
    for index in range(len(data)):
        frames += parser.feed(data[index : index + 1])

    assert [frame_key(frame) for frame in frames] == expected


@pytest.mark.parametrize("name", ESL_FILES)
def test_parser_random_chunks(name):
    data = recording_bytes(name)
    expected = [frame_key(frame) for frame in recorded_frames(name)]
    rng = random.Random(name)

    for _ in range(5):
        sizes = [rng.choice((1, 2, 7, 64, 1000, 4096, 65536)) for _ in range(len(data) // 50 + 1)]
        frames = feed_in_chunks(data, sizes)
        assert [frame_key(frame) for frame in frames] == expected


def test_parser_empty_feed_returns_nothing():
    parser = FrameParser()

    assert parser.feed(b"") == []
    assert parser.feed(b"Content-Type: auth/request\n") == []
    assert [f.content_type for f in parser.feed(b"\n")] == ["auth/request"]


# -- facts each recording shows -------------------------------------------


def test_answer_hangup_event_order():
    events = recorded_events("originate_answer_hangup.esl")
    names = [event.name for event in events]

    assert names == [
        "CHANNEL_CREATE",
        "CHANNEL_PROGRESS_MEDIA",
        "BACKGROUND_JOB",
        "CHANNEL_ANSWER",
        "HEARTBEAT",
        "CHANNEL_HANGUP",
        "CHANNEL_HANGUP_COMPLETE",
    ]


def test_answer_hangup_channel_headers():
    create, media, job, answer, _, hangup, complete = recorded_events("originate_answer_hangup.esl")
    call_uuid = "c5518e2a-63c5-4c8e-9993-7bc8ab8f2573"

    assert create.uuid == call_uuid
    assert create.get("Answer-State") == "ringing"
    assert create.get("Caller-Caller-ID-Name") == "Peña Test"
    assert create.get("variable_dialer_campaign_id") == "7"
    assert create.get("variable_dialer_lead_id") == "42"
    assert create.get("FreeSWITCH-IPv6") == "::1"
    assert create.get("Event-Date-Local") == "2026-12-04 19:54:40"
    assert media.get("Answer-State") == "early"
    assert answer.get("Caller-Caller-ID-Name") == "Outbound Call"
    assert hangup.get("Hangup-Cause") == "NORMAL_CLEARING"
    assert complete.get("variable_billsec") == "3"
    assert complete.get("variable_sip_hangup_disposition") == "recv_bye"
    assert complete.subclass is None


def test_answer_hangup_job_before_answer():
    job = recorded_events("originate_answer_hangup.esl")[2]

    assert job.name == "BACKGROUND_JOB"
    assert job.get("Job-UUID") == "54f8c7c9-1b66-4e5c-b338-98dc27693d79"
    assert job.body == "+OK c5518e2a-63c5-4c8e-9993-7bc8ab8f2573\n"
    assert job.uuid is None


def test_busy_job_body_after_hangup():
    events = recorded_events("originate_busy.esl")
    names = [event.name for event in events]
    job = events[names.index("BACKGROUND_JOB")]

    assert names.index("BACKGROUND_JOB") > names.index("CHANNEL_HANGUP_COMPLETE")
    assert job.body == "-ERR USER_BUSY\n"
    assert job.get("Content-Length") == "15"
    assert events[names.index("CHANNEL_HANGUP")].get("Hangup-Cause") == "USER_BUSY"


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("originate_no_answer.esl", "-ERR NO_ANSWER\n"),
        ("originate_unavailable.esl", "-ERR NORMAL_TEMPORARY_FAILURE\n"),
        ("originate_unquoted_space.esl", "-ERR DESTINATION_OUT_OF_ORDER\n"),
    ],
)
def test_failed_originate_job_bodies(name, body):
    jobs = [event for event in recorded_events(name) if event.name == "BACKGROUND_JOB"]

    assert [job.body for job in jobs] == [body]


def test_json_events_match_plain():
    plain = recorded_events("originate_answer_hangup.esl")
    json_events = recorded_events("originate_answer_hangup_json.esl")
    job = json_events[2]

    # HEARTBEAT fires on a timer, so only the call's own events keep their order.
    assert [e.name for e in json_events if e.name != "HEARTBEAT"] == [
        e.name for e in plain if e.name != "HEARTBEAT"
    ]
    assert json_events[0].get("Caller-Caller-ID-Name") == "Peña Test"
    assert json_events[0].uuid == "4eb400a3-2994-4155-9441-1c385d9e43fa"
    assert job.body == "+OK 4eb400a3-2994-4155-9441-1c385d9e43fa\n"
    assert "origination_caller_id_name='Peña Test'" in job.get("Job-Command-Arg")
    assert "_body" not in job.headers


def test_callcenter_info_actions_in_order():
    events = recorded_events("callcenter_flow.esl")
    custom = [event for event in events if event.name == "CUSTOM"]
    actions = [event.get("CC-Action") for event in custom]

    assert all(event.subclass == "callcenter::info" for event in custom)
    assert actions[:5] == [
        "agent-add",
        "agent-contact-change",
        "agent-status-change",
        "agent-state-change",
        "agent-status-get",
    ]
    assert actions[-4:] == ["bridge-agent-end", "member-queue-end", "agent-state-change", "agent-state-get"]


def test_callcenter_member_ids_differ():
    events = recorded_events("callcenter_flow.esl")
    start = next(event for event in events if event.get("CC-Action") == "member-queue-start")
    end = next(event for event in events if event.get("CC-Action") == "member-queue-end")
    bridge = next(event for event in events if event.get("CC-Action") == "bridge-agent-start")

    assert start.get("CC-Member-Session-UUID") == "09dba730-ebc2-4f80-8c91-b273d5e36b77"
    assert start.get("CC-Member-UUID") == "9e11508d-4c29-4031-98ed-e90ce9cf4112"
    assert start.get("variable_dialer_campaign_id") == "7"
    assert end.get("CC-Cause") == "Terminated"
    assert bridge.get("CC-Agent-UUID") == "70bc488a-6741-4ff5-b806-08dc69495808"
    assert bridge.get("variable_dialer_campaign_id") is None


def test_api_and_errors_replies():
    frames = recorded_frames("api_and_errors.esl")
    api = [frame for frame in frames if frame.content_type == "api/response"]
    replies = [frame.headers["Reply-Text"] for frame in frames if frame.content_type == "command/reply"]

    assert api[0].body == b"FreeSWITCH Version 1.10.12-release~64bit ( 64bit)\n"
    assert api[2].body == b"-ERR no_such_command Command not found!\n"
    assert replies == ["+OK accepted", "-ERR command not found", "+OK bye"]


def test_callcenter_api_status_body():
    bodies = [
        frame.body for frame in recorded_frames("callcenter_flow.esl") if frame.content_type == "api/response"
    ]

    assert b"Available" in bodies
    assert bodies[-1] == b"Waiting"


def test_disconnect_notice_has_no_disposition():
    notice = recorded_frames("api_and_errors.esl")[-1]

    assert notice.content_type == "text/disconnect-notice"
    assert "Content-Disposition" not in notice.headers
    assert notice.body == b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"


def test_acl_rejection_frames():
    rejection, notice = recorded_frames("acl_rejected.esl")

    assert rejection.content_type == "text/rude-rejection"
    assert rejection.body == b"Access Denied, go away.\n"
    assert notice.content_type == "text/disconnect-notice"


def test_bgapi_generated_job_uuid():
    frames = recorded_frames("bgapi_misc.esl")
    replies = [frame for frame in frames if frame.headers.get("Job-UUID")]
    jobs = recorded_events("bgapi_misc.esl")

    assert replies[0].headers["Reply-Text"] == "+OK Job-UUID: " + replies[0].headers["Job-UUID"]
    assert jobs[1].get("Job-UUID") == replies[1].headers["Job-UUID"]
    assert jobs[1].get("Job-Command-Arg") == "with args"
    assert jobs[1].body == "-ERR no_such_command Command not found!\n"


def test_heartbeat_headers():
    heartbeat = next(e for e in recorded_events("heartbeat.esl") if e.name == "HEARTBEAT")

    assert heartbeat.get("Session-Per-Sec") == "30"
    assert heartbeat.get("Event-Info") == "System Ready"
    assert heartbeat.headers["Max-Sessions"] == "1000"


def test_repeated_header_kept_in_pairs():
    complete = recorded_events("originate_busy.esl")[2]
    causes = [value for name, value in complete.header_pairs if name == "Hangup-Cause"]

    assert complete.name == "CHANNEL_HANGUP_COMPLETE"
    assert causes == ["USER_BUSY", "USER_BUSY"]
    assert complete.headers["Hangup-Cause"] == "USER_BUSY"


# -- byte-exact re-encoding --------------------------------------------------


@pytest.mark.parametrize("name", ESL_FILES)
def test_reencode_recorded_events_exactly(name):
    frames = [f for f in recorded_frames(name) if f.content_type.startswith("text/event-")]

    for frame in frames:
        event = parse_event(frame)
        if frame.content_type == "text/event-plain":
            encoded = encode_event_plain(event.header_pairs, event.body)
        else:
            encoded = encode_event_json(event.header_pairs, event.body)
        assert encoded == encode_frame(list(frame.headers.items()), frame.body), event.name


# -- encoders and round trips -------------------------------------------------

TRICKY_HEADERS = [
    ("Event-Name", "CUSTOM"),
    ("Event-Subclass", "callcenter::info"),
    ("Unique-ID", "0b7e0c8a-1111-4222-8333-944445555666"),
    ("Caller-Caller-ID-Name", "José Peña"),
    ("variable_percent", "100% sure %41"),
    ("variable_symbols", "a+b=c&d;e<f>g\"h'i(j)k,l/m:n@o?p#q[r]s{t}u|v\\w^x`y~z"),
    ("variable_lines", "one\r\ntwo\n"),
    ("variable_empty", ""),
]


def test_plain_round_trip():
    data = encode_event_plain(TRICKY_HEADERS, "Result: ok\nline 2\nPeña\n")
    (frame,) = FrameParser().feed(data)
    event = parse_event(frame)

    assert event.name == "CUSTOM"
    assert event.subclass == "callcenter::info"
    assert event.header_pairs[: len(TRICKY_HEADERS)] == TRICKY_HEADERS
    assert event.body == "Result: ok\nline 2\nPeña\n"
    assert event.get("Result") is None
    assert event.get("Unique") is None


def test_json_round_trip():
    data = encode_event_json(TRICKY_HEADERS, "+OK\n")
    (frame,) = FrameParser().feed(data)
    event = parse_event(frame)

    assert frame.content_type == "text/event-json"
    assert event.header_pairs[: len(TRICKY_HEADERS)] == TRICKY_HEADERS
    assert event.get("Content-Length") == "4"
    assert event.body == "+OK\n"


def test_plain_encoding_safe_set():
    data = encode_event_plain([("Event-Name", "X"), ("V", "a b,c/(d)'e:f~g%h+ñ")])

    assert b"V: a%20b,c/(d)'e%3Af~g%25h%2B%C3%B1\n\n" in data


def test_encode_command_bytes():
    assert encode_command("api status") == b"api status\n\n"
    assert encode_command("bgapi originate x", {"Job-UUID": "J"}) == (
        b"bgapi originate x\nJob-UUID: J\n\n"
    )


@pytest.mark.parametrize("command", ["api status\nexit", "api status\r", ""])
def test_encode_command_rejects_line_breaks(command):
    with pytest.raises(ProtocolError, match="ESL command") as raised:
        encode_command(command)

    assert repr(command) in str(raised.value)


def test_encode_command_rejects_header_break():
    with pytest.raises(ProtocolError, match="line break"):
        encode_command("bgapi status", {"Job-UUID": "a\nb"})


def test_encode_frame_adds_content_length():
    assert encode_frame([("Content-Type", "api/response")], b"ok") == (
        b"Content-Type: api/response\nContent-Length: 2\n\nok"
    )
    assert encode_frame([("Content-Type", "command/reply")]) == b"Content-Type: command/reply\n\n"


def test_encode_frame_rejects_wrong_length():
    with pytest.raises(ProtocolError, match="'5'"):
        encode_frame([("Content-Length", "5")], b"ok")


# -- malformed input ---------------------------------------------------------


@pytest.mark.parametrize("length", ["-1", "abc", "1e3", "+5", " 5", "", "٣"])
def test_bad_content_length_rejected(length):
    with pytest.raises(ProtocolError, match="Content-Length") as raised:
        FrameParser().feed(f"Content-Type: api/response\nContent-Length: {length}\n\nx".encode())

    assert repr(length) in str(raised.value)


def test_header_without_colon_rejected():
    with pytest.raises(ProtocolError, match="'Content-Type api/response'"):
        FrameParser().feed(b"Content-Type api/response\n\n")


def test_oversized_header_block_rejected():
    parser = FrameParser()
    parser.feed(b"Content-Type: x\n" + b"X" * (MAX_HEADER_BLOCK // 2))

    with pytest.raises(ProtocolError, match="exceeds 65536 bytes"):
        parser.feed(b"X" * MAX_HEADER_BLOCK)


def test_parser_needs_reset_after_error():
    parser = FrameParser()
    with pytest.raises(ProtocolError):
        parser.feed(b"garbage\n\n")

    with pytest.raises(ProtocolError, match="reset"):
        parser.feed(b"Content-Type: auth/request\n\n")

    parser.reset()
    assert [f.content_type for f in parser.feed(b"Content-Type: auth/request\n\n")] == ["auth/request"]


def test_truncated_event_then_more_data():
    first, second = [f for f in recorded_frames("originate_busy.esl") if f.content_type == "text/event-plain"][:2]
    whole_first = encode_frame(list(first.headers.items()), first.body)
    # The switch promised the whole body but the stream lost its second half.
    truncated = whole_first[: len(whole_first) // 2]
    data = truncated + encode_frame(list(second.headers.items()), second.body)

    frames = FrameParser().feed(data)

    # The lost bytes shift every later frame boundary. The first frame now
    # ends inside the second event, and what follows is not a valid frame.
    with pytest.raises(ProtocolError, match="Content-Length"):
        parse_event(frames[0])
    assert [frame.content_type for frame in frames[1:]] == [""]


def test_event_body_without_inner_length():
    with pytest.raises(ProtocolError, match="does not end with an empty line"):
        parse_event(Frame({"Content-Type": "text/event-plain"}, b"Event-Name: X\n\nstray"))


def test_event_without_blank_line():
    with pytest.raises(ProtocolError, match="does not end with an empty line"):
        parse_event(Frame({"Content-Type": "text/event-plain"}, b"Event-Name: X\n"))


def test_inner_length_without_blank_line():
    raw = b"Event-Name: X\nContent-Length: 3\nJob-UUID: j\n\nabc"

    with pytest.raises(ProtocolError, match="not followed by an empty line"):
        parse_event(Frame({"Content-Type": "text/event-plain"}, raw))


def test_inner_length_mismatch():
    raw = b"Event-Name: X\nContent-Length: 5\n\nabc"

    with pytest.raises(ProtocolError, match="Content-Length 5 does not match the 3 body bytes"):
        parse_event(Frame({"Content-Type": "text/event-plain"}, raw))


def test_event_without_name():
    with pytest.raises(ProtocolError, match="Event-Name"):
        parse_event(Frame({"Content-Type": "text/event-plain"}, b"Unique-ID: u\n\n"))


def test_invalid_json_event():
    with pytest.raises(ProtocolError, match="invalid JSON"):
        parse_event(Frame({"Content-Type": "text/event-json"}, b'{"Event-Name": '))


def test_parse_event_rejects_reply():
    with pytest.raises(ProtocolError, match="'command/reply' is not an event"):
        parse_event(Frame({"Content-Type": "command/reply", "Reply-Text": "+OK"}))
