"""Plans: optimised proposals for a whole association, solved off the request thread in worker processes."""
