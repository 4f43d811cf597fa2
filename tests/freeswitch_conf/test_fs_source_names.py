"""Check the overlay's names against the names FreeSWITCH 1.10 source reads.

FreeSWITCH ignores a <param> whose name it does not know, without a log line,
so a misspelt name here is a setting that silently never applies. The known
names live in fs110_names.py, each set with the source function it came from.
"""

import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from tests.freeswitch_conf import fs110_names

CONF_DIR = Path(__file__).resolve().parents[2] / "freeswitch_conf"

# Each <settings> block the overlay fills, with the names its module reads.
SETTINGS_FILES = {
    "autoload_configs/event_socket.conf.xml": fs110_names.EVENT_SOCKET_SETTINGS,
    "autoload_configs/json_cdr.conf.xml": fs110_names.JSON_CDR_SETTINGS,
    "autoload_configs/python.conf.xml": fs110_names.PYTHON_SETTINGS,
    "autoload_configs/callcenter.conf.xml": fs110_names.CALLCENTER_SETTINGS,
    "sip_profiles/dialer_carrier.xml": fs110_names.SOFIA_PROFILE_SETTINGS,
}
GATEWAY_FILES = sorted(
    [*CONF_DIR.glob("gateway_templates/*.xml"), *CONF_DIR.glob("sip_profiles/dialer_carrier/*.xml")]
)
QUEUE_FILES = sorted(CONF_DIR.glob("callcenter_queues/*.xml"))


def relative(path):
    return path.relative_to(CONF_DIR).as_posix()


def settings_param_names(root):
    return [param.get("name") for settings in root.iter("settings") for param in settings.findall("param")]


def unknown_names(names, known):
    return sorted(name for name in names if name not in known)


@pytest.mark.parametrize("relative_path", sorted(SETTINGS_FILES))
def test_settings_params_known(relative_path):
    root = ElementTree.parse(CONF_DIR / relative_path).getroot()

    unknown = unknown_names(settings_param_names(root), SETTINGS_FILES[relative_path])

    assert unknown == [], f"{relative_path}: FreeSWITCH 1.10 ignores these <param> names: {unknown}"


# Deprecated settings the profile keeps on purpose: sofia.c 1.10 still reads
# them (and logs a deprecation warning at load), while the replacement
# channel variables were not checked against the source.
KEPT_DEPRECATED = {"rtp-timeout-sec", "rtp-hold-timeout-sec"}


def test_profile_settings_not_deprecated():
    root = ElementTree.parse(CONF_DIR / "sip_profiles/dialer_carrier.xml").getroot()
    names = settings_param_names(root)
    source = (CONF_DIR / "sip_profiles/dialer_carrier.xml").read_text(encoding="utf-8")

    deprecated = {
        name: replacement
        for name, replacement in fs110_names.SOFIA_DEPRECATED_PROFILE_SETTINGS.items()
        if name in names and name not in KEPT_DEPRECATED
    }

    assert deprecated == {}, f"dialer_carrier.xml uses deprecated settings; use instead: {deprecated}"
    for name in KEPT_DEPRECATED & set(names):
        assert "deprecat" in source.split(f'name="{name}"')[0].rsplit("-->", 2)[-2], \
            f"{name} is deprecated in 1.10: say so in the comment above it"


@pytest.mark.parametrize("path", GATEWAY_FILES, ids=relative)
def test_gateway_params_known(path):
    root = ElementTree.parse(path).getroot()
    gateways = list(root.iter("gateway"))
    names = [param.get("name") for gateway in gateways for param in gateway.iter("param")]

    assert gateways, f"{relative(path)} has no <gateway>"
    unknown = unknown_names(names, fs110_names.SOFIA_GATEWAY_PARAMS)
    assert unknown == [], f"{relative(path)}: sofia.c parse_gateways() ignores {unknown}"


@pytest.mark.parametrize("path", QUEUE_FILES, ids=relative)
def test_queue_params_known(path):
    root = ElementTree.parse(path).getroot()
    queues = list(root.iter("queue"))
    names = [param.get("name") for queue in queues for param in queue.findall("param")]

    assert queues, f"{relative(path)} has no <queue>"
    unknown = unknown_names(names, fs110_names.CALLCENTER_QUEUE_PARAMS)
    assert unknown == [], f"{relative(path)}: mod_callcenter queue_set_config() ignores {unknown}"


def loaded_modules():
    root = ElementTree.parse(CONF_DIR / "autoload_configs/modules.conf.xml").getroot()
    return [node.get("module") for node in root.iter("load")]


def test_loaded_modules_exist():
    modules = loaded_modules()

    assert "mod_dptools" in modules
    unknown = unknown_names(modules, fs110_names.TREE_MODULES)
    assert unknown == [], f"modules.conf.xml loads modules that FreeSWITCH 1.10 does not have: {unknown}"


def test_dialplan_applications_exist():
    root = ElementTree.parse(CONF_DIR / "dialplan/dialer.xml").getroot()
    actions = [*root.iter("action"), *root.iter("anti-action")]
    modules = set(loaded_modules())
    known = set(fs110_names.OUT_OF_TREE_APPLICATIONS)
    for module, applications in fs110_names.APPLICATIONS_BY_MODULE.items():
        if module in modules:
            known |= applications

    assert actions, "dialer.xml has no <action>"
    unknown = unknown_names({action.get("application") for action in actions}, known)
    assert unknown == [], f"dialer.xml runs applications that no loaded 1.10 module registers: {unknown}"


def test_known_name_check_rejects_misspelling():
    root = ElementTree.fromstring(
        '<configuration><settings><param name="listen-ip" value="x"/>'
        '<param name="listen_port" value="1"/></settings></configuration>'
    )

    unknown = unknown_names(settings_param_names(root), fs110_names.EVENT_SOCKET_SETTINGS)

    assert unknown == ["listen_port"]
