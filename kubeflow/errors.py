"""Errors a user can fix (a flag, a host, a package); the CLI prints them as one paragraph without a trace."""


class KubeflowError(Exception):
    """Base of every user-fixable Kubeflow compile or submit problem."""


class OptionError(KubeflowError, ValueError):
    """A compile or submit option that would give a package the cluster cannot run; names the flag."""


class PackageError(KubeflowError, ValueError):
    """A pipeline package that cannot be read or that open-source KFP v2 would reject."""


class ServerError(KubeflowError):
    """The Kubeflow Pipelines API was unreachable, refused a request, or a run did not finish in time."""
