"""The bench scripts leave a trace: each one imports, takes its smallest options and `--json PATH`, and records its
run through `bench.record`, whose document holds the commit, date, machine and figures. Nothing here measures
anything, and no benchmark runs."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import re
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from bench import record, scratch
from shared.tools import runner

# The quickest invocation of each script (the sizes BENCHMARKS.md calls small).
SMALLEST: dict[str, list[str]] = {
    "api": ["--events", "1000", "--cold", "1", "--cached", "1", "--raw", "1"],
    "business_alerts": ["--server", "postgresql://postgres@127.0.0.1:5432/postgres", "--orgs", "1", "--repeat", "1"],
    "deep_queue": ["--messages", "50", "--rounds", "1"],
    "export": ["--server", "postgresql://postgres@127.0.0.1:5432/postgres", "--events", "1000"],
    "fault_drill": ["--seconds", "5"],
    "freshness": ["--rates", "100", "--seconds", "1", "--throughput-events", "500"],
    "ingest": ["--scale", "0.01"],
    "peer": ["--scale", "0.01", "--rates", "100", "--seconds", "1", "--cold", "1"],
    "monitor_scale": ["--server", "postgresql://postgres@127.0.0.1:5432/postgres", "--orgs", "2", "--runs", "1"],
    "report_scale": [
        "--server",
        "postgresql://postgres@127.0.0.1:5432/postgres",
        "--orgs",
        "4",
        "--with-data",
        "1",
        "--workers",
        "1",
    ],
    "quality_run": ["--server", "postgresql://postgres@127.0.0.1:5432/postgres", "--orgs", "1"],
    "stage_profile": ["--events", "100", "--batch", "10"],
    "sample_report": ["--kind", "weekly", "--period", "2026-W45", "--out", "/tmp/wedsync-sample"],
    "webpage": ["--events", "1000", "--runs", "1"],
}


def test_every_bench_script_is_listed_with_its_smallest_options() -> None:
    # apibuild: the database bench/api.py builds; cpu: CPU by part of a run; watcher: the freshness poller
    helpers = {"__init__", "record", "scratch", "apibuild", "cpu", "watcher"}
    scripts = {path.stem for path in (runner.ROOT / "bench").glob("*.py")} - helpers
    assert scripts == set(SMALLEST)


@pytest.mark.parametrize("script", sorted(SMALLEST))
def test_a_bench_script_imports_takes_its_smallest_options_and_records_through_the_helper(
    script: str, tmp_path: Path
) -> None:
    module = importlib.import_module(f"bench.{script}")
    target = tmp_path / f"{script}.json"

    args = module.build_parser().parse_args([*SMALLEST[script], "--json", str(target)])

    assert args.json == str(target)
    assert module.record is record


def test_a_record_holds_the_run_its_figures_and_baseline_commit_date_and_machine(tmp_path: Path) -> None:
    args = argparse.Namespace(scale=0.1, server="postgresql://bench:s3cret@db.example:5432/postgres", json=None)
    began = record.start()

    path = record.write(
        "ingest",
        args,
        {"batch_100": {"events": 5000, "end_to_end_eps": 9000.0}},
        baseline={"copy": {"events": 10000, "end_to_end_eps": 90000.0}},
        started=began,
        path=tmp_path / "ingest.json",
    )

    text = path.read_text()
    doc = json.loads(text)
    assert set(record.KEYS) <= set(doc)
    assert doc["script"] == "ingest"
    assert doc["figures"] == {"batch_100": {"events": 5000, "end_to_end_eps": 9000.0}}
    assert doc["baseline"] == {"copy": {"events": 10000, "end_to_end_eps": 90000.0}}
    assert doc["arguments"]["scale"] == 0.1
    assert "s3cret" not in text
    assert datetime.fromisoformat(doc["date"]).utcoffset() == UTC.utcoffset(None)
    assert datetime.fromisoformat(doc["started"]) <= datetime.fromisoformat(doc["date"])
    if (runner.ROOT / ".git").exists():
        assert re.fullmatch(r"[0-9a-f]{40}", doc["commit"])
        assert isinstance(doc["dirty"], bool)
    machine = doc["machine"]
    assert {"cpu", "cores", "memory_gib", "os", "python", "postgresql", "load_average"} <= set(machine)
    assert machine["python"].endswith(platform.python_version())
    assert set(machine["load_average"]) == {"at_start", "at_end"}


def test_a_run_without_a_baseline_or_a_database_records_them_as_null(tmp_path: Path) -> None:
    path = record.write(
        "quality_run", argparse.Namespace(json=None), {"erasure_seconds": 0.2}, path=tmp_path / "q.json"
    )

    doc = json.loads(path.read_text())
    assert doc["baseline"] is None
    assert doc["machine"]["postgresql"] is None


def test_without_a_path_the_record_goes_to_bench_results_named_after_the_script_and_the_utc_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(record, "RESULTS", tmp_path)

    path = record.write("freshness", argparse.Namespace(json=None), {})

    assert path.parent == tmp_path
    assert re.fullmatch(r"freshness-\d{8}T\d{6}Z\.json", path.name)
    assert record.default_path("api", datetime(2026, 11, 29, 22, 43, 5, tzinfo=UTC)).name == "api-20261129T224305Z.json"


def test_a_benchmarks_scratch_database_is_dropped_even_when_the_run_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    server = "postgresql://postgres@127.0.0.1:5432/postgres"
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/the_callers")
    names: list[str] = []
    with pytest.raises(RuntimeError), scratch.database(server, "probe", migrate=False) as url:
        names.append(url.rsplit("dbname=", 1)[-1].split()[0])
        with psycopg.connect(url) as c:
            assert c.execute("select current_database()").fetchone() == (names[0],)
        raise RuntimeError("the benchmark failed")
    with psycopg.connect(server) as c:
        assert c.execute("select count(*) from pg_database where datname = %s", names).fetchone() == (0,)
    assert os.environ["DATABASE_URL"].endswith("/the_callers")  # the caller's database again, not the dropped one
