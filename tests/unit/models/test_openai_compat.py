"""The openai backend against a scripted HTTP server on 127.0.0.1: retries, n emulation, schema fallback."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agentkit.errors import ModelServerError
from agentkit.models.openai_compat import OpenAICompatModel


class FakeServer:
    """Answers /v1/chat/completions. ``plan`` maps request number → an action; the default is a reply that
    ignores ``n`` (like llama.cpp's server) unless ``honor_n`` is set."""

    def __init__(self):
        self.bodies: list[dict] = []
        self.plan: dict[int, object] = {}
        self.honor_n = False
        self.reject_json_schema = False
        self.delay = 0.0
        self.in_flight = self.max_in_flight = 0
        self.fail_seed_once: set[int] = set()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server._lock:
                    number = len(server.bodies)
                    server.bodies.append(body)
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    time.sleep(server.delay)
                    status, payload = server.respond(number, body)
                finally:
                    with server._lock:
                        server.in_flight -= 1
                if body.get("stream") and status == 200:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def respond(self, number, body):
        action = self.plan.get(number)
        if isinstance(action, int):
            return action, {"error": {"message": f"scripted {action}"}}
        if action == "garbage":
            return 200, b"<html>proxy error</html>"
        seed = body.get("seed")
        if seed in self.fail_seed_once:
            self.fail_seed_once.discard(seed)
            return 502, {"error": {"message": "bad gateway"}}
        fmt = (body.get("response_format") or {}).get("type")
        if self.reject_json_schema and fmt == "json_schema":
            status = 500 if self.reject_json_schema == "500" else 400
            return status, {"error": {"message": "response_format type json_schema is not supported"}}
        if body.get("stream"):
            events = [{"choices": [{"index": 0, "delta": {"content": w}, "finish_reason": None}]}
                      for w in ["Hel", "lo", "!"]]
            events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            events.append({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 3}})
            return 200, b"".join(f"data: {json.dumps(e)}\n\n".encode() for e in events) + b"data: [DONE]\n\n"
        n = body.get("n", 1) if self.honor_n else 1
        content = '{"ok": true}' if fmt else f"reply {number} seed {seed}"
        choices = [{"index": i, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                   for i in range(n)]
        if body.get("logprobs"):
            for c in choices:
                c["logprobs"] = {"content": [{"token": "Yes", "logprob": -0.1, "top_logprobs": [
                    {"token": "Yes", "logprob": -0.1}, {"token": "No", "logprob": -2.4}][: body["top_logprobs"]]}]}
        return 200, {"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": choices,
                     "usage": {"prompt_tokens": 7, "completion_tokens": 2 * n, "total_tokens": 7 + 2 * n}}

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = FakeServer()
    yield s
    s.close()


def _model(server, **options):
    return OpenAICompatModel(server.url, "m", backoff=0.01, **options)


def test_a_reply_maps_to_a_completion_with_usage(server):
    completion = _model(server).generate_sync("hi", max_tokens=5, stop=["\n"], seed=3)
    assert completion.text == "reply 0 seed 3"
    assert completion.usage.prompt_tokens == 7 and completion.usage.calls == 1
    sent = server.bodies[0]
    assert (sent["model"], sent["max_tokens"], sent["stop"], sent["seed"]) == ("m", 5, ["\n"], 3)
    assert sent["messages"] == [{"role": "user", "content": "hi"}]


def test_logprobs_are_asked_for_and_read_per_token(server):
    completion = _model(server).generate_sync("Yes or no?", max_tokens=1, logprobs=2)
    assert (server.bodies[0]["logprobs"], server.bodies[0]["top_logprobs"]) == (True, 2)
    assert completion.choices[0].logprobs == ({"Yes": -0.1, "No": -2.4},)
    assert _model(server).generate_sync("hi").choices[0].logprobs is None
    assert "logprobs" not in server.bodies[1]


def test_a_last_assistant_message_asks_the_server_to_continue_it(server):
    _model(server).generate_sync([{"role": "user", "content": "q"}, {"role": "assistant", "content": "Step 1:"}])
    body = server.bodies[0]
    assert body["continue_final_message"] is True and body["add_generation_prompt"] is False
    assert body["messages"][-1] == {"role": "assistant", "content": "Step 1:"}


def test_5xx_and_garbage_are_retried(server):
    server.plan = {0: 500, 1: "garbage", 2: 503}
    assert _model(server, retries=3).generate_sync("hi").text == "reply 3 seed None"
    assert len(server.bodies) == 4


def test_a_server_that_keeps_failing_gives_a_clear_error_after_the_retries(server):
    server.plan = dict.fromkeys(range(10), 503)
    with pytest.raises(ModelServerError, match="kept failing after 3 attempts.*Is the server running"):
        _model(server, retries=2).generate_sync("hi")
    assert len(server.bodies) == 3


def test_a_server_that_is_down_is_named_in_the_error():
    model = OpenAICompatModel("http://127.0.0.1:9/v1", "m", retries=1, backoff=0.01, timeout=2)
    with pytest.raises(ModelServerError, match="127.0.0.1:9/v1 kept failing.*Connection"):
        model.generate_sync("hi")


def test_client_errors_are_not_retried(server):
    server.plan = {0: 401}
    with pytest.raises(ModelServerError, match="refused the request.*API key"):
        _model(server).generate_sync("hi")
    assert len(server.bodies) == 1


def test_n_is_emulated_with_parallel_requests_when_the_server_ignores_it(server):
    model = _model(server)
    completion = model.generate_sync("hi", n=3, seed=100, temperature=0.8)
    assert len(completion.choices) == 3 and [c.index for c in completion.choices] == [0, 1, 2]
    assert [b.get("n") for b in server.bodies] == [3, None, None]
    assert sorted(b["seed"] for b in server.bodies) == [100, 101, 102]
    assert model.native_n is False and completion.usage.calls == 3
    server.bodies.clear()
    model.generate_sync("again", n=3, seed=1, temperature=0.8)
    assert [b.get("n") for b in server.bodies] == [None, None, None]  # known now: no wasted n=3 request


def test_a_failed_sample_is_retried_alone_never_redoing_finished_ones(server):
    server.fail_seed_once = {11}
    completion = _model(server, native_n=False).generate_sync("hi", n=3, seed=10, temperature=0.8)
    assert len(completion.choices) == 3
    assert sorted(b["seed"] for b in server.bodies) == [10, 11, 11, 12]


def test_native_n_is_used_when_the_server_honours_it(server):
    server.honor_n = True
    model = _model(server)
    assert len(model.generate_sync("hi", n=4, temperature=0.7).choices) == 4
    assert len(server.bodies) == 1 and model.native_n is True


def test_concurrency_is_limited(server):
    server.delay = 0.05
    _model(server, native_n=False, max_concurrency=2).generate_sync("hi", n=6, temperature=0.5)
    assert len(server.bodies) == 6 and server.max_in_flight == 2


@pytest.mark.parametrize("status", ["400", "500"])
def test_structured_output_falls_back_from_json_schema_and_remembers(server, status):
    server.reject_json_schema = status
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    model = _model(server)
    assert model.generate_sync("hi", schema=schema).json() == {"ok": True}
    kinds = [b["response_format"]["type"] for b in server.bodies]
    assert kinds == ["json_schema", "json_object"]
    assert server.bodies[1]["response_format"]["schema"] == schema
    model.generate_sync("again", schema=schema)
    assert server.bodies[2]["response_format"] == {"type": "json_object", "schema": schema}


def test_stream_yields_pieces_and_reads_usage(server):
    import asyncio

    async def collect():
        model = _model(server)
        pieces = [p async for p in model.stream("hi")]
        return pieces, model.total.usage

    pieces, usage = asyncio.run(collect())
    assert pieces == ["Hel", "lo", "!"]
    assert (usage.prompt_tokens, usage.completion_tokens) == (5, 3)
    assert server.bodies[0]["stream_options"] == {"include_usage": True}


def test_a_stream_cut_after_text_is_not_retried_and_says_so(server):
    import asyncio

    class CutModel(OpenAICompatModel):
        async def _create_stream(self, params):
            yield {"choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": None}]}
            import httpx
            import openai
            raise openai.APIConnectionError(request=httpx.Request("POST", "http://127.0.0.1/v1/chat/completions"))

    async def collect(model, pieces):
        async for p in model.stream("hi"):
            pieces.append(p)

    pieces = []
    with pytest.raises(ModelServerError, match="broke off a stream after sending text.*not retried"):
        asyncio.run(collect(CutModel(server.url, "m", backoff=0.01), pieces))
    assert pieces == ["Hel"]
