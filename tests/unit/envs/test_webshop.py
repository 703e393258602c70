import asyncio
import functools
import json
import urllib.request
from pathlib import Path

import pytest

from agentkit.context import RunContext
from agentkit.envs.base import EnvCrashed
from agentkit.envs.webshop import scorer
from agentkit.envs.webshop.adapter import Page, WebShop, render
from agentkit.envs.webshop.catalog import GOALS, Catalog
from agentkit.envs.webshop.server import parse_options, serving
from agentkit.errors import UserError
from agentkit.models.testing import ScriptedModel
from agentkit.workflows import react

CATALOG = Catalog.builtin()


@pytest.fixture(scope="module")
def site():
    with serving() as url:
        yield url


async def _play(url, goal, actions, mode="react"):
    env = WebShop(url=url, goals=len(GOALS), mode=mode)
    try:
        obs = await env.reset(goal)
        return obs, [await env.step(a) for a in actions]
    finally:
        await env.close()


def _official(goal_index, asin, options, price=None):
    goal = CATALOG.goals[goal_index]
    target = {**CATALOG.products[goal["asin"]], **goal}
    product = CATALOG.products[asin]
    return scorer.reward(product, target, price=CATALOG.prices[asin] if price is None else price, options=options)


# --- the reward, point by point (the values are the official goal.py's on the same inputs) ---

@pytest.mark.parametrize(("goal", "asin", "options", "official"), [
    (2, "B0AK000005", {"flavor": "sea salt", "size": "12 pack"}, 0.75),    # "sea salt" is in the title: no matter
    (4, "B0AK000008", {"flavor": "mint", "size": "100 count"}, 0.8),       # "mint" is in the title too
    (10, "B0AK000020", {"size": "6 ft", "color": "grey"}, 0.8),            # the title says "6 ft"
    (11, "B0AK000017", {"size": "33 ft"}, 0.75),
    (10, "B0AK000020", {"size": "10 ft", "color": "grey"}, 1.0),
])
def test_options_are_matched_against_the_goal_options_only_never_the_product_text(goal, asin, options, official):
    assert _official(goal, asin, options) == pytest.approx(official)


def test_each_goal_option_counts_once_so_the_reward_never_exceeds_1():
    # goal 3 wants one option (16 ounce); choosing it twice over, or extra options, cannot add to it
    assert _official(3, "B0AK000006", {"size": "16 ounce", "flavor": "16 ounce", "pack": "16 ounce"}) == 1.0
    assert all(_official(g, a, {k: v[0] for k, v in p["options"].items()}) <= 1.0
               for g in range(len(GOALS)) for a, p in CATALOG.products.items())


@pytest.mark.parametrize(("chosen", "wanted", "matches"), [
    ("pack of 12", "12 pack", 1), ("10ft", "10 ft", 1), ("large", "x-large", 1), ("24 fl oz", "12 fl oz", 1),
    ("gluten-free", "gluten free", 1), ("6 ft", "10 ft", 0), ("m", "medium", 0), ("GREY", "grey", 1),
])
def test_every_option_is_fuzzed_as_the_official_does_sizes_included(chosen, wanted, matches):
    assert scorer.option_matches([chosen], [wanted]) == matches


def test_the_fuzzy_score_is_thefuzz_rounded_to_an_integer_before_the_threshold():
    assert scorer.token_set_ratio("gluten-free", "gluten free") == 100
    assert scorer.token_set_ratio("10ft", "10 ft") == 89 and isinstance(scorer.token_set_ratio("a", "b"), int)
    assert scorer.token_set_ratio("fl oz 24", "fl oz 12") == 88  # 87.5 rounds up, so it passes > 85


@pytest.mark.parametrize(("value", "normal"), [("walnut brown", "brown"), ("dark grey", "dark"), ("black forest", "black"),
                                               ("violet lavender", "lavender"), ("mint", "mint"), ("webshop", "webshop")])
def test_colours_are_normalised_to_the_first_official_colour_they_contain(value, normal):
    assert scorer.normalize_color(value) == normal


def test_normalised_colours_decide_the_match():
    assert scorer.option_matches(["walnut brown"], ["walnut"]) == 0  # "brown" vs "walnut"
    assert scorer.option_matches(["dark grey"], ["grey"]) == 0  # "dark" vs "grey"
    assert scorer.option_matches(["light heather grey"], ["grey"]) == 1  # "grey" comes before "heather", "light"


def test_attributes_match_fuzzily_or_as_a_substring_of_one_field():
    product = {"Attributes": ["noise cancelling"], "Title": "Quiet Headphones", "BulletPoints": ["wireless", "bluetooth"],
               "Description": "long battery"}
    goal = lambda *a: {"attributes": list(a)}  # noqa: E731
    assert scorer.attribute_matches(product, goal("cancelling noise")) == 1  # token sets: 100
    assert scorer.attribute_matches(product, goal("quiet")) == 1  # in the title, lower-cased
    assert scorer.attribute_matches(product, goal("wireless bluetooth")) == 1  # the bullet points are one field
    assert scorer.attribute_matches(product, goal("bluetooth long")) == 0  # across bullet points and description
    assert scorer.attribute_matches(product, goal("Quiet")) == 0  # the goal attribute is not lower-cased


def _typed(name, query="x", category="X › Y"):
    return {"name": name, "query": query, "product_category": category}


@pytest.mark.parametrize(("product", "goal", "r_type"), [
    (_typed("running shoes"), _typed("running shoes", "q", "A › B"), 1.0),           # all nouns shared
    (_typed("shoes"), _typed("running shoes", "q", "A › B"), 1.0),                   # 1/2 > 0.2
    (_typed("cable"), _typed("usb cable charger adapter plug", "q", "A › B"), 0.5),  # 1/5 = 0.2: not > 0.2
    (_typed("cable", "q"), _typed("usb cable charger adapter plug", "q"), 1.0),      # ... but found by the query
    (_typed("cable", category="A › X › Y"), _typed("usb cable charger adapter plug", "q", "A › X"), 1.0),  # 2 levels
    (_typed("bag", "q"), _typed("a b c d e f g h i j bag", "q"), 0.1),              # 1/11 < 0.1, whatever else
    (_typed("tea bags", "q"), _typed("running shoes", "q"), 0.0),                   # none shared, whatever else
    (_typed("tea"), _typed("", "q", "A › B"), 0.5),                                 # no goal nouns: 0.2
])
def test_the_type_reward_levels(monkeypatch, product, goal, r_type):
    monkeypatch.setattr(scorer, "type_nouns", str.split)  # the rule, apart from the tagger
    assert scorer.type_reward(product, goal) == r_type


def test_without_spacy_the_type_nouns_are_words_minus_stop_words(monkeypatch):
    monkeypatch.setattr(scorer, "_nlp", functools.cache(lambda: None))
    assert scorer.noun_source() == "approximation"
    assert scorer.type_nouns("Sneakers, for the men's gym") == ["sneakers", "men", "gym"]  # punctuation dropped
    assert scorer.type_nouns("shoe shoe") == ["shoe", "shoe"]  # repeats counted, as the official counts nouns


def test_spacy_nouns_are_used_when_installed():
    pytest.importorskip("spacy")
    assert scorer.noun_source() == "spacy"
    assert scorer.type_nouns("walking shoes") == ["shoes"]  # "walking" is a verb to the tagger


# --- observation modes ---

_HIDDEN_PAGE = """<html><head><title>WebShop</title><script>var goal = "secret-script";</script></head><body>
<div id="instruction-text"><h4>Instruction:<br>buy tea</h4></div>
<form method="post" action="/s"><button class="btn">Back to Search</button></form>
<div class="grid-item"><!-- category: secret-comment -->
<h4><a class="product-link" href="/item_page/s/B1/q/1/{}">B1</a></h4><h4>Green Tea</h4><h5>$3.00</h5></div>
<div style="display: none"><pre>secret-none</pre></div><h4 hidden>secret-attr</h4>
<input type="hidden" value="secret-input"><style>.x {}</style></body></html>"""


@pytest.mark.parametrize("mode", ["react", "text", "text_rich"])
def test_comments_scripts_and_hidden_elements_never_reach_the_agent(mode):
    text = render(Page(_HIDDEN_PAGE, "http://h/search_results/s/q/1"), mode)
    assert "Green Tea" in text and "B1" in text
    assert "secret" not in text


# Pages the official WebShop app served (on the built-in catalogue, exported in the official format) and what
# the official converters made of each: the official text env's text / text_rich modes and ReAct's client; see
# the file's "source" and the README's WebShop section for how it was recorded.
_RECORDED = json.loads((Path(__file__).parent / "data" / "webshop_official_pages.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("mode", ["react", "text", "text_rich"])
@pytest.mark.parametrize("recorded", _RECORDED["pages"], ids=[p["name"] for p in _RECORDED["pages"]])
def test_recorded_official_pages_render_as_the_official_converters_render_them(recorded, mode):
    page = Page(recorded["html"], recorded["url"], recorded["options"], set(recorded["visited"]))
    # Where the page holds hidden elements (the done page's goal block), the official text env shows them and
    # this adapter does not: the expected text is the official conversion of the page without them.
    assert render(page, mode) == recorded.get(f"{mode}_shown", recorded[mode])


def test_the_recorded_pages_cover_every_official_page_kind_and_the_hidden_goal_block():
    kinds = {Page(p["html"], p["url"]).kind for p in _RECORDED["pages"]}
    assert kinds == {"init", "search", "item", "item_sub", "end"}
    done = next(p for p in _RECORDED["pages"] if p["name"] == "done")
    assert "price upper" in done["text"] and "price upper" not in done["text_shown"]


def test_an_unknown_mode_is_refused_with_the_choices():
    with pytest.raises(UserError, match="react, text, text_rich"):
        WebShop(mode="html")


# --- the fixture site and the adapter, end to end ---

def test_buying_the_right_product_with_the_right_options_scores_1(site):
    obs, results = asyncio.run(_play(site, "10", ["search[braided usb c cable]", "click[B0AK000020]", "click[10 ft]",
                                                  "click[grey]", "click[Buy Now]"]))
    assert obs.task.startswith("find a braided fast charging usb c cable") and obs.text.startswith("\nWebShop \n")
    assert obs.text.endswith("\n[Search] ")
    assert "\n[Back to Search] \nPage 1 (Total results:" in results[0].observation
    assert "\n[B0AK000020] \n" in results[0].observation
    assert results[2].observation == "You have clicked 10 ft."
    last = results[-1]
    assert last.done and last.won and last.reward == 1.0
    assert last.observation == "Your score (min 0.0, max 1.0): 1.0"


def test_wrong_options_get_the_official_partial_reward(site):
    _, results = asyncio.run(_play(site, "10", ["search[usb c cable]", "click[B0AK000020]", "click[3 ft]",
                                                 "click[Buy Now]"]))
    # 2 attributes + 0 of 2 goal options (10 ft, grey) + price ok, over 2 + 2 + 1
    assert results[-1].done and not results[-1].won and results[-1].reward == pytest.approx(3 / 5)


def test_prev_from_a_sub_page_returns_to_the_item_page_with_its_options(site):
    _, results = asyncio.run(_play(site, "10", ["search[usb c cable]", "click[B0AK000020]", "click[10 ft]",
                                                 "click[Description]", "click[< Prev]", "click[< Prev]"]))
    assert "A braided USB-C charging cable." in results[3].observation
    assert "[[10 ft]]" in results[4].observation and "[Buy Now]" in results[4].observation
    assert "Page 1 (Total results:" in results[5].observation  # and from the item page to the results


def test_react_mode_invalid_actions_answer_as_the_react_client(site):
    _, results = asyncio.run(_play(site, "0", ["click[Buy Now]", "buy it", "search[]", "search[running shoes]",
                                               "search[again]", "click[Search]"]))
    for i in (0, 1, 2, 4, 5):
        assert results[i].observation == "Invalid action!" and results[i].info["invalid"]
    assert "no search box" in results[4].info["why"] and "[Buy Now]" in results[0].info["why"]
    assert "[Back to Search]" in results[3].observation and not results[3].info
    assert all(not r.done for r in results)


@pytest.mark.parametrize("mode", ["text", "text_rich"])
def test_official_modes_search_from_any_page_and_ignore_what_they_cannot_do(site, mode):
    _, results = asyncio.run(_play(site, "0", ["search[running shoes]", "click[B0AK000001]", "click[Nowhere]",
                                               "search[walking shoes]"], mode=mode))
    assert results[2].observation == results[1].observation and results[2].info["invalid"]  # nothing happened
    assert "B0AK000002" in results[3].observation and not results[3].info  # a search from the item page
    if mode == "text_rich":  # the visited product is marked on the next results page
        assert "[clicked button] B0AK000001 [clicked button_]" in results[3].observation


def _get(url):
    with urllib.request.urlopen(url) as response:
        return response.read().decode()


def test_the_site_accepts_the_official_url_forms(site):
    _get(f"{site}/ses_fixed_10")
    quoted = urllib.request.quote(str({"size": "10 ft", "color": "grey"}), safe="")
    keywords = urllib.request.quote(str(["usb", "cable"]), safe="")
    page = _get(f"{site}/item_page/ses_fixed_10/B0AK000020/{keywords}/1/{quoted}")
    assert 'value="10 ft" data-url' in page and "checked" in page
    assert json.loads('{"size": "10 ft"}') == parse_options('{"size": "10 ft"}') == parse_options("{'size': '10 ft'}")
    done = _get(f"{site}/done/ses_fixed_10/B0AK000020/{quoted}")
    assert "<pre>1.0</pre>" in done
    assert "Current Query" not in page


def test_a_malformed_options_segment_is_a_400_not_a_crash(site):
    _get(f"{site}/ses_fixed_1")
    with pytest.raises(urllib.error.HTTPError) as e:
        _get(f"{site}/item_page/ses_fixed_1/B0AK000003/boots/1/not-a-dict")
    assert e.value.code == 400


def test_an_unreachable_site_is_an_env_crash():
    async def go():
        env = WebShop(url="http://127.0.0.1:9", goals=1)
        try:
            await env.reset("0")
        finally:
            await env.close()

    with pytest.raises(EnvCrashed, match="Cannot reach the WebShop site"):
        asyncio.run(go())


# --- a catalogue in the official format ---

def _official_files(folder):
    items = [{"asin": "B000000001", "name": "Acme Jasmine Green Tea Bags, 100 Count", "full_description": "Tea.",
              "small_description": ["Organic", "Caffeine free"], "pricing": "$8.50",
              "customization_options": {"Flavor": [{"value": "Jasmine", "image": None}, {"value": "Mint/Lemon"}]},
              "images": ["x.jpg"], "query": "green tea ", "category": "grocery",
              "product_category": "Grocery › Beverages › Tea"},
             {"asin": "B000000002", "name": "Acme Black Tea", "full_description": "", "small_description": "Strong",
              "pricing": "$5.00$9.00", "customization_options": None, "images": ["y.jpg"], "query": "black tea",
              "category": "grocery", "product_category": "Grocery › Beverages › Tea"}]
    (folder / "items_shuffle_1000.json").write_text(json.dumps(items))
    (folder / "items_ins_v2_1000.json").write_text(json.dumps({"B000000001": {"attributes": ["organic"]}}))
    (folder / "items_human_ins.json").write_text(json.dumps({"B000000001": [
        {"instruction": "i want organic jasmine tea.", "instruction_attributes": ["organic"],
         "instruction_options": ["jasmine"]},
        {"instruction": "no attributes", "instruction_attributes": [], "instruction_options": []}]}))


def test_an_official_format_catalogue_loads_as_the_official_engine_reads_it(tmp_path):
    _official_files(tmp_path)
    catalog = Catalog.load(tmp_path)
    tea = catalog.products["B000000001"]
    assert tea["options"] == {"flavor": ["jasmine", "mint | lemon"]} and tea["Attributes"] == ["organic"]
    assert tea["query"] == "green tea" and tea["Price"] == "$8.5" and catalog.prices["B000000001"] == 8.5
    assert catalog.products["B000000002"]["Attributes"] == ["DUMMY_ATTR"]
    assert 5.0 <= catalog.prices["B000000002"] <= 9.0 and catalog.products["B000000002"]["BulletPoints"] == ["Strong"]
    assert len(catalog.goals) == 1  # the goal without attributes is skipped
    goal = catalog.goals[0]
    assert goal["instruction_text"].startswith("i want organic jasmine tea, and price lower than ")
    assert goal["price_upper"] in (20.0, 30.0, 40.0)  # two of the next four 10-dollar steps, the larger
    assert Catalog.load(tmp_path).goals == catalog.goals  # seeded: the same on every load


def test_the_fixture_site_plays_an_official_format_catalogue(tmp_path):
    _official_files(tmp_path)
    with serving(catalog=Catalog.load(tmp_path)) as url:
        env = WebShop(url=url, goals=1)

        async def go():
            try:
                await env.reset("0")
                steps = [await env.step(a) for a in ["search[jasmine tea]", "click[B000000001]", "click[jasmine]",
                                                     "click[Buy Now]"]]
                return steps[-1]
            finally:
                await env.close()
        last = asyncio.run(go())
    assert last.done and last.won and last.reward == 1.0


def test_a_folder_without_the_official_files_says_what_it_needs(tmp_path):
    with pytest.raises(UserError, match="items_shuffle"):
        Catalog.load(tmp_path)
    (tmp_path / "items_shuffle_1000.json").write_text("{not json")
    with pytest.raises(UserError, match="Cannot read the WebShop catalogue file"):
        Catalog.load(tmp_path)


# --- an agent on the site ---

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


def test_the_fixture_has_train_goals_where_the_official_train_split_starts_and_an_expert_that_wins_them(site):
    from agentkit.envs.demos import expert_demos

    async def go():
        env = WebShop("train", url=site, goals=8)
        try:
            assert env.task_ids() == [str(i) for i in range(1500, 1508)]
            return await expert_demos(env)
        finally:
            await env.close()

    demo = asyncio.run(go())["shopping"]
    assert demo.startswith("Task: i want slip on women's walking shoes") and "Action: search[women walking shoes]" in demo
    assert "Action: click[navy]\nObservation: You have clicked navy." in demo
    assert demo.endswith("Observation: Your score (min 0.0, max 1.0): 1.0")


def test_a_goal_the_site_does_not_have_is_a_404_naming_the_ids(site):
    with pytest.raises(urllib.error.HTTPError) as e:
        _get(f"{site}/x_fixed_12")
    assert e.value.code == 404 and "ids 0-11, 1500-1507" in e.value.read().decode()


def test_the_builtin_catalogue_exports_to_the_official_format_and_loads_back(tmp_path):
    folder = CATALOG.export(tmp_path / "data")
    loaded = Catalog.load(folder)
    assert loaded.products.keys() == CATALOG.products.keys()
    for asin, product in CATALOG.products.items():
        back = loaded.products[asin]
        assert {k: back[k] for k in ("Title", "options", "Attributes", "BulletPoints", "Description", "query")} == \
            {k: product[k] for k in ("Title", "options", "Attributes", "BulletPoints", "Description", "query")}
        assert back["name"] == product["Title"]  # the official data's name is the full title
        assert loaded.prices[asin] == CATALOG.prices[asin]
    strip = lambda g: (g["asin"], g["instruction_text"].split(", and price")[0], g["goal_options"])  # noqa: E731
    assert sorted(map(strip, loaded.goals.values())) == sorted(map(strip, CATALOG.goals.values()))


def test_the_official_app_launcher_says_what_a_checkout_is(tmp_path):
    from agentkit.envs.webshop.official import prepare
    with pytest.raises(UserError, match="not a WebShop checkout"):
        prepare(tmp_path, tmp_path)
