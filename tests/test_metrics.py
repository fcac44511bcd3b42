"""Metrics files and the `metrics:` and `retention:` entries of pipeline.yaml."""

import json

import pytest

from nbsteps.errors import UsageError
from nbsteps.metrics import check_metrics_entry, read_metrics
from nbsteps.retention import Retention, check_retention


def test_scalars_are_kept_nested_objects_dotted_lists_left_out(tmp_path):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"auc": 0.91, "n": 3, "ok": True, "note": None, "name": "x",
                                "per_class": {"a": {"f1": 0.5}}, "curve": [1, 2]}))
    assert read_metrics(path) == {"auc": 0.91, "n": 3, "ok": True, "note": None, "name": "x",
                                  "per_class.a.f1": 0.5}


@pytest.mark.parametrize("text, words", [("[1, 2]", "holds a JSON list"),
                                         ("{nope", "is not readable JSON")])
def test_a_file_that_is_not_a_json_object_is_named(tmp_path, text, words):
    path = tmp_path / "m.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=words) as caught:
        read_metrics(path)
    assert str(path) in str(caught.value)


def test_the_metrics_entry_must_be_one_of_the_steps_json_outputs():
    outputs = ("fit/{run_id}/scores.json", "fit/{run_id}/chart.png")
    assert check_metrics_entry("fit", None, outputs) is None
    assert check_metrics_entry("fit", outputs[0], outputs) == outputs[0]
    with pytest.raises(UsageError, match="not one of its outputs"):
        check_metrics_entry("fit", "scores.json", outputs)
    with pytest.raises(UsageError, match="must be a .json file"):
        check_metrics_entry("fit", outputs[1], outputs)


def test_retention_section():
    assert check_retention(None) is None
    assert check_retention({"keep": 3}) == Retention(keep=3)
    assert check_retention({"older_than_days": 7}) == Retention(older_than_days=7.0)
    for bad, words in (({"keep": "3"}, "keep must be a whole number"),
                       ({"keep": True}, "keep must be a whole number"),
                       ({"older_than_days": -1}, "older_than_days must be a number"),
                       ({"keeep": 3}, "unknown key 'keeep'"), ([3], "must be a mapping")):
        with pytest.raises(UsageError, match=words):
            check_retention(bad)
