"""Checks on the FreeSWITCH configuration overlay in freeswitch_conf/."""

import re
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

CONF_DIR = Path(__file__).resolve().parents[2] / "freeswitch_conf"
XML_FILES = sorted(CONF_DIR.rglob("*.xml"))
VARIABLE_REFERENCE = re.compile(r"\$\$\{([a-z0-9_]+)\}")
# Variables that FreeSWITCH 1.10 defines itself or in the stock vars.xml.
STOCK_VARIABLES = {"local_ip_v4", "domain", "hold_music"}


def parse(relative_path):
    return ElementTree.parse(CONF_DIR / relative_path).getroot()


def params(element):
    return {param.get("name"): param.get("value") for param in element.iter("param")}


def vars_file_names():
    root = parse("dialer_vars.xml")
    return {
        node.get("data").split("=", 1)[0]
        for node in root.iter("X-PRE-PROCESS")
        if node.get("cmd") == "set"
    }


def test_overlay_has_xml_files():
    names = {path.relative_to(CONF_DIR).as_posix() for path in XML_FILES}

    for expected in (
        "dialer_vars.xml",
        "autoload_configs/event_socket.conf.xml",
        "autoload_configs/acl.conf.xml",
        "autoload_configs/json_cdr.conf.xml",
        "autoload_configs/python.conf.xml",
        "autoload_configs/callcenter.conf.xml",
        "autoload_configs/modules.conf.xml",
        "sip_profiles/dialer_carrier.xml",
        "dialplan/dialer.xml",
    ):
        assert expected in names


@pytest.mark.parametrize("path", XML_FILES, ids=lambda path: path.relative_to(CONF_DIR).as_posix())
def test_xml_file_parses(path):
    ElementTree.parse(path)


@pytest.mark.parametrize("path", XML_FILES, ids=lambda path: path.relative_to(CONF_DIR).as_posix())
def test_variables_defined(path):
    defined = vars_file_names() | STOCK_VARIABLES

    for name in VARIABLE_REFERENCE.findall(path.read_text(encoding="utf-8")):
        assert name in defined, f"{path.name} uses $${{{name}}}, which dialer_vars.xml does not set"


def test_event_socket_from_variables():
    settings = params(parse("autoload_configs/event_socket.conf.xml"))

    assert settings["listen-ip"] == "$${dialer_esl_listen_ip}"
    assert settings["listen-port"] == "$${dialer_esl_listen_port}"
    assert settings["password"] == "$${dialer_esl_password}"
    assert settings["apply-inbound-acl"] == "$${dialer_esl_acl}"


def test_esl_acl_list_exists():
    root = parse("autoload_configs/acl.conf.xml")
    lists = {node.get("name"): node for node in root.iter("list")}
    acl_name = next(
        node.get("data").split("=", 1)[1]
        for node in parse("dialer_vars.xml").iter("X-PRE-PROCESS")
        if node.get("data").startswith("dialer_esl_acl=")
    )

    assert acl_name in lists
    assert lists[acl_name].get("default") == "deny"
    assert [node.get("type") for node in lists[acl_name].iter("node")] == ["allow"]
    assert "domains" in lists


def test_json_cdr_raw_json():
    settings = params(parse("autoload_configs/json_cdr.conf.xml"))

    assert settings["encode"] == "false"
    assert settings["encode-values"] == "false"
    assert settings["log-b-leg"] == "true"
    assert settings["auth-scheme"] == "basic"
    assert settings["cred"] == "$${dialer_cdr_cred}"
    assert settings["url"] == "$${dialer_cdr_url}"
    assert int(settings["retries"]) >= 1
    assert int(settings["delay"]) >= 1
    # mod_json_cdr 1.10 reads no timeout setting, so none is set.
    assert "timeout" not in settings
    assert settings["err-log-dir"]


def test_cdr_url_is_receiver_endpoint():
    values = dict(
        node.get("data").split("=", 1) for node in parse("dialer_vars.xml").iter("X-PRE-PROCESS")
    )

    assert values["dialer_cdr_url"].endswith("/api/cdr")
    assert ":" in values["dialer_cdr_cred"]


def test_modules_loaded():
    root = parse("autoload_configs/modules.conf.xml")
    loaded = {node.get("module") for node in root.iter("load")}
    text = (CONF_DIR / "autoload_configs/modules.conf.xml").read_text(encoding="utf-8")

    for module in (
        "mod_event_socket",
        "mod_sofia",
        "mod_callcenter",
        "mod_json_cdr",
        "mod_python3",
        "mod_avmd",
        "mod_commands",
        "mod_dptools",
        "mod_dialplan_xml",
        "mod_sndfile",
    ):
        assert module in loaded
    assert "mod_amd" not in loaded
    assert '<!--<load module="mod_amd"/>-->' in text


def test_queues_bound_wait():
    queues = [
        queue
        for path in sorted((CONF_DIR / "callcenter_queues").glob("*.xml"))
        for queue in ElementTree.parse(path).getroot().iter("queue")
    ]

    assert queues
    for queue in queues:
        settings = params(queue)
        assert int(settings["max-wait-time"]) > 0, queue.get("name")
        assert settings["max-wait-time-with-no-agent"] == "0", queue.get("name")
        assert queue.get("name").endswith("@default")


def test_callcenter_includes_queues():
    text = (CONF_DIR / "autoload_configs/callcenter.conf.xml").read_text(encoding="utf-8")

    assert '<X-PRE-PROCESS cmd="include" data="callcenter_queues/*.xml"/>' in text
    assert "uuid-standby" in text
    assert "callback" in text


def test_dialplan_runs_answer_script():
    root = parse("dialplan/dialer.xml")
    context = root.find("context")
    extension = context.find("extension")
    actions = [
        (action.get("application"), action.get("data"))
        for condition in extension.iter("condition")
        for action in condition.iter("action")
    ]
    applications = [application for application, _ in actions]

    assert context.get("name") == "dialer"
    assert extension.get("name") == "dialer"
    assert ("python", "dialer_answer") in actions
    assert applications.index("amd") < applications.index("python")
    assert applications.index("avmd_start") < applications.index("python")
    assert applications[-1] == "park"
    assert "hangup" not in applications[applications.index("python"):]


def test_dialplan_amd_optional():
    root = parse("dialplan/dialer.xml")
    amd_conditions = [
        condition
        for condition in root.iter("condition")
        if any(action.get("application") == "amd" for action in condition.iter("action"))
    ]

    assert len(amd_conditions) == 1
    assert amd_conditions[0].get("field") == "${module_exists(mod_amd)}"
    assert amd_conditions[0].get("break") == "never"


def test_avmd_listens_to_outbound_channel():
    """mod_avmd's avmd_start_app attaches to an outbound channel only with outbound_channel=1."""
    root = parse("dialplan/dialer.xml")
    [start] = [action for action in root.iter("action") if action.get("application") == "avmd_start"]
    options = dict(item.split("=", 1) for item in start.get("data").split(","))

    assert options["outbound_channel"] == "true"


def test_carrier_profile_context():
    root = parse("sip_profiles/dialer_carrier.xml")
    settings = params(root.find("settings"))
    text = (CONF_DIR / "sip_profiles/dialer_carrier.xml").read_text(encoding="utf-8")

    assert root.get("name") == "dialer_carrier"
    assert settings["context"] == "dialer"
    assert settings["apply-inbound-acl"] == "carriers"
    assert '<X-PRE-PROCESS cmd="include" data="dialer_carrier/*.xml"/>' in text


@pytest.mark.parametrize("path", sorted((CONF_DIR / "gateway_templates").glob("*.xml")), ids=lambda path: path.name)
def test_gateway_template_fields(path):
    gateway = ElementTree.parse(path).getroot().find("gateway")
    settings = params(gateway)

    assert gateway.get("name")
    assert settings["proxy"]
    assert settings["register"] in ("true", "false")


@pytest.mark.parametrize("path", XML_FILES, ids=lambda path: path.relative_to(CONF_DIR).as_posix())
def test_comments_free_of_preprocessor(path):
    # FreeSWITCH's pre-processor also acts on tags and variables inside comments.
    for comment in re.findall(r"<!--(.*?)-->", path.read_text(encoding="utf-8"), flags=re.DOTALL):
        if comment.strip().startswith("<load module="):
            continue
        assert "X-PRE-PROCESS" not in comment, path.name
        assert "$${" not in comment, path.name
