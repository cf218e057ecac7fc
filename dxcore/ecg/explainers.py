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
    reference = "Selvaraju RR et al., ICCV 2017"

    def compute(self, network, x, score, layer):
        from tf_keras_vis.gradcam import Gradcam
        return Gradcam(network, clone=False)(score, x, penultimate_layer=layer)


class Saliency(MapExplainer):
    label = "Saliency"
    reference = "Simonyan K et al., arXiv:1312.6034 (2014)"

    def compute(self, network, x, score, layer):
        from tf_keras_vis.saliency import Saliency as VanillaSaliency
        return VanillaSaliency(network, clone=False)(score, x)


register_explainer("ecg", "gradcam", GradCam(), default=True)
register_explainer("ecg", "saliency", Saliency())
