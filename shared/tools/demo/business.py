"""Who the demo year is about: the business (name, zone, currency, packages, lead sources) and the seasons of its
trade. The defaults describe a UK wedding photographer; `wedsync-analytics demo` can change name, zone and currency.
"""

from __future__ import annotations

from dataclasses import dataclass

# Relative inquiry volume per month: the engagement season after Christmas and New Year dominates.
SEASON = {1: 2.2, 2: 2.0, 3: 1.6, 4: 1.1, 5: 0.9, 6: 0.75, 7: 0.7, 8: 0.8, 9: 0.9, 10: 0.8, 11: 0.7, 12: 1.3}
# Relative share of weddings per month: May to September.
WEDDING_MONTHS = {1: 1, 2: 2, 3: 3, 4: 6, 5: 12, 6: 16, 7: 16, 8: 16, 9: 14, 10: 8, 11: 2, 12: 3}


@dataclass(frozen=True)
class Package:
    slug: str
    price: int  # major units of the business currency
    weight: int


@dataclass(frozen=True)
class LeadSource:
    name: str
    weight: float
    channel: str
    conversion: float  # share of its inquiries that book


@dataclass(frozen=True)
class Business:
    """Who the demo is about. The defaults: a UK wedding photographer who also shoots a few weddings abroad."""

    name: str = "Rose & Thorn Photography"
    timezone: str = "Europe/London"
    currency: str = "GBP"
    destination_currency: str | None = "EUR"  # about 1 in 10 weddings abroad, quoted and paid in this currency
    marketplace: str = "hitched"  # the wedding directory of the market (the_knot in the US)
    team: tuple[str, ...] = ("u-rose", "u-tom", "u-mia")
    inquiries_per_day: float = 1.0  # average before seasonality
    packages: tuple[Package, ...] = (
        Package("elopement", 950, 10),
        Package("half_day", 1650, 25),
        Package("full_day", 2400, 45),
        Package("full_day_album", 3200, 20),
    )

    def lead_sources(self) -> tuple[LeadSource, ...]:
        return (
            LeadSource("instagram", 30, "social", 0.18),
            LeadSource("google", 20, "web_form", 0.22),
            LeadSource("wedding_fair", 9, "walk_in", 0.30),
            LeadSource("referral", 14, "referral", 0.45),
            LeadSource(self.marketplace, 12, "marketplace", 0.15),
            LeadSource("website", 15, "web_form", 0.25),
        )
