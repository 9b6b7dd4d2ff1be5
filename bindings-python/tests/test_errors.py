"""Every bad input raises the right exception, with a message naming the problem,
and loses nothing that was accepted."""

from __future__ import annotations

import math
import urllib.error
import urllib.request
from typing import Any

import pytest
from conftest import subscribe, take

import ssecast

KIND_CLASSES = {
    ssecast.ConfigError: ("INVALID_CONFIG", ValueError),
    ssecast.InvalidTopicError: ("INVALID_TOPIC", ValueError),
    ssecast.InvalidEventNameError: ("INVALID_EVENT_NAME", ValueError),
    ssecast.InvalidIdError: ("INVALID_ID", ValueError),
    ssecast.InvalidDataError: ("INVALID_DATA", ValueError),
    ssecast.TooLargeError: ("TOO_LARGE", ValueError),
    ssecast.StoppedError: ("STOPPED", RuntimeError),
    ssecast.BindError: ("BIND", OSError),
    ssecast.InternalError: ("INTERNAL", None),
    ssecast.UnavailableError: ("UNAVAILABLE", ConnectionError),
    ssecast.TooManyTopicsError: ("TOO_MANY_TOPICS", None),
    ssecast.StorageError: ("STORAGE", OSError),
}


@pytest.mark.parametrize("cls", list(KIND_CLASSES), ids=lambda cls: cls.__name__)
def test_error_classes_carry_the_core_code_and_family(cls: type[ssecast.Error]) -> None:
    code, family = KIND_CLASSES[cls]
    assert issubclass(cls, ssecast.Error) and issubclass(cls, Exception)
    assert cls.code == code
    assert cls.__module__ == "ssecast" and cls.__doc__
    if family is not None:
        assert issubclass(cls, family)
    else:
        assert not issubclass(cls, (ValueError, RuntimeError, OSError))


PUBLISH_ERRORS = [
    # (publish arguments, exception, words the message must contain)
    (("t", "x"), {"event": "a\nb"}, ssecast.InvalidEventNameError, "line feed"),
    (("t", "x"), {"event": "a\rb"}, ssecast.InvalidEventNameError, "carriage return"),
    (("t", "x"), {"event": ""}, ssecast.InvalidEventNameError, "empty"),
    (("t", "x"), {"id": "1\n2"}, ssecast.InvalidIdError, "id must not contain a line feed"),
    (("t", "x"), {"id": "1\x002"}, ssecast.InvalidIdError, "NUL"),
    (("t", "x"), {"id": "i" * 1025}, ssecast.InvalidIdError, "1024"),
    (("", "x"), {}, ssecast.InvalidTopicError, "topic"),
    (("a\nb", "x"), {}, ssecast.InvalidTopicError, "topic"),
    (("t", b"hel\xfflo"), {}, ssecast.InvalidDataError, "UTF-8"),
    (("t", {1, 2}), {}, ssecast.InvalidDataError, "set"),
    (("t", object()), {}, ssecast.InvalidDataError, "object"),
    (("t", math.nan), {}, ssecast.InvalidDataError, "float"),
    (("t", {"x": math.inf}), {}, ssecast.InvalidDataError, "JSON"),
    (("t", "x" * 70_000), {}, ssecast.TooLargeError, "65536"),
    (("t", "lone \ud800"), {}, ssecast.InvalidDataError, "data is not valid Unicode"),
    (("t", {"k": "\udfff"}), {}, ssecast.InvalidDataError, "data is not valid Unicode"),
    (("t", bytearray(b"x")), {}, ssecast.InvalidDataError, "bytearray"),
    (("t\ud800", "x"), {}, ssecast.InvalidTopicError, "topic is not valid Unicode"),
    (("t", "x"), {"event": "\ud800"}, ssecast.InvalidEventNameError, "event is not valid Unicode"),
    (("t", "x"), {"id": "\ud800"}, ssecast.InvalidIdError, "id is not valid Unicode"),
    ((5, "x"), {}, TypeError, "'topic' must be str, not int"),
    ((None, "x"), {}, TypeError, "'topic' must be str, not NoneType"),
    (("t", "x"), {"event": 5}, TypeError, "'event' must be str, not int"),
    (("t", "x"), {"id": b"id"}, TypeError, "'id' must be str, not bytes"),
    (("t", "x"), {"retry": "5"}, TypeError, "'retry' must be int or None, not str"),
    (("t", "x"), {"retry": 1.5}, TypeError, "'retry' must be int or None, not float"),
    (("t", "x"), {"retry": -1}, ValueError, "'retry' must be from 0 to 4294967295"),
    (("t", "x"), {"retry": 2**32}, ValueError, "'retry' must be from 0 to 4294967295"),
    (("t", "x"), {"bogus": 1}, TypeError, "bogus"),
]


@pytest.mark.parametrize(
    "args,kwargs,exc,words", PUBLISH_ERRORS, ids=[f"{e[2].__name__}-{e[3]}" for e in PUBLISH_ERRORS]
)
def test_bad_publish_raises_and_sends_nothing(
    args: Any, kwargs: dict[str, Any], exc: type[Exception], words: str
) -> None:
    with ssecast.Engine(port=0, keepalive_ms=0, max_event_bytes=65536) as engine:
        topic = (
            "t" if not isinstance(args[0], str) or args[0] in ("", "a\nb", "t\ud800") else args[0]
        )
        with subscribe(engine, topic) as source:
            with pytest.raises(exc) as caught:
                engine.publish(*args, **kwargs)
            assert words in str(caught.value)
            if isinstance(caught.value, ssecast.Error):
                assert caught.value.code == type(caught.value).code
            # Nothing was sent: the next event is the first one the client sees.
            after = engine.publish(topic, "after")
            (event,) = take(source, 1)
        assert (event.id, event.data) == (after, "after")
        assert engine.stats()["published"] == 1


def test_unserialisable_data_keeps_jsons_error_as_cause(engine: ssecast.Engine) -> None:
    with pytest.raises(ssecast.InvalidDataError) as caught:
        engine.publish("t", {"when": object()})
    assert isinstance(caught.value.__cause__, TypeError)
    assert "not JSON serializable" in str(caught.value)


def test_publish_after_stop_raises_stopped(engine: ssecast.Engine) -> None:
    engine.stop()
    assert engine.stopped
    with pytest.raises(ssecast.StoppedError, match="stopped") as caught:
        engine.publish("t", "late")
    assert caught.value.code == "STOPPED"
    assert isinstance(caught.value, RuntimeError)


CONFIG_ERRORS = [
    ({"bogus": 1}, 'unknown configuration key "bogus"'),
    ({"Port": 0}, '"Port"'),
    ({"port": 70000}, "port"),
    ({"port": -1}, "port"),
    ({"port": "eighty"}, "port"),
    ({"port": 1.5}, "port: expected an int, str, None or a list of str, got float"),
    ({"history_size": 0}, "history_size"),
    ({"history_size": True}, "history_size"),
    ({"client_script": "maybe"}, "client_script: expected true or false"),
    ({"reuse_port": True}, "reuse_port needs a backplane"),
    ({"backplane": "http://localhost"}, "backplane: expected a Redis URL"),
    (
        {"client_script": 1.0},
        "client_script: expected an int, str, None or a list of str, got float",
    ),
    (
        {"publish_token": True},
        "publish_token: expected an int, str, None or a list of str, got bool",
    ),
    ({"keepalive_ms": {"a": 1}}, "keepalive_ms: expected"),
    ({"cors_origins": [1, 2]}, "cors_origins: expected"),
    ({"bind": "not-an-ip"}, "bind"),
    ({"bind": None}, "bind"),
    ({"events_path": "events"}, "events_path"),
    ({"events_path": "/same", "health_path": "/same"}, "/same"),
    ({"bind": "\ud800"}, "bind is not valid Unicode"),
    ({"cors_origins": ["http://a.example", "\ud800"]}, "cors_origins is not valid Unicode"),
    ({"\ud800": 1}, "a configuration key is not valid Unicode"),
]


@pytest.mark.parametrize("config,words", CONFIG_ERRORS, ids=[w for _, w in CONFIG_ERRORS])
def test_bad_config_raises_config_error_naming_the_key(config: dict[str, Any], words: str) -> None:
    with pytest.raises(ssecast.ConfigError) as caught:
        ssecast.Engine(**config)
    assert words in str(caught.value)
    assert caught.value.code == "INVALID_CONFIG"
    assert isinstance(caught.value, ValueError)


def test_config_values_of_every_accepted_type() -> None:
    origins = ("http://a.example", "http://b.example")
    with ssecast.Engine(
        port="0",  # type: ignore[arg-type]  # a str of digits parses too
        publish_token=None,
        history_size=10,
        cors_origins=origins,
        keepalive_ms=0,
        bind="127.0.0.1",
    ) as configured:
        assert configured.port > 0


@pytest.mark.parametrize(("flag", "status"), [(True, 200), (False, 404), ("true", 200)])
def test_a_flag_takes_a_bool(flag: Any, status: int) -> None:
    with ssecast.Engine(port=0, client_script=flag) as engine:
        url = f"http://127.0.0.1:{engine.port}/ssecast.js"
        try:
            with urllib.request.urlopen(url, timeout=10) as reply:
                got = reply.status
        except urllib.error.HTTPError as refused:
            got = refused.code
            refused.close()
    assert got == status


def test_port_in_use_raises_bind_error(engine: ssecast.Engine) -> None:
    with pytest.raises(ssecast.BindError) as caught:
        ssecast.Engine(port=engine.port)
    assert isinstance(caught.value, OSError)
    assert caught.value.code == "BIND"
    assert str(engine.port) in str(caught.value)


def test_str_and_dict_subclasses_are_payloads_like_their_bases(engine: ssecast.Engine) -> None:
    class Text(str):
        pass

    class Record(dict):  # type: ignore[type-arg]
        pass

    with subscribe(engine, "sub") as source:
        engine.publish("sub", Text("as text"))
        engine.publish("sub", Record(a=1))
        first, second = take(source, 2)
    assert (first.data, second.data) == ("as text", '{"a":1}')
