"""Saliency over time of one beat (the map over the beat's waveform input), through
tf-keras-vis; each method is a :class:`~dxcore.explain.MapExplainer` overriding ``compute``.

- Grad-CAM: Selvaraju RR et al., ICCV 2017, on the Conv1D front-end (``last_conv``); the
  default.
- Saliency: Simonyan K et al., arXiv:1312.6034 (2014); the gradient magnitude per sample.
"""

from __future__ import annotations

from dxcore.explain import MapExplainer, register_explainer


class GradCam(MapExplainer):
    label = "Grad-CAM"
    reference = ("Selvaraju RR, Cogswell M, Das A et al., \"Grad-CAM: Visual Explanations "
                 "from Deep Networks via Gradient-based Localization\", ICCV 2017")
    how_to_read = (
        "Over the beat's window, from the convolutional front-end's coarse time grid: dark "
        "segments are the parts of the waveform whose features most raised the class's "
        "score (a wide QRS, an early or missing P wave). Coarse in time; it shows where "
        "the model looked, not a measured interval.")

    def compute(self, network, x, score, layer):
        from tf_keras_vis.gradcam import Gradcam
        return Gradcam(network, clone=False)(score, x, penultimate_layer=layer)


class Saliency(MapExplainer):
    label = "Saliency"
    reference = ("Simonyan K, Vedaldi A, Zisserman A, \"Deep Inside Convolutional Networks: "
                 "Visualising Image Classification Models and Saliency Maps\", "
                 "arXiv:1312.6034 (2014)")
    how_to_read = (
        "Sample by sample: how strongly a small change of the waveform there would change "
        "the class's score. Sharp and noisy; dark stretches show where the model is "
        "sensitive, which is not always where the evidence is.")

    def compute(self, network, x, score, layer):
        from tf_keras_vis.saliency import Saliency as VanillaSaliency
        return VanillaSaliency(network, clone=False)(score, x)


register_explainer("ecg", "gradcam", GradCam(), default=True)
register_explainer("ecg", "saliency", Saliency())
