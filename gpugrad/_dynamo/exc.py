"""``torch._dynamo.exc``: the tracer's exception types, for code that catches them (nothing here raises
them: gpugrad traces nothing)."""


class TorchDynamoException(RuntimeError):
    pass


class Unsupported(TorchDynamoException):
    pass


class InternalTorchDynamoError(TorchDynamoException):
    pass


class BackendCompilerFailed(TorchDynamoException):
    pass
