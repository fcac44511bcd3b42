"""`nbsteps export argo`: the pipeline as an Argo Workflows manifest, for Kubernetes.

One template per step, running `nbsteps run STEP` in the step's image (the name compose
builds: `nbsteps-<step>`, under a registry and tag of your choice); a DAG from the steps'
inputs and outputs; a swept step fanned out over its points (`withItems`, at most
`parallelism` at once); data, outputs and logs on one ReadWriteMany volume claim, mounted
where the images expect them; non-root, no privilege escalation, no capabilities; a run
is retried only when its kernel died (exit code 4), never for a failing cell.
"""

import json
import re
from dataclasses import dataclass, field
from typing import Any

from nbsteps.errors import EXIT_KERNEL_DIED
from nbsteps.project import Project
from nbsteps.sweep.points import Point

API_VERSION = "argoproj.io/v1alpha1"
# Where the step images look for their folders (NBSTEPS_*_DIR in containers/Dockerfile),
# each a sub-path of the one volume.
MOUNTS = {"data": "/data", "outputs": "/outputs", "logs": "/logs"}
VOLUME = "nbsteps-work"
DAG = "pipeline"


@dataclass(frozen=True)
class ArgoOptions:
    name: str = "nbsteps"
    kind: str = "Workflow"  # or "WorkflowTemplate"
    registry: str = ""  # e.g. registry.example.com/team; empty: the bare image names
    tag: str = "latest"
    claim: str = "nbsteps-work"  # an existing ReadWriteMany PersistentVolumeClaim
    parallelism: int = 4  # points of a sweep running at once
    retries: int = 2  # attempts after a dead kernel
    uid: int = 1000
    gid: int = 1000
    sweeps: dict[str, list[Point]] = field(default_factory=dict)  # step -> its points
    fixed: dict[str, dict[str, Any]] = field(default_factory=dict)  # step -> -p values


def image_name(step: str, options: ArgoOptions) -> str:
    """The image compose builds for a step (`nbsteps-<step>:<tag>`), under the registry."""
    prefix = f"{options.registry.rstrip('/')}/" if options.registry else ""
    return f"{prefix}nbsteps-{step}:{options.tag}"


def task_name(step: str) -> str:
    """A DNS-label-like name (what Argo accepts for tasks and templates)."""
    return re.sub(r"[^a-z0-9-]+", "-", step.lower()).strip("-") or "step"


def format_value(value: Any) -> str:
    """A value as `-p NAME=VALUE` text that nbsteps reads back to the same value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict) or value is None:
        return json.dumps(value)
    return str(value)


def swept_names(points: list[Point]) -> list[str]:
    return list(dict.fromkeys(name for point in points for name in point.given))


def build_manifest(project: Project, options: ArgoOptions) -> dict[str, Any]:
    steps = list(project.steps)
    metadata = ({"name": options.name} if options.kind == "WorkflowTemplate"
                else {"generateName": f"{options.name}-"})
    return {
        "apiVersion": API_VERSION,
        "kind": options.kind,
        "metadata": metadata,
        "spec": {
            "entrypoint": DAG,
            "securityContext": {"runAsNonRoot": True, "runAsUser": options.uid,
                                "runAsGroup": options.gid, "fsGroup": options.gid},
            "volumes": [{"name": VOLUME,
                         "persistentVolumeClaim": {"claimName": options.claim}}],
            "templates": [build_dag(project, steps, options)]
            + [build_step_template(step, options) for step in steps],
        },
    }


def build_dag(project: Project, steps: list[str], options: ArgoOptions) -> dict[str, Any]:
    tasks = []
    dependencies = project.dependencies()
    for step in steps:
        task: dict[str, Any] = {"name": task_name(step), "template": task_name(step)}
        depends = [task_name(name) for name in dependencies.get(step, ())]
        if depends:
            task["dependencies"] = depends
        points = options.sweeps.get(step)
        if points:
            names = swept_names(points)
            task["arguments"] = {"parameters": [{"name": name, "value": f"{{{{item.{name}}}}}"}
                                                for name in names]}
            task["withItems"] = [{name: format_value(point.values[name]) for name in names}
                                 for point in points]
        tasks.append(task)
    return {"name": DAG, "parallelism": options.parallelism, "dag": {"tasks": tasks}}


def build_step_template(step: str, options: ArgoOptions) -> dict[str, Any]:
    args = ["run", step]
    for name, value in options.fixed.get(step, {}).items():
        args += ["-p", f"{name}={format_value(value)}"]
    template: dict[str, Any] = {"name": task_name(step)}
    points = options.sweeps.get(step)
    if points:
        names = swept_names(points)
        template["inputs"] = {"parameters": [{"name": name} for name in names]}
        for name in names:
            args += ["-p", f"{name}={{{{inputs.parameters.{name}}}}}"]
    template["container"] = {
        "image": image_name(step, options),
        "command": ["nbsteps"],
        "args": args,
        "env": [{"name": f"NBSTEPS_{folder.upper()}_DIR", "value": path}
                for folder, path in MOUNTS.items()],
        "volumeMounts": [{"name": VOLUME, "mountPath": path, "subPath": folder}
                         for folder, path in MOUNTS.items()],
        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]}},
    }
    # A failing cell fails for good; a dead kernel (out of memory, node lost) is worth
    # another try.
    template["retryStrategy"] = {
        "limit": str(options.retries),
        "retryPolicy": "Always",
        "expression": f"asInt(lastRetry.exitCode) == {EXIT_KERNEL_DIED}",
    }
    return template


def render_yaml(manifest: dict[str, Any]) -> str:
    import yaml

    header = ("# Generated by `nbsteps export argo` from pipeline.yaml; regenerate after "
              "changing it.\n")
    return header + yaml.safe_dump(manifest, sort_keys=False, width=100)
