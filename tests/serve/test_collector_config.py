"""collector-config/: what can be checked without running otelcol-contrib, Jaeger or Docker.

The YAML parses; every component it names is a component of the otelcol-contrib distribution;
every pipeline, extension, queue storage and authenticator reference resolves; the costledger
exporter retries without a time limit from a persistent fsync'ed queue; and ports, host names,
database credentials and the bearer token agree between the Collector configs, the compose file
and costledger's CLI defaults.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from opentelemetry.exporter.costledger.cli.commands.serve import serve_command
from opentelemetry.exporter.costledger.ingest.serve.server import (
    DEFAULT_GRPC_ENDPOINT,
    DEFAULT_HTTP_ENDPOINT,
    parse_endpoint,
)

CONFIG_DIR = Path(__file__).resolve().parents[2] / "collector-config"
COLLECTOR_CONFIGS = ["otelcol.yaml", "otelcol-loadbalancing.yaml"]

# Component ids of the otelcol-contrib distribution that these configs may use, from its build
# manifest: https://github.com/open-telemetry/opentelemetry-collector-releases/blob/main/
# distributions/otelcol-contrib/manifest.yaml (v0.136.0 modules: otlpreceiver, batchprocessor,
# memorylimiterprocessor, otlpexporter, otlphttpexporter, debugexporter, fileexporter,
# loadbalancingexporter, healthcheckextension, filestorage, bearertokenauthextension,
# pprofextension, zpagesextension), each id as its README documents it.
KNOWN_COMPONENTS = {
    "receivers": {"otlp"},
    "processors": {"batch", "memory_limiter"},
    "exporters": {"otlp", "otlphttp", "debug", "file", "loadbalancing"},
    "extensions": {"health_check", "file_storage", "bearertokenauth", "pprof", "zpages"},
}


def _load(name: str) -> Any:
    return yaml.safe_load((CONFIG_DIR / name).read_text())


def _compose() -> dict[str, Any]:
    return _load("compose.yaml")


def _flag(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


@pytest.mark.parametrize("name", COLLECTOR_CONFIGS)
def test_every_component_is_real_and_every_reference_resolves(name: str) -> None:
    config = _load(name)
    for kind, known in KNOWN_COMPONENTS.items():
        for component_id in config.get(kind, {}):
            assert component_id.split("/")[0] in known, f"{name}: unknown {kind} {component_id}"
    service = config["service"]
    for extension in service["extensions"]:
        assert extension in config["extensions"]
    assert service["pipelines"]
    for pipeline_name, pipeline in service["pipelines"].items():
        assert pipeline_name.split("/")[0] in {"traces", "metrics", "logs"}
        for kind in ("receivers", "processors", "exporters"):
            for component_id in pipeline.get(kind, []):
                assert component_id in config[kind], f"{pipeline_name}: {component_id} undefined"
        assert pipeline["processors"][0] == "memory_limiter"  # first, as its docs require
        assert "batch" in pipeline["processors"]


def _costledger_exporter(config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (name,) = [n for n in config["exporters"] if n.endswith("/costledger")]
    return name, config["exporters"][name]


@pytest.mark.parametrize("name", COLLECTOR_CONFIGS)
def test_costledger_exporter_loses_nothing(name: str) -> None:
    config = _load(name)
    _, exporter = _costledger_exporter(config)
    assert exporter["retry_on_failure"]["enabled"] is True
    assert exporter["retry_on_failure"]["max_elapsed_time"] in ("0s", 0)
    queue = exporter["sending_queue"]
    assert queue["enabled"] is True
    storage = config["extensions"][queue["storage"]]
    assert queue["storage"].startswith("file_storage") and storage["fsync"] is True
    assert queue["storage"] in config["service"]["extensions"]
    otlp = exporter.get("protocol", {}).get("otlp", exporter)
    authenticator = otlp["auth"]["authenticator"]
    assert authenticator.startswith("bearertokenauth")
    assert authenticator in config["service"]["extensions"]
    assert config["extensions"][authenticator]["token"] == "${env:COSTLEDGER_AUTH_TOKEN}"
    jaeger = config["exporters"]["otlp/jaeger"]
    assert jaeger["endpoint"] == "jaeger:4317"


def test_ports_hosts_and_tokens_agree_with_compose_and_the_cli() -> None:
    services = _compose()["services"]
    costledger = services["costledger"]
    command = costledger["command"]
    grpc = parse_endpoint(_flag(command, "--grpc-endpoint"), "--grpc-endpoint")
    http = parse_endpoint(_flag(command, "--http-endpoint"), "--http-endpoint")
    assert grpc is not None and http is not None
    assert grpc[0] == http[0] == "0.0.0.0"  # reachable from the Collector's container

    # The Collector sends to costledger's gRPC port, by its compose service name.
    _, exporter = _costledger_exporter(_load("otelcol.yaml"))
    assert exporter["endpoint"] == f"costledger:{grpc[1]}"
    # The load-balancing variant's receivers listen on the same port.
    _, balancer = _costledger_exporter(_load("otelcol-loadbalancing.yaml"))
    for hostname in balancer["resolver"]["static"]["hostnames"]:
        assert re.fullmatch(r"costledger-\d+", hostname.split(":")[0])
        assert int(hostname.split(":")[1]) == grpc[1]

    # The healthcheck and the published port are costledger's HTTP port.
    assert f":{http[1]}/healthz" in " ".join(costledger["healthcheck"]["test"])
    assert f"{http[1]}:{http[1]}" in costledger["ports"]

    # The Collector's OTLP receiver ports are the ones published and the ones the app uses.
    collector = _load("otelcol.yaml")["receivers"]["otlp"]["protocols"]
    otelcol = services["otelcol"]
    for protocol in ("grpc", "http"):
        port = int(collector[protocol]["endpoint"].rsplit(":", 1)[1])
        assert f"{port}:{port}" in otelcol["ports"]
    grpc_receiver_port = int(collector["grpc"]["endpoint"].rsplit(":", 1)[1])
    app = services["app"]
    assert (
        app["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://otelcol:{grpc_receiver_port}"
    )
    assert app["environment"]["OTEL_EXPORTER_OTLP_PROTOCOL"] == "grpc"
    assert app["entrypoint"] == ["opentelemetry-instrument"]
    assert "./otelcol.yaml:/etc/otelcol-contrib/config.yaml:ro" in otelcol["volumes"]
    assert otelcol["image"].startswith("otel/opentelemetry-collector-contrib:")

    # One token for both ends.
    token = costledger["environment"]["COSTLEDGER_AUTH_TOKEN"]
    assert token == otelcol["environment"]["COSTLEDGER_AUTH_TOKEN"]
    assert token.startswith("${COSTLEDGER_AUTH_TOKEN:-")

    # The ledger URL names the postgres service and its credentials.
    postgres = services["postgres"]["environment"]
    db_url = _flag(command, "--db")
    user, password, database = (
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_PASSWORD"],
        postgres["POSTGRES_DB"],
    )
    assert db_url == f"postgresql+psycopg://{user}:{password}@postgres:5432/{database}"
    assert services["jaeger"]["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"


def test_cli_defaults_are_the_otlp_ports_on_loopback() -> None:
    defaults = {p.name: p.default for p in serve_command.params}
    assert defaults["grpc_endpoint"] == DEFAULT_GRPC_ENDPOINT == "127.0.0.1:4317"
    assert defaults["http_endpoint"] == DEFAULT_HTTP_ENDPOINT == "127.0.0.1:4318"
    # Behind the Collector (which takes 4317/4318) costledger listens elsewhere.
    command = _compose()["services"]["costledger"]["command"]
    assert parse_endpoint(_flag(command, "--grpc-endpoint"), "") != ("0.0.0.0", 4317)


def test_dockerfile_installs_what_compose_runs() -> None:
    dockerfile = (CONFIG_DIR / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["costledger"]' in dockerfile
    assert "postgres" in dockerfile and "anthropic" in dockerfile
    app_command = _compose()["services"]["app"]["command"]
    script = Path(app_command[-1].replace("/src/", ""))
    assert (CONFIG_DIR.parent / script).is_file()
