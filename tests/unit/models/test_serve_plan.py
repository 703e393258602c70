import os
import sys

import pytest

from agentkit.errors import ModelServerError, UserError
from agentkit.models.serve import _port_free, plan_server, serving_model, vllm_command


def test_a_vllm_model_is_served_by_vllm_serve_with_the_documented_flags():
    plan = plan_server("vllm:Qwen/Qwen2.5-Coder-7B-Instruct", parallel=16, port=8001, ctx=8192)
    assert plan.engine == "vllm" and plan.spec == "openai:http://127.0.0.1:8001/v1#Qwen2.5-Coder-7B-Instruct"
    assert vllm_command(plan) == ["vllm", "serve", "Qwen/Qwen2.5-Coder-7B-Instruct", "--host", "127.0.0.1",
                                  "--port", "8001", "--max-num-seqs", "16", "--max-model-len", "8192",
                                  "--served-model-name", "Qwen2.5-Coder-7B-Instruct", "--enable-prefix-caching"]


@pytest.mark.parametrize(("spec", "match"), [
    ("openai:http://127.0.0.1:8000/v1#m", "already a openai model"),
    ("scripted:hi", "already a scripted model"),
])
def test_what_is_already_a_client_is_refused(spec, match):
    with pytest.raises(UserError, match=match):
        plan_server(spec)


def test_bad_numbers_are_refused_with_what_each_must_be():
    with pytest.raises(UserError, match="--parallel must be at least 1"):
        plan_server("vllm:x/y", parallel=0)


def test_a_port_in_use_is_refused_before_anything_starts():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert not _port_free("127.0.0.1", port)
        with pytest.raises(UserError, match=f"Port {port} on 127.0.0.1 is in use"):
            with serving_model(plan_server("vllm:x/y", port=port)):
                pass


def test_vllm_missing_says_where_it_runs(monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(UserError, match="GPU"):
        with serving_model(plan_server("vllm:x/y", port=8799)):
            pass


def test_a_gguf_without_the_server_wheel_says_what_to_install(monkeypatch, tmp_path):
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    monkeypatch.setitem(sys.modules, "xllamacpp", None)  # import fails as when the wheel is absent
    with pytest.raises(UserError, match=r"pip install 'agentkit\[serving\]'"):
        with serving_model(plan_server(f"llamacpp:{model}", port=_unused_port())):
            pass


def test_a_server_that_cannot_load_its_gguf_says_why_and_what_to_do(tmp_path):
    pytest.importorskip("xllamacpp")
    model = tmp_path / "broken.gguf"
    model.write_bytes(b"GGUF" + bytes(range(256)) * 64)  # the magic, then no valid header
    with pytest.raises(ModelServerError, match=r"did not start on .*broken.gguf \(16,388 bytes\).*downloaded again"):
        with serving_model(plan_server(f"llamacpp:{model}", port=_unused_port())):
            pass


def test_vllm_serve_that_dies_before_it_answers_is_reported_with_its_exit_code(monkeypatch, tmp_path):
    fake = tmp_path / "vllm"
    fake.write_text("#!/bin/sh\necho 'CUDA not available' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(ModelServerError, match="vllm serve exited with code 3 before it answered"):
        with serving_model(plan_server("vllm:x/y", port=_unused_port()), startup_seconds=60):
            pass


def _unused_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
