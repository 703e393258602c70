"""``python -m agentkit.models.llama_server_main ARGS``: llama-cpp-python's OpenAI-compatible server
(``python -m llama_cpp.server ARGS``) with the weights left unrepacked where the build would use Intel AMX,
whose kernels crash on Q4_K weights (see ``LlamaCppModel``'s ``repack``)."""

from __future__ import annotations

import runpy

from agentkit.models.llamacpp import llama_model_params, uses_amx

if __name__ == "__main__":
    with llama_model_params(use_extra_bufts=not uses_amx()):  # the server builds its model in this thread
        runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
