"""What a user audit of `emoface stream` and `emoface serve` found (2026-12-05): a client's reset stopped a file
stream's every target for as long as the file had played, an audio format given as a list was answered in
Python's words, a user rig's 0-1 shape named like a rotation never reached VMC, an unknown rig in a target URL did
not name the URL, and the WebSocket target had no exit line."""

import json

import pytest

from emoface.errors import InputError
from emoface.live.server import WebSocketHub
from emoface.live.sinks import VMCSink, parse_target
from tests.test_hardening_leftovers import _replies


def test_a_reset_to_a_stream_that_plays_a_file_gets_an_error_reply():
    [error] = _replies(['{"type": "reset"}'], audio=False)
    assert error.startswith("this stream plays a file; a reset")


def test_a_reset_still_starts_a_new_line_on_serve():
    [after] = _replies(['{"type": "reset"}'])
    assert "unknown message type" in after  # the reset was taken: the next reply is the dance's


def test_an_audio_format_that_is_not_a_string_is_told_the_formats():
    [error] = _replies(['{"type": "audio", "format": ["s16le"]}'])
    assert error == "audio: format must be s16le or f32le"


def test_vmc_keeps_a_user_shape_named_like_a_rotation(tmp_path):
    profile = tmp_path / "mychar.json"
    profile.write_text(json.dumps({"name": "mychar", "curves": {"Mouth_Open": {"JawOpen": 1},
                                                               "LipRoll": {"MouthRollLower": 1},
                                                               "Head_Yaw": {"HeadYaw": 180}}}))
    sink = VMCSink("vmc://127.0.0.1:39539", "127.0.0.1", 39539, str(profile))
    try:
        assert sink.names == ["Mouth_Open", "LipRoll"]
    finally:
        sink.close()
    builtin = VMCSink("vmc://127.0.0.1:39539", "127.0.0.1", 39539, "arkit")
    try:
        assert len(builtin.names) == 52 and not any(n.endswith(("Yaw", "Pitch", "Roll")) for n in builtin.names)
    finally:
        builtin.close()


def test_an_unknown_rig_in_a_target_names_the_url():
    with pytest.raises(InputError) as err:
        parse_target("vmc://127.0.0.1:39539?rig=nope", "livelink")
    assert str(err.value).startswith("vmc://127.0.0.1:39539?rig=nope: rig=")


@pytest.mark.parametrize("host,url", [("127.0.0.1", "ws://127.0.0.1:8765"), ("::1", "ws://[::1]:8765")])
def test_the_websocket_target_has_an_exit_line_and_a_url(host, url):
    from emoface.live.stage import Stage

    hub = WebSocketHub(Stage(), host, 8765)
    hub.served, hub.dropped = 3, 1
    assert hub.url == url and hub.stats() == f"{url}: 3 client(s), 1 dropped for not reading"


def test_a_host_that_does_not_resolve_is_one_line_at_the_start(bob, capsys):
    from emoface.cli import main
    from tests.test_hardening_cli import one_error_line

    assert main(["stream", str(bob), "--to", "livelink://nosuch.invalid:11111"]) == 2
    one_error_line(capsys.readouterr().err, "livelink://nosuch.invalid:11111: cannot resolve the host 'nosuch.invalid'")


def test_a_name_is_looked_up_once_not_per_frame():
    from emoface.live.sinks import UdpTarget

    target = UdpTarget("localhost", 9, "livelink://localhost:9")
    try:
        assert target.address[0] in ("127.0.0.1", "::1")  # sends go to the address, not the name
    finally:
        target.close()


def test_a_profile_rig_is_sent_by_its_name_not_its_path(tmp_path):
    from emoface.live.server import header_message
    from emoface.live.sinks import OSCSink, StreamInfo

    profile = tmp_path / "mychar.json"
    profile.write_text(json.dumps({"name": "mychar", "curves": {"Mouth_Open": {"JawOpen": 1}}}))
    info = StreamInfo("s1", str(profile), ("Mouth_Open",), 60.0, 0.0, "neutral", [1.0] + [0.0] * 6)
    assert header_message(info)["rig"] == "mychar"
    sink = OSCSink("osc://127.0.0.1:9", "127.0.0.1", 9, str(profile))
    try:
        assert all(str(tmp_path).encode() not in m for m in sink.names) and b"mychar" in sink.names[0]
    finally:
        sink.close()


def test_vmc_refuses_a_rig_whose_controls_go_both_ways():
    with pytest.raises(InputError) as err:  # the board's -1..1 controls had gone out as negative weights
        parse_target("vmc://127.0.0.1:39539?rig=metahuman", "livelink")
    assert str(err.value).startswith("vmc://127.0.0.1:39539?rig=metahuman: rig=metahuman has controls that go both")
    assert parse_target("vmc://127.0.0.1:39539?rig=metahuman-expressions", "livelink")[3]["rig"] == \
        "metahuman-expressions"
