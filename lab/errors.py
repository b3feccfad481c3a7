"""The lab's one error type: its message is the one line a user sees."""


class LabError(Exception):
    """A mistake in a topology or scenario file, or a lab operation that failed."""
