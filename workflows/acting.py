"""Context discipline for acting agents: long episodes in a small model's window.

Text games answer with long observations and list dozens of admissible actions, so a naive growing chat
overflows a small model's context within a few dozen steps. Here:

* ``compact_actions`` lists the admissible actions once, in the latest message only, folding numbered
  variants (``go to drawer 1`` … ``go to drawer 11``) into one entry when the list is long;
* ``match_action`` forgives case, a trailing period or a leading ``>`` when the intent is unambiguous;
* ``stale_action`` spots an action already taken from the same situation (small models loop on ``look``),
  so the agent can resample before going round in a circle;
* ``Transcript`` lays out the chat: a fixed head (instructions, task, opening), a digest of folded old
  steps, then the recent steps verbatim. Steps are folded only when the estimate passes the
  budget, then all but the last few at once, so the prompt prefix stays byte-identical for many steps
  between folds and the backend's KV cache is reused.

Example:
    >>> compact_actions(["go to drawer 1", "go to drawer 2", "go to drawer 3", "look", "go to bed 1"], 40)
    'go to bed 1, go to drawer 1-3, look'
    >>> match_action("Go to Drawer 2.", ["go to drawer 2", "look"])
    'go to drawer 2'
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agentkit.limits import estimate_tokens
from agentkit.types import Message

__all__ = ["Transcript", "compact_actions", "estimate_tokens", "match_action", "repeat_hint", "stale_action"]

_NUMBER = re.compile(r"\d+")
_ENDS_IN_NUMBER = re.compile(r"^(.*?)(\d+)$")
_HINT = re.compile(r"\n\(You have done this \d+ times in a row\. Try a different action\.\)$")


def compact_actions(actions: Sequence[str], max_chars: int = 1000) -> str:
    """The actions as one line; when that is over ``max_chars``, numbered variants are folded into ranges
    (``drawer 1-11``, ``shelf 1/3``). Small models copy what they see, so the full list is preferred."""
    full = ", ".join(sorted(set(actions)))
    if len(full) <= max_chars:
        return full
    groups: dict[str, list[int]] = {}
    singles: list[str] = []
    for action in sorted(set(actions)):
        match = _ENDS_IN_NUMBER.match(action)
        if match and not _NUMBER.search(match.group(1)):
            groups.setdefault(match.group(1), []).append(int(match.group(2)))
        else:
            singles.append(action)
    entries = list(singles)
    for stem, numbers in groups.items():
        numbers.sort()
        if len(numbers) == 1:
            entries.append(f"{stem}{numbers[0]}")
        elif numbers == list(range(numbers[0], numbers[-1] + 1)):
            entries.append(f"{stem}{numbers[0]}-{numbers[-1]}")
        else:
            entries.append(stem + "/".join(map(str, numbers)))
    return ", ".join(sorted(entries))


def _normal(action: str) -> str:
    return " ".join(action.lower().lstrip(">").strip().rstrip(".").split())


def match_action(action: str, admissible: Sequence[str]) -> str | None:
    """``action`` as written in ``admissible`` (exact, else case/punctuation-insensitive), or ``None``."""
    if action in admissible:
        return action
    wanted = _normal(action)
    found = [a for a in admissible if _normal(a) == wanted]
    return found[0] if len(found) == 1 else None


def repeat_hint(times: int) -> str:
    """The note appended to an observation when the same action was taken ``times`` in a row."""
    return f"\n(You have done this {times} times in a row. Try a different action.)"


def stale_action(steps: Sequence[dict[str, Any]], opening: str, action: str) -> bool:
    """Whether ``action`` was already taken in the situation the agent is in now (judged by the latest
    observation), so taking it again goes round in a circle, or was just refused as invalid.

    Example:
        >>> steps = [{"action": "look", "observation": "A hall.", "valid": True}]
        >>> stale_action(steps, "A hall.", "look"), stale_action(steps, "A hall.", "go north")
        (True, False)
    """
    if steps and steps[-1]["action"] == action and not steps[-1]["valid"]:
        return True
    now = _HINT.sub("", steps[-1]["observation"]) if steps else opening
    before = opening
    for step in steps:
        if step["action"] == action and before == now:
            return True
        before = _HINT.sub("", step["observation"])
    return False


@dataclass(frozen=True, slots=True)
class Transcript:
    """Lays out an acting agent's chat within ``budget`` tokens.

    Attributes:
        budget: prompt tokens at most (the model's window minus the reply).
        recent_min: steps always kept verbatim.
        digest_max: folded steps listed at most in the digest (older ones are counted, not shown); fewer
            when even the digest does not fit.
        line_chars: an observation's length in the digest.
        json_replies: earlier replies are shown as ``{"thought": ..., "action": ...}`` (constrained acting).
    """

    budget: int = 3000
    recent_min: int = 3
    digest_max: int = 30
    line_chars: int = 90
    json_replies: bool = False

    def messages(self, head: list[Message], steps: Sequence[dict[str, Any]], folded: int,
                 tail: str = "") -> tuple[list[Message], int]:
        """The chat and the new fold point: ``head`` (system + first user message), a digest of
        ``steps[:folded]``, the other steps verbatim, and ``tail`` appended to the last observation."""
        shown = self.digest_max
        while True:
            chat = self._layout(head, steps, folded, tail, shown)
            over = sum(estimate_tokens(m["content"]) for m in chat) > self.budget
            unfolded = len(steps) - folded
            if not over or (unfolded <= self.recent_min and shown == 0):
                return chat, folded
            if unfolded > self.recent_min:
                folded = len(steps) - self.recent_min
            else:  # everything old is folded: list fewer of the folded steps
                shown //= 2

    def _layout(self, head: list[Message], steps: Sequence[dict[str, Any]], folded: int,
                tail: str, shown: int) -> list[Message]:
        chat = [dict(m) for m in head]
        if folded:
            chat[-1]["content"] += "\n\n" + self._digest(steps[:folded], shown)
        for i, step in enumerate(steps[folded:], start=folded):
            reply = self.reply(step["thought"], step["action"])
            observation = f"Observation: {step['observation']}"
            if i == len(steps) - 1 and tail:
                observation += "\n" + tail
            chat += [{"role": "assistant", "content": reply}, {"role": "user", "content": observation}]
        if not steps and tail:
            chat[-1]["content"] += "\n" + tail
        return chat

    def reply(self, thought: str, action: str | None) -> str:
        """An assistant turn as the model is asked to write it: two lines, or one JSON object."""
        if self.json_replies:
            return json.dumps({"thought": thought, "action": action or ""}, ensure_ascii=False)
        return f"Thought: {thought}" + (f"\nAction: {action}" if action else "")

    def _digest(self, steps: Sequence[dict[str, Any]], limit: int) -> str:
        shown = steps[len(steps) - limit:] if limit else []
        lines = [f"Your earlier steps ({len(steps)}, oldest first, observations shortened):"]
        if len(steps) > len(shown):
            lines.append(f"... {len(steps) - len(shown)} steps not shown ...")
        for step in shown:
            seen = " ".join(step["observation"].split())
            seen = seen if len(seen) <= self.line_chars else seen[: self.line_chars - 3] + "..."
            lines.append(f"> {step['action'] or '(no action)'}: {seen}")
        return "\n".join(lines)
