"""The one exception of the data layer: bad names, files, directories or shapes."""


class DataError(ValueError):
    """A dataset problem a user can fix; the message says what and how."""
