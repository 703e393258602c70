"""Shop on a WebShop site over HTTP: pages become text observations, ``search[...]``/``click[...]`` actions.

Works against the official WebShop web app (``python -m web_agent_site.app``, port 3000; see the README) and
against this project's fixture site (``agentkit.envs.webshop.server``): both serve the same routes, URL forms
and page structure. Task id N is the site's fixed goal N (session ``…fixed_N``); the official test split is
goals 0-499, dev 500-1499, train the rest.

Three observation modes, each the text its source produces from the same page:

* ``react`` (the default; the ReAct, ExpeL and LATS baselines use it): the ReAct client's rendering of a
  page. Clickables in brackets, one per line (``[Back to Search]``, ``[Next >]``, product ids), option
  values inline with the chosen one doubled (``[[10 ft]]``), the instruction only on the search page, the
  first three results only. Clicking an option answers ``You have clicked 10 ft.``; the done page answers
  ``Your score (min 0.0, max 1.0): 1.0``; any action the client cannot take — a search off the search
  page, a click on what the page does not show, a malformed action — answers ``Invalid action!``.
* ``text``: the official text env's ``text`` mode, every visible string joined by `` [SEP] ``.
* ``text_rich``: its ``text_rich`` mode, ``[button] Buy Now [button_]`` for clickables, ``[clicked
  button] ... [clicked button_]`` for chosen options and visited products, "You have clicked X." in front.

In both official modes, as the official env does, ``search[...]`` works from any page and an action it
cannot take leaves the page as it was (the same observation again). In every mode the step's
``info["invalid"]`` flags such an action, with the reason in ``info["why"]``.

HTML comments, ``<script>``/``<style>``/``<head>``, and elements hidden with ``hidden`` or
``display:none`` never reach the agent: the official site keeps the reward's inputs (a result's category and
query, the done page's goal) in such places. (The official text env drops comments but not hidden
elements; that difference shows only on the done page, after the episode has ended.)

``click[Buy Now]`` ends the episode with the site's reward; reward 1.0 is a success.

A search page in each mode::

    react:      "\nWebShop \nInstruction:  \ni want jasmine tea, and price lower than 10.00 dollars \n[Search] "
    text:       "WebShop [SEP] Instruction: [SEP] i want jasmine tea, and price lower than 10.00 dollars [SEP] Search"
    text_rich:  "WebShop\nInstruction: \ni want jasmine tea, and price lower than 10.00 dollars\n[button] Search [button_]\n"
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any

from agentkit.envs.base import EnvCrashed, Obs, StepResult, ThreadedEnv
from agentkit.envs.webshop.server import parse_options
from agentkit.errors import UserError
from agentkit.optional import require

__all__ = ["MODES", "SPLITS", "Page", "WebShop", "render"]

SPLITS = {"test": (0, 500), "dev": (500, 1500), "train": (1500, 12087)}
MODES = ("react", "text", "text_rich")
_ACTION = re.compile(r"^\s*(search|click)\s*\[(.*)\]\s*$", re.IGNORECASE | re.DOTALL)
_IGNORED = {"style", "script", "head", "title", "meta", "[document]"}
_REACT_RESULTS = 3  # the ReAct client shows the first three results of a page
_SCORE_LABEL = "Your score (min 0.0, max 1.0)"


def _soup(page: str) -> Any:
    bs4 = require("bs4", what="WebShop", needs="beautifulsoup4", extra="agentkit[envs]")
    return bs4.BeautifulSoup(page, "html.parser")


def _hidden(element: Any) -> bool:
    style = re.sub(r"\s+", "", str(element.get("style") or "")).lower()
    return element.has_attr("hidden") or "display:none" in style or element.get("type") == "hidden"


def _visible_strings(soup: Any) -> list[Any]:
    """The page's text nodes a browser shows, in order (the official ``tag_visible`` plus hidden elements)."""
    bs4 = require("bs4", what="WebShop", needs="beautifulsoup4", extra="agentkit[envs]")
    out = []
    for node in soup.find_all(string=True):
        if isinstance(node, bs4.element.Comment) or node.parent.name in _IGNORED:
            continue
        if any(_hidden(parent) for parent in node.parents if parent.name != "[document]"):
            continue
        out.append(node)
    return out


@dataclass
class Page:
    """A fetched page: its HTML, where it came from, the options chosen there and the products visited."""

    html: str
    url: str
    chosen: dict[str, str] = field(default_factory=dict)
    visited: set[str] = field(default_factory=set)

    @property
    def kind(self) -> str:
        path = urllib.parse.urlparse(self.url).path.strip("/").split("/")
        return {"search_results": "search", "item_page": "item", "item_sub_page": "item_sub",
                "done": "end"}.get(path[0], "init")


def render(page: Page, mode: str = "react", soup: Any = None) -> str:
    """The page as the agent sees it in ``mode`` (see the module docstring); ``soup``: the page already parsed."""
    strings = _visible_strings(soup if soup is not None else _soup(page.html))
    if mode == "text":
        return " [SEP] ".join(t.strip() for t in strings if t != "\n")
    if mode == "text_rich":
        return _text_rich(strings, page)
    if mode == "react":
        return _react(strings, page)
    raise UserError(f"Unknown WebShop observation mode {mode!r}; use one of {', '.join(MODES)}.")


def _is_product_link(node: Any) -> bool:
    return node.parent.get("class") == ["product-link"]


def _text_rich(strings: list[Any], page: Page) -> str:
    chosen = set(page.chosen.values())
    observation = ""
    for t in strings:
        if t == "\n":
            continue
        if t.parent.name == "button":
            piece = f"[button] {t} [button_]"
        elif t.parent.name == "label":
            if str(t) in chosen:
                piece = f"  [clicked button] {t} [clicked button_]"
                observation = f"You have clicked {t}.\n" + observation
            else:
                piece = f"  [button] {t} [button_]"
        elif _is_product_link(t):
            mark = "clicked button" if str(t).upper() in page.visited else "button"
            piece = f"\n[{mark}] {t} [{mark}_]"
        else:
            piece = str(t)
        observation += piece + "\n"
    return observation


def _react(strings: list[Any], page: Page) -> str:
    texts = [str(t) for t in strings]
    if _SCORE_LABEL in texts and texts.index(_SCORE_LABEL) + 1 < len(texts):
        return f"{_SCORE_LABEL}: {texts[texts.index(_SCORE_LABEL) + 1]}"
    chosen = set(page.chosen.values())
    observation, regular, products, since_product = "", 0, 0, 0
    for t in strings:
        if t == "\n" or not t.replace("\n", "").replace("\\n", "").replace(" ", ""):
            continue
        if t.parent.name == "button":
            piece = f"\n[{t}] "
        elif t.parent.name == "label":
            piece = f"[[{t}]]" if str(t) in chosen else f"[{t}]"
        elif _is_product_link(t):
            piece = f"\n[{t}] " if products < _REACT_RESULTS else ""
            products += 1
            since_product = 0
        else:
            piece = "\n" + str(t) + " "
            if regular < 2 and page.kind != "init":
                piece = ""  # the instruction is shown on the search page only
            if since_product <= 2 and products > _REACT_RESULTS:
                piece = ""  # a hidden result's title and price
            regular += 1
        since_product += 1
        observation += piece
    return observation


def _controls(soup: Any) -> tuple[dict[str, tuple[str, str]], bool]:
    """(clickables by lower-case label → (method, url), whether the page has a search box)."""
    clickables: dict[str, tuple[str, str]] = {}
    for button in soup.find_all("button", class_="btn"):
        form = button.find_parent("form")
        label = button.get_text(strip=True)
        if form is not None and label.lower() != "search" and not _hidden(button):
            clickables[label.lower()] = ("POST", form.get("action", ""))
    for link in soup.find_all("a", class_="product-link"):
        clickables[link.get_text(strip=True).lower()] = ("GET", link.get("href", ""))
    for radio in soup.select('input[type="radio"]'):
        clickables[str(radio.get("value")).lower()] = ("GET", radio.get("data-url", ""))
    return clickables, soup.find(id="search_input") is not None


class WebShop(ThreadedEnv):
    """A WebShop site at ``url``; one session per episode.

    Args:
        split: ``test`` (goals 0-499), ``dev`` or ``train``.
        url: the site's base URL.
        goals: use only the split's first N goals (the built-in fixture site has 12 test goals, ids 0-11, and 8
            train goals, ids 1500-1507).
        mode: the observation mode: ``react`` (default), ``text`` or ``text_rich``.
        timeout: seconds per HTTP request.
    """

    name = "webshop"
    splits = tuple(SPLITS)

    def __init__(self, split: str = "test", *, url: str = "http://127.0.0.1:3000", goals: int | None = None,
                 mode: str = "react", timeout: float = 30.0) -> None:
        if split not in SPLITS:
            raise UserError(f"Unknown WebShop split {split!r}; use test, dev or train.")
        if mode not in MODES:
            raise UserError(f"Unknown WebShop observation mode {mode!r}; use one of {', '.join(MODES)}.")
        first, end = SPLITS[split]
        self.split, self.url, self.mode, self.timeout = split, url.rstrip("/"), mode, timeout
        self._ids = [str(i) for i in range(first, end if goals is None else min(end, first + int(goals)))]
        self._clickables: dict[str, tuple[str, str]] = {}
        self._has_search = False
        self._page = Page("", "")
        self._search_action = ""
        super().__init__()

    def task_ids(self) -> list[str]:
        return self._ids

    def task_type(self, task_id: str) -> str:
        return "shopping"

    def _fetch(self, method: str, url: str, data: dict[str, str] | None = None) -> tuple[str, str]:
        url = urllib.parse.urljoin(self._page.url or self.url + "/", url)
        body = urllib.parse.urlencode(data).encode() if data is not None else (b"" if method == "POST" else None)
        request = urllib.request.Request(url, data=body, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.read().decode("utf-8", "replace"), response.geturl()
        except urllib.error.HTTPError as e:
            raise EnvCrashed(f"The WebShop site answered {e.code} for {url}.") from e
        except (urllib.error.URLError, OSError) as e:
            raise EnvCrashed(f"Cannot reach the WebShop site at {self.url} ({e}). Start it (see the README's "
                             "WebShop section) or pass --env-option url=... .") from e

    def _show(self, page: str, url: str) -> tuple[str, Any]:
        """Make the fetched page current; its text in this env's mode, and its soup."""
        soup = _soup(page)
        self._page = Page(page, url, _chosen_options(url), self._page.visited)
        if self._page.kind == "item":
            self._page.visited.add(urllib.parse.unquote_plus(urllib.parse.urlparse(url).path).split("/")[3].upper())
        self._clickables, self._has_search = _controls(soup)
        box = soup.find(id="search_input")
        form = box.find_parent("form") if box is not None else None
        self._search_action = (form.get("action") if form is not None else None) or url
        return render(self._page, self.mode, soup), soup

    def _reset(self, task_id: str) -> Obs:
        if task_id not in self._ids:
            raise UserError(f"No WebShop goal {task_id!r} in split {self.split} (ids {self._ids[0]}-{self._ids[-1]}).")
        self._page = Page("", "")
        session = f"ak{uuid.uuid4().hex[:10]}fixed_{task_id}"
        text, soup = self._show(*self._fetch("GET", f"{self.url}/{session}"))
        box = soup.find(id="instruction-text")
        heading = box.find("h4") if box is not None else None
        instruction = heading.get_text(" ", strip=True) if heading is not None else ""
        instruction = re.sub(r"^Instruction:\s*", "", instruction)
        self._gold = self._expert_plan(session)
        return Obs(text, instruction, None)

    def _expert_plan(self, session: str) -> list[str]:
        """The fixture site's winning path for the session (its reference policy); none on other sites."""
        try:
            with urllib.request.urlopen(f"{self.url}/expert/{session}", timeout=self.timeout) as response:
                return list(json.loads(response.read())["plan"])
        except (urllib.error.URLError, OSError, ValueError, KeyError):
            return []

    def _step(self, action: str) -> StepResult:
        match = _ACTION.match(action)
        if match is None:
            return self._invalid(f"{action!r} is not search[query] or click[button]")
        kind, argument = match.group(1).lower(), match.group(2).strip()
        if kind == "search":
            if not argument:
                return self._invalid("the query is empty")
            if self.mode == "react" and not self._has_search:
                return self._invalid("there is no search box on this page")  # ReAct's client searches from the search page only
            action_url = self._search_action if self._has_search else f"{self.url}/{self._session()}"
            text, _ = self._show(*self._fetch("POST", action_url, {"search_query": argument}))
            return StepResult(text)
        target = self._clickables.get(argument.lower())
        if target is None or argument.lower() == "search":
            return self._invalid(f"there is no [{argument}] to click here")
        method, url = target
        page, final_url = self._fetch(method, url)
        if "/done/" in final_url:
            soup = _soup(page)
            found = soup.find(id="reward")
            pre = found.find("pre") if found is not None else None
            score = float(pre.get_text(strip=True)) if pre is not None else 0.0
            text = render(Page(page, final_url), self.mode, soup)
            return StepResult(text, reward=score, done=True, won=score >= 1.0, score=score)
        is_option = urllib.parse.urlparse(url).path.startswith("/item_page/") and self._page.kind == "item"
        text, _ = self._show(page, final_url)
        if self.mode == "react" and is_option:
            text = f"You have clicked {argument}."
        return StepResult(text)

    def _session(self) -> str:
        path = urllib.parse.urlparse(self._page.url).path.strip("/").split("/")
        return path[0] if len(path) == 1 else path[1]

    def _invalid(self, why: str) -> StepResult:
        info = {"invalid": True, "why": why}
        if self.mode == "react":
            return StepResult("Invalid action!", info=info)
        return StepResult(render(self._page, self.mode), info=info)  # the official env: nothing happens


def _chosen_options(url: str) -> dict[str, str]:
    """The options a page's URL carries (item and sub-pages: the last or second-to-last segment)."""
    path = urllib.parse.urlparse(url).path.strip("/").split("/")
    segment = {"item_page": 6, "item_sub_page": 7, "done": 4}.get(path[0], 0)
    if not segment or len(path) < segment:
        return {}
    try:
        return parse_options(urllib.parse.unquote_plus(path[segment - 1]))
    except (ValueError, SyntaxError):
        return {}
