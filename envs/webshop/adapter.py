"""Shop on a WebShop site over HTTP: pages become text observations, ``search[...]``/``click[...]`` actions.

Works against the official WebShop web app (``python -m web_agent_site.app``, port 3000; see the README) and
against this project's fixture site (``agentkit.envs.webshop.server``): both serve the same routes and page
structure. Task id N is the site's fixed goal N (session ``…fixed_N``); the official test split is goals
0-499, dev 500-1499, train the rest.

Observations follow the ReAct paper's text form: visible text joined by `` [SEP] ``, clickables in brackets
(``[Back to Search]``, ``[Next >]``, product ids, option values, ``[Buy Now]``). ``click[Buy Now]`` ends the
episode with the site's reward; reward 1.0 is a success. Anything else — an unknown button, a search where
there is no search box, an unreachable page — is an observation saying what is possible.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any

from agentkit.envs.base import EnvCrashed, Obs, StepResult, ThreadedEnv
from agentkit.errors import UserError
from agentkit.optional import require

__all__ = ["SPLITS", "WebShop", "page_text"]

SPLITS = {"test": (0, 500), "dev": (500, 1500), "train": (1500, 12087)}
_ACTION = re.compile(r"^\s*(search|click)\s*\[(.*)\]\s*$", re.IGNORECASE | re.DOTALL)
_HIDDEN = {"style", "script", "head", "title", "meta", "[document]"}


def _soup(page: str) -> Any:
    bs4 = require("bs4", what="WebShop", needs="beautifulsoup4", extra="agentkit[envs]")
    return bs4.BeautifulSoup(page, "html.parser")


def page_text(soup: Any) -> tuple[str, dict[str, tuple[str, str]], bool]:
    """(the page as text, clickables by lower-case label → (method, url), whether it has a search box)."""
    clickables: dict[str, tuple[str, str]] = {}
    for button in soup.find_all("button", class_="btn"):
        form = button.find_parent("form")
        if form is not None and button.get_text(strip=True).lower() != "search":
            clickables[button.get_text(strip=True).lower()] = ("POST", form.get("action", ""))
    for link in soup.find_all("a", class_="product-link"):
        clickables[link.get_text(strip=True).lower()] = ("GET", link.get("href", ""))
    radio_labels = {}
    for radio in soup.select('input[type="radio"]'):
        clickables[str(radio.get("value")).lower()] = ("GET", radio.get("data-url", ""))
        if radio.get("id"):
            radio_labels[radio["id"]] = radio
    pieces = []
    for node in soup.find_all(string=True):
        text = node.strip()
        if not text or node.parent.name in _HIDDEN:
            continue
        parent = node.parent
        clickable = (parent.name == "button" and "btn" in (parent.get("class") or []) and text.lower() != "search"
                     ) or (parent.name == "a" and "product-link" in (parent.get("class") or []))
        if parent.name == "label" and parent.get("for") in radio_labels:
            clickable = True
            if radio_labels[parent["for"]].has_attr("checked"):
                text = f"{text} (selected)"
        pieces.append(f"[{text}]" if clickable else text)
    has_search = soup.find(id="search_input") is not None
    if has_search:
        pieces.append("[Search]")
    return " [SEP] ".join(pieces), clickables, has_search


class WebShop(ThreadedEnv):
    """A WebShop site at ``url``; one session per episode.

    Args:
        split: ``test`` (goals 0-499), ``dev`` or ``train``.
        url: the site's base URL.
        goals: use only the split's first N goals (a small site, e.g. the fixture's 12).
        timeout: seconds per HTTP request.
    """

    name = "webshop"
    splits = tuple(SPLITS)

    def __init__(self, split: str = "test", *, url: str = "http://127.0.0.1:3000", goals: int | None = None,
                 timeout: float = 30.0) -> None:
        if split not in SPLITS:
            raise UserError(f"Unknown WebShop split {split!r}; use test, dev or train.")
        first, end = SPLITS[split]
        self.split, self.url, self.timeout = split, url.rstrip("/"), timeout
        self._ids = [str(i) for i in range(first, end if goals is None else min(end, first + goals))]
        self._clickables: dict[str, tuple[str, str]] = {}
        self._has_search = False
        self._page_url = self._search_action = ""
        super().__init__()

    def task_ids(self) -> list[str]:
        return self._ids

    def task_type(self, task_id: str) -> str:
        return "shopping"

    def _fetch(self, method: str, url: str, data: dict[str, str] | None = None) -> tuple[str, str]:
        url = urllib.parse.urljoin(self._page_url or self.url + "/", url)
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
        soup = _soup(page)
        self._page_url = url
        text, self._clickables, self._has_search = page_text(soup)
        box = soup.find(id="search_input")
        form = box.find_parent("form") if box is not None else None
        self._search_action = (form.get("action") if form is not None else None) or url
        return text, soup

    def _reset(self, task_id: str) -> Obs:
        if task_id not in self._ids:
            raise UserError(f"No WebShop goal {task_id!r} in split {self.split} (ids {self._ids[0]}-{self._ids[-1]}).")
        self._page_url = ""
        session = f"ak{uuid.uuid4().hex[:10]}fixed_{task_id}"
        text, soup = self._show(*self._fetch("GET", f"{self.url}/{session}"))
        box = soup.find(id="instruction-text")
        heading = box.find("h4") if box is not None else None
        instruction = heading.get_text(" ", strip=True) if heading is not None else ""
        instruction = re.sub(r"^Instruction:\s*", "", instruction)
        return Obs(text, instruction, None)

    def _step(self, action: str) -> StepResult:
        match = _ACTION.match(action)
        if match is None:
            return self._invalid(f"{action!r} is not search[query] or click[button]")
        kind, argument = match.group(1).lower(), match.group(2).strip()
        if kind == "search":
            if not self._has_search or not argument:
                return self._invalid("there is no search box on this page" if argument else "the query is empty")
            text, _ = self._show(*self._fetch("POST", self._search_action, {"search_query": argument}))
            return StepResult(text)
        target = self._clickables.get(argument.lower())
        if target is None:
            return self._invalid(f"there is no [{argument}] to click here")
        method, url = target
        page, final_url = self._fetch(method, url)
        if "/done/" in final_url:
            soup = _soup(page)
            found = soup.find(id="reward")
            pre = found.find("pre") if found is not None else None
            score = float(pre.get_text(strip=True)) if pre is not None else 0.0
            return StepResult(f"Thank you for shopping with us! Your score: {score:.2f}", reward=score, done=True,
                              won=score >= 1.0, score=score)
        text, _ = self._show(page, final_url)
        return StepResult(text)

    def _invalid(self, why: str) -> StepResult:
        options = [f"click[{label}]" for label in self._clickables]
        if self._has_search:
            options.insert(0, "search[<query>]")
        return StepResult(f"Invalid action: {why}. Possible now: {', '.join(options)}", info={"invalid": True})
