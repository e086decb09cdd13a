"""The files coordinators really have: what Swedish Excel saves, headers and sheets as people type them, and typos
that would change who gets what. Each form reads as the same instance as the clean sample, or names its problem
exactly; and a data set with many problems names them all at once."""

from __future__ import annotations

import copy
from datetime import datetime
from pathlib import Path

import pytest

from matcher import InvalidDataset, Problem, read_dataset
from matcher.io.municipalities import municipalities, official_name
from tests.factories import Rows, dataset_rows, write_rows

DECIMAL_COLUMNS = {"lat", "lon", "supervisor_hours", "supervision_ratio"}
WINDOWS_1252 = "read as Windows-1252, the encoding of Excel's semicolon CSV"


def clean(tmp_path: Path) -> object:
    instance, warnings = read_dataset(write_rows(tmp_path / "clean", dataset_rows()))
    assert warnings == []
    return instance


def problems_and_warnings(path: Path) -> tuple[list[str], list[str]]:
    with pytest.raises(InvalidDataset) as raised:
        read_dataset(path)
    return [str(p) for p in raised.value.problems], [str(w) for w in raised.value.warnings]


def with_decimal_commas(rows: Rows) -> Rows:
    """What Excel with Swedish number settings writes: `59,6167`, `0,25`."""
    out = copy.deepcopy(rows)
    for table in out.values():
        for row in table:
            for column in DECIMAL_COLUMNS & row.keys():
                row[column] = row[column].replace(".", ",")
    return out


# --- encodings and separators ------------------------------------------------------------------------------------


def test_excel_semicolon_csv_in_windows_1252_with_swedish_letters(tmp_path: Path) -> None:
    folder = write_rows(tmp_path / "excel", with_decimal_commas(dataset_rows()), sep=";", encoding="cp1252",
                        line_end="\r\n")  # fmt: skip
    raw = (folder / "sites.csv").read_bytes()
    assert "Värmekällan".encode("cp1252") in raw and b";" in raw  # really the form Excel saves

    instance, warnings = read_dataset(folder)
    assert instance == clean(tmp_path)
    assert instance.enterprises[0].name == "VioNi Samhällsentreprenörer"
    assert instance.sites[1].municipality == "Upplands Väsby"
    # One warning per file that was not UTF-8 (slots.csv and travel_times.csv hold ASCII only, which is UTF-8 too).
    expected = []
    for name in ("enterprises", "sites", "participants"):
        data = (folder / f"{name}.csv").read_bytes()
        first = next(i for i, byte in enumerate(data) if byte >= 0x80)
        expected.append(f"{name}.csv:0:: not UTF-8 (byte {first}); {WINDOWS_1252}")
    assert sorted(str(w) for w in warnings) == sorted(expected)


def test_excel_unicode_text_utf16_with_tabs(tmp_path: Path) -> None:
    folder = write_rows(tmp_path / "unicode", with_decimal_commas(dataset_rows()), sep="\t", encoding="utf-16",
                        line_end="\r\n")  # fmt: skip
    assert (folder / "sites.csv").read_bytes()[:2] == b"\xff\xfe"  # the byte-order mark Excel writes
    instance, warnings = read_dataset(folder)
    assert instance == clean(tmp_path)
    assert warnings == []  # the byte-order mark says what it is: nothing was assumed


def test_utf16_big_endian_and_utf8_with_bom_read_alike(tmp_path: Path) -> None:
    big = write_rows(tmp_path / "be", dataset_rows(), sep="\t")
    for file in big.iterdir():
        file.write_bytes(b"\xfe\xff" + file.read_text(encoding="utf-8").encode("utf-16-be"))
    bom = write_rows(tmp_path / "bom", dataset_rows(), sep=";", bom=True)
    assert read_dataset(big) == read_dataset(bom) == (clean(tmp_path), [])


def test_a_tab_file_may_hold_commas_in_text_and_decimal_commas(tmp_path: Path) -> None:
    rows = with_decimal_commas(dataset_rows())
    rows["enterprises"][0]["name"] = "VioNi, Samhällsentreprenörer"
    instance, _ = read_dataset(write_rows(tmp_path, rows, sep="\t"))
    assert instance.enterprises[0].name == "VioNi, Samhällsentreprenörer"
    assert instance.sites[0].lat == 59.6167


def test_bytes_that_are_neither_utf8_nor_windows_1252_are_a_problem(tmp_path: Path) -> None:
    folder = write_rows(tmp_path, dataset_rows())
    (folder / "enterprises.csv").write_bytes(b"enterprise_id,name,municipality\nvioni,Vio\x81Ni,Sigtuna\n")
    problems, _ = problems_and_warnings(folder)
    assert problems == ["enterprises.csv:0:: neither UTF-8 (byte 41) nor Windows-1252 text (byte 41)"]


def test_utf16_without_a_byte_order_mark_is_a_problem_not_garbage(tmp_path: Path) -> None:
    folder = write_rows(tmp_path, dataset_rows())
    (folder / "enterprises.csv").write_bytes("enterprise_id,name,municipality\nvioni,Vö,Sigtuna\n".encode("utf-16-le"))
    problems, _ = problems_and_warnings(folder)
    assert problems == ["enterprises.csv:0:: looks like UTF-16 without a byte-order mark; save it as UTF-8"]


# --- headers, sheets and files as people type them ---------------------------------------------------------------


def test_headers_in_any_case_and_with_spaces(tmp_path: Path) -> None:
    rows = dataset_rows()
    renamed = {"seats": " Seats ", "slot_id": "Slot_ID", "hours_per_week": "Hours_Per_Week\u00a0", "lat": "LAT",
               "participant_id": " participant_id", "max_travel_minutes": "Max_Travel_Minutes"}  # fmt: skip
    typed = {name: [{renamed.get(k, k): v for k, v in row.items()} for row in table] for name, table in rows.items()}
    instance, warnings = read_dataset(write_rows(tmp_path / "typed", typed))
    assert warnings == []
    assert instance == clean(tmp_path)


def test_a_missing_column_names_the_columns_found_and_the_closest(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["slots"] = [{("Seat" if k == "seats" else k): v for k, v in row.items()} for row in rows["slots"]]
    problems, warnings = problems_and_warnings(write_rows(tmp_path, rows))
    found = ", ".join(f"'{c}'" for c in rows["slots"][0])
    assert problems == [
        f"slots.csv:1:seats: required column is missing; found 'Seat', did you mean it? (columns found: {found})"
    ]
    assert warnings == ["slots.csv:1:Seat: unknown column, ignored; did you mean 'seats'?"]


def test_a_column_named_twice_but_for_case_is_an_error(tmp_path: Path) -> None:
    rows = dataset_rows()
    for row in rows["slots"]:
        row["Seats"] = "9"
    problems, _ = problems_and_warnings(write_rows(tmp_path, rows))
    assert problems == [
        "slots.csv:1:seats: column 'Seats' repeats column 'seats' (names ignore case and spaces); keep one"
    ]


def test_file_names_in_another_case_and_excel_unicode_text_names(tmp_path: Path) -> None:
    folder = write_rows(tmp_path / "windows", dataset_rows(), sep="\t", encoding="utf-16")
    (folder / "sites.csv").rename(folder / "Sites.csv")
    (folder / "participants.csv").rename(folder / "participants.txt")  # Excel's "Unicode text" ends in .txt
    instance, warnings = read_dataset(folder)
    assert instance == clean(tmp_path) and warnings == []


# --- booleans, dates -----------------------------------------------------------------------------------------------


def test_swedish_excel_booleans(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["slots"][0]["women_only"] = "FALSKT"
    rows["slots"][1]["women_only"] = "SANT"
    rows["participants"][1]["pinned"] = "Sant"
    rows["participants"][2]["pinned"] = "falskt"
    instance, warnings = read_dataset(write_rows(tmp_path, rows))
    assert instance == clean(tmp_path) and warnings == []


# --- municipalities -----------------------------------------------------------------------------------------------


def test_the_municipality_list_is_scbs_290() -> None:
    rows = municipalities()
    assert len(rows) == 290
    assert len({m.code for m in rows}) == 290 and len({m.name for m in rows}) == 290
    assert all(len(m.code) == 4 and m.code.isdigit() and m.code.startswith(m.county_code) for m in rows)
    by_code = {m.code: m.name for m in rows}
    assert by_code["0114"] == "Upplands Väsby"
    assert by_code["0139"] == "Upplands-Bro"
    assert by_code["0191"] == "Sigtuna"
    assert by_code["0136"] == "Haninge"
    assert by_code["0180"] == "Stockholm"
    assert by_code["0305"] == "Håbo" and by_code["0643"] == "Habo"
    assert by_code["0980"] == "Gotland"
    assert by_code["1462"] == "Lilla Edet"
    assert by_code["2062"] == "Mora" and by_code["2080"] == "Falun"
    assert by_code["2283"] == "Sollefteå" and by_code["2321"] == "Åre" and by_code["2418"] == "Malå"
    assert by_code["2584"] == "Kiruna"


@pytest.mark.parametrize(
    ("typed", "official"),
    [("Upplands Vasby", "Upplands Väsby"), ("sigtuna", "Sigtuna"), ("  Sigtuna", "Sigtuna"),
     ("upplands bro", "Upplands-Bro"), ("GOTEBORG", "Göteborg"), ("habo", "Habo"), ("Habo", "Habo"),
     ("Håbo", "Håbo"), ("Ha\u030abo", "Håbo")],
)  # fmt: skip
def test_near_misses_read_as_the_official_name(typed: str, official: str) -> None:
    assert official_name(typed.strip()) == official


@pytest.mark.parametrize(
    ("typed", "message"),
    [("Sigtna", "'Sigtna' is not a Swedish municipality; did you mean Sigtuna?"),
     ("Märsta", "'Märsta' is not a Swedish municipality; did you mean Mariestad, Karlstad or Fagersta?"),
     ("Väsby", "'Väsby' is not a Swedish municipality; did you mean Upplands Väsby, Vansbro or Täby?"),
     ("Hàbo", "'Hàbo' is not a Swedish municipality; did you mean Håbo or Habo?"),
     ("Town 01", "'Town 01' is not a Swedish municipality (use the name of one of SCB's 290, e.g. Sigtuna)")],
)  # fmt: skip
def test_an_unknown_municipality_names_the_closest(typed: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        official_name(typed)
    assert str(raised.value) == message


def test_a_municipality_typo_in_a_file(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["participants"][0]["municipality"] = "Sigtna"
    problems, _ = problems_and_warnings(write_rows(tmp_path / "typo", rows))
    assert problems == [
        "participants.csv:2:municipality: 'Sigtna' is not a Swedish municipality; did you mean Sigtuna?"
    ]


def test_a_municipality_without_its_diacritics_is_a_warning_and_read_as_official(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["sites"][1]["municipality"] = "Upplands Vasby"
    rows["participants"][1]["municipality"] = "Upplands Vasby"
    rows["participants"][0]["municipality"] = "sigtuna"
    rows["participants"][2]["municipality"] = "sigtuna"
    instance, warnings = read_dataset(write_rows(tmp_path, rows))
    assert instance == clean(tmp_path)
    assert sorted(str(w) for w in warnings) == [
        "participants.csv:2:municipality: 'sigtuna' read as 'Sigtuna' (also on 1 more row)",
        "participants.csv:3:municipality: 'Upplands Vasby' read as 'Upplands Väsby'",
        "sites.csv:3:municipality: 'Upplands Vasby' read as 'Upplands Väsby'",
    ]


# --- every problem at once ----------------------------------------------------------------------------------------


def test_one_bad_cell_in_each_of_four_files_and_one_bad_reference_are_all_five_reported(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["enterprises"][1]["municipality"] = "Sigtna"
    rows["sites"][0]["lat"] = "north"  # the site's id still parses: slots at it are not "unknown site"
    rows["slots"][0]["seats"] = "many"
    rows["participants"][1]["hours_per_week"] = "99"
    rows["slots"][2]["site_id"] = "vasbyy"  # the reference, in a file that also has a bad cell
    problems, _ = problems_and_warnings(write_rows(tmp_path, rows))
    assert problems == [
        "enterprises.csv:3:municipality: 'Sigtna' is not a Swedish municipality; did you mean Sigtuna?",
        "participants.csv:3:hours_per_week: must be between 1 and 40, got 99",
        "sites.csv:2:lat: 'north' is not a number",
        "slots.csv:2:seats: 'many' is not a whole number",
        "slots.csv:4:site_id: unknown site 'vasbyy'",
    ]


def test_references_are_checked_though_a_file_lacks_a_column(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["participants"][0]["current_slot_id"] = "nowhere"
    columns = {"sites": [c for c in rows["sites"][0] if c != "lon"]}
    problems, _ = problems_and_warnings(write_rows(tmp_path, rows, columns=columns))
    assert [p.split(": ")[0] for p in problems] == ["participants.csv:2:current_slot_id", "sites.csv:1:lon"]


def test_references_into_a_missing_file_are_not_reported_as_unknown(tmp_path: Path) -> None:
    rows = dataset_rows()
    del rows["sites"]
    problems, _ = problems_and_warnings(write_rows(tmp_path, rows))
    assert problems == ["sites.csv:0:: required file is missing"]


# --- programme and activity codes ---------------------------------------------------------------------------------


def test_a_code_that_differs_from_a_known_one_by_case_or_one_letter_is_a_warning(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["participants"][2]["programme"] = "Samre"  # SAMRE on two other rows
    rows["participants"][0]["preferences"] = "sewnig|furniture_renovation"  # `sewing` is a slot's activity
    rows["participants"][1]["preferences"] = "sewing"
    instance, warnings = read_dataset(write_rows(tmp_path, rows))
    assert instance.participants[2].programme == "Samre"  # read as written: codes are exact
    assert sorted(str(w) for w in warnings) == [
        "participants.csv:2:preferences: activity 'sewnig' (1 row) differs from 'sewing' (2 rows) by one letter; "
        "a typo?",
        "participants.csv:4:programme: programme 'Samre' (1 row) differs from 'SAMRE' (2 rows) only by case; a typo?",
    ]


def test_a_code_on_one_row_of_a_large_data_set_is_a_warning(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["participants"][1]["programme"] = "SAMRE"  # MIA would be on one row of the large set too
    template = rows["participants"][2]
    rows["participants"] += [{**template, "participant_id": f"X{i:03d}"} for i in range(100)]
    rows["participants"][-1]["programme"] = "UNGA"
    _, warnings = read_dataset(write_rows(tmp_path / "large", rows))
    assert [str(w) for w in warnings] == [
        "participants.csv:104:programme: programme 'UNGA' appears on this row only; a typo?",
    ]
    # In a small data set, a code seen once is normal.
    small = dataset_rows()
    small["participants"][2]["programme"] = "UNGA"
    assert read_dataset(write_rows(tmp_path / "small", small))[1] == []


# --- workbooks as Excel saves them --------------------------------------------------------------------------------


def excel_workbook(path: Path, rows: Rows, sheet_names: dict[str, str], header_names: dict[str, str]) -> Path:
    """Cells typed as Excel types them: numbers, booleans, dates as date-times at midnight."""
    from openpyxl import Workbook

    numbers = {"lat", "lon", "supervisor_hours", "supervision_ratio", "seats", "min_hours", "max_hours", "min_age",
               "max_age", "age", "hours_per_week", "max_travel_minutes", "minutes"}  # fmt: skip
    dates = {"available_from", "available_to", "waiting_since"}
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, table in rows.items():
        sheet = workbook.create_sheet(sheet_names.get(name, name))
        header = list(table[0])
        sheet.append([header_names.get(c, c) for c in header])
        for row in table:
            cells: list[object] = []
            for column in header:
                text = row[column]
                if text == "":
                    cells.append(None)
                elif column in numbers:
                    cells.append(float(text) if "." in text else int(text))
                elif column in dates:
                    cells.append(datetime.fromisoformat(text))
                elif column == "women_only":
                    cells.append(text == "true")
                else:
                    cells.append(text)
            sheet.append(cells)
    workbook.save(path)
    return path


def test_a_workbook_as_people_make_it(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["participants"][1]["pinned"] = "SANT"  # typed as text in a Swedish Excel
    rows["participants"][2]["pinned"] = "FALSKT"
    book = excel_workbook(
        tmp_path / "book.xlsx", rows,
        sheet_names={"slots": " Slots ", "participants": "Participants", "enterprises": "ENTERPRISES"},
        header_names={"seats": "Seats", "participant_id": " Participant_id "},
    )  # fmt: skip
    from openpyxl import load_workbook

    saved = load_workbook(book)
    assert saved.sheetnames[2] == " Slots "
    assert isinstance(saved[" Slots "]["L2"].value, bool) and isinstance(saved[" Slots "]["N3"].value, datetime)

    instance, warnings = read_dataset(book)
    assert instance == clean(tmp_path) and warnings == []


def test_a_workbook_date_time_that_is_not_midnight_is_an_error_naming_the_cell(tmp_path: Path) -> None:
    rows = dataset_rows()
    rows["slots"][1]["available_from"] = "2026-01-01T10:30"
    rows["participants"][0]["waiting_since"] = "2026-03-01T00:00:00"  # midnight: read as the date
    book = excel_workbook(tmp_path / "book.xlsx", rows, {"slots": " Slots "}, {})
    problems, _ = problems_and_warnings(book)
    assert problems == [
        "book.xlsx[slots]:3:available_from: '2026-01-01 10:30' has a time of day; the column takes a date (YYYY-MM-DD)"
    ]


def test_a_missing_sheet_names_the_sheets_found_and_the_closest(tmp_path: Path) -> None:
    book = excel_workbook(tmp_path / "book.xlsx", dataset_rows(), {"participants": "Participant"}, {})
    problems, _ = problems_and_warnings(book)
    assert problems == [
        "book.xlsx:0:: required sheet 'participants' is missing; found 'Participant', did you mean it? "
        "(sheets found: 'enterprises', 'sites', 'slots', 'Participant', 'travel_times')"
    ]


def test_two_sheets_that_differ_only_by_case_are_an_error(tmp_path: Path) -> None:
    rows = dataset_rows()
    book = excel_workbook(tmp_path / "book.xlsx", rows, {}, {})
    from openpyxl import load_workbook

    workbook = load_workbook(book)
    workbook.create_sheet("Slots ")
    workbook.save(book)
    problems, _ = problems_and_warnings(book)
    assert problems == ["book.xlsx:0:: sheets 'slots' and 'Slots ' could both be 'slots'; keep one"]


def test_problem_type_is_unchanged() -> None:
    # The service passes problems through as file/row/column/message; the reader added no other kind.
    assert Problem("a.csv", 1, "b", "c").__slots__ == ("file", "row", "column", "message")


def test_columns_without_a_name(tmp_path: Path) -> None:
    # Excel writes `;;` after the header when a stray cell widened the sheet: empty, nameless columns say nothing.
    folder = write_rows(tmp_path / "data", dataset_rows(), sep=";")
    text = (folder / "enterprises.csv").read_text(encoding="utf-8").splitlines()
    (folder / "enterprises.csv").write_text("\n".join(line + ";;" for line in text) + "\n", encoding="utf-8")
    instance, warnings = read_dataset(folder)
    assert instance == clean(tmp_path) and warnings == []

    lines = [line + ";;" for line in text]
    lines[1] += "note"  # now the second nameless column holds something
    (folder / "enterprises.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    instance, warnings = read_dataset(folder)
    assert instance == clean(tmp_path)
    assert [str(w) for w in warnings] == ["enterprises.csv:1:: a column without a name, ignored"]


def test_a_byte_order_mark_that_lies_is_a_problem(tmp_path: Path) -> None:
    folder = write_rows(tmp_path, dataset_rows())
    (folder / "enterprises.csv").write_bytes(b"\xef\xbb\xbfenterprise_id,name,municipality\nvioni,V\xe4rme,Sigtuna\n")
    problems, _ = problems_and_warnings(folder)
    assert problems == ["enterprises.csv:0:: starts as UTF-8 but is not UTF-8 text (byte 42)"]


def test_the_comma_decimal_hint_is_given_only_where_a_comma_decimal_is_not_allowed() -> None:
    from matcher.io.cells import to_float

    with pytest.raises(ValueError) as in_comma_file:
        to_float("59,x", False)
    assert "allowed only in a file separated by ';'" in str(in_comma_file.value)
    with pytest.raises(ValueError) as in_semicolon_file:
        to_float("59,x", True)
    assert str(in_semicolon_file.value) == "'59,x' is not a number"
