"""Participants: pseudonymous codes and what matching needs to know, seen by their coach and the coordinator."""
