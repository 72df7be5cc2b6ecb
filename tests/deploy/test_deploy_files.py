"""deploy/ cannot run here (no Docker engine), so its files are cross-checked against the code:
every image command names a real module, every variable is one the settings read, every probe
path and port is one the services serve."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from allinone.app import DEFINITIONS
from shared.kit.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SERVICES = {d.name for d in DEFINITIONS}
KNOWN_ENV = (
    {name.upper() for name in Settings.model_fields}
    | {f"{s.upper()}_DATABASE_URL" for s in SERVICES}
    | {"HOST", "PORT"}  # read by shared/kit/serve.py
)
PROBES = {"/healthz", "/readyz"}


def _compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    return document


def _manifests() -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        documents += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return documents


def _runs_a_real_module(args: list[str]) -> bool:
    """An image command is ``python -m <args>``: the module must exist (and its subcommand)."""
    module, *rest = args
    if importlib.util.find_spec(module) is None:
        return False
    return module != "allinone" or rest in ([], ["migrate"], ["serve"], ["topics"])


def test_the_image_runs_as_a_non_root_user_with_the_service_chosen_by_command() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, re.M)
    assert re.search(r"^USER 10001$", dockerfile, re.M)
    assert 'ENTRYPOINT ["python", "-m"]' in dockerfile
    assert re.search(r"^EXPOSE 8000$", dockerfile, re.M)
    assert "PORT=8000" in dockerfile
    for copied in re.findall(r"^COPY (?!--)(\S+)", dockerfile, re.M):
        assert (DEPLOY.parent / copied).exists(), copied


def test_compose_starts_postgres_kafka_kraft_a_migration_job_and_each_service() -> None:
    services = _compose()["services"]
    assert set(services) == SERVICES | {"postgres", "kafka", "migrate"}
    assert "broker,controller" in services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]
    assert _runs_a_real_module(services["migrate"]["command"])
    assert services["migrate"]["command"] == ["allinone", "migrate"]
    for name in SERVICES:
        service = services[name]
        assert service["command"] == [f"services.{name}"]
        assert _runs_a_real_module(service["command"])
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert set(service["environment"]) <= KNOWN_ENV, set(service["environment"]) - KNOWN_ENV
        assert service["environment"]["MIGRATE_ON_START"] == "false"
        port = service["environment"]["PORT"]
        assert all(p.endswith(f":{port}") for p in service["ports"])
        assert any(probe in " ".join(service["healthcheck"]["test"]) for probe in PROBES)
    assert set(services["migrate"]["environment"]) <= KNOWN_ENV


def test_kubernetes_runs_each_service_with_probes_config_and_resources() -> None:
    documents = _manifests()
    config = next(d for d in documents if d["kind"] == "ConfigMap")["data"]
    assert set(config) <= KNOWN_ENV, set(config) - KNOWN_ENV
    deployments = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Deployment"}
    assert set(deployments) == SERVICES
    for name, deployment in deployments.items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["args"] == [f"services.{name}"]
        assert _runs_a_real_module(container["args"])
        assert {e["name"] for e in container["env"]} <= KNOWN_ENV
        assert container["ports"][0]["containerPort"] == int(config["PORT"])
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["resources"]["requests"]["cpu"]
        assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"]
    services = {d["metadata"]["name"] for d in documents if d["kind"] == "Service"}
    assert services == SERVICES
    (job,) = [d for d in documents if d["kind"] == "Job"]
    assert _runs_a_real_module(job["spec"]["template"]["spec"]["containers"][0]["args"])
    (hpa,) = [d for d in documents if d["kind"] == "HorizontalPodAutoscaler"]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "metrics"


def test_kustomization_lists_every_manifest() -> None:
    listed = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())["resources"]
    present = {p.name for p in (DEPLOY / "k8s").glob("*.yaml")} - {"kustomization.yaml"}
    assert set(listed) == present


@pytest.mark.parametrize("args", [["services.nope"], ["allinone", "frobnicate"]])
def test_the_cross_check_catches_a_command_that_does_not_exist(args: list[str]) -> None:
    assert not _runs_a_real_module(args)


def test_prometheus_scrapes_every_compose_service_where_it_serves_metrics() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    compose = _compose()["services"]
    static = jobs["campaign-placement"]
    assert static["metrics_path"] == "/metrics"
    (targets,) = [group["targets"] for group in static["static_configs"]]
    assert sorted(targets) == sorted(f"{s}:{compose[s]['environment']['PORT']}" for s in SERVICES)
    # The pods announce the same path on the same port, which the pod job follows.
    assert jobs["campaign-placement-pods"]["kubernetes_sd_configs"] == [{"role": "pod"}]
    config_map = next(d for d in _manifests() if d["kind"] == "ConfigMap")["data"]
    for deployment in (d for d in _manifests() if d["kind"] == "Deployment"):
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/path"] == "/metrics"
        assert annotations["prometheus.io/port"] == config_map["PORT"]
