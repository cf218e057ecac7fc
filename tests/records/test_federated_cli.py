"""``python -m dxcore federate``: its refusals in one plain line (a site holding the wrong
root certificate among them), and real runs of a Flower server and three site clients as
separate processes over TLS, on small synthetic site files: with the step-by-step commands of
docs/training-across-sites.md (in every run, as CI runs it), and as ``run_locally`` starts
them (on request with ``DX_PROCESS_TESTS=1``: the same engine, a minute more)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import keras
import numpy as np
import pytest

from dxcore.cli import main
from dxcore.records import training
from dxcore.records.federation import nodes, tls
from dxcore.records.federation import training as federated
from dxcore.records.network import standardization
from dxcore.records.preprocessing import encode
from dxcore.records.recipes.heart_disease import SCHEMA, SETTINGS
from tests.records.test_federated import _site_rows

PROCESS_TESTS = pytest.mark.skipif(
    not os.environ.get("DX_PROCESS_TESTS"),
    reason="starts four TensorFlow processes (a minute or more on 2 cores); run with "
           "DX_PROCESS_TESTS=1")


def _write_sites(root: Path) -> Path:
    folder = root / "heart_disease"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for name, site in federated.SITES.items():
        (folder / site.file).write_text(_site_rows(
            rng, 40, zero_chol=name == "switzerland", angiography=name == "cleveland"))
    return root


def test_only_heart_disease_is_federated(capsys):
    assert main(["federate", "ckd"]) == 1
    assert capsys.readouterr().err.strip() == (
        "Error: Federated training is available for heart-disease only, not 'ckd'.")


def test_an_unknown_site_is_named(capsys):
    assert main(["federate", "heart-disease", "--site", "mars", "--server", "x:1"]) == 1
    assert "Unknown site 'mars'; the sites are cleveland, hungary, switzerland." in \
        capsys.readouterr().err


@pytest.mark.parametrize(("options", "message"), [
    (["--serve"], "The link would be unencrypted: give --certificates DIR"),
    (["--site", "cleveland"], "The link would be unencrypted: give --root-certificate FILE"),
    (["--serve", "--insecure", "--certificates", "x"], "Give --certificates or --insecure, "
                                                        "not both."),
    (["--dp-noise", "1"], "Differential privacy needs both --dp-noise and --dp-clip."),
])
def test_a_link_without_certificates_or_half_a_dp_setting_is_refused(capsys, options, message):
    assert main(["federate", "heart-disease", *options]) == 1
    assert message in capsys.readouterr().err


def test_certificates_are_made_once_for_the_names_given(capsys, tmp_path):
    assert main(["federate", "certificates", "--out", str(tmp_path), "--host",
                 "fl.example.org"]) == 0
    out = capsys.readouterr().out
    assert "for fl.example.org, localhost, 127.0.0.1" in out
    # what a site reads back by phone, as openssl prints it
    assert out.splitlines()[-1] == tls.fingerprint((tmp_path / "ca.crt").read_bytes())
    assert len(out.splitlines()[-1].split(":")) == 32
    assert oct((tmp_path / "server.key").stat().st_mode)[-3:] == "600"
    assert not (tmp_path / "ca.key").exists()  # nobody can sign another server
    assert main(["federate", "certificates", "--out", str(tmp_path)]) == 1
    assert "never overwritten" in capsys.readouterr().err


def test_a_site_with_another_federations_root_certificate_is_refused_in_words(capsys,
                                                                              tmp_path):
    from flwr.server import SimpleClientManager
    from flwr.server.superlink.fleet.grpc_bidi.grpc_server import start_grpc_server

    tls.make_certificates(tmp_path / "ours", ["127.0.0.1"])
    theirs = tls.make_certificates(tmp_path / "theirs", ["127.0.0.1"])
    address = f"127.0.0.1:{nodes._free_port()}"
    server = start_grpc_server(client_manager=SimpleClientManager(), server_address=address,
                               certificates=tls.server_certificates(
                                   tmp_path / "ours"))
    try:
        assert main(["federate", "heart-disease", "--site", "cleveland", "--server", address,
                     "--root-certificate", str(theirs["ca"]),
                     "--data", str(_write_sites(tmp_path / "data"))]) == 1
    finally:
        server.stop(grace=None)
    err = capsys.readouterr().err
    assert err.startswith(f"Error: The server at {address} was refused: its certificate is "
                          "not signed by this site's root certificate")
    assert "Traceback" not in err


@pytest.mark.slow
@PROCESS_TESTS
def test_server_and_site_clients_run_as_separate_processes(capsys, tmp_path):
    """On one machine, with central DP (the server's options reach its process)."""
    out = tmp_path / "run"
    assert main(["federate", "heart-disease", "--rounds", "1", "--local-epochs", "1",
                 "--dp-noise", "0.5", "--dp-clip", "1.0",
                 "--data", str(_write_sites(tmp_path / "data")), "--out", str(out)]) == 0
    result = json.loads((out / "federated.json").read_text())
    assert result["sites"] == sorted(federated.SITES) and not result["left_out"]
    assert result["link"] == "TLS"
    assert (result["plan"]["noise_multiplier"], result["plan"]["clipping_norm"]) == (0.5, 1.0)
    assert (out / "model.keras").stat().st_size > 0
    assert "(TLS); one process per site" in capsys.readouterr().out


@pytest.mark.slow  # in the default run: issue 25 asks CI to run the study over TLS
def test_three_hospitals_train_over_tls_with_the_documented_commands(tmp_path):
    """The commands of docs/training-across-sites.md, on 127.0.0.1: certificates, the
    server, and each site with its own data folder (here one folder for all three)."""
    data = _write_sites(tmp_path / "data")
    certificates, out = tmp_path / "certificates", tmp_path / "model"
    assert main(["federate", "certificates", "--out", str(certificates), "--host",
                 "127.0.0.1"]) == 0
    address = f"127.0.0.1:{nodes._free_port()}"
    command = [sys.executable, "-m", "dxcore", "federate", "heart-disease"]
    env = {**os.environ, "FLWR_TELEMETRY_ENABLED": "0", "TF_CPP_MIN_LOG_LEVEL": "3"}
    logs = {name: (tmp_path / f"{name}.log").open("w")
            for name in ("server", *federated.SITES)}
    processes = {"server": subprocess.Popen(
        [*command, "--serve", "--address", address, "--sites", "3", "--rounds", "2",
         "--local-epochs", "1", "--certificates", str(certificates), "--out", str(out)],
        env=env, stdout=logs["server"], stderr=subprocess.STDOUT)}
    try:
        nodes._wait_until_listening(address, processes["server"], 120)
        for site in federated.SITES:
            processes[site] = subprocess.Popen(
                [*command, "--site", site, "--server", address, "--root-certificate",
                 str(certificates / "ca.crt"), "--data", str(data)],
                env=env, stdout=logs[site], stderr=subprocess.STDOUT)
        status = {name: process.wait(timeout=300) for name, process in processes.items()}
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
    assert status == dict.fromkeys(processes, 0), {
        name: (tmp_path / f"{name}.log").read_text()[-2000:] for name in processes}
    result = json.loads((out / "federated.json").read_text())
    assert result["link"] == "TLS"
    assert result["sites"] == sorted(federated.SITES) and not result["left_out"]
    assert not result["rejected_updates"]
    # the server's statistics are exactly what the three sites' summaries pool to
    parts = {site: federated.site_split(site, data)[0] for site in federated.SITES}
    pooled = federated.pool_summaries([federated.summarise(
        training.dataset_values(part, SCHEMA)[0], SCHEMA) for part in parts.values()], SCHEMA)
    statistics = federated.Statistics(**result["statistics"])
    # (equal up to the order the server summed the sites in)
    assert statistics.recorded == pooled.recorded and statistics.fill == pytest.approx(
        pooled.fill)
    assert np.allclose(statistics.mean, pooled.mean)
    model = keras.saving.load_model(out / "model.keras", compile=False, safe_mode=True)
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())
    assert np.allclose(standardization(model)[0], statistics.mean)
    # two rounds moved the model away from the weights every site started from
    keras.utils.set_random_seed(result["seed"])
    initial = federated.build_network(statistics, SETTINGS, SCHEMA)
    x = encode(training.dataset_values(parts["cleveland"], SCHEMA)[0], SCHEMA, statistics.fill)
    assert not np.allclose(federated.logits_of(model, x), federated.logits_of(initial, x),
                           atol=1e-4)


@pytest.mark.parametrize(("details", "secure", "start"), [
    # gRPC's texts, as a site saw them: another authority's server; a name not in the
    # server's certificate; no server at all
    ("failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.1:1: Tls "
     "handshake failed (TSI_PROTOCOL_FAILURE): SSL_ERROR_SSL: certificate signature failure",
     True, "The server at h:1 was refused"),
    ("failed to connect to all addresses; last error: UNKNOWN: ipv4:127.0.0.2:1: Custom "
     "verification check failed with error: UNAUTHENTICATED: Hostname Verification Check "
     "failed.", True, "The server at h:1 was refused"),
    ("failed to connect to all addresses; last error: UNAVAILABLE: ipv4:127.0.0.1:1: "
     "Connection refused", True, "No federated server answers at h:1 over TLS"),
    ("failed to connect to all addresses; last error: UNAVAILABLE: ipv4:127.0.0.1:1: "
     "Connection refused", False, "No federated server answers at h:1:"),
])
def test_a_failed_link_is_explained_in_words(details, secure, start):
    error = SimpleNamespace(details=lambda: details)
    assert nodes.link_refused("h:1", error, secure).startswith(start)
