"""A realistic sample region in Stockholm county: the enterprises and programmes of the seed pages, invented people."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
from numpy.typing import NDArray

from matcher.domain import Enterprise, Instance, Participant, Site, Slot
from matcher.rules import SUPERVISION
from matcher.settings import TRAVEL_OVERHEAD_MIN, TRAVEL_SPEED_KMH
from matcher.travel import estimated_minutes, great_circle_km

DEFAULT_PLAN_DATE = date(2026, 11, 23)
KM_PER_DEGREE_LAT = 111.195  # on the 6371 km sphere the spec uses for travel
WORKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")


def _set(text: str) -> frozenset[str]:
    """A list cell as written in the CSV files, so the tables below read like the data."""
    return frozenset(text.split("|")) if text else frozenset()


# Names and towns come from the seed pages; Kugghjulet is left out because it is a support structure for ASF
# in the county, not a workplace with training places. GGG för Seniorer's town is not in the seeds (assumed).
ENTERPRISES: tuple[Enterprise, ...] = (
    Enterprise("vioni", "VioNi Samhällsentreprenörer", "Sigtuna"),
    Enterprise("varmekallan", "Värmekällan", "Upplands Väsby"),
    Enterprise("service_i_sigtuna", "Service i Sigtuna", "Sigtuna"),
    Enterprise("m29", "M29", "Sigtuna"),
    Enterprise("ggg_for_seniorer", "GGG för Seniorer", "Sollentuna"),
    Enterprise("yalla_rinkeby", "Yalla Rinkeby", "Stockholm"),
    Enterprise("bla_vagen", "Blå Vägen", "Stockholm"),
    Enterprise("bonorna", "Bönorna i Handen", "Haninge"),
    Enterprise("hela_manniskan_nynashamn", "Hela Människan Nynäshamn", "Nynäshamn"),
    Enterprise("eko_odlarna", "Eko-odlarna i Telje", "Södertälje"),
)

# Town-centre coordinates (WGS84) are approximate; site names other than Sigtuna Hantverkshus are invented.
# supervisor_hours are about three quarters of what a full site of typical participants would need at seven
# sites (Hantverkshus, Värmekällan, M29, GGG, Yalla, Handen, Nynäshamn), so supervision, not seats, limits those.
# fmt: off
SITES: tuple[Site, ...] = (
    Site("sigtuna_hantverkshus", "vioni", "Sigtuna Hantverkshus", "Sigtuna", 59.6235, 17.8580,
         _set("quiet_room"), 18.0),
    Site("vioni_marsta", "vioni", "VioNi Märsta", "Sigtuna", 59.6200, 17.8530,
         _set("wheelchair|hearing_loop|quiet_room"), 26.0),
    Site("varmekallan_vasby", "varmekallan", "Värmekällan", "Upplands Väsby", 59.5190, 17.9120,
         _set("wheelchair|quiet_room"), 20.0),
    Site("varmekallan_second_hand", "varmekallan", "Värmekällan second hand", "Upplands Väsby", 59.5160, 17.9080,
         _set("wheelchair"), None),
    Site("varmekallan_kolonilott", "varmekallan", "Värmekällan kolonilott", "Upplands Väsby", 59.5250, 17.8950,
         _set(""), 6.0),
    Site("service_i_sigtuna", "service_i_sigtuna", "Service i Sigtuna", "Sigtuna", 59.6173, 17.7236,
         _set("wheelchair|hearing_loop"), 35.0),
    Site("m29_arlandastad", "m29", "M29 Arlandastad", "Sigtuna", 59.6110, 17.8990,
         _set("wheelchair|hearing_loop|quiet_room"), 15.0),
    Site("ggg_sollentuna", "ggg_for_seniorer", "GGG för Seniorer", "Sollentuna", 59.4281, 17.9508,
         _set("wheelchair|quiet_room"), 24.0),
    Site("yalla_rinkeby", "yalla_rinkeby", "Yalla Rinkeby", "Stockholm", 59.3880, 17.9286,
         _set("wheelchair|hearing_loop"), 26.0),
    Site("bla_vagen_spanga", "bla_vagen", "Blå Vägen Spånga", "Stockholm", 59.3834, 17.8990,
         _set("wheelchair|quiet_room"), 30.0),
    Site("bla_vagen_tensta", "bla_vagen", "Blå Vägen Tensta", "Stockholm", 59.3945, 17.9011,
         _set("wheelchair"), None),
    Site("bonorna_handen", "bonorna", "Bönorna i Handen", "Haninge", 59.1686, 18.1446,
         _set("wheelchair|hearing_loop|quiet_room"), 24.0),
    Site("bonorna_tyreso", "bonorna", "Bönorna Tyresö", "Tyresö", 59.2441, 18.2286,
         _set("wheelchair|quiet_room"), 30.0),
    Site("hela_manniskan_nynashamn", "hela_manniskan_nynashamn", "Hela Människan Nynäshamn", "Nynäshamn",
         58.9034, 17.9479, _set("wheelchair|quiet_room"), 8.0),
    Site("eko_odlarna_odling", "eko_odlarna", "Eko-odlarna i Telje, odlingen", "Södertälje", 59.1870, 17.6010,
         _set("quiet_room"), 24.0),
    Site("eko_odlarna_gardsbutik", "eko_odlarna", "Eko-odlarna i Telje, gårdsbutik", "Södertälje", 59.1955, 17.6253,
         _set("wheelchair"), None),
)
# fmt: on

WEEK = "mon|tue|wed|thu|fri"
WEEK_AND_SATURDAY = "mon|tue|wed|thu|fri|sat"


def _slots(plan_date: date) -> tuple[Slot, ...]:
    """The training places; the allotment garden opens next spring, so it cannot be planned on `plan_date`."""
    spring = date(plan_date.year + 1, 4, 1) if plan_date.month >= 4 else date(plan_date.year, 4, 1)
    s = Slot
    # fmt: off
    return (
        # SAMRE procured the places at Sigtuna Hantverkshus and at Värmekällan (seed pages).
        s("vioni_remake", "sigtuna_hantverkshus", "remake_workshop", 4, 4, 20, _set("mon|tue|wed|thu"),
          _set("npf_supervisor"), _set("SAMRE"), supervision_ratio=0.3),
        s("vioni_furniture", "sigtuna_hantverkshus", "furniture_renovation", 3, 8, 25, _set(WEEK),
          _set(""), _set("SAMRE")),
        s("vioni_cafe", "vioni_marsta", "cafe", 3, 4, 20, _set(WEEK), _set("swedish_support")),
        s("vioni_cleaning", "vioni_marsta", "cleaning_service", 3, 10, 30, _set(WEEK)),
        s("vioni_shop", "vioni_marsta", "second_hand_shop", 2, 4, 20, _set(WEEK_AND_SATURDAY),
          supervision_ratio=0.2),
        s("varmekallan_sewing_samre", "varmekallan_vasby", "sewing", 4, 4, 20, _set("mon|tue|wed|thu"),
          _set("npf_supervisor"), _set("SAMRE"), supervision_ratio=0.3),
        s("varmekallan_sewing_women", "varmekallan_vasby", "sewing", 3, 4, 15, _set("tue|thu"),
          _set("swedish_support"), women_only=True),
        s("varmekallan_crafts", "varmekallan_vasby", "handicraft", 2, 4, 20, _set(WEEK), _set("npf_supervisor")),
        s("varmekallan_shop", "varmekallan_second_hand", "second_hand_shop", 4, 4, 20, _set(WEEK_AND_SATURDAY),
          _set("swedish_support"), supervision_ratio=0.2),
        s("varmekallan_allotment", "varmekallan_kolonilott", "allotment_garden", 4, 4, 15, _set("mon|wed|fri"),
          _set(""), _set("SAMRE"), available_from=spring, available_to=date(spring.year, 9, 30)),
        s("sis_cleaning", "service_i_sigtuna", "cleaning_service", 4, 10, 30, _set(WEEK)),
        s("sis_property", "service_i_sigtuna", "property_maintenance", 3, 10, 30, _set(WEEK)),
        s("sis_reception", "service_i_sigtuna", "reception", 2, 4, 20, _set(WEEK), _set("swedish_support")),
        # The young people's programme (16-29) of the Sollentuna, Upplands Väsby and Sigtuna association.
        s("m29_cafe_unga", "m29_arlandastad", "cafe", 3, 4, 20, _set(WEEK), _set("npf_supervisor"), _set("UNGA"),
          supervision_ratio=0.4),
        s("m29_reception", "m29_arlandastad", "reception", 2, 8, 20, _set("mon|tue|wed|thu")),
        s("ggg_gardening", "ggg_sollentuna", "garden_maintenance", 3, 8, 25, _set(WEEK)),
        s("ggg_cleaning", "ggg_sollentuna", "cleaning_service", 3, 10, 30, _set(WEEK)),
        s("ggg_home_help", "ggg_sollentuna", "home_help_service", 3, 4, 20, _set(WEEK), _set("swedish_support")),
        s("yalla_cooking", "yalla_rinkeby", "cooking", 4, 10, 30, _set(WEEK), _set("swedish_support")),
        s("yalla_cafe", "yalla_rinkeby", "cafe", 3, 4, 20, _set(WEEK_AND_SATURDAY), _set("swedish_support")),
        s("yalla_catering", "yalla_rinkeby", "catering", 3, 8, 25, _set("tue|wed|thu|fri")),
        # Power tools: adults only.
        s("bla_vagen_carpentry", "bla_vagen_spanga", "carpentry", 3, 10, 30, _set(WEEK), min_age=18),
        s("bla_vagen_assembly", "bla_vagen_spanga", "light_assembly", 4, 4, 20, _set(WEEK),
          _set("npf_supervisor"), supervision_ratio=0.35),
        s("bla_vagen_shop", "bla_vagen_tensta", "second_hand_shop", 3, 4, 20, _set("tue|wed|thu|fri|sat"),
          _set("swedish_support"), supervision_ratio=0.2),
        s("bonorna_cafe", "bonorna_handen", "cafe", 4, 4, 20, _set(WEEK), _set("swedish_support")),
        s("bonorna_cooking", "bonorna_handen", "cooking", 3, 10, 30, _set(WEEK)),
        s("bonorna_catering", "bonorna_handen", "catering", 3, 8, 25, _set("mon|tue|wed|thu"),
          _set("npf_supervisor")),
        s("bonorna_tyreso_cafe", "bonorna_tyreso", "cafe", 3, 4, 20, _set(WEEK), _set("npf_supervisor"),
          supervision_ratio=0.35),
        s("bonorna_tyreso_cleaning", "bonorna_tyreso", "cleaning_service", 3, 10, 30, _set(WEEK)),
        s("bonorna_tyreso_bakery", "bonorna_tyreso", "bakery", 2, 4, 20, _set("mon|tue|wed|thu"),
          _set("swedish_support")),
        s("hm_nynashamn_shop", "hela_manniskan_nynashamn", "second_hand_shop", 3, 4, 20, _set(WEEK_AND_SATURDAY),
          _set("swedish_support"), supervision_ratio=0.2),
        s("hm_nynashamn_cafe", "hela_manniskan_nynashamn", "cafe", 2, 4, 15, _set("mon|tue|wed|thu"),
          _set("npf_supervisor")),
        s("eko_growing", "eko_odlarna_odling", "organic_growing", 5, 4, 25, _set(WEEK), _set("npf_supervisor")),
        s("eko_greenhouse", "eko_odlarna_odling", "greenhouse", 3, 4, 20, _set("mon|tue|wed|thu")),
        s("eko_farm_shop", "eko_odlarna_gardsbutik", "farm_shop", 3, 4, 20, _set("tue|wed|thu|fri|sat"),
          _set("swedish_support"), supervision_ratio=0.2),
        s("eko_packing", "eko_odlarna_gardsbutik", "food_packing", 2, 4, 20, _set(WEEK), _set("npf_supervisor")),
    )
    # fmt: on


@dataclass(frozen=True)
class HomeArea:
    """Where participants live: a municipality of one of the seeds' associations, around one centre."""

    municipality: str
    lat: float
    lon: float
    share: float
    spread_km: float


# Municipalities of the associations in the seeds (Östra Södertörn; Sollentuna, Upplands Väsby, Sigtuna;
# Stockholms stad) and Södertälje (a MIA subproject); Stockholm's people live in its north-western
# districts, where the seeds' Stockholm enterprises are.
HOME_AREAS: tuple[HomeArea, ...] = (
    HomeArea("Sigtuna", 59.6217, 17.8546, 0.10, 1.5),  # Märsta
    HomeArea("Sigtuna", 59.6173, 17.7236, 0.04, 1.2),  # Sigtuna town
    HomeArea("Upplands Väsby", 59.5184, 17.9113, 0.13, 2.0),
    HomeArea("Sollentuna", 59.4281, 17.9508, 0.08, 1.8),
    HomeArea("Sollentuna", 59.4760, 17.9140, 0.04, 1.2),  # Rotebro
    HomeArea("Stockholm", 59.3912, 17.9150, 0.10, 1.2),  # Rinkeby-Tensta
    HomeArea("Stockholm", 59.3834, 17.8990, 0.04, 1.2),  # Spånga
    HomeArea("Stockholm", 59.4065, 17.9360, 0.05, 1.2),  # Kista-Husby
    HomeArea("Stockholm", 59.3636, 17.8727, 0.04, 1.5),  # Vällingby
    HomeArea("Haninge", 59.1686, 18.1446, 0.07, 2.0),  # Handen
    HomeArea("Haninge", 59.1400, 18.1250, 0.04, 1.2),  # Jordbro
    HomeArea("Tyresö", 59.2441, 18.2286, 0.06, 2.0),
    HomeArea("Nynäshamn", 58.9034, 17.9479, 0.05, 1.5),
    HomeArea("Södertälje", 59.1955, 17.6253, 0.09, 2.0),
)

# Each association runs its own programmes (seed pages); shares are invented.
PROGRAMMES_BY_MUNICIPALITY: dict[str, tuple[tuple[str, float], ...]] = {
    "Sigtuna": (("SAMRE", 0.55), ("UNGA", 0.45)),
    "Upplands Väsby": (("SAMRE", 0.55), ("UNGA", 0.45)),
    "Sollentuna": (("SAMRE", 0.55), ("UNGA", 0.45)),
    "Haninge": (("MIA", 0.6), ("SamMA", 0.4)),
    "Tyresö": (("MIA", 0.6), ("SamMA", 0.4)),
    "Nynäshamn": (("MIA", 0.6), ("SamMA", 0.4)),
    "Stockholm": (("MIA", 1.0),),
    "Södertälje": (("MIA", 1.0),),
}
# Age groups from the seeds (SamMA 16-35, MIA 18-64, young people 16-29); SAMRE's adults are an assumption.
AGE_RANGES: dict[str, tuple[int, int]] = {"SAMRE": (20, 64), "MIA": (18, 64), "SamMA": (16, 35), "UNGA": (16, 29)}
# SamMA is for people with large support needs; SAMRE's people are on sick leave.
NEED_PROBABILITY: dict[str, float] = {"SAMRE": 0.30, "MIA": 0.25, "SamMA": 0.60, "UNGA": 0.30}
NEEDS: tuple[str, ...] = ("npf_supervisor", "quiet_room", "swedish_support", "wheelchair", "hearing_loop")
NEED_WEIGHTS: tuple[float, ...] = (0.32, 0.25, 0.25, 0.12, 0.06)
UNMATCHABLE_NEED = "sign_language"  # no site offers it: these people have no feasible slot
UNMATCHABLE_SHARE = 0.02
# Most start far below full time; 10 hours (25 %) is the stated first goal.
HOURS: tuple[int, ...] = (4, 5, 6, 8, 10, 12, 15, 16, 20, 25, 30)
HOURS_WEIGHTS: tuple[float, ...] = (0.02, 0.12, 0.08, 0.15, 0.24, 0.10, 0.10, 0.05, 0.09, 0.03, 0.02)
# People on sick leave (SAMRE) and with large support needs (SamMA) start lower still.
LOW_HOURS_WEIGHTS: tuple[float, ...] = (0.04, 0.16, 0.10, 0.18, 0.24, 0.10, 0.10, 0.04, 0.04, 0.0, 0.0)
LOW_HOURS_PROGRAMMES = frozenset({"SAMRE", "SamMA"})
MAX_TRAVEL: tuple[int, ...] = (20, 30, 40, 45, 50, 60, 75)
MAX_TRAVEL_WEIGHTS: tuple[float, ...] = (0.03, 0.10, 0.17, 0.20, 0.15, 0.22, 0.13)
MODES: tuple[str, ...] = ("transit", "car", "bike", "walk")
MODE_WEIGHTS: tuple[float, ...] = (0.80, 0.10, 0.08, 0.02)
GENDERS: tuple[str, ...] = ("f", "m", "x")
GENDER_WEIGHTS: tuple[float, ...] = (0.45, 0.53, 0.02)
WAITING_DAYS_MAX = 730
AVOID_SHARE = 0.06  # a former workplace near home
MISSING_AGE_SHARE = 0.02  # people without a recorded age fail every age-limited slot
CURRENT_SLOT_SHARE = 0.10
PINNED_SHARE_OF_CURRENT = 0.3
PINNED_SUPERVISION_SHARE = 0.6  # pinned people use at most this much of a site's supervision, so planning stays open
PREFERENCE_RADIUS_KM = 25.0


def _jitter(rng: np.random.Generator, lat: float, lon: float, spread_km: float) -> tuple[float, float]:
    north, east = rng.normal(0.0, spread_km, size=2)
    lat_out = lat + north / KM_PER_DEGREE_LAT
    lon_out = lon + east / (KM_PER_DEGREE_LAT * np.cos(np.radians(lat)))
    return round(float(lat_out), 5), round(float(lon_out), 5)


def _normalised(weights: tuple[float, ...]) -> NDArray[np.float64]:
    p = np.asarray(weights, dtype=np.float64)
    out: NDArray[np.float64] = p / p.sum()
    return out


def _pick(rng: np.random.Generator, items: tuple[str, ...], weights: tuple[float, ...]) -> str:
    return items[int(rng.choice(len(items), p=_normalised(weights)))]


def _weekdays(rng: np.random.Generator) -> frozenset[str]:
    count = int(rng.choice((1, 2, 3, 4, 5), p=(0.02, 0.13, 0.30, 0.25, 0.30)))
    days = {WORKDAYS[i] for i in rng.choice(5, size=count, replace=False)}
    if rng.random() < 0.05:
        days.add("sat")
    return frozenset(days)


def _needs(rng: np.random.Generator, programme: str) -> frozenset[str]:
    needs: set[str] = set()
    if rng.random() < NEED_PROBABILITY[programme]:
        needs.add(_pick(rng, NEEDS, NEED_WEIGHTS))
        if rng.random() < 0.2:
            needs.add(_pick(rng, NEEDS, NEED_WEIGHTS))
    if rng.random() < UNMATCHABLE_SHARE:
        needs.add(UNMATCHABLE_NEED)
    return frozenset(needs)


def _person(rng: np.random.Generator, number: int, plan_date: date, slots: tuple[Slot, ...]) -> Participant:
    area = HOME_AREAS[int(rng.choice(len(HOME_AREAS), p=_normalised(tuple(a.share for a in HOME_AREAS))))]
    programmes = PROGRAMMES_BY_MUNICIPALITY[area.municipality]
    programme = _pick(rng, tuple(c for c, _ in programmes), tuple(w for _, w in programmes))
    low, high = AGE_RANGES[programme]
    hours_weights = LOW_HOURS_WEIGHTS if programme in LOW_HOURS_PROGRAMMES else HOURS_WEIGHTS
    lat, lon = _jitter(rng, area.lat, area.lon, area.spread_km)
    # People want what they can see around them, and a few want to try something new.
    near_sites = {t.site_id for t, km in zip(SITES, _km(lat, lon, SITES), strict=True) if km <= PREFERENCE_RADIUS_KM}
    near = sorted({s.activity for s in slots if s.site_id in near_sites})
    everything = sorted({s.activity for s in slots})
    wanted: list[str] = []
    for _ in range(int(rng.choice((1, 2, 3), p=(0.3, 0.4, 0.3)))):
        pool = near if near and rng.random() < 0.85 else everything
        choice = pool[int(rng.integers(len(pool)))]
        if choice not in wanted:
            wanted.append(choice)
    nearby_enterprises = sorted({t.enterprise_id for t in SITES if t.site_id in near_sites})
    avoid = (
        frozenset({nearby_enterprises[int(rng.integers(len(nearby_enterprises)))]})
        if nearby_enterprises and rng.random() < AVOID_SHARE
        else frozenset()
    )
    return Participant(
        participant_id=f"P{number:04d}",
        programme=programme,
        municipality=area.municipality,
        lat=lat,
        lon=lon,
        hours_per_week=int(rng.choice(HOURS, p=_normalised(hours_weights))),
        days_available=_weekdays(rng),
        max_travel_minutes=int(rng.choice(MAX_TRAVEL, p=_normalised(MAX_TRAVEL_WEIGHTS))),
        age=int(rng.integers(low, high + 1)) if rng.random() >= MISSING_AGE_SHARE else None,
        gender=_pick(rng, GENDERS, GENDER_WEIGHTS),
        travel_mode=_pick(rng, MODES, MODE_WEIGHTS),
        needs=_needs(rng, programme),
        preferences=tuple(wanted),
        avoid_enterprises=avoid,
        waiting_since=plan_date - timedelta(days=int(rng.integers(0, WAITING_DAYS_MAX))),
    )


def _km(lat: float, lon: float, sites: tuple[Site, ...]) -> list[float]:
    """Great-circle km from one home to each site."""
    n = len(sites)
    km: list[float] = great_circle_km(
        np.full(n, lat), np.full(n, lon), np.array([t.lat for t in sites]), np.array([t.lon for t in sites])
    ).tolist()
    return km


def _minutes(person: Participant, site: Site) -> int:
    km = np.array(_km(person.lat, person.lon, (site,)))
    speed = np.array([TRAVEL_SPEED_KMH[person.travel_mode]])
    overhead = np.array([TRAVEL_OVERHEAD_MIN[person.travel_mode]])
    return int(estimated_minutes(km, speed, overhead)[0])


def _fits(person: Participant, slot: Slot, site: Site, on: date) -> bool:
    """The nine feasibility rules of the data format, plainly, for one pair (used to pick current slots)."""
    return (
        slot.min_hours <= person.hours_per_week <= slot.max_hours
        and bool(person.days_available & slot.days)
        and person.needs <= site.accessibility | slot.supports
        and _minutes(person, site) <= person.max_travel_minutes
        and (not slot.programmes or person.programme in slot.programmes)
        and (slot.min_age is None or (person.age is not None and person.age >= slot.min_age))
        and (slot.max_age is None or (person.age is not None and person.age <= slot.max_age))
        and (not slot.women_only or person.gender == "f")
        and site.enterprise_id not in person.avoid_enterprises
        and (slot.available_from is None or slot.available_from <= on)
        and (slot.available_to is None or on <= slot.available_to)
    )


def _assign_current_slots(
    rng: np.random.Generator,
    people: list[Participant],
    slots: tuple[Slot, ...],
    site_of: dict[str, Site],
    plan_date: date,
) -> list[Participant]:
    """Give about a tenth of the people the slot they hold now, some pinned, without overfilling anything."""
    holders: Counter[str] = Counter()
    pinned_supervision: defaultdict[str, float] = defaultdict(float)
    wanted = round(CURRENT_SLOT_SHARE * len(people))
    out = list(people)
    for i in rng.permutation(len(people)).tolist():
        if wanted == 0:
            break
        person = people[i]
        open_slots = [
            s for s in slots if holders[s.slot_id] < s.seats and _fits(person, s, site_of[s.site_id], plan_date)
        ]
        if not open_slots:
            continue
        slot = open_slots[int(rng.integers(len(open_slots)))]
        site = site_of[slot.site_id]
        use = SUPERVISION.need(person.hours_per_week, slot.supervision_ratio)
        room = (
            site.supervisor_hours is None
            or pinned_supervision[site.site_id] + use <= PINNED_SUPERVISION_SHARE * site.supervisor_hours
        )
        pinned = room and rng.random() < PINNED_SHARE_OF_CURRENT
        if pinned:
            pinned_supervision[site.site_id] += use
        holders[slot.slot_id] += 1
        out[i] = replace(person, current_slot_id=slot.slot_id, pinned=pinned)
        wanted -= 1
    return out


def sample_region(participants: int = 200, seed: int = 0, plan_date: date = DEFAULT_PLAN_DATE) -> Instance:
    """The seeds' enterprises around Stockholm with `participants` invented people; same arguments, same instance."""
    rng = np.random.default_rng(seed)
    slots = _slots(plan_date)
    site_of = {t.site_id: t for t in SITES}
    people = [_person(rng, n + 1, plan_date, slots) for n in range(participants)]
    people = _assign_current_slots(rng, people, slots, site_of, plan_date)
    return Instance(enterprises=ENTERPRISES, sites=SITES, slots=slots, participants=tuple(people))
