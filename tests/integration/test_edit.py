"""kube-tui edit against a real API server, with a scripted editor: several objects in one List, each saved as
a strategic merge patch (a concurrent change to another field kept), and kubectl's reopen-on-error loop."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from control.client import Client
from control.plane import ControlPlane
from tests.integration.test_imperative import cli

# The editor: keeps each buffer it is shown as seen-N, runs $ED_RUN the first time, then makes pass N's
# replacements ($ED_STEPS: a list, per pass, of [old, new] pairs; a pass without any saves the file unchanged).
EDITOR = """\
import json, os, subprocess, sys
path, d = sys.argv[-1], os.environ["ED_DIR"]
n = len([f for f in os.listdir(d) if f.startswith("seen-")])
text = open(path).read()
open(os.path.join(d, f"seen-{n}"), "w").write(text)
if n == 0 and os.environ.get("ED_RUN"):
    subprocess.run(json.loads(os.environ["ED_RUN"]), check=True, stdout=subprocess.DEVNULL)
steps = json.loads(os.environ.get("ED_STEPS", "[]"))
for old, new in steps[n] if n < len(steps) else []:
    assert old in text, old
    text = text.replace(old, new)
open(path, "w").write(text)
"""


class Editor:
    def __init__(self, plane: ControlPlane, home: Path) -> None:
        self.plane, self.home = plane, home
        self.script = home / "editor.py"
        self.script.write_text(EDITOR)
        self.tmp = home / "tmp"  # the edit's temporary files (TMPDIR)
        self.tmp.mkdir()
        self.seen = home / "seen"
        self.seen.mkdir()

    async def edit(self, *args: str, steps: list[list[tuple[str, str]]] | None = None,
                   run: list[str] | None = None) -> tuple[int, str, str]:
        for f in self.seen.iterdir():
            f.unlink()
        env = {"KUBE_EDITOR": f"{sys.executable} {self.script}", "TMPDIR": str(self.tmp), "ED_DIR": str(self.seen),
               "ED_STEPS": json.dumps(steps or [])}
        if run:
            env["ED_RUN"] = json.dumps(run)
        return await cli(self.plane, self.home, "edit", *args, **env)

    def buffers(self) -> list[str]:
        return [(self.seen / f"seen-{n}").read_text() for n in range(len(list(self.seen.iterdir())))]

    def kept(self) -> list[Path]:
        return sorted(self.tmp.iterdir())


async def test_several_objects_open_as_one_list_and_each_is_patched_on_its_own(
        plane: ControlPlane, client: Client, tmp_path: Path) -> None:
    for name in ("web", "api"):
        assert (await cli(plane, tmp_path, "create", "deployment", name, "--image=nginx", "--replicas=3"))[0] == 0
    ed = Editor(plane, tmp_path)
    # every deployment of the namespace (by name: api, then web); only web's replicas changed
    code, out, err = await ed.edit("deploy", "--output-patch", steps=[[(
        "    replicas: 3\n    revisionHistoryLimit: 10\n    selector:\n      matchLabels:\n        app: web",
        "    replicas: 2\n    revisionHistoryLimit: 10\n    selector:\n      matchLabels:\n        app: web")]])
    assert (code, err) == (0, "")
    assert out == 'deployment.apps/api skipped\nPatch: {"spec":{"replicas":2}}\ndeployment.apps/web edited\n'
    [buffer] = ed.buffers()
    assert buffer.startswith("# Please edit the object below. Lines beginning with a '#' will be ignored,\n")
    assert "#\napiVersion: v1\nitems:\n- apiVersion: apps/v1\n  kind: Deployment\n" in buffer
    assert buffer.endswith("kind: List\nmetadata: {}\n") and "managedFields" not in buffer
    assert [(await client.get("Deployment", n))["spec"]["replicas"] for n in ("web", "api")] == [2, 3]
    assert ed.kept() == []

    # TYPE/NAME arguments, -o yaml: each result printed as YAML; nothing changed: kubectl's words, on stderr
    code, out, err = await ed.edit("deploy/web", "svc/web")
    assert (code, out, err) == (1, "", 'Error from server (NotFound): services "web" not found\n')
    assert await ed.edit("deploy/api", "deploy/web") == (0, "", "Edit cancelled, no changes made.\n")
    code, out, err = await ed.edit("deploy/web", "-o", "yaml", steps=[[("replicas: 2\n", "replicas: 4\n")]])
    assert code == 0 and out.startswith("apiVersion: apps/v1\nkind: Deployment\n") and "  replicas: 4\n" in out
    assert ed.kept() == []


async def test_a_concurrent_change_to_another_field_is_kept_not_a_conflict(
        plane: ControlPlane, client: Client, tmp_path: Path) -> None:
    assert (await cli(plane, tmp_path, "create", "deployment", "web", "--image=nginx", "--replicas=3"))[0] == 0
    assert plane.server is not None and plane.credentials is not None
    ed = Editor(plane, tmp_path)
    # while the editor is open, someone scales the deployment; the edit changes the image only
    scale = [sys.executable, "-m", "tui.cli", "scale", "deployment/web", "--replicas=5",
             "--server", plane.server.address, "--token", plane.credentials.admin]
    code, out, err = await ed.edit("deployment/web", run=scale, steps=[[("- image: nginx\n", "- image: nginx:1.26\n")]])
    assert (code, out, err) == (0, "deployment.apps/web edited\n", "")
    d = await client.get("Deployment", "web")
    assert d["spec"]["replicas"] == 5 and d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.26"


async def test_an_invalid_edit_reopens_the_editor_with_the_reasons_until_fixed_or_given_up(
        plane: ControlPlane, client: Client, tmp_path: Path) -> None:
    assert (await cli(plane, tmp_path, "create", "deployment", "web", "--image=nginx", "--replicas=3"))[0] == 0
    ed = Editor(plane, tmp_path)
    reason = ('# deployments.apps "web" was not valid:\n'
              "# * spec.replicas: Invalid value: -1: must be greater than or equal to 0\n#\n")
    # saved unchanged after the error: given up, the edit kept in a file whose path is printed
    code, out, err = await ed.edit("deployment/web", steps=[[("replicas: 3\n", "replicas: -1\n")]])
    [kept] = ed.kept()
    assert (code, out) == (1, "")
    assert err == ('error: deployments.apps "web" is invalid\n'
                   f'A copy of your changes has been stored to "{kept}"\n'
                   "error: Edit cancelled, no valid changes were saved.\n")
    first, second = ed.buffers()
    header = first.partition("apiVersion")[0]
    assert second.startswith(header + reason + "apiVersion: apps/v1\n") and "  replicas: -1\n" in second
    assert kept.read_text() == second and (await client.get("Deployment", "web"))["spec"]["replicas"] == 3
    kept.unlink()

    # fixed in the reopened file: saved, and no file left behind
    code, out, err = await ed.edit("deployment/web", steps=[[("replicas: 3\n", "replicas: -1\n")],
                                                           [("replicas: -1\n", "replicas: 2\n")]])
    assert (code, out, err) == (0, "deployment.apps/web edited\n", 'error: deployments.apps "web" is invalid\n')
    assert (await client.get("Deployment", "web"))["spec"]["replicas"] == 2 and ed.kept() == []

    # YAML the editor cannot read back: the reason is the syntax error, in kubectl's form
    code, out, err = await ed.edit("deployment/web", steps=[[("kind: Deployment\n", "kind: Deployment\n  bad: [x\n")]])
    assert code == 1 and '# * <nil>: Invalid value: "The edited file failed validation": yaml: line 3: mapping ' \
        "values are not allowed in this context\n" in ed.buffers()[1]
    for f in ed.kept():
        f.unlink()


async def test_a_rename_is_refused_and_kept(plane: ControlPlane, client: Client, tmp_path: Path) -> None:
    assert (await cli(plane, tmp_path, "create", "deployment", "web", "--image=nginx"))[0] == 0
    ed = Editor(plane, tmp_path)
    code, out, err = await ed.edit("deployment/web", steps=[[("  name: web\n", "  name: web2\n")]])
    [kept] = ed.kept()
    assert (code, out) == (1, "")
    assert err == f'A copy of your changes has been stored to "{kept}"\nerror: At least one of apiVersion, kind and ' \
        "name was changed\n"
    kept.unlink()
    assert await ed.edit("deployment/web", "-o", "name") == (1, "", 'error: unable to match a printer suitable for '
                                                            'the output format "name", allowed formats are: json,yaml\n')
