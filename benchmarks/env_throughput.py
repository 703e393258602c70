"""Environment and harness throughput: raw engines vs our adapters, and eval episodes/s for K = 1, 2, 4.

    ALFWORLD_DATA=../shared/data/alfworld python benchmarks/env_throughput.py [--model qwen-1.5b] [--skip-model]

1. Steps/s of each engine called directly vs through its adapter (same actions, same process; overhead goal
   < 5 %): the median game of each (its reset included), the variants played in turn. TextWorldExpress:
   250 x ``--rounds`` games each after as many untimed; raw is its library's ``step``, and the engine's bare
   JSON step (which the adapter calls, skipping the library's second JVM call) is timed as well. ALFWorld:
   ``--rounds`` / 2 games each after one untimed; also in the adapter's default child process (needed for
   concurrent games).
2. Eval throughput (episodes/s) of ReAct on TextWorldExpress with the scripted model (harness overhead only)
   and with the embedded model, at K = 1, 2, 4 concurrent episodes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time

from agentkit.envs.demos import play_expert
from agentkit.envs.eval import EpisodeLog
from agentkit.envs.textworld_express import TextWorldExpress
from agentkit.experiments import AgentPlayer, play_episodes
from agentkit.models.testing import ScriptedModel
from agentkit.workflows import react


async def in_turn(plays: list, timed: int, untimed: int) -> list[float]:
    """The median seconds of each of ``plays`` (async callables playing one game), played in turn with the order
    rotating, ``untimed`` times each and then ``timed`` times each. Played in turn, every variant sees the same
    conditions (this machine's speed drifts by 2x over minutes; a JIT warms up), and the median drops pauses."""
    seconds: list[list[float]] = [[] for _ in plays]
    for played in range(untimed + timed):
        first = played % len(plays)
        for i in [*range(first, len(plays)), *range(first)]:
            started = time.perf_counter()
            await plays[i]()
            if played >= untimed:
                seconds[i].append(time.perf_counter() - started)
    return [statistics.median(times) for times in seconds]


async def expert_actions(env, task_id: str) -> list[str]:
    """The actions of the environment's expert on ``task_id``; closes ``env``."""
    transcript, _, _ = await play_expert(env, task_id)
    await env.close()
    return [line[8:] for line in transcript.splitlines() if line.startswith("Action: ")]


def adapter_game(env, task_id: str, actions: list[str]):
    async def play() -> None:
        await env.reset(task_id)
        for action in actions:
            await env.step(action)

    return play


async def twx_rates(actions: list[str], games: int) -> tuple[float, float, float]:
    """Steps/s of the raw engine (its library's ``step``), of our adapter and of the engine's bare JSON step
    (what the adapter calls; the floor), over ``games`` games each after as many untimed. All three drive the
    same engine (one JVM): a TWX step takes 0.1-0.2 ms, and two JVMs warm up differently by more than that."""
    import orjson

    ours = TextWorldExpress(games=["coin"], episodes=1)
    await ours.reset("coin/20000")
    raw = ours._env  # the adapter's own TextWorldExpressEnv, coin loaded
    step_json = raw.server.stepJSON

    async def raw_game() -> None:
        raw.reset(seed=20000, gameFold="test", generateGoldPath=True)
        for action in actions:
            raw.step(action)

    async def bare_game() -> None:
        raw.reset(seed=20000, gameFold="test", generateGoldPath=True)
        for action in actions:
            orjson.loads(step_json(action))

    seconds = await in_turn([raw_game, adapter_game(ours, "coin/20000", actions), bare_game], games, games)
    await ours.close()
    return tuple(len(actions) / s for s in seconds)


async def alfworld_rates(task_id: str, actions: list[str], games: int) -> tuple[float, float, float]:
    """Steps/s of the raw TextWorld engine (with ALFWorld's wrappers), of our adapter in-process and of our
    adapter in its child process; each game loads the game file. One untimed game each (imports, starting the
    child process)."""
    import textworld
    from alfworld.agents.environment.alfred_tw_env import AlfredDemangler, AlfredInfos

    from agentkit.envs.alfworld import AlfWorld

    inline, child = AlfWorld(isolate=False), AlfWorld()
    infos = textworld.EnvInfos(won=True, admissible_commands=True, extras=["gamefile"])

    async def raw_game() -> None:
        env = textworld.start(f"{inline.folder}/{task_id}/game.tw-pddl", request_infos=infos,
                              wrappers=[AlfredDemangler(), AlfredInfos])
        env.reset()
        for action in actions:
            env.step(action)
        env.close()

    plays = [raw_game, adapter_game(inline, task_id, actions), adapter_game(child, task_id, actions)]
    seconds = await in_turn(plays, games, 1)
    await inline.close()
    await child.close()
    return tuple(len(actions) / s for s in seconds)


async def eval_rate(model, k: int, episodes: int, max_steps: int) -> tuple[float, float]:
    """The eval harness and the library's agent player (the path run_eval takes), events streamed."""
    play = AgentPlayer(react.build(max_steps=max_steps), model)
    ids = [f"coin/{20000 + i}" for i in range(episodes)]
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        records = await play_episodes(lambda: TextWorldExpress(games=["coin"], episodes=episodes), ids, play,
                                      EpisodeLog(out), concurrency=k)
        seconds = time.perf_counter() - started
    steps = sum(r.steps for r in records)
    return episodes / seconds, steps / seconds


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="qwen-1.5b")
    parser.add_argument("--skip-model", action="store_true")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    twx_actions = await expert_actions(TextWorldExpress(games=["coin"], episodes=1), "coin/20000")
    print("engine             raw steps/s   adapter steps/s   overhead")
    raw, ours, bare = await twx_rates(twx_actions, args.rounds * 250)
    print(f"textworld_express  {raw:11.0f}   {ours:15.0f}   {raw / ours - 1:8.1%}")
    print(f"  (the engine's bare JSON step, which the adapter calls: {bare:.0f} steps/s; the adapter's own work: "
          f"{(1 / ours - 1 / bare) * 1e6:.1f} µs a step)")
    if os.environ.get("ALFWORLD_DATA"):
        from agentkit.envs.alfworld import AlfWorld

        env = AlfWorld(expert="handcoded", isolate=False)
        task_id = env.task_ids()[0]
        actions = await expert_actions(env, task_id)
        raw, ours, child = await alfworld_rates(task_id, actions, max(3, args.rounds // 2))
        print(f"alfworld           {raw:11.1f}   {ours:15.1f}   {raw / ours - 1:8.1%}   (in-process)")
        print(f"alfworld           {raw:11.1f}   {child:15.1f}   {raw / child - 1:8.1%}   (child process, default)")
    else:
        print("alfworld           (set ALFWORLD_DATA to measure)")

    started = time.perf_counter()
    probe = TextWorldExpress(games=["coin"], episodes=1)
    await probe.reset("coin/20000")
    await probe.close()
    print(f"\nStarting a TextWorldExpress env (its JVM) and the first reset: {time.perf_counter() - started:.2f} s; "
          "each of the K workers below starts one.")
    print("ReAct on TextWorldExpress coin, episodes/s (steps/s):")
    scripted = ScriptedModel(default="Thought: look.\nAction: look around")
    for k in (1, 2, 4):
        per_episode, per_step = await eval_rate(scripted, k, episodes=24, max_steps=10)
        print(f"  scripted model  K={k}: {per_episode:6.2f} episodes/s ({per_step:7.1f} steps/s)")
    if not args.skip_model:
        from agentkit.models.registry import load_model

        model = load_model(args.model)
        await model.load()
        for k in (1, 2, 4):
            per_episode, per_step = await eval_rate(model, k, episodes=4, max_steps=3)
            print(f"  {model.name:14s} K={k}: {per_episode:6.3f} episodes/s ({per_step:5.2f} steps/s)")
        await model.aclose()


if __name__ == "__main__":
    asyncio.run(main())
