"""The openai and litellm backends against llama.cpp's OpenAI-compatible server (the stand-in for vllm serve)."""

import asyncio
import socket

import pytest

from agentkit.errors import ModelServerError
from agentkit.models.registry import load_model

pytestmark = [pytest.mark.server, pytest.mark.llm]

QUESTION = "What is the capital of France? Reply with one word."


def test_greedy_answer_through_the_server(server_url):
    completion = load_model(f"openai:{server_url}#qwen-0.5b").generate_sync(QUESTION, max_tokens=8)
    assert completion.text.strip().rstrip(".") == "Paris"
    assert completion.usage.prompt_tokens > 10 and completion.usage.completion_tokens >= 1


def test_n_is_emulated_because_the_server_ignores_it(server_url):
    model = load_model(f"openai:{server_url}#qwen-0.5b")
    completion = model.generate_sync("Invent a name for a dog. One word.", n=3, temperature=1.0, seed=7,
                                     max_tokens=6)
    assert len(completion.choices) == 3 and completion.usage.calls == 3
    assert model.native_n is False


def test_structured_output_through_response_format(server_url):
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
    completion = load_model(f"openai:{server_url}#qwen-0.5b").generate_sync("What is 6 * 7? Reply as JSON.",
                                                                          schema=schema, max_tokens=20)
    assert isinstance(completion.json()["answer"], int)


def test_streaming_through_the_server(server_url):
    model = load_model(f"openai:{server_url}#qwen-0.5b")

    async def collect():
        return [piece async for piece in model.stream(QUESTION, max_tokens=8)]

    pieces = asyncio.run(collect())
    assert "".join(pieces).strip().rstrip(".") == "Paris"
    assert model.total.usage.calls == 1


def test_litellm_reaches_the_same_server(server_url, require):
    require("litellm")
    model = load_model(f"litellm:openai/qwen-0.5b?api_base={server_url}&api_key=none")
    assert model.generate_sync(QUESTION, max_tokens=8).text.strip().rstrip(".") == "Paris"


def test_a_stopped_server_is_a_clear_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    model = load_model(f"openai:http://127.0.0.1:{port}/v1#qwen-0.5b?retries=1&backoff=0.01")
    with pytest.raises(ModelServerError, match=rf"127.0.0.1:{port}/v1 kept failing after 2 attempts"):
        model.generate_sync(QUESTION)
