"""``python -m dxcore federate``: its refusals in one plain line, and (slow, on request with
``DX_PROCESS_TESTS=1``) a real run of a Flower server and three site clients as separate
processes over gRPC, on small synthetic site files."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from dxcore.cli import main
from dxcore.records import federated
from tests.records.test_federated import _site_rows


def test_only_heart_disease_is_federated(capsys):
    assert main(["federate", "ckd"]) == 1
    assert capsys.readouterr().err.strip() == (
        "Error: Federated training is available for heart-disease only, not 'ckd'.")


def test_an_unknown_site_is_named(capsys):
    assert main(["federate", "heart-disease", "--site", "mars", "--server", "x:1"]) == 1
    assert "Unknown site 'mars'; the sites are cleveland, hungary, switzerland." in \
        capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("DX_PROCESS_TESTS"),
                    reason="starts four TensorFlow processes (a minute or more on 2 cores); "
                           "run with DX_PROCESS_TESTS=1")
def test_server_and_site_clients_run_as_separate_processes(capsys, tmp_path):
    folder = tmp_path / "data" / "heart_disease"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for name, site in federated.SITES.items():
        (folder / site.file).write_text(_site_rows(rng, 40, angiography=name == "cleveland"))
    out = tmp_path / "run"
    assert main(["federate", "heart-disease", "--rounds", "1", "--local-epochs", "1",
                 "--data", str(tmp_path / "data"), "--out", str(out)]) == 0
    result = json.loads((out / "federated.json").read_text())
    assert result["sites"] == sorted(federated.SITES) and not result["left_out"]
    assert (out / "model.keras").stat().st_size > 0
    assert "done in" in capsys.readouterr().out
