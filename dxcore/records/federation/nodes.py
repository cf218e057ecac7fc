"""The federated heart-disease run as separate processes over gRPC: a Flower server, and one
client per site that reads only its own site's file (``python -m dxcore federate
heart-disease``; docs/training-across-sites.md).

:func:`serve` runs the server and, when the rounds are done, saves the global network
(``model.keras``) and ``federated.json`` (the plan, the pooled statistics, the sites that
took part, any left out and why) in its output folder. :func:`join` runs one site's client.
:func:`run_locally` starts both kinds on this machine, each as its own process.

The links are TLS (:mod:`dxcore.records.federation.tls`): the server presents a certificate
signed by the federation's own authority and each site checks it against its copy of
``ca.crt``. Without certificates (``insecure``) the link is unencrypted: for a test on one
machine only.

The engine is Flower's legacy one (``start_server`` / ``start_client``, deprecated since
Flower 1.13), kept on purpose: the SuperLink/SuperNode engine of Flower 1.42 starts a new
process for every message a site answers, so a site's network, optimizer state and encoded
cases would not live from one round to the next as :class:`federated.SiteClient` keeps
them; and its Control API, which starts runs and registers SuperNodes, shares the sites'
port with no account authentication outside Flower Enterprise. Flower authenticates sites
(SuperNode authentication) only in that engine; the legacy client ignores its keys. So only
the server is authenticated here (docs/training-across-sites.md, "Node authentication").
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

from dxcore.card_writing import save_weights_file, write_json
from dxcore.errors import DxError
from dxcore.records.federation import tls
from dxcore.records.federation import training as federated
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


def serve(address: str, plan: federated.Plan, sites: int, out_dir: Path,
          certificates: tuple[bytes, bytes, bytes] | None, seed: int = 0,
          join_timeout: float = JOIN_SECONDS, round_timeout: float = 600.0) -> dict:
    """Run the server until ``plan.rounds`` rounds are done; save and return the result.
    ``certificates`` (authority, server certificate, server key; see
    :func:`tls.server_certificates`) makes every link TLS; ``None`` leaves the
    links unencrypted."""
    from flwr.server import ServerConfig, start_server

    strategy = federated.make_strategy(plan, SCHEMA, SETTINGS, sites, seed, evaluate=False,
                                       join_timeout=join_timeout)
    start_server(server_address=address, strategy=strategy, certificates=certificates,
                 config=ServerConfig(num_rounds=plan.rounds, round_timeout=round_timeout))
    if strategy.statistics is None:
        raise DxError("The federated run stopped before any site sent its summary.")
    out_dir.mkdir(parents=True, exist_ok=True)
    save_weights_file(federated.final_network(strategy, SETTINGS), out_dir / "model.keras")
    result = {"plan": asdict(plan), "seed": seed,
              "link": "TLS" if certificates else "unencrypted",
              "statistics": asdict(strategy.statistics),
              "sites": sorted(set(strategy.site_of.values()) - set(strategy.left_out)),
              "left_out": strategy.left_out,
              "rejected_updates": [list(r) for r in strategy.rejected]}
    write_json(out_dir, RESULT_FILE, result)
    return result


def join(site: str, server: str, root_certificate: bytes | None, data: str | None = None,
         seed: int = 0, max_wait: float = 120.0) -> None:
    """Run one site's client until the server ends the run. ``root_certificate`` (the
    federation's ``ca.crt``) makes the link TLS and refuses any server whose certificate it
    did not sign; ``None`` leaves the link unencrypted."""
    import grpc
    from flwr.compat.client.app import start_client

    federated.site_named(site)
    client = federated.SiteClient(site, SCHEMA, SETTINGS, data, "final", seed)
    try:
        start_client(server_address=server, client=client.to_client(),
                     root_certificates=root_certificate, insecure=root_certificate is None,
                     max_wait_time=max_wait)
    except grpc.RpcError as error:
        raise DxError(link_refused(server, error, root_certificate is not None)) from None


def link_refused(server: str, error: Exception, secure: bool) -> str:
    """Why a site's link to the server failed, in words (gRPC's own text says it in TLS
    library terms)."""
    details = str(getattr(error, "details", lambda: "")() or error)
    # gRPC says "Tls handshake failed" for a certificate another authority signed, and
    # "Hostname Verification Check failed" for a server dialled by a name not in its
    # certificate
    if secure and any(word in details.lower() for word in ("handshake", "certificate",
                                                          "verification", "tls", "ssl")):
        return (f"The server at {server} was refused: its certificate is not signed by this "
                "site's root certificate, or not made for the name or address dialled. Use "
                "the ca.crt made with the server's certificates, and the server name given "
                "to --host when they were made.")
    if "refused" in details.lower() or "failed to connect" in details.lower():
        return (f"No federated server answers at {server}"
                + (" over TLS" if secure else "") + ": check the address, that the server "
                "is started, and that both sides use TLS (or both --insecure).")
    return f"The link to the federated server at {server} broke ({details.strip()})."


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_locally(plan: federated.Plan, out_dir: Path, data: str | None = None, seed: int = 0,
                sites: tuple[str, ...] = tuple(federated.SITES), timeout: float = 1800.0,
                insecure: bool = False, say=print) -> dict:
    """The server and one client per site, each a separate process on this machine, over
    TLS with certificates made for this run alone (unless ``insecure``)."""
    address = f"127.0.0.1:{_free_port()}"
    base = [sys.executable, "-m", "dxcore", "federate", "heart-disease", "--seed", str(seed)]
    privacy = ([] if plan.noise_multiplier is None else
               ["--dp-noise", str(plan.noise_multiplier), "--dp-clip", str(plan.clipping_norm)])
    started = time.time()
    with contextlib.ExitStack() as stack:
        if insecure:
            server_link, site_link = ["--insecure"], ["--insecure"]
        else:
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            paths = tls.make_certificates(scratch, list(tls.LOCAL_NAMES))
            server_link, site_link = (["--certificates", str(scratch)],
                                      ["--root-certificate", str(paths["ca"])])
        commands = {"server": [*base, "--serve", "--address", address, "--sites",
                               str(len(sites)), "--out", str(out_dir), "--strategy",
                               plan.strategy, "--rounds", str(plan.rounds), "--local-epochs",
                               str(plan.local_epochs), "--mu", str(plan.mu), *privacy,
                               *server_link]}
        for site in sites:
            commands[site] = [*base, "--site", site, "--server", address, *site_link,
                              *(["--data", data] if data else [])]
        env = {**os.environ, "FLWR_TELEMETRY_ENABLED": "0", "TF_CPP_MIN_LOG_LEVEL": "3"}
        # logs go to files, not pipes: a log must not fill a pipe nobody reads mid-run
        logs = {name: stack.enter_context(tempfile.TemporaryFile("w+")) for name in commands}
        processes: dict[str, subprocess.Popen] = {}
        # however this ends (an error, Ctrl-C), no process of the run is left behind
        stack.callback(lambda: [p.kill() for p in processes.values() if p.poll() is None])

        def start(name: str) -> subprocess.Popen:
            return subprocess.Popen(commands[name], env=env, stdout=subprocess.DEVNULL,
                                    stderr=logs[name], text=True)

        processes["server"] = start("server")
        # the clients start once the server listens: a client that finds no server stops
        # at once
        _wait_until_listening(address, processes["server"], timeout)
        processes.update({site: start(site) for site in sites})
        say(f"Server at {address} ({'unencrypted' if insecure else 'TLS'}); one process "
            f"per site: {', '.join(sites)}")
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
