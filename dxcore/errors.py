"""The one error type the project raises for anything a user can get wrong.

Every message is written for a clinician: it says what is wrong with the input and what to
do, never how the code failed. The UI and the CLI show ``str(error)`` and nothing else.
"""


class DxError(Exception):
    """Bad input, a missing dataset or a refused model, explained in plain words."""
