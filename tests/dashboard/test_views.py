"""The HTML of the status line, tables, links, history table and comparisons."""

from types import SimpleNamespace

from nbsteps.dashboard.views import (
    format_duration,
    format_parameters,
    format_started,
    render_comparison,
    render_history,
    render_links,
    render_log,
    render_status,
    render_table,
)
from nbsteps.records import RunRecord


def record(**changes) -> RunRecord:
    values = dict(step="model", run_id="model_2026-11-26_14-58-51_d7fd", status="succeeded",
                  started="2026-11-26T14:58:51.123+00:00", parameters={"k": 100, "method": "PCA"},
                  notebook="/outputs/model/x.ipynb", html="/outputs/model/x.html",
                  log="/logs/model/x.log", duration_s=1.94)
    return RunRecord(**(values | changes))


def test_status_words_lead_the_line():
    assert "<b>succeeded</b> in 1.9 s" in render_status("succeeded", "in 1.9 s")
    assert "<b>failed:</b> model failed at In [3]" in render_status(
        "failed", "model failed at In [3]")
    assert "<b>refused:</b>" in render_status("refused", "no")


def test_every_value_from_a_record_is_escaped():
    evil = record(parameters={"label": "<script>alert(1)</script>"}, error="<b>x</b>",
                  run_id="model_<img>")
    html = render_history([evil], {})
    assert "<script>" not in html and "&lt;script&gt;" in html and "<img>" not in html
    assert "<script>" not in render_status("failed", "<script>")
    assert "<script>" not in render_log(["<script>"])


def test_history_rows_link_their_notebook_and_name_skips():
    skipped = record(run_id="model_b", status="skipped", reused_run="model_a", duration_s=0.0)
    html = render_history([record(), skipped], {"model_2026-11-26_14-58-51_d7fd": "v/x.html"})
    assert '<a href="v/x.html" target="_blank" rel="noopener">model_2026-11-26' in html
    assert "skipped (up to date: model_a)" in html
    assert "2026-11-26 14:58:51" in html
    assert ">k=100</span> · <span" in html and ">method=PCA</span>" in html
    assert "No runs." in render_history([], {})


def test_a_table_shows_keys_and_values_and_nested_mappings_as_sub_tables():
    html = render_table({"rate": 0.5, "n": 7734, "tags": ["a", "b"],
                         "scores": {"train": 0.9, "test": {"auc": 0.8}}})
    assert "<tr><th>rate</th><td>0.5</td></tr>" in html
    assert "<tr><th>n</th><td>7,734</td></tr>" in html
    assert "<tr><th>tags</th><td>a, b</td></tr>" in html
    # a sub-table under its key's heading, and one inside it
    assert html.count('<table class="nbsteps-summary">') == 3
    assert '<th colspan="2">scores</th></tr><tr><td colspan="2"><table' in html
    assert "<tr><th>auc</th><td>0.8</td></tr>" in html


def test_labels_pick_order_and_name_the_keys():
    html = render_table({"k": 100, "extra": 1, "counts": {"4ch": 13}},
                        {"counts": "parts per label", "k": "k (parts)", "absent": "x"})
    assert "extra" not in html and "absent" not in html
    assert html.index("parts per label") < html.index("k (parts)")
    assert "<tr><th>4ch</th><td>13</td></tr>" in html


def test_table_values_are_escaped():
    html = render_table({"<b>": "<script>x</script>", "m": {"<i>": "<img>"}})
    assert "<script>" not in html and "<b>" not in html and "<img>" not in html


def test_links_open_html_in_a_new_tab_and_download_files():
    html = render_links([("notebook", "voila/files/a.html"), ("csv", "voila/files/b.csv")])
    assert 'href="voila/files/a.html" target="_blank"' in html
    assert 'href="voila/files/b.csv" download' in html


def test_formats():
    assert format_duration(None) == "–" and format_duration(2.04) == "2.0 s"
    assert format_duration(125) == "2 min 05 s"
    assert format_started("not a time") == "not a time"
    long = "https://example.org/" + "x" * 80
    assert "…" in format_parameters({"source": long}) and long in format_parameters(
        {"source": long})


def test_history_shows_metric_columns_and_blank_cells_for_runs_without_them():
    with_metrics = record(run_id="model_m", metrics={"auc": 0.912345, "n": 3})
    html = render_history([with_metrics, record()], {}, ["auc", "n"])
    assert '<th class="nbsteps-metric">auc</th><th class="nbsteps-metric">n</th>' in html
    assert '<td class="nbsteps-number nbsteps-metric">0.9123</td>' in html
    assert html.count('<td class="nbsteps-number nbsteps-metric"></td>') == 2


def test_a_comparison_shows_images_side_by_side_and_what_differs():
    comparison = SimpleNamespace(
        a=record(run_id="model_a"), b=record(run_id="model_b"),
        parameters=[{"name": "k", "a": 100, "b": 200, "changed": True}],
        metrics=[{"name": "<auc>", "a": 0.5, "b": 0.5, "changed": False}])
    html = render_comparison(comparison, [("model/{run_id}/plot.png", b"\x89PNG", None)],
                             "voila/files/outputs/diffs/model_a__model_b.html")
    assert "<th>model_a</th><th>model_b</th>" in html
    assert '<img src="data:image/png;base64,iVBORw==">' in html and "(missing)" in html
    assert '<tr class="nbsteps-changed"><th>k</th><td>100</td><td>200</td></tr>' in html
    assert "&lt;auc&gt;" in html
    assert 'href="voila/files/outputs/diffs/model_a__model_b.html" target="_blank"' in html
