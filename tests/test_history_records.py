"""Which record files history, show, diff, which and prune trust, and what they say of the rest."""

import json

import pytest

from nbsteps.history import read_checked_record

GOOD = {"step": "fit", "run_id": "fit_1", "status": "succeeded",
        "started": "2026-11-01T10:00:00.000+00:00", "parameters": {"k": 1}, "notebook": "n",
        "html": "h", "log": "l", "outputs": [{"path": "a.csv", "size": 1, "sha256": "ab"}],
        "cells": [{"index": 1, "seconds": 0.5, "peak_rss_mb": None}]}


def check(tmp_path, data, name="fit_1.json", step="fit"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return read_checked_record(path, step)


def test_a_complete_record_and_one_from_before_the_new_fields_are_read(tmp_path):
    record, problem = check(tmp_path, GOOD)
    assert problem == "" and record.cells[0]["seconds"] == 0.5
    old = {k: v for k, v in GOOD.items() if k != "cells"}
    record, problem = check(tmp_path, old)
    assert problem == "" and record.cells == [] and record.metrics == {}


@pytest.mark.parametrize("data, words", [
    ('{"step": "fit", "run_id": ', "not JSON"),
    ("[1, 2]", "not a JSON object"),
    ({"step": "fit", "run_id": "fit_1"}, "no `status`"),
    (GOOD | {"step": "other"}, "step 'other' in the folder of 'fit'"),
    (GOOD | {"run_id": "fit_2"}, "run_id 'fit_2' in a file named fit_1.json"),
    (GOOD | {"status": "done"}, "unknown status 'done'"),
    (GOOD | {"started": "yesterday"}, "`started` is not an ISO date and time"),
    (GOOD | {"parameters": [1]}, "`parameters` is list, not dict"),
    (GOOD | {"outputs": [{"path": "a.csv"}]}, "an entry of `outputs` lacks a text path or sha256"),
    (GOOD | {"metrics": [1]}, "`metrics` is list, not dict"),
    (GOOD | {"cells": [{"index": 1, "seconds": "slow"}]}, "`cells` is not a list of"),
    (GOOD | {"peak_rss_mb": "big"}, "`peak_rss_mb` is str, not int or float or NoneType"),
])
def test_a_broken_record_is_a_problem_naming_what_is_wrong(tmp_path, data, words):
    record, problem = check(tmp_path, data)
    assert record is None and words in problem


def test_a_record_that_is_not_utf8_is_a_problem(tmp_path):
    path = tmp_path / "fit_1.json"
    path.write_bytes(b"\xff\xfe{")
    record, problem = read_checked_record(path, "fit")
    assert record is None and problem == "not UTF-8 text"
