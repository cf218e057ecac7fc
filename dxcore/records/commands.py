"""The case-record modality's part of ``python -m dxcore`` (``commands`` of its
registration): ``federate``, training a model across sites with Flower (a server and one
client per site, each reading only its own site's file, over TLS;
docs/training-across-sites.md), and ``--mapping`` of ``predict``, a column mapping saved on
the Case records page for tables whose headers are not the model's fields.

The command line imports this module only when one of its commands is asked for; Flower
and the federation are imported only when ``federate`` runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dxcore.errors import DxError

if TYPE_CHECKING:
    from dxcore.contract import DxModel

# How a command writes its lines (the command line's, which keeps escape codes off the
# terminal).
Say = Callable[..., None]


def add_commands(commands: argparse._SubParsersAction, say: Say) -> None:
    """Add ``federate`` to the command line's subcommands; its lines go through ``say``."""
    federate = commands.add_parser(
        "federate", help="train across sites with Flower: a server and one client per site, "
                         "each client reading only its own site's file, over TLS "
                         "(docs/training-across-sites.md)")
    federate.add_argument("model_id", help="heart-disease; or 'certificates' to make the "
                                           "TLS certificates (--out, --host)")
    federate.add_argument("--strategy", choices=["fedavg", "fedprox"], default="fedavg",
                          help="default fedavg (the higher validation AUC)")
    federate.add_argument("--rounds", type=int, help="default: the chosen recipe's")
    federate.add_argument("--local-epochs", type=int, help="default: the chosen recipe's")
    federate.add_argument("--mu", type=float, help="FedProx's proximal weight")
    federate.add_argument("--seed", type=int, default=0)
    federate.add_argument("--dp-noise", type=float, metavar="MULTIPLIER",
                          help="with --serve (or a run on one machine): central differential "
                               "privacy, Gaussian noise of MULTIPLIER x --dp-clip / sites "
                               "added to each round's average (Flower's DP wrapper)")
    federate.add_argument("--dp-clip", type=float, metavar="NORM",
                          help="with --dp-noise: the largest update norm a site may send; "
                               "longer updates are scaled down to it")
    federate.add_argument("--out", help="where the server saves the global model "
                                        "(default runs/federated-heart-disease); with "
                                        "'certificates', the folder for them")
    federate.add_argument("--data", help="a client's datasets folder")
    federate.add_argument("--serve", action="store_true", help="run the server only")
    federate.add_argument("--address", default="0.0.0.0:8080",
                          help="with --serve: where to listen")
    federate.add_argument("--sites", type=int, default=3,
                          help="with --serve: how many sites to wait for")
    federate.add_argument("--certificates", metavar="DIR",
                          help="with --serve: the folder 'federate certificates' wrote "
                               "(ca.crt, server.crt, server.key); the links are TLS")
    federate.add_argument("--site", help="run this site's client only (cleveland, hungary "
                                         "or switzerland)")
    federate.add_argument("--server", default="127.0.0.1:8080",
                          help="with --site: the server's address, by a name or address its "
                               "certificate was made for (--host)")
    federate.add_argument("--root-certificate", metavar="FILE",
                          help="with --site: the federation's ca.crt; the site talks only to "
                               "the server whose certificate it signed")
    federate.add_argument("--insecure", action="store_true",
                          help="unencrypted links, without certificates: anyone on the network "
                               "path can read the summaries and weights; for a test on one "
                               "machine only")
    federate.add_argument("--host", action="append", metavar="NAME",
                          help="with 'certificates': a name or IP address the sites will dial "
                               "the server by (repeat for several; default this machine's "
                               "name; localhost and 127.0.0.1 are always included)")
    federate.set_defaults(run=lambda args: _federate(args, say))


def predict_options(model: DxModel, args: argparse.Namespace) -> dict[str, Any]:
    """The reader options of ``predict`` that this modality reads from files: ``mapping``
    from ``--mapping FILE``, checked to be for ``model``."""
    if not args.mapping:
        return {}
    from dxcore.contract import read_path
    from dxcore.records.mapping import read_mapping

    mapping = read_mapping(read_path(args.mapping), args.mapping)
    if mapping.model != model.card.id:
        raise DxError(f"--mapping {args.mapping} is for the model {mapping.model}, not "
                      f"{model.card.id}.")
    return {"mapping": mapping}


def _federate(args: argparse.Namespace, say: Say) -> int:
    """``federate heart-disease``: the server and one client per site as local processes;
    ``--serve`` or ``--site`` runs one of them (on separate machines). ``federate
    certificates`` makes the TLS certificates of the links."""
    if args.model_id == "certificates":
        return _federate_certificates(args, say)
    from dxcore.records.federation import nodes as federated_nodes
    from dxcore.records.federation import tls as federated_tls
    from dxcore.records.federation import training as federated

    if args.model_id != "heart-disease":
        raise DxError(f"Federated training is available for heart-disease only, not "
                      f"'{args.model_id}'.")
    if (args.dp_noise is None) != (args.dp_clip is None):
        raise DxError("Differential privacy needs both --dp-noise and --dp-clip.")
    federated_nodes.quiet_flower()
    chosen = federated_nodes.CHOSEN[args.strategy]
    plan = federated.Plan(args.strategy, args.rounds or chosen.rounds,
                          args.local_epochs or chosen.local_epochs,
                          chosen.mu if args.mu is None else args.mu,
                          args.dp_noise, args.dp_clip)
    out_dir = Path(args.out or "runs/federated-heart-disease")
    if args.site:
        federated.site_named(args.site)
        root = _federate_link(args, args.root_certificate, "--root-certificate FILE (the "
                              "federation's ca.crt)")
        federated_nodes.join(args.site, args.server,
                             root and federated_tls.root_certificate(root), args.data,
                             args.seed)
        return 0
    if args.serve:
        folder = _federate_link(args, args.certificates, "--certificates DIR")
        result = federated_nodes.serve(
            args.address, plan, args.sites, out_dir,
            folder and federated_tls.server_certificates(folder), args.seed)
        say(f"{plan.describe()}: sites {', '.join(result['sites'])}; weights in {out_dir}")
        return 0
    federated_nodes.run_locally(plan, out_dir, args.data, args.seed, insecure=args.insecure,
                                say=say)
    return 0


def _federate_link(args: argparse.Namespace, given: str | None, option: str) -> str | None:
    """The certificate option of a server or site, or None for an explicitly unencrypted
    link; neither or both is refused."""
    if given and args.insecure:
        raise DxError(f"Give {option.split()[0]} or --insecure, not both.")
    if not given and not args.insecure:
        raise DxError(f"The link would be unencrypted: give {option}, made by `python -m "
                      "dxcore federate certificates`, or --insecure for a test on one "
                      "machine.")
    return given


def _federate_certificates(args: argparse.Namespace, say: Say) -> int:
    from dxcore.records.federation import tls as federated_tls

    if not args.out:
        raise DxError("Say where to write the certificates: --out DIR.")
    paths = federated_tls.make_certificates(Path(args.out), args.host)
    names = federated_tls.server_names(paths["certificate"].read_bytes())
    say(f"Server certificate for {', '.join(names)}, valid {federated_tls.VALID_DAYS} days.",
         f"The server uses {paths['ca']}, {paths['certificate']} and {paths['key']} "
         "(--certificates); keep the key on the server alone.",
         f"Give each site a copy of {paths['ca']} (--root-certificate), and have it read "
         "back its SHA-256 fingerprint over another channel (the phone):",
         federated_tls.fingerprint(paths["ca"].read_bytes()))
    return 0
