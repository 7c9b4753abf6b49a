"""Broken scenario files: one clear message naming the file, the key path and what is expected.

Contract (SPEC, "Bad input"): exit status 2, no traceback, a short message on stderr, and for
`caresim run` nothing written — no output folder, no temporary folder left behind.

Each case is a small edit of a valid scenario (`BASE`), so the table reads as "what is wrong".
"""
from __future__ import annotations

import copy
import re
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from helpers import REPO, example_params, write_yaml

from sim.cli import main
from sim.scenario import ScenarioError, load_scenario


BASE_TEXT = """\
name: broken
horizon: 2d
arrivals:
  rate: 60/h
  types: {complaint: 0.6, noise: 0.4}
  channels: {twitter: 0.7, facebook: 0.3}
pools:
  social:
    agents: 3
"""
BASE = yaml.safe_load(BASE_TEXT)
MISSING = object()  # the case's file is never written


def variant(changes: dict | None = None, drop: tuple[str, ...] = (), rename: dict | None = None) -> str:
    """YAML text of BASE with dotted keys set (`{"arrivals.rate": "0/h"}`), dropped or renamed."""
    data = copy.deepcopy(BASE)

    def parent(dotted: str):
        *head, last = dotted.split(".")
        node = data
        for key in head:
            node = node.setdefault(key, {})
        return node, last

    for dotted, value in (changes or {}).items():
        node, last = parent(dotted)
        node[last] = value
    for dotted in drop:
        node, last = parent(dotted)
        del node[last]
    for dotted, new in (rename or {}).items():
        node, last = parent(dotted)
        node[new] = node.pop(last)
    return yaml.safe_dump(data, sort_keys=False)


def block(days: str, start: str, end: str, agents: int = 2) -> dict:
    return {"days": days, "from": start, "to": end, "agents": agents}


# (id, file text, key path ("" = the file as a whole), fragments the message must contain)
CASES = [
    # unknown keys, with a "did you mean" hint
    ("unknown-top-level-key", variant(rename={"arrivals": "arivals"}), "arivals",
     ["unknown key", "did you mean 'arrivals'"]),
    ("unknown-nested-key", variant(rename={"arrivals.rate": "rat"}), "arrivals.rat",
     ["unknown key", "did you mean 'rate'"]),
    ("unknown-key-in-list-item", variant({"pools.social": {"schedule": [{"days": "mon-fri", "form": "08:00", "to": "16:00"}]}}),
     "pools.social.schedule.0.form", ["unknown key", "did you mean 'from'"]),
    ("unknown-key-far-from-any", variant({"arrivals.zzz": 1}), "arrivals.zzz",
     ["unknown key", "expected one of", "rate"]),
    ("duplicate-key", BASE_TEXT.replace("    agents: 3\n", "    agents: 3\n    agents: 4\n"), "pools.social.agents",
     ["duplicate key", "line 10"]),
    # units
    ("duration-unit-3x", variant({"horizon": "3x"}), "horizon", ["'3x' is not a duration", "15m", "2h"]),
    ("duration-in-words", variant({"warmup": "1 day"}), "warmup", ["not a duration", "3d"]),
    ("duration-zero-horizon", variant({"horizon": "0d"}), "horizon", ["greater than 0"]),
    ("duration-infinite", variant({"horizon": float("inf")}), "horizon", ["finite"]),
    ("duration-clock-like", variant({"warmup": "1:30"}), "warmup", ["'1:30' is not a duration"]),
    ("rate-without-unit", variant({"arrivals.rate": 120}), "arrivals.rate", ["not a rate", "120/h"]),
    ("rate-unknown-unit", variant({"arrivals.rate": "120/fortnight"}), "arrivals.rate",
     ["unknown time unit 'fortnight'", "s, m, h, d, w"]),
    ("rate-negative", variant({"arrivals.rate": "-5/h"}), "arrivals.rate", ["rate must be positive"]),
    ("rate-zero", variant({"arrivals.rate": "0/h"}), "arrivals.rate", ["rate must be positive"]),
    ("clock-not-hh-mm", variant({"pools.social": {"schedule": [block("mon-fri", "8am", "16:00")]}}),
     "pools.social.schedule.0.from", ["'8am' is not a time of day", "HH:MM"]),
    ("day-range-typo", variant({"pools.social": {"schedule": [block("mon-fry", "08:00", "16:00")]}}),
     "pools.social.schedule.0.days", ["'mon-fry' is not a day range", "mon-fri"]),
    ("incident-at-not-a-time", variant({"arrivals.incidents": [{"at": "tomorrow", "mentions": 100, "decay": "2h"}]}),
     "arrivals.incidents.0.at", ["'tomorrow' is not a time", "2d 19:00"]),
    ("incident-before-start", variant({"arrivals.incidents": [{"at": "2025-12-31T12:00", "mentions": 100, "decay": "2h"}]}),
     "arrivals.incidents.0.at", ["before minute 0"]),
    # shares
    ("type-shares-not-one", variant({"arrivals.types": {"complaint": 0.5, "noise": 0.4}}), "arrivals.types",
     ["shares must sum to 1", "0.9"]),
    ("channel-shares-not-one", variant({"arrivals.channels": {"twitter": 0.7, "facebook": 0.7}}), "arrivals.channels",
     ["shares must sum to 1", "1.4"]),
    ("incident-types-not-one",
     variant({"arrivals.incidents": [{"at": "1d 19:00", "mentions": 100, "decay": "2h", "types": {"complaint": 0.5}}]}),
     "arrivals.incidents.0.types", ["shares must sum to 1", "0.5"]),
    ("types-as-list", variant({"arrivals.types": ["complaint", "noise"]}), "arrivals.types", ["expected a mapping"]),
    # profiles
    ("daily-preset-unknown", variant({"arrivals.daily_profile": "retial"}), "arrivals.daily_profile",
     ["unknown preset 'retial'", "did you mean 'retail'"]),
    ("weekly-preset-unknown", variant({"arrivals.weekly_profile": "weekdays"}), "arrivals.weekly_profile",
     ["unknown preset", "did you mean 'weekday'"]),
    ("daily-profile-23-weights", variant({"arrivals.daily_profile": [1.0] * 23}), "arrivals.daily_profile",
     ["24 finite non-negative weights"]),
    ("weekly-profile-nan", variant({"arrivals.weekly_profile": [float("nan")] + [1.0] * 6}), "arrivals.weekly_profile",
     ["7 finite non-negative weights"]),
    # cascades
    ("branching-one", variant({"arrivals.cascades": {"branching": 1.0, "decay": "30m"}}), "arrivals.cascades",
     ["branching must be below 1"]),
    ("branching-above-max", variant({"arrivals.cascades": {"branching": 0.8, "max_branching": 0.5, "decay": "30m"}}),
     "arrivals.cascades", ["exceeds max_branching"]),
    # pools and staffing
    ("schedule-blocks-overlap",
     variant({"pools.social": {"schedule": [block("mon-fri", "08:00", "16:00"), block("mon-fri", "12:00", "20:00")]}}),
     "pools.social", ["schedule blocks 1 and 2 overlap"]),
    ("channel-no-pool-serves", variant({"pools.social.channels": ["twitter"]}), "pools",
     ["no pool serves", "'facebook'"]),
    ("pool-channel-not-arriving", variant({"pools.social.channels": ["twitter", "facebook", "instagram"]}),
     "pools.social.channels", ["unknown channel 'instagram'", "facebook, twitter"]),
    ("only-pool-zero-agents", variant({"pools.social.agents": 0}), "pools", ["zero agents"]),
    ("channel-pool-zero-agents", variant({"pools.social.channels": ["twitter"], "pools.fb": {"agents": 0, "channels": ["facebook"]}}),
     "pools", ["zero agents", "'facebook'"]),
    ("agents-and-schedule", variant({"pools.social.schedule": [block("mon-fri", "08:00", "16:00")]}), "pools.social",
     ["either `agents` or `schedule`"]),
    ("negative-agents", variant({"pools.social.agents": -1}), "pools.social.agents", ["greater than or equal to 0"]),
    ("agents-beyond-any-team", variant({"pools.social.agents": 10**20}), "pools.social.agents",
     ["less than or equal to 100000"]),
    ("concurrency-beyond-any-agent", variant({"pools.social.concurrency": 10**6}), "pools.social.concurrency",
     ["less than or equal to 100"]),
    ("conversations-beyond-any-team", variant({"pools.social": {"agents": 100_000, "concurrency": 100}}), "pools.social",
     ["agents x concurrency above 100,000"]),
    ("incident-type-name-with-comma",
     variant({"arrivals.incidents": [{"at": "1d", "mentions": 20, "decay": "1h", "types": {"x,y": 1.0}}]}),
     "arrivals.incidents.0.types", ["'x,y'"]),
    ("channel-name-blank", variant({"arrivals.channels": {" ": 1.0}}), "arrivals.channels", ["not blank"]),
    ("schedule-block-without-days", variant({"pools.social": {"schedule": [block([], "08:00", "16:00")]}}),
     "pools.social.schedule.0.days", ["at least one day"]),
    ("day-range-without-end", variant({"pools.social": {"schedule": [block("mon-", "08:00", "16:00")]}}),
     "pools.social.schedule.0.days", ["'mon-' is not a day range"]),
    ("pool-name-with-comma", variant({"pools": {"so,cial": {"agents": 3}}}), "pools", ["'so,cial'", "without commas"]),
    ("type-name-with-line-break", variant({"arrivals.types": {"com\nplaint": 0.6, "noise": 0.4}}), "arrivals.types",
     ["'com\\nplaint'", "line breaks"]),
    ("pools-as-list", variant({"pools": ["social"]}), "pools", ["expected a mapping"]),
    # routing
    ("routing-unknown-pool",
     variant({"pools.specialists": {"agents": 2, "stages": ["resolve"]}, "routing": {"resolve": {"complaint": "specialist"}}}),
     "routing.resolve.complaint", ["unknown pool 'specialist'", "did you mean 'specialists'"]),
    ("routing-to-empty-pool",
     variant({"pools.specialists": {"agents": 0, "stages": ["resolve"]}, "routing": {"resolve": {"complaint": "specialists"}}}),
     "routing.resolve.complaint", ["zero agents"]),
    # expectations, handling, policy, sla
    ("expectation-key-typo", variant({"expectations": {"acknowledge": {"twiter": {"median": "1h"}}}}),
     "expectations.acknowledge.twiter", ["not a channel, a type or 'default'", "did you mean 'twitter'"]),
    ("handling-cv-on-exponential", variant({"handling": {"resolve": {"default": {"dist": "exponential", "mean": "5m", "cv": 0.5}}}}),
     "handling.resolve.default", ["exponential distribution has cv 1", "drop `cv`"]),
    ("handling-zero-cv-lognormal", variant({"handling": {"resolve": {"default": {"dist": "lognormal", "mean": "5m", "cv": 0}}}}),
     "handling.resolve.default", ["lognormal distribution needs cv of at least 0.001", "dist: fixed"]),
    ("handling-zero-cv-gamma", variant({"handling": {"resolve": {"default": {"dist": "gamma", "mean": "5m", "cv": 0}}}}),
     "handling.resolve.default", ["gamma distribution needs cv of at least 0.001", "dist: fixed"]),
    # a gamma's shape is 1 / cv²: with cv 1e-200 that is a division by zero
    ("handling-cv-vanishing-gamma", variant({"handling": {"resolve": {"default": {"dist": "gamma", "mean": "5m", "cv": 1e-200}}}}),
     "handling.resolve.default", ["cv of at least 0.001"]),
    ("handling-cv-huge", variant({"handling": {"resolve": {"default": {"dist": "lognormal", "mean": "5m", "cv": 1e200}}}}),
     "handling.resolve.default.cv", ["less than or equal to 100"]),
    ("handling-negative-cv", variant({"handling": {"resolve": {"default": {"dist": "gamma", "mean": "5m", "cv": -1}}}}),
     "handling.resolve.default.cv", ["greater than or equal to 0"]),
    ("handling-unknown-dist", variant({"handling": {"resolve": {"dist": "weibull", "mean": "5m"}}}),
     "handling.resolve.default.dist", ["'exponential', 'lognormal', 'gamma' or 'fixed'", "weibull"]),
    ("policy-unknown-value", variant({"policy": {"acknowledge": "realtim"}}), "policy.acknowledge",
     ["'realtime', 'batched' or 'with_resolution'", "realtim"]),
    ("batched-without-times", variant({"policy": {"acknowledge": "batched"}}), "policy",
     ["batch_times", "batch_every"]),
    ("batched-every-second", variant({"policy": {"acknowledge": "batched", "batch_every": "1s"}}), "policy.batch_every",
     ["at least 1m"]),
    ("business-hours-clock-without-hours", variant({"sla": {"clock": "business_hours"}}), "sla.business_hours",
     ["needs at least one block"]),
    ("business-hours-without-days",
     variant({"sla": {"clock": "business_hours", "business_hours": [block([], "09:00", "17:00")]}}),
     "sla.business_hours.0.days", ["at least one day"]),
    ("name-with-space", variant({"name": "my scenario"}), "name", ["pattern"]),
    # `.` would write over the outputs folder itself, `..` over its parent
    ("name-only-dots", variant({"name": ".."}), "name", ["cannot name an output folder"]),
    ("duration-overflowing", variant({"horizon": "1e306w"}), "horizon", ["finite"]),
    ("rate-overflowing", variant({"arrivals.rate": "1e308/s"}), "arrivals.rate", ["finite"]),
    # beyond what any run could hold: refused at the key rather than failing in the middle of a run
    ("horizon-beyond-a-century", variant({"horizon": "6000w"}), "horizon", ["longer than a century"]),
    ("report-intervals-beyond-count", variant({"report_interval": "0.001s"}), "report_interval",
     ["more than 10,000,000 intervals"]),
    ("mentions-beyond-count", variant({"arrivals.rate": "1e12/h"}), "arrivals.rate", ["mentions a replication"]),
    ("incident-beyond-count", variant({"arrivals.incidents": [{"at": "1d", "mentions": 1e300, "decay": "1h"}]}),
     "arrivals.incidents.0.mentions", ["less than or equal to 1000000000"]),
    ("incidents-beyond-count-together",
     variant({"arrivals.incidents": [{"at": f"{h}h", "mentions": 6e8, "decay": "1h"} for h in (1, 2)]}),
     "arrivals.incidents", ["mentions a replication (base stream and incidents)"]),
    ("start-out-of-calendar", BASE_TEXT + "start: 9999-12-31T00:00\n", "start", ["between the years 1 and 8899"]),
    ("start-a-bare-number", BASE_TEXT + "start: 0\n", "start", ["expected a calendar time"]),
    ("start-a-quoted-number", BASE_TEXT + "start: '1700000000'\n", "start", ["expected a calendar time"]),
    ("agents-true", variant({"pools.social.agents": True}), "pools.social.agents", ["whole number"]),
    ("replications-true", variant({"replications": True}), "replications", ["whole number"]),
    # dates are read by the scenario's checks, not by YAML: a date that does not exist is named
    ("start-date-that-does-not-exist", BASE_TEXT + "start: 2026-02-30\n", "start", ["2026-02-30"]),
    ("respond-to-nothing", variant({"policy": {"respond_to": []}}), "policy.respond_to", ["at least 1"]),
    ("incident-time-zone-mismatch",
     variant({"arrivals.incidents": [{"at": "2026-01-07T19:00+01:00", "mentions": 10, "decay": "1h"}]}),
     "arrivals.incidents.0.at", ["time zone"]),
    # the file as a whole
    ("missing-required-horizon", variant(drop=("horizon",)), "horizon", ["required key is missing"]),
    ("empty-file", "", "", ["empty"]),
    ("only-a-comment", "# nothing here yet\n", "", ["empty"]),
    ("not-yaml", "name: [unclosed\n", "", ["not valid YAML", "line 2"]),
    ("yaml-list-not-mapping", "- name: a\n- name: b\n", "", ["expected a mapping of scenario keys"]),
    ("yaml-scalar-not-mapping", "just some words\n", "", ["expected a mapping of scenario keys"]),
    ("two-yaml-documents", BASE_TEXT + "---\n" + BASE_TEXT, "", ["not valid YAML"]),
    ("control-character", BASE_TEXT + "description: a\x00b\n", "", ["not valid YAML at character", "#x0000"]),
    ("explicit-tag-that-does-not-fit", BASE_TEXT + "seed: !!int abc\n", "", ["not valid YAML", "abc"]),
    ("nested-too-deeply", BASE_TEXT + "description: " + "[" * 5000 + "]" * 5000 + "\n", "", ["nested too deeply"]),
    ("missing-file", MISSING, "", ["file not found"]),
]
PARAMS = [pytest.param(text, key, fragments, id=case_id) for case_id, text, key, fragments in CASES]


def _write(tmp_path: Path, text) -> Path:
    path = tmp_path / "scenario.yaml"
    if text is not MISSING:
        path.write_text(text, encoding="utf-8")
    return path


def _names_key(message: str, key: str) -> bool:
    """The key path appears whole: `pools` must not be satisfied by `pools.social` (or the reverse)."""
    return re.search(rf"(?<![\w.]){re.escape(key)}(?![\w.])", message) is not None


def _check_message(result, path: Path, key: str, fragments: list[str]) -> None:
    assert result.exit_code == 2, f"exit {result.exit_code}: {result.output}"
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    message = result.stderr.strip()
    assert message, f"nothing on stderr; stdout was: {result.stdout!r}"
    assert len(message.splitlines()) <= 2, f"expected a one-line message, got:\n{message}"
    assert str(path) in message, f"file not named in: {message}"
    rest = message.replace(str(path), "")
    if key:
        assert _names_key(rest, key), f"key path {key!r} not named in: {message}"
    for fragment in fragments:
        assert fragment in rest, f"{fragment!r} not in: {message}"


@pytest.mark.parametrize("text, key, fragments", PARAMS)
def test_library_raises_scenario_error(tmp_path, text, key, fragments):
    path = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    err = info.value
    assert err.path == str(path)
    assert err.key == key
    for fragment in fragments:
        assert fragment in err.message
    assert "\n" not in str(err)


@pytest.mark.parametrize("text, key, fragments", PARAMS)
def test_validate_rejects(tmp_path, text, key, fragments):
    path = _write(tmp_path, text)
    result = CliRunner().invoke(main, ["validate", str(path)])
    _check_message(result, path, key, fragments)


@pytest.mark.parametrize("text, key, fragments", PARAMS)
def test_run_rejects_and_writes_nothing(tmp_path, monkeypatch, text, key, fragments):
    monkeypatch.chdir(tmp_path)  # a default `outputs/` folder would land here too
    path = _write(tmp_path, text)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(path), "-o", str(out), "--replications", "1"])
    _check_message(result, path, key, fragments)
    assert not out.exists()
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ([] if text is MISSING else [path.name]), f"stray files: {left}"


NIGHT_SHIFT = variant({"pools.social": {"schedule": [block("daily", "22:00", "06:00", 1), block("daily", "06:00", "22:00", 3)]}})


def test_night_shift_wrapping_midnight_is_valid(tmp_path):
    path = _write(tmp_path, NIGHT_SHIFT)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    # the two blocks tile the week exactly: 7 days x 24 h, no gap, no overlap
    pool = load_scenario(path).pools["social"]
    spans = sorted(span for b in pool.schedule for span in b.intervals())
    assert sum(b - a for a, b in spans) == 7 * 1440
    assert spans[0][0] == 360 and spans[-1][1] == 7 * 1440 + 360


def test_sunday_night_shift_into_monday_is_valid(tmp_path):
    schedule = [block("sun", "22:00", "06:00", 1), block("mon", "06:00", "22:00", 3)]
    path = _write(tmp_path, variant({"pools.social": {"schedule": schedule}}))
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 0, result.output


def test_unquoted_times_of_day_are_times(tmp_path):
    """YAML 1.1 would read an unquoted 20:00 as the base-60 integer 1200; scenario files do not."""
    text = BASE_TEXT.replace(
        "    agents: 3\n",
        "    schedule:\n"
        "      - {days: mon-fri, from: 08:00, to: 20:00, agents: 3}\n"
        "      - {days: sat-sun, from: 10:00, to: 18:00, agents: 1}\n",
    ) + "policy: {acknowledge: batched, batch_times: [09:00, 13:00, 17:00]}\n"
    path = _write(tmp_path, text)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    scenario = load_scenario(path)
    assert [(b.from_, b.to) for b in scenario.pools["social"].schedule] == [(480, 1200), (600, 1080)]
    assert scenario.policy.batch_times == [540, 780, 1020]


def test_base_scenario_is_valid(tmp_path):
    """The cases above fail because of their one edit, not because BASE is broken."""
    path = _write(tmp_path, BASE_TEXT)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 0, result.output


def _valid_files() -> list:
    """The shared examples (a skipped case saying so when absent) and the shipped scenarios."""
    return example_params() + [pytest.param(p, id=f"scenarios/{p.name}") for p in sorted((REPO / "scenarios").glob("*.yaml"))]


@pytest.mark.parametrize("scenario_file", _valid_files())
def test_shipped_and_example_scenarios_validate(scenario_file):
    result = CliRunner().invoke(main, ["validate", str(scenario_file)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("command", ["run", "compare"])
def test_unwritable_output_folder_is_one_line(tmp_path, command):
    """`-o` below a plain file cannot be created: one error line naming it, exit 1, no traceback."""
    doc = copy.deepcopy(BASE)
    doc["horizon"] = "2h"
    files = []
    for stem in ("a", "b"):
        path = tmp_path / f"{stem}.yaml"
        path.write_text(yaml.safe_dump(doc))
        files.append(str(path))
    blocker = tmp_path / "plain_file"
    blocker.write_text("not a folder")
    args = [command, *(files if command == "compare" else files[:1]), "-o", str(blocker / "out"),
            "--no-report", "-q", "--workers", "1", "--replications", "2"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)      # not an uncaught OSError
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "cannot write the outputs" in lines[0]


def test_a_fixed_time_may_state_its_cv_of_zero():
    """`cv: 0` says what `dist: fixed` means; only the families that vary refuse it."""
    from sim.scenario import parse_scenario

    data = {"name": "x", "horizon": "1d", "arrivals": {"rate": "10/h"}, "pools": {"team": {"agents": 2}},
            "handling": {"resolve": {"default": {"dist": "fixed", "mean": "5m", "cv": 0}}}}
    handling = parse_scenario(data).handling.resolve["default"]
    assert handling.cv == 0 and handling.cv_value == 0.0


def test_text_that_looks_like_a_date_stays_as_written(tmp_path):
    """YAML would read `2026-02-30` as a date (and fail on it); caresim leaves dates to the
    scenario's own checks, so a `description` keeps its text and `start` still reads as a time."""
    path = tmp_path / "dated.yaml"
    path.write_text(BASE_TEXT + "description: 2026-02-30\nstart: 2026-01-07\n")
    scenario = load_scenario(path)
    assert scenario.description == "2026-02-30"
    assert scenario.start.isoformat() == "2026-01-07T00:00:00"


def _scenario_file(tmp_path, **changes) -> str:
    """BASE made 2 hours long (and `changes`), written to a file: its path."""
    return str(write_yaml(tmp_path / f"{changes.get('name', 'scenario')}.yaml", {**BASE, "horizon": "2h", **changes}))


@pytest.mark.parametrize("command", ["run", "compare"])
def test_a_folder_of_other_files_is_never_replaced(tmp_path, command):
    """A run replaces its output folder whole: a folder holding anything but caresim's outputs
    is refused before anything runs, and its files are left as they were."""
    scenario = _scenario_file(tmp_path)
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "chapter1.tex").write_text("months of work")
    args = [command, scenario, *([scenario] if command == "compare" else []), "-o", str(folder),
            "--no-report", "-q", "--workers", "1", "--replications", "1"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "not a caresim output folder" in result.output
    assert [p.name for p in folder.iterdir()] == ["chapter1.tex"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scenario.yaml", "thesis"]   # no temporary folder


def test_outputs_replace_earlier_outputs_but_not_the_working_folder(tmp_path, monkeypatch):
    """A folder caresim wrote (or an empty one) is replaced by the next run; the working folder
    itself (`-o .`) never is."""
    scenario = _scenario_file(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    for _ in range(2):   # empty, then earlier outputs
        result = CliRunner().invoke(main, ["run", scenario, "-o", str(out), "--no-report", "-q", "--workers", "1",
                                           "--replications", "1"])
        assert result.exit_code == 0, result.output
        assert (out / "summary.json").is_file()
    monkeypatch.chdir(out)
    result = CliRunner().invoke(main, ["run", scenario, "-o", ".", "--no-report", "-q", "--replications", "1"])
    assert result.exit_code == 2 and "not a caresim output folder" in result.output
    assert (out / "summary.json").is_file() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_library_never_replaces_a_folder_of_other_files(tmp_path):
    from sim.output import write_outputs
    from sim.runner import run

    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "todo.txt").write_text("keep me")
    result = run(load_scenario(_scenario_file(tmp_path)), replications=1)
    with pytest.raises(FileExistsError, match="not a caresim output folder"):
        write_outputs(result, folder, report=False)
    assert (folder / "todo.txt").read_text() == "keep me"


@pytest.mark.parametrize("args, option", [
    (["--rate", "0/h", "--aht", "5m"], "--rate"),
    (["--rate", "-5/h", "--aht", "5m", "--agents", "3"], "--rate"),
    (["--rate", "1e308/s", "--aht", "5m"], "--rate"),
    (["--rate", "abc", "--aht", "5m"], "--rate"),
    (["--rate", "10/h", "--aht", "0s"], "--aht"),
    (["--rate", "10/h", "--aht", "1e400h"], "--aht"),
    (["--rate", "10/h", "--aht", "5m", "--within", "-1"], "--within"),
    (["--rate", "10/h", "--aht", "5m", "--target", "nan"], "--target"),
    (["--rate", "10/h", "--aht", "5m", "--target", "0"], "--target"),
    (["--rate", "10/h", "--aht", "5m", "--patience", "-3"], "--patience"),
    (["--rate", "100/h", "--aht", "6m", "--agents", "11", "--patience", "1e-300"], "--patience"),
    (["--rate", "1e15/h", "--aht", "5m"], "--rate x --aht"),
])
def test_erlang_names_the_option_it_cannot_use(args, option):
    """Bad numbers for `caresim erlang`: exit 2, one line naming the option, no traceback (and
    no endless search for the staffing of an impossible load)."""
    result = CliRunner().invoke(main, ["erlang", *args])
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output
    assert option in result.output, result.output


def test_a_dask_address_that_is_no_address_is_one_line(tmp_path):
    pytest.importorskip("distributed", reason="the Dask executor needs the optional `distributed` package")
    result = CliRunner().invoke(main, ["run", _scenario_file(tmp_path), "-o", str(tmp_path / "out"), "--dask", "nonsense",
                                       "--no-report", "-q", "--replications", "1"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "--dask nonsense" in lines[0]


def test_a_replication_failing_in_a_comparison_names_its_file(tmp_path, monkeypatch):
    """A replication that raises during `compare` is reported with the file of its scenario."""
    import sim.runner

    real = sim.runner.simulate

    def failing_for_b(scenario, *args, **kwargs):
        if scenario.name == "b":
            raise ArithmeticError("boom")
        return real(scenario, *args, **kwargs)

    monkeypatch.setattr(sim.runner, "simulate", failing_for_b)
    files = [_scenario_file(tmp_path, name=name) for name in ("a", "b")]
    result = CliRunner().invoke(main, ["compare", *files, "-o", str(tmp_path / "out"), "--workers", "1",
                                       "--replications", "1", "--no-report", "-q"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: {files[1]}: ") and "boom" in lines[0]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_leaves_no_temporary_folder(tmp_path):
    """A run ended by SIGTERM (a batch system's, `kill`'s) stops as Ctrl-C stops it: nothing is
    left beside the output folder, which is not written."""
    import os
    import signal
    import subprocess
    import time

    path = _scenario_file(tmp_path, horizon="400d", replications=50)   # far longer than the test waits
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "run", path, "-o", "out", "--no-report", "-q",
                             "--workers", "1"], cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        deadline = time.monotonic() + 60
        while not any(work.iterdir()) and time.monotonic() < deadline:   # the run has begun writing
            time.sleep(0.05)
        assert any(p.name.startswith(".out.") for p in work.iterdir())
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 1 and "Traceback" not in err, err
    assert list(work.iterdir()) == []
