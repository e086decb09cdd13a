"""Every Swedish word the pages show for a code of the data: one mapping per kind, and the rules' reasons."""

from __future__ import annotations

import re

from matcher import EXPLANATION_LABELS

ROLE_SV = {"coach": "Handledare", "coordinator": "Samordnare", "enterprise_manager": "Verksamhetsansvarig"}

RULE_SV: dict[str, str] = {
    "hours_fit": "timmar per vecka passar",
    "days_overlap": "gemensamma veckodagar",
    "needs_covered": "stödbehov tillgodosedda",
    "travel_ok": "resväg inom gränsen",
    "programme_ok": "insatsen får platsen",
    "age_ok": "ålder inom gränsen",
    "gender_ok": "platsen är öppen för personen",
    "not_avoided": "verksamheten undviks inte",
    "date_ok": "platsen är öppen på datumet",
    "seats_free": "lediga platser",
    "supervision_free": "handledartid kvar",
}
assert set(RULE_SV) >= set(EXPLANATION_LABELS), set(EXPLANATION_LABELS) - set(RULE_SV)

WARNING_SOURCE_SV = {
    "slot_change": "ändring av platsen",
    "import": "import",
    "scheduled": "planerad ändring",
}

ACTIVITY_SV = {
    "allotment_garden": "koloniträdgård",
    "bakery": "bageri",
    "cafe": "kafé",
    "carpentry": "snickeri",
    "catering": "catering",
    "cleaning_service": "städservice",
    "cooking": "matlagning",
    "farm_shop": "gårdsbutik",
    "food_packing": "livsmedelspackning",
    "furniture_renovation": "möbelrenovering",
    "garden_maintenance": "trädgårdsskötsel",
    "greenhouse": "växthus",
    "handicraft": "hantverk",
    "home_help_service": "hemtjänst",
    "light_assembly": "lättare montering",
    "organic_growing": "ekologisk odling",
    "property_maintenance": "fastighetsskötsel",
    "reception": "reception",
    "remake_workshop": "redesignverkstad",
    "second_hand_shop": "secondhandbutik",
    "sewing": "sömnad",
}

SUPPORT_SV = {
    "wheelchair": "tillgängligt för rullstol",
    "hearing_loop": "hörslinga",
    "quiet_room": "tyst rum",
    "sign_language": "teckenspråk",
    "swedish_support": "stöd i svenska",
    "npf_supervisor": "handledare med NPF-kunskap",
}

WEEKDAY_SV = {"mon": "mån", "tue": "tis", "wed": "ons", "thu": "tor", "fri": "fre", "sat": "lör", "sun": "sön"}

END_REASON_SV = {
    "work": "Arbete",
    "studies": "Studier",
    "other_programme": "Annan insats",
    "moved": "Flyttat",
    "dropped_out": "Avbrutit",
    "health": "Hälsoskäl",
    "completed": "Avslutad period",
    "transferred": "Flyttad av en plan",
}

CHANGE_SV = {
    "new": "Ny",
    "moves": "Flyttas",
    "leaves": "Lämnar",
    "unchanged": "Behålls",
    "still_waiting": "Oplacerad",
}

PLAN_STATUS_SV = {"queued": "I kö", "running": "Pågår", "done": "Klar", "failed": "Misslyckades"}

ACTION_SV = {"read": "läste", "create": "skapade", "update": "ändrade", "delete": "tog bort", "import": "importerade"}

GROUPING_FILE = {"enterprise": "verksamhet", "site": "arbetsplats", "programme": "insats", "municipality": "kommun"}

ORDINAL_SV = {1: "förstahandsval", 2: "andrahandsval", 3: "tredjehandsval"}


FIELD_SV = {
    "name": "namn",
    "municipality": "kommun",
    "seats": "platser",
    "min_hours": "minst timmar",
    "max_hours": "högst timmar",
    "days": "dagar",
    "supports": "stöd",
    "programmes": "insatser",
    "activity": "aktivitet",
    "available_from": "tillgänglig från",
    "available_to": "tillgänglig till",
    "supervision_ratio": "handledarandel",
    "supervisor_hours": "handledartimmar",
    "accessibility": "tillgänglighet",
    "programme": "insats",
    "hours_per_week": "timmar per vecka",
    "days_available": "dagar",
    "max_travel_minutes": "längsta resväg",
    "preferences": "önskemål",
    "needs": "stödbehov",
    "waiting_since": "väntar sedan",
    "minutes": "minuter",
}


def field(code: str) -> str:
    return FIELD_SV.get(code, code.replace("_", " "))


def activity(code: str) -> str:
    return ACTIVITY_SV.get(code, code.replace("_", " "))


def support(code: str) -> str:
    return SUPPORT_SV.get(code, code.replace("_", " "))


def days(codes: list[str]) -> str:
    return ", ".join(WEEKDAY_SV.get(d, d) for d in codes)


def preference(rank: int | None) -> str:
    if rank is None:
        return ""
    return ORDINAL_SV.get(rank, f"önskemål nr {rank}")


def _numbers(message: str) -> list[str]:
    return re.findall(r"\d+(?:[.,]\d+)?", message)


def reason(rule: str, message: str, names: dict[str, str] | None = None) -> str:
    """The core's reason for a rule that fails, in Swedish; the figures are taken from the core's message."""
    n = _numbers(message)
    if rule == "travel_ok" and len(n) >= 2:
        return f"Resan tar {n[0]} min, mer än {n[1]} min"
    if rule == "hours_fit" and len(n) >= 3:
        return f"Önskar {n[0]} timmar i veckan, platsen har {n[1]}–{n[2]} timmar"
    if rule == "days_overlap":
        return "Inga gemensamma veckodagar"
    if rule == "needs_covered":
        missing = message.removeprefix("needs ").split(" (")[0].split(", ")
        return "Saknar stöd: " + ", ".join(support(m) for m in missing)
    if rule == "programme_ok":
        return "Platserna är reserverade för en annan insats"
    if rule == "age_ok":
        if "no age" in message:
            return "Platsen har åldersgräns och personens ålder saknas"
        return f"Ålder {n[0]} är utanför {n[1]}–{n[2]} år" if len(n) >= 3 else "Åldern är utanför gränsen"
    if rule == "gender_ok":
        return "Platsen är endast för kvinnor"
    if rule == "not_avoided":
        return "Personen vill undvika verksamheten"
    if rule == "date_ok":
        return "Platsen är inte öppen på datumet"
    if rule == "seats_free":
        return "Inga lediga platser"
    if rule == "supervision_free":
        return "Handledartiden är full" + (f" ({n[0]} tim kvar, {n[1]} tim behövs)" if len(n) >= 2 else "")
    return RULE_SV.get(rule, rule).capitalize() + " uppfylls inte"


ERROR_SV = {
    400: "Förfrågan kunde inte utföras.",
    401: "Du behöver logga in.",
    403: "Din roll får inte göra detta.",
    404: "Sidan eller uppgiften finns inte, eller så får du inte se den.",
    409: "Ändringen krockar med något som har hänt under tiden.",
    412: "Någon har ändrat uppgifterna sedan du öppnade sidan.",
    422: "Uppgifterna är inte giltiga.",
    428: "Sidan saknar versionsuppgift; ladda om sidan.",
}


IMPORT_PATTERNS: list[tuple[str, str]] = [
    (r"^required file is missing", "Filen saknas men behövs"),
    (r"^required sheet '([^']*)' is missing", r"Bladet ’\1’ saknas men behövs"),
    (r"^required column is missing; found '([^']*)', did you mean it\?", r"Kolumnen saknas; menade du ’\1’?"),
    (r"^required column is missing", "Kolumnen saknas men behövs"),
    (r"^unknown column, ignored", "Okänd kolumn, den hoppas över"),
    (r"^a column without a name", "En kolumn utan namn, den hoppas över"),
    (r"^duplicate (.+) \(first on row (\d+)\)", r"Dubblett (första gången på rad \2)"),
    (r"^file is empty", "Filen är tom; första raden ska ha kolumnernas namn"),
    (r"^sheet is empty", "Bladet är tomt; första raden ska ha kolumnernas namn"),
    (r"^required value is empty", "Värdet saknas"),
    (r"^'([^']*)' is not a whole number", r"’\1’ är inte ett heltal"),
    (r"^'([^']*)' is not a number", r"’\1’ är inte ett tal"),
    (r"^'([^']*)' is not a date", r"’\1’ är inte ett datum (ÅÅÅÅ-MM-DD)"),
    (r"^'([^']*)' is not a yes/no value", r"’\1’ är inte ja eller nej (skriv ja/nej, sant/falskt eller 1/0)"),
    (r"^unknown weekday '([^']*)'", r"Okänd veckodag ’\1’ (använd mon|tue|wed|thu|fri|sat|sun)"),
    (r"^unknown site '([^']*)'", r"Okänd arbetsplats ’\1’"),
    (r"^unknown enterprise '([^']*)'", r"Okänd verksamhet ’\1’"),
    (r"^unknown slot '([^']*)'", r"Okänd plats ’\1’"),
    (r"^unknown participant '([^']*)'", r"Okänd deltagare ’\1’"),
    (r"^unknown (?:municipality|kommun) '([^']*)'", r"Okänd kommun ’\1’"),
    (r"^unknown [\w ]+ '([^']*)'", r"Okänt värde ’\1’"),
    (r"^must be at least (\S+), got (\S+)", r"Ska vara minst \1, är \2"),
    (r"^must be at most (\S+), got (\S+)", r"Ska vara högst \1, är \2"),
    (r"^must be between|out of range", "Värdet är utanför det tillåtna"),
]


def import_problem(message: str) -> str:
    """A reader's problem in Swedish: the kinds of problem named, with the reader's own words beside the rest."""
    for pattern, swedish in IMPORT_PATTERNS:
        match = re.search(pattern, message)
        if match:
            return match.expand(swedish)
    return f"Felaktigt värde (läsarens ord: {message})"


def hours(value: float) -> str:
    """A number of hours the Swedish way: 2,5 (decimal comma), 3 (no trailing zeros)."""
    return f"{value:g}".replace(".", ",")


def joined(items: list[str]) -> str:
    """'A', 'A och B', 'A, B och C'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " och " + items[-1] if items else ""


# What keeps a person from every slot in reach (the core's `Suggestions.notes`): the kind of note, its figures.
NOTE_PATTERNS: list[tuple[str, str]] = [
    (r"^no preferences recorded", "inga önskemål registrerade"),
    (r"^no slots in the data", "det finns inga platser"),
    (
        r"^no slot within (\d+) min \(the nearest is (\d+) min away\)",
        r"ingen plats inom \1 min (den närmaste är \2 min bort)",
    ),
    (r"^no slot within (\d+) min is open on (\S+)", r"ingen plats inom \1 min är öppen \2"),
    (r"^no slot within (\d+) min offers (\d+) h/week", r"ingen plats inom \1 min med \2 tim/vecka"),
    (r"^no slot within (\d+) min is on the person's days", r"ingen plats inom \1 min på personens veckodagar"),
]


def note(message: str) -> str:
    for pattern, swedish in NOTE_PATTERNS:
        match = re.search(pattern, message)
        if match:
            return match.expand(swedish)
    return "ingen plats passar"


# The service's refusals of a change (its problem `reason`, or the rule of a failed pair), in Swedish, by the form
# field they concern; `{taken}`, `{needed}` and `{rules}` are filled in from the problem's fields.
PROBLEM_SV: dict[str, tuple[str, str]] = {
    "seats_taken": (
        "seats",
        "Platserna kan inte bli färre än de {taken} som är tagna; samordnaren kan avsluta eller flytta placeringarna.",
    ),
    "supervision_needed": (
        "supervision_ratio",
        "De aktiva placeringarna behöver {needed} handledartimmar i veckan; arbetsplatsen har för få. Höj "
        "arbetsplatsens handledartimmar först, eller ändra när placeringarna har avslutats.",
    ),
    "seats_free": ("slot_id", "Platsen är full; välj en annan plats eller vänta tills en placering avslutas."),
    "supervision_free": (
        "slot_id",
        "Arbetsplatsen har inte handledartid kvar för personens timmar; välj en annan plats.",
    ),
    "rules": ("slot_id", "Platsen passar inte personen: {rules}."),
    "holds_seat": ("slot_id", "Deltagaren har redan en plats; avsluta den först."),
    "ended_already": ("end_date", "Placeringen är redan avslutad."),
    "end_before_start": ("end_date", "Slutdatumet ligger före placeringens startdatum."),
    "stale": ("version", "Någon har ändrat uppgifterna sedan du öppnade sidan; ladda om sidan och försök igen."),
}


def problem(status: int, detail: str, extra: dict[str, object]) -> tuple[str, str]:
    """The field a refused change concerns and the Swedish message for it, from the problem's reason and fields.

    The kind of problem is read from its structured fields (`reason`, `rules`, `placement_id`); the detail text is
    only consulted for the two refusals that carry no reason of their own (ended already, end before start)."""
    reason = str(extra.get("reason", ""))
    if status == 412:
        reason = "stale"
    elif "rules" in extra:
        failures = extra["rules"]
        said = [reason_of(f) for f in failures] if isinstance(failures, list) else []
        field, text = PROBLEM_SV["rules"]
        return field, text.format(rules="; ".join(s for s in said if s).lower() or "en regel uppfylls inte")
    elif "placement_id" in extra and not reason:
        reason = "holds_seat"
    elif "ended already" in detail:
        reason = "ended_already"
    elif "before start_date" in detail:
        reason = "end_before_start"
    if reason not in PROBLEM_SV:
        return "", ERROR_SV.get(status, "Något gick fel.")
    field, text = PROBLEM_SV[reason]
    placements = extra.get("placements")
    taken = len(placements) if isinstance(placements, list) else "redan"
    needed = extra.get("supervisor_hours_needed")
    return field, text.format(taken=taken, needed=hours(float(needed)) if isinstance(needed, int | float) else "fler")


def reason_of(failure: object) -> str:
    if isinstance(failure, dict):
        return reason(str(failure.get("rule", "")), str(failure.get("message", "")))
    return ""


# --- decision support: what would make it fit, capacity value, fairness ------------------------------------------

WEEKDAY_LONG_SV = {
    "mon": "måndagar",
    "tue": "tisdagar",
    "wed": "onsdagar",
    "thu": "torsdagar",
    "fri": "fredagar",
    "sat": "lördagar",
    "sun": "söndagar",
}


def _amount(value: float | None) -> str:
    return hours(value) if value is not None else ""


ENGLISH_DAYS = {
    "Monday": "mon",
    "Tuesday": "tue",
    "Wednesday": "wed",
    "Thursday": "thu",
    "Friday": "fri",
    "Saturday": "sat",
    "Sunday": "sun",
}


def whatif_change(rule: str, amount: float | None, reason_text: str, change_text: str) -> str:
    """The smallest change on one blocking rule (matcher.WhatIfChange: its rule, amount, reason and change), in
    Swedish with its figure."""
    n = _numbers(reason_text)
    a = _amount(amount)
    if rule == "travel_ok":
        shown = f" ({n[0]} > {n[1]})" if len(n) >= 2 else ""
        return f"{a} minuter längre resväg tillåten{shown}"
    if rule == "hours_fit":
        return f"platsens timgräns ändrad med {a} timmar i veckan, så att personens timmar ryms"
    if rule == "days_overlap":
        found = re.search(r"offering (\w+?)s\b", change_text)
        day = ENGLISH_DAYS.get(found.group(1), "") if found else ""
        return f"platsen öppen även {WEEKDAY_LONG_SV[day]}" if day else "en veckodag som både platsen och personen har"
    if rule == "needs_covered":
        return (
            "lokalen eller platsen ger stödet som saknas ("
            + reason(rule, reason_text).removeprefix("Saknar stöd: ")
            + ")"
        )
    if rule == "programme_ok":
        return "platsen öppen även för personens insats"
    if rule == "age_ok":
        return f"åldersgränsen ändrad med {a} år" if amount else "platsen utan åldersgräns"
    if rule == "gender_ok":
        return "platsen öppen inte bara för kvinnor"
    if rule == "not_avoided":
        return "personen undviker inte längre verksamheten"
    if rule == "date_ok":
        return f"platsens period flyttad {a} dagar så att den är öppen på datumet"
    if rule == "seats_free":
        return f"{a} plats till" if amount == 1 else f"{a} platser till"
    if rule == "supervision_free":
        return f"{a} handledartimmar till i veckan på arbetsplatsen"
    return RULE_SV.get(rule, rule)


DIMENSION_SV = {
    "programme": "Insats",
    "municipality": "Kommun",
    "need": "Stödbehov",
    "gender": "Kön",
    "age_band": "Åldersgrupp",
}
GROUP_SV = {"none": "inget", "unknown": "okänt", "f": "kvinna", "m": "man", "x": "annat"}
METHOD_SV = {"re-solve": "omräknad", "LP bound": "LP-gräns (högst)"}


def group(dimension: str, code: str) -> str:
    if dimension == "need" and code in SUPPORT_SV:
        return SUPPORT_SV[code]
    return GROUP_SV.get(code, code)


def counted(counts: dict[str, int]) -> str:
    """`SAMRE 2, UNGA 1` (most first, as the report orders them)."""
    return ", ".join(f"{key} {n}" for key, n in counts.items())


def idle_reasons(reasons: dict[str, int]) -> str:
    """The rules that keep people out of an idle slot, the most first, in Swedish with how many each keeps out."""
    return ", ".join(f"{RULE_SV.get(rule, rule)} saknas för {n}" for rule, n in list(reasons.items())[:4])
