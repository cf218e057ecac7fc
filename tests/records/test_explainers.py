"""Field attributions (integrated gradients): shape, completeness, clinical sentences, the
top probes of a gene profile, and the model-parameter randomisation test of Adebayo J et
al., "Sanity Checks for Saliency Maps", NeurIPS 2018."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from scipy.stats import spearmanr

from dxcore.datasets import golub
from dxcore.explain import get_explainer
from dxcore.records import read_cases
from dxcore.records.network import classifier, standardization

CASE = ("age,sex,cp,trestbps,chol,fbs,restecg,thalach,exang,oldpeak,slope,ca,thal\n"
        "63,1,4,145,233,1,2,150,1,2.3,2,2,7\n")


def explanations(model, table):
    """Each predicted row's explanation (its ``CaseExplanation``), in row order."""
    result = model.predict(table)
    return [model.explain(result, "ig", item=case.item).detail
            for case in result.detail.results]


@pytest.fixture(scope="module")
def heart_result(heart_model):
    return heart_model.predict(read_cases(CASE.encode(), name="c.csv"))


def test_one_signed_attribution_per_field_adding_up_to_the_log_odds(heart_model,
                                                                    heart_result):
    explanation = heart_model.explain(heart_result, "ig").detail
    assert sorted(f.name for f in explanation.fields) == sorted(heart_model.schema.names)
    sizes = [abs(f.attribution) for f in explanation.fields]
    assert sizes == sorted(sizes, reverse=True)
    assert {np.sign(f.attribution) for f in explanation.fields} >= {-1.0, 1.0}
    # completeness: the attributions add up to log-odds(case) - log-odds(cohort mean case)
    mean, _ = standardization(heart_model.network)
    logits = np.asarray(classifier(heart_model.network)(
        np.stack([heart_result.input_of(0)[0], mean]).astype(np.float32)))
    margin = logits[:, 1] - logits[:, 0]
    assert explanation.attribution_total == pytest.approx(margin[0] - margin[1], abs=1e-3)


def test_sentences_in_clinical_words_and_units(heart_model, heart_result):
    explanation = heart_model.explain(heart_result, "ig").detail
    by_name = {f.name: f for f in explanation.fields}
    sentence = by_name["oldpeak"].sentence("heart disease")
    assert sentence.startswith("ST depression 2.3 mm ")
    assert sentence.endswith(" the probability of heart disease.")
    assert by_name["cp"].sentence("heart disease").startswith("Chest-pain type: asymptomatic ")
    assert len(explanation.sentences(3)) == 3


def test_reconstruction_deviation_flags_the_unusual_value(heart_model):
    # 540 mg/dl: unusual but within what the training sites recorded, so answered
    table = read_cases((CASE + CASE.splitlines()[1].replace(",233,", ",540,") + "\n").encode(),
                       name="c.csv")
    usual, unusual = explanations(heart_model, table)
    assert unusual.most_unusual(1)[0].name == "chol"
    chol = next(f for f in unusual.fields if f.name == "chol")
    assert chol.deviation > 3  # training SDs above what the cohort's pattern predicts
    assert chol.deviation > next(f for f in usual.fields if f.name == "chol").deviation


def test_gene_profile_top_20_probes(golub_model, dataset):
    dataset("golub")  # a real profile: random intensities are refused as atypical
    table, _ = golub.official_split("test")
    (explanation,) = explanations(golub_model, table.iloc[:1])
    probes = golub_model.schema.names
    top = explanation.top(golub_model.card.input_spec["top_fields"])
    assert len(top) == 20 and all(name in probes for name in (f.name for f in top))
    assert abs(top[0].attribution) >= abs(top[-1].attribution) > 0
    assert top[0].sentence("AML").startswith(f"{top[0].name} expression ")


@pytest.mark.parametrize("model_fixture", ["heart_model", "golub_model"])
def test_attributions_depend_on_the_learned_weights(request, model_fixture):
    """Adebayo's test at its most severe step: every learned weight re-initialised (the
    standardisation, which is data, kept). Signed attributions are compared: their sizes
    share the factor (value - mean) whatever the weights. The seed differs from the
    training seeds: a wide network moves little from its initial weights, so re-drawing
    those very weights would not be a re-initialisation."""
    model = request.getfixturevalue(model_fixture)
    keras.utils.set_random_seed(12345)
    randomised = keras.models.clone_model(model.network)
    rng = np.random.default_rng(1)
    mean, variance = standardization(model.network)
    explainer = get_explainer("record", "ig")
    positive = np.array([model.card.class_names.index(model.card.positive_class)])
    correlations = []
    for _ in range(8):  # cases drawn around the training cohort
        x = (mean + rng.normal(size=mean.shape) * np.sqrt(variance)).astype(np.float32)[None]
        learned = explainer.attribute(model, model.network, x, positive)[0]
        random = explainer.attribute(model, randomised, x, positive)[0]
        correlations.append(spearmanr(learned, random).statistic)
    assert np.nanmean(correlations) < 0.5, correlations


def test_a_row_that_failed_validation_has_no_explanation(heart_model):
    table = read_cases((CASE + CASE.splitlines()[1].replace("63,", "430,", 1) + "\n").encode(),
                       name="c.csv")
    result = heart_model.predict(table)
    good, failed = result.detail.results
    assert (good.item, failed.item) == (0, None) and len(result) == 1
    assert list(heart_model.explain_all(result, "ig")) == [0]


def test_attributions_are_of_the_positive_class_whatever_the_decision(heart_model):
    """A case called 'no heart disease' is still explained by what raised or lowered the
    probability of heart disease, as the sentences say."""
    healthy = "41,0,2,130,204,0,2,172,0,1.4,1,0,3\n"
    result = heart_model.predict(read_cases((CASE.splitlines()[0] + "\n" + healthy).encode(),
                                            name="c.csv"))
    assert result.decisions[0] == "no heart disease"
    explanation = heart_model.explain(result, "ig")
    assert explanation.class_name == "heart disease"
    assert explanation.detail.attribution_total < 0  # below the cohort mean case's odds
