"""The dashboard: a Voila page, configured by the `dashboard:` section of pipeline.yaml, that
runs steps from the browser through the same runner as the command line.

One module per concern: config (the section, read and validated), form (a step's
parameters as widgets), runs (one run at a time, on threads), panel (one step's widgets),
results (what a run shows), progress (a run as it goes), page (the whole page, kept
current), views (HTML), files (where a run's files are and their URLs), server (Voila and
what it serves), kernel (the page kernel's hooks). The page's notebook, dashboard.ipynb,
and its style sheet, page.css, ship beside them.

Nothing is imported here: the command line imports the server (no widgets), the page's
notebook imports page.
"""
