"""The Lambda service: function, version/alias, layer, invoke, provisioned concurrency and event source operations
composed into one Service (split by resource); invocations run in worker processes through miniaws.functions."""
from __future__ import annotations

from miniaws.services.lambda_.api_event_sources import EventSourceOperations
from miniaws.services.lambda_.api_layers import LayerOperations
from miniaws.services.lambda_.api_provisioned import ProvisionedOperations
from miniaws.services.lambda_.api_versions import VersionOperations


class LambdaService(ProvisionedOperations, EventSourceOperations, VersionOperations, LayerOperations):
    """Lambda as SDKs see it on the one AWS endpoint."""
