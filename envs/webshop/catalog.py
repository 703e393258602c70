"""The fixture site's catalogue: this project's 20 products, 12 shopping goals and 8 training goals (written for
no WebShop data), or a catalogue in the official WebShop format loaded from disk.

Each product has the fields the official reward reads: ``query`` (the search that found it), a
``product_category`` path, ``name`` (its product type; the full title in the official data),
``Attributes``, ``options``, ``Title``, ``BulletPoints`` and ``Description``. Each goal names a target
product, the attributes and options the shopper wants (``goal_options``, a list, as the official human
goals have) and a price limit.

``Catalog.load(folder)`` reads the official files (``items_shuffle*.json``, ``items_ins_v2*.json`` and,
when present, ``items_human_ins.json`` and ``all_products_reviews.json``) the way the official engine's
``load_products`` and ``get_human_goals`` do: option values lower-cased with ``/`` as `` | ``, prices drawn
in a product's price range, price limits from the next 10-dollar steps above the price. Both draws use a
seeded generator (233, the official goal-shuffle seed), so goal N is the same on every run here; the
official app draws prices unseeded, so its goal N's price limit can differ from run to run.

``Catalog.export(folder)`` writes a catalogue in those files, so that the official app (and
``Catalog.load``) can serve the built-in products: the official data have no separate product type, so the
exported ``name`` is the full title and the type reward reads the title's nouns, as it does on the real data.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from agentkit.errors import UserError

__all__ = ["GOALS", "PRODUCTS", "TRAIN_GOALS", "Catalog"]


def _product(asin: str, title: str, price: float, category: str, query: str, name: str, attributes: list[str],
             options: dict[str, list[str]], bullets: list[str], description: str) -> dict[str, Any]:
    return {"asin": asin, "Title": title, "Price": price, "product_category": category, "query": query,
            "category": category.split(" › ")[0].lower(), "name": name, "Attributes": attributes,
            "options": options, "BulletPoints": bullets, "Description": description, "Rating": "4.3 out of 5"}


_SHOES = "Clothing, Shoes & Jewelry › Women › Shoes"
_MEN_SHOES = "Clothing, Shoes & Jewelry › Men › Shoes"
_SNACKS = "Grocery & Gourmet Food › Snacks"
_TEA = "Grocery & Gourmet Food › Beverages › Tea"
_HAIR = "Beauty & Personal Care › Hair Care"
_SKIN = "Beauty & Personal Care › Skin Care"
_DESK = "Home & Kitchen › Furniture › Home Office"
_LIGHT = "Home & Kitchen › Lighting"
_AUDIO = "Electronics › Headphones"
_CABLE = "Electronics › Accessories › Cables"

PRODUCTS = [
    _product("B0AK000001", "Trailglide Women's Running Shoes, Lightweight Breathable Mesh Sneakers", 42.99, _SHOES,
             "women running shoes", "running shoes", ["lightweight", "breathable", "rubber sole"],
             {"size": ["6", "7", "8", "9"], "color": ["black", "coral", "white"]},
             ["Breathable knit mesh upper", "Cushioned rubber sole for road running"],
             "A lightweight everyday running shoe."),
    _product("B0AK000002", "Parkway Women's Slip-On Walking Shoes with Memory Foam", 29.99, _SHOES,
             "women walking shoes", "walking shoes", ["slip on", "memory foam", "machine washable"],
             {"size": ["6", "7", "8", "9", "10"], "color": ["grey", "navy"]},
             ["Memory foam insole", "Machine washable"], "Easy slip-on walking shoes for all day comfort."),
    _product("B0AK000003", "Summit Men's Waterproof Hiking Boots, Ankle Support", 79.0, _MEN_SHOES,
             "men hiking boots", "hiking boots", ["waterproof", "ankle support", "rubber sole"],
             {"size": ["9", "10", "11", "12"], "color": ["brown", "black"]},
             ["Waterproof leather upper", "Padded collar with ankle support"], "Sturdy boots for wet trails."),
    _product("B0AK000004", "Citystep Men's Canvas Sneakers, Classic Low Top", 24.5, _MEN_SHOES,
             "men canvas sneakers", "sneakers", ["canvas", "lace up", "rubber sole"],
             {"size": ["8", "9", "10", "11"], "color": ["white", "red", "navy"]},
             ["Canvas upper", "Vulcanised rubber sole"], "Classic low-top canvas sneakers."),
    _product("B0AK000005", "Harvest Crunch Roasted Almonds, Sea Salt, Gluten Free Snack Pack", 12.99, _SNACKS,
             "roasted almonds snack", "almonds", ["gluten free", "non gmo", "high protein"],
             {"flavor": ["sea salt", "honey roasted", "smoked"], "size": ["6 pack", "12 pack"]},
             ["Dry roasted in small batches", "Gluten free and non GMO"], "Crunchy almonds in handy packs."),
    _product("B0AK000006", "Sunpatch Dried Mango Slices, No Sugar Added, Vegan", 9.49, _SNACKS,
             "dried mango", "dried mango", ["no sugar added", "vegan", "gluten free"],
             {"size": ["8 ounce", "16 ounce"]}, ["Just mango, nothing else", "Vegan"], "Sweet, chewy mango slices."),
    _product("B0AK000007", "Crispfield Baked Veggie Chips, Low Fat, Variety Pack", 15.99, _SNACKS,
             "veggie chips", "chips", ["low fat", "baked", "vegan"],
             {"flavor": ["original", "ranch", "bbq"], "size": ["12 count", "24 count"]},
             ["Baked, never fried", "Low fat"], "Crunchy baked vegetable chips."),
    _product("B0AK000008", "Highland Organic Green Tea Bags, Caffeine Free Mint Blend", 8.75, _TEA,
             "organic green tea", "tea bags", ["organic", "caffeine free", "non gmo"],
             {"flavor": ["mint", "jasmine", "lemon"], "size": ["20 count", "100 count"]},
             ["Certified organic", "Caffeine free mint blend"], "A calming green tea with mint."),
    _product("B0AK000009", "Ember Loose Leaf Black Tea, Breakfast Blend", 14.0, _TEA,
             "loose leaf black tea", "black tea", ["loose leaf", "fair trade"],
             {"size": ["4 ounce", "8 ounce"]}, ["Fair trade Assam and Ceylon"], "A strong breakfast blend."),
    _product("B0AK000010", "Lumen Argan Oil Shampoo for Dry Damaged Hair, Sulfate Free", 18.99, _HAIR,
             "argan oil shampoo", "shampoo", ["sulfate free", "paraben free", "dry hair"],
             {"size": ["8.5 fl oz", "16.9 fl oz"]}, ["Sulfate and paraben free", "For dry, damaged hair"],
             "Moisturising shampoo with argan oil."),
    _product("B0AK000011", "Verdant Tea Tree Conditioner, Cruelty Free", 16.49, _HAIR,
             "tea tree conditioner", "conditioner", ["cruelty free", "paraben free"],
             {"size": ["12 fl oz", "24 fl oz"]}, ["Cruelty free", "Tea tree and peppermint"],
             "Refreshing conditioner for all hair types."),
    _product("B0AK000012", "Dewdrop Hyaluronic Acid Face Moisturizer, Fragrance Free, Sensitive Skin", 21.0, _SKIN,
             "face moisturizer sensitive skin", "moisturizer", ["fragrance free", "sensitive skin", "hyaluronic acid"],
             {"size": ["1.7 oz", "3.4 oz"]}, ["Fragrance free", "Dermatologist tested for sensitive skin"],
             "A light daily moisturizer."),
    _product("B0AK000013", "Solace Mineral Sunscreen SPF 50, Water Resistant, Reef Safe", 13.99, _SKIN,
             "mineral sunscreen", "sunscreen", ["water resistant", "reef safe", "spf 50"],
             {"size": ["3 oz", "6 oz"]}, ["Zinc oxide SPF 50", "Water resistant 80 minutes"],
             "Broad spectrum mineral sunscreen."),
    _product("B0AK000014", "Northwood Height Adjustable Standing Desk, 48 x 24 Inch, Easy Assembly", 189.0, _DESK,
             "standing desk", "standing desk", ["height adjustable", "easy assembly", "steel frame"],
             {"color": ["walnut", "white", "black"]}, ["Electric lift", "Easy assembly in 20 minutes"],
             "A sturdy electric standing desk."),
    _product("B0AK000015", "Northwood Ergonomic Office Chair with Lumbar Support, Mesh Back", 129.0, _DESK,
             "ergonomic office chair", "office chair", ["lumbar support", "mesh back", "easy assembly"],
             {"color": ["black", "grey"]}, ["Adjustable lumbar support", "Breathable mesh back"],
             "An ergonomic chair for long workdays."),
    _product("B0AK000016", "Glowline LED Desk Lamp, Dimmable, USB Charging Port", 27.99, _LIGHT,
             "led desk lamp", "desk lamp", ["dimmable", "usb charging", "energy efficient"],
             {"color": ["black", "white", "silver"]}, ["5 brightness levels", "USB charging port"],
             "A dimmable LED lamp for the desk."),
    _product("B0AK000017", "Glowline Warm White LED String Lights, 33 ft, Battery Operated", 11.99, _LIGHT,
             "led string lights", "string lights", ["battery operated", "waterproof", "warm white"],
             {"size": ["33 ft", "66 ft"]}, ["Battery operated with timer", "Waterproof copper wire"],
             "Fairy lights for the bedroom or patio."),
    _product("B0AK000018", "Quietwave Wireless Noise Cancelling Headphones, 40 Hour Battery", 69.99, _AUDIO,
             "noise cancelling headphones", "headphones", ["wireless", "noise cancelling", "long battery life"],
             {"color": ["black", "silver", "blue"]}, ["Active noise cancelling", "40 hour battery life"],
             "Over-ear wireless headphones."),
    _product("B0AK000019", "Quietwave Wired Earbuds with Microphone, Tangle Free Cable", 9.99, _AUDIO,
             "wired earbuds", "earbuds", ["wired", "with microphone", "tangle free"],
             {"color": ["black", "white"]}, ["In-line microphone", "Flat tangle free cable"], "Budget earbuds."),
    _product("B0AK000020", "Linkpro USB C to USB C Cable, Fast Charging, Braided, 6 ft", 10.99, _CABLE,
             "usb c cable", "usb cable", ["fast charging", "braided", "durable"],
             {"size": ["3 ft", "6 ft", "10 ft"], "color": ["black", "grey"]},
             ["100W fast charging", "Braided nylon, durable"], "A braided USB-C charging cable."),
]

GOALS = [
    {"asin": "B0AK000001", "instruction": "i need lightweight breathable women's running shoes in size 8 and "
     "color coral", "attributes": ["lightweight", "breathable"], "options": {"size": "8", "color": "coral"},
     "price_upper": 50.0},
    {"asin": "B0AK000003", "instruction": "i want waterproof men's hiking boots with ankle support, size 11, in brown",
     "attributes": ["waterproof", "ankle support"], "options": {"size": "11", "color": "brown"}, "price_upper": 90.0},
    {"asin": "B0AK000005", "instruction": "find gluten free roasted almonds, honey roasted flavor, 12 pack",
     "attributes": ["gluten free"], "options": {"flavor": "honey roasted", "size": "12 pack"}, "price_upper": 20.0},
    {"asin": "B0AK000006", "instruction": "i'm looking for vegan dried mango with no sugar added, 16 ounce",
     "attributes": ["vegan", "no sugar added"], "options": {"size": "16 ounce"}, "price_upper": 20.0},
    {"asin": "B0AK000008", "instruction": "i want organic caffeine free green tea, jasmine flavor, 100 count",
     "attributes": ["organic", "caffeine free"], "options": {"flavor": "jasmine", "size": "100 count"},
     "price_upper": 10.0},
    {"asin": "B0AK000010", "instruction": "i need a sulfate free shampoo for dry hair in the 16.9 fl oz size",
     "attributes": ["sulfate free", "dry hair"], "options": {"size": "16.9 fl oz"}, "price_upper": 30.0},
    {"asin": "B0AK000012", "instruction": "find a fragrance free face moisturizer for sensitive skin, 3.4 oz",
     "attributes": ["fragrance free", "sensitive skin"], "options": {"size": "3.4 oz"}, "price_upper": 30.0},
    {"asin": "B0AK000014", "instruction": "i want a height adjustable standing desk with easy assembly in walnut",
     "attributes": ["height adjustable", "easy assembly"], "options": {"color": "walnut"}, "price_upper": 200.0},
    {"asin": "B0AK000016", "instruction": "i need a dimmable led desk lamp with usb charging, white",
     "attributes": ["dimmable", "usb charging"], "options": {"color": "white"}, "price_upper": 40.0},
    {"asin": "B0AK000018", "instruction": "i'm looking for wireless noise cancelling headphones in blue",
     "attributes": ["wireless", "noise cancelling"], "options": {"color": "blue"}, "price_upper": 80.0},
    {"asin": "B0AK000020", "instruction": "find a braided fast charging usb c cable, 10 ft, grey",
     "attributes": ["braided", "fast charging"], "options": {"size": "10 ft", "color": "grey"}, "price_upper": 20.0},
    {"asin": "B0AK000017", "instruction": "i want battery operated warm white string lights, 66 ft",
     "attributes": ["battery operated", "warm white"], "options": {"size": "66 ft"}, "price_upper": 20.0},
]

# Goals for learning and demonstrations: the fixture's train split (site goals 1500-1507, where the official
# train split starts), on products no test goal targets.
TRAIN_GOALS = [
    {"asin": "B0AK000002", "instruction": "i want slip on women's walking shoes with memory foam, size 7, navy",
     "attributes": ["slip on", "memory foam"], "options": {"size": "7", "color": "navy"}, "price_upper": 40.0},
    {"asin": "B0AK000004", "instruction": "find men's canvas sneakers with a rubber sole in size 10, white",
     "attributes": ["canvas", "rubber sole"], "options": {"size": "10", "color": "white"}, "price_upper": 30.0},
    {"asin": "B0AK000007", "instruction": "i need low fat baked veggie chips, bbq flavor, 24 count",
     "attributes": ["low fat", "baked"], "options": {"flavor": "bbq", "size": "24 count"}, "price_upper": 20.0},
    {"asin": "B0AK000009", "instruction": "i'm looking for fair trade loose leaf black tea, 8 ounce",
     "attributes": ["fair trade", "loose leaf"], "options": {"size": "8 ounce"}, "price_upper": 20.0},
    {"asin": "B0AK000011", "instruction": "i want a cruelty free tea tree conditioner in the 24 fl oz size",
     "attributes": ["cruelty free"], "options": {"size": "24 fl oz"}, "price_upper": 20.0},
    {"asin": "B0AK000013", "instruction": "find a reef safe water resistant mineral sunscreen, 6 oz",
     "attributes": ["reef safe", "water resistant"], "options": {"size": "6 oz"}, "price_upper": 20.0},
    {"asin": "B0AK000015", "instruction": "i need an ergonomic office chair with lumbar support in grey",
     "attributes": ["lumbar support"], "options": {"color": "grey"}, "price_upper": 150.0},
    {"asin": "B0AK000019", "instruction": "i want wired earbuds with microphone, tangle free, white",
     "attributes": ["with microphone", "tangle free"], "options": {"color": "white"}, "price_upper": 20.0},
]

_PRICE_STEPS = [10.0 * i for i in range(1, 100)]
TRAIN_START = 1500  # the official train split's first goal id


def _price_limit(price: float, rng: random.Random) -> tuple[float, str]:
    """The official rule: two of the next four 10-dollar steps above the price, the larger one kept."""
    steps = [p for p in _PRICE_STEPS if p > price][:4]
    if len(steps) < 2:
        return 1_000_000.0, ""
    upper = sorted(rng.sample(steps, 2))[1]
    return upper, f", and price lower than {upper:.2f} dollars"


@dataclass
class Catalog:
    """Products by ASIN, their prices, and the goals by site id (session ``fixed_N`` plays goal N)."""

    products: dict[str, dict[str, Any]]
    prices: dict[str, float]
    goals: dict[int, dict[str, Any]] = field(default_factory=dict)
    source: str = "built-in"

    @classmethod
    def builtin(cls) -> Catalog:
        products = {p["asin"]: p for p in PRODUCTS}
        goals = {}
        ids = [*range(len(GOALS)), *range(TRAIN_START, TRAIN_START + len(TRAIN_GOALS))]
        for n, g in zip(ids, GOALS + TRAIN_GOALS, strict=True):
            target = products[g["asin"]]
            goals[n] = {"asin": g["asin"], "query": target["query"], "name": target["name"],
                        "category": target["category"], "product_category": target["product_category"],
                        "instruction_text": f"{g['instruction']}, and price lower than {g['price_upper']:.2f} dollars",
                        "attributes": list(g["attributes"]), "goal_options": list(g["options"].values()),
                        "price_upper": g["price_upper"]}
        return cls(products, {a: float(p["Price"]) for a, p in products.items()}, goals)

    @classmethod
    def load(cls, folder: str | Path, *, seed: int = 233) -> Catalog:
        """A catalogue in the official format from ``folder`` (see the module docstring)."""
        folder = Path(folder)
        items = sorted(folder.glob("items_shuffle*.json"))
        if not items:
            raise UserError(f"No items_shuffle*.json in {folder}: give the folder holding the official WebShop "
                            "data (web_agent_site's data/ after its setup.sh: items_shuffle_1000.json, "
                            "items_ins_v2_1000.json, items_human_ins.json).")
        raw = _read_json(items[0])
        attrs_file = next(iter(sorted(folder.glob("items_ins_v2*.json"))), None)
        attributes = _read_json(attrs_file) if attrs_file else {}
        human_file = folder / "items_human_ins.json"
        human = _read_json(human_file) if human_file.exists() else {}
        reviews_file = folder / "all_products_reviews.json"
        ratings = ({r["asin"]: r.get("average_rating", "N.A.") for r in _read_json(reviews_file)}
                   if reviews_file.exists() else {})
        rng = random.Random(seed)
        products: dict[str, dict[str, Any]] = {}
        prices: dict[str, float] = {}
        for p in raw:
            asin = str(p.get("asin", ""))
            if asin == "nan" or not asin or len(asin) > 10 or asin in products:
                continue
            products[asin] = product = _official_product(p, attributes.get(asin, {}), ratings.get(asin, "N.A."))
            pricing = product.pop("pricing")
            prices[asin] = pricing[0] if len(pricing) == 1 else rng.uniform(*pricing[:2])
        goals = []
        for asin, product in products.items():
            for instruction in human.get(asin, []):
                if not instruction.get("instruction_attributes"):
                    continue  # the official skips goals without attributes
                upper, text = _price_limit(prices[asin], rng)
                goals.append({"asin": asin, "query": product["query"], "name": product["name"],
                              "category": product["category"], "product_category": product["product_category"],
                              "instruction_text": instruction["instruction"].strip(".") + text,
                              "attributes": instruction["instruction_attributes"],
                              "goal_options": instruction.get("instruction_options", []), "price_upper": upper})
        random.Random(seed).shuffle(goals)
        if not goals:
            raise UserError(f"{folder} has products but no human goals (items_human_ins.json): the site needs "
                            "goals to play.")
        return cls(products, prices, dict(enumerate(goals)), source=str(folder))

    def export(self, folder: str | Path) -> Path:
        """Write this catalogue as the official data files (``items_shuffle_1000.json``,
        ``items_ins_v2_1000.json``, ``items_human_ins.json``, ``all_products_reviews.json``) in ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        items, attributes, reviews = [], {}, []
        human: dict[str, list[dict[str, Any]]] = {}
        for asin, p in self.products.items():
            items.append({"asin": asin, "name": p["Title"], "full_description": p["Description"],
                          "small_description": p["BulletPoints"], "pricing": f"${self.prices[asin]}",
                          "customization_options": {k: [{"value": v, "image": None} for v in values]
                                                    for k, values in p["options"].items()},
                          "images": [""], "query": p["query"], "category": p["category"],
                          "product_category": p["product_category"]})
            attributes[asin] = {"attributes": p["Attributes"]}
            reviews.append({"asin": asin, "average_rating": p.get("Rating", "N.A."), "reviews": []})
        for goal in self.goals.values():
            instruction = goal["instruction_text"].split(", and price lower than ")[0]
            human.setdefault(goal["asin"], []).append({
                "instruction": instruction, "instruction_attributes": goal["attributes"],
                "instruction_options": goal["goal_options"]})
        for name, data in (("items_shuffle_1000.json", items), ("items_ins_v2_1000.json", attributes),
                           ("items_human_ins.json", human), ("all_products_reviews.json", reviews)):
            (folder / name).write_text(json.dumps(data, indent=1), encoding="utf-8")
        return folder


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise UserError(f"Cannot read the WebShop catalogue file {path}: {e}. Re-download it with the official "
                        "setup.sh.") from e


def _official_product(p: dict[str, Any], attributes: dict[str, Any], rating: Any) -> dict[str, Any]:
    pricing_text = p.get("pricing") or ""
    try:
        pricing = [float(Decimal(re.sub(r"[^\d.]", "", x))) for x in pricing_text.split("$")[1:]] or [100.0]
    except InvalidOperation:
        pricing = [100.0]
    tag = f"${pricing[0]}" if len(pricing) == 1 else f"${pricing[0]} to ${pricing[1]}"
    options: dict[str, list[str]] = {}
    for name, contents in (p.get("customization_options") or {}).items():
        if contents:
            options[name.lower()] = [c["value"].strip().replace("/", " | ").lower() for c in contents]
    bullets = p.get("small_description") or []
    return {"asin": p["asin"], "Title": p.get("name", ""), "name": p.get("name", ""), "Price": tag,
            "pricing": pricing[:2], "query": str(p.get("query", "")).lower().strip(),
            "category": p.get("category", ""), "product_category": p.get("product_category", ""),
            "Description": p.get("full_description") or "", "BulletPoints": bullets if isinstance(bullets, list)
            else [bullets], "options": options, "Attributes": attributes.get("attributes", ["DUMMY_ATTR"]),
            "Rating": rating}


def main() -> None:
    import argparse
    parser = argparse.ArgumentParser(description="the fixture site's catalogue in the official WebShop format")
    parser.add_argument("--export", required=True, metavar="DIR", help="write the built-in catalogue here")
    folder = Catalog.builtin().export(parser.parse_args().export)
    print(f"wrote the built-in catalogue to {folder}")


if __name__ == "__main__":
    main()
