"""Full-screen text about one object: describe, YAML, and logs that follow (polling `logs` with an offset)."""

from __future__ import annotations

import asyncio

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Log, Static, TextArea

from control.errors import ApiError

LOG_POLL = 0.5  # seconds between `logs` polls while following


class TextScreen(Screen[None]):
    """Read-only, scrollable, selectable text (describe output, YAML)."""

    BINDINGS = [Binding("escape,q", "app.pop_screen", "Back")]

    def __init__(self, title: str, text: str, *, language: str | None = None) -> None:
        super().__init__(classes="text-screen")
        self.title_text = title
        self.text = text
        self.language = language

    def compose(self) -> ComposeResult:
        yield Static(self.title_text, classes="screen-title")
        yield TextArea(self.text, read_only=True, show_line_numbers=False, soft_wrap=False, id="text", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()


class LogsScreen(Screen[None]):
    """A pod's container log; new output is fetched from the last offset a few times a second."""

    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Back"),
        Binding("f", "toggle_follow", "Follow on/off"),
        Binding("t", "toggle_timestamps", "Timestamps on/off"),
    ]

    def __init__(self, client: object, namespace: str, name: str, container: str | None = None) -> None:
        super().__init__(classes="logs-screen")
        self.client = client
        self.namespace = namespace
        self.pod = name
        self.container = container
        self.follow = True
        self.timestamps = False  # kubectl logs --timestamps: each line with the time it was read
        self.log_offset: int | None = None

    def compose(self) -> ComposeResult:
        yield Static(self._title(), classes="screen-title", id="logs-title")
        yield Log(id="log", highlight=False, max_lines=20_000)
        yield Footer()

    def _title(self) -> str:
        what = f"{self.namespace}/{self.pod}" + (f" [{self.container}]" if self.container else "")
        return f"[b]logs[/] {what}  " + ("[green]following[/]" if self.follow else "[yellow]paused[/]") \
            + ("  [dim]timestamps[/]" if self.timestamps else "")

    def on_mount(self) -> None:
        self.query_one(Log).focus()
        self.poll_logs()

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        self.query_one(Log).auto_scroll = self.follow
        self.query_one("#logs-title", Static).update(self._title())

    def action_toggle_timestamps(self) -> None:
        """The log again, from its last lines, with or without each line's time."""
        self.timestamps = not self.timestamps
        self.log_offset = None
        self.query_one(Log).clear()
        self.query_one("#logs-title", Static).update(self._title())
        self.poll_logs()  # exclusive: the poll running now is cancelled

    @work(exclusive=True, group="logs")
    async def poll_logs(self) -> None:
        log = self.query_one(Log)
        page: dict | None = None
        while True:
            body: dict = {"namespace": self.namespace, "name": self.pod}
            if self.container:
                body["container"] = self.container
            if self.timestamps:
                body["timestamps"] = True
            if page is not None:  # the rest of a first answer longer than a page
                body.update(tail=1000, until=page["until"], skip=page.get("skip", 0))
            elif self.log_offset is not None and self.log_offset >= 0:
                body["offset"] = self.log_offset
            else:
                body["tail"] = 1000
            try:
                answer = await self.client.request("logs", body)  # type: ignore[attr-defined]
            except ApiError as e:
                if self.log_offset is None:
                    log.write_line(f"error: {e.message}")
                    self.log_offset = -1  # said once; keep trying quietly (the pod may not be scheduled yet)
                await asyncio.sleep(LOG_POLL * 2)
                continue
            text = answer.get("text") or ""
            if self.log_offset is not None and self.log_offset >= 0 and "offset" not in answer:
                text = text[self.log_offset:]  # a kubelet without offsets: the whole log again
            if text:
                log.write(text)
            self.log_offset = int(answer.get("offset", (self.log_offset or 0) + len(text)))
            page = answer if answer.get("more") and isinstance(answer.get("until"), int) else None
            if not answer.get("more"):  # more: the next page at once
                await asyncio.sleep(LOG_POLL)
