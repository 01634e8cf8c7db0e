"""Small modal screens: a prompt with completion, a yes/no confirmation, a message to copy, the help."""

from __future__ import annotations

from collections.abc import Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label, Static

from control import config


class PromptModal(ModalScreen[str | None]):
    """One line of input; Tab/→ accepts the completion; Enter answers, Escape cancels (None)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("tab", "complete", "Complete", show=False)]

    def __init__(self, title: str, *, value: str = "", placeholder: str = "", suggestions: Sequence[str] = (),
                 hint: str = "", id: str | None = None) -> None:
        super().__init__(id=id, classes="prompt-modal")
        self.title_text = title
        self.value = value
        self.placeholder = placeholder
        self.suggestions = list(suggestions)
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            suggester = SuggestFromList(self.suggestions, case_sensitive=False) if self.suggestions else None
            yield Input(self.value, placeholder=self.placeholder, suggester=suggester, id="prompt-input")
            if self.hint:
                yield Static(self.hint, classes="dialog-hint")

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_complete(self) -> None:
        inp = self.query_one(Input)
        if inp._suggestion:  # the suggester's current completion, shown greyed after the cursor
            inp.value = inp._suggestion
            inp.cursor_position = len(inp.value)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)


class ConfirmModal(ModalScreen[bool]):
    """Yes or no, No by default (delete asks here)."""

    BINDINGS = [Binding("escape,n", "answer(False)", "No"), Binding("y", "answer(True)", "Yes")]

    def __init__(self, question: str) -> None:
        super().__init__(classes="confirm-modal")
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="dialog-title")
            with Horizontal(classes="buttons"):
                yield Button("No", id="no", variant="primary")
                yield Button("Yes, delete", id="yes", variant="error")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class MessageModal(ModalScreen[None]):
    """Text the user needs to read or paste elsewhere (the command that starts a node)."""

    BINDINGS = [Binding("escape,enter,q", "close", "Close"), Binding("c", "copy", "Copy")]

    def __init__(self, title: str, body: str, *, copy_text: str = "") -> None:
        super().__init__(classes="message-modal")
        self.title_text = title
        self.body = body
        self.copy_text = copy_text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Static(self.body, classes="dialog-body", markup=False)
            hint = "c copy to the clipboard · Esc close" if self.copy_text else "Esc close"
            yield Static(hint, classes="dialog-hint")

    def action_close(self) -> None:
        self.dismiss(None)

    def action_copy(self) -> None:
        if self.copy_text:
            self.app.copy_to_clipboard(self.copy_text)
            self.notify("copied to the clipboard")


HELP = """\
[b]Views[/]  (:name, or the number keys)
  0 overview   1 pods   2 nodes   3 deploy   4 svc   5 events   6 etcd   7 sched   8 flow
  also :rs :ds :sts :jobs :cj :ns :ep :eps :leases :cm :secrets :sa :ing :roles :rolebindings :clusterroles :clusterrolebindings :pc :pdb :hpa :pvc :pv :sc :quota :limits
  :ns NAME shows one namespace's objects (Enter on a namespace does too), :ns all every namespace
  :explain pods.spec.containers  the fields of a kind, in the API's own words (kubectl explain)

[b]On the selected object[/]
  d describe (with events)      y YAML           l logs (follows)     e shell in the pod (exec -it)
  s scale (deployments, replica sets, stateful sets)  ctrl+d delete (asks first)
  f flow of this object (its timeline, owners included)

[b]Cluster[/]
  n add a node (shows the command to start one in another terminal)
  x stop a node this dashboard started (to watch failover)
  c cordon / uncordon the selected node (no new pods there; `kube-tui drain` evicts them)
  a apply a manifest file (re-applied on save when watching files)

[b]Everywhere[/]
  : go to a view (Tab completes)   / filter the view   Esc back / clear the filter
  ctrl+p command palette           ? this help         q quit

[b]etcd view[/]   \\[ older revision of the key   ] newer revision
[b]flow view[/]   f only the selected object / everything again
            h show / hide heartbeats (Lease renewals, Event repeats)
[b]logs[/]        f follow on / off     t timestamps on / off (the time each line was read)

[b]The real kubectl[/]  (the same API server, over HTTPS; exec, port-forward, top, diff work too)
  export KUBECONFIG={kubeconfig}
  kubectl get pods -o wide    kubectl apply -f FILE    kubectl exec -it POD -- sh
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            yield Label("kube-tui: keys", classes="dialog-title")
            # Textual's markup takes any [...] as a tag, so a [ in the path is escaped by hand
            kubeconfig = str(config.home() / "kubeconfig").replace("[", "\\[")
            yield Static(HELP.format(kubeconfig=kubeconfig))

    def action_close(self) -> None:
        self.dismiss(None)
