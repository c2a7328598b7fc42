"""huntbrief: turn the security press into ready-to-run threat hunts."""

from huntbrief.model import (
    Article,
    Brief,
    FeedItem,
    FeedSource,
    Hunt,
    Indicator,
    IndicatorKind,
    IocFindings,
    ItemFailure,
    Query,
    Severity,
    SeverityLevel,
    TechniqueHit,
)

__version__ = "0.1.0"

__all__ = [
    "Article",
    "Brief",
    "FeedItem",
    "FeedSource",
    "Hunt",
    "Indicator",
    "IndicatorKind",
    "IocFindings",
    "ItemFailure",
    "Query",
    "Severity",
    "SeverityLevel",
    "TechniqueHit",
    "__version__",
]
