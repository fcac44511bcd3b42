"""`nbsteps export argo`, proved offline: every manifest validates against Argo's own schema
(strictly: unknown fields refused), its DAG names only tasks that exist, its images are the
ones compose builds, and each container's command parses with nbsteps' own CLI."""

import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from nbsteps.cli import build_parser
from tests.conftest import REPO, Workspace, copy_project, example_steps

SCHEMA = REPO.parent / "shared" / "schemas" / "argo-workflows" / "schema.json"
DEFINITIONS = "io.argoproj.workflow.v1alpha1."


@pytest.fixture(scope="module")
def strict_schema() -> dict:
    """Argo's schema with `additionalProperties: false` on every object definition that
    lists its properties: a misspelled field fails (a copy, in memory)."""
    schema = json.loads(SCHEMA.read_text())
    strict = copy.deepcopy(schema)
    for definition in strict["definitions"].values():
        if definition.get("type") == "object" and "properties" in definition:
            definition.setdefault("additionalProperties", False)
    return strict


def validate(manifest: dict, schema: dict) -> None:
    kind_schema = {"$ref": f"#/definitions/{DEFINITIONS}{manifest['kind']}",
                   "definitions": schema["definitions"]}
    jsonschema.Draft7Validator(kind_schema).validate(manifest)


@pytest.fixture
def project(tmp_path) -> Workspace:
    space = Workspace(root=copy_project(tmp_path / "project"), base=tmp_path)
    (space.root / "params" / "model.sweep.yaml").write_text(
        "grid:\n  k: [100, 200]\n  method: [PCA, t-SNE]\npoints:\n  - {k: 50, seed: 3}\n")
    return space


def export(space: Workspace, *args: str) -> dict:
    result = space.run("export", "argo", *args)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def compose_images(tag: str) -> dict[str, str]:
    """step -> the image docker-compose.yml builds for it, with NBSTEPS_TAG=tag."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    images = {}
    for service in compose["services"].values():
        build = service.get("build") or {}
        step = (build.get("args") or {}).get("STEP")
        if step and build.get("target", "step") == "step":
            images[step] = re.sub(r"\$\{NBSTEPS_TAG:-[^}]*\}", tag, service["image"])
    return images


def containers_in_order(manifest: dict) -> list[tuple[str, dict, list[dict]]]:
    """(task, container, items) per DAG task, dependencies first."""
    templates = {t["name"]: t for t in manifest["spec"]["templates"]}
    dag = templates[manifest["spec"]["entrypoint"]]["dag"]["tasks"]
    done, ordered = set(), []
    while len(ordered) < len(dag):
        for task in dag:
            if task["name"] not in done and set(task.get("dependencies", [])) <= done:
                done.add(task["name"])
                ordered.append((task, templates[task["template"]], task.get("withItems", [{}])))
    return ordered


def expand(arg: str, task: dict, item: dict) -> str:
    """A template argument with the task's parameters and one item filled in."""
    values = {p["name"]: re.sub(r"\{\{item\.(\w+)\}\}", lambda m: item[m.group(1)], p["value"])
              for p in task.get("arguments", {}).get("parameters", [])}
    return re.sub(r"\{\{inputs\.parameters\.(\w+)\}\}", lambda m: values[m.group(1)], arg)


@pytest.mark.parametrize("options", [
    [], ["--template"], ["--sweep", "model", "--parallelism", "3"],
    ["--template", "--sweep", "model", "--registry", "registry.example.org/team", "--tag", "v2"],
])
def test_manifest_validates_strictly_against_argo_schema(project, strict_schema, options):
    manifest = export(project, *options)
    validate(manifest, strict_schema)


def test_strict_schema_refuses_a_misspelled_field(project, strict_schema):
    manifest = export(project)
    manifest["spec"]["templates"][1]["container"]["imagePullPolcy"] = "Always"
    with pytest.raises(jsonschema.ValidationError, match="imagePullPolcy"):
        validate(manifest, strict_schema)


def test_every_dependency_names_an_existing_task_and_follows_the_data(project):
    manifest = export(project, "--sweep", "model")
    tasks = containers_in_order(manifest)
    names = [task["name"] for task, _, _ in tasks]
    for task, _, _ in tasks:
        assert set(task.get("dependencies", [])) <= set(names)
    assert names == example_steps()
    dag = {t["name"]: t for t, _, _ in tasks}
    assert dag["model"]["dependencies"] == ["preprocess"]
    assert dag["preprocess"]["dependencies"] == ["ingest"]


def test_images_are_the_ones_compose_builds(project):
    manifest = export(project, "--registry", "registry.example.org/team", "--tag", "v2")
    built = compose_images("v2")
    for task, template, _ in containers_in_order(manifest):
        image = template["container"]["image"]
        assert image == f"registry.example.org/team/{built[task['name']]}"
    bare = export(project)
    assert {t["name"]: tpl["container"]["image"] for t, tpl, _ in containers_in_order(bare)} \
        == compose_images("latest")


def test_each_container_command_parses_with_nbsteps_cli(project):
    manifest = export(project, "--sweep", "model")
    parser = build_parser()
    commands = []
    for task, template, items in containers_in_order(manifest):
        container = template["container"]
        assert container["command"] == ["nbsteps"]
        for item in items:
            args = [expand(arg, task, item) for arg in container["args"]]
            parsed = parser.parse_args(args)
            assert parsed.command == "run" and parsed.steps == [task["name"]]
            commands.append(args)
    model_runs = [args for args in commands if args[1] == "model"]
    assert len(model_runs) == 5  # 2 x 2 grid and one listed point
    assert ["run", "model", "-p", "k=50", "-p", "method=PCA", "-p", "seed=3"] in model_runs


def test_sweep_is_parallel_with_a_limit_and_retries_only_a_dead_kernel(project):
    manifest = export(project, "--sweep", "model", "--parallelism", "3")
    templates = {t["name"]: t for t in manifest["spec"]["templates"]}
    assert templates["pipeline"]["parallelism"] == 3
    model = next(t for t in templates["pipeline"]["dag"]["tasks"] if t["name"] == "model")
    assert len(model["withItems"]) == 5
    for name in example_steps():
        retry = templates[name]["retryStrategy"]
        assert retry["expression"] == "asInt(lastRetry.exitCode) == 4"


def test_pods_run_as_non_root_on_one_read_write_many_claim(project):
    manifest = export(project, "--claim", "shared-work", "--uid", "1234", "--gid", "1234")
    spec = manifest["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == 1234
    assert spec["volumes"] == [{"name": "nbsteps-work",
                                "persistentVolumeClaim": {"claimName": "shared-work"}}]
    for _, template, _ in containers_in_order(manifest):
        container = template["container"]
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert {m["mountPath"]: m["subPath"] for m in container["volumeMounts"]} == {
            "/data": "data", "/outputs": "outputs", "/logs": "logs"}


def test_a_bad_sweep_point_is_refused_with_one_line(project):
    (project.root / "params" / "model.sweep.yaml").write_text("grid:\n  k: [1]\n")
    result = project.run("export", "argo", "--sweep", "model")
    assert result.returncode == 2
    assert "point 1 of 1 (k=1)" in result.stderr and "Traceback" not in result.stderr


def test_manifest_written_to_a_file(project, tmp_path):
    target = tmp_path / "workflow.yaml"
    result = project.run("export", "argo", "--template", "-o", str(target))
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(Path(target).read_text())["kind"] == "WorkflowTemplate"


def test_fixed_parameters_go_into_the_step_command_checked(project):
    manifest = export(project, "-p", "model.k=50", "-p", "ingest.source=/corpus/posts.json")
    args = {task["name"]: template["container"]["args"]
            for task, template, _ in containers_in_order(manifest)}
    assert args["model"] == ["run", "model", "-p", "k=50"]
    assert args["ingest"] == ["run", "ingest", "-p", "source=/corpus/posts.json"]
    result = project.run("export", "argo", "-p", "model.nope=1")
    assert result.returncode == 2 and "unknown parameter 'nope'" in result.stderr
