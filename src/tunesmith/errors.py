"""The one error type users see: the CLI prints its message on one line and exits 2."""


class TunesmithError(Exception):
    """A problem with the user's input (paths, files, options, controls), stated in one line."""


class MusicFileError(TunesmithError):
    """A file that cannot be read as music: missing, corrupt, empty, or of an unknown kind."""


class ControlError(TunesmithError):
    """A control a model family cannot honour, or a request that no music can satisfy."""
