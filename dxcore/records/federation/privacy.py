"""Optional central differential privacy for the federated heart-disease run, with Flower's
own wrapper (``DifferentialPrivacyServerSideFixedClipping``; Andrew et al. 2021, McMahan et
al. 2018) around the robust strategy of :mod:`dxcore.records.federation.training`.

Each round, every site's update (its weights less the round's global weights) is clipped to
an L2 norm of at most ``clipping_norm``, the clipped updates are averaged, and Gaussian noise
of standard deviation ``noise_multiplier * clipping_norm / updates averaged`` is added to the
average. What the noise protects is the global model and what it reveals about any one site's
update; it does not hide the updates from the server, which sees them before it adds noise.

:class:`CentralPrivacy` is Flower's wrapper with its round reordered for the robust strategy:

- the robust strategy screens the sites' *raw* updates first, so a site sending NaN or a
  huge update is still left out of the round (clipped, a huge update would pass as an
  ordinary one);
- a site that fails leaves the round to the others, as without privacy (Flower's wrapper
  drops the whole round when any site fails);
- the kept updates are averaged with equal weights: the noise Flower adds is scaled for the
  mean of the clipped updates (FedAvg's weighting by cases would let the largest site move
  the average by more than one clipping norm over the number of sites); its scale uses the
  number of updates actually averaged, not the number of sites expected;
- the noised average becomes the robust strategy's global weights (what is saved, and what
  the next round's updates are measured from).

Everything else (pooling the statistics before round 1, leaving out sites, validation) is the
robust strategy's, reached through the wrapper; its attributes (``statistics``, ``current``,
``left_out``, ``rejected`` ...) read through the wrapper too.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from flwr.common import ndarrays_to_parameters, parameters_to_ndarrays
from flwr.server.strategy import DifferentialPrivacyServerSideFixedClipping, Strategy
from flwr.supercore.differential_privacy import (
    add_gaussian_noise_to_params,
    compute_clip_model_update,
    compute_stdv,
    get_norm,
)

from dxcore.errors import DxError

log = logging.getLogger(__name__)


class CentralPrivacy(DifferentialPrivacyServerSideFixedClipping):
    """Flower's server-side fixed-clipping DP around a robust strategy (module docstring)."""

    def __getattr__(self, name: str) -> Any:
        # only reached for what the wrapper itself lacks: the robust strategy's attributes
        if name == "strategy":
            raise AttributeError(name)
        return getattr(self.strategy, name)

    def aggregate_fit(self, server_round, results, failures):
        robust = self.strategy
        kept = robust.screen(server_round, results, failures)
        equal = []
        for proxy, res in kept:
            update = parameters_to_ndarrays(res.parameters)
            # Flower's clipping divides by the update's norm: a site sending the global
            # weights back unchanged (norm 0) would stop the server
            if get_norm([u - g for u, g in zip(update, self.current_round_params,
                                               strict=True)]) > self.clipping_norm:
                compute_clip_model_update(update, self.current_round_params,
                                          self.clipping_norm)
            equal.append((proxy, dataclasses.replace(res, parameters=ndarrays_to_parameters(
                update), num_examples=1)))
        parameters, metrics = robust.average(server_round, equal)
        if parameters is None:
            return None, metrics
        parameters = add_gaussian_noise_to_params(parameters, self.noise_multiplier,
                                                  self.clipping_norm, len(equal))
        robust.current = parameters_to_ndarrays(parameters)
        log.info("round %d: %d updates clipped to %g, noise sd %.4g added", server_round,
                 len(equal), self.clipping_norm,
                 compute_stdv(self.noise_multiplier, self.clipping_norm, len(equal)))
        return parameters, metrics


def central_privacy(strategy: Strategy, noise_multiplier: float | None,
                    clipping_norm: float | None, sites: int) -> CentralPrivacy:
    """``strategy`` wrapped in :class:`CentralPrivacy`; both settings are needed."""
    if noise_multiplier is None or clipping_norm is None:
        raise DxError("Differential privacy needs both a noise multiplier and a clipping "
                      "norm (--dp-noise and --dp-clip).")
    if noise_multiplier < 0 or clipping_norm <= 0:
        raise DxError("The DP noise multiplier must be 0 or more and the clipping norm more "
                      "than 0.")
    return CentralPrivacy(strategy, noise_multiplier, clipping_norm, sites)
