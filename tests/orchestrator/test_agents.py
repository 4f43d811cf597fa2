from orchestrator.agents import AgentBoard, AgentInfo, parse_agent_list
from tests.orchestrator.recordings import RECORDINGS, recorded_events


def recorded_agent_list() -> str:
    """Return the body of the recorded ``queue list agents ventas@default`` reply."""
    data = (RECORDINGS / "callcenter_flow.esl").read_bytes().decode("utf-8")
    start = data.index("name|instance_id")
    return data[start : data.index("+OK\n", start) + 4]


def board_with_agent() -> AgentBoard:
    board = AgentBoard()
    board.register(AgentInfo(name="1001@default", tenant_id=1, campaign_id=7, switch_name="media1"))
    return board


def test_parse_agent_list_recording():
    rows = parse_agent_list(recorded_agent_list())

    assert len(rows) == 1
    assert rows[0]["name"] == "1001@default"
    assert rows[0]["status"] == "Available"
    assert rows[0]["state"] == "Waiting"


def test_apply_list_sets_available():
    board = board_with_agent()

    assert board.apply_list("media1", recorded_agent_list()) == 1
    assert board.available(7, "media1") == 1
    assert board.available(7, "media2") == 0
    assert board.campaign_counts() == {7: (1, 1)}


def test_callcenter_flow_states_in_order():
    board = board_with_agent()
    states = []
    for event in recorded_events("callcenter_flow"):
        if event.subclass == "callcenter::info" and board.handle("media1", event) is not None:
            agent = board.agents[("media1", "1001@default")]
            states.append((agent.status, agent.state))

    assert states[0] == ("Available", "Waiting")
    assert ("Available", "Receiving") in states
    assert ("Available", "In a queue call") in states
    assert states[-1] == ("Available", "Waiting")
    assert states.index(("Available", "Receiving")) < states.index(("Available", "In a queue call"))


def test_dirty_agents_batch_once():
    board = board_with_agent()
    board.apply_list("media1", recorded_agent_list())

    dirty = board.take_dirty()

    assert [agent.name for agent in dirty] == ["1001@default"]
    assert board.take_dirty() == []


def test_unknown_agent_ignored():
    board = AgentBoard()
    events = [event for event in recorded_events("callcenter_flow") if event.subclass == "callcenter::info"]
    assert all(board.handle("media1", event) is None for event in events)
