"""Property tests: any valid check-in gets a verdict, and the verdict follows its findings."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from hazmat.events import CheckIn, InvalidEvent, decode
from hazmat.rules import Blacklist, RuleSettings, evaluate
from tests.helpers import base

UNS = ["UN1005", "UN1017", "UN1203", "UN1689", "UN1942", "UN1830", "UN1051"]
CLASSES = ["1", "2", "2.1", "2.2", "2.3", "3", "4.1", "5.1", "6.1", "8", "9"]
PLATES = st.from_regex(r"\A[晋冀蒙黑京][A-Z][A-Z0-9]{5,6}\Z")
IDS = st.from_regex(r"\A\d{17}[\dX]\Z")
DATES = st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)).map(date.isoformat)
KG = st.floats(min_value=1, max_value=40_000, allow_nan=False).map(lambda x: round(x, 1))
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=20)


def maybe(strategy):
    return st.one_of(st.none(), strategy)


@st.composite
def certificates(draw, kind):
    return {
        "number": draw(TEXT),
        "kind": draw(st.sampled_from([kind, "dg_driver", "dg_escort"])),
        "valid_until": draw(DATES),
    }


@st.composite
def checkins(draw) -> dict:
    plate = draw(PLATES)
    load = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "un_number": st.sampled_from(UNS),
                    "name": TEXT,
                    "hazard_class": st.sampled_from(CLASSES),
                    "quantity_kg": KG,
                }
            ),
            min_size=1,
            max_size=3,
        )
    )
    driver_id = draw(IDS)
    items = [
        {"un_number": i["un_number"], "quantity_kg": draw(st.sampled_from([i["quantity_kg"], draw(KG)]))} for i in load
    ]
    offset = timezone(timedelta(hours=draw(st.integers(-12, 14))))
    occurred = datetime(2026, 11, 26, 8, 30, tzinfo=offset) + timedelta(minutes=draw(st.integers(-5000, 5000)))
    return {
        "schema_version": 1,
        "event_id": draw(st.from_regex(r"\A[a-z0-9][a-z0-9-]{0,20}\Z")),
        "site_id": draw(TEXT),
        "occurred_at": occurred.isoformat(),
        "vehicle": {
            "plate": plate,
            "trailer_plate": draw(maybe(st.from_regex(r"\A[晋冀][A-Z][A-Z0-9]{4}挂\Z"))),
            "transport_permit": draw(
                maybe(
                    st.fixed_dictionaries(
                        {
                            "number": TEXT,
                            "valid_until": DATES,
                            "scope": st.lists(st.sampled_from(CLASSES), min_size=1, max_size=4),
                        }
                    )
                )
            ),
            "annual_inspection_valid_until": draw(maybe(DATES)),
            "rated_load_kg": draw(KG),
            "gps_terminal_online": draw(maybe(st.booleans())),
        },
        "carrier": draw(
            maybe(st.fixed_dictionaries({"name": TEXT, "license_number": TEXT, "license_valid_until": DATES}))
        ),
        "driver": {"name": draw(TEXT), "id_number": driver_id, "certificate": draw(maybe(certificates("dg_driver")))},
        "escort": draw(
            maybe(
                st.fixed_dictionaries(
                    {
                        "name": TEXT,
                        "id_number": st.one_of(IDS, st.just(driver_id)),
                        "certificate": maybe(certificates("dg_escort")),
                    }
                )
            )
        ),
        "tank": draw(
            maybe(
                st.fixed_dictionaries(
                    {
                        "number": TEXT,
                        "inspection_valid_until": DATES,
                        "approved_un_numbers": st.lists(st.sampled_from(UNS), max_size=3),
                        "capacity_kg": KG,
                    }
                )
            )
        ),
        "load": load,
        "documents": {
            "waybill": draw(
                maybe(
                    st.fixed_dictionaries(
                        {
                            "number": TEXT,
                            "plate": st.sampled_from([plate, "晋B00000"]),
                            "driver_id_number": st.sampled_from([driver_id, "140202199001011234"]),
                            "escort_id_number": maybe(IDS),
                            "items": st.just(items),
                            "consignor": TEXT,
                            "consignee": maybe(TEXT),
                            "destination": maybe(TEXT),
                        }
                    )
                )
            ),
            "sds_and_label": draw(maybe(st.booleans())),
            "toxic_pass": draw(
                maybe(
                    st.fixed_dictionaries(
                        {
                            "number": TEXT,
                            "valid_until": DATES,
                            "un_numbers": st.lists(st.sampled_from(UNS), min_size=1, max_size=3),
                            "quantity_kg": KG,
                        }
                    )
                )
            ),
            "out_of_province_filing": draw(maybe(st.fixed_dictionaries({"number": TEXT, "valid_until": DATES}))),
        },
    }


SETTINGS = st.builds(
    RuleSettings,
    province=st.sampled_from(["晋", "黑"]),
    waybill_tolerance=st.floats(0, 0.1),
    blacklist=st.builds(Blacklist, plates=st.dictionaries(PLATES, TEXT, max_size=2)),
)


@settings(max_examples=300, deadline=None)
@given(data=checkins(), rule_settings=SETTINGS)
def test_any_valid_checkin_gets_a_verdict(data, rule_settings):
    checkin = decode(CheckIn, json.dumps(data, ensure_ascii=False))
    verdict = evaluate(checkin, rule_settings, strict=True)
    assert verdict.checkin_event_id == data["event_id"]
    assert verdict.verdict == ("refuse" if any(f.severity == "refuse" for f in verdict.findings) else "load")
    ids = [f.rule_id for f in verdict.findings]
    assert ids == sorted(ids)
    per_field = [(f.rule_id, f.field) for f in verdict.findings]
    assert len(per_field) == len(set(per_field)), "at most one finding per rule and field"
    if data["documents"]["waybill"] is None:
        assert not {"DOC-002", "DOC-003", "DOC-004", "DOC-007"} & set(ids)
    if data["tank"] is None:
        assert not any(i.startswith("TNK") for i in ids)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(data=checkins(), path_index=st.integers(0, 10_000), junk=JSON)
def test_any_mutation_is_either_valid_or_an_invalid_event(data, path_index, junk):
    """Replace one value anywhere in a valid check-in with arbitrary JSON: never a crash."""
    paths: list[tuple[object, object]] = []

    def walk(node):
        if isinstance(node, dict):
            for key in node:
                paths.append((node, key))
                walk(node[key])
        elif isinstance(node, list):
            for i in range(len(node)):
                paths.append((node, i))
                walk(node[i])

    walk(data)
    container, key = paths[path_index % len(paths)]
    container[key] = junk  # type: ignore[index]
    raw = json.dumps(data, ensure_ascii=False)
    try:
        checkin = decode(CheckIn, raw)
    except InvalidEvent as exc:
        errors = exc.errors
    else:
        evaluate(checkin, RuleSettings(), strict=True)
        return
    assert errors
    assert all("loc" in e and e["msg"] for e in errors)


def test_strategy_reaches_both_verdicts():
    """Guard against a strategy that only ever produces one outcome."""
    seen: set[str] = set()

    @settings(max_examples=200, deadline=None)
    @given(data=checkins())
    def collect(data):
        seen.add(evaluate(decode(CheckIn, json.dumps(data, ensure_ascii=False)), RuleSettings()).verdict)

    collect()
    assert "refuse" in seen
    good = base()
    assert evaluate(decode(CheckIn, json.dumps(good, ensure_ascii=False)), RuleSettings()).verdict == "load"
