"""Numerals: exact values for Arabic, Chinese and mixed numbers."""

from decimal import Decimal

import pytest
import regex

from pipeline.numerals import CHINESE_CARDINAL, format_decimal, parse_digits, parse_int, parse_number


@pytest.mark.parametrize("text, value", [
    ("71.26", "71.26"), ("1,200", "1200"), ("12,450", "12450"), ("12，450", "12450"), ("3.5万", "35000"),
    ("1.2万亿", "1200000000000"), ("16.4亿", "1640000000"), ("千亿", "100000000000"),
    ("四千三百二十一", "4321"), ("两万", "20000"), ("十五", "15"), ("七点五", "7.5"), ("七點五", "7.5"),
    ("一万二", "12000"), ("三百五", "350"), ("一百零五", "105"), ("三千两百", "3200"),
    ("拾万零五十六点叁叁", "100056.33"), ("四十九兆九千五百九十二億", "49959200000000"),
    ("一亿两千万", "120000000"), ("三千万亿", "3000000000000000"), ("负0.2", "-0.2"), ("－3", "-3"),
    ("萬", "10000"),
])
def test_parse_number_is_exact(text, value):
    assert parse_number(text) == Decimal(value)
    assert format_decimal(parse_number(text)) == value


def test_digit_by_digit_years():
    assert parse_digits("二〇二二") == 2022
    assert parse_number("二〇二二") == 2022
    assert parse_int("十一") == 11


@pytest.mark.parametrize("text, found", [
    ("四千三百二十一个", ["四千三百二十一"]),
    ("二〇二二年", []),
    ("三四个", []),
    ("三点五万元", ["三点五万"]),
    ("两万两千人", ["两万两千"]),
    ("三十两", ["三十两"]),
])
def test_chinese_cardinal_is_well_formed(text, found):
    assert [m.group() for m in regex.finditer(CHINESE_CARDINAL, text)] == found


def test_parse_number_rejects_words():
    with pytest.raises(ValueError):
        parse_number("元")
