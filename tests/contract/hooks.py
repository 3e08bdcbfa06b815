"""schemathesis hooks for tests/contract/run.sh (loaded through `hooks` in schemathesis.toml)."""

import schemathesis

# The nil UUID: an id that names nothing.
NOTHING = "00000000-0000-0000-0000-000000000000"


@schemathesis.hook
def before_call(context, case, kwargs):
    """A link schemathesis infers from a list (`GET /sandbox-requests` -> `company_id`) may pick
    a member that is JSON `null` (a pending request has no company yet), and schemathesis 4.32
    then puts Python's `None` into the path as the text "None". Such a link names nothing: send
    the nil UUID instead, which the server answers as an id that does not exist."""
    if case.path_parameters:
        for name, value in case.path_parameters.items():
            if value is None:
                case.path_parameters[name] = NOTHING
