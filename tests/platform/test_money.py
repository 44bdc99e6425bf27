"""Money: property-based tests for arithmetic, allocation, conversion and parsing."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from babel.numbers import format_decimal, get_currency_symbol
from hypothesis import assume, example, given
from hypothesis import strategies as st

from grantpool.platform.money import (
    CurrencyMismatch,
    Money,
    exponent,
    format_money,
    parse_money,
)

CURRENCIES = ["EUR", "USD", "GBP", "KES", "JPY", "XOF", "UGX", "BHD"]
NO_MINOR_UNIT = ["JPY", "XOF", "UGX"]
LOCALES = ["en", "fr"]

amounts = st.integers(min_value=-(10**15), max_value=10**15)
non_negative = st.integers(min_value=0, max_value=10**15)
currencies = st.sampled_from(CURRENCIES)


@st.composite
def money(draw: st.DrawFn, currency: str | None = None, minimum: int | None = None) -> Money:
    code = currency or draw(currencies)
    low = -(10**15) if minimum is None else minimum
    return Money(draw(st.integers(min_value=low, max_value=10**15)), code)


@st.composite
def same_currency(draw: st.DrawFn, n: int) -> list[Money]:
    code = draw(currencies)
    return [Money(draw(amounts), code) for _ in range(n)]


# --- arithmetic -------------------------------------------------------------------------


@given(same_currency(3))
def test_addition_is_associative_and_commutative(ms: list[Money]) -> None:
    a, b, c = ms
    assert (a + b) + c == a + (b + c)
    assert a + b == b + a
    assert (a + b).amount_minor == a.amount_minor + b.amount_minor
    assert (a + b).currency == a.currency


@given(same_currency(2))
def test_subtraction_is_the_inverse_of_addition(ms: list[Money]) -> None:
    a, b = ms
    assert (a + b) - b == a
    assert (a - b) + b == a
    assert a - a == Money.zero(a.currency)
    assert (a - a).is_zero()
    negated = -a
    assert -negated == a
    assert negated.amount_minor == -a.amount_minor
    assert a + (-b) == a - b


@given(same_currency(2))
def test_comparisons_follow_the_amounts(ms: list[Money]) -> None:
    a, b = ms
    assert (a < b) == (a.amount_minor < b.amount_minor)
    assert (a <= b) == (a.amount_minor <= b.amount_minor)
    assert (a > b) == (a.amount_minor > b.amount_minor)
    assert (a >= b) == (a.amount_minor >= b.amount_minor)


@given(money(), money())
def test_mixed_currencies_are_refused(a: Money, b: Money) -> None:
    assume(a.currency != b.currency)
    with pytest.raises(CurrencyMismatch):
        a + b
    with pytest.raises(CurrencyMismatch):
        a - b
    with pytest.raises(CurrencyMismatch):
        a < b  # noqa: B015
    with pytest.raises(CurrencyMismatch):
        a >= b  # noqa: B015


def test_currency_mismatch_is_a_value_error_and_money_only_combines_with_money() -> None:
    assert issubclass(CurrencyMismatch, ValueError)
    with pytest.raises(TypeError):
        Money(100, "EUR") + 1  # type: ignore[operator]
    with pytest.raises(TypeError):
        Money(1.5, "EUR")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(True, "EUR")
    with pytest.raises(ValueError):
        Money(1, "eur")
    with pytest.raises(ValueError):
        Money(1, "ZZZ")


# --- allocation -------------------------------------------------------------------------


@given(money(), st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=12))
def test_allocate_parts_add_up_to_the_total(total: Money, weights: list[int]) -> None:
    assume(sum(weights) > 0)
    parts = total.allocate(weights)
    assert len(parts) == len(weights)
    assert all(p.currency == total.currency for p in parts)
    assert sum(p.amount_minor for p in parts) == total.amount_minor
    # Each part is within one minor unit of its exact proportional share.
    for part, weight in zip(parts, weights, strict=True):
        exact = Fraction(total.amount_minor * weight, sum(weights))
        assert abs(part.amount_minor - exact) < 1
        if weight == 0:
            assert part.amount_minor == 0


@given(money(), st.integers(min_value=1, max_value=50))
@example(Money(100, "EUR"), 3)
@example(Money(-100, "EUR"), 3)
@example(Money(1, "JPY"), 7)
def test_allocate_equal_weights_differ_by_at_most_one(total: Money, n: int) -> None:
    parts = total.allocate([1] * n)
    values = [p.amount_minor for p in parts]
    assert sum(values) == total.amount_minor
    assert max(values) - min(values) <= 1


@pytest.mark.parametrize("weights", [[], [0, 0], [1, -1]])
def test_allocate_refuses_bad_weights(weights: list[int]) -> None:
    with pytest.raises(ValueError):
        Money(100, "EUR").allocate(weights)


# --- decimals and exponents -------------------------------------------------------------


@given(money())
def test_from_decimal_to_decimal_round_trip(m: Money) -> None:
    value = m.to_decimal()
    assert Money.from_decimal(value, m.currency) == m
    assert Money.from_decimal(str(value), m.currency) == m
    assert value == Decimal(m.amount_minor) / (10 ** exponent(m.currency))
    assert Decimal(str(m).split()[0]) == value


@pytest.mark.parametrize("code", NO_MINOR_UNIT)
def test_currencies_without_minor_unit(code: str) -> None:
    assert exponent(code) == 0
    assert Money.from_decimal("1500", code) == Money(1500, code)
    assert Money.from_decimal(Decimal("1500.0"), code) == Money(1500, code)
    assert Money(1500, code).to_decimal() == Decimal(1500)
    with pytest.raises(ValueError):
        Money.from_decimal("1500.5", code)
    with pytest.raises(ValueError):
        Money.from_decimal(Decimal("0.01"), code)
    with pytest.raises(ValueError):
        parse_money("1500.50", code, "en")
    with pytest.raises(ValueError):
        parse_money("1 500,5", code, "fr")
    assert parse_money("1,500", code, "en") == Money(1500, code)
    assert "." not in str(Money(1500, code))


def test_two_and_three_decimal_currencies() -> None:
    assert exponent("EUR") == 2
    assert exponent("BHD") == 3
    assert Money.from_decimal("12.34", "EUR") == Money(1234, "EUR")
    assert Money.from_decimal("1.234", "BHD") == Money(1234, "BHD")
    with pytest.raises(ValueError):
        Money.from_decimal("12.345", "EUR")


@pytest.mark.parametrize("value", ["Infinity", "-Infinity", "NaN", "sNaN", "abc", ""])
def test_from_decimal_refuses_what_is_not_a_finite_number(value: str) -> None:
    with pytest.raises(ValueError):
        Money.from_decimal(value, "EUR")


# --- parsing and formatting -------------------------------------------------------------


def test_parse_money_examples() -> None:
    assert parse_money("1 234,50", "EUR", "fr") == Money(123450, "EUR")
    assert parse_money("1\u202f234,50", "EUR", "fr") == Money(123450, "EUR")
    assert parse_money("1,234.50", "EUR", "en") == Money(123450, "EUR")
    assert parse_money("1234.5", "EUR", "en") == Money(123450, "EUR")
    assert parse_money("  7 EUR ", "EUR", "en") == Money(700, "EUR")
    assert parse_money("1,234", "JPY", "en") == Money(1234, "JPY")


@pytest.mark.parametrize(
    "text", ["12abc", "", "   ", "-5", "1.2.3", "1,2,3", "abc", "1e5", "+5", "١٢", "12..5"]
)
def test_parse_money_refuses_garbage_in_english(text: str) -> None:
    with pytest.raises(ValueError):
        parse_money(text, "EUR", "en")


@pytest.mark.parametrize("text", ["12abc", "-5", "1,2,3", "1.234,50"])
def test_parse_money_refuses_garbage_in_french(text: str) -> None:
    with pytest.raises(ValueError):
        parse_money(text, "EUR", "fr")


def test_parse_money_refuses_too_many_decimals() -> None:
    with pytest.raises(ValueError, match="2 decimal places"):
        parse_money("1.234", "EUR", "en")


@given(money(minimum=0), st.sampled_from(LOCALES))
@example(Money(123450, "EUR"), "fr")
@example(Money(0, "EUR"), "en")
@example(Money(10**15, "JPY"), "fr")
def test_parse_of_formatted_decimal_round_trips(m: Money, locale: str) -> None:
    text = format_decimal(m.to_decimal(), locale=locale, decimal_quantization=False)
    assert parse_money(text, m.currency, locale) == m


@given(money(minimum=0), st.sampled_from(LOCALES))
@example(Money(123450, "EUR"), "fr")
@example(Money(5, "USD"), "en")
def test_parse_of_formatted_money_round_trips(m: Money, locale: str) -> None:
    text = format_money(m, locale)
    assert text == m.format(locale)
    symbol = get_currency_symbol(m.currency, locale=locale)
    assert symbol in text
    assert parse_money(text.replace(symbol, ""), m.currency, locale) == m


def test_format_money_uses_the_locale() -> None:
    assert format_money(Money(123450, "EUR"), "en") == "€1,234.50"
    assert format_money(Money(123450, "EUR"), "fr") == "1\u202f234,50\xa0€"
    assert format_money(Money(1500, "JPY"), "en") == "¥1,500"
    assert str(Money(123450, "EUR")) == "1234.50 EUR"


@given(st.integers(min_value=-(10**38), max_value=10**38), currencies)
@example(123456789012345678901234567891, "EUR")
def test_round_trip_is_exact_beyond_the_decimal_context_precision(n: int, code: str) -> None:
    # The default decimal context keeps 28 digits; Money must never round silently.
    m = Money(n, code)
    assert Money.from_decimal(m.to_decimal(), code) == m
    assert Money.from_decimal(str(m.to_decimal()), code) == m


def test_from_decimal_refuses_hidden_extra_decimals_on_long_amounts() -> None:
    with pytest.raises(ValueError):
        Money.from_decimal("1234567890123456789012345678.915", "EUR")
    with pytest.raises(ValueError):
        Money.from_decimal("1E+999999999", "EUR")
    with pytest.raises(ValueError):
        Money.from_decimal("1E-999999999", "EUR")


@given(
    st.integers(min_value=0, max_value=10**18),
    st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(1000), places=12),
)
def test_convert_rounds_the_exact_product_once_half_even(n: int, rate: Decimal) -> None:
    from decimal import ROUND_HALF_EVEN, localcontext

    with localcontext() as ctx:
        ctx.prec = 100
        exact = Decimal(n) / 100 * rate
        expected = int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))
    assert Money(n, "EUR").convert(rate, "JPY") == Money(expected, "JPY")


def test_one_exchange_rate_parser_reads_what_people_type_and_refuses_the_rest() -> None:
    from grantpool.platform.money import RateTooPrecise, parse_exchange_rate

    assert parse_exchange_rate(" 0.0017 ") == Decimal("0.0017")
    assert parse_exchange_rate(Decimal("655.957")) == Decimal("655.957")
    for bad in ("", None, "abc", "0", "-1", "NaN", "Infinity", "1e30", "1e-30"):
        with pytest.raises(ValueError):
            parse_exchange_rate(bad)
    with pytest.raises(RateTooPrecise):
        parse_exchange_rate("0.12345678901", max_places=10)
    assert parse_exchange_rate("0.1234567890", max_places=10) == Decimal("0.1234567890")
