"""Write the readable labels into the shipped model cards: each class code's label
(``class_labels``: "ckd" -> "chronic kidney disease"; the codes stay in ``class_names``)
and, for the gene-expression model, each probe id's gene symbol (``gene_symbols.json``
beside the card, named by its ``gene_symbols``), read from the descriptions in its source
file (only the names; no data row is copied).

Reproducible and idempotent: rerun it after a model is retrained (``python -m dxcore
train`` writes a fresh card without these fields)::

    python scripts/label_cards.py            # every shipped card
    python scripts/label_cards.py ckd        # one
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dxcore.card_writing import write_card, write_json  # noqa: E402
from dxcore.cards import read_card, sha256_of  # noqa: E402
from dxcore.datasets import data_dir  # noqa: E402
from dxcore.paths import models_dir  # noqa: E402

CLASS_LABELS = {
    "ckd": {"ckd": "chronic kidney disease", "notckd": "no chronic kidney disease"},
    "cxr-pneumonia": {"NORMAL": "normal", "PNEUMONIA": "pneumonia"},
    "ecg-beats": {"N": "normal or bundle branch block beat (N)",
                  "S": "supraventricular ectopic beat (S)",
                  "V": "ventricular ectopic beat (V)", "F": "fusion beat (F)"},
    "heart-disease": {"no heart disease": "no heart disease",
                      "heart disease": "heart disease"},
    "leukemia-golub": {"ALL": "acute lymphoblastic leukaemia (ALL)",
                       "AML": "acute myeloid leukaemia (AML)"},
}
# The Golub files' "Gene Description" starts with the HUGO symbol where the array's
# annotation had one ("SLC9A1 Solute carrier family 9 ..."); descriptions that are
# all capitals ("RING3 PROTEIN") or GenBank definitions ("GB DEF = ...") name none.
SYMBOL = re.compile(r"^([A-Z][A-Z0-9]*[0-9][A-Z0-9]*|[A-Z]{2,6}[0-9]*[A-Z]?) (?=\S*[a-z])")
GOLUB_FILE = "golub/data_set_ALL_AML_train.csv"
SYMBOLS_FILE = "gene_symbols.json"  # beside the card, which stays lean


def gene_symbol(description: str) -> str:
    """The gene symbol a probe description starts with, "" when it starts with none.

    >>> gene_symbol("SLC9A1 Solute carrier family 9 (sodium/hydrogen exchanger)")
    'SLC9A1'
    >>> gene_symbol("RING3 PROTEIN"), gene_symbol("GB DEF = Mitochondrial protein S12")
    ('', '')
    """
    if description.startswith("GB DEF"):
        return ""
    match = SYMBOL.match(description)
    return match.group(1) if match else ""


def golub_symbols() -> dict[str, str]:
    table = pd.read_csv(data_dir() / GOLUB_FILE,
                        usecols=["Gene Description", "Gene Accession Number"])
    return {probe: symbol for description, probe in table.itertuples(index=False)
            if (symbol := gene_symbol(str(description)))}


def label(model_id: str) -> None:
    folder = models_dir() / model_id
    fields = dict(read_card(folder / "card.json").fields)
    fields["class_labels"] = {name: CLASS_LABELS[model_id][name]
                              for name in fields["class_names"]}
    symbols = golub_symbols() if model_id == "leukemia-golub" else {}
    if symbols:
        write_json(folder, SYMBOLS_FILE, symbols)
        fields["gene_symbols"] = {"file": SYMBOLS_FILE,
                                  "sha256": sha256_of(folder / SYMBOLS_FILE)}
    write_card(fields, folder)
    print(f"{model_id}: {len(fields['class_labels'])} class labels"
          + (f", {len(symbols)} gene symbols in {SYMBOLS_FILE}" if symbols else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="*", default=sorted(CLASS_LABELS))
    for model_id in parser.parse_args().models:
        label(model_id)


if __name__ == "__main__":
    main()
