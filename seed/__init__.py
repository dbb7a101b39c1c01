"""The reference county (吉安县) and scaled synthetic counties: generator, figures, bulk loader.

`luling seed` calls `load_reference(engine, reset=..., scale=..., progress=...)` after
`schema.migrate.upgrade(url)`; it returns the rows inserted per table.
"""

from seed.figures import (
    ARTICLE_FLOORS,
    DEMO_PASSWORD,
    QUANTANG,
    REFERENCE,
    REFERENCE_NOW,
    REFERENCE_SEED,
    ReferenceFigures,
)
from seed.load import DatabaseNotEmptyError, ProgressCallback, load_reference, reset_database
from seed.reference import (
    DEMO_ACCOUNTS,
    generate_reference,
    iter_reference,
    row_counts,
    tables_digest,
)

__all__ = [
    "ARTICLE_FLOORS",
    "DEMO_ACCOUNTS",
    "DEMO_PASSWORD",
    "QUANTANG",
    "REFERENCE",
    "REFERENCE_NOW",
    "REFERENCE_SEED",
    "DatabaseNotEmptyError",
    "ProgressCallback",
    "ReferenceFigures",
    "generate_reference",
    "iter_reference",
    "load_reference",
    "reset_database",
    "row_counts",
    "tables_digest",
]
