"""The CloudWatch Logs service (`Logs_20140328`, json-1.1), composed from its resource modules.

Lambda writes its functions' log lines into the same store in-process (functions/logs.py →
LogsStore.append_lines), so `aws logs filter-log-events --log-group-name /aws/lambda/<fn>` reads them.
"""
from __future__ import annotations

from miniaws.services.logs.api_events import EventOperations
from miniaws.services.logs.api_groups import GroupOperations
from miniaws.services.logs.api_streams import StreamOperations
from miniaws.services.logs.api_tags import TagOperations


class LogsService(GroupOperations, StreamOperations, EventOperations, TagOperations):
    """CloudWatch Logs as SDKs see it on the one AWS endpoint, and as the function runtime writes to it."""
