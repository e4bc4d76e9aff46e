"""The one error type the `gc-tfx` command turns into a paragraph on stderr and exit status 1."""


class UserError(Exception):
    """An error the user can fix; printed as one paragraph without a stack trace."""
