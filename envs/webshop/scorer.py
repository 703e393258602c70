"""WebShop's reward, following the official definition (Yao et al., 2022, and the web app's ``get_reward``):

    reward = r_type × (attribute matches + option matches + [price ≤ limit]) / (#attributes + #options + 1)

* an attribute matches when one of the product's attributes fuzzily equals it (token-set similarity > 85)
  or it appears in the title, bullet points or description;
* a chosen option matches a wanted option exactly for sizes, fuzzily otherwise, or when it appears in the
  product's text;
* ``r_type`` is 1 when the search query or two category levels match or the product types share enough
  words; 0.5 when none of these, 0.1 when the types share under 10 % of the wanted type's words, 0 when none.

One deviation: the official product-type overlap counts nouns found by a large spaCy model, which cannot be
downloaded here; this scorer counts the words of the type names minus stop words.

Example:
    >>> product = {"query": "usb c cable", "product_category": "Electronics › Cables", "name": "usb cable",
    ...            "attributes": ["braided"], "Title": "USB C Cable", "BulletPoints": [], "Description": ""}
    >>> goal = {"query": "usb c cable", "product_category": "Electronics › Cables", "name": "usb cable",
    ...         "attributes": ["braided"], "options": {"color": "grey"}, "price_upper": 20.0}
    >>> reward(product, goal, price=10.99, options={"color": "grey"})
    1.0
    >>> round(reward(product, goal, price=10.99, options={"color": "black"}), 3)
    0.667
"""

from __future__ import annotations

from difflib import SequenceMatcher
from typing import Any

__all__ = ["reward", "token_set_ratio"]

_EXACT = {"size"}
_STOP = {"a", "an", "the", "and", "or", "for", "with", "of", "in", "to", "s"}


def token_set_ratio(a: str, b: str) -> float:
    """Similarity 0-100 of two strings as sets of words (order and repeats ignored)."""
    ta, tb = set(a.lower().split()), set(b.lower().split())
    common = " ".join(sorted(ta & tb))
    left = (common + " " + " ".join(sorted(ta - tb))).strip()
    right = (common + " " + " ".join(sorted(tb - ta))).strip()

    def ratio(x: str, y: str) -> float:
        return 100 * SequenceMatcher(None, x, y).ratio() if x or y else 100.0

    return max(ratio(common, left), ratio(common, right), ratio(left, right)) if common else ratio(left, right)


def _text(product: dict[str, Any]) -> str:
    return " ".join([product["Title"], *product["BulletPoints"], product["Description"]]).lower()


def _type_factor(product: dict[str, Any], goal: dict[str, Any]) -> float:
    query_match = product["query"] == goal["query"]
    levels = {x.strip() for x in product["product_category"].split("›")}
    category_match = len(levels & {x.strip() for x in goal["product_category"].split("›")}) >= 2
    wanted = [w for w in goal["name"].lower().split() if w not in _STOP]
    got = {w for w in product["name"].lower().split() if w not in _STOP}
    title_score = len(set(wanted) & got) / len(set(wanted)) if wanted else 0.2
    factor = 1.0 if (query_match or category_match or title_score > 0.2) else 0.5
    if title_score < 0.1:
        factor = 0.1
    if title_score == 0.0:
        factor = 0.0
    return factor


def reward(product: dict[str, Any], goal: dict[str, Any], *, price: float, options: dict[str, str]) -> float:
    """The reward of buying ``product`` with the chosen ``options`` at ``price`` for ``goal``."""
    text = _text(product)
    attributes = sum(any(token_set_ratio(p, g) > 85 for p in product["attributes"]) or g in text
                     for g in goal["attributes"])
    wanted = list(goal["options"].values())
    matched = 0
    for key, value in options.items():
        value = value.lower()
        if key.lower() in _EXACT:
            hit = value in [w.lower() for w in wanted]
        else:
            hit = any(token_set_ratio(w, value) > 85 for w in wanted)
        matched += hit or value in text
    price_ok = price <= goal["price_upper"]
    total = (attributes + matched + price_ok) / (len(goal["attributes"]) + len(wanted) + 1)
    return total * _type_factor(product, goal)
