"""The reactor: one thread reading every streamed model reply, through the real openai client and the fake server.

With a sink, the OpenAI backend sends the request and reads the headers in the
caller's thread, then the body is read by the reactor's one thread
("model-streams"), which passes the chunks to the sink. Every way a stream can
end must be told exactly as when the body is read in the caller's thread.
"""
from __future__ import annotations

import random
import ssl
import threading
import time
from collections.abc import Iterator

import pytest
from fake_openai import FAKE_KEY, FakeOpenAI, Reply, ToolCall

from vice_ai.errors import ModelError
from vice_ai.live.lag import BEHIND_SECONDS
from vice_ai.llm import reactor, sse
from vice_ai.llm.base import ChatRequest, Chunk, Finish, TextDelta, ToolCallDelta
from vice_ai.llm.openai_backend import OpenAIBackend

QUESTION = [{"role": "user", "content": "Tighten the summary."}]


def backend_for(server: FakeOpenAI, **options) -> OpenAIBackend:
    return OpenAIBackend(api_key=FAKE_KEY, base_url=server.url, **options)


class Sink:
    """Collects chunks with the name of the thread each came in on."""

    def __init__(self) -> None:
        self.chunks: list[Chunk] = []
        self.threads: list[str] = []

    def __call__(self, chunk: Chunk) -> None:
        self.chunks.append(chunk)
        self.threads.append(threading.current_thread().name)

    def text(self) -> str:
        return "".join(c.text for c in self.chunks if isinstance(c, TextDelta))


def pushed(backend: OpenAIBackend, cancel: threading.Event | None = None) -> Sink:
    """Run one reply with a sink, as LLMService.deliver does: what is yielded goes to the sink too."""
    sink = Sink()
    for chunk in backend.stream(ChatRequest("fake-small", QUESTION), cancel or threading.Event(), sink):
        sink(chunk)
    return sink


def test_the_body_is_read_by_the_reactor_thread_not_the_callers(fake_openai):
    fake_openai.script(Reply(text="The budget is clear and short.", chunks=5, delay=0.02))
    sink = pushed(backend_for(fake_openai))
    texts = [(c.text, t) for c, t in zip(sink.chunks, sink.threads, strict=True) if isinstance(c, TextDelta)]
    assert "".join(text for text, _ in texts) == "The budget is clear and short." and len(texts) == 5
    assert {t for _, t in texts} == {"model-streams"}
    assert sink.chunks[-1] == Finish("stop") and sink.threads[-1] == threading.current_thread().name


def test_a_whole_reply_that_came_with_the_headers_is_passed_on(fake_openai):
    """A short reply often arrives in the same read as the headers: httpcore holds it, the reactor drains it."""
    fake_openai.script(Reply(text="Short.", chunks=1))
    sink = pushed(backend_for(fake_openai))
    assert sink.text() == "Short." and sink.chunks[-1] == Finish("stop")


def test_tool_call_deltas_are_pushed_in_order(fake_openai):
    calls = [ToolCall("read_section", '{"section_id": "abc"}', id="call_a", argument_chunks=3)]
    fake_openai.script(Reply(text="Let me look.", tool_calls=calls))
    sink = pushed(backend_for(fake_openai))
    deltas = [c for c in sink.chunks if isinstance(c, ToolCallDelta)]
    assert deltas[0].id == "call_a" and deltas[0].name == "read_section"
    assert "".join(d.arguments for d in deltas) == '{"section_id": "abc"}'
    assert sink.text() == "Let me look." and sink.chunks[-1] == Finish("tool_calls")


PARTIAL = "The first half of a reply "


@pytest.mark.parametrize("reply, reason", [
    (Reply(text=PARTIAL, end="stall", stall_seconds=5), "stalled"),
    (Reply(text=PARTIAL, end="cut"), "connection"),
    (Reply(text=PARTIAL, end="truncate"), "truncated"),
    (Reply(text=PARTIAL, end="malformed"), "bad_stream"),
    (Reply(text=PARTIAL, end="error", error_message="The engine overheated."), "server_error"),
], ids=["stall", "cut", "truncate", "malformed", "error-chunk"])
def test_a_broken_stream_is_told_as_when_read_in_the_callers_thread(fake_openai, reply, reason):
    fake_openai.script(reply)
    sink = Sink()
    started = time.monotonic()
    with pytest.raises(ModelError) as caught:
        for chunk in backend_for(fake_openai, idle_timeout=0.5).stream(ChatRequest("fake-small", QUESTION),
                                                                       threading.Event(), sink):
            sink(chunk)
    assert caught.value.reason == reason
    assert sink.text() == PARTIAL  # what came before the failure was passed on
    assert time.monotonic() - started < 4  # a stall is cut at the idle timeout, not the server's 5 s


def test_a_stop_ends_a_pushed_stream_at_once(fake_openai):
    fake_openai.script(Reply(text="word " * 200, delay=0.05))
    cancel = threading.Event()
    sink = Sink()

    def stop_after_some_text(chunk: Chunk) -> None:
        sink(chunk)
        if len(sink.chunks) == 5:
            cancel.set()

    started = time.monotonic()
    for chunk in backend_for(fake_openai, idle_timeout=30).stream(ChatRequest("fake-small", QUESTION), cancel,
                                                                 stop_after_some_text):
        stop_after_some_text(chunk)
    assert time.monotonic() - started < 3  # not the 10 s the whole reply takes
    assert len(sink.chunks) == 5 and not any(isinstance(c, Finish) for c in sink.chunks)


def test_a_sink_that_fails_fails_its_reply_and_no_other(fake_openai):
    fake_openai.script(Reply(text="one two three four", delay=0.02), Reply(text="still streaming fine", delay=0.02))

    def broken(chunk: Chunk) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        for chunk in backend_for(fake_openai).stream(ChatRequest("fake-small", QUESTION), threading.Event(), broken):
            broken(chunk)
    assert pushed(backend_for(fake_openai)).text() == "still streaming fine"


def test_many_streams_at_once_each_get_their_own_text(fake_openai):
    texts = [f"reply {n} " + "word " * random.randint(5, 30) for n in range(40)]
    fake_openai.script(*(Reply(text=t, delay=0.005) for t in texts))
    backend = backend_for(fake_openai)
    got: list[str] = []
    lock = threading.Lock()

    def one() -> None:
        text = pushed(backend).text()
        with lock:
            got.append(text)

    threads = [threading.Thread(target=one) for _ in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(got) == sorted(texts)
    readers = [t for t in threading.enumerate() if t.name == "model-streams"]
    assert len(readers) == 1


def test_a_connection_it_cannot_take_over_is_read_in_the_callers_thread(fake_openai, monkeypatch):
    monkeypatch.setattr(reactor, "detach", lambda response: None)
    fake_openai.script(Reply(text="Read the old way.", chunks=3))
    sink = pushed(backend_for(fake_openai))
    assert sink.text() == "Read the old way."
    assert set(sink.threads) == {threading.current_thread().name}


def test_a_failure_of_the_reader_itself_fails_its_replies_and_the_next_one_works(fake_openai, monkeypatch):
    fake_openai.default = Reply(text="Read again.")

    def broken(*args):
        raise RuntimeError("a bug in the loop")

    monkeypatch.setattr(reactor.Reactor, "_adopt", broken)
    with pytest.raises(ModelError) as caught:
        pushed(backend_for(fake_openai, max_retry_after=0))  # no retries: one attempt
    assert caught.value.reason == "connection"  # told, not left waiting
    monkeypatch.undo()
    assert pushed(backend_for(fake_openai)).text() == "Read again."


def test_detach_refuses_what_it_does_not_know():
    assert reactor.detach(object()) is None


# -- over TLS, as to api.openai.com --------------------------------------------------------------

@pytest.fixture
def tls_model(monkeypatch) -> Iterator[FakeOpenAI]:
    """The fake server over HTTPS, with a certificate the backend's client trusts (SSL_CERT_FILE)."""
    trustme = pytest.importorskip("trustme", reason="trustme makes the test certificates (requirements-dev.txt)")
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    with authority.cert_pem.tempfile() as ca_file:
        monkeypatch.setenv("SSL_CERT_FILE", ca_file)
        with FakeOpenAI(tls=server_context) as server:
            yield server


def test_a_tls_stream_is_read_by_the_reactor(tls_model):
    text = "".join(f"token{n} " for n in range(300))
    tls_model.script(Reply(text=text), Reply(text="Paced over TLS.", chunks=4, delay=0.05))
    backend = backend_for(tls_model)
    fast = pushed(backend)  # many TLS records per read: what the SSL object holds is read too
    assert tls_model.url.startswith("https://") and fast.text() == text and fast.chunks[-1] == Finish("stop")
    paced = pushed(backend)
    assert paced.text() == "Paced over TLS."
    assert {t for c, t in zip(paced.chunks, paced.threads, strict=True) if isinstance(c, TextDelta)} == {
        "model-streams"}


def test_a_tls_stream_that_stalls_or_is_stopped_ends(tls_model):
    tls_model.script(Reply(text=PARTIAL, end="stall", stall_seconds=5), Reply(text="word " * 200, delay=0.05))
    with pytest.raises(ModelError) as caught:
        pushed(backend_for(tls_model, idle_timeout=0.5))
    assert caught.value.reason == "stalled"
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    stopped = pushed(backend_for(tls_model), cancel)
    assert time.monotonic() - started < 3 and 0 < len(stopped.chunks) < 200


def test_lines_are_split_however_the_bytes_arrive():
    body = "data: a\r\n\r\ndata: \u00e9t\u00e9 b\n\ndata: c\r\rlast".encode()
    rng = random.Random(7)
    for _ in range(200):
        splitter, lines, at = sse.LineSplitter(), [], 0
        while at < len(body):
            step = rng.randint(1, 4)
            lines += splitter.feed(body[at:at + step])
            at += step
        lines += splitter.end()
        assert lines == ["data: a", "", "data: \u00e9t\u00e9 b", "", "data: c", "", "last"]


def test_a_forked_process_reads_with_a_loop_of_its_own(fake_openai):
    """A gunicorn worker forked after the loop started: its streams are read (threads do not survive a fork)."""
    import os

    fake_openai.script(Reply(text="Before the fork."), Reply(text="In the child."))
    assert pushed(backend_for(fake_openai)).text() == "Before the fork."  # the parent's loop runs
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = 0 if pushed(backend_for(fake_openai)).text() == "In the child." else 2
        finally:
            os._exit(code)
    deadline = time.monotonic() + 20
    while not (done := os.waitpid(pid, os.WNOHANG))[0] and time.monotonic() < deadline:
        time.sleep(0.05)
    if not done[0]:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    assert done[0] and os.waitstatus_to_exitcode(done[1]) == 0, "the child's stream was never read"


def test_the_loop_counts_as_behind_only_while_it_is_kept_from_its_wait(fake_openai):
    """`behind` is what the engine's gate yields to: false while the loop waits for bytes, true while a
    sink holds it (as hundreds of tokens or other threads holding the GIL would)."""
    fake_openai.script(Reply(text="one two three", chunks=3, delay=0.3))
    in_sink, release = threading.Event(), threading.Event()
    seen: list[bool] = []

    def slow(chunk: Chunk) -> None:
        if isinstance(chunk, TextDelta) and not in_sink.is_set():
            in_sink.set()
            release.wait(5)

    backend = backend_for(fake_openai)
    reader = threading.Thread(target=lambda: list(backend.stream(ChatRequest("fake-small", QUESTION),
                                                                 threading.Event(), slow)))
    reader.start()
    assert in_sink.wait(5)
    time.sleep(BEHIND_SECONDS * 5)
    seen.append(reactor.REACTOR.lag.behind())  # kept in the sink
    release.set()
    time.sleep(0.1)  # the next chunk is 0.3 s away: the loop is back in its wait
    seen.append(reactor.REACTOR.lag.behind())
    reader.join(5)
    assert seen == [True, False]
