"""The optimisation model: variables on feasible pairs, one unit per capacity rule, and the solve."""
