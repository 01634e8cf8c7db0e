"""kubectl's imperative commands against a real API server: run, create deployment|namespace, expose, --dry-run."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path

import yaml

from control.client import Client
from control.plane import ControlPlane
from tests.helpers import communicate, kube_tui_env, wait_for


async def cli(plane: ControlPlane, home: Path, *args: str, stdin: str | None = None, **env: str) -> tuple[int, str, str]:
    assert plane.server is not None and plane.credentials is not None
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tui.cli", args[0], "--server", plane.server.address, "--token", plane.credentials.admin,
        *args[1:], env=kube_tui_env(home, **env), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL)
    out, err = await communicate(proc, stdin.encode() if stdin is not None else None, 30)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_run_create_and_expose_build_what_kubectl_builds(plane: ControlPlane, client: Client, tmp_path: Path) -> None:
    assert await cli(plane, tmp_path, "run", "sleeper", "--image=busybox", "--env=MODE=test", "--",
                     "sh", "-c", "sleep 3600") == (0, "pod/sleeper created\n", "")
    p = await client.get("Pod", "sleeper")
    c = p["spec"]["containers"][0]
    assert p["metadata"]["labels"] == {"run": "sleeper"} and p["spec"]["restartPolicy"] == "Always"
    assert (c["name"], c["image"], c["args"], c["env"]) == ("sleeper", "busybox", ["sh", "-c", "sleep 3600"],
                                                             [{"name": "MODE", "value": "test"}])

    code, out, _ = await cli(plane, tmp_path, "create", "deployment", "web", "--image=registry.k8s.io/nginx:1.25",
                             "--replicas=3", "--port=8080")
    assert (code, out) == (0, "deployment.apps/web created\n")
    d = await client.get("Deployment", "web")
    assert d["spec"]["replicas"] == 3 and d["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    tc = d["spec"]["template"]["spec"]["containers"][0]
    assert (tc["name"], tc["ports"]) == ("nginx", [{"containerPort": 8080, "protocol": "TCP"}])

    # expose: the deployment's selector, its container port unless told, the type asked for
    assert await cli(plane, tmp_path, "expose", "deployment", "web", "--port=80", "--target-port=8080",
                     "--type=NodePort") == (0, "service/web exposed\n", "")
    svc = await client.get("Service", "web")
    assert svc["spec"]["selector"] == {"app": "web"} and svc["spec"]["type"] == "NodePort"
    port = svc["spec"]["ports"][0]
    assert (port["port"], port["targetPort"]) == (80, 8080) and 30000 <= port["nodePort"] <= 32767
    assert (await cli(plane, tmp_path, "expose", "deploy/web", "--name=web-2"))[:2] == (0, "service/web-2 exposed\n")
    assert (await client.get("Service", "web-2"))["spec"]["ports"][0]["port"] == 8080  # introspected
    code, _, err = await cli(plane, tmp_path, "expose", "pod", "sleeper")  # no port declared anywhere
    assert code == 1 and "couldn't find port via --port flag or introspection" in err

    # --dry-run=client prints the object and creates nothing (the usual way to start a manifest)
    code, out, _ = await cli(plane, tmp_path, "create", "deployment", "draft", "--image=nginx", "--dry-run=client",
                             "-o", "yaml")
    assert code == 0 and yaml.safe_load(out)["spec"]["template"]["metadata"]["labels"] == {"app": "draft"}
    assert [d["metadata"]["name"] for d in (await client.list("Deployment"))["items"]] == ["web"]

    # Several ports: every one, each with its own protocol, named as kubectl names them.
    dns = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "dns", "labels": {"k8s-app": "dns"}},
           "spec": {"containers": [{"name": "c", "image": "busybox", "command": ["sleep", "300"],
                                    "ports": [{"containerPort": 53, "protocol": "UDP"}, {"containerPort": 9153}]}]}}
    await client.create(dns)
    assert (await cli(plane, tmp_path, "expose", "pod", "dns"))[0] == 0
    got = [(p["name"], p["port"], p["protocol"]) for p in (await client.get("Service", "dns"))["spec"]["ports"]]
    assert got == [("port-1", 53, "UDP"), ("port-2", 9153, "TCP")]

    # The Hello Minikube form: the words after -- are the container's command.
    code, out, _ = await cli(plane, tmp_path, "create", "deployment", "hello-node", "-r", "2",
                             "--image=registry.k8s.io/e2e-test-images/agnhost:2.39", "-o", "name", "--",
                             "/agnhost", "netexec", "--http-port=8080")
    assert (code, out) == (0, "deployment.apps/hello-node\n")
    hello = await client.get("Deployment", "hello-node")
    assert hello["spec"]["replicas"] == 2
    assert hello["spec"]["template"]["spec"]["containers"][0]["command"] == ["/agnhost", "netexec", "--http-port=8080"]
    # create -f --dry-run=client prints each object as kubectl v1.32.5 does: in its namespace, sent nowhere
    drafts = tmp_path / "drafts.yaml"
    drafts.write_text("kind: ConfigMap\napiVersion: v1\nmetadata: {name: draft-cm}\ndata: {b: '2', a: '1'}\n---\n"
                      "apiVersion: v1\nkind: Namespace\nmetadata: {name: draft-ns}\n")
    assert await cli(plane, tmp_path, "create", "-f", str(drafts), "--dry-run=client", "-o", "yaml") == (0, (
        'apiVersion: v1\ndata:\n  a: "1"\n  b: "2"\nkind: ConfigMap\nmetadata:\n  name: draft-cm\n  namespace: default\n'
        "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: draft-ns\n"), "")
    assert await cli(plane, tmp_path, "create", "-f", str(drafts), "--dry-run=client") == (
        0, "configmap/draft-cm created (dry run)\nnamespace/draft-ns created (dry run)\n", "")
    assert not (await client.list("ConfigMap", "default", field_selector="metadata.name=draft-cm"))["items"]
    code, _, err = await cli(plane, tmp_path, "run", "labelled", "--image=busybox", "--labels=a=b=c")
    assert code == 1 and "unexpected label spec" in err

    assert await cli(plane, tmp_path, "create", "namespace", "team-a") == (0, "namespace/team-a created\n", "")
    code, _, err = await cli(plane, tmp_path, "run", "elsewhere", "--image=busybox", "-n", "missing")
    assert code == 1 and 'namespaces "missing" not found' in err
    code, _, err = await cli(plane, tmp_path, "create", "deployment", "web", "--image=nginx")
    assert code == 1 and 'deployments.apps "web" already exists' in err
    code, _, err = await cli(plane, tmp_path, "run", "bad_name", "--image=busybox")
    assert code == 1 and 'Pod "bad_name" is invalid' in err and 'metadata.name: Invalid value: "bad_name"' in err


async def test_set_image_and_rollout_restart_change_the_pod_template(plane: ControlPlane, client: Client,
                                                                     tmp_path: Path) -> None:
    assert (await cli(plane, tmp_path, "create", "deployment", "web", "--image=nginx:1.25"))[0] == 0
    before = await client.get("Deployment", "web")
    assert await cli(plane, tmp_path, "set", "image", "deployment/web", "nginx=nginx:1.27") == \
        (0, "deployment.apps/web image updated\n", "")
    after = await client.get("Deployment", "web")
    assert after["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1  # a rollout to do
    assert (await cli(plane, tmp_path, "set", "image", "deploy/web", "*=nginx:1.27"))[1] == \
        "deployment.apps/web image unchanged\n"
    code, _, err = await cli(plane, tmp_path, "set", "image", "deployment/web", "sidecar=busybox")
    assert code == 1 and 'unable to find container named "sidecar"' in err
    code, _, err = await cli(plane, tmp_path, "set", "image", "deployment/web", "nginx")
    assert code == 1 and "use CONTAINER=IMAGE" in err

    assert await cli(plane, tmp_path, "rollout", "restart", "deployment/web") == (0, "deployment.apps/web restarted\n", "")
    restarted = await client.get("Deployment", "web")
    notes = restarted["spec"]["template"]["metadata"].get("annotations") or {}
    assert "kubectl.kubernetes.io/restartedAt" in notes
    assert restarted["metadata"]["generation"] == after["metadata"]["generation"] + 1


async def test_edit_writes_back_what_the_editor_saved(plane: ControlPlane, client: Client, tmp_path: Path) -> None:
    assert (await cli(plane, tmp_path, "create", "deployment", "web", "--image=nginx"))[0] == 0
    tmp = tmp_path / "tmp"
    tmp.mkdir()

    async def edit(editor: str, *target: str) -> tuple[int, str, str]:
        return await cli(plane, tmp_path, "edit", *target, KUBE_EDITOR=editor, TMPDIR=str(tmp))

    assert await edit("sed -i -e 's/replicas: 1$/replicas: 4/'", "deployment/web") == \
        (0, "deployment.apps/web edited\n", "")
    assert (await client.get("Deployment", "web"))["spec"]["replicas"] == 4
    assert (await edit("true", "deploy", "web"))[2] == "Edit cancelled, no changes made.\n"  # on stderr, as kubectl
    # The editor's buffer is kubectl's: its four lines of instructions, then the object as get -o yaml prints it
    seen = tmp_path / "buffer.yaml"
    assert (await edit(f"cp -t {tmp_path} --", "deploy", "web"))[2] == "Edit cancelled, no changes made.\n"
    [copied] = [f for f in tmp_path.iterdir() if f.name.startswith("kube-tui-edit-")]
    copied.rename(seen)
    header, _, shown = seen.read_text().partition("#\n")
    assert header == ("# Please edit the object below. Lines beginning with a '#' will be ignored,\n"
                      "# and an empty file will abort the edit. If an error occurs while saving this file will be\n"
                      "# reopened with the relevant failures.\n")
    assert shown.startswith("apiVersion: apps/v1\nkind: Deployment\n") and yaml.safe_load(shown)["metadata"]["name"] == "web"
    seen.unlink()
    # Refused by the API server: reopened with the reasons (tests/integration/test_edit.py), the same sed
    # saves it unchanged: given up, the edit kept in a file (as kubectl keeps it)
    code, _, err = await edit("sed -i -e 's/replicas: 4$/replicas: -1/'", "deployment/web")
    assert code == 1 and 'deployments.apps "web" is invalid' in err and "A copy of your changes has been stored" in err
    kept = list(tmp.iterdir())
    assert len(kept) == 1 and "replicas: -1" in kept[0].read_text()
    assert (await client.get("Deployment", "web"))["spec"]["replicas"] == 4  # nothing stored changed
    kept[0].unlink()
    code, _, err = await edit("sh -c 'echo \"a: [\" > $0'", "deployment/web")
    assert code == 1 and err.endswith("error: Edit cancelled, no valid changes were saved.\n")  # unreadable twice
    for f in tmp.iterdir():
        f.unlink()


async def test_diff_and_apply_dry_run_server_show_what_apply_would_do_and_store_nothing(
        plane: ControlPlane, client: Client, tmp_path: Path) -> None:
    from tests.helpers import K8S_DOCS

    assert plane.store is not None
    manifest = K8S_DOCS / "nginx-deployment.yaml"
    rev = plane.store.revision
    code, out, err = await cli(plane, tmp_path, "diff", "-f", str(manifest))  # nothing there yet: all of it is new
    assert code == 1 and "+++ MERGED/apps.v1.Deployment.default.nginx-deployment" in out and "+  replicas: 3" in out
    assert await cli(plane, tmp_path, "apply", "-f", str(manifest), "--dry-run=server") == (
        0, "deployment.apps/nginx-deployment created (server dry run)\n", "")
    assert plane.store.revision == rev  # neither wrote anything
    assert (await cli(plane, tmp_path, "apply", "-f", str(manifest)))[0] == 0
    assert await cli(plane, tmp_path, "diff", "-f", str(manifest)) == (0, "", "")  # applied: no difference
    changed = tmp_path / "v2.yaml"
    changed.write_text(manifest.read_text().replace("nginx:1.14.2", "nginx:1.16.1"))
    code, out, _ = await cli(plane, tmp_path, "diff", "-f", str(changed))
    assert code == 1 and "-      - image: nginx:1.14.2\n+      - image: nginx:1.16.1\n" in out
    assert "-  generation: 1\n+  generation: 2\n" in out and "managedFields" not in out
    assert (await client.get("Deployment", "nginx-deployment"))["spec"]["template"]["spec"]["containers"][0]["image"] \
        == "nginx:1.14.2"
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: Bad_\nspec:\n  containers: [{name: c}]\n")
    code, out, err = await cli(plane, tmp_path, "diff", "-f", str(bad))
    assert code == 2 and 'Pod "Bad_" is invalid' in err


async def test_describe_fetches_what_kubectl_describe_fetches(plane: ControlPlane, client: Client, tmp_path: Path) -> None:
    from tests.integration.test_controllers import deployment, manager, wait_for

    async with manager(plane, ["deployment"]):
        await client.create(deployment("web", 2, {"app": "web"}))

        async def owned_rs() -> list[dict]:
            return (await client.list("ReplicaSet", "default"))["items"]

        rs = (await wait_for(owned_rs, what="the Deployment's ReplicaSet"))[0]["metadata"]["name"]
    code, out, err = await cli(plane, tmp_path, "describe", "deployment", "web")
    assert code == 0, err
    assert f"NewReplicaSet:   {rs} (" in out and "OldReplicaSets:  <none>" in out
    code, out, err = await cli(plane, tmp_path, "describe", "svc", "kubernetes")
    assert code == 0, err
    assert "Endpoints:" in out


async def test_get_no_headers_and_jsonpath(plane: ControlPlane, client: Client, tmp_path: Path) -> None:
    await client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
    code, out, err = await cli(plane, tmp_path, "get", "ns", "--no-headers")
    assert code == 0 and not out.startswith("NAME") and "team-a" in out, err
    code, out, err = await cli(plane, tmp_path, "get", "ns", "-o", "jsonpath={.items[*].metadata.name}")
    assert code == 0 and "team-a" in out.split() and "default" in out.split(), err
    code, out, _ = await cli(plane, tmp_path, "get", "ns", "team-a", "-o", "jsonpath={.status.phase}")
    assert (code, out) == (0, "Active")  # no newline of its own, as kubectl
    code, out, _ = await cli(plane, tmp_path, "get", "ns", "-o",
                             'jsonpath={.items[?(@.metadata.name=="team-a")].status.phase}')
    assert (code, out.strip()) == (0, "Active")
    code, _, err = await cli(plane, tmp_path, "get", "ns", "-o", 'jsonpath={.items[?(@.metadata.name=~"t.*")]}')
    assert code == 1 and "error parsing jsonpath" in err


async def test_create_priorityclass_as_kubectl_does(plane: ControlPlane, client: Client, tmp_path: Path) -> None:
    assert await cli(plane, tmp_path, "create", "priorityclass", "high", "--value=1000", "--description=urgent work",
                     "--preemption-policy=Never") == (0, "priorityclass.scheduling.k8s.io/high created\n", "")
    pc = await client.get("PriorityClass", "high", None)
    assert (pc["value"], pc["description"], pc["preemptionPolicy"], pc.get("globalDefault")) == (
        1000, "urgent work", "Never", None)  # omitempty: false is not stored, as kube-apiserver
    code, out, _ = await cli(plane, tmp_path, "get", "pc")
    assert code == 0 and out.splitlines()[0].split() == ["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"]
    assert any(line.split()[:3] == ["high", "1000", "false"] for line in out.splitlines())
    code, _, err = await cli(plane, tmp_path, "create", "priorityclass", "system-mine", "--value=1")
    assert code == 1 and "priority class names with 'system-' prefix are reserved for system use only" in err


async def test_a_refused_create_is_worded_as_kubectl_words_it(plane: ControlPlane, client: Client, tmp_path: Path) -> None:
    """kubectl v1.32 wraps the server's refusal for create deployment|configmap|secret|priorityclass in its own
    words (the secret's without a colon), and prints create namespace's and run's as the server said it."""
    assert (await cli(plane, tmp_path, "create", "priorityclass", "everyday", "--value=10", "--global-default"))[0] == 0
    assert await cli(plane, tmp_path, "create", "priorityclass", "other", "--value=20", "--global-default") == (
        1, "", 'error: failed to create priorityclass: priorityclasses.scheduling.k8s.io "other" is forbidden: '
               "PriorityClass everyday is already marked as default. Only one default can exist\n")
    assert (await cli(plane, tmp_path, "create", "deployment", "web", "--image=busybox"))[0] == 0
    assert await cli(plane, tmp_path, "create", "deployment", "web", "--image=busybox") == (
        1, "", 'error: failed to create deployment: deployments.apps "web" already exists\n')
    assert (await cli(plane, tmp_path, "create", "configmap", "game", "--from-literal=a=1"))[0] == 0
    assert (await cli(plane, tmp_path, "create", "configmap", "game", "--from-literal=a=1"))[2] == (
        'error: failed to create configmap: configmaps "game" already exists\n')
    assert (await cli(plane, tmp_path, "create", "secret", "generic", "db", "--from-literal=a=1"))[0] == 0
    assert (await cli(plane, tmp_path, "create", "secret", "generic", "db", "--from-literal=a=1"))[2] == (
        'error: failed to create secret secrets "db" already exists\n')
    code, _, err = await cli(plane, tmp_path, "create", "namespace", "default")
    assert (code, err) == (1, 'Error from server (AlreadyExists): namespaces "default" already exists\n')


async def test_create_pdb_as_kubectl_does(plane: ControlPlane, client: Client, tmp_path: Path) -> None:
    """kubectl create pdb|poddisruptionbudget NAME --selector=SEL --min-available=N[%] | --max-unavailable=N[%]:
    the selector as metav1.ParseToLabelSelector builds it, an integer or a percent, kubectl's checks and words."""
    assert await cli(plane, tmp_path, "create", "pdb", "web", "--selector=app=web", "--min-available=2") == (
        0, "poddisruptionbudget.policy/web created\n", "")
    assert (await client.get("PodDisruptionBudget", "web", "default"))["spec"] == {
        "minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}
    code, out, _ = await cli(plane, tmp_path, "create", "poddisruptionbudget", "batch", "--max-unavailable=50%",
                             "--selector=tier=batch,app in (b,a),!legacy", "--dry-run=client", "-o", "yaml")
    assert code == 0 and yaml.safe_load(out)["spec"] == {
        "maxUnavailable": "50%",
        "selector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["a", "b"]},
                                          {"key": "legacy", "operator": "DoesNotExist"}],
                     "matchLabels": {"tier": "batch"}}}
    for flags, said in ((["--min-available=1"], "a selector must be specified"),
                        (["--selector=a=b"], "one of min-available or max-unavailable must be specified"),
                        (["--selector=a=b", "--min-available=1", "--max-unavailable=1"],
                         "min-available and max-unavailable cannot be both specified"),
                        (["--selector=a=b", "--min-available=1Gi"], "invalid format specified for min-available"),
                        (["--selector=a>1", "--max-unavailable=1"], '"gt" isn\'t supported in label selectors')):
        assert await cli(plane, tmp_path, "create", "pdb", "x", *flags) == (1, "", f"error: {said}\n"), flags
    assert await cli(plane, tmp_path, "create", "pdb", "web", "--selector=app=web", "--min-available=2") == (
        1, "", 'error: failed to create poddisruptionbudgets: poddisruptionbudgets.policy "web" already exists\n')


async def test_create_cronjob_and_a_job_from_it_as_kubectl_does(plane: ControlPlane, client: Client, tmp_path: Path) -> None:
    """kubectl create cronjob NAME --image --schedule [-- COMMAND] and create job NAME --from=cronjob/NAME
    (createJobFromCronJob: the template, the `instantiate: manual` annotation, the CronJob as controller)."""
    assert await cli(plane, tmp_path, "create", "cronjob", "tick", "--image=busybox", "--schedule=*/5 * * * *",
                     "--", "date") == (0, "cronjob.batch/tick created\n", "")
    cj = await client.get("CronJob", "tick", "default")
    assert cj["spec"]["jobTemplate"]["metadata"] == {"name": "tick"}
    pod = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "OnFailure" and pod["containers"][0]["command"] == ["date"]
    assert await cli(plane, tmp_path, "create", "job", "tick-now", "--from=cronjob/tick") == (
        0, "job.batch/tick-now created\n", "")
    job = await client.get("Job", "tick-now", "default")
    assert job["metadata"]["annotations"] == {"cronjob.kubernetes.io/instantiate": "manual"}
    assert job["metadata"]["ownerReferences"] == [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "tick",
                                                   "uid": cj["metadata"]["uid"], "controller": True}]
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["date"]
    assert await cli(plane, tmp_path, "create", "job", "x", "--from=cronjob/nope") == (
        1, "", 'Error from server (NotFound): cronjobs.batch "nope" not found\n')
    assert await cli(plane, tmp_path, "create", "cj", "x", "--image=busybox") == (
        1, "", 'error: required flag(s) "schedule" not set\n')
    assert await cli(plane, tmp_path, "create", "cronjob", "y", "--image=busybox", "--schedule=99 * * * *") == (
        1, "", 'error: failed to create cronjob: CronJob.batch "y" is invalid: spec.schedule: Invalid value: '
               '"99 * * * *": end of range (99) above maximum (59): 99\n')


async def test_create_service_as_kubectl_does(plane: ControlPlane, client: Client, tmp_path: Path) -> None:
    """kubectl create service|svc clusterip|nodeport|loadbalancer|externalname NAME (ServiceOptions.createService):
    labels and selector app=NAME, a TCP port per --tcp named after it, the cluster's ClusterIP and nodePorts;
    kubectl v1.32's checks, in its order and words."""
    import ipaddress
    import json

    assert plane.server is not None
    network = plane.server.api.network
    low, high = network.node_ports
    assert await cli(plane, tmp_path, "create", "service", "clusterip", "web", "--tcp=5678:8080") == (
        0, "service/web created\n", "")
    svc = await client.get("Service", "web", "default")
    assert svc["metadata"]["labels"] == {"app": "web"} and svc["spec"]["selector"] == {"app": "web"}
    assert svc["spec"]["ports"] == [{"name": "5678-8080", "protocol": "TCP", "port": 5678, "targetPort": 8080}]
    assert svc["spec"]["type"] == "ClusterIP" and ipaddress.ip_address(svc["spec"]["clusterIP"]) in network.service_cidr

    # nodeport: each port gets a nodePort from the cluster's range (or the one asked for); a name as target
    assert await cli(plane, tmp_path, "create", "svc", "nodeport", "np", "--tcp", "80:8080,443:https") == (
        0, "service/np created\n", "")
    ports = (await client.get("Service", "np", "default"))["spec"]["ports"]
    assert [(p["name"], p["port"], p["targetPort"]) for p in ports] == [("80-8080", 80, 8080), ("443-https", 443, "https")]
    assert all(low <= p["nodePort"] <= high for p in ports) and ports[0]["nodePort"] != ports[1]["nodePort"]
    code, out, _ = await cli(plane, tmp_path, "create", "service", "nodeport", "fixed", "--tcp=80", f"--node-port={low + 7}",
                             "-o", "json")
    assert code == 0 and json.loads(out)["spec"]["ports"][0]["nodePort"] == low + 7
    assert (await client.get("Service", "fixed", "default"))["spec"]["ports"][0]["nodePort"] == low + 7
    lb = (await cli(plane, tmp_path, "create", "service", "loadbalancer", "lb", "--tcp=80", "-n", "kube-public"))
    assert lb == (0, "service/lb created\n", "")
    lb_svc = await client.get("Service", "lb", "kube-public")
    assert lb_svc["spec"]["type"] == "LoadBalancer" and low <= lb_svc["spec"]["ports"][0]["nodePort"] <= high
    assert await cli(plane, tmp_path, "create", "service", "externalname", "ext", "--external-name=db.example.com",
                     "-o", "name") == (0, "service/ext\n", "")
    ext = await client.get("Service", "ext", "default")
    assert (ext["spec"]["type"], ext["spec"]["externalName"], ext["spec"].get("clusterIP")) == (
        "ExternalName", "db.example.com", None)
    assert (await cli(plane, tmp_path, "create", "service", "clusterip", "headless", "--clusterip=None"))[0] == 0
    assert (await client.get("Service", "headless", "default"))["spec"]["clusterIP"] == "None"

    # --dry-run=client prints what kubectl v1.32 prints, byte for byte, and creates nothing
    code, out, err = await cli(plane, tmp_path, "create", "service", "clusterip", "draft", "--tcp=5678:8080,80",
                               "--dry-run=client", "-o", "yaml")
    assert (code, err) == (0, "") and out == (
        "apiVersion: v1\nkind: Service\nmetadata:\n  creationTimestamp: null\n  labels:\n    app: draft\n  name: draft\n"
        "spec:\n  ports:\n  - name: 5678-8080\n    port: 5678\n    protocol: TCP\n    targetPort: 8080\n"
        '  - name: "80"\n    port: 80\n    protocol: TCP\n    targetPort: 80\n  selector:\n    app: draft\n'
        "  type: ClusterIP\nstatus:\n  loadBalancer: {}\n")
    code, out, _ = await cli(plane, tmp_path, "create", "svc", "externalname", "draft", "--external-name=a.b",
                             "--dry-run=client", "-o", "json")
    assert code == 0 and list(json.loads(out)) == ["kind", "apiVersion", "metadata", "spec", "status"]
    assert json.loads(out)["spec"] == {"selector": {"app": "draft"}, "type": "ExternalName", "externalName": "a.b"}
    assert await cli(plane, tmp_path, "create", "service", "nodeport", "draft", "--tcp=80", "--dry-run=client") == (
        0, "service/draft created (dry run)\n", "")
    assert "draft" not in [s["metadata"]["name"] for s in (await client.list("Service", "default"))["items"]]

    # refused before anything is sent, as kubectl refuses
    see = "See 'kube-tui create service {} {}' for {}"
    for argv, said in (
            (["clusterip", "x", "--tcp=abc"], 'error: strconv.ParseUint: parsing "abc": invalid syntax'),
            (["clusterip", "x", "--tcp=80,65536"], 'error: strconv.ParseUint: parsing "65536": value out of range'),
            (["clusterip", "x", "--tcp=80:0"], "error: must be between 1 and 65535, inclusive"),
            (["clusterip", "x", "--tcp=80:"], "error: must contain only alpha-numeric characters (a-z, 0-9), and "
                                              "hyphens (-),must contain at least one letter (a-z)"),
            (["clusterip", "x", '--tcp=80,a"b'], 'error: invalid argument "80,a\\"b" for "--tcp" flag: parse error on '
                                                 'line 1, column 5: bare " in non-quoted-field\n'
                                                 + see.format("clusterip", "--help", "usage.")),
            (["clusterip", "x"], "error: at least one tcp port specifier must be provided"),
            (["clusterip", "--tcp=80"], "error: exactly one NAME is required, got 0\n"
                                        + see.format("clusterip", "-h", "help and examples")),
            (["externalname", "x"], 'error: required flag(s) "external-name" not set'),
            (["externalname", "x", "--external-name=bad_name"], "error: invalid service external name bad_name"),
            (["nodeport", "x", "--tcp=80", "--clusterip=None"], "error: unknown flag: --clusterip\n"
                                                                + see.format("nodeport", "--help", "usage.")),
            (["nodeport", "x", "--tcp=80", "--node-port=abc"],
             'error: invalid argument "abc" for "--node-port" flag: strconv.ParseInt: parsing "abc": invalid syntax\n'
             + see.format("nodeport", "--help", "usage.")),
            (["headless", "x"], 'error: unknown command "headless x"\n'
                                "See 'kube-tui create service -h' for help and examples")):
        assert await cli(plane, tmp_path, "create", "service", *argv) == (1, "", said + "\n"), argv

    # refused by the API server: in kubectl's words, with the type it was making
    assert await cli(plane, tmp_path, "create", "service", "clusterip", "web", "--tcp=80") == (
        1, "", 'error: failed to create ClusterIP service: services "web" already exists\n')
    assert await cli(plane, tmp_path, "create", "service", "nodeport", "again", "--tcp=80", f"--node-port={low + 7}") == (
        1, "", f'error: failed to create NodePort service: Service "again" is invalid: spec.ports[0].nodePort: '
               f"Invalid value: {low + 7}: provided port is already allocated\n")


async def test_apply_and_create_word_invalid_objects_as_kubectl(plane: ControlPlane, tmp_path: Path) -> None:
    """One error alone is kubectl's "The Pod "x" is invalid: ..."; several are each the server's, of its file,
    after the objects that went in; of an object apply was creating, "error when creating" as kubectl v1.32.5 says
    (kube-tui said "applying")."""
    bad = "apiVersion: v1\nkind: Pod\nmetadata: {name: bad1}\nspec:\n  containers: [{name: c}]\n"
    worse = "apiVersion: v1\nkind: Pod\nmetadata: {name: bad2}\nspec:\n  containers: [{name: c, image: nginx, ports: [{containerPort: 99999}]}]\n"
    good = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n"
    for verb in ("apply", "create"):
        code, out, err = await cli(plane, tmp_path, verb, "-f", "-", stdin=bad)
        assert (code, out, err) == (1, "", 'The Pod "bad1" is invalid: spec.containers[0].image: Required value\n')
    code, out, err = await cli(plane, tmp_path, "apply", "-f", "-", stdin=f"{bad}---\n{good}---\n{worse}")
    assert (code, out) == (1, "configmap/fine created\n")
    assert err.splitlines() == [
        'Error from server (Invalid): error when creating "STDIN": Pod "bad1" is invalid: spec.containers[0].image: '
        "Required value",
        'Error from server (Invalid): error when creating "STDIN": Pod "bad2" is invalid: '
        "spec.containers[0].ports[0].containerPort: Invalid value: 99999: must be between 1 and 65535, inclusive"]


async def test_delete_waits_until_the_object_is_gone_as_kubectl(plane: ControlPlane, client: Client,
                                                                tmp_path: Path) -> None:
    """kubectl delete waits (--wait, default true) until what it deleted is gone, so that a create of the name
    right after it does not find the old object; --timeout bounds the wait; --wait=false returns at once."""
    await client.create({"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": "held", "namespace": "default", "finalizers": ["example.com/hold"]}})
    code, out, err = await cli(plane, tmp_path, "delete", "cm", "held", "--timeout=1s")
    assert (code, out, err) == (1, 'configmap "held" deleted\n',
                                "error: timed out waiting for the condition on configmaps/held\n")
    assert await cli(plane, tmp_path, "delete", "cm", "held", "--wait=false") == (0, 'configmap "held" deleted\n', "")
    await client.patch("ConfigMap", "held", {"metadata": {"finalizers": None}})
    await client.create({"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": "again", "namespace": "default", "finalizers": ["example.com/hold"]}})
    waiting = asyncio.create_task(cli(plane, tmp_path, "delete", "cm", "again"))  # ends once the finalizer goes

    async def deleting() -> bool:
        return bool((await client.get("ConfigMap", "again"))["metadata"].get("deletionTimestamp"))
    await wait_for(deleting, 30, what="the delete sent")
    await client.patch("ConfigMap", "again", {"metadata": {"finalizers": None}})
    assert await asyncio.wait_for(waiting, 30) == (0, 'configmap "again" deleted\n', "")


async def test_get_watch_with_a_jsonpath_prints_each_object_with_no_newline(plane: ControlPlane, client: Client,
                                                                           tmp_path: Path) -> None:
    """kubectl get -w -o jsonpath prints the template of each object as it comes, the listed ones too, with no
    newline of its own (kube-tui applied it to the whole list first: nothing printed)."""
    assert plane.server is not None and plane.credentials is not None
    await client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "first", "namespace": "default"}})
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tui.cli", "get", "cm", "-w", "-o", "jsonpath={.metadata.name}", "--server",
        plane.server.address, "--token", plane.credentials.admin, env=kube_tui_env(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, stdin=asyncio.subprocess.DEVNULL)
    assert proc.stdout is not None
    seen = b""
    try:
        async def until(text: bytes) -> None:
            nonlocal seen
            while not seen.startswith(text):
                assert len(seen) < len(text), seen
                seen += await proc.stdout.read(64)  # type: ignore[union-attr]
        await asyncio.wait_for(until(b"first"), 30)
        await client.create({"apiVersion": "v1", "kind": "ConfigMap",
                             "metadata": {"name": "second", "namespace": "default"}})
        await asyncio.wait_for(until(b"firstsecond"), 30)
    finally:
        proc.kill()
        await proc.wait()


async def test_delete_waits_with_one_timeout_for_all_as_kubectl(plane: ControlPlane, client: Client,
                                                                 tmp_path: Path) -> None:
    """kubectl delete's --timeout bounds the whole wait, and the first object still there at its end is the one
    error (kubectl v1.32.5: `delete cm f1 f2 --timeout=2s` of two held objects ends after 2 s with one line);
    kube-tui waited the timeout again for each object and named each."""
    for name in ("held1", "held2"):
        await client.create({"apiVersion": "v1", "kind": "ConfigMap",
                             "metadata": {"name": name, "namespace": "default", "finalizers": ["example.com/hold"]}})
    assert await cli(plane, tmp_path, "delete", "cm", "held1", "held2", "--timeout=1s") == (
        1, 'configmap "held1" deleted\nconfigmap "held2" deleted\n',
        "error: timed out waiting for the condition on configmaps/held1\n")
    for name in ("held1", "held2"):
        await client.patch("ConfigMap", name, {"metadata": {"finalizers": None}})


async def test_get_watch_yaml_prints_each_object_as_its_own_document(plane: ControlPlane, client: Client,
                                                                      tmp_path: Path) -> None:
    """kubectl get -w -o yaml prints object by object, the listed ones too, each after the first behind ---
    (its YAML printer's count); kube-tui printed the listed objects as one List and the events with no ---."""
    assert plane.server is not None and plane.credentials is not None
    for name in ("one", "two"):
        await client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}})
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tui.cli", "get", "cm", "-w", "-o", "yaml", "--server", plane.server.address,
        "--token", plane.credentials.admin, env=kube_tui_env(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, stdin=asyncio.subprocess.DEVNULL)
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        async def until(line: str) -> None:
            while line not in lines:
                lines.append((await proc.stdout.readline()).decode())  # type: ignore[union-attr]
                assert lines[-1], lines
        await asyncio.wait_for(until("  name: two\n"), 30)
        await client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "three", "namespace": "default"}})
        await asyncio.wait_for(until("  name: three\n"), 30)
    finally:
        proc.kill()
        await proc.wait()
    docs = list(yaml.safe_load_all("".join(lines)))
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [("ConfigMap", "one"), ("ConfigMap", "two"),
                                                                  ("ConfigMap", "three")]
    assert lines[0] == "apiVersion: v1\n" and lines.count("---\n") == 2


# kubectl v1.32.5's bytes: a typed object's -o json has its Go struct's field order (kind before apiVersion,
# creationTimestamp after name, a template's metadata before its spec, a PDB's maxUnavailable after its selector)
KUBECTL_DEPLOYMENT_JSON = {
    "kind": "Deployment", "apiVersion": "apps/v1",
    "metadata": {"name": "d1", "creationTimestamp": None, "labels": {"app": "d1"}},
    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "d1"}},
             "template": {"metadata": {"creationTimestamp": None, "labels": {"app": "d1"}},
                          "spec": {"containers": [{"name": "nginx", "image": "nginx", "resources": {}}]}},
             "strategy": {}},
    "status": {}}
KUBECTL_PDB_JSON = {
    "kind": "PodDisruptionBudget", "apiVersion": "policy/v1", "metadata": {"name": "pdb3", "creationTimestamp": None},
    "spec": {"selector": {"matchLabels": {"app": "x"}}, "maxUnavailable": "50%"},
    "status": {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}}


async def test_dry_run_json_has_kubectls_field_order(plane: ControlPlane, tmp_path: Path) -> None:
    """create --dry-run=client -o json prints kubectl's bytes: its typed object's fields in their struct's order
    (kube-tui printed them in the order it built them: apiVersion first, creationTimestamp last)."""
    assert await cli(plane, tmp_path, "create", "deployment", "d1", "--image=nginx", "--dry-run=client",
                     "-o", "json") == (0, json.dumps(KUBECTL_DEPLOYMENT_JSON, indent=4) + "\n", "")
    assert await cli(plane, tmp_path, "create", "pdb", "pdb3", "--selector=app=x", "--max-unavailable=50%",
                     "--dry-run=client", "-o", "json") == (0, json.dumps(KUBECTL_PDB_JSON, indent=4) + "\n", "")


async def test_get_watch_of_several_names_or_kinds_is_refused_as_kubectl(plane: ControlPlane, client: Client,
                                                                         tmp_path: Path) -> None:
    """kubectl v1.32.5: get -w of two names prints them, then refuses to watch; of two kinds, refuses at once in
    other words (kube-tui watched the two names, and said the kinds in an older kubectl's words)."""
    for name in ("a", "b"):
        await client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}})
    code, out, err = await cli(plane, tmp_path, "get", "cm", "a", "b", "-w")
    assert (code, [line.split()[0] for line in out.splitlines()], err) == (
        1, ["NAME", "a", "b"], "error: you may only watch a single resource or type of resource at a time\n")
    assert await cli(plane, tmp_path, "get", "cm,secrets", "-w") == (
        1, "", "error: you may only specify a single resource type\n")


async def test_get_watch_only_prints_changes_without_the_list(plane: ControlPlane, client: Client,
                                                              tmp_path: Path) -> None:
    """kubectl get --watch-only: no listed object, the header with the first change (kube-tui had no such flag)."""
    assert plane.server is not None and plane.credentials is not None
    await client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "old", "namespace": "default"}})
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tui.cli", "get", "cm", "--watch-only", "--server", plane.server.address,
        "--token", plane.credentials.admin, env=kube_tui_env(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, stdin=asyncio.subprocess.DEVNULL)
    assert proc.stdout is not None
    try:
        # a new object each second until the watch (live once its list is read) prints one
        reading = asyncio.ensure_future(proc.stdout.readline())
        for _ in range(30):
            await client.create({"apiVersion": "v1", "kind": "ConfigMap",
                                 "metadata": {"generateName": "new-", "namespace": "default"}})
            if (await asyncio.wait({reading}, timeout=1))[0]:
                break
        header = await asyncio.wait_for(reading, 1)
        first = await asyncio.wait_for(proc.stdout.readline(), 30)
    finally:
        proc.kill()
        await proc.wait()
    assert header.split() == [b"NAME", b"DATA", b"AGE"] and first.startswith(b"new-")


async def test_delete_output_name_and_now_as_kubectl(plane: ControlPlane, client: Client, tmp_path: Path) -> None:
    """kubectl delete -o name prints resource/name; --now is --grace-period=1; each misuse in kubectl v1.32.5's words
    (kube-tui had neither flag: a usage error)."""
    await client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "gone", "namespace": "default"}})
    assert await cli(plane, tmp_path, "delete", "cm", "gone", "-o", "name") == (0, "configmap/gone\n", "")
    assert await cli(plane, tmp_path, "delete", "cm", "gone", "-o", "yaml") == (
        1, "", "error: unexpected -o output mode: yaml. We only support '-o name'\n")
    assert await cli(plane, tmp_path, "delete", "pod", "p", "--now", "--grace-period=5") == (
        1, "", "error: --now and --grace-period cannot be specified together\n")
    await client.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
                         "spec": {"nodeName": "nowhere", "containers": [{"name": "c", "image": "busybox"}]}})
    assert await cli(plane, tmp_path, "delete", "pod", "p", "--now", "--wait=false") == (0, 'pod "p" deleted\n', "")
    assert (await client.get("Pod", "p"))["metadata"]["deletionGracePeriodSeconds"] == 1


TWO_CONFIGMAPS = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\n---\n" \
                 "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: {k: v}\n"


async def test_create_and_apply_print_objects_as_kubectl_does(plane: ControlPlane, client: Client, tmp_path: Path) -> None:
    # create -f -o: each object as created, YAML documents apart (kubectl's YAML printer), managedFields hidden
    code, out, err = await cli(plane, tmp_path, "create", "-f", "-", "-o", "yaml", stdin=TWO_CONFIGMAPS)
    assert code == 0, err
    docs = list(yaml.safe_load_all(out))
    assert [d["metadata"]["name"] for d in docs] == ["a", "b"] and out.count("---\n") == 1
    assert all(d["metadata"]["uid"] and "managedFields" not in d["metadata"] for d in docs)
    assert await cli(plane, tmp_path, "delete", "cm", "a", "b") == (0, 'configmap "a" deleted\nconfigmap "b" deleted\n', "")
    assert await cli(plane, tmp_path, "create", "-f", "-", "-o", "name", stdin=TWO_CONFIGMAPS) == \
        (0, "configmap/a\nconfigmap/b\n", "")

    # apply -o json: nothing per object, then one v1 List (Go's field order at the top), as kubectl's printObjects
    code, out, err = await cli(plane, tmp_path, "apply", "-f", "-", "-o", "json", stdin=TWO_CONFIGMAPS)
    assert code == 0, err
    listed = json.loads(out)
    assert list(listed) == ["kind", "apiVersion", "metadata", "items"] and listed["metadata"] == {}
    assert [i["metadata"]["name"] for i in listed["items"]] == ["a", "b"]
    # the annotation in kubectl apply's form: the namespace it went to, and an empty annotations map
    note = listed["items"][0]["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    assert note == ('{"apiVersion":"v1","data":{"k":"v"},"kind":"ConfigMap",'
                    '"metadata":{"annotations":{},"name":"a","namespace":"default"}}\n')
    # one object: itself, not a List
    code, out, _ = await cli(plane, tmp_path, "apply", "-f", "-", "-o", "yaml",
                             stdin=TWO_CONFIGMAPS.split("---\n")[0].replace("k: v", "k: w"))
    applied = yaml.safe_load(out)
    assert (code, applied["kind"], applied["data"]) == (0, "ConfigMap", {"k": "w"})
    assert (await client.get("ConfigMap", "a"))["data"] == {"k": "w"}
    # a template as kubectl's: applied to the List at the end (create: to each object as created)
    assert await cli(plane, tmp_path, "apply", "-f", "-", "-o", "jsonpath={.items[*].metadata.name}",
                     stdin=TWO_CONFIGMAPS) == (0, "a b", "")
    assert await cli(plane, tmp_path, "create", "cm", "c", "-o", "jsonpath={.metadata.name}") == (0, "c", "")
    assert await cli(plane, tmp_path, "apply", "-f", "-", "-o", "wide", stdin=TWO_CONFIGMAPS) == (
        1, "", 'error: unable to match a printer suitable for the output format "wide", allowed formats are: '
               "json,jsonpath,jsonpath-file,name,yaml\n")


async def test_get_sorts_picks_columns_and_shows_labels_as_kubectl(plane: ControlPlane, client: Client,
                                                                   tmp_path: Path) -> None:
    for name, replicas, tier in (("web", 3, "front"), ("db", 1, "back"), ("cache", 2, None)):
        await client.create({"apiVersion": "apps/v1", "kind": "Deployment",
                             "metadata": {"name": name, "labels": {"app": name, **({"tier": tier} if tier else {})}},
                             "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                                      "template": {"metadata": {"labels": {"app": name}},
                                                   "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    code, out, err = await cli(plane, tmp_path, "get", "deploy", "--sort-by=.spec.replicas",
                               "-o", "custom-columns=NAME:.metadata.name,REPLICAS:spec.replicas,TIER:.metadata.labels.tier")
    assert (code, err) == (0, "")
    assert out == ("NAME    REPLICAS   TIER\n"
                   "db      1          back\n"
                   "cache   2          <none>\n"
                   "web     3          front\n")
    code, out, _ = await cli(plane, tmp_path, "get", "deploy", "-L", "tier", "--show-kind", "--sort-by={.metadata.name}",
                             "--no-headers")
    assert [line.split()[0] for line in out.splitlines()] == ["deployment.apps/cache", "deployment.apps/db",
                                                              "deployment.apps/web"]
    assert out.splitlines()[2].split()[-1] == "front"  # the -L column, last
    code, out, err = await cli(plane, tmp_path, "get", "deploy", "--sort-by=.nope")
    assert (code, out, err) == (1, "", 'error: couldn\'t find any field with path "{.nope}" in the list of objects\n')
    assert await cli(plane, tmp_path, "get", "deploy", "nope", "--ignore-not-found") == (0, "", "")
    code, _, err = await cli(plane, tmp_path, "get", "deploy", "nope")
    assert (code, err) == (1, 'Error from server (NotFound): deployments.apps "nope" not found\n')


async def test_get_prints_other_outputs_once_for_every_kind_as_kubectl(plane: ControlPlane, client: Client,
                                                                        tmp_path: Path) -> None:
    # kubectl's printGeneric: the kinds' objects in one list, sorted together, names as they are
    for kind, name in (("ConfigMap", "b"), ("Secret", "a"), ("ConfigMap", "c")):
        await client.create({"apiVersion": "v1", "kind": kind, "metadata": {"name": name}})
    assert await cli(plane, tmp_path, "get", "cm,secret", "--sort-by=.metadata.name", "-o", "name") == (
        0, "secret/a\nconfigmap/b\nconfigmap/c\n", "")
    assert await cli(plane, tmp_path, "get", "cm,secret", "--sort-by=.metadata.name",
                     "-o", "custom-columns=NAME:.metadata.name,KIND:.kind") == (
        0, "NAME   KIND\na      Secret\nb      ConfigMap\nc      ConfigMap\n", "")
    assert await cli(plane, tmp_path, "get", "cm,secret", "-o", "jsonpath={.items[*].metadata.name}") == (
        0, "b c a", "")
    assert await cli(plane, tmp_path, "get", "cm", "--show-kind", "-o", "custom-columns=N:.metadata.name",
                     "--no-headers") == (0, "b\nc\n", "")
    # nothing found: an empty List, the columns' headers, or nothing; "No resources found" is for tables
    code, out, err = await cli(plane, tmp_path, "get", "cm,secret", "-l", "app=none", "-o", "yaml")
    assert (code, yaml.safe_load(out)["items"], err) == (0, [], "")
    assert await cli(plane, tmp_path, "get", "cm", "-l", "app=none", "-o", "name") == (0, "", "")
    assert await cli(plane, tmp_path, "get", "cm", "-l", "app=none", "-o", "custom-columns=N:.metadata.name") == (
        0, "N\n", "")
    code, out, err = await cli(plane, tmp_path, "get", "cm", "x", "y", "-o", "json")
    assert (code, json.loads(out)["items"]) == (1, []) and 'configmaps "y" not found' in err
    assert await cli(plane, tmp_path, "get", "cm", "x", "-o", "json") == (
        1, "", 'Error from server (NotFound): configmaps "x" not found\n')
    # a template file that cannot be read, in kubectl's words
    assert await cli(plane, tmp_path, "get", "cm", "-o", f"custom-columns-file={tmp_path}/none") == (
        1, "", f"error: error reading template {tmp_path}/none, open {tmp_path}/none: no such file or directory\n")
    assert await cli(plane, tmp_path, "get", "cm", "-o", f"jsonpath-file={tmp_path}") == (
        1, "", f"error: error reading --template {tmp_path}, read {tmp_path}: is a directory\n")
    # -w sorts only the list it prints first, and says so before anything else
    assert await cli(plane, tmp_path, "get", "cm,secret", "-w", "--sort-by=.metadata.name") == (
        1, "", "warning: --watch requested, --sort-by will be ignored for watch events received\n"
               "error: you may only specify a single resource type\n")


async def test_events_lists_oldest_first_and_filters_as_kubectl_events(plane: ControlPlane, client: Client,
                                                                       tmp_path: Path) -> None:
    def event(name: str, kind: str, obj: str, reason: str, type_: str, when: str) -> dict:
        return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name},
                "involvedObject": {"kind": kind, "name": obj, "namespace": "default",
                                   "apiVersion": "apps/v1" if kind == "Deployment" else "v1"},
                "reason": reason, "type": type_, "message": f"{reason} of {obj}", "count": 1,
                "firstTimestamp": when, "lastTimestamp": when}
    await client.create(event("b", "Pod", "web-1", "BackOff", "Warning", "2026-01-01T00:00:02Z"))
    await client.create(event("a", "Deployment", "web", "ScalingReplicaSet", "Normal", "2026-01-01T00:00:01Z"))
    code, out, err = await cli(plane, tmp_path, "events")
    assert (code, err) == (0, "")
    rows = [re.split(r"\s{2,}", line) for line in out.splitlines()]
    assert rows[0] == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert [r[2:] for r in rows[1:]] == [["ScalingReplicaSet", "Deployment/web", "ScalingReplicaSet of web"],
                                         ["BackOff", "Pod/web-1", "BackOff of web-1"]]
    code, out, _ = await cli(plane, tmp_path, "events", "--types", "Warning", "--no-headers")
    assert code == 0 and len(out.splitlines()) == 1 and "Pod/web-1" in out
    code, out, _ = await cli(plane, tmp_path, "events", "--for", "deploy/web", "--no-headers")
    assert code == 0 and len(out.splitlines()) == 1 and "Deployment/web" in out
    assert await cli(plane, tmp_path, "events", "-n", "kube-public") == (0, "", "No events found in kube-public namespace.\n")
    assert await cli(plane, tmp_path, "events", "--types", "Error") == (1, "", "error: valid --types are Normal or Warning\n")
    # -o json: the typed EventList kubectl decoded (Go's field order, managedFields hidden); nothing found is said
    code, out, _ = await cli(plane, tmp_path, "events", "-o", "json")
    doc = json.loads(out)
    assert code == 0 and list(doc) == ["kind", "apiVersion", "metadata", "items"] and doc["metadata"] == {}
    assert list(doc["items"][0])[:5] == ["kind", "apiVersion", "metadata", "involvedObject", "reason"]
    assert "managedFields" not in doc["items"][0]["metadata"]
    assert await cli(plane, tmp_path, "events", "-o", "yaml", "--for", "pod/none") == (
        0, "", "No events found in default namespace.\n")


async def test_completion_offers_the_clusters_names(plane: ControlPlane, client: Client, tmp_path: Path) -> None:
    await client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "game-config"}})
    await client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ui-config"}})
    assert plane.server is not None and plane.credentials is not None
    env = kube_tui_env(tmp_path, KUBE_TUI_SERVER=plane.server.address, KUBE_TUI_TOKEN=plane.credentials.admin)

    async def tab(*words: str) -> list[str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tui.cli", "__complete", str(len(words) - 1), *words, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, _ = await communicate(proc, timeout=30)
        return out.decode().split()
    assert await tab("kube-tui", "get", "cm", "") == ["game-config", "ui-config"]
    assert await tab("kube-tui", "describe", "configmaps", "ga") == ["game-config"]
    assert await tab("kube-tui", "get", "cm/u") == ["cm/ui-config"]
    assert await tab("kube-tui", "get", "cm", "game-config", "") == ["ui-config"]  # a name given is not offered again
    assert "default" in await tab("kube-tui", "get", "-n", "")


async def test_describe_by_prefix_selector_and_namespaces_as_kubectl(plane: ControlPlane, client: Client,
                                                                    tmp_path: Path) -> None:
    for name, labels in (("web-a", {"app": "x"}), ("web-b", {}), ("other", {})):
        await client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}})

    def names(out: str) -> list[str]:
        return [line.split()[1] for line in out.splitlines() if line.startswith("Name:")]
    code, out, _ = await cli(plane, tmp_path, "describe", "cm", "web")  # no "web": every name that begins so
    assert code == 0 and names(out) == ["web-a", "web-b"] and "Events:  <none>\n\nName:" in out
    code, out, _ = await cli(plane, tmp_path, "describe", "cm")  # a list: two blank lines between, as kubectl
    assert code == 0 and names(out) == ["other", "web-a", "web-b"] and "Events:  <none>\n\n\nName:" in out
    code, out, _ = await cli(plane, tmp_path, "describe", "cm", "-l", "app=x", "--show-events=false")
    assert code == 0 and names(out) == ["web-a"] and "Events:" not in out
    code, _, err = await cli(plane, tmp_path, "describe", "cm", "nope")
    assert (code, err) == (1, 'Error from server (NotFound): configmaps "nope" not found\n')
    assert await cli(plane, tmp_path, "describe", "cm", "-l", "app=zz") == (
        0, "", "No resources found in default namespace.\n")
    code, out, _ = await cli(plane, tmp_path, "describe", "ns", "-A")
    assert code == 0 and "default" in names(out)


async def test_describe_shows_the_events_of_this_object_not_of_an_earlier_one_of_its_name(
        plane: ControlPlane, client: Client, tmp_path: Path) -> None:
    def event(name: str, uid: str, reason: str) -> dict:
        return {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name}, "reason": reason, "type": "Normal",
                "message": reason, "involvedObject": {"kind": "ConfigMap", "namespace": "default", "name": "cfg", "uid": uid},
                "source": {"component": "test"}, "count": 1}
    old = await client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}})
    await client.create(event("cfg.1", old["metadata"]["uid"], "OldOne"))
    await client.delete("ConfigMap", "cfg")
    new = await client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}})
    await client.create(event("cfg.2", new["metadata"]["uid"], "NewOne"))
    code, out, _ = await cli(plane, tmp_path, "describe", "cm", "cfg")
    assert code == 0 and "NewOne" in out and "OldOne" not in out


async def test_patch_refused_as_invalid_is_worded_as_kubectl_words_it(plane: ControlPlane, client: Client,
                                                                      tmp_path: Path) -> None:
    """kubectl's CheckErr for an Invalid answer (checked with kubectl v1.32.5): the kind and name, then each cause."""
    await client.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p2"},
                         "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    code, out, err = await cli(plane, tmp_path, "patch", "pod", "p2", "-p", '{"spec":{"activeDeadlineSeconds":-5}}')
    assert (code, out, err) == (1, "", 'The Pod "p2" is invalid: spec.activeDeadlineSeconds: Invalid value: -5: '
                                       "must be between 1 and 2147483647, inclusive\n")
    code, out, err = await cli(plane, tmp_path, "patch", "pod", "p2", "--type=json", "-p",
                               '[{"op":"add","path":"/spec/schedulingGates","value":[{"name":"a"},{"name":"b"}]}]')
    assert (code, err) == (1, 'The Pod "p2" is invalid: \n'
                              "* spec.schedulingGates[0].name: Forbidden: only deletion is allowed, but found new scheduling gate 'a'\n"
                              "* spec.schedulingGates[1].name: Forbidden: only deletion is allowed, but found new scheduling gate 'b'\n")
