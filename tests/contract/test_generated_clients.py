"""Clients a frontend developer would generate: each service's OpenAPI gives a Python client
(openapi-python-client) and TypeScript types (openapi-typescript) without a single warning; the
Python one creates and reads a plan, and TypeScript checks a small usage file strictly."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from allinone.app import DEFINITIONS
from services.planning.app import DEFINITION as PLANNING
from shared.contract.types import Role
from shared.kit.app import create_service_app
from shared.kit.settings import Settings
from tests.conftest import bearer

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = ROOT / "clients"  # package.json and package-lock.json pin the npm tools
GENERATOR = Path(sys.executable).parent / "openapi-python-client"
SERVICES = [d.name for d in DEFINITIONS]


def _spec(name: str, settings: Settings) -> dict[str, Any]:
    definition = next(d for d in DEFINITIONS if d.name == name)
    return create_service_app(definition, settings=settings).openapi()


def _run(args: list[str | Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # our own tools, arguments from this test
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def _run_all(commands: dict[str, list[str | Path]], cwd: Path) -> dict[str, tuple[int, str]]:
    """Each command's exit code and output, the commands running side by side."""
    running = {
        name: subprocess.Popen(  # our own tools, arguments from this test
            [str(a) for a in args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name, args in commands.items()
    }
    done = {}
    for name, process in running.items():
        output, _ = process.communicate(timeout=300)
        done[name] = (process.returncode, output)
    return done


@pytest.fixture(scope="module")
def specs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each service's OpenAPI document, written to a file as a frontend would download it."""
    folder = tmp_path_factory.mktemp("specs")
    settings = Settings()
    paths = {}
    for name in SERVICES:
        path = folder / f"{name}.json"
        path.write_text(json.dumps(_spec(name, settings)))
        paths[name] = path
    return paths


@pytest.fixture(scope="module")
def python_clients(
    specs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """A generated Python package per service (``planning_client`` …) on sys.path."""
    folder = tmp_path_factory.mktemp("python-clients")
    # No formatter run after generating: the check is the generator's own output.
    config = folder / "config.yaml"
    config.write_text("post_hooks: []\n")
    generate: list[str | Path] = [GENERATOR, "generate", "--meta", "none", "--config", config]
    generated = _run_all(
        {
            name: [*generate, "--path", spec, "--output-path", folder / f"{name}_client"]
            for name, spec in specs.items()
        },
        cwd=folder,
    )
    for name, (code, said) in generated.items():
        assert code == 0, said
        assert "warning" not in said.lower(), f"{name}: {said}"
        assert "unable to parse" not in said.lower(), f"{name}: {said}"
    sys.path.insert(0, str(folder))
    yield folder
    sys.path.remove(str(folder))
    for name in SERVICES:
        for module in [m for m in sys.modules if m.split(".")[0] == f"{name}_client"]:
            del sys.modules[module]


def test_every_service_generates_an_importable_python_client(python_clients: Path) -> None:
    for name in SERVICES:
        package = importlib.import_module(f"{name}_client")
        assert hasattr(package, "AuthenticatedClient")
        # One module per resource tag, one function module per readable operationId.
        assert (python_clients / f"{name}_client" / "api" / "ops").is_dir()
    assert (python_clients / "planning_client" / "api" / "plans" / "create_plan.py").exists()
    assert (python_clients / "metrics_client" / "api" / "fraud_flags").is_dir()
    assert (python_clients / "alerts_client" / "api" / "rules" / "create_rule.py").exists()


async def test_the_python_client_creates_and_reads_a_plan(
    python_clients: Path, settings: Settings, database_url: str
) -> None:
    client_module = importlib.import_module("planning_client")
    create_plan = importlib.import_module("planning_client.api.plans.create_plan")
    get_plan = importlib.import_module("planning_client.api.plans.get_plan")
    models = importlib.import_module("planning_client.models")

    app = create_service_app(PLANNING, settings=settings, database_url=database_url)
    async with app.router.lifespan_context(app):
        client = client_module.AuthenticatedClient(base_url="http://test", token="unused")
        # The generated client takes an httpx client: here one on the app itself.
        client.set_async_httpx_client(
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url="http://test",
                headers=bearer(Role.SPECIALIST),
            )
        )
        body = models.PlanCreate.from_dict(
            {"name": "618 serum launch", "product": "serum", "starts_on": "2024-05-01"}
            | {"ends_on": "2024-06-30"}
        )
        async with client:
            created = await create_plan.asyncio_detailed(
                client=client, body=body, idempotency_key="generated-client-1"
            )
            assert created.status_code == 201, created.content
            assert isinstance(created.parsed, models.PlanDetail)
            plan_id = created.parsed.plan.id

            read = await get_plan.asyncio(client=client, plan_id=plan_id)
            assert isinstance(read, models.PlanDetail)
            assert read.plan.name == "618 serum launch"
            assert read.plan.status.value == "draft"
            assert str(read.plan.starts_on) == "2024-05-01"

            missing = await get_plan.asyncio_detailed(
                client=client, plan_id=plan_id.__class__(int=1)
            )
            assert missing.status_code == 404
            assert isinstance(missing.parsed, models.Problem)
            assert missing.parsed.type_ == "/problems/not-found"


USAGE = """\
import type { paths as Planning, components as PlanningModels } from "./planning";
import type { paths as Tasks } from "./tasks";
import type { paths as Metrics } from "./metrics";
import type { paths as Alerts } from "./alerts";
import type { paths as Approvals } from "./approvals";

type Json<T> = T extends { content: { "application/json": infer B } } ? B : never;

type CreatePlan = Planning["/planning/plans"]["post"];
const draft: Json<CreatePlan["requestBody"]> = {
  name: "618 serum launch",
  product: "serum",
  starts_on: "2024-05-01",
  ends_on: "2024-06-30",
};
type Plan = Json<Planning["/planning/plans/{plan_id}"]["get"]["responses"][200]>;
export function describe(plan: Plan): string {
  return `${plan.plan.name} (${plan.plan.status}) from ${plan.plan.starts_on}`;
}
export const problem: PlanningModels["schemas"]["Problem"]["type"] = "/problems/not-found";
export type Task = Json<Tasks["/tasks/tasks/{task_id}"]["get"]["responses"][200]>;
export type Metric = Json<Metrics["/metrics/dictionary"]["get"]["responses"][200]>["items"][number];
export type Rule = Json<Alerts["/alerts/rules"]["post"]["requestBody"]>;
export type Inbox = Json<Approvals["/approvals/inbox"]["get"]["responses"][200]>;
export const names = (metrics: Metric[]): string[] => metrics.map((m) => m.name);
export { draft };
"""

WRONG = """\
import type { paths as Planning } from "./planning";
type Json<T> = T extends { content: { "application/json": infer B } } ? B : never;
export const draft: Json<Planning["/planning/plans"]["post"]["requestBody"]> = {
  name: "618", product: "serum", starts_on: 20240501, ends_on: "2024-06-30",
};
"""


@pytest.fixture(scope="module")
def node_tools() -> Path:
    """The npm tools pinned by clients/package-lock.json, installed on first use."""
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node, "Node.js is needed to check the TypeScript client"
    assert npm, "npm is needed to install the pinned TypeScript tools"
    binaries = CLIENTS / "node_modules" / ".bin"
    if not (binaries / "openapi-typescript").exists() or not (binaries / "tsc").exists():
        installed = _run([npm, "ci", "--no-audit", "--no-fund"], cwd=CLIENTS)
        assert installed.returncode == 0, installed.stdout + installed.stderr
    return binaries


def test_typescript_types_generate_without_warnings_and_type_check(
    specs: dict[str, Path], node_tools: Path, tmp_path: Path
) -> None:
    # A field with a default is optional in a request body, as the API treats it.
    generate: list[str | Path] = [node_tools / "openapi-typescript"]
    generate += ["--default-non-nullable", "false"]
    generated = _run_all(
        {name: [*generate, spec, "-o", tmp_path / f"{name}.ts"] for name, spec in specs.items()},
        cwd=tmp_path,
    )
    for name, (code, said) in generated.items():
        assert code == 0, said
        assert "warn" not in said.lower(), f"{name}: {said}"
        assert (tmp_path / f"{name}.ts").stat().st_size > 1000
    (tmp_path / "usage.ts").write_text(USAGE)
    strict = ["--noEmit", "--strict", "--target", "es2020", "--module", "es2020"]
    checked = _run([node_tools / "tsc", *strict, "usage.ts"], tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # The types bite: a number where the API wants an ISO date is refused.
    (tmp_path / "wrong.ts").write_text(WRONG)
    refused = _run([node_tools / "tsc", *strict, "wrong.ts"], tmp_path)
    assert refused.returncode != 0
    # line 4, column 34: the value of starts_on
    assert "wrong.ts(4,34): error TS2322: Type 'number' is not assignable to type 'string'" in (
        refused.stdout + refused.stderr
    )
