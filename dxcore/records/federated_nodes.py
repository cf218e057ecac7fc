"""The federated heart-disease run as separate processes over gRPC: a Flower server, and one
client per site that reads only its own site's file (``python -m dxcore federate
heart-disease``; README, "Training across sites").

:func:`serve` runs the server and, when the rounds are done, saves the global network
(``model.keras``) and ``federated.json`` (the plan, the pooled statistics, the sites that
took part, any left out and why) in its output folder. :func:`join` runs one site's client.
:func:`run_locally` starts both kinds on this machine, each as its own process.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from dxcore.cards import save_weights_file, write_json
from dxcore.errors import DxError
from dxcore.records import federated
from dxcore.records.recipes.heart_disease import SCHEMA, SETTINGS

RESULT_FILE = "federated.json"
# How long the server waits for the sites to join before starting with those that did: a
# site starting TensorFlow on a loaded machine took over 2 minutes.
JOIN_SECONDS = 600.0
CLIENT_EXIT_SECONDS = 300  # generous: on a loaded machine a client takes minutes to leave
# What `scripts/federated_heart.py select` chose on the validation parts (highest mean of
# the sites' validation AUCs; the table is in the heart-disease card, methods.federated).
CHOSEN = {"fedavg": federated.Plan("fedavg", 20, 5),
          "fedprox": federated.Plan("fedprox", 20, 5, 1.0)}


def serve(address: str, plan: federated.Plan, sites: int, out_dir: Path, seed: int = 0,
          join_timeout: float = JOIN_SECONDS, round_timeout: float = 600.0) -> dict:
    """Run the server until ``plan.rounds`` rounds are done; save and return the result."""
    from flwr.server import ServerConfig, start_server

    strategy = federated.make_strategy(plan, SCHEMA, SETTINGS, sites, seed, evaluate=False,
                                       join_timeout=join_timeout)
    start_server(server_address=address, strategy=strategy,
                 config=ServerConfig(num_rounds=plan.rounds, round_timeout=round_timeout))
    if strategy.statistics is None:
        raise DxError("The federated run stopped before any site sent its summary.")
    out_dir.mkdir(parents=True, exist_ok=True)
    save_weights_file(federated.final_network(strategy, SETTINGS), out_dir / "model.keras")
    result = {"plan": asdict(plan), "seed": seed, "statistics": asdict(strategy.statistics),
              "sites": sorted(set(strategy.site_of.values()) - set(strategy.left_out)),
              "left_out": strategy.left_out,
              "rejected_updates": [list(r) for r in strategy.rejected]}
    write_json(out_dir, RESULT_FILE, result)
    return result


def join(site: str, server: str, data: str | None = None, seed: int = 0,
         max_wait: float = 120.0) -> None:
    """Run one site's client until the server ends the run."""
    from flwr.compat.client.app import start_client

    federated.site_named(site)
    client = federated.SiteClient(site, SCHEMA, SETTINGS, data, "final", seed)
    start_client(server_address=server, client=client.to_client(), insecure=True,
                 max_wait_time=max_wait)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_locally(plan: federated.Plan, out_dir: Path, data: str | None = None, seed: int = 0,
                sites: tuple[str, ...] = tuple(federated.SITES), timeout: float = 1800.0,
                say=print) -> dict:
    """The server and one client per site, each a separate process on this machine."""
    address = f"127.0.0.1:{_free_port()}"
    base = [sys.executable, "-m", "dxcore", "federate", "heart-disease", "--seed", str(seed)]
    commands = {"server": [*base, "--serve", "--address", address, "--sites", str(len(sites)),
                           "--out", str(out_dir), "--strategy", plan.strategy, "--rounds",
                           str(plan.rounds), "--local-epochs", str(plan.local_epochs),
                           "--mu", str(plan.mu)]}
    for site in sites:
        commands[site] = [*base, "--site", site, "--server", address,
                          *(["--data", data] if data else [])]
    env = {**os.environ, "FLWR_TELEMETRY_ENABLED": "0", "TF_CPP_MIN_LOG_LEVEL": "3"}
    started = time.time()
    with contextlib.ExitStack() as stack:
        # logs go to files, not pipes: a log must not fill a pipe nobody reads mid-run
        logs = {name: stack.enter_context(tempfile.TemporaryFile("w+")) for name in commands}
        processes: dict[str, subprocess.Popen] = {}
        # however this ends (an error, Ctrl-C), no process of the run is left behind
        stack.callback(lambda: [p.kill() for p in processes.values() if p.poll() is None])

        def start(name: str) -> subprocess.Popen:
            return subprocess.Popen(commands[name], env=env, stdout=subprocess.DEVNULL,
                                    stderr=logs[name], text=True)

        processes["server"] = start("server")
        # the clients start once the server listens: a client that finds no server waits
        # ever longer between retries (Flower's exponential backoff)
        _wait_until_listening(address, processes["server"], timeout)
        processes.update({site: start(site) for site in sites})
        say(f"Server at {address}; one process per site: {', '.join(sites)}")
        try:
            failed = {"server": processes["server"].wait(timeout=timeout)}
        except subprocess.TimeoutExpired:
            raise DxError(f"The federated run did not finish within {timeout:.0f} s.") \
                from None
        for site in sites:  # each client leaves when the server ends the run
            try:
                failed[site] = processes[site].wait(timeout=CLIENT_EXIT_SECONDS)
            except subprocess.TimeoutExpired:
                processes[site].kill()
                failed[site] = 0
                say(f"{site}: still running {CLIENT_EXIT_SECONDS} s after the server "
                    "ended; stopped")
        for name, status in failed.items():
            if status:
                logs[name].seek(0)
                failed[name] = _last_line(logs[name].read())
    if failed["server"]:
        raise DxError(f"The federated server stopped: {failed['server']}")
    for site in sites:
        if failed[site]:
            say(f"{site}: {failed[site]}")
    result = json.loads((out_dir / RESULT_FILE).read_text())
    say(f"{plan.describe()} done in {time.time() - started:.0f} s with "
        f"{', '.join(result['sites'])}; weights in {out_dir}")
    for site, why in result["left_out"].items():
        say(f"left out: {site}: {why}")
    return result


def _wait_until_listening(address: str, server: subprocess.Popen, timeout: float) -> None:
    host, port = address.rsplit(":", 1)
    deadline = time.time() + timeout
    while server.poll() is None and time.time() < deadline:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)


def _last_line(text: str | None) -> str:
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def quiet_flower() -> None:
    logging.getLogger("flwr").setLevel(logging.WARNING)
