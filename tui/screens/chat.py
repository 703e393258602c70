"""The chat: the transcript, the composer, and beside them what the agent is doing and what it was given.

A turn runs as a Textual worker over ``stream_run``; its events are queued and drawn by a timer a few times a
second (``FRAME_SECONDS``), never one widget update per token, so typing stays responsive while the model
streams (``AnswerTurn`` keeps what it re-lays out small). The answer is written to the chat history as it
grows (``tui.store.AnswerWriter``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, TabbedContent, TabPane
from textual.worker import Worker

from agentkit.errors import AgentkitError
from agentkit.events import Answer, Done, Event, NodeEnd, NodeStart, Recalled, Token
from agentkit.tui.chat import compose_question, event_from_record, event_record
from agentkit.tui.widgets.composer import Composer
from agentkit.tui.widgets.reasoning import ReasoningPanel
from agentkit.tui.widgets.recalled import RecalledPanel
from agentkit.tui.widgets.turn import AnswerTurn, UserTurn
from agentkit.tui.widgets.usage import UsageBar

__all__ = ["FRAME_SECONDS", "GC_SECONDS", "ChatScreen"]

FRAME_SECONDS = 1 / 5
GC_SECONDS = 2.0


class _Turn:
    """What the running turn has received and not yet drawn."""

    def __init__(self, answer: AnswerTurn, ctx: Any) -> None:
        self.answer, self.ctx = answer, ctx
        self.unshown = ""  # streamed, not yet handed to the answer widget (which holds the rest)
        self.events: list[Event] = []
        self.running: list[str] = []  # nodes started and not ended
        self.failed: str | None = None  # the node that raised


class ChatScreen(Screen[None]):
    """One conversation at a time; ``app.store`` keeps them all."""

    #: no key the composer (a TextArea) edits with: ctrl+w, ctrl+e, ctrl+y, ctrl+k, ctrl+u stay its own
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="chat.cancel"),
        Binding("ctrl+n", "new_chat", "New chat", id="chat.new"),
        Binding("ctrl+r", "retry", "Retry", id="chat.retry"),
        Binding("ctrl+g", "copy_answer", "Copy answer", id="chat.copy"),
        Binding("ctrl+o", "app.history", "History", id="chat.history"),
        Binding("ctrl+t", "app.pick_workflow", "Workflow", id="chat.workflow"),
        Binding("ctrl+l", "app.pick_model", "Model", id="chat.model"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.conversation: int | None = None
        self.turn: _Turn | None = None
        self.worker: Worker[None] | None = None
        self.last_question: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="chat"):
                yield VerticalScroll(id="transcript")
                yield Composer(id="composer")
            with TabbedContent(id="side"):
                with TabPane("Reasoning", id="tab-reasoning"):
                    yield ReasoningPanel(id="reasoning")
                with TabPane("Memory", id="tab-memory"):
                    yield RecalledPanel(self.app.memory_text if self.app.memory is not None else None,  # type: ignore[attr-defined]
                                        id="recalled")
        yield UsageBar(id="usage")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#transcript", VerticalScroll).anchor()
        self.query_one(Composer).focus()
        self.set_interval(FRAME_SECONDS, self.draw)
        self._show_usage()

    # --- conversations ---------------------------------------------------------------------------------
    async def open_conversation(self, conversation: int | None) -> None:
        """Show a stored conversation (``None``: a new, empty one)."""
        if self.worker is not None and self.worker.is_running:
            self.worker.cancel()
        self.conversation = conversation
        transcript = self.query_one("#transcript", VerticalScroll)
        await transcript.remove_children()
        self.query_one(ReasoningPanel).reset()
        self.query_one(RecalledPanel).reset()
        if conversation is None:
            return
        store = self.app.store  # type: ignore[attr-defined]
        last = None
        for m in store.messages(conversation):
            if m.role == "user":
                await transcript.mount(UserTurn(m.content))
                self.last_question = m.content
            else:
                await transcript.mount(AnswerTurn(m.content, status=m.status, error=m.error,
                                                  answer=m.usage.get("answer")))
                last = m
        if last is not None:  # the last answer's reasoning, as it was streamed
            events = [e for e in (event_from_record(r.pop("kind"), r) for r in store.events(last.id)) if e]
            self.query_one(ReasoningPanel).add(events)
            for event in events:
                if isinstance(event, Recalled):
                    self.query_one(RecalledPanel).show(event)
        transcript.scroll_end(animate=False)

    # --- sending -----------------------------------------------------------------------------------------
    def on_composer_submitted(self, message: Composer.Submitted) -> None:
        if self.worker is not None and self.worker.is_running:
            self.notify("A turn is running: Esc cancels it.", severity="warning")
            return
        self.worker = self.run_turn(message.text.strip())

    def action_retry(self) -> None:
        if self.worker is not None and self.worker.is_running:
            return
        if self.last_question is None:
            self.notify("Nothing to retry yet.")
            return
        self.worker = self.run_turn(self.last_question, stored=True)

    def action_cancel(self) -> None:
        if self.worker is not None and self.worker.is_running:
            self.worker.cancel()

    def action_new_chat(self) -> None:
        self.run_worker(self.open_conversation(None), group="open", exclusive=True)

    def action_copy_answer(self) -> None:
        answers = list(self.query(AnswerTurn))
        if not answers:
            self.notify("No answer to copy yet.")
            return
        self.app.copy_to_clipboard(answers[-1].text)
        self.notify("Copied the last answer.")

    @work(group="run", exclusive=True, exit_on_error=False)
    async def run_turn(self, text: str, *, stored: bool = False) -> None:
        """Run ``text`` through the workflow as the next turn (``stored``: a retry, the message is kept)."""
        app: Any = self.app
        composer = self.query_one(Composer)
        try:
            model = await app.get_model()
            graph = app.graph()
        except AgentkitError as e:  # the message stays in the composer, to send once it is fixed
            self.notify(str(e), title="Cannot run", severity="error", timeout=15)
            return
        if not stored:
            composer.clear()
        store = app.store
        if self.conversation is None:
            self.conversation = store.new_conversation(" ".join(text.split())[:60], model=app.model_spec,
                                                       workflow=str(app.workflow))
        history = [(m.role, m.content) for m in store.messages(self.conversation) if m.status != "failed"]
        if stored and history and history[-1] == ("user", text):
            history.pop()
        elif not stored:
            store.add_message(self.conversation, "user", text)  # before the run starts
        self.last_question = text
        transcript = self.query_one("#transcript", VerticalScroll)
        answer = AnswerTurn()
        await transcript.mount_all([UserTurn(text), answer] if not stored else [answer])
        reasoning, recalled = self.query_one(ReasoningPanel), self.query_one(RecalledPanel)
        reasoning.reset()
        recalled.reset()
        writer = store.start_answer(self.conversation)
        ctx = app.run_context(model)
        self.turn = turn = _Turn(answer, ctx)
        state: dict[str, Any] = {}
        final: str | None = None
        from agentkit.runtime import stream_run

        held = _hold_full_gc(self)
        try:
            async for event in stream_run(graph, {"question": compose_question(history, text)}, ctx):
                if isinstance(event, Token):
                    turn.unshown += event.text
                    writer.write(event.text)
                    continue
                if isinstance(event, NodeStart):
                    turn.running.append(event.node)
                    continue
                if isinstance(event, NodeEnd):
                    if event.node in turn.running:
                        turn.running.remove(event.node)
                    if event.error is not None:
                        turn.failed = event.node
                    continue
                if isinstance(event, Done):
                    state = event.state
                    continue
                if isinstance(event, Answer):
                    final = event.text
                turn.events.append(event)
                if (kept := event_record(event)) is not None:
                    writer.event(*kept)
            await self.draw()
            body = answer.text.strip() or str(state.get("reasoning") or final or "")
            usage = {**_usage(ctx), "answer": final}
            writer.replace(body)
            writer.finish("done", usage=usage)
            await answer.finish("done", text=body, answer=final)
            reasoning.finish(state)
        except asyncio.CancelledError:
            await self._end(turn, writer, "cancelled", "", ctx)
            raise
        except Exception as e:  # a workflow's error, a server down, a context overflow: the turn fails, the app lives
            node = turn.failed or (turn.running[-1] if turn.running else None)
            where = f"{node}: " if node else ""
            await self._end(turn, writer, "failed", f"{where}{type(e).__name__}: {e}", ctx)
        finally:
            self.turn = None
            self._show_usage(ctx)
            held()

    async def _end(self, turn: _Turn, writer: Any, status: str, error: str, ctx: Any) -> None:
        await self.draw()
        writer.finish(status, error=error, usage=_usage(ctx))
        await turn.answer.finish(status, error=error)

    # --- drawing -----------------------------------------------------------------------------------------
    async def draw(self) -> None:
        """Put what the running turn received since the last frame on screen."""
        turn = self.turn
        if turn is None:
            return
        if turn.unshown:
            text, turn.unshown = turn.unshown, ""
            await turn.answer.write(text)
        if turn.events:
            events, turn.events = turn.events, []
            self.query_one(ReasoningPanel).add(events)
            for event in events:
                if isinstance(event, Recalled):
                    self.query_one(RecalledPanel).show(event)
        self._show_usage(turn.ctx)

    def _show_usage(self, ctx: Any = None) -> None:
        app: Any = self.app
        bar = self.query_one(UsageBar)
        if ctx is None:
            bar.update(f"{app.model_spec} · {app.workflow} · no run yet")
            return
        bar.show(ctx.usage.usage, app.clock(ctx), ctx.limits, model=f"{app.model_spec} · {app.workflow}")


def _hold_full_gc(screen: Screen[Any]) -> Any:
    """Full garbage collections on the UI's schedule while a turn streams. Left to Python, one ran inside
    whatever allocated last (often a frame's layout) and, 50-55 ms long, stalled the UI past 100 ms with it;
    held off for a whole turn, the garbage piled up and the collection at its end took 0.9 s. So automatic
    full collections are off during a turn, and one runs every ``GC_SECONDS`` as a callback of its own,
    freezing what survives so that the next one walks only what is new (measured in
    ``benchmarks/tui_latency.py``). Returns the function that ends the hold."""
    import gc

    low, middle, full = gc.get_threshold()
    gc.set_threshold(low, middle, 1_000_000)

    def collect() -> None:
        gc.collect()
        gc.freeze()

    timer = screen.set_interval(GC_SECONDS, collect)

    def release() -> None:
        timer.stop()
        gc.set_threshold(low, middle, full)
        collect()

    return release


def _usage(ctx: Any) -> dict[str, Any]:
    u = ctx.usage.usage
    return {"calls": u.calls, "prompt_tokens": u.prompt_tokens, "cached_tokens": u.cached_tokens,
            "completion_tokens": u.completion_tokens, "seconds": round(ctx.elapsed, 3)}
