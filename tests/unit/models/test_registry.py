import pytest

from agentkit.errors import UserError
from agentkit.models.base import Model
from agentkit.models.llamacpp import LlamaCppModel
from agentkit.models.openai_compat import OpenAICompatModel
from agentkit.models.registry import ModelSpec, default_spec, load_model, parse_spec
from agentkit.models.testing import ScriptedModel


@pytest.mark.parametrize(
    ("spec", "backend", "target"),
    [
        ("qwen-1.5b", "llamacpp", "qwen-1.5b"),
        ("qwen-0.5b", "llamacpp", "qwen-0.5b"),
        ("/models/x.gguf", "llamacpp", "/models/x.gguf"),
        ("llamacpp:/models/x.gguf", "llamacpp", "/models/x.gguf"),
        ("openai:http://127.0.0.1:8000/v1#qwen", "openai", "http://127.0.0.1:8000/v1#qwen"),
        ("vllm:Qwen/Qwen2.5-7B-Instruct", "vllm", "Qwen/Qwen2.5-7B-Instruct"),
        ("litellm:ollama/qwen2.5-coder:1.5b", "litellm", "ollama/qwen2.5-coder:1.5b"),
        ("scripted:hello", "scripted", "hello"),
    ],
)
def test_every_spec_form_parses(spec, backend, target):
    parsed = parse_spec(spec)
    assert (parsed.backend, parsed.target, parsed.options) == (backend, target, {})


def test_options_after_a_question_mark_are_typed_by_the_backend():
    model = load_model("qwen-0.5b?n_ctx=1024&prefix_cache=false&n_threads=1")
    assert isinstance(model, LlamaCppModel)
    assert (model.n_ctx, model.prefix_cache, model.n_threads) == (1024, False, 1)
    remote = load_model("openai:http://127.0.0.1:9/v1#m?timeout=2.5&retries=0")
    assert isinstance(remote, OpenAICompatModel)
    assert (remote.base_url, remote.model, remote.timeout, remote.retries) == ("http://127.0.0.1:9/v1", "m", 2.5, 0)


def test_keyword_options_override_the_spec():
    assert load_model("qwen-0.5b?n_ctx=1024", n_ctx=512).n_ctx == 512


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("gpt5", "Unknown model spec 'gpt5'"),
        ("qwen-0.5b?n_ctxx=5", "no option 'n_ctxx'. Options: .*n_ctx"),
        ("qwen-0.5b?n_ctx=big", "n_ctx='big' should be a whole number"),
        ("qwen-0.5b?n_ctx", "write options as \\?key=value"),
        ("openai:", "names the openai backend but nothing to load"),
        ("openai:localhost:8000#m", "needs an http\\(s\\) URL"),
    ],
)
def test_bad_specs_say_what_to_write(spec, fragment):
    with pytest.raises(UserError, match=fragment):
        load_model(spec)


def test_default_comes_from_the_environment_then_the_embedded_model(monkeypatch):
    assert default_spec() == "qwen-1.5b"
    monkeypatch.setenv("AGENTKIT_MODEL", "scripted:from env")
    assert load_model().generate_sync("q").text == "from env"


def test_a_ready_model_passes_through_and_specs_round_trip():
    model = ScriptedModel(["x"])
    assert load_model(model) is model
    assert str(ModelSpec("llamacpp", "qwen-0.5b", {"n_ctx": "512"})) == "llamacpp:qwen-0.5b?n_ctx=512"
    assert isinstance(load_model(parse_spec("scripted:x")), Model)
