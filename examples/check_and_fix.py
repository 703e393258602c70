"""A user-defined workflow: a chain-of-thought draft, then a new ``check`` node that has the model re-read
its draft and write a corrected version, then the usual answer extraction.

    agentkit run "A shop sells pens at 3 for 2 dollars. How much do 12 pens cost?" \
        --workflow examples.check_and_fix:build
"""

from typing import TypedDict

from langgraph.graph import END, START, StateGraph

from agentkit.context import RunContext
from agentkit.workflows.cot import make_extract
from agentkit.workflows.nodes import StopReason, guard, make_generate
from agentkit.workflows.tasks import get_task

CHECK = "Problem: {question}\n\nDraft:\n{reasoning}\n\nCheck every step of the draft, fix any mistake, " \
        "and end with the line 'Answer: <the answer>'."


class State(TypedDict, total=False):
    question: str
    reasoning: str
    answer: str | None
    error: str | None
    stop_reason: StopReason


@guard  # a spent budget ends the node cleanly instead of raising
async def check(state: State, runtime) -> dict:
    reply = await runtime.context.generate(CHECK.format(**state))
    return {"reasoning": reply.text}


def build(*, task=None, checkpointer=None):
    task = get_task(task)
    graph = StateGraph(State, context_schema=RunContext)
    graph.add_node("draft", make_generate(task.prompt("cot"), node="draft"))
    graph.add_node("check", check)
    graph.add_node("extract", make_extract(task))
    graph.add_edge(START, "draft")
    graph.add_edge("draft", "check")
    graph.add_edge("check", "extract")
    graph.add_edge("extract", END)
    return graph.compile(checkpointer=checkpointer)
