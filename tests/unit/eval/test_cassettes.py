"""Recording and replaying LLM responses: the same request gets the same answer, a new one is an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.llm.base import LLMError, Message
from eval.cassettes import Cassette, CassetteMiss, RecordingClient, ReplayClient, TapClient, messages_key
from tests.unit.eval.test_judges import ScriptedLLM

ASK = [Message("user", "QUESTION: dose?\nEVIDENCE: [1] 50 mg")]


def test_recorded_answers_replay_exactly(tmp_path: Path) -> None:
    cassette = Cassette(tmp_path / "c.json")
    recorder = RecordingClient(ScriptedLLM(["- The dose is 50 mg [1]"]), cassette)
    first = recorder.complete(ASK)
    cassette.save()
    replay = ReplayClient(Cassette.load(tmp_path / "c.json"))
    again = replay.complete(ASK)
    assert again.text == first.text == "- The dose is 50 mg [1]"
    assert (again.model, again.prompt_tokens, again.completion_tokens) == ("script-1", 10, 5)
    assert replay.name == "scripted"  # the answer names the backend that really answered
    assert "".join(replay.stream(ASK)) == first.text


def test_a_request_never_recorded_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    cassette = Cassette(tmp_path / "c.json")
    RecordingClient(ScriptedLLM(["- x [1]"]), cassette).complete(ASK)
    cassette.save()
    replay = ReplayClient(Cassette.load(tmp_path / "c.json"))
    with pytest.raises(CassetteMiss, match="--record") as exc:
        replay.complete([Message("user", "QUESTION: something else?")])
    assert not isinstance(exc.value, LLMError)


def test_backend_errors_are_recorded_and_replayed(tmp_path: Path) -> None:
    cassette = Cassette(tmp_path / "c.json")
    recorder = RecordingClient(ScriptedLLM([LLMError("timeout", "60 s")]), cassette)
    with pytest.raises(LLMError):
        recorder.complete(ASK)
    cassette.save()
    with pytest.raises(LLMError) as exc:
        ReplayClient(Cassette.load(tmp_path / "c.json")).complete(ASK)
    assert exc.value.reason == "timeout"
    assert exc.value.backend_fault


def test_missing_cassette_file_says_how_to_record(tmp_path: Path) -> None:
    with pytest.raises(CassetteMiss, match="record one"):
        Cassette.load(tmp_path / "none.json")


def test_key_is_the_sha256_of_roles_and_contents_in_order() -> None:
    a = [Message("system", "s"), Message("user", "u")]
    assert messages_key(a) == messages_key(list(a))
    assert messages_key(a) != messages_key(a[::-1])
    assert messages_key([Message("user", "u")]) != messages_key([Message("assistant", "u")])
    assert len(messages_key(a)) == 64


def test_save_prunes_unused_entries_on_request(tmp_path: Path) -> None:
    cassette = Cassette(tmp_path / "c.json")
    RecordingClient(ScriptedLLM(["a", "b"]), cassette).complete(ASK)
    RecordingClient(ScriptedLLM(["b"]), cassette).complete([Message("user", "other")])
    cassette.save()
    loaded = Cassette.load(tmp_path / "c.json")
    ReplayClient(loaded).complete(ASK)
    loaded.save(prune=True)
    assert len(Cassette.load(tmp_path / "c.json").entries) == 1


def test_tap_remembers_calls_and_failures() -> None:
    tap = TapClient(ScriptedLLM(["one", LLMError("http 500")]))
    tap.complete(ASK)
    with pytest.raises(LLMError):
        tap.complete(ASK)
    calls = tap.take()
    assert [c.text for c in calls] == ["one", None]
    assert tap.take() == []


def test_an_interrupted_recording_resumes_without_asking_again(tmp_path: Path) -> None:
    cassette = Cassette(tmp_path / "c.json")
    RecordingClient(ScriptedLLM(["first"]), cassette).complete(ASK)
    cassette.save()
    again = Cassette.load_or_new(tmp_path / "c.json")
    backend = ScriptedLLM(["second"])
    recorder = RecordingClient(backend, again, resume=True)
    assert recorder.complete(ASK).text == "first"
    assert recorder.complete([Message("user", "new")]).text == "second"
    assert recorder.reused == 1
    assert backend.answers == []
