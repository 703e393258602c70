"""GSM8K: grade-school math word problems with exact numeric answers (Cobbe et al., 2021).

Problems are read from the official JSONL files (``train.jsonl``, ``test.jsonl``: one ``{"question",
"answer"}`` object a line, the answer's last line ``#### <number>``) in a folder given as ``data_dir`` or by
``$GSM8K_DATA``. With neither, the files are fetched once from the authors' repository into agentkit's
cache; offline, that fails with a message saying where to get them.

Answers compare as exact numbers (``$1,200.00`` = ``1200``). ``extraction`` finds the answer in a solution
and says which rule found it: ``boxed`` (``\\boxed{..}``), ``####``, ``answer is`` (``The answer is 5``),
``answer:`` (an ``Answer:`` line) or ``last number``.

Steps have a programmatic check that needs no reference: every equation a step writes out (``3 * 4 = 12``,
``<<3*4=12>>``) is recomputed exactly (``verify_steps``).

Example:
    >>> Gsm8kTask.extraction("So she has 3 + 4 = 7 apples. The answer is 7.")
    Extraction(answer='7', rule='answer is')
    >>> Gsm8kTask.extraction("Total: \\\\boxed{\\\\$1,200} dollars")
    Extraction(answer='1200', rule='boxed')
    >>> Gsm8kTask().verify_steps("q", ["2 * 6 = 12 eggs", "12 + 3 = 16 in all"])
    [1.0, 0.0]
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

from agentkit.errors import UserError
from agentkit.paths import cache_dir
from agentkit.types import Message
from agentkit.workflows.answers import (
    check_equations,
    find_answer,
    last_boxed,
    parse_number,
)
from agentkit.workflows.tasks.base import Problem, Task

__all__ = ["SPLITS", "Extraction", "Gsm8kTask", "load_split", "normalize_number"]

log = logging.getLogger(__name__)

SPLITS = ("train", "test")
SOURCE = "https://raw.githubusercontent.com/openai/grade-school-math/master/grade_school_math/data/{split}.jsonl"
_WHERE = ("Get them from https://github.com/openai/grade-school-math (grade_school_math/data/) or the Hugging Face "
          "dataset openai/gsm8k (config main), and set GSM8K_DATA to their folder (this project's training split: "
          "`export GSM8K_DATA=$(realpath ../shared/data/gsm8k)`).")
_CALC = re.compile(r"<<[^<>]*>>")
_ANSWER_IS = re.compile(r"answer\s+is\s*:?\s*(.+?)(?:\.\s|\.?$)", re.IGNORECASE | re.MULTILINE)
_HASHES = re.compile(r"####\s*(.+?)\s*$", re.MULTILINE)
_FRAC = re.compile(r"\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}")
_LATEX = re.compile(r"\\(?:text|mathrm|textbf|mbox)\{([^{}]*)\}")


@dataclass(frozen=True, slots=True)
class Extraction:
    """The answer found in a solution (``None``: no number anywhere) and the rule that found it."""

    answer: str | None
    rule: str


def normalize_number(text: str) -> str | None:
    """The number an answer stands for, in a canonical form (``'12'``, ``'-3/4'``, ``'2.5'`` → ``'5/2'``),
    or ``None`` when it holds none. LaTeX fractions, ``$``, commas, units and a trailing ``.0`` go.

    Example:
        >>> normalize_number("\\\\$1,200.00"), normalize_number("\\\\frac{3}{4} cup"), normalize_number("none")
        ('1200', '3/4', None)
    """
    text = _FRAC.sub(r"\1/\2", _LATEX.sub(r"\1", text)).replace("\\$", "$")
    value = parse_number(text.split("=")[-1]) if "=" in text else None
    value = parse_number(text) if value is None else value
    return None if value is None else str(value)


def _solution(answer: str) -> tuple[str, str]:
    """An official answer as (worked solution without calculator notes, the number after ``####``)."""
    body, _, final = answer.rpartition("####")
    return _CALC.sub("", body).strip(), final.strip().replace(",", "")


def _data_dir(data_dir: str | os.PathLike[str] | None) -> Path | None:
    given = data_dir or os.environ.get("GSM8K_DATA")
    return Path(given).expanduser() if given else None


def _download(split: str) -> Path:
    """The official file of ``split`` in agentkit's cache, fetched once."""
    target = cache_dir() / "gsm8k" / f"{split}.jsonl"
    if target.is_file():
        return target
    url = SOURCE.format(split=split)
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            data = response.read()
    except (urllib.error.URLError, TimeoutError, OSError) as e:
        raise UserError(f"No GSM8K data folder was given and {url} could not be fetched ({e}). {_WHERE}") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    partial.write_bytes(data)
    partial.replace(target)
    return target


@cache
def _read(path: Path, mtime: float) -> tuple[tuple[str, str, str], ...]:
    """(question, solution, answer) per valid line; bad lines are logged with their number and skipped."""
    rows, bad = [], 0
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                question, answer = item["question"], item["answer"]
                if not (isinstance(question, str) and isinstance(answer, str) and "####" in answer):
                    raise ValueError("needs string 'question' and 'answer' fields, the answer ending '#### N'")
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
                bad += 1
                log.warning("%s line %d skipped: %s", path, number, e if not isinstance(e, KeyError) else f"no {e} field")
                continue
            rows.append((question, *_solution(answer)))
    if not rows:
        raise UserError(f"{path} holds no GSM8K problems ({bad} bad lines). Each line must be a JSON object "
                        f"with 'question' and an 'answer' ending in '#### <number>'. {_WHERE}")
    return tuple(rows)


def load_split(split: str = "train", data_dir: str | os.PathLike[str] | None = None) -> list[tuple[str, str, str]]:
    """The problems of ``split`` as (question, worked solution, answer) triples, in file order."""
    if split not in SPLITS:
        raise UserError(f"GSM8K has no split {split!r}: use one of {', '.join(SPLITS)}.")
    folder = _data_dir(data_dir)
    if folder is None:
        path = _download(split)
    else:
        path = folder / f"{split}.jsonl"
        if not folder.is_dir():
            raise UserError(f"The GSM8K data folder {folder} does not exist. It should hold train.jsonl and/or "
                            f"test.jsonl. {_WHERE}")
        if not path.is_file():
            present = sorted(p.name for p in folder.glob("*.jsonl")) or ["no .jsonl files"]
            raise UserError(f"{folder} has no {split}.jsonl (it has: {', '.join(present)}). {_WHERE}")
    return list(_read(path, path.stat().st_mtime))


class Gsm8kTask(Task):
    """GSM8K word problems; answers are numbers compared exactly.

    Args:
        split: ``train`` or ``test``.
        data_dir: a folder with the official JSONL files (default ``$GSM8K_DATA``, else downloaded).
        shots: worked examples from the training split put before each question (0: zero-shot).
        seed: seeds ``sample``.
    """

    name = "gsm8k"
    no_answer = "the reply has no number in it"
    prompts: ClassVar[dict[str, str]] = {**Task.prompts, "cot": "gsm8k_cot"}
    max_depth = 10
    #: training problems reserved for choosing prompts and demonstrations; never sampled for measurement.
    dev_size = 500

    def __init__(self, split: str = "train", data_dir: str | None = None, shots: int = 0, seed: int = 0) -> None:
        if split not in SPLITS:
            raise UserError(f"GSM8K has no split {split!r}: use one of {', '.join(SPLITS)}.")
        if shots < 0 or shots > 8:
            raise UserError(f"shots must be between 0 and 8, not {shots}.")
        self.split, self.data_dir, self.shots, self.seed = split, data_dir, shots, seed

    def problems(self) -> list[Problem]:
        rows = load_split(self.split, self.data_dir)
        return [Problem(id=f"{self.split}-{i:04d}", question=q, reference=a) for i, (q, _, a) in enumerate(rows)]

    def find(self, problem_id: str) -> Problem | None:
        """The problem with this id (``train-0042``, or ``42`` in this task's split); anything else is
        ``None`` without reading the data (a free question)."""
        match = re.fullmatch(r"(?:(train|test)-)?(\d+)", problem_id.strip())
        if match is None or (match[1] or self.split) != self.split:
            return None
        problems = self.problems()
        index = int(match[2])
        return problems[index] if index < len(problems) else None

    def held_out(self) -> list[Problem]:
        """The split's problems but, on the training split, the first ``dev_size`` (the problems prompts and
        demonstrations are chosen from)."""
        pool = self.problems()
        return pool[self.dev_size:] if self.split == "train" else pool

    def sample(self, count: int, *, seed: int | None = None) -> list[Problem]:
        """``count`` problems drawn with ``seed`` from ``held_out()``."""
        pool = self.held_out()
        if count > len(pool):
            raise UserError(f"GSM8K {self.split} has {len(pool)} problems to sample from, not {count}.")
        return random.Random(self.seed if seed is None else seed).sample(pool, count)

    def demonstrations(self, k: int | None = None) -> list[tuple[str, str]]:
        """``k`` (default ``shots``) worked examples, always from the training split's development part,
        each as (question, solution ending in ``\\boxed{answer}``)."""
        rows = load_split("train", self.data_dir)[: self.dev_size]
        picked = rows[: self.shots if k is None else k]
        return [(q, f"{solution}\nThe answer is \\boxed{{{answer}}}.") for q, solution, answer in picked]

    def messages(self, messages: list[Message]) -> list[Message]:
        """``messages`` with the demonstrations as earlier chat turns, before the last user message."""
        if not self.shots:
            return messages
        turns: list[Message] = []
        for question, solution in self.demonstrations():
            turns += [{"role": "user", "content": question}, {"role": "assistant", "content": solution}]
        return [*messages[:-1], *turns, messages[-1]]

    @staticmethod
    def extraction(text: str) -> Extraction:
        """The answer in ``text`` and the rule that found it (see the module docstring)."""
        for rule, found in (("boxed", last_boxed(text)), ("####", _last(_HASHES, text)),
                            ("answer is", _last(_ANSWER_IS, text.replace("**", ""))),
                            ("answer:", find_answer(text))):
            if found is not None and (number := normalize_number(found)) is not None:
                return Extraction(number, rule)
        number = normalize_number(_LATEX.sub(r"\1", text))
        return Extraction(number, "last number" if number is not None else "no number")

    def extract(self, text: str) -> str | None:
        return self.extraction(text).answer

    def extraction_rule(self, text: str) -> str:
        return self.extraction(text).rule

    def stated_answer(self, step: str) -> str | None:
        """An answer given by a rule (``\\boxed``, ``####``, ``the answer is``), not just a last number."""
        found = self.extraction(step)
        return found.answer if found.rule not in ("last number", "no number") else None

    def normalize(self, answer: str) -> str:
        return normalize_number(answer) or super().normalize(answer)

    def search(self, question: str, *, verifier: Any = None, **options: Any) -> tuple[Any, Any]:
        """Step-level search over the model's own solution: a step is a paragraph, proposed by continuing
        the solution (``ContinuationConfig``), valued by ``verifier`` when one is given."""
        from agentkit.workflows.search.steps import ContinuationConfig, StepsWorld

        options.pop("generation", None)  # steps are always sampled continuations here
        config = ContinuationConfig(self, **options)
        return StepsWorld(question, max_steps=self.max_depth, task=self), self._verified(config, verifier)

    def verify_steps(self, question: str, steps: list[str]) -> list[float]:
        """Per step: 1.0 when every equation written in it holds (or it writes none), else 0.0."""
        return [0.0 if check_equations(step)[1] else 1.0 for step in steps]


def _last(pattern: re.Pattern[str], text: str) -> str | None:
    found = pattern.findall(text)
    return found[-1] if found else None

