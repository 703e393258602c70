import asyncio

import pytest

from agentkit.context import RunContext
from agentkit.envs.base import EnvCrashed
from agentkit.envs.webshop.adapter import WebShop
from agentkit.envs.webshop.catalog import GOALS, PRODUCTS
from agentkit.envs.webshop.scorer import reward, token_set_ratio
from agentkit.envs.webshop.server import serving
from agentkit.models.testing import ScriptedModel
from agentkit.workflows import react


@pytest.fixture(scope="module")
def site():
    with serving() as url:
        yield url


async def _play(url, goal, actions):
    env = WebShop(url=url, goals=len(GOALS))
    try:
        obs = await env.reset(goal)
        return obs, [await env.step(a) for a in actions]
    finally:
        await env.close()


def test_buying_the_right_product_with_the_right_options_scores_1(site):
    obs, results = asyncio.run(_play(site, "10", ["search[braided usb c cable]", "click[B0AK000020]", "click[10 ft]",
                                                  "click[grey]", "click[Buy Now]"]))
    assert obs.task.startswith("find a braided fast charging usb c cable") and "[Search]" in obs.text
    assert "[Back to Search]" in results[0].observation and "[B0AK000020]" in results[0].observation
    assert "[10 ft (selected)]" in results[2].observation and "[Buy Now]" in results[3].observation
    last = results[-1]
    assert last.done and last.won and last.reward == 1.0


def test_wrong_options_get_partial_reward_as_the_official_formula(site):
    _, results = asyncio.run(_play(site, "10", ["search[usb c cable]", "click[B0AK000020]", "click[3 ft]",
                                                 "click[Buy Now]"]))
    # 2 attributes + 1 of 2 options wrong (3 ft) + price ok, over 2 + 2 + 1
    assert results[-1].done and not results[-1].won and results[-1].reward == pytest.approx(3 / 5)


def test_invalid_actions_are_observations(site):
    _, results = asyncio.run(_play(site, "0", ["click[Buy Now]", "buy it", "search[]", "search[running shoes]",
                                               "search[again]", "click[Next >]"]))
    assert results[0].observation.startswith("Invalid action: there is no [Buy Now]")
    assert "search[<query>]" in results[0].observation
    assert "not search[query] or click[button]" in results[1].observation
    assert "query is empty" in results[2].observation
    assert "no search box" in results[4].observation and "click[back to search]" in results[4].observation
    assert all(not r.done for r in results)


def test_an_unreachable_site_is_an_env_crash():
    async def go():
        env = WebShop(url="http://127.0.0.1:9", goals=1)
        try:
            await env.reset("0")
        finally:
            await env.close()

    with pytest.raises(EnvCrashed, match="Cannot reach the WebShop site"):
        asyncio.run(go())


def test_scorer_follows_the_official_definition():
    product = {p["asin"]: p for p in PRODUCTS}
    goal = {**product[GOALS[0]["asin"]], **GOALS[0]}
    right = {"size": "8", "color": "coral"}
    assert reward(product[goal["asin"]], goal, price=42.99, options=right) == 1.0
    assert reward(product[goal["asin"]], goal, price=99.0, options=right) == pytest.approx(4 / 5)  # over budget
    assert reward(product[goal["asin"]], goal, price=42.99, options={"size": "9", "color": "coral"}) == \
        pytest.approx(4 / 5)  # sizes match exactly or not at all
    # a different product type (tea bags for running shoes) gets no reward
    assert reward(product["B0AK000008"], goal, price=8.0, options={}) == 0.0
    assert token_set_ratio("noise cancelling", "cancelling noise") == 100.0


def test_react_shops_on_the_fixture_site(site):
    model = ScriptedModel(["Thought: search.\nAction: search[wireless noise cancelling headphones]",
                           "Thought: the first.\nAction: click[B0AK000018]",
                           "Thought: blue.\nAction: click[blue]",
                           "Thought: buy.\nAction: click[Buy Now]"])

    async def go():
        env = WebShop(url=site, goals=len(GOALS))
        try:
            return await react.build().ainvoke({"task_id": "9"}, context=RunContext(model, env=env))
        finally:
            await env.close()

    state = asyncio.run(go())
    assert state["won"] and state["reward"] == 1.0 and len(state["steps"]) == 4
    assert "wireless noise cancelling headphones in blue" in model.requests[0].messages[1]["content"]
