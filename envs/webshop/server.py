"""A WebShop-protocol site for tests and offline development: a catalogue (``catalog.py``: the built-in 20
products, or the official data loaded from disk) behind the official web app's routes, URL forms and page
structure, scored by ``scorer.py``.

Routes (as the official app): ``/<session>`` (search page; POST ``search_query`` redirects to results),
``/search_results/<session>/<keywords>/<page>``, ``/item_page/<session>/<asin>/<keywords>/<page>/<options>``,
``/item_sub_page/<session>/<asin>/<keywords>/<page>/<sub_page>/<options>`` and ``/done/<session>/<asin>/
<options>``, and ``/expert/<session>`` (this site only: a winning path, the reference policy that plays
demonstrations). ``keywords`` is a Python list literal (``['usb', 'c', 'cable']``, what the official app's
``url_for`` writes) or plain words; ``options`` is ``str(dict)`` (``{'size': '10 ft'}``, what the official
app and ReAct's client send) or JSON. A session id ending in ``fixed_N`` gets goal N; any other gets a
seeded random goal.

Pages carry the official templates' structure in their newer layout (the one ReAct's recorded prompts show;
the oldest stored templates have "Current Query:" and "< Back to Results" instead): ``#instruction-text`` with ``Instruction:<br>text``, the
search box ``#search_input``, ``button.btn`` in forms, ``a.product-link`` for results, option radios with
``data-url``, "Page N (Total results: T)", ``< Prev`` / ``Next >``, ``< Prev`` from a sub-page back to the
item page, and — as on the official site — a commented-out block per result and a ``display:none`` block on
the done page holding what the reward reads, which an agent must never see.

    python -m agentkit.envs.webshop.server --port 3000 [--catalog DIR]   # then: agentkit eval --env webshop ...
"""

from __future__ import annotations

import argparse
import ast
import html
import json
import random
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote_plus

from agentkit.envs.webshop.catalog import Catalog
from agentkit.envs.webshop.scorer import reward_parts

__all__ = ["make_server", "parse_keywords", "parse_options", "serving"]

_PER_PAGE = 10
_SUB_PAGES = ("Description", "Features", "Reviews")
_esc = html.escape


def parse_options(text: str) -> dict[str, str]:
    """The chosen options from a URL segment: ``str(dict)`` as the official app writes it, or JSON."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = json.loads(text)  # a JSONDecodeError (a ValueError) becomes the handler's 400
    if not isinstance(value, dict):
        raise ValueError(f"options must be a dict, got {text!r}")
    return {str(k): str(v) for k, v in value.items()}


def parse_keywords(text: str) -> list[str]:
    """Search keywords from a URL segment: a list literal (the official app's form) or plain words."""
    if text.startswith("["):
        value = ast.literal_eval(text)
        return [str(k) for k in value]
    return [w for w in re.split(r"[\s+]+", text) if w]


def _search(catalog: Catalog, keywords: list[str]) -> list[dict[str, Any]]:
    """Products ranked by how many query words their title, query and attributes contain (the official site
    ranks with a BM25 index over the full product text; this small site does not need one)."""
    words = [k.lower() for k in keywords]

    def score(p: dict[str, Any]) -> int:
        text = set(re.findall(r"[a-z0-9]+", " ".join([p["Title"], p["query"], *p["Attributes"]]).lower()))
        return sum(k in text for k in words)
    ranked = sorted(catalog.products.values(), key=lambda p: -score(p))
    return [p for p in ranked if score(p) > 0] or ranked


def _ranges(ids: dict[int, Any]) -> str:
    """Goal ids as ranges: ``0-11, 1500-1507``."""
    spans: list[list[int]] = []
    for n in sorted(ids):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in spans)


def _price_tag(product: dict[str, Any]) -> str:
    price = product["Price"]
    return price if isinstance(price, str) else f"${price:.2f}"


def _page(instruction: str, body: str, *, search: bool = False) -> str:
    """A page as the official templates lay it out: the search page has the logo above "Instruction: "."""
    top = '<div id="logo" class="text-center"><h2>WebShop</h2></div>\n' if search else ""
    label = "Instruction: " if search else "Instruction:"
    return (f'<!DOCTYPE html>\n<html>\n<head><title>WebShop</title></head>\n'
            f'<body>\n<div class="container py-5">\n{top}<div id="instruction-text" class="text-center">\n'
            f'<h4>{label}<br>{_esc(instruction)}</h4>\n</div>\n{body}\n</div>\n</body>\n</html>')


def _button(action: str, label: str) -> str:
    return (f'<form method="post" action="{_esc(action)}">\n<button type="submit" class="btn btn-primary">'
            f'{_esc(label)}</button>\n</form>\n')


def _options_segment(options: dict[str, str]) -> str:
    return quote(str(options), safe="")


class _Handler(BaseHTTPRequestHandler):
    sessions: dict[str, dict[str, Any]]
    catalog: Catalog

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._route(None)

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        self._route(parse_qs(self.rfile.read(length).decode()))

    def _send(self, status: int, body: str = "", location: str | None = None) -> None:
        data = body.encode()
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self, form: dict[str, list[str]] | None) -> None:
        parts = [unquote_plus(p) for p in self.path.split("?")[0].strip("/").split("/")]
        try:
            if parts == [""]:
                return self._send(302, location="/fixed_0")
            if len(parts) == 1:
                return self._index(parts[0], form)
            handler = {"search_results": self._results, "item_page": self._item, "item_sub_page": self._sub,
                       "done": self._done, "expert": self._expert}.get(parts[0])
            if handler is None or parts[1] not in self.sessions:
                return self._send(404, "<h1>Not found</h1>")
            return handler(*parts[1:])
        except (KeyError, IndexError, ValueError, TypeError, SyntaxError) as e:
            return self._send(400, f"<h1>Bad request</h1><p>{_esc(str(e))}</p>")

    def _goal(self, session: str) -> dict[str, Any]:
        return self.sessions[session]["goal"]

    def _index(self, session: str, form: dict[str, list[str]] | None) -> None:
        goals = self.catalog.goals
        if session not in self.sessions:
            match = re.search(r"fixed_(\d+)$", session)
            if match and int(match.group(1)) not in goals:
                return self._send(404, f"<h1>No goal {match.group(1)}</h1><p>This site has {len(goals)} goals, "
                                       f"ids {_ranges(goals)}.</p>")
            goal = goals[int(match.group(1))] if match else random.Random(session).choice(list(goals.values()))
            self.sessions[session] = {"goal": goal, "done": False}
        if form and form.get("search_query"):
            keywords = form["search_query"][0].lower().split(" ")
            return self._send(302, location=f"/search_results/{quote(session)}/{quote(str(keywords), safe='')}/1")
        body = (f'<form role="form" method="post" action="/{quote(session)}">\n'
                f'<input id="search_input" name="search_query" type="text" placeholder="Search..." required/>\n'
                f'<button class="btn btn-success" type="submit">Search</button>\n</form>')
        self._send(200, _page(self._goal(session)["instruction_text"], body, search=True))

    def _results(self, session: str, keywords: str, page: str) -> None:
        number, words = int(page), parse_keywords(keywords)
        found = _search(self.catalog, words)
        shown = found[(number - 1) * _PER_PAGE: number * _PER_PAGE]
        s, k = quote(session), quote(str(words), safe="")
        nav = _button(f"/{s}", "Back to Search") + f"<div><p>Page {number} (Total results: {len(found)})</p></div>\n"
        if number > 1:
            nav += _button(f"/search_results/{s}/{k}/{number - 1}", "< Prev")
        if number * _PER_PAGE < len(found):
            nav += _button(f"/search_results/{s}/{k}/{number + 1}", "Next >")
        items = "".join(
            f'<div class="grid-item">\n<!-- category: {_esc(p["category"])} | query: {_esc(p["query"])} '
            f'| product_category: {_esc(p["product_category"])} -->\n'
            f'<h4 class="product-asin"><a class="product-link" href="/item_page/{s}/{p["asin"]}/{k}/{number}/'
            f'{_options_segment({})}">{p["asin"]}</a></h4>\n<h4 class="product-title">{_esc(p["Title"])}</h4>\n'
            f'<h5 class="product-price">{_esc(_price_tag(p))}</h5>\n</div>\n' for p in shown)
        body = f'{nav}<div class="grid-container">\n{items}</div>'
        self._send(200, _page(self._goal(session)["instruction_text"], body))

    def _item(self, session: str, asin: str, keywords: str, page: str, options: str) -> None:
        product, chosen = self.catalog.products[asin], parse_options(options)
        s, k = quote(session), quote(keywords, safe="")
        body = _button(f"/{s}", "Back to Search") + _button(f"/search_results/{s}/{k}/{page}", "< Prev")
        for name, values in product["options"].items():
            body += f'<div class="row top-buffer">\n<h4>{_esc(name)}</h4>\n<div class="radio-toolbar">\n'
            for i, value in enumerate(values):
                url = f"/item_page/{s}/{asin}/{k}/{page}/{_options_segment({**chosen, name: value})}"
                checked = " checked" if chosen.get(name) == value else ""
                body += (f'<input type="radio" id="radio_{_esc(name)}{i}" name="{_esc(name)}" value="{_esc(value)}" '
                         f'data-url="{_esc(url)}"{checked}>\n<label for="radio_{_esc(name)}{i}">{_esc(value)}</label>\n')
            body += "</div>\n</div>\n"
        body += (f'<h2>{_esc(product["Title"])}</h2>\n<h4>Price: {_esc(_price_tag(product))}</h4>\n'
                 f'<h4>Rating: {_esc(str(product["Rating"]))}</h4>\n')
        for tab in _SUB_PAGES:
            body += _button(f"/item_sub_page/{s}/{asin}/{k}/{page}/{tab}/{_options_segment(chosen)}", tab)
        body += _button(f"/done/{s}/{asin}/{_options_segment(chosen)}", "Buy Now")
        self._send(200, _page(self._goal(session)["instruction_text"], body))

    def _sub(self, session: str, asin: str, keywords: str, page: str, sub_page: str, options: str) -> None:
        product, chosen = self.catalog.products[asin], parse_options(options)
        if sub_page not in _SUB_PAGES:
            raise ValueError(f"no sub-page {sub_page!r}; the item has {', '.join(_SUB_PAGES)}")
        s, k = quote(session), quote(keywords, safe="")
        body = (_button(f"/{s}", "Back to Search")
                + _button(f"/item_page/{s}/{asin}/{k}/{page}/{_options_segment(chosen)}", "< Prev"))
        if sub_page == "Description":
            content = f'<p class="product-info">{_esc(product["Description"] or "No Description")}</p>'
        elif sub_page == "Features":
            content = "".join(f"<li><p class=\"product-info\">{_esc(b)}</p></li>" for b in product["BulletPoints"])
            content = f"<ul>{content}</ul>" if content else '<p class="product-info">No Features</p>'
        else:
            content = '<p class="product-info">No Reviews</p>'
        self._send(200, _page(self._goal(session)["instruction_text"], body + content))

    def _expert(self, session: str) -> None:
        """The fixture's reference policy for demonstrations (the official site has none): a path that wins
        the session's goal. Only the adapter's ``expert_action`` reads it; the agent never sees it."""
        goal = self._goal(session)
        product = self.catalog.products[goal["asin"]]
        clicks = [v for v in goal["goal_options"] if any(v in values for values in product["options"].values())]
        plan = [f"search[{product['query']}]", f"click[{goal['asin']}]", *(f"click[{v}]" for v in clicks),
                "click[Buy Now]"]
        data = json.dumps({"plan": plan}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _done(self, session: str, asin: str, options: str) -> None:
        state, product, chosen = self.sessions[session], self.catalog.products[asin], parse_options(options)
        goal = state["goal"]
        target = {**self.catalog.products[goal["asin"]], **goal}
        parts = reward_parts(product, target, price=self.catalog.prices[asin], options=chosen)
        state.update(done=True, reward=parts["reward"])
        hidden = (f'<div style="display:none"><h4 id="goal-asin">asin<pre>{_esc(goal["asin"])}</pre></h4>'
                  f'<h4 id="goal-options">options<pre>{_esc(str(goal["goal_options"]))}</pre></h4>'
                  f'<h4 id="goal-attrs">attrs<pre>{_esc(str(goal["attributes"]))}</pre></h4>'
                  f'<h4 id="goal-query">query<pre>{_esc(goal["query"])}</pre></h4></div>')
        body = (f'<div id="thankyou"><h1>Thank you for shopping with us!</h1></div>\n{hidden}\n'
                f'<h3 id="reward">Your score (min 0.0, max 1.0)<pre>{parts["reward"]}</pre></h3>\n'
                f'<h4 hidden>Reward Details <div id="reward_info"><pre>{_esc(json.dumps(dict(parts)))}</pre></div></h4>')
        self._send(200, f"<!DOCTYPE html>\n<html>\n<head><title>WebShop</title></head>\n<body>\n{body}\n</body>\n</html>")


def make_server(host: str = "127.0.0.1", port: int = 0, *, catalog: Catalog | None = None) -> ThreadingHTTPServer:
    """The fixture site on ``host:port`` (0: any free port), not yet serving; the built-in catalogue unless
    ``catalog`` is given."""
    handler = type("Handler", (_Handler,), {"sessions": {}, "catalog": catalog or Catalog.builtin()})
    return ThreadingHTTPServer((host, port), handler)


@contextmanager
def serving(host: str = "127.0.0.1", port: int = 0, *, catalog: Catalog | None = None) -> Iterator[str]:
    """Serve the fixture site on a background thread; yields its base URL."""
    server = make_server(host, port, catalog=catalog)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description="agentkit's WebShop-protocol fixture site")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--catalog", help="a folder with the official WebShop data (items_shuffle*.json, ...)")
    args = parser.parse_args()
    catalog = Catalog.load(args.catalog) if args.catalog else Catalog.builtin()
    server = make_server(args.host, args.port, catalog=catalog)
    print(f"WebShop fixture site on http://{args.host}:{server.server_address[1]} "
          f"({len(catalog.products)} products, {len(catalog.goals)} goals, {catalog.source})")
    server.serve_forever()


if __name__ == "__main__":
    main()
