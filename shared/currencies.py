"""ISO 4217 currencies in circulation and their minor-unit exponents (how many decimals a minor unit has)."""

from __future__ import annotations

_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF "
        "CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF "
        "IDR ILS INR IRR KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK "
        "MXN MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP "
        "SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH UYU UZS VES WST XCD YER ZAR ZMW ZWG"
        .split(),
        2,
    ),
    **dict.fromkeys("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF".split(), 0),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
}

CODES: frozenset[str] = frozenset(_EXPONENTS)


def is_known(code: str) -> bool:
    return code in _EXPONENTS


def exponent(code: str) -> int:
    """Decimals of the currency's minor unit: 2 for EUR (cents), 0 for JPY, 3 for KWD."""
    return _EXPONENTS[code]


def format_minor(amount_minor: int, code: str) -> str:
    """A human amount such as '1,234.50 EUR', exact (integer arithmetic, never floats)."""
    exp = exponent(code)
    sign = "-" if amount_minor < 0 else ""
    whole, frac = divmod(abs(amount_minor), 10**exp)
    return f"{sign}{whole:,}" + (f".{frac:0{exp}d}" if exp else "") + f" {code}"
