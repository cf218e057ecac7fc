"""Training the ``heart-disease`` model across sites that keep their rows (Flower).

Modules (docs/training-across-sites.md describes the run):

- ``training``: the sites, the summaries they send once and their pooling, each site's
  client, the server's robust strategy and the plan of a run, run in one process;
- ``nodes``: the same run as separate processes over gRPC (``python -m dxcore federate
  heart-disease``): the server and one client per site;
- ``tls``: the certificates of those links and their reading;
- ``privacy``: optional central differential privacy around the robust strategy;
- ``study``: the study behind the shipped model, every choice on the sites' training splits.

Nothing is imported here: the certificates command reads ``tls`` without Flower or
TensorFlow.
"""
