"""The operator's stack: docker-compose.yml, the Dockerfile and the gateway config.

No Docker engine is needed: these read the files and check what an operator
relies on (health checks, start order, one database per service, no secrets, and the
Prometheus + Grafana that watch the services).
"""

from __future__ import annotations

import json
import re
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
APP_SERVICES = ("registry", "monitoring", "funds", "tasks")
LONG_RUNNING = (*APP_SERVICES, "postgres", "kafka", "gateway", "prometheus", "grafana")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|PII|BLIND_INDEX|_KEY$", re.IGNORECASE)
INTERPOLATION = re.compile(r"^\$\{[A-Z][A-Z0-9_]*(?::?[?-][^}]*)?\}$")
URL_CREDENTIALS = re.compile(r"://(?P<user>[^:/@]+):(?P<password>.+)@")
ALLOWED_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
MONITORING_FILES = (ROOT / "deploy/prometheus", ROOT / "deploy/grafana")
SECRET_KEY = re.compile(r"pass(word|wd)?$|secret|token|api_?key|credential|private_?key",
                        re.IGNORECASE)
DASHBOARD_METRICS = (
    "fupin_http_requests_total", "fupin_http_request_duration_seconds",
    "fupin_outbox_backlog", "fupin_outbox_oldest_age_seconds", "fupin_consumer_lag",
    "fupin_handler_failures_total", "fupin_dead_letters",
    "fupin_monitoring_open_alerts", "fupin_monitoring_overdue_alerts",
    "fupin_funds_stagnant_allocations", "fupin_tasks_overdue_tasks",
)


@pytest.fixture(scope="module")
def services() -> dict[str, dict]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    return compose["services"]


@pytest.fixture(scope="module")
def nginx_locations() -> dict[str, str]:
    """`location <prefix> { body }` blocks of the gateway config, by prefix."""
    text = (ROOT / "deploy/gateway/nginx.conf").read_text(encoding="utf-8")
    text = re.sub(r"#[^\n]*", "", text)
    return {m["prefix"]: m["body"] for m in re.finditer(
        r"location\s+(?:=\s*)?(?P<prefix>\S+)\s*\{(?P<body>[^{}]*)\}", text)}


def environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def kafka_version_of_test_broker() -> str:
    pom = ET.parse(ROOT / "deploy/kafka/pom.xml")
    version = pom.find("{http://maven.apache.org/POM/4.0.0}properties/"
                       "{http://maven.apache.org/POM/4.0.0}kafka.version")
    assert version is not None, "no <kafka.version> in deploy/kafka/pom.xml"
    return (version.text or "").strip()


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    out = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_stack_has_every_service(services):
    expected = {*APP_SERVICES, "postgres", "kafka", "gateway", "migrate", "prometheus", "grafana"}
    assert expected <= set(services), f"missing: {expected - set(services)}"


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_service_has_healthcheck(services, name):
    check = services[name].get("healthcheck") or {}
    assert not check.get("disable"), f"{name}: healthcheck disabled"
    assert check.get("test"), f"{name}: no healthcheck test"
    assert services[name].get("restart") in ("unless-stopped", "always", "on-failure")


def test_every_dependency_waits_on_a_condition(services):
    for name, service in services.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on must name conditions"
        for target, spec in depends.items():
            assert target in services, f"{name} depends on unknown {target}"
            assert spec.get("condition") in ALLOWED_CONDITIONS, f"{name} -> {target}: {spec}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_runs_itself_after_migrations(services, name):
    service = services[name]
    assert service.get("build"), f"{name}: not built from the Dockerfile"
    assert service["command"] == ["fupin", "serve", name, "--host", "0.0.0.0", "--port", "8000"]
    assert service.get("env_file"), f"{name}: no env_file"
    depends = service["depends_on"]
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["kafka"]["condition"] == "service_healthy"
    assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert "/healthz" in " ".join(service["healthcheck"]["test"])
    env = environment(service)
    assert env["FUPIN_ENV"] == "production"
    assert env["FUPIN_BUS"] == "kafka"
    assert env["FUPIN_KAFKA_BOOTSTRAP"] == "kafka:9092"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_service_uses_its_own_database(services, name):
    env = environment(services[name])
    url = env.get(f"FUPIN_{name.upper()}_DATABASE_URL", "")
    assert url.startswith("postgresql+asyncpg://"), url
    assert url.endswith(f"@postgres:5432/fupin_{name}"), url
    others = {k for k in env if k.endswith("_DATABASE_URL")} - {f"FUPIN_{name.upper()}_DATABASE_URL"}
    assert not others, f"{name} can reach other services' databases: {others}"


def test_migrate_runs_once_for_all_databases(services):
    migrate = services["migrate"]
    assert migrate["command"] == ["fupin", "migrate"]
    assert migrate.get("restart") == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    env = environment(migrate)
    for name in APP_SERVICES:
        assert env[f"FUPIN_{name.upper()}_DATABASE_URL"].endswith(f"/fupin_{name}")


def test_postgres_creates_the_service_databases(services):
    postgres = services["postgres"]
    assert postgres["image"].startswith("postgres:15")
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    mounts = [v.split(":")[:2] for v in postgres.get("volumes", []) if isinstance(v, str)]
    assert ["./deploy/postgres-init", "/docker-entrypoint-initdb.d"] in mounts
    sql = (ROOT / "deploy/postgres-init/01-databases.sql").read_text(encoding="utf-8")
    for name in APP_SERVICES:
        assert re.search(rf"CREATE DATABASE fupin_{name}\b", sql), name


def test_kafka_image_matches_the_test_broker(services):
    kafka = services["kafka"]
    assert kafka["image"] == f"apache/kafka:{kafka_version_of_test_broker()}"
    assert "kafka-broker-api-versions.sh" in " ".join(kafka["healthcheck"]["test"])
    env = environment(kafka)
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert any(v.endswith(":/var/lib/kafka/data") for v in kafka.get("volumes", []))


def test_no_secret_is_written_in_compose(services):
    for name, service in services.items():
        for key, value in environment(service).items():
            if SECRET_NAME.search(key):
                assert INTERPOLATION.match(value), f"{name}.{key} must be a ${{...}} from .env"
            creds = URL_CREDENTIALS.search(value)
            if creds:
                assert INTERPOLATION.match(creds["password"]), f"{name}.{key}: literal password"
    for key in ("FUPIN_JWT_SECRET", "FUPIN_PII_KEY", "FUPIN_BLIND_INDEX_KEY"):
        for name in APP_SERVICES:
            value = environment(services[name]).get(key, "")
            assert value.startswith(f"${{{key}:?"), f"{name}.{key} must be required from .env"


def test_gateway_routes_each_service_prefix(services, nginx_locations):
    gateway = services["gateway"]
    assert gateway["image"].startswith("nginx:")
    assert "8080:80" in [str(p) for p in gateway["ports"]]
    assert any(v.startswith("./deploy/gateway/nginx.conf:") for v in gateway["volumes"])
    for name in APP_SERVICES:
        body = nginx_locations.get(f"/api/v1/{name}/")
        assert body is not None, f"no location for /api/v1/{name}/"
        variables = dict(re.findall(r"set\s+\$(\w+)\s+([^;\s]+)\s*;", body))
        target = re.search(r"proxy_pass\s+http://([^;\s]+)\s*;", body)
        assert target, f"/api/v1/{name}/ is not proxied"
        upstream = target[1]
        if upstream.startswith("$"):
            upstream = variables[upstream[1:]]
        assert upstream.rstrip("/") == f"{name}:8000", f"/api/v1/{name}/ goes to {upstream}"
    conf = (ROOT / "deploy/gateway/nginx.conf").read_text(encoding="utf-8")
    assert re.search(r"client_max_body_size\s+512m\s*;", conf)


def test_dockerfile_bakes_in_no_secrets():
    keys = []
    for word, args in dockerfile_instructions():
        if word in ("ENV", "ARG"):
            tokens = shlex.split(args)
            if word == "ENV" and tokens and "=" not in tokens[0]:
                tokens = tokens[:1]  # legacy form: ENV KEY value
            keys += [token.split("=", 1)[0] for token in tokens]
    assert keys, "expected some ENV lines (FUPIN_DATA_DIR, PYTHON*)"
    leaked = [key for key in keys if SECRET_NAME.search(key)]
    assert not leaked, f"secrets must come from the environment at run time: {leaked}"


def test_dockerfile_runs_as_non_root_with_healthcheck():
    instructions = dockerfile_instructions()
    words = [word for word, _ in instructions]
    froms = [args for word, args in instructions if word == "FROM"]
    assert froms[-1].startswith("python:3.11-slim")
    users = [args for word, args in instructions if word == "USER"]
    assert users, "no USER: the service would run as root"
    assert users[-1] not in ("root", "0"), "the service must not run as root"
    assert words.index("USER") < words.index("CMD")
    assert any(w == "EXPOSE" and "8000" in a for w, a in instructions)
    assert any(w == "HEALTHCHECK" and "/healthz" in a for w, a in instructions)


def test_env_example_documents_every_setting():
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    for key in ("FUPIN_ENV", "FUPIN_DATA_DIR", "FUPIN_BUS", "FUPIN_KAFKA_BOOTSTRAP",
                *(f"FUPIN_{n.upper()}_DATABASE_URL" for n in APP_SERVICES),
                "FUPIN_JWT_SECRET", "FUPIN_PII_KEY", "FUPIN_BLIND_INDEX_KEY",
                "FUPIN_LOG_LEVEL", "FUPIN_POSTGRES_PASSWORD", "FUPIN_GRAFANA_ADMIN_PASSWORD",
                "FUPIN_PII_OLD_KEYS"):
        assert re.search(rf"^#?\s*{key}=", text, re.MULTILINE), f"{key} not in .env.example"
    for key in ("FUPIN_JWT_SECRET", "FUPIN_PII_KEY", "FUPIN_BLIND_INDEX_KEY",
                "FUPIN_POSTGRES_PASSWORD", "FUPIN_GRAFANA_ADMIN_PASSWORD"):
        value = re.search(rf"^{key}=(.*)$", text, re.MULTILINE)
        assert value, f"{key} must be set (to a placeholder) in .env.example"
        assert "CHANGE-ME" in value[1], f"{key} needs a CHANGE-ME placeholder"


# ---- Prometheus and Grafana ---------------------------------------------------------------


def mounts(service: dict) -> dict[str, str]:
    """Bind mounts and volumes of a compose service: container path -> source."""
    out = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume["source"], volume["target"]
        out[target] = source
    return out


def load_yaml(path: str) -> dict:
    return yaml.safe_load((ROOT / path).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def dashboard() -> dict:
    return json.loads((ROOT / "deploy/grafana/dashboards/fupin.json").read_text(encoding="utf-8"))


def panels_of(dashboard: dict) -> list[dict]:
    out = []
    for panel in dashboard["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))  # panels inside collapsed rows
    return out


def test_prometheus_scrapes_every_service(services):
    prometheus = services["prometheus"]
    assert prometheus["image"].startswith("prom/prometheus:")
    config_flag = next(a for a in prometheus["command"] if a.startswith("--config.file="))
    config_path = config_flag.split("=", 1)[1]
    assert mounts(prometheus)[config_path] == "./deploy/prometheus/prometheus.yml"
    assert not mounts(prometheus)["/prometheus"].startswith("."), "metrics need a named volume"
    assert "--storage.tsdb.path=/prometheus" in prometheus["command"]

    config = load_yaml("deploy/prometheus/prometheus.yml")
    scraped = set()
    for job in config["scrape_configs"]:
        path = job.get("metrics_path", "/metrics")
        for static in job.get("static_configs", []):
            scraped |= {(target, path) for target in static["targets"]}
    for name in APP_SERVICES:
        assert (f"{name}:8000", "/metrics") in scraped, f"{name} is not scraped"


def test_grafana_provisioning_points_at_prometheus(services, dashboard):
    grafana = services["grafana"]
    assert grafana["image"].startswith("grafana/grafana:")
    assert grafana["depends_on"]["prometheus"]["condition"] == "service_healthy"
    grafana_mounts = mounts(grafana)
    assert grafana_mounts["/etc/grafana/provisioning"] == "./deploy/grafana/provisioning"
    assert not grafana_mounts["/var/lib/grafana"].startswith("."), "Grafana needs a named volume"

    sources = load_yaml("deploy/grafana/provisioning/datasources/prometheus.yml")["datasources"]
    (prometheus,) = [s for s in sources if s["type"] == "prometheus"]
    assert prometheus["url"] == "http://prometheus:9090"
    assert prometheus.get("isDefault") is True
    assert "127.0.0.1:9090:9090" in [str(p) for p in services["prometheus"].get("ports", [])]

    providers = load_yaml("deploy/grafana/provisioning/dashboards/fupin.yml")["providers"]
    dashboards_dir = providers[0]["options"]["path"]
    assert grafana_mounts[dashboards_dir] == "./deploy/grafana/dashboards"

    used = {json.dumps(p.get("datasource")) for p in panels_of(dashboard) if p["type"] != "row"}
    used |= {json.dumps(t.get("datasource")) for p in panels_of(dashboard)
             for t in p.get("targets", [])}
    assert used == {json.dumps({"type": "prometheus", "uid": prometheus["uid"]})}, used


def test_dashboard_shows_every_metric(dashboard):
    panels = [p for p in panels_of(dashboard) if p["type"] != "row"]
    ids = [p["id"] for p in panels_of(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    exprs = " ".join(t["expr"] for p in panels for t in p["targets"])
    for metric in DASHBOARD_METRICS:
        assert re.search(rf"\b{metric}(_bucket)?\b", exprs), f"no panel shows {metric}"
    assert "histogram_quantile(0.5," in exprs and "histogram_quantile(0.99," in exprs
    for panel in panels:
        assert panel.get("title") and panel.get("description"), panel.get("title")
        assert panel["fieldConfig"]["defaults"].get("noValue"), f"{panel['title']}: no noValue"


def test_grafana_admin_password_comes_from_env(services):
    env = environment(services["grafana"])
    assert env["GF_SECURITY_ADMIN_PASSWORD"].startswith("${FUPIN_GRAFANA_ADMIN_PASSWORD:?")
    assert env.get("GF_AUTH_ANONYMOUS_ENABLED") == "false"


def _secret_literals(node, where: str) -> list[str]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "secureJsonData":
                found.append(f"{where}.{key}")
            elif SECRET_KEY.search(str(key)) and isinstance(value, str | int) and str(value) \
                    and not INTERPOLATION.match(str(value)):
                found.append(f"{where}.{key}")
            found += _secret_literals(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            found += _secret_literals(item, f"{where}[{i}]")
    elif isinstance(node, str):
        creds = URL_CREDENTIALS.search(node)
        if creds and not INTERPOLATION.match(creds["password"]):
            found.append(f"{where}: password in a URL")
    return found


def test_no_secret_literal_in_monitoring_files():
    files = sorted(p for d in MONITORING_FILES for p in d.rglob("*") if p.is_file())
    assert len(files) >= 4, files
    for path in files:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        leaks = _secret_literals(data, str(path.relative_to(ROOT)))
        assert not leaks, f"secret literals: {leaks}"
