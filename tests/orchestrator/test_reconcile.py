"""Reading the switch's channel list to end adopted calls it no longer has."""

from dialer_common.esl import FrameParser
from orchestrator.daemon import channel_uuids
from tests.conftest import FIXTURES


def _recorded_show_channels() -> str:
    data = (FIXTURES / "freeswitch" / "heartbeat.esl").read_bytes()
    for frame in FrameParser().feed(data):
        if frame.content_type == "api/response" and frame.body.startswith(b'{"row_count"'):
            return frame.body.decode()
    raise AssertionError("heartbeat.esl holds no show channels as json reply")


def test_channel_uuids_reads_recorded_reply():
    assert channel_uuids(_recorded_show_channels()) == {"c9084e7b-61b3-41fb-997f-c8e234230b3d"}


def test_channel_uuids_empty_listing():
    assert channel_uuids('{"row_count":0}') == set()


def test_channel_uuids_rejects_other_replies():
    assert channel_uuids("-ERR no reply\n") is None
    assert channel_uuids("[1, 2]") is None
