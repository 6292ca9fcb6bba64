from __future__ import annotations

import pytest

from shared.catalog import currencies


@pytest.mark.parametrize("code", ["USD", "EUR", "GBP", "JPY", "KWD", "NPR", "CAD", "AUD"])
def test_the_major_currencies_are_known(code: str) -> None:
    assert currencies.is_known(code)


def test_usd_has_cents() -> None:
    assert currencies.exponent("USD") == 2
    assert currencies.format_minor(123_456, "USD") == "1,234.56 USD"
