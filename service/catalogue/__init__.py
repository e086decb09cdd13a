"""Enterprises, sites and slots: the places, kept by coordinators and by each enterprise's manager."""
