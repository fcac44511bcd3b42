"""Which names the dashboard answers to and when it needs a token, from its options."""

import pytest

from nbsteps.errors import UsageError
from nbsteps.guard.access import host_allowed
from nbsteps.guard.frames import check_v1_frame
from nbsteps.guard.options import GuardRequest, resolve_guard

TOKEN = "0123456789abcdef-token"


def allowed(options, *names: str) -> list[bool]:
    return [host_allowed(name, options) for name in names]


def test_loopback_answers_to_loopback_names_only():
    options = resolve_guard(GuardRequest(host="127.0.0.1"), environ={})
    assert allowed(options, "localhost", "127.0.0.1", "[::1]") == [True] * 3
    assert allowed(options, "evil.example", "10.0.0.5", "localhost.evil.example",
                   "127.0.0.2") == [False] * 4
    assert options.token == ""


def test_names_given_or_listened_on_are_added():
    options = resolve_guard(GuardRequest(host="dash.internal", allow_hosts=["Other.Example"],
                                         token=TOKEN),
                            environ={"NBSTEPS_DASHBOARD_ALLOW_HOSTS": "a.example, ::1"})
    assert allowed(options, "dash.internal", "other.example", "a.example", "[::1]") == [True] * 4
    assert allowed(options, "10.0.0.5", "b.example") == [False, False]


def test_a_wildcard_address_accepts_address_literals_but_not_other_names():
    options = resolve_guard(GuardRequest(host="0.0.0.0", token=TOKEN), environ={})
    assert allowed(options, "10.0.0.5", "[fe80::1]", "localhost") == [True] * 3
    assert allowed(options, "evil.example") == [False]


def test_the_published_address_decides_in_a_container():
    inside = GuardRequest(host="0.0.0.0")
    options = resolve_guard(inside, environ={"NBSTEPS_DASHBOARD_PUBLISHED_ON": "127.0.0.1"})
    assert options.token == "" and allowed(options, "10.0.0.5") == [False]
    with pytest.raises(UsageError, match="--token"):
        resolve_guard(inside, environ={"NBSTEPS_DASHBOARD_PUBLISHED_ON": "0.0.0.0"})


def test_the_token_comes_from_the_environment_or_is_made():
    env = {"NBSTEPS_DASHBOARD_TOKEN": TOKEN}
    assert resolve_guard(GuardRequest(host="0.0.0.0"), environ=env).token == TOKEN
    made = resolve_guard(GuardRequest(host="0.0.0.0", token="auto"), environ={})
    assert made.token_generated and len(made.token) >= 32
    assert made.token != resolve_guard(GuardRequest(host="::", token="auto"), environ={}).token


@pytest.mark.parametrize("request_", [GuardRequest(max_pages=0),
                                      GuardRequest(max_pages_per_client=-1),
                                      GuardRequest(unconnected_timeout_s=float("nan")),
                                      GuardRequest(token="has a space in it 123")])
def test_nonsense_limits_and_tokens_are_refused(request_):
    with pytest.raises(UsageError):
        resolve_guard(request_, environ={})


def test_only_well_formed_v1_frames_pass():
    from jupyter_server.services.kernels.connection.base import serialize_msg_to_ws_v1

    good = serialize_msg_to_ws_v1([b"{}", b"{}", b"{}", b"{}", b"buffer"], "shell")
    assert check_v1_frame(good) is None
    assert check_v1_frame(good[:-3]) is not None  # truncated: the last part is cut
    assert check_v1_frame((2**63).to_bytes(8, "little") + good[8:]) is not None
    assert check_v1_frame(good.decode("latin-1")) is not None
    assert check_v1_frame(b"") is not None
