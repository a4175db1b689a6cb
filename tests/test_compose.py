"""The operator's stack: docker-compose.yml, the Dockerfile and the gateway config.

No Docker engine is needed: these read the files and check what an operator
relies on (health checks, start order, one database per service, no secrets).
"""

from __future__ import annotations

import re
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
APP_SERVICES = ("registry", "monitoring", "funds", "tasks")
LONG_RUNNING = (*APP_SERVICES, "postgres", "kafka", "gateway")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|PII|BLIND_INDEX|_KEY$", re.IGNORECASE)
INTERPOLATION = re.compile(r"^\$\{[A-Z][A-Z0-9_]*(?::?[?-][^}]*)?\}$")
URL_CREDENTIALS = re.compile(r"://(?P<user>[^:/@]+):(?P<password>.+)@")
ALLOWED_CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


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
    expected = {*APP_SERVICES, "postgres", "kafka", "gateway", "migrate"}
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
                "FUPIN_LOG_LEVEL", "FUPIN_POSTGRES_PASSWORD"):
        assert re.search(rf"^#?\s*{key}=", text, re.MULTILINE), f"{key} not in .env.example"
    for key in ("FUPIN_JWT_SECRET", "FUPIN_PII_KEY", "FUPIN_BLIND_INDEX_KEY",
                "FUPIN_POSTGRES_PASSWORD"):
        value = re.search(rf"^{key}=(.*)$", text, re.MULTILINE)
        assert value, f"{key} must be set (to a placeholder) in .env.example"
        assert "CHANGE-ME" in value[1], f"{key} needs a CHANGE-ME placeholder"
