"""Parameter sweeps: one step run once per point of a grid or a list, each an ordinary run."""
