"""What streaming every event costs an eval: the agent player run_eval uses (``AgentPlayer``: the graph
through ``runtime.stream_run``, each event handed to ``on_event``) against a player that only invokes the
graph (``graph.ainvoke``, no events), on the same episodes, in one run.

    python benchmarks/eval_events.py [--rounds 16] [--episodes 24]

ReAct with a scripted model (free, so the harness and the graph runtime are all that is timed) on
TextWorldExpress coin, 10 steps an episode, K = 1. The two players take turns, the order alternating each
round, and each reports its median round: this machine's speed drifts by 2x over minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time

from agentkit.context import RunContext
from agentkit.envs.eval import EpisodeLog
from agentkit.envs.textworld_express import TextWorldExpress
from agentkit.experiments import AgentPlayer, EpisodeRecord, play_episodes
from agentkit.models.testing import ScriptedModel
from agentkit.workflows import react


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--episodes", type=int, default=24)
    args = parser.parse_args()
    model = ScriptedModel(default="Thought: look.\nAction: look around")
    graph = react.build(max_steps=10)
    events = 0

    async def invoke_only(env, task_id):
        state = await graph.ainvoke({"task_id": task_id}, context=RunContext(model, env=env))
        return EpisodeRecord(task_id=task_id, won=bool(state.get("won")), steps=len(state["steps"]))

    def count(task_id, event):
        nonlocal events
        events += 1

    streaming = AgentPlayer(graph, model, on_event=count)

    async def rate(play) -> float:
        ids = [f"coin/{20000 + i}" for i in range(args.episodes)]
        with tempfile.TemporaryDirectory() as out:
            started = time.perf_counter()
            await play_episodes(lambda: TextWorldExpress(games=["coin"], episodes=args.episodes), ids, play,
                                EpisodeLog(out))
            return args.episodes / (time.perf_counter() - started)

    await rate(invoke_only)  # untimed: JVM start, imports, caches
    await rate(streaming)
    events = 0
    plain, streamed = [], []
    for i in range(args.rounds):
        pair = [(invoke_only, plain), (streaming, streamed)]
        for play, into in pair if i % 2 == 0 else reversed(pair):
            into.append(await rate(play))
    a, b = statistics.median(plain), statistics.median(streamed)
    per_step = (1 / b - 1 / a) / 10 * 1000
    print(f"graph.ainvoke, no events   {a:6.2f} episodes/s (median of {args.rounds} rounds)")
    print(f"AgentPlayer, events out    {b:6.2f} episodes/s ({events / (args.rounds * args.episodes):.0f} events "
          "an episode)")
    print(f"streaming costs {a / b - 1:+.1%} of an episode, {per_step:.2f} ms a step")


if __name__ == "__main__":
    asyncio.run(main())
