"""Synthetic benchmark instances: 60 km regions tiled edge to edge, towns of people and sites, built with numpy."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from numpy.typing import NDArray

from matcher.domain import WEEKDAYS, Enterprise, Instance, Participant, Site, Slot
from matcher.generate.sample_region import (
    AGE_RANGES,
    DEFAULT_PLAN_DATE,
    GENDER_WEIGHTS,
    GENDERS,
    HOURS,
    HOURS_WEIGHTS,
    KM_PER_DEGREE_LAT,
    MAX_TRAVEL,
    MAX_TRAVEL_WEIGHTS,
    MODE_WEIGHTS,
    MODES,
    UNMATCHABLE_NEED,
    WAITING_DAYS_MAX,
)
from matcher.io.municipalities import municipalities

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

REGION_KM = 60.0
PARTICIPANTS_PER_REGION = 400
ORIGIN_LAT, ORIGIN_LON = 59.3, 18.0  # south-west corner of the first region; the grid grows north and east
TOWNS_PER_REGION = (3, 5)  # inclusive range
TOWN_MARGIN_KM = 6.0
PARTICIPANT_SPREAD_KM = 3.5
SITE_SPREAD_KM = 2.0

PROGRAMMES: tuple[str, ...] = ("SAMRE", "MIA", "SamMA", "UNGA")
PROGRAMME_WEIGHTS: tuple[float, ...] = (0.25, 0.45, 0.15, 0.15)
ACTIVITIES: tuple[str, ...] = (
    "cafe", "cooking", "catering", "cleaning_service", "second_hand_shop", "sewing", "remake_workshop",
    "furniture_renovation", "carpentry", "organic_growing", "allotment_garden", "reception", "property_maintenance",
    "light_assembly", "garden_maintenance", "bakery",
)  # fmt: skip
ACTIVITY_WEIGHTS: tuple[float, ...] = (
    0.12, 0.08, 0.06, 0.10, 0.10, 0.06, 0.05, 0.05, 0.05, 0.05, 0.03, 0.06, 0.05, 0.06, 0.05, 0.03,
)  # fmt: skip
# Needs and what covers them: a site's premises or a slot's support. Probabilities are per person / site / slot.
ACCESSIBILITY: tuple[tuple[str, float], ...] = (("wheelchair", 0.7), ("quiet_room", 0.45), ("hearing_loop", 0.25))
SUPPORTS: tuple[tuple[str, float], ...] = (("npf_supervisor", 0.35), ("swedish_support", 0.35))
NEEDS: tuple[tuple[str, float], ...] = (
    ("wheelchair", 0.04),
    ("quiet_room", 0.08),
    ("hearing_loop", 0.02),
    ("npf_supervisor", 0.12),
    ("swedish_support", 0.12),
    (UNMATCHABLE_NEED, 0.005),
)
HOUR_RANGES: tuple[tuple[int, int], ...] = ((4, 20), (5, 20), (8, 25), (10, 30), (4, 15), (10, 40))
HOUR_RANGE_WEIGHTS: tuple[float, ...] = (0.35, 0.2, 0.15, 0.12, 0.1, 0.08)
SLOT_DAYS: tuple[str, ...] = ("mon|tue|wed|thu|fri", "mon|tue|wed|thu", "tue|wed|thu|fri", "mon|tue|wed|thu|fri|sat")
SLOT_DAYS_WEIGHTS: tuple[float, ...] = (0.7, 0.15, 0.1, 0.05)
RATIOS: tuple[float, ...] = (0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
RATIO_WEIGHTS: tuple[float, ...] = (0.1, 0.2, 0.4, 0.15, 0.1, 0.05)
WEEKDAY_PROBABILITY = 0.7
SATURDAY_PROBABILITY = 0.05
RESTRICTED_SLOT_SHARE = 0.10
AGE_LIMITED_SLOT_SHARE = 0.04
WOMEN_ONLY_SLOT_SHARE = 0.02
FUTURE_SLOT_SHARE = 0.02
AVOID_SHARE = 0.03
MISSING_AGE_SHARE = 0.01


@dataclass(frozen=True)
class Scenario:
    """How binding supervision is: the share of sites that a full house of typical people would overrun."""

    binding_share: float
    binding_factor: tuple[float, float]  # limit as a share of a full site's typical need, when binding
    unlimited_share: float  # of the other sites, how many have no limit at all


SCENARIOS: dict[str, Scenario] = {
    "loose": Scenario(0.15, (0.6, 0.9), 0.7),
    "default": Scenario(0.60, (0.55, 0.9), 0.4),
    "tight": Scenario(0.90, (0.4, 0.8), 0.3),
    # Four sites in five limited below a full house: the supervision-bound mid-size benchmark (issue 13, item 4).
    # A scenario of its own, so the other scenarios' draws (and their instances) stay as they were.
    "binding": Scenario(0.80, (0.45, 0.85), 0.3),
}


def _p(weights: tuple[float, ...]) -> FloatArray:
    p = np.asarray(weights, dtype=np.float64)
    out: FloatArray = p / p.sum()
    return out


def _split(total: int, parts: int) -> IntArray:
    """`total` spread as evenly as possible over `parts`."""
    return np.full(parts, total // parts, dtype=np.int64) + (np.arange(parts) < total % parts)


def _degrees(x_km: FloatArray, y_km: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Plane km east/north of the origin to WGS84; a km east is shorter in degrees the further north."""
    lat = ORIGIN_LAT + y_km / KM_PER_DEGREE_LAT
    lon = ORIGIN_LON + x_km / (KM_PER_DEGREE_LAT * np.cos(np.radians(lat)))
    return np.round(lat, 5), np.round(lon, 5)


def _pick_within(rng: np.random.Generator, group: IntArray, start: IntArray, cum: FloatArray) -> IntArray:
    """For each item of `group`, one member of that group drawn by weight (`cum`: global cumulative weights,
    each group summing to one), all at once."""
    chosen = np.searchsorted(cum, group + rng.random(len(group)), side="right")
    return np.clip(chosen, start[group], start[group + 1] - 1)


def _mask_sets(masks: IntArray, vocabulary: tuple[str, ...]) -> list[frozenset[str]]:
    """Bit masks to frozensets, building each distinct set once."""
    cache = {m: frozenset(v for k, v in enumerate(vocabulary) if m >> k & 1) for m in np.unique(masks).tolist()}
    return [cache[m] for m in masks.tolist()]


def _bits(rng: np.random.Generator, n: int, probabilities: tuple[tuple[str, float], ...]) -> IntArray:
    hits = rng.random((n, len(probabilities))) < np.array([p for _, p in probabilities])
    masks: IntArray = (hits * (1 << np.arange(len(probabilities)))).sum(axis=1).astype(np.int64)
    return masks


def _id_width(n: int) -> int:
    return max(4, len(str(n)))


def synthetic_instance(
    participants: int,
    seed: int = 0,
    scenario: str = "default",
    slots: int | None = None,
    sites: int | None = None,
    plan_date: date = DEFAULT_PLAN_DATE,
) -> Instance:
    """A benchmark instance of about 400 people per 60 km region, seats for half of them, and supervision as binding
    as `scenario` says ("loose", "default", "tight", or "binding": about 80 % of sites). Same arguments, same
    instance; scenarios differ only in supervisor_hours."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario '{scenario}'; choose one of {', '.join(SCENARIOS)}")
    if participants < 0:
        raise ValueError("participants must not be negative")
    n_slots = slots if slots is not None else max(1, round(participants / 10))
    n_sites = min(sites if sites is not None else max(1, round(n_slots / 2.5)), n_slots)
    if n_slots < 1 or n_sites < 1:
        raise ValueError("an instance needs at least one slot and one site")
    n_regions = max(1, round(participants / PARTICIPANTS_PER_REGION))
    rng = np.random.default_rng(seed)

    # Regions and their towns, in plane km from the origin.
    columns = math.ceil(math.sqrt(n_regions))
    region_x = (np.arange(n_regions) % columns) * REGION_KM
    region_y = (np.arange(n_regions) // columns) * REGION_KM
    towns_per_region = rng.integers(TOWNS_PER_REGION[0], TOWNS_PER_REGION[1] + 1, size=n_regions)
    town_region = np.repeat(np.arange(n_regions), towns_per_region)
    town_start = np.concatenate(([0], np.cumsum(towns_per_region))).astype(np.int64)
    n_towns = len(town_region)
    town_x = region_x[town_region] + rng.uniform(TOWN_MARGIN_KM, REGION_KM - TOWN_MARGIN_KM, n_towns)
    town_y = region_y[town_region] + rng.uniform(TOWN_MARGIN_KM, REGION_KM - TOWN_MARGIN_KM, n_towns)
    # A few big towns and several small ones; people and sites follow the same sizes, so supply meets demand.
    size = rng.lognormal(0.0, 0.7, n_towns)
    size /= np.bincount(town_region, weights=size)[town_region]
    town_cum = np.cumsum(size)

    site_region = np.repeat(np.arange(n_regions), _split(n_sites, n_regions))
    site_town = _pick_within(rng, site_region, town_start, town_cum)
    site_x = town_x[site_town] + rng.normal(0.0, SITE_SPREAD_KM, n_sites)
    site_y = town_y[site_town] + rng.normal(0.0, SITE_SPREAD_KM, n_sites)
    site_lat, site_lon = _degrees(site_x, site_y)
    site_access = _bits(rng, n_sites, ACCESSIBILITY)
    # Neighbouring sites of a region often belong to one enterprise (mostly one to three sites each).
    new_enterprise = (rng.random(n_sites) < 0.55) | np.r_[True, site_region[1:] != site_region[:-1]]
    site_enterprise = np.cumsum(new_enterprise) - 1
    n_enterprises = int(site_enterprise[-1]) + 1

    # Slots: one per site, the rest spread at random; seats sized so that about two people want each seat.
    slot_site = np.sort(np.concatenate((np.arange(n_sites), rng.integers(0, n_sites, n_slots - n_sites))))
    mean_seats = participants / (2 * n_slots)
    seats = 1 + rng.poisson(max(mean_seats - 1.0, 0.0), n_slots)
    slot_activity = rng.choice(len(ACTIVITIES), n_slots, p=_p(ACTIVITY_WEIGHTS))
    slot_hours = rng.choice(len(HOUR_RANGES), n_slots, p=_p(HOUR_RANGE_WEIGHTS))
    slot_days = rng.choice(len(SLOT_DAYS), n_slots, p=_p(SLOT_DAYS_WEIGHTS))
    slot_supports = _bits(rng, n_slots, SUPPORTS)
    slot_ratio = rng.choice(len(RATIOS), n_slots, p=_p(RATIO_WEIGHTS))
    restricted = rng.random(n_slots) < RESTRICTED_SLOT_SHARE
    slot_programme = rng.choice(len(PROGRAMMES), n_slots, p=_p(PROGRAMME_WEIGHTS))
    age_limited = rng.random(n_slots) < AGE_LIMITED_SLOT_SHARE
    adults_only = rng.random(n_slots) < 0.5  # else a young adults' group, 16-29
    women_only = rng.random(n_slots) < WOMEN_ONLY_SLOT_SHARE
    opens_later = rng.random(n_slots) < FUTURE_SLOT_SHARE
    opens_in_days = rng.integers(30, 180, n_slots)
    slot_need_per_seat = (
        np.array([typical_hours(low, high) for low, high in HOUR_RANGES])[slot_hours] * np.asarray(RATIOS)[slot_ratio]
    )

    # Participants near the towns of their region.
    person_region = np.repeat(np.arange(n_regions), _split(participants, n_regions))
    person_town = _pick_within(rng, person_region, town_start, town_cum)
    person_lat, person_lon = _degrees(
        town_x[person_town] + rng.normal(0.0, PARTICIPANT_SPREAD_KM, participants),
        town_y[person_town] + rng.normal(0.0, PARTICIPANT_SPREAD_KM, participants),
    )
    programme = rng.choice(len(PROGRAMMES), participants, p=_p(PROGRAMME_WEIGHTS))
    age_low = np.array([AGE_RANGES[c][0] for c in PROGRAMMES])[programme]
    age_high = np.array([AGE_RANGES[c][1] for c in PROGRAMMES])[programme]
    age = rng.integers(age_low, age_high + 1)
    has_age = rng.random(participants) >= MISSING_AGE_SHARE
    gender = rng.choice(len(GENDERS), participants, p=_p(GENDER_WEIGHTS))
    hours = np.asarray(HOURS)[rng.choice(len(HOURS), participants, p=_p(HOURS_WEIGHTS))]
    days = (rng.random((participants, 5)) < WEEKDAY_PROBABILITY) @ (1 << np.arange(5))
    days = np.where(days == 0, 1 << rng.integers(0, 5, participants), days)  # everyone can come some weekday
    days = (days | np.where(rng.random(participants) < SATURDAY_PROBABILITY, 1 << 5, 0)).astype(np.int64)
    max_travel = np.asarray(MAX_TRAVEL)[rng.choice(len(MAX_TRAVEL), participants, p=_p(MAX_TRAVEL_WEIGHTS))]
    mode = rng.choice(len(MODES), participants, p=_p(MODE_WEIGHTS))
    needs = _bits(rng, participants, NEEDS)
    # Up to three distinct wanted activities, popular ones more often (Gumbel top-k sampling).
    keys = np.log(_p(ACTIVITY_WEIGHTS)) + rng.gumbel(size=(participants, len(ACTIVITIES)))
    wanted = np.argsort(-keys, axis=1)[:, :3]
    wanted_count = rng.integers(1, 4, participants)
    # A former workplace to avoid: an enterprise with a site in the person's own region.
    region_site_start = np.searchsorted(site_region, np.arange(n_regions + 1))
    local_sites = region_site_start[person_region + 1] - region_site_start[person_region]
    avoids = (rng.random(participants) < AVOID_SHARE) & (local_sites > 0)
    avoided_site = region_site_start[person_region] + (rng.random(participants) * local_sites).astype(np.int64)
    avoided = site_enterprise[np.minimum(avoided_site, n_sites - 1)]
    waited = rng.integers(0, WAITING_DAYS_MAX, participants)

    # Its own random stream, so that the scenarios of one seed differ in supervisor_hours only.
    supervisor_hours = _supervisor_hours(
        np.random.default_rng([seed, 1]), SCENARIOS[scenario], n_sites, slot_site, seats * slot_need_per_seat
    )

    # Plain Python values from here on: the dataclasses hold ints, floats and strings, not numpy scalars.
    ew, tw, sw, pw = _id_width(n_enterprises), _id_width(n_sites), _id_width(n_slots), _id_width(participants)
    # Real municipality names (the reader accepts no other), one per town in SCB's code order, round again when
    # there are more towns than municipalities. Only names: no random draw depends on them.
    official = [m.name for m in municipalities()]
    town_names = [official[t % len(official)] for t in range(n_towns)]
    enterprise_ids = [f"E{e + 1:0{ew}d}" for e in range(n_enterprises)]
    first_site = np.searchsorted(site_enterprise, np.arange(n_enterprises)).tolist()
    enterprises = tuple(
        Enterprise(enterprise_ids[e], f"Enterprise {e + 1}", town_names[int(site_town[first_site[e]])])
        for e in range(n_enterprises)
    )

    site_ids = [f"T{t + 1:0{tw}d}" for t in range(n_sites)]
    t_enterprise, t_town = site_enterprise.tolist(), site_town.tolist()
    t_lat, t_lon = site_lat.tolist(), site_lon.tolist()
    t_access = _mask_sets(site_access, tuple(a for a, _ in ACCESSIBILITY))
    site_records = tuple(
        Site(
            site_ids[t],
            enterprise_ids[t_enterprise[t]],
            f"Site {t + 1}",
            town_names[t_town[t]],
            t_lat[t],
            t_lon[t],
            t_access[t],
            supervisor_hours[t],
        )
        for t in range(n_sites)
    )

    s_site, s_activity, s_seats = slot_site.tolist(), slot_activity.tolist(), seats.tolist()
    s_hours, s_days, s_ratio = slot_hours.tolist(), slot_days.tolist(), slot_ratio.tolist()
    s_supports = _mask_sets(slot_supports, tuple(name for name, _ in SUPPORTS))
    s_programmes = [
        frozenset({PROGRAMMES[c]}) if r else frozenset()
        for c, r in zip(slot_programme.tolist(), restricted.tolist(), strict=True)
    ]
    s_min_age = [
        (18 if adult else 16) if limited else None
        for limited, adult in zip(age_limited.tolist(), adults_only.tolist(), strict=True)
    ]
    s_max_age = [
        None if adult or not limited else 29
        for limited, adult in zip(age_limited.tolist(), adults_only.tolist(), strict=True)
    ]
    s_women, s_later, s_opens = women_only.tolist(), opens_later.tolist(), opens_in_days.tolist()
    day_sets = [frozenset(days_text.split("|")) for days_text in SLOT_DAYS]
    slot_records = tuple(
        Slot(
            slot_id=f"S{i + 1:0{sw}d}",
            site_id=site_ids[s_site[i]],
            activity=ACTIVITIES[s_activity[i]],
            seats=s_seats[i],
            min_hours=HOUR_RANGES[s_hours[i]][0],
            max_hours=HOUR_RANGES[s_hours[i]][1],
            days=day_sets[s_days[i]],
            supports=s_supports[i],
            programmes=s_programmes[i],
            min_age=s_min_age[i],
            max_age=s_max_age[i],
            women_only=s_women[i],
            supervision_ratio=RATIOS[s_ratio[i]],
            available_from=plan_date + timedelta(days=s_opens[i]) if s_later[i] else None,
        )
        for i in range(n_slots)
    )

    p_programme, p_town = programme.tolist(), person_town.tolist()
    p_lat, p_lon = person_lat.tolist(), person_lon.tolist()
    p_hours, p_travel, p_age, p_has_age = hours.tolist(), max_travel.tolist(), age.tolist(), has_age.tolist()
    p_gender, p_mode, p_waited = gender.tolist(), mode.tolist(), waited.tolist()
    p_days = _mask_sets(days, WEEKDAYS[:6])
    p_needs = _mask_sets(needs, tuple(name for name, _ in NEEDS))
    p_preferences = [
        tuple(ACTIVITIES[a] for a in row[:k]) for row, k in zip(wanted.tolist(), wanted_count.tolist(), strict=True)
    ]
    p_avoid = [
        frozenset({enterprise_ids[e]}) if flag else frozenset()
        for e, flag in zip(avoided.tolist(), avoids.tolist(), strict=True)
    ]
    waiting_since = {d: plan_date - timedelta(days=d) for d in set(p_waited)}
    people = tuple(
        Participant(
            participant_id=f"P{i + 1:0{pw}d}",
            programme=PROGRAMMES[p_programme[i]],
            municipality=town_names[p_town[i]],
            lat=p_lat[i],
            lon=p_lon[i],
            hours_per_week=p_hours[i],
            days_available=p_days[i],
            max_travel_minutes=p_travel[i],
            age=p_age[i] if p_has_age[i] else None,
            gender=GENDERS[p_gender[i]],
            travel_mode=MODES[p_mode[i]],
            needs=p_needs[i],
            preferences=p_preferences[i],
            avoid_enterprises=p_avoid[i],
            waiting_since=waiting_since[p_waited[i]],
        )
        for i in range(participants)
    )
    return Instance(enterprises=enterprises, sites=site_records, slots=slot_records, participants=people)


def typical_hours(low: int, high: int) -> float:
    """Mean hours of the people whose hours fit [low, high], under the participants' hours distribution."""
    hours, p = np.asarray(HOURS), _p(HOURS_WEIGHTS)
    fit = (hours >= low) & (hours <= high)
    return float((hours[fit] * p[fit]).sum() / p[fit].sum()) if fit.any() else 0.0


def _supervisor_hours(
    rng: np.random.Generator, scenario: Scenario, n_sites: int, slot_site: IntArray, slot_full_need: FloatArray
) -> list[float | None]:
    """Limits set against each site's need when all its seats hold typical people: below that need where binding."""
    full_need = np.bincount(slot_site, weights=slot_full_need, minlength=n_sites)
    binding = rng.random(n_sites) < scenario.binding_share
    unlimited = ~binding & (rng.random(n_sites) < scenario.unlimited_share)
    low, high = scenario.binding_factor
    # Half hours, rounded towards binding; never below half an hour, so every site can supervise someone a little.
    tight = np.maximum(np.floor(full_need * rng.uniform(low, high, n_sites) * 2) / 2, 0.5)
    loose = np.ceil(full_need * rng.uniform(1.1, 1.6, n_sites) * 2) / 2
    limit = np.where(binding, tight, loose)
    return [None if u else float(v) for u, v in zip(unlimited.tolist(), limit.tolist(), strict=True)]
