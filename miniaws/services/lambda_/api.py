"""The Lambda service: function, version/alias and invoke operations composed into one Service (split by
resource); invocations run in worker processes through miniaws.functions."""
from __future__ import annotations

from miniaws.services.lambda_.api_invoke import InvokeOperations
from miniaws.services.lambda_.api_layers import LayerOperations
from miniaws.services.lambda_.api_versions import VersionOperations


class LambdaService(VersionOperations, LayerOperations, InvokeOperations):
    """Lambda as SDKs see it on the one AWS endpoint."""
