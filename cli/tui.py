"""``agentkit tui``: the terminal UI (needs the ``tui`` extra: Textual)."""

from __future__ import annotations

import argparse

from agentkit.optional import require

EXAMPLES = """examples:
  agentkit tui                                   # chat with the embedded default model, chain of thought
  agentkit tui --model qwen-0.5b --workflow "sc n=5"
  agentkit tui --model openai:http://127.0.0.1:8000/v1#qwen --workflow react
  agentkit tui --memory runs/memory --workflow react   # see what the memory recalls each turn
"""


def add_tui_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workflow", default="cot", help="NAME [key=value ...] (default cot), e.g. \"tot algo=beam\"")
    parser.add_argument("--history", default=None, help="the chat history file (default: chats.sqlite in the data "
                        "folder, $AGENTKIT_DATA or ~/.local/share/agentkit)")
    parser.add_argument("--memory", default=None, help="an experience memory folder to recall from")
    parser.add_argument("--max-tokens", type=int, default=512, help="generation limit per model call (default 512)")
    parser.add_argument("--max-calls", type=int, default=None, help="each turn's call budget")
    parser.add_argument("--max-total-tokens", type=int, default=None, help="each turn's token budget")
    parser.add_argument("--time-limit", type=float, default=None, help="each turn's time budget in seconds")


async def tui_command(args: argparse.Namespace) -> int:
    require("textual", what="The terminal UI", needs="textual", extra="agentkit[tui]")
    from agentkit.limits import Limits
    from agentkit.models.registry import default_spec
    from agentkit.tui.app import AgentkitApp

    limits = Limits(calls=args.max_calls, tokens=args.max_total_tokens, seconds=args.time_limit)
    app = AgentkitApp(model=args.model or default_spec(), workflow=args.workflow, history=args.history, memory=args.memory,
                      limits=limits, max_tokens=args.max_tokens)
    await app.run_async()
    return 0
