"""papermill's own engine, writing the executed notebook once per code cell instead of twice
per cell.

papermill writes the whole notebook (serialised and validated) when any cell starts and
again when it ends: 28 writes for a notebook of 9 code and 5 markdown cells, a few ms each, on
every run. Most are overwritten microseconds later: a cell's end is followed at once by the
next cell's start, and a markdown cell starts and ends in the same instant. This engine
keeps the writes someone could see: the notebook's start, each code cell's start (which also
carries the previous cell's end and outputs) and the notebook's end, failed or not
(papermill's notebook_complete). While a cell runs, the file on disk is what papermill
leaves there: that cell running, every cell before it done; a long cell's outputs are still
saved every 30 s (papermill's autosave).
"""

from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

ENGINE = "nbsteps"


class CodeCellSaves(NotebookExecutionManager):
    """Skips the saves of a cell's end and of a markdown or raw cell's start."""

    skip_save = False

    def cell_start(self, cell, cell_index=None, **kwargs):
        self.skip_save = cell.get("cell_type") != "code"
        try:
            super().cell_start(cell, cell_index, **kwargs)
        finally:
            self.skip_save = False

    def cell_complete(self, cell, cell_index=None, **kwargs):
        self.skip_save = True
        try:
            super().cell_complete(cell, cell_index, **kwargs)
        finally:
            self.skip_save = False

    def save(self, **kwargs):
        if not self.skip_save:
            super().save(**kwargs)


class CodeCellSavesEngine(NBClientEngine):
    """NBClientEngine with CodeCellSaves as its execution manager (papermill's
    Engine.execute_notebook builds its manager itself, so this is that method again)."""

    @classmethod
    def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True,
                         log_output=False, autosave_cell_every=30, **kwargs):
        manager = CodeCellSaves(nb, output_path=output_path, progress_bar=progress_bar,
                                log_output=log_output, autosave_cell_every=autosave_cell_every)
        manager.notebook_start()
        try:
            cls.execute_managed_notebook(manager, kernel_name, log_output=log_output, **kwargs)
        finally:
            manager.cleanup_pbar()
            manager.notebook_complete()
        return manager.nb


def register_engine() -> str:
    """The engine's name for papermill.execute_notebook(engine_name=...), registered (again:
    registering is setting one dictionary entry)."""
    papermill_engines.register(ENGINE, CodeCellSavesEngine)
    return ENGINE
