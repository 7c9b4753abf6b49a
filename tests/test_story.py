"""`caresim story`: one customer's experience in words, checked against mentions.csv.

The clock times a story prints are parsed back and compared with the row's times (cut to the
minute, on the scenario calendar), for every outcome, under realtime acknowledgement and under
`with_resolution`.
"""
from __future__ import annotations

import csv
import math
import re
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.records import CSV_COLUMNS, OUTCOMES, TIME_COLUMNS, MentionLog
from sim.rundir import RunInfo, read_info, read_mentions
from sim.story import between, channel_verb, clock, pick, span, tell, with_article

START = datetime(2026, 1, 6)   # a Tuesday
SCENARIO = """\
name: {name}
horizon: 2d
warmup: 6h
replications: 2
seed: 11
start: 2026-01-06T00:00
report_interval: 1h
arrivals:
  rate: 30/h
  types: {{complaint: 0.5, question: 0.2, noise: 0.3}}
  channels: {{twitter: 0.5, facebook: 0.3, instagram: 0.1, forum: 0.1}}
  cascades: {{branching: 0.2, decay: 30m}}
expectations:
  acknowledge: {{twitter: {{median: 1h, sigma: 1.0}}, default: {{median: 3h, sigma: 1.0}}}}
  resolve: {{default: {{median: 6h, sigma: 1.0}}}}
  patience: {{default: {{mean: 2h}}}}
pools:
  social:
    schedule: [{{days: daily, from: "08:00", to: "20:00", agents: 2}}]
{routing}
policy:
  respond_to: [complaint, question]
  triage_accuracy: 0.9
  acknowledge: {acknowledge}
"""
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
TIME = re.compile(r"\b(\d{2}):(\d{2})(?: on (\w+) (\d{1,2}) (\w+))?")


def run_folder(tmp_path_factory, name: str, acknowledge: str, routing: str, *extra: str):
    folder = tmp_path_factory.mktemp(name)
    path = folder / f"{name}.yaml"
    path.write_text(SCENARIO.format(name=name, acknowledge=acknowledge, routing=routing), encoding="utf-8")
    out = folder / "out"
    result = CliRunner().invoke(main, ["run", str(path), "-o", str(out), "--workers", "1", "-q", "--no-report", *extra])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def realtime(tmp_path_factory):
    routing = "routing:\n  move_channel: {share: 0.3, delay: 30m, follow_through: 0.5}"
    return run_folder(tmp_path_factory, "story_realtime", "realtime", routing)


@pytest.fixture(scope="module")
def together(tmp_path_factory):
    return run_folder(tmp_path_factory, "story_together", "with_resolution", "")


def rows(folder) -> list[dict[str, str]]:
    with open(folder / "mentions.csv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def story(folder, *args: str):
    return CliRunner().invoke(main, ["story", str(folder), *args])


def printed_times(text: str, first_day: datetime) -> list[datetime]:
    """Every clock time in a story as a calendar time (a time without a day is on the day of
    the mention, the first time printed)."""
    out, day = [], None
    for hh, mm, weekday, date, month in TIME.findall(text):
        if weekday:
            this = datetime(first_day.year, MONTHS.index(month) + 1, int(date))
            assert WEEKDAYS[this.weekday()] == weekday, text
            day = day or this
        else:
            this = day
        out.append(this.replace(hour=int(hh), minute=int(mm)))
    return out


def on_clock(minutes: str) -> datetime:
    return START + timedelta(minutes=math.floor(float(minutes)))


def expected_times(row: dict[str, str], end: float) -> list[datetime]:
    """The times a story of this row must print, in order."""
    times = [row["arrival"]]
    outcome = row["outcome"]
    together = row["ack_done"] and row["ack_done"] == row["resolve_done"]
    if outcome in ("resolved", "acknowledged", "dropped"):
        times.append(row["ack_done"])
    if outcome == "resolved" and not together:
        times.append(row["resolve_done"])
    if outcome == "abandoned":
        times.append(row["abandoned_at"])
    if outcome in ("acknowledged", "open", "ignored"):
        times.append(str(end))
    return [on_clock(t) for t in times]


def test_story_times_agree_with_mentions_csv_for_every_outcome(realtime):
    table = rows(realtime)
    end = read_info(realtime).end
    seen = set()
    for outcome in OUTCOMES:
        picked = [r for r in table if r["outcome"] == outcome][:3]
        assert picked, f"the small run has no {outcome} mention"
        for row in picked:
            result = story(realtime, "--mention", row["id"], "--replication", row["replication"])
            assert result.exit_code == 0, result.output
            heading, text = result.output.split("\n\n", 1)
            text = " ".join(text.split())   # unwrap
            assert f"Mention {row['id']} of replication {row['replication']}" in heading
            assert heading.endswith(outcome)
            times = printed_times(text, on_clock(row["arrival"]))
            assert times == expected_times(row, end), (text, row)
            assert f"with {int(row['followers']):,} follower" in text
            assert text.startswith(channel_verb(row["channel"]))
            seen.add(outcome)
    assert seen == set(OUTCOMES)


def test_story_under_with_resolution_tells_one_reply(together):
    table = rows(together)
    end = read_info(together).end
    row = next(r for r in table if r["outcome"] == "resolved")
    assert row["ack_done"] == row["resolve_done"]
    result = story(together, "--mention", row["id"], "--replication", row["replication"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split("\n\n", 1)[1].split())
    assert "Answered and resolved in one reply at" in text and "Acknowledged at" not in text
    assert printed_times(text, on_clock(row["arrival"])) == expected_times(row, end)


def test_worst_is_the_largest_gap_from_the_resolution_deadline(realtime):
    info = read_info(realtime)
    answered = [r for r in rows(realtime) if r["type"] in ("complaint", "question")]

    def gap(r):
        done = float(r["resolve_done"]) if r["resolve_done"] else info.end
        return done - float(r["resolve_expected_by"])

    worst = max(answered, key=lambda r: (gap(r), -int(r["replication"]), -int(r["id"])))
    for args in ((), ("--worst",)):
        result = story(realtime, *args)
        assert result.exit_code == 0, result.output
        assert result.output.startswith(f"Mention {worst['id']} of replication {worst['replication']} ")
        assert "let down the most" in result.output
    only = story(realtime, "--worst", "--replication", "1")
    assert only.exit_code == 0 and " of replication 1 " in only.output.splitlines()[0]


def test_random_is_seeded(realtime):
    first = story(realtime, "--random", "--seed", "5")
    again = story(realtime, "--random", "--seed", "5")
    assert first.exit_code == 0 and first.output == again.output
    headings = {story(realtime, "--random", "--seed", str(s)).output.splitlines()[0] for s in range(6)}
    assert len(headings) > 1
    assert all("(noise," not in h for h in headings)   # only mentions the team means to answer


@pytest.mark.parametrize("args, message", [
    (("--mention", "987654"), "no mention with id 987654"),
    (("--mention", "1", "--replication", "9"), "no replication 9"),
    (("--worst", "--random"), "at most one of"),
])
def test_bad_requests_exit_2_without_a_traceback(realtime, args, message):
    result = story(realtime, *args)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_a_run_without_mentions_csv_is_a_clear_error(tmp_path_factory):
    folder = run_folder(tmp_path_factory, "story_streamed", "realtime", "", "--no-mentions")
    result = story(folder)
    assert result.exit_code == 2
    assert "no mentions.csv" in result.output and "--no-mentions" in result.output
    assert "Traceback" not in result.output
    missing = story(folder.parent / "nowhere")
    assert missing.exit_code == 2 and "no scenario.yaml" in missing.output


def copied(folder, tmp_path):
    """A copy of run folder `folder` to edit."""
    import shutil

    return Path(shutil.copytree(folder, tmp_path / "run"))


BROKEN_SCENARIO_FILES = {
    "a-list": "- name: x\n",
    "arrivals-not-a-mapping": "name: x\narrivals: hello\n",
    "incident-not-a-mapping": "name: x\narrivals: {incidents: [boom]}\n",
    "respond-to-a-number": "name: x\npolicy: {respond_to: 5}\n",
    "respond-to-one-type-not-a-list": "name: x\npolicy: {respond_to: complaint}\n",
    "a-date-that-does-not-exist": "name: x\nstart: 2026-13-45\n",
    "a-quoted-date-that-does-not-exist": "name: x\nstart: '2026-13-45'\n",
    "a-year-out-of-range": "name: x\nstart: 9999-12-30T00:00\n",
    "not-yaml": "name: [x\n",
}


@pytest.mark.parametrize("command", ["story", "animate"])
@pytest.mark.parametrize("case", sorted(BROKEN_SCENARIO_FILES))
def test_a_hand_edited_run_folder_is_one_line(realtime, tmp_path, command, case):
    """A run folder whose scenario.yaml was edited into something caresim does not write: one
    line naming the file, exit 2, no traceback."""
    folder = copied(realtime, tmp_path)
    (folder / "scenario.yaml").write_text(BROKEN_SCENARIO_FILES[case], encoding="utf-8")
    result = CliRunner().invoke(main, [command, str(folder)])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and str(folder / "scenario.yaml") in lines[0], result.output


@pytest.mark.parametrize("name, command", [("mentions.csv", "story"), ("timeseries.csv", "animate")])
def test_a_short_row_is_named_by_its_line(realtime, tmp_path, name, command):
    folder = copied(realtime, tmp_path)
    lines = (folder / name).read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].split(",")[0]
    (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, [command, str(folder)])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.output
    assert f"{name}: line 3: 1 fields" in result.output


def test_an_animation_that_cannot_be_written_is_one_line(realtime, tmp_path):
    blocker = tmp_path / "plain_file"
    blocker.write_text("not a folder")
    result = CliRunner().invoke(main, ["animate", str(realtime), "-o", str(blocker / "queue.gif"), "--hours", "2"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "cannot write it" in result.output and "Traceback" not in result.output


def test_mentions_csv_reads_back_as_the_log(realtime):
    log = read_mentions(realtime)
    table = rows(realtime)
    assert len(log) == len(table)
    k = len(table) // 2
    assert log.channels[log["channel"][k]] == table[k]["channel"]
    assert log["arrival"][k] == float(table[k]["arrival"])
    assert OUTCOMES[log["outcome"][k]] == table[k]["outcome"]


# --- Hand-made rows -----------------------------------------------------------------------------


def hand_log(**given) -> MentionLog:
    n = 1
    columns = {}
    for name in CSV_COLUMNS:
        if name in given:
            columns[name] = np.asarray([given[name]])
        elif name in TIME_COLUMNS:
            columns[name] = np.full(n, math.nan)
        elif name in ("ack_breached", "resolve_breached"):
            columns[name] = np.zeros(n, dtype=bool)
        elif name in ("parent_id", "pool"):
            columns[name] = np.full(n, -1)
        else:
            columns[name] = np.zeros(n, dtype=int)
    return MentionLog(columns, ("twitter", "forum"), ("complaint", "praise"), ("social", "specialists"))


INFO = RunInfo("hand", START, 0.0, 7 * 1440.0, ("complaint", "praise"), "realtime", ("complaint", "praise"),
               ("twitter", "forum"))


def test_the_example_story_by_hand():
    # Tuesday 6 January 20:00; acknowledged 7 minutes later; resolved after 3 days, expected 2
    log = hand_log(arrival=1200.0, followers=250, ack_expected_by=1260.0, resolve_expected_by=1200.0 + 2880,
                   ack_start=1205.0, ack_done=1207.0, resolve_start=1200 + 4300.0, resolve_done=1200.0 + 4320,
                   outcome=OUTCOMES.index("resolved"), pool=1, resolve_breached=True)
    told = tell(log, 0, INFO)
    assert told.sentences == (
        "Tweeted at 20:00 on Tuesday 6 January with 250 followers — a complaint.",
        "Acknowledged at 20:07, 7 minutes after the mention — within the 1 hour they expected.",
        "Resolved by the specialists team at 20:00 on Friday 9 January, 3 days after the mention — "
        "1 day later than the 2 days they expected for a resolution.",
    )
    assert told.heading == "Mention 0 of replication 0 (complaint, twitter): resolved"


def test_other_channels_and_cascades_by_hand():
    log = hand_log(arrival=60.5, channel=1, type=1, followers=1, parent_id=7, origin=1,
                   ack_expected_by=180.0, resolve_expected_by=600.0, outcome=OUTCOMES.index("open"))
    text = tell(log, 0, INFO).text()
    assert text.startswith("Wrote on forum at 01:00 on Tuesday 6 January with 1 follower — praise.")
    # mention 7 is not in the records: it arrived in the warm-up
    assert "follow-on of a mention of the warm-up (id 7) in a viral cascade" in text
    assert "ended at 00:00 on Tuesday 13 January" in text
    pair = MentionLog.concat([hand_log(id=7, arrival=30.0), log])
    assert "follow-on of mention 7 in a viral cascade" in tell(pair, 1, INFO).text()
    elsewhere = MentionLog.concat([hand_log(id=7, arrival=30.0, replication=1), log])
    assert "warm-up (id 7)" in tell(elsewhere, 1, INFO).text()   # another replication's mention 7


def test_words():
    assert [channel_verb(c) for c in ("twitter", "facebook", "instagram", "tiktok")] == [
        "Tweeted", "Posted on Facebook", "Commented on Instagram", "Wrote on tiktok"]
    assert [span(m) for m in (0.5, 7.2, 60.0, 135.0, 1440.0, 4380.0)] == [
        "30 seconds", "7 minutes", "1 hour", "2 hours 15 minutes", "1 day", "3 days 1 hour"]
    assert (span(0.995), span(0.99)) == ("1 minute", "59 seconds")   # 59.7 s rounds to a minute, not "60 seconds"
    assert between(59.9, 61.1) == "2 minutes"   # 00:59 to 01:01 on the clock
    assert clock(START, 1207.9) == "20:07 on Tuesday 6 January" and clock(START, 1207.9, day=False) == "20:07"
    assert (with_article("complaint"), with_article("enquiry"), with_article("noise")) == (
        "a complaint", "an enquiry", "noise")
    log = hand_log(arrival=0.0, resolve_expected_by=10.0)
    assert pick(log, INFO) == 0


def test_the_worst_note_says_when_the_deadline_is_still_ahead():
    """An unresolved customer whose deadline falls after the run's end is not "past" it."""
    from sim.story import gap_note

    ahead = hand_log(arrival=0.0, resolve_expected_by=INFO.end + 2 * 1440.0)
    passed = hand_log(arrival=0.0, resolve_expected_by=INFO.end - 90.0)
    assert gap_note(ahead, 0, INFO) == "unresolved at the end of the run, 2 days before the deadline they expected"
    assert gap_note(passed, 0, INFO) == "unresolved at the end of the run, 1 hour 30 minutes past the deadline they expected"
