"""The reading rules of the data format: separators, decimal commas, byte-order marks, lists, booleans, dates,
free column order, unknown and missing columns, duplicate ids, the optional travel_times, and .xlsx workbooks."""

from __future__ import annotations

import copy
from datetime import date, datetime
from pathlib import Path

import pytest

from matcher import InvalidDataset, Problem, SolverSettings, read_dataset, solve, write_dataset
from tests.factories import PLAN_DATE, dataset_rows, make_instance, make_participant, make_slot, write_rows

SETTINGS = SolverSettings(time_limit_s=20, workers=1)


def problems_of(folder: Path) -> list[Problem]:
    with pytest.raises(InvalidDataset) as raised:
        read_dataset(folder)
    return raised.value.problems


def test_the_tiny_data_set_reads_as_written(tmp_path: Path) -> None:
    instance, warnings = read_dataset(write_rows(tmp_path, dataset_rows()))
    assert warnings == []
    assert [e.enterprise_id for e in instance.enterprises] == ["vioni", "varme"]
    hantverk, vasby = instance.sites
    assert (hantverk.lat, hantverk.lon, hantverk.supervisor_hours) == (59.6167, 17.85, 10.0)
    assert vasby.supervisor_hours is None and vasby.accessibility == {"wheelchair", "quiet_room"}
    furniture, sewing, shop = instance.slots
    assert furniture.programmes == {"SAMRE"} and furniture.women_only is False
    assert sewing.women_only is True and (sewing.min_age, sewing.max_age) == (18, 64)
    assert (sewing.available_from, sewing.available_to) == (date(2026, 1, 1), date(2026, 12, 31))
    assert shop.supervision_ratio == 0.25  # empty cell: the default
    assert shop.days == {"mon", "tue", "wed", "thu", "fri", "sat"}
    p1, p2, p3 = instance.participants
    assert p1.preferences == ("sewing", "furniture_renovation")  # order kept: it is the ranking
    assert p1.needs == {"wheelchair"} and p1.waiting_since == date(2026, 3, 1)
    assert p2.age is None and p2.gender is None and p2.pinned is True and p2.current_slot_id == "shop"
    assert p2.travel_mode == "bike" and p2.avoid_enterprises == {"vioni"}
    assert p3.pinned is False and p3.current_slot_id is None and p3.preferences == ()
    assert [(t.participant_id, t.site_id, t.minutes) for t in instance.travel_times] == [("P001", "vasby", 40)]


def test_semicolon_files_with_decimal_commas_and_a_byte_order_mark(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["sites"][0].update(lat="59,6167", lon="17,85", supervisor_hours="7,5")
    rows["slots"][1].update(supervision_ratio="0,1")
    rows["participants"][0].update(lat="59,62", lon="17,86")
    semicolon, _ = read_dataset(write_rows(tmp_path / "semi", rows, sep=";", bom=True))

    plain = dataset_rows()
    plain["sites"][0].update(supervisor_hours="7.5")
    plain["slots"][1].update(supervision_ratio="0.1")
    comma, _ = read_dataset(write_rows(tmp_path / "comma", plain, sep=","))

    assert semicolon.sites[0].lat == 59.6167 and semicolon.sites[0].supervisor_hours == 7.5
    assert semicolon.slots[1].supervision_ratio == 0.1
    assert semicolon == comma
    # The byte-order mark is not part of the first column's name.
    assert semicolon.enterprises[0].enterprise_id == "vioni"


def test_a_semicolon_file_may_still_write_decimal_points(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["sites"][0].update(lat="59.6167")
    instance, _ = read_dataset(write_rows(tmp_path, rows, sep=";"))
    assert instance.sites[0].lat == 59.6167


def test_separator_is_detected_per_file(tmp_path: Path) -> None:
    rows = dataset_rows()
    write_rows(tmp_path, {k: v for k, v in rows.items() if k in ("sites", "participants")}, sep=";")
    write_rows(tmp_path, {k: v for k, v in rows.items() if k not in ("sites", "participants")}, sep=",")
    mixed, _ = read_dataset(tmp_path)
    same, _ = read_dataset(write_rows(tmp_path / "all_comma", rows))
    assert mixed == same


def test_a_comma_decimal_in_a_comma_file_is_an_error_with_a_hint(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["sites"][0].update(lat="59,6167")  # csv quotes the cell, so it is one field
    problems = problems_of(write_rows(tmp_path, rows))
    assert [(p.file, p.row, p.column) for p in problems] == [("sites.csv", 2, "lat")]
    assert "not a number" in problems[0].message and ";" in problems[0].message


def test_windows_line_endings(tmp_path: Path) -> None:
    folder = write_rows(tmp_path / "unix", dataset_rows())
    crlf = tmp_path / "crlf"
    crlf.mkdir()
    for file in folder.iterdir():
        (crlf / file.name).write_bytes(file.read_bytes().replace(b"\n", b"\r\n"))
    assert read_dataset(crlf)[0] == read_dataset(folder)[0]


def test_list_cells(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["sites"][0].update(accessibility=" wheelchair |  quiet_room ")
    rows["slots"][0].update(supports="", days=" mon | fri ", programmes="SAMRE | MIA")
    rows["participants"][0].update(preferences=" sewing | second_hand_shop|furniture_renovation ", needs="wheelchair||")
    rows["participants"][1].update(days_available="TUE|Thu")
    instance, _ = read_dataset(write_rows(tmp_path, rows))
    assert instance.sites[0].accessibility == {"wheelchair", "quiet_room"}
    assert instance.slots[0].supports == frozenset()
    assert instance.slots[0].days == {"mon", "fri"}
    assert instance.slots[0].programmes == {"SAMRE", "MIA"}
    assert instance.participants[0].preferences == ("sewing", "second_hand_shop", "furniture_renovation")
    assert instance.participants[0].needs == {"wheelchair"}
    assert instance.participants[1].days_available == {"tue", "thu"}


def test_list_items_keep_their_case(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["slots"][0].update(programmes="SAMRE|SamMA")
    instance, _ = read_dataset(write_rows(tmp_path, rows))
    assert instance.slots[0].programmes == {"SAMRE", "SamMA"}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True), ("TRUE", True), ("True", True), ("yes", True), ("Yes", True), ("ja", True), ("JA", True),
        ("1", True), ("false", False), ("FALSE", False), ("no", False), ("No", False), ("nej", False),
        ("NEJ", False), ("0", False), ("", False), (" ja ", True), ("SANT", True), ("sant", True),
        ("FALSKT", False), ("Falskt", False),
    ],
)  # fmt: skip
def test_booleans(tmp_path: Path, text: str, value: bool) -> None:
    rows = dataset_rows()
    rows["slots"][0].update(women_only=text)
    instance, _ = read_dataset(write_rows(tmp_path, rows))
    assert instance.slots[0].women_only is value


@pytest.mark.parametrize("text", ["maybe", "2", "y", "santt", "-1"])
def test_a_bad_boolean_is_an_error(tmp_path: Path, text: str) -> None:
    rows = dataset_rows()
    rows["slots"][0].update(women_only=text)
    problems = problems_of(write_rows(tmp_path, rows))
    assert [(p.file, p.row, p.column) for p in problems] == [("slots.csv", 2, "women_only")]
    assert f"'{text}' is not a yes/no value" in problems[0].message


def test_iso_dates_and_empty_dates(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["slots"][0].update(available_from="2026-02-28", available_to="")
    rows["participants"][2].update(waiting_since="2024-02-29")
    instance, _ = read_dataset(write_rows(tmp_path, rows))
    assert instance.slots[0].available_from == date(2026, 2, 28)
    assert instance.slots[0].available_to is None
    assert instance.participants[2].waiting_since == date(2024, 2, 29)


@pytest.mark.parametrize("text", ["2026-02-30", "2026-1-5", "05/01/2026", "20260105", "2026-W02-1"])
def test_dates_other_than_yyyy_mm_dd_are_errors(tmp_path: Path, text: str) -> None:
    rows = dataset_rows()
    rows["participants"][0].update(waiting_since=text)
    problems = problems_of(write_rows(tmp_path, rows))
    assert [(p.file, p.row, p.column) for p in problems] == [("participants.csv", 2, "waiting_since")]
    assert problems[0].message == f"'{text}' is not a date in the form YYYY-MM-DD"


@pytest.mark.parametrize("text", ["2026-01-05T10:00", "2026-01-05 00:00", "2026-01-05 10:30:15"])
def test_a_date_with_a_time_of_day_in_a_csv_file_is_an_error(tmp_path: Path, text: str) -> None:
    # Only a workbook's date-time cell at midnight reads as a date (the cell's type says what it is); text does not.
    rows = dataset_rows()
    rows["participants"][0].update(waiting_since=text)
    problems = problems_of(write_rows(tmp_path, rows))
    assert [str(p) for p in problems] == [
        f"participants.csv:2:waiting_since: '{text}' has a time of day; the column takes a date (YYYY-MM-DD)"
    ]


def test_column_order_is_free(tmp_path: Path) -> None:
    rows = dataset_rows()
    reversed_columns = {name: list(reversed(list(table[0]))) for name, table in rows.items()}
    shuffled, warnings = read_dataset(write_rows(tmp_path / "reversed", rows, columns=reversed_columns))
    original, _ = read_dataset(write_rows(tmp_path / "original", rows))
    assert warnings == []
    assert shuffled == original


def test_optional_columns_may_be_left_out(tmp_path: Path) -> None:
    rows = dataset_rows()
    required = {
        "sites": ["site_id", "enterprise_id", "name", "municipality", "lat", "lon"],
        "slots": ["slot_id", "site_id", "activity", "seats", "min_hours", "max_hours", "days"],
        "participants": [
            "participant_id", "programme", "municipality", "lat", "lon", "hours_per_week", "days_available",
            "max_travel_minutes",
        ],
    }  # fmt: skip
    instance, warnings = read_dataset(write_rows(tmp_path, rows, columns=required))
    assert warnings == []
    site = instance.sites[0]
    assert site.accessibility == frozenset() and site.supervisor_hours is None
    slot = instance.slots[0]
    assert slot.supervision_ratio == 0.25 and slot.women_only is False and slot.programmes == frozenset()
    assert slot.min_age is None and slot.available_from is None
    person = instance.participants[1]
    assert person.travel_mode == "transit" and person.pinned is False and person.current_slot_id is None
    assert person.age is None and person.gender is None and person.preferences == ()


def test_unknown_columns_are_a_warning_not_an_error(tmp_path: Path) -> None:
    rows = dataset_rows()
    for row in rows["participants"]:
        row["personnummer_hint"] = "x"
    rows["sites"][0]["Comment"] = "nice place"
    for row in rows["sites"][1:]:
        row["Comment"] = ""
    instance, warnings = read_dataset(write_rows(tmp_path, rows))
    assert len(instance.participants) == 3
    assert sorted((w.file, w.row, w.column) for w in warnings) == [
        ("participants.csv", 1, "personnummer_hint"),
        ("sites.csv", 1, "Comment"),
    ]
    assert all("unknown column" in w.message for w in warnings)


@pytest.mark.parametrize(
    ("table", "column"),
    [("enterprises", "name"), ("sites", "lat"), ("slots", "days"), ("participants", "hours_per_week"),
     ("travel_times", "minutes")],
)  # fmt: skip
def test_a_missing_required_column_is_an_error_naming_file_row_1_and_column(
    tmp_path: Path, table: str, column: str
) -> None:
    rows = dataset_rows()
    columns = {table: [c for c in rows[table][0] if c != column]}
    problems = problems_of(write_rows(tmp_path, rows, columns=columns))
    assert [(p.file, p.row, p.column) for p in problems] == [(f"{table}.csv", 1, column)]
    found = ", ".join(f"'{c}'" for c in columns[table])
    assert str(problems[0]) == f"{table}.csv:1:{column}: required column is missing (columns found: {found})"


def test_headers_match_whatever_their_case_and_spaces(tmp_path: Path) -> None:
    rows = dataset_rows()
    columns = {"enterprises": [" enterprise_id", "NAME ", "Municipality"]}
    rows["enterprises"] = [
        {" enterprise_id": e["enterprise_id"], "NAME ": e["name"], "Municipality": e["municipality"]}
        for e in rows["enterprises"]
    ]
    instance, warnings = read_dataset(write_rows(tmp_path / "typed", rows, columns=columns))
    assert warnings == []
    assert instance == read_dataset(write_rows(tmp_path / "clean", dataset_rows()))[0]


@pytest.mark.parametrize(
    ("table", "column"),
    [("enterprises", "enterprise_id"), ("sites", "site_id"), ("slots", "slot_id"), ("participants", "participant_id")],
)
def test_duplicate_ids_are_errors_on_the_second_row(tmp_path: Path, table: str, column: str) -> None:
    rows = dataset_rows()
    rows[table].append(copy.deepcopy(rows[table][0]))
    problems = problems_of(write_rows(tmp_path, rows))
    row = len(rows[table]) + 1
    assert [(p.file, p.row, p.column) for p in problems] == [(f"{table}.csv", row, column)]
    assert "duplicate" in problems[0].message and "row 2" in problems[0].message


def test_duplicate_travel_time_pair_is_an_error(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["travel_times"].append({"participant_id": "P001", "site_id": "vasby", "minutes": "12"})
    problems = problems_of(write_rows(tmp_path, rows))
    assert [(p.file, p.row) for p in problems] == [("travel_times.csv", 3)]
    assert "duplicate" in problems[0].message


def test_ids_are_case_sensitive(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["participants"].append({**rows["participants"][0], "participant_id": "p001"})
    instance, _ = read_dataset(write_rows(tmp_path, rows))
    assert [p.participant_id for p in instance.participants] == ["P001", "P002", "P003", "p001"]

    rows = dataset_rows()
    rows["participants"][0].update(current_slot_id="Shop")  # not the slot 'shop'
    problems = problems_of(write_rows(tmp_path / "case", rows))
    assert [(p.file, p.row, p.column) for p in problems] == [("participants.csv", 2, "current_slot_id")]


def test_travel_times_is_optional(tmp_path: Path) -> None:
    rows = dataset_rows()
    del rows["travel_times"]
    instance, warnings = read_dataset(write_rows(tmp_path, rows))
    assert instance.travel_times == () and warnings == []


def test_travel_times_with_only_a_header(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["travel_times"] = []
    instance, _ = read_dataset(
        write_rows(tmp_path, rows, columns={"travel_times": ["participant_id", "site_id", "minutes"]})
    )
    assert instance.travel_times == ()


def test_blank_rows_are_skipped_but_keep_row_numbers(tmp_path: Path) -> None:
    rows = dataset_rows()
    blank = dict.fromkeys(rows["participants"][0], "")
    rows["participants"].insert(1, blank)
    rows["participants"][2].update(hours_per_week="99")  # now on spreadsheet row 4
    problems = problems_of(write_rows(tmp_path, rows))
    assert [(p.file, p.row, p.column) for p in problems] == [("participants.csv", 4, "hours_per_week")]

    rows["participants"][2].update(hours_per_week="20")
    instance, _ = read_dataset(write_rows(tmp_path, rows))
    assert [p.participant_id for p in instance.participants] == ["P001", "P002", "P003"]


def test_cells_are_stripped(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["participants"][0].update(participant_id=" P001 ", hours_per_week=" 15 ", gender=" F ", travel_mode="Transit")
    instance, _ = read_dataset(write_rows(tmp_path, rows))
    person = instance.participants[0]
    assert (person.participant_id, person.hours_per_week, person.gender, person.travel_mode) == (
        "P001",
        15,
        "f",
        "transit",
    )


def test_written_data_set_reads_back_equal(tmp_path: Path) -> None:
    original, _ = read_dataset(write_rows(tmp_path / "in", dataset_rows()))
    write_dataset(original, tmp_path / "out")
    again, warnings = read_dataset(tmp_path / "out")
    assert again == original and warnings == []

    built = make_instance(
        [make_participant(preferences=["b", "a"], waiting_since=date(2025, 1, 2), gender="x")],
        [make_slot(supervision_ratio=0.1, available_to=date(2027, 1, 1), women_only=True)],
    )
    write_dataset(built, tmp_path / "built")
    assert read_dataset(tmp_path / "built")[0] == built


# --- .xlsx workbooks ------------------------------------------------------------------------------------------

NUMERIC = {
    "lat": float, "lon": float, "supervisor_hours": float, "supervision_ratio": float, "seats": int, "min_hours": int,
    "max_hours": int, "min_age": int, "max_age": int, "age": int, "hours_per_week": int, "max_travel_minutes": int,
    "minutes": int,
}  # fmt: skip
DATES = {"available_from", "available_to", "waiting_since"}


def _typed(column: str, text: str) -> object:
    """The value as Excel would hold it: numbers as numbers, dates as dates, booleans as booleans, empty as None."""
    if text == "":
        return None
    if column in NUMERIC:
        return NUMERIC[column](text)
    if column in DATES:
        return datetime.fromisoformat(text)
    if column in ("pinned", "women_only"):
        return text.lower() in ("true", "yes", "ja", "1")
    return text


def write_workbook(path: Path, rows: dict[str, list[dict[str, str]]]) -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, table in rows.items():
        sheet = workbook.create_sheet(name)
        header = list(table[0])
        sheet.append(header)
        for row in table:
            sheet.append([_typed(column, row[column]) for column in header])
    workbook.save(path)
    return path


def test_a_workbook_gives_the_same_instance_and_plan_as_the_csv_folder(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["sites"][0].update(supervisor_hours="7.5")
    rows["slots"][1].update(supervision_ratio="0.1")
    book = write_workbook(tmp_path / "data.xlsx", rows)
    from openpyxl import load_workbook

    cells = load_workbook(book)["slots"]
    assert isinstance(cells["D2"].value, int)  # seats typed as a number
    assert isinstance(cells["N3"].value, datetime)  # available_from typed as a date

    from_book, book_warnings = read_dataset(book)
    from_csv, csv_warnings = read_dataset(write_rows(tmp_path / "csv", rows))
    assert from_book == from_csv
    assert book_warnings == csv_warnings == []
    plan_book = solve(from_book, PLAN_DATE, settings=SETTINGS)
    plan_csv = solve(from_csv, PLAN_DATE, settings=SETTINGS)
    assert plan_book.rows == plan_csv.rows
    assert plan_book.placed >= 2


def test_a_workbook_with_text_cells_and_decimal_commas(tmp_path: Path) -> None:
    from openpyxl import Workbook

    rows = dataset_rows()
    rows["sites"][0].update(supervisor_hours="7,5")
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, table in rows.items():
        sheet = workbook.create_sheet(name)
        sheet.append(list(table[0]))
        for row in table:
            sheet.append(list(row.values()))  # every cell as text, as a careless export would
    workbook.save(tmp_path / "text.xlsx")
    instance, _ = read_dataset(tmp_path / "text.xlsx")
    assert instance.sites[0].supervisor_hours == 7.5


def test_workbook_problems_name_the_sheet(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["participants"][1].update(hours_per_week="0")
    del rows["enterprises"]
    book = write_workbook(tmp_path / "bad.xlsx", rows)
    problems = problems_of(book)
    assert [str(p) for p in problems] == [
        "bad.xlsx:0:: required sheet 'enterprises' is missing (sheets found: 'sites', 'slots', 'participants', "
        "'travel_times')",
        "bad.xlsx[participants]:3:hours_per_week: must be between 1 and 40, got 0",
    ]


def test_a_path_that_is_neither_folder_nor_workbook(tmp_path: Path) -> None:
    (tmp_path / "data.txt").write_text("hello")
    assert [p.message for p in problems_of(tmp_path / "data.txt")] == [
        "a data set is a folder of CSV files or one .xlsx workbook"
    ]
    assert [p.message for p in problems_of(tmp_path / "nothing")] == ["no such file or folder"]


def test_an_unquoted_separator_in_a_cell_is_named_by_its_row(tmp_path: Path) -> None:
    folder = write_rows(tmp_path, dataset_rows())
    text = (folder / "sites.csv").read_text(encoding="utf-8")
    (folder / "sites.csv").write_text(text.replace("Värmekällan Väsby", "Värmekällan, Väsby"), encoding="utf-8")
    problems = problems_of(folder)
    assert [str(p) for p in problems] == [
        "sites.csv:3:: 9 cells but the header names 8 columns (a cell holding ',' must be quoted)"
    ]


def test_one_cell_too_many_on_every_row_is_not_read_as_shifted_columns(tmp_path: Path) -> None:
    # pandas would take the first column as an index and shift the others: 'vioni' would vanish silently.
    folder = write_rows(tmp_path, dataset_rows())
    (folder / "enterprises.csv").write_text(
        "enterprise_id,name,municipality\n"
        "vioni,VioNi, Samhällsentreprenörer,Sigtuna\n"
        "varme,Värmekällan,Upplands Väsby,\n",
        encoding="utf-8",
    )
    problems = problems_of(folder)
    assert [(p.file, p.row, p.column) for p in problems] == [("enterprises.csv", 2, ""), ("enterprises.csv", 3, "")]
    assert all("4 cells but the header names 3 columns" in p.message for p in problems)


def test_a_quoted_separator_and_a_quoted_line_break_are_one_cell(tmp_path: Path) -> None:
    folder = write_rows(tmp_path, dataset_rows())
    (folder / "enterprises.csv").write_text(
        'enterprise_id;name;municipality\nvioni;"VioNi; Samhälls-\nentreprenörer";Sigtuna\n'
        "varme;Värmekällan;Upplands Väsby\n",
        encoding="utf-8",
    )
    instance, _ = read_dataset(folder)
    assert [e.name for e in instance.enterprises] == ["VioNi; Samhälls-\nentreprenörer", "Värmekällan"]
    # A later problem is still named by its spreadsheet row (the quoted line break does not count as a row).
    (folder / "enterprises.csv").write_text(
        'enterprise_id;name;municipality\nvioni;"VioNi\nAB";Sigtuna\nvarme;Värmekällan;\n', encoding="utf-8"
    )
    assert [(p.file, p.row, p.column) for p in problems_of(folder)] == [("enterprises.csv", 3, "municipality")]


def test_trailing_separators_on_every_row_are_dropped(tmp_path: Path) -> None:
    # Some exports end every data row with empty cells; that is no shift, and nothing is lost.
    folder = write_rows(tmp_path, dataset_rows())
    text = (folder / "enterprises.csv").read_text(encoding="utf-8").splitlines()
    (folder / "enterprises.csv").write_text("\n".join([text[0]] + [line + ",," for line in text[1:]]) + "\n")
    plain, _ = read_dataset(write_rows(tmp_path / "plain", dataset_rows()))
    instance, _ = read_dataset(folder)
    assert instance.enterprises == plain.enterprises


def test_an_empty_optional_file_is_no_file(tmp_path: Path) -> None:
    folder = write_rows(tmp_path, dataset_rows())
    (folder / "travel_times.csv").write_text("")
    instance, _ = read_dataset(folder)
    assert instance.travel_times == ()


def test_a_workbook_that_is_no_zip_archive_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "book.xlsx").write_text("not a workbook")
    [problem] = problems_of(tmp_path / "book.xlsx")
    assert problem.file == "book.xlsx" and "cannot be opened as an .xlsx workbook" in problem.message


def test_a_control_character_in_a_cell_is_named(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["enterprises"][0]["name"] = "VioNi\x07"
    [problem] = problems_of(write_rows(tmp_path, rows))
    assert str(problem) == "enterprises.csv:2:name: holds a control character (only printable text is allowed)"
