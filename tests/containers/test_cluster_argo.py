"""The exported Argo Workflow replayed on the real Docker engine: each task's container, in
DAG order and once per sweep item, with the manifest's image, command, arguments,
environment, user and mounts (the ReadWriteMany claim as bind mounts of one folder)."""

import json
import os

import pytest
import yaml

from tests.conftest import Workspace, copy_project
from tests.containers.conftest import TEST_GID, TEST_UID, describe, run
from tests.test_argo import containers_in_order, expand

pytestmark = pytest.mark.containers


def export_manifest(tmp_path, tag: str) -> dict:
    space = Workspace(root=copy_project(tmp_path / "project"), base=tmp_path)
    (space.root / "params" / "model.sweep.yaml").write_text(
        "grid:\n  k: [40, 60]\n  method: [PCA]\npoints:\n  - {k: 50, seed: 2}\n")
    result = space.run("export", "argo", "--tag", tag, "--sweep", "model",
                       "--uid", str(TEST_UID), "--gid", str(TEST_GID),
                       "-p", "ingest.source=/corpus/posts.json")
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def docker_run_args(manifest: dict, task: dict, template: dict, item: dict, volume,
                    corpus) -> list[str]:
    spec, container = manifest["spec"], template["container"]
    user = f"{spec['securityContext']['runAsUser']}:{spec['securityContext']['runAsGroup']}"
    args = ["docker", "run", "--rm", "--network", "none", "--user", user, "--init"]
    if container["securityContext"]["allowPrivilegeEscalation"] is False:
        args += ["--security-opt", "no-new-privileges:true"]
    args += [f"--cap-drop={cap}" for cap in container["securityContext"]["capabilities"]["drop"]]
    args += [f"--env={e['name']}={e['value']}" for e in container["env"]]
    for mount in container["volumeMounts"]:
        args += ["--volume", f"{volume / mount['subPath']}:{mount['mountPath']}"]
    # Not in the manifest: on Kubernetes the corpus comes from its URL.
    args += ["--volume", f"{corpus}:/corpus/posts.json:ro"]
    command = container["command"]
    args += ["--entrypoint", command[0], container["image"], *command[1:]]
    return args + [expand(arg, task, item) for arg in container["args"]]


def test_manifest_containers_replayed_in_dag_order_produce_the_outputs(
        images, tag, tmp_path, corpus_file):
    manifest = export_manifest(tmp_path, tag)
    volume = tmp_path / "claim"
    for name in ("data", "outputs", "logs"):
        (volume / name).mkdir(parents=True)
        os.chown(volume / name, TEST_UID, TEST_GID)
    ran = []
    for task, template, items in containers_in_order(manifest):
        for item in items:
            result = run(docker_run_args(manifest, task, template, item, volume, corpus_file),
                         check=False, timeout=1200)
            assert result.returncode == 0, describe(result)
            ran.append(task["name"])
    assert ran == ["ingest", "preprocess", "model", "model", "model"]
    outputs = volume / "outputs"
    for step in ("ingest", "preprocess"):
        record = json.loads((outputs / step / "latest.json").read_text())
        assert record["status"] == "succeeded"
    models = [json.loads(p.read_text()) for p in (outputs / "model").glob("model_*.json")]
    assert sorted((r["parameters"]["k"], r["parameters"]["seed"]) for r in models) == [
        (40, 0), (50, 2), (60, 0)]
    for record in models:
        assert record["status"] == "succeeded"
        assert (volume / "data" / "model" / record["run_id"] / "plot.png").is_file()
    owners = {(p.stat().st_uid, p.stat().st_gid) for p in volume.rglob("*") if not p.is_symlink()}
    assert owners == {(TEST_UID, TEST_GID)}

