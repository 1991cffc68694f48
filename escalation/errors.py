"""Domain exceptions. Services raise them; views turn them into responses (never HTTP here)."""


class DomainError(Exception):
    """Base class. ``message`` is a (lazy) translated string for the user."""

    status = 400

    def __init__(self, message=None):
        super().__init__(str(message) if message is not None else self.__class__.__name__)
        self.message = message


class Invalid(DomainError):
    """Input the rules refuse: a list of ``(field or None, message)`` pairs."""

    status = 422

    def __init__(self, reasons):
        self.reasons = list(reasons)
        super().__init__("; ".join(str(m) for _, m in self.reasons))
        self.message = self.reasons[0][1] if self.reasons else None


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class NotAnOwner(Forbidden):
    pass


class Conflict(DomainError):
    """The state changed under us (someone else acted first)."""

    status = 409


class AlreadyClaimed(Conflict):
    pass


class Expired(Conflict):
    status = 410


class Throttled(DomainError):
    status = 429
