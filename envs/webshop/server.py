"""A small WebShop-protocol site for tests and offline development: this project's own catalog
(``catalog.py``) behind the official web app's routes and page structure, scored by ``scorer.py``.

Routes (as the official app): ``/<session>`` (search page; POST ``search_query`` redirects to results),
``/search_results/<session>/<keywords>/<page>``, ``/item_page/<session>/<asin>/<keywords>/<page>/<options>``,
``/item_sub_page/<session>/<asin>/<keywords>/<page>/<sub_page>/<options>`` and ``/done/<session>/<asin>/
<options>`` (shows the reward). A session id ending in ``fixed_N`` gets goal N. Pages mark clickables as the
official ones do: ``button.btn`` in a form, ``a.product-link``, option radios with ``data-url``, the
instruction in ``#instruction-text`` and the search box as ``#search_input``.

    python -m agentkit.envs.webshop.server --port 3000     # then: agentkit eval --env webshop ...
"""

from __future__ import annotations

import argparse
import html
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from agentkit.envs.webshop.catalog import GOALS, PRODUCTS
from agentkit.envs.webshop.scorer import reward

__all__ = ["instruction_text", "make_server", "serving"]

_PRODUCTS = {p["asin"]: p for p in PRODUCTS}
_PER_PAGE = 10
_esc = html.escape


def instruction_text(goal: dict[str, Any]) -> str:
    return f"{goal['instruction']}, and price lower than {goal['price_upper']:.2f} dollars"


def _search(keywords: list[str]) -> list[dict[str, Any]]:
    """Products ranked by how many query words their title, query and attributes contain."""
    def score(p: dict[str, Any]) -> int:
        words = set(re.findall(r"[a-z0-9]+", " ".join([p["Title"], p["query"], *p["attributes"]]).lower()))
        return sum(k in words for k in keywords)
    ranked = sorted(PRODUCTS, key=lambda p: -score(p))
    return [p for p in ranked if score(p) > 0] or ranked


def _page(instruction: str, body: str, query: str = "") -> str:
    current = f'<h4>Current Query: {_esc(query)}</h4>' if query else ""
    return (f'<!DOCTYPE html><html><head><title>WebShop</title></head><body><div class="container">'
            f'<div id="instruction-text"><h4>Instruction: {_esc(instruction)}</h4>{current}</div>{body}'
            f'</div></body></html>')


def _button(action: str, label: str) -> str:
    return f'<form method="post" action="{_esc(action)}"><button type="submit" class="btn">{_esc(label)}</button></form>'


class _Handler(BaseHTTPRequestHandler):
    sessions: dict[str, dict[str, Any]]

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
        parts = [unquote(p) for p in self.path.split("?")[0].strip("/").split("/")]
        try:
            if parts == [""]:
                return self._send(302, location="/fixed_0")
            if len(parts) == 1:
                return self._index(parts[0], form)
            handler = {"search_results": self._results, "item_page": self._item, "item_sub_page": self._sub,
                       "done": self._done}.get(parts[0])
            if handler is None or parts[1] not in self.sessions:
                return self._send(404, "<h1>Not found</h1>")
            return handler(*parts[1:])
        except (KeyError, IndexError, ValueError, TypeError) as e:
            return self._send(400, f"<h1>Bad request</h1><p>{_esc(str(e))}</p>")

    def _index(self, session: str, form: dict[str, list[str]] | None) -> None:
        if session not in self.sessions:
            match = re.search(r"fixed_(\d+)$", session)
            index = int(match.group(1)) if match else 0
            if index >= len(GOALS):
                return self._send(404, f"<h1>No goal {index}</h1><p>This site has {len(GOALS)} goals.</p>")
            self.sessions[session] = {"goal": GOALS[index], "done": False}
        if form and form.get("search_query"):
            keywords = quote(form["search_query"][0].lower(), safe="")
            return self._send(302, location=f"/search_results/{quote(session)}/{keywords}/1")
        body = (f'<form method="post" action="/{quote(session)}"><input id="search_input" name="search_query" '
                f'type="text"><button type="submit" class="btn">Search</button></form>')
        self._send(200, _page(instruction_text(self.sessions[session]["goal"]), body))

    def _results(self, session: str, keywords: str, page: str) -> None:
        number = int(page)
        found = _search(re.findall(r"[a-z0-9]+", keywords.lower()))
        shown = found[(number - 1) * _PER_PAGE: number * _PER_PAGE]
        base = f"/search_results/{quote(session)}/{quote(keywords, safe='')}"
        nav = _button(f"/{quote(session)}", "Back to Search")
        if number > 1:
            nav += _button(f"{base}/{number - 1}", "< Prev")
        if number * _PER_PAGE < len(found):
            nav += _button(f"{base}/{number + 1}", "Next >")
        items = "".join(
            f'<div class="grid-item"><h4><a class="product-link" href="/item_page/{quote(session)}/{p["asin"]}/'
            f'{quote(keywords, safe="")}/{number}/%7B%7D">{p["asin"]}</a></h4><h4>{_esc(p["Title"])}</h4>'
            f'<h5>${p["Price"]:.2f}</h5></div>' for p in shown)
        body = f'<p>Page {number} (Total results: {len(found)})</p>{nav}<div class="grid-container">{items}</div>'
        self._send(200, _page(instruction_text(self.sessions[session]["goal"]), body, keywords))

    def _item(self, session: str, asin: str, keywords: str, page: str, options: str, sub: str = "") -> None:
        product, chosen = _PRODUCTS[asin], json.loads(options)
        s, k = quote(session), quote(keywords, safe="")
        nav = _button(f"/{s}", "Back to Search") + _button(f"/search_results/{s}/{k}/{page}", "< Prev")
        body = nav
        if sub:
            text = {"Description": product["Description"], "Features": " ".join(product["BulletPoints"]),
                    "Reviews": "No reviews yet."}.get(sub, "")
            body += f"<p>{_esc(text)}</p>"
        else:
            for name, values in product["options"].items():
                body += f"<h4>{_esc(name)}</h4>"
                for i, value in enumerate(values):
                    url = f"/item_page/{s}/{asin}/{k}/{page}/{quote(json.dumps({**chosen, name: value}), safe='')}"
                    checked = " checked" if chosen.get(name) == value else ""
                    body += (f'<input type="radio" id="radio_{name}{i}" name="{_esc(name)}" value="{_esc(value)}" '
                             f'data-url="{_esc(url)}"{checked}><label for="radio_{name}{i}">{_esc(value)}</label>')
            body += f'<h2>{_esc(product["Title"])}</h2><h4>Price: ${product["Price"]:.2f}</h4>'
            body += f'<h4>Rating: {product["Rating"]}</h4>'
            for tab in ("Description", "Features", "Reviews"):
                body += _button(f"/item_sub_page/{s}/{asin}/{k}/{page}/{tab}/{quote(options, safe='')}", tab)
            body += _button(f"/done/{s}/{asin}/{quote(options, safe='')}", "Buy Now")
        self._send(200, _page(instruction_text(self.sessions[session]["goal"]), body, keywords))

    def _sub(self, session: str, asin: str, keywords: str, page: str, sub_page: str, options: str) -> None:
        self._item(session, asin, keywords, page, options, sub=sub_page)

    def _done(self, session: str, asin: str, options: str) -> None:
        state, product = self.sessions[session], _PRODUCTS[asin]
        score = reward(product, {**_PRODUCTS[state["goal"]["asin"]], **state["goal"]}, price=product["Price"],
                       options=json.loads(options))
        state.update(done=True, reward=score)
        body = (f'<div id="thankyou"><h1>Thank you for shopping with us!</h1></div>'
                f'<h3 id="reward">Your score (min 0.0, max 1.0)<pre>{score}</pre></h3>')
        self._send(200, f"<!DOCTYPE html><html><body>{body}</body></html>")


def make_server(host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """The fixture site on ``host:port`` (0: any free port), not yet serving."""
    handler = type("Handler", (_Handler,), {"sessions": {}})
    return ThreadingHTTPServer((host, port), handler)


@contextmanager
def serving(host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve the fixture site on a background thread; yields its base URL."""
    server = make_server(host, port)
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
    args = parser.parse_args()
    server = make_server(args.host, args.port)
    print(f"WebShop fixture site on http://{args.host}:{server.server_address[1]} ({len(GOALS)} goals)")
    server.serve_forever()


if __name__ == "__main__":
    main()
