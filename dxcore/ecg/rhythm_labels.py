"""Rhythm codes of the record's rhythm episodes: the MIT-BIH rhythm annotation codes
without their bracket (``(AFIB`` -> ``AFIB``), and their words for a clinician.

``STACH`` (sinus tachycardia) has no MIT-BIH code; it is ours, beside ``SBR``."""

RHYTHM_LABELS: dict[str, str] = {
    "N": "sinus rhythm",
    "AFIB": "atrial fibrillation",
    "AFL": "atrial flutter",
    "B": "ventricular bigeminy",
    "T": "ventricular trigeminy",
    "VT": "ventricular tachycardia",
    "IVR": "idioventricular rhythm",
    "SVTA": "supraventricular tachyarrhythmia",
    "SBR": "sinus bradycardia",
    "STACH": "sinus tachycardia",
    "Q": "unreadable",
}
# The atrial fibrillation and flutter codes, whose time makes the AF burden.
AF_LABELS = ("AFIB", "AFL")
