"""docker-compose.cluster.yml on the real engine: a scheduler, two model workers from the
model image, and a driver that sends them a sweep; the runs land on the host as the user's."""

import json
import shutil

import pytest

from tests.containers.conftest import REPO, TEST_GID, TEST_UID, Compose, describe

pytestmark = pytest.mark.containers


@pytest.fixture
def cluster(new_project, corpus_file):
    """A compose project whose processed data exists (ingest and preprocess ran), with the
    cluster file beside the main one."""
    pipeline = new_project()
    result = pipeline("run", "--rm", "preprocess", timeout=1200)
    assert result.returncode == 0, describe(result)
    shutil.copy2(REPO / "docker-compose.cluster.yml", pipeline.folder)
    env = pipeline.env | {"MODEL_WORKERS": "2"}
    cluster = Compose(pipeline.command, pipeline.folder, pipeline.name, env,
                      [pipeline.folder / "docker-compose.cluster.yml"])
    yield cluster
    cluster("down", "--remove-orphans", "--timeout", "10", timeout=300)


def test_cluster_compose_runs_a_sweep_across_two_model_workers(cluster):
    result = cluster("run", "--rm", "driver", "--grid", "k=40,60", "--grid", "seed=0,1",
                     timeout=1800)
    assert result.returncode == 0, describe(result)
    sweep = json.loads((cluster.folder / "outputs" / "model" / "sweeps" / "latest.json")
                       .read_text())
    assert sweep["engine"] == "dask" and sweep["status"] == "succeeded"
    assert [p["status"] for p in sweep["points"]] == ["succeeded"] * 4
    # Two workers took part: each point names the container that ran it.
    assert len({p["worker"].split()[0] for p in sweep["points"]}) == 2
    for point in sweep["points"]:
        record = cluster.record("model", point["run_id"])
        assert record["parameters"]["k"] == point["parameters"]["k"]
        for key in ("notebook", "html", "log"):
            assert cluster.path(record[key]).is_file(), (key, record[key])
        assert (cluster.folder / "data" / "model" / point["run_id"] / "plot.png").is_file()
    written = [p for name in ("data", "outputs", "logs")
               for p in (cluster.folder / name).rglob("*") if not p.is_symlink()]
    assert written
    strangers = [p for p in written if (p.stat().st_uid, p.stat().st_gid) != (TEST_UID, TEST_GID)]
    assert not strangers, strangers[:5]
