"""Travel minutes: the estimate of docs/data-format.md, on arrays, and the distance it can reach."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from matcher.settings import DETOUR_FACTOR, EARTH_RADIUS_KM, TRAVEL_OVERHEAD_MIN, TRAVEL_SPEED_KMH

FloatArray = NDArray[np.float64]


def unit_vectors(lat_deg: FloatArray, lon_deg: FloatArray) -> FloatArray:
    """Points on the unit sphere, so a KD-tree's straight-line (chord) distance orders like the great circle."""
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    return np.column_stack((np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)))


def great_circle_km(lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray) -> FloatArray:
    """Haversine distance in km on a sphere of radius 6371.0 km (degrees in, element by element)."""
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    half_dphi = (phi2 - phi1) / 2.0
    half_dlambda = np.radians(np.asarray(lon2) - np.asarray(lon1)) / 2.0
    h = np.sin(half_dphi) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(half_dlambda) ** 2
    km: FloatArray = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return km


def estimated_minutes(km: FloatArray, speed_kmh: FloatArray, overhead_min: FloatArray) -> NDArray[np.int64]:
    """`ceil(d * 1.3 / speed * 60 + overhead)`."""
    return np.ceil(km * DETOUR_FACTOR / speed_kmh * 60.0 + overhead_min).astype(np.int64)


def reach_km(max_minutes: FloatArray, speed_kmh: FloatArray, overhead_min: FloatArray) -> FloatArray:
    """The largest distance whose estimate stays within `max_minutes` (ceil(x) <= n iff x <= n for whole n)."""
    return np.maximum(max_minutes - overhead_min, 0.0) * speed_kmh / (60.0 * DETOUR_FACTOR)


def chord_for_km(km: FloatArray) -> FloatArray:
    """The unit-sphere chord length of a great-circle distance, widened a hair so boundary pairs are not lost."""
    angle = np.minimum(km / EARTH_RADIUS_KM, np.pi)
    return 2.0 * np.sin(angle / 2.0) * (1.0 + 1e-9) + 1e-12


def mode_speed_and_overhead(modes: list[str]) -> tuple[FloatArray, FloatArray]:
    speed = np.array([TRAVEL_SPEED_KMH[m] for m in modes], dtype=np.float64)
    overhead = np.array([TRAVEL_OVERHEAD_MIN[m] for m in modes], dtype=np.float64)
    return speed, overhead
