"""deploy.yaml checks: every mistake names the function, the field and what is allowed."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from shared.tools import deployment, schedules

GOOD_ENV = """
    env:
      DATABASE_URL: {secret: db-url}
      INVOKE_SECRET: {secret: invoke}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A tiny project: one function source and migrations that create queue 'jobs' (and drop 'old')."""
    (tmp_path / "functions" / "work").mkdir(parents=True)
    (tmp_path / "functions" / "work" / "main.py").write_text(
        "import functions_framework\n\nrouter = object()\n\n@functions_framework.http\ndef work(request):\n"
        "    return 'ok'\n"
    )
    migrations = tmp_path / "supabase" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "20260101000000_queues.sql").write_text(
        "-- select pgmq.create('commented_out');\nselect pgmq.create('jobs');\nselect pgmq.create('old');\n"
    )
    (migrations / "20260102000000_drop.sql").write_text("select pgmq.drop_queue('old');\n")
    return tmp_path


def _entry(body: str, env: str = GOOD_ENV) -> dict[str, object]:
    return {**yaml.safe_load(textwrap.dedent(body)), **yaml.safe_load(textwrap.dedent(env))}


def _problems(project: Path, body: str, env: str = GOOD_ENV) -> list[str]:
    """The problems deploy.yaml has with one function 'work' made of a YAML body and env snippet."""
    try:
        deployment.parse(yaml.safe_dump({"functions": {"work": _entry(body, env)}}), project)
    except deployment.DeployError as exc:
        return [str(i) for i in exc.issues]
    return []


QUEUE = """
source: functions/work/main.py
entry_point: work
trigger: {kind: queue, queue: jobs}
"""


def test_a_correct_entry_passes(project: Path) -> None:
    assert _problems(project, QUEUE) == []


def test_the_repository_deploy_yaml_passes() -> None:
    spec = deployment.load()
    assert "ingest" in spec.functions and "validate" in spec.functions


def test_an_unknown_trigger_kind_names_the_kinds_allowed(project: Path) -> None:
    problems = _problems(project, QUEUE.replace("kind: queue, queue: jobs", "kind: pubsub"))
    assert problems == [
        "function 'work', field 'trigger.kind': unknown trigger kind 'pubsub'; allowed: http, queue, cron"
    ]


def test_a_missing_entry_point_is_required(project: Path) -> None:
    problems = _problems(project, QUEUE.replace("entry_point: work\n", ""))
    assert problems == ["function 'work', field 'entry_point': required, but missing"]


def test_an_entry_point_not_defined_in_the_source_lists_what_is_defined(project: Path) -> None:
    problems = _problems(project, QUEUE.replace("entry_point: work", "entry_point: handle"))
    assert problems == [
        "function 'work', field 'entry_point': 'handle' is not defined at the top level of "
        "functions/work/main.py; defined there: router, work"
    ]


def test_the_entry_point_check_reads_the_source_without_importing_it(project: Path) -> None:
    source = project / "functions" / "work" / "main.py"
    source.write_text("raise SystemExit('imported!')\ndef work(r): ...\n")
    assert _problems(project, QUEUE) == []


def test_a_missing_or_broken_source_file_is_named(project: Path) -> None:
    assert _problems(project, QUEUE.replace("work/main.py", "nope/main.py")) == [
        "function 'work', field 'source': 'functions/nope/main.py' does not exist (paths are relative to deploy.yaml)"
    ]
    (project / "functions" / "work" / "main.py").write_text("def work(:\n")
    [problem] = _problems(project, QUEUE)
    assert problem.startswith("function 'work', field 'source': 'functions/work/main.py' is not valid Python")


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("*/5 * * *", "has 4 field(s); a cron schedule has exactly 5"),
        ("0 0 * * * *", "has 6 field(s); a cron schedule has exactly 5"),
        ("60 * * * *", "minute: 60 is out of range; allowed 0-59"),
        ("0 24 * * *", "hour: 24 is out of range; allowed 0-23"),
        ("0 0 0 * *", "day of month: 0 is out of range; allowed 1-31"),
        ("0 0 * 13 *", "month: 13 is out of range; allowed 1-12 or JAN-DEC"),
        ("0 0 * * mon-funday", "day of week: 'funday' is not a number; allowed 0-7 or SUN-SAT"),
        ("*/0 * * * *", "minute: the step in '*/0' must be at least 1"),
        ("0 9-5 * * *", "hour: the range '9-5' runs backwards"),
        ("0 0 ? * *", "day of month: '?' is not a cron term"),
    ],
)
def test_a_bad_cron_schedule_names_the_cron_field_and_its_range(project: Path, schedule: str, message: str) -> None:
    body = QUEUE.replace("kind: queue, queue: jobs", f"kind: cron, schedule: '{schedule}'")
    [problem] = _problems(project, body)
    assert problem.startswith("function 'work', field 'trigger.schedule': ")
    assert message in problem


@pytest.mark.parametrize(
    "schedule",
    ["* * * * *", "*/15 * * * *", "0 6 * * 1-5", "30 2 1,15 jan-jun *", "0 0 * * SUN", "5-55/10 0-23/2 * * 7"],
)
def test_valid_cron_schedules_pass(schedule: str) -> None:
    assert schedules.check(f"  {schedule} ") == " ".join(schedule.split())


def test_a_queue_no_migration_creates_lists_the_queues_that_exist(project: Path) -> None:
    for queue in ("missing", "commented_out", "old"):
        problems = _problems(project, QUEUE.replace("queue: jobs", f"queue: {queue}"))
        assert problems == [
            f"function 'work', field 'trigger.queue': no migration creates queue '{queue}' "
            "(with pgmq.create); queues the migrations create: jobs"
        ]


def test_the_repository_migrations_create_the_pipeline_queues() -> None:
    assert {"ingest", "aggregate"} <= deployment.migrated_queues(deployment.ROOT / deployment.MIGRATIONS)


@pytest.mark.parametrize(("value", "given"), [("{}", "neither"), ("{value: a, secret: b}", "both")])
def test_an_env_var_needs_exactly_one_value_source(project: Path, value: str, given: str) -> None:
    env = textwrap.dedent(GOOD_ENV) + f"  LOG_LEVEL: {value}\n"
    assert _problems(project, QUEUE, env) == [
        f"function 'work', field 'env.LOG_LEVEL': {given} of 'value' and 'secret' given; give exactly one: "
        "'value' (a literal) or 'secret' (a Secret Manager secret name)"
    ]


def test_a_function_the_database_invokes_must_take_invoke_secret_from_a_secret(project: Path) -> None:
    literal = "\nenv:\n  DATABASE_URL: {secret: db-url}\n  INVOKE_SECRET: {value: hunter2}\n"
    for env in ("\nenv:\n  DATABASE_URL: {secret: db-url}\n", literal):
        [problem] = _problems(project, QUEUE, env)
        assert problem.startswith("function 'work', field 'env.INVOKE_SECRET': a queue function is invoked by")


def test_every_function_needs_database_url_and_no_reserved_names(project: Path) -> None:
    env = "\nenv:\n  INVOKE_SECRET: {secret: invoke}\n  PORT: {value: '8080'}\n  lower: {value: x}\n"
    assert _problems(project, QUEUE, env) == [
        "function 'work', field 'env.PORT': set by the platform itself; "
        "reserved: K_CONFIGURATION, K_REVISION, K_SERVICE, PORT",
        "function 'work', field 'env.lower': variable names are upper-case letters, digits and underscores",
        "function 'work', field 'env.DATABASE_URL': required: deployed functions have no embedded database; "
        "give it as {secret: <name>}",
    ]


def test_a_key_the_function_refuses_to_start_without_must_be_given(project: Path) -> None:
    """deploy check catches what would otherwise only show as a revision that never becomes ready."""
    main = project / "functions" / "work" / "main.py"
    main.write_text(
        "from shared import startup\n\nstartup.refuse_unsafe_settings('PII_HASH_KEY', 'ALERT_WEBHOOK_SECRET')\n\n"
        + main.read_text()
    )
    [problem] = _problems(project, QUEUE, GOOD_ENV + "      ALERT_WEBHOOK_SECRET: {secret: alert}\n")
    assert problem == (
        "function 'work', field 'env.PII_HASH_KEY': required: functions/work/main.py refuses to start on a "
        "deployed host without its own PII_HASH_KEY (its development default is public); give it as {secret: <name>}"
    )
    given = GOOD_ENV + "      ALERT_WEBHOOK_SECRET: {secret: a}\n      PII_HASH_KEY: {secret: p}\n"
    assert _problems(project, QUEUE, given) == []


def test_unknown_fields_list_the_allowed_ones(project: Path) -> None:
    body = QUEUE.replace("queue: jobs}", "queue: jobs, batch: 5}") + "runtime: {memory: 1GB, cpus: 2}\n"
    assert _problems(project, body) == [
        "function 'work', field 'trigger.batch': unknown field; allowed: kind, queue, batch_size, "
        "visibility_timeout_seconds, path",
        "function 'work', field 'runtime.memory': '1GB' does not match ^[1-9][0-9]*(Mi|Gi)$",
        "function 'work', field 'runtime.cpus': unknown field; "
        "allowed: memory, cpu, timeout_seconds, concurrency, min_instances, max_instances",
    ]


def test_runtime_limits_that_cloud_run_refuses_are_caught(project: Path) -> None:
    body = QUEUE + "runtime: {cpu: 0.5, concurrency: 8, min_instances: 5, max_instances: 2}\n"
    assert _problems(project, body) == [
        "function 'work', field 'runtime.min_instances': 5 is more than max_instances (2)",
        "function 'work', field 'runtime.cpu': concurrency 8 needs at least 1 vCPU; allowed: cpu >= 1, "
        "or concurrency 1",
    ]


def test_two_functions_draining_one_queue_is_an_error(project: Path) -> None:
    text = yaml.safe_dump({"functions": {"work": _entry(QUEUE), "work-two": _entry(QUEUE)}})
    with pytest.raises(deployment.DeployError) as caught:
        deployment.parse(text, project)
    assert [str(i) for i in caught.value.issues] == [
        "function 'work-two', field 'trigger.queue': queue 'jobs' is already drained by function 'work'; "
        "one function per queue"
    ]


def test_a_bad_function_name_and_invalid_yaml_are_reported(project: Path) -> None:
    with pytest.raises(deployment.DeployError) as caught:
        deployment.parse(yaml.safe_dump({"functions": {"Work_1": _entry(QUEUE)}}), project)
    assert str(caught.value.issues[0]).startswith("function 'Work_1', field 'name': function names are 2-63")
    with pytest.raises(deployment.DeployError, match="not valid YAML"):
        deployment.parse("functions: [", project)


def test_every_problem_is_reported_at_once(project: Path) -> None:
    body = QUEUE.replace("entry_point: work", "entry_point: nope").replace("queue: jobs", "queue: nah")
    problems = _problems(project, body, "\nenv:\n  X: {}\n")
    assert problems == [
        "function 'work', field 'env.X': neither of 'value' and 'secret' given; "
        "give exactly one: 'value' (a literal) or 'secret' (a Secret Manager secret name)"
    ]
    # Shape errors come first; once the shape is right, every semantic problem is listed together.
    problems = _problems(project, body, "\nenv:\n  X: {value: '1'}\n")
    assert [p.split(",")[1].split(":")[0] for p in problems] == [
        " field 'entry_point'",
        " field 'trigger.queue'",
        " field 'env.DATABASE_URL'",
        " field 'env.INVOKE_SECRET'",
    ]


def test_unknown_top_level_and_function_fields_list_the_allowed_ones(project: Path) -> None:
    with pytest.raises(deployment.DeployError) as caught:
        deployment.parse(yaml.safe_dump({"functions": {"work": {**_entry(QUEUE), "triger": 1}}, "bogus": 1}), project)
    assert [str(i) for i in caught.value.issues] == [
        "function 'work', field 'triger': unknown field; allowed: source, entry_point, trigger, runtime, env",
        "field 'bogus': unknown field; allowed: platform, functions",
    ]
    with pytest.raises(deployment.DeployError, match="field 'functions': no functions listed"):
        deployment.parse("functions: {}\n", project)


@pytest.mark.parametrize(
    ("expression", "moment", "fires"),
    [
        ("*/5 * * * *", "2026-11-25T10:35:00Z", True),
        ("*/5 * * * *", "2026-11-25T10:36:00Z", False),
        ("17 3 * * *", "2026-11-25T03:17:59Z", True),
        ("17 3 * * *", "2026-11-25T04:17:00Z", False),
        ("0 * * * *", "2026-11-25T11:00:00+01:00", True),  # judged in UTC: 10:00Z
        ("0 9 * * mon", "2026-11-23T09:00:00Z", True),  # a Monday
        ("0 9 * * 1-5", "2026-11-29T09:00:00Z", False),  # a Sunday
        ("0 9 * * 7", "2026-11-29T09:00:00Z", True),  # 7 is Sunday too
        ("0 0 1 * mon", "2026-12-01T00:00:00Z", True),  # day of month OR day of week when both are set
        ("0 0 1 * mon", "2026-11-30T00:00:00Z", True),
        ("0 0 1 * mon", "2026-11-25T00:00:00Z", False),
        ("30 2 29 feb *", "2028-02-29T02:30:00Z", True),
        ("0-10/5 * * jan-mar *", "2026-02-01T00:10:00Z", True),
    ],
)
def test_cron_schedules_fire_in_the_minutes_pg_cron_would(expression: str, moment: str, fires: bool) -> None:
    from datetime import datetime

    from shared.tools import schedules

    assert schedules.matches(expression, datetime.fromisoformat(moment)) is fires


def test_the_local_scheduler_fires_exactly_the_entries_due_that_minute() -> None:
    from datetime import UTC, datetime

    from shared.tools import runner

    crons = {"monitor": ("*/5 * * * *", "u1"), "retention": ("17 3 * * *", "u2"), "report": ("0 * * * *", "u3")}
    assert runner.due(crons, datetime(2026, 11, 25, 3, 0, tzinfo=UTC)) == ["monitor", "report"]
    assert runner.due(crons, datetime(2026, 11, 25, 3, 17, tzinfo=UTC)) == ["retention"]
    assert runner.due(crons, datetime(2026, 11, 25, 3, 18, tzinfo=UTC)) == []
