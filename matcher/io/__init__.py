"""Reading and writing data sets: the edge where files become domain objects, with every problem named."""

from matcher.io.reader import load_dataset, read_dataset
from matcher.io.writer import write_candidates, write_dataset, write_plan

__all__ = ["load_dataset", "read_dataset", "write_candidates", "write_dataset", "write_plan"]
