"""Generated data sets: a realistic Stockholm-county sample from the seed pages, and synthetic benchmark instances."""

from matcher.generate.sample_region import DEFAULT_PLAN_DATE, sample_region
from matcher.generate.synthetic import SCENARIOS, synthetic_instance

__all__ = ["DEFAULT_PLAN_DATE", "SCENARIOS", "sample_region", "synthetic_instance"]
