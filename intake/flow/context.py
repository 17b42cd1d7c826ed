"""What a step knows besides the conversation: the time, the city and the channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from intake.catalog import Catalog
from intake.types import ChannelCapabilities


@dataclass(frozen=True)
class FlowContext:
    now: datetime
    catalog: Catalog
    capabilities: ChannelCapabilities = ChannelCapabilities()
