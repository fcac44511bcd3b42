"""A kernel runs no higher than its runner: `nice -n 7 nbsteps run` must not give the
notebook's work full priority. A kernel leads a session of its own, and with Linux's
autogroup scheduling the CPU is shared between sessions first, so the kernel's session is
lowered too (priority.py). The notebooks report what their own kernel process sees."""

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from tests.small_project import make_project, write_notebook

PIPELINE = """\
steps:
  report:
    notebook: notebooks/report.ipynb
    outputs: ["report/{run_id}/priority.json"]
"""
REPORT = (
    "import json, os\nfrom pathlib import Path\n"
    "autogroup = Path('/proc/self/autogroup')\n"
    "session = int(autogroup.read_text().split()[-1]) if autogroup.exists() else None\n"
    "out = Path(data_dir) / 'report' / run_id / 'priority.json'\n"
    "out.parent.mkdir(parents=True, exist_ok=True)\n"
    "out.write_text(json.dumps([os.getpriority(os.PRIO_PROCESS, 0), session]))"
)
NICENESS = 7


def reporting_project(tmp_path):
    space = make_project(tmp_path, PIPELINE)
    write_notebook(space.root / "notebooks" / "report.ipynb",
                   "data_dir = 'data'\nrun_id = ''\npoint = 0", REPORT)
    return space


def run_niced(space, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["nice", "-n", str(NICENESS), sys.executable, "-m", "nbsteps", *args],
                          env=space.env(), cwd=space.base, capture_output=True, text=True,
                          timeout=300)


def reported(space) -> list[list]:
    return [json.loads(p.read_text()) for p in (space.data / "report").glob("*/priority.json")
            if p.parent.name != "latest"]


def expected() -> list:
    lowered_session = NICENESS if Path("/proc/self/autogroup").exists() else None
    return [NICENESS, lowered_session]


def test_a_run_started_with_nice_runs_its_kernel_and_its_session_at_that_priority(tmp_path):
    space = reporting_project(tmp_path)
    result = run_niced(space, "run", "report")
    assert result.returncode == 0, result.stderr
    assert reported(space) == [expected()]


def test_the_forked_kernels_of_a_niced_sweep_run_at_its_priority(tmp_path):
    space = reporting_project(tmp_path)
    result = run_niced(space, "sweep", "report", "--grid", "point=1,2,3", "-j", "2")
    assert result.returncode == 0, result.stderr
    assert reported(space) == [expected()] * 3


HELPERS = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])  # the repository, for tests.priorities
from nbsteps.export import HtmlWorker
from nbsteps.forked_kernels import open_forker
from nbsteps.notebook import read_notebook
from tests.priorities import read_priorities

forker = open_forker(read_notebook(Path(sys.argv[1])), "python3")
html = HtmlWorker()
html.start()
print(json.dumps([read_priorities(forker.process.pid), read_priorities(html.process.pid)]))
forker.close()
html.finish()
"""


def test_the_fork_server_and_the_html_worker_of_a_niced_runner_run_at_its_priority(tmp_path):
    """Both lead sessions of their own too, and do the notebook's imports and its HTML."""
    space = reporting_project(tmp_path)
    result = subprocess.run(
        ["nice", "-n", str(NICENESS), sys.executable, "-c", HELPERS,
         str(space.root / "notebooks" / "report.ipynb"), str(REPO)],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [expected(), expected()]
