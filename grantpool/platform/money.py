"""Money: an integer count of a currency's minor unit plus its ISO 4217 code. Never a float."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext
from functools import lru_cache

from babel.core import Locale
from babel.numbers import (
    NumberFormatError,
    format_currency,
    get_currency_precision,
    list_currencies,
    parse_decimal,
)

_ALL_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]")
# Far beyond any real amount (a BigInteger column holds 19 digits); stops "1E+999999999"
# from building a gigantic integer.
_MAX_DIGITS = 40
# The largest amount the service accepts from people and clients, in minor units of any
# currency: far beyond any contribution or grant, far below what a 64-bit column holds
# (about 9.2 × 10^18), so that sums and conversions stay in range.
MAX_AMOUNT_MINOR = 10**15


@lru_cache(maxsize=1)
def _currencies() -> frozenset[str]:
    # Babel's list is fixed for the life of the process; building it costs more than most
    # of what a page does with an amount, and every Money checks its currency.
    return frozenset(list_currencies())


def is_currency(code: str) -> bool:
    return isinstance(code, str) and code.isupper() and code in _currencies()


@lru_cache(maxsize=512)
def _precision(code: str) -> int:
    return int(get_currency_precision(code))


def exponent(code: str) -> int:
    """Number of minor-unit digits: 2 for EUR, 0 for JPY, XOF and UGX."""
    if not is_currency(code):
        raise ValueError(f"unknown currency {code!r}")
    return _precision(code)


class CurrencyMismatch(ValueError):
    pass


@dataclass(frozen=True, slots=True, order=False)
class Money:
    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount_minor, int) or isinstance(self.amount_minor, bool):
            raise TypeError("amount_minor must be an int (minor units)")
        exponent(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def from_decimal(cls, value: Decimal | str | int, currency: str) -> Money:
        """Exact conversion; refuses more decimal places than the currency has.

        Integer arithmetic on the digits, not Decimal.scaleb: the default decimal context
        keeps 28 significant digits and would silently round a longer amount.
        """
        try:
            amount = Decimal(value)
        except InvalidOperation as exc:
            raise ValueError(f"{value!r} is not a number") from exc
        if not amount.is_finite():
            raise ValueError(f"{value!r} is not a finite amount")
        sign, digits, exp = amount.as_tuple()
        assert isinstance(exp, int)  # finite
        coefficient = int("".join(map(str, digits)) or "0")
        shift = exp + exponent(currency)
        if coefficient == 0:
            minor = 0
        elif shift >= 0:
            if len(digits) + shift > _MAX_DIGITS:
                raise ValueError(f"{value} is too large an amount")
            minor = coefficient * 10**shift
        else:
            if -shift > len(digits):
                raise ValueError(f"{value} has more decimals than {currency} allows")
            minor, rest = divmod(coefficient, 10**-shift)
            if rest:
                raise ValueError(f"{value} has more decimals than {currency} allows")
        return cls(-minor if sign else minor, currency)

    def to_decimal(self) -> Decimal:
        # Built from the digits so that no context precision can round it.
        return Decimal(f"{self.amount_minor}E-{exponent(self.currency)}")

    def _check(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError("Money can only be combined with Money")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount_minor + self._check(other).amount_minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount_minor - self._check(other).amount_minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount_minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.amount_minor < self._check(other).amount_minor

    def __le__(self, other: Money) -> bool:
        return self.amount_minor <= self._check(other).amount_minor

    def __gt__(self, other: Money) -> bool:
        return self.amount_minor > self._check(other).amount_minor

    def __ge__(self, other: Money) -> bool:
        return self.amount_minor >= self._check(other).amount_minor

    def is_zero(self) -> bool:
        return self.amount_minor == 0

    def convert(self, rate: Decimal, currency: str) -> Money:
        """Convert at `rate` (units of `currency` per unit of self), rounding half-even."""
        if not isinstance(rate, Decimal) or rate <= 0:
            raise ValueError("an exchange rate is a positive Decimal")
        # Enough precision that the product is exact, so it is rounded once, half-even.
        with localcontext() as ctx:
            ctx.prec = 200
            value = (self.to_decimal() * rate).quantize(
                Decimal(1).scaleb(-exponent(currency)), rounding=ROUND_HALF_EVEN
            )
        return Money.from_decimal(value, currency)

    def allocate(self, weights: list[int]) -> list[Money]:
        """Split into parts proportional to `weights` that add up exactly (largest remainder)."""
        if not weights or any(w < 0 for w in weights) or sum(weights) == 0:
            raise ValueError("weights must be non-negative and not all zero")
        total = sum(weights)
        shares = [self.amount_minor * w // total for w in weights]
        remainders = sorted(
            range(len(weights)),
            key=lambda i: (self.amount_minor * weights[i]) % total,
            reverse=True,
        )
        for i in remainders[: self.amount_minor - sum(shares)]:
            shares[i] += 1
        return [Money(s, self.currency) for s in shares]

    def format(self, locale: str | Locale = "en") -> str:
        return format_money(self, locale)

    def __str__(self) -> str:
        return f"{self.to_decimal():f} {self.currency}"


class AmountOutOfRange(ValueError):
    """An amount beyond MAX_AMOUNT_MINOR (or not positive); str() is a message for people."""


def amount_problem(money: Money, locale: str | Locale | None = None) -> str | None:
    """Why an amount is not one the service accepts (not positive, or larger than
    MAX_AMOUNT_MINOR minor units), in the user's language, or None when it is fine."""
    from flask_babel import get_locale
    from flask_babel import gettext as _

    if money.amount_minor <= 0:
        return _("Enter an amount greater than zero.")
    if money.amount_minor > MAX_AMOUNT_MINOR:
        largest = format_money(
            Money(MAX_AMOUNT_MINOR, money.currency), locale or str(get_locale() or "en")
        )
        return _("Enter an amount of at most %(largest)s.", largest=largest)
    return None


def format_money(money: Money, locale: str | Locale = "en") -> str:
    return format_currency(
        money.to_decimal(),
        money.currency,
        locale=locale,
        currency_digits=True,
    )


def parse_money(text: str, currency: str, locale: str | Locale = "en") -> Money:
    """Parse what a person typed ("1 234,50" in fr, "1,234.50" in en) into Money.

    Raises ValueError with a plain reason when it is not an amount of that currency, and
    AmountOutOfRange (a ValueError whose text is for people) beyond MAX_AMOUNT_MINOR.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("empty amount")
    loc = Locale.parse(locale)
    # People type an ordinary space where a locale groups digits with a narrow no-break
    # one; spaces never carry meaning in an amount, so drop them all.
    cleaned = _ALL_SPACES.sub("", text.strip().replace(currency, ""))
    if not re.fullmatch(r"[0-9.,'\u2019]+", cleaned):
        raise ValueError("not a number")
    try:
        value = parse_decimal(cleaned, locale=loc, strict=True)
    except (NumberFormatError, InvalidOperation) as exc:
        raise ValueError("not a number in this language's format") from exc
    if value < 0:
        raise ValueError("negative amount")
    try:
        money = Money.from_decimal(value, currency)
    except ValueError as exc:
        if "too large" in str(exc):
            raise AmountOutOfRange(
                amount_problem(Money(MAX_AMOUNT_MINOR + 1, currency), loc)
            ) from None
        raise ValueError(f"{currency} has {exponent(currency)} decimal places") from exc
    if money.amount_minor > MAX_AMOUNT_MINOR:
        raise AmountOutOfRange(amount_problem(money, loc))
    return money


# --- exchange rates ------------------------------------------------------------------------

# No currency buys 10^20 of another: a rate beyond this is a typing mistake, and would
# make amounts too large to convert.
RATE_MAGNITUDE = 20


class RateTooPrecise(ValueError):
    """A rate with more decimal places than the place it is stored allows."""


def parse_exchange_rate(text: object, *, max_places: int | None = None) -> Decimal:
    """An exchange rate as typed or sent (units of one currency that one unit of another
    buys): a finite positive Decimal, never a float. The one parser of rates: each caller
    words its own message, since the example a person needs depends on the page.

    ValueError when it is not a positive number or not a plausible rate (beyond
    10^±RATE_MAGNITUDE); RateTooPrecise (a ValueError) when `max_places` is given and
    the rate has more decimal places, or at least 10^max_places."""
    try:
        rate = Decimal(str(text if text is not None else "").strip())
    except (InvalidOperation, ValueError):
        raise ValueError("not a number") from None
    if not rate.is_finite() or rate <= 0:
        raise ValueError("not a positive number")
    if max_places is not None:
        exp = rate.as_tuple().exponent
        assert isinstance(exp, int)  # finite
        if exp < -max_places or rate >= Decimal(10) ** max_places:
            raise RateTooPrecise(f"more than {max_places} decimal places")
    if abs(rate.adjusted()) > RATE_MAGNITUDE:
        raise ValueError("not a plausible exchange rate")
    return rate
