"""Chinese and Arabic numerals -> exact numbers (used by quantities and dates).

Input is clean text (full-width digits already folded to ASCII). Every result
is a ``Decimal`` computed without floats, so ``16.4亿`` is exactly 1640000000.

    >>> parse_number("3.5万")
    Decimal('35000')
    >>> parse_number("四千三百二十一")
    Decimal('4321')
    >>> parse_digits("二〇二三")
    2023
"""

from __future__ import annotations

from decimal import Decimal

import regex

DIGITS: dict[str, int] = {
    "〇": 0, "零": 0, "○": 0, "O": 0,
    "一": 1, "壹": 1, "幺": 1,
    "二": 2, "两": 2, "兩": 2, "贰": 2, "貳": 2,
    "三": 3, "叁": 3, "參": 3,
    "四": 4, "肆": 4,
    "五": 5, "伍": 5,
    "六": 6, "陆": 6, "陸": 6,
    "七": 7, "柒": 7,
    "八": 8, "捌": 8,
    "九": 9, "玖": 9,
}
# "O" (Latin) is only accepted inside a digit-by-digit year such as 二O二三.
_NUMBER_DIGITS = {k: v for k, v in DIGITS.items() if k != "O"}

SMALL_UNITS: dict[str, int] = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
BIG_UNITS: dict[str, int] = {"万": 10**4, "萬": 10**4, "亿": 10**8, "億": 10**8, "兆": 10**12}

#: Scale words that may follow an Arabic number (``3.5万``, ``1.2万亿``), longest first.
SCALE_WORDS: dict[str, int] = {
    "万亿": 10**12, "萬億": 10**12, "千亿": 10**11, "千億": 10**11, "百亿": 10**10,
    "百億": 10**10, "十亿": 10**9, "十億": 10**9, "千万": 10**7, "千萬": 10**7,
    "百万": 10**6, "百萬": 10**6, "十万": 10**5, "十萬": 10**5,
    "亿": 10**8, "億": 10**8, "万": 10**4, "萬": 10**4, "千": 10**3, "百": 10**2,
    # 兆 is 10^12 in Taiwan and Japan (新台幣 1.2兆元); mainland 兆瓦/兆帕 are
    # units of their own, which a unit lexicon matches before this scale word.
    "兆": 10**12,
}

_CN_DIGIT_CLASS = "〇零○一壹幺二两兩贰貳三叁參四肆五伍六陆陸七柒八捌九玖"
_CN_UNIT_CLASS = "十拾百佰千仟万萬亿億"

#: An Arabic number: ``1,200``, ``12450``, ``71.26``, ``.5`` is not accepted.
ARABIC = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
#: A Chinese numeral with units and an optional 点 decimal: ``四千三百二十一``, ``七点五``.
CHINESE = (
    rf"(?:[{_CN_DIGIT_CLASS}{_CN_UNIT_CLASS}]*[{_CN_DIGIT_CLASS}十拾]"
    rf"(?:点[{_CN_DIGIT_CLASS}]+)?[{_CN_UNIT_CLASS}]*|[十拾百佰千仟万萬]+[亿億万萬]*)"
)
#: A scale word after an Arabic number.
SCALE = "(?:" + "|".join(sorted(SCALE_WORDS, key=len, reverse=True)) + ")"
#: Any number this module parses: Arabic with an optional scale, or Chinese.
NUMBER = rf"(?:{ARABIC}(?:\s?{SCALE})?|{CHINESE})"

# -- strict cardinals, for quantities -------------------------------------------------
# CHINESE above is permissive (it also takes 二〇二二 and 三四). A quantity needs
# a well-formed cardinal: units in falling order, 零 only after a unit, no two
# digits side by side (三四个 is "three or four", 二〇二二 is a year).
_D = "[一二三四五六七八九壹贰貳叁參肆伍陆陸柒捌玖两兩]"  # non-zero digits
_Z = "[零〇○]"
_SEC = (
    rf"(?:{_D}?[千仟](?:{_Z}?{_D}?[百佰])?(?:{_Z}?{_D}?[十拾])?(?:{_Z}?{_D})?"
    rf"|{_D}?[百佰](?:{_Z}?{_D}?[十拾])?(?:{_Z}?{_D})?"
    rf"|{_D}?[十拾]{_D}?"
    rf"|{_D})"
)
_CN_INT = (
    rf"(?:(?:{_SEC})?兆)?(?:{_Z}?(?:{_SEC})?[万萬]?[亿億])?(?:{_Z}?(?:{_SEC})?[万萬])?(?:{_Z}?{_SEC})?"
)
#: A well-formed Chinese cardinal with an optional 点/點 decimal and a scale after
#: the decimal (``四千三百二十一``, ``两万``, ``十五``, ``七点五``, ``三点五万``, ``千亿``,
#: ``拾万零五十六点叁叁``). Not a digit-by-digit year (二〇二二) nor a pair (三四).
CHINESE_CARDINAL = (
    rf"(?<![〇零○一二三四五六七八九十百千万亿壹贰貳叁參肆伍陆陸柒捌玖拾佰仟萬億两兩兆点點])"
    rf"(?=[一二三四五六七八九十百千万亿壹贰貳叁參肆伍陆陸柒捌玖拾佰仟萬億两兩兆])"
    rf"{_CN_INT}(?:[点點][〇零○一二三四五六七八九壹贰貳叁參肆伍陆陸柒捌玖]+(?:[万萬]?[亿億]|[万萬兆])?)?"
    rf"(?<=[〇零○一二三四五六七八九十百千万亿壹贰貳叁參肆伍陆陸柒捌玖拾佰仟萬億两兩兆])"
    # a following digit means a pair or a year; 两 may follow as the unit 两 (三十两)
    rf"(?![〇零○一二三四五六七八九壹贰貳叁參肆伍陆陸柒捌玖]|[两兩][〇零○一二三四五六七八九十百千万亿两兩])"
)
#: An Arabic number whose thousands groups are whole (``12,450``, not ``1,2000``),
#: also with the full-width comma of full-width documents (``１２，４５０`` is
#: ``12，450`` once folded).
ARABIC_WIDE = r"(?:\d{1,3}(?:[,，]\d{3})+(?!\d)|\d+)(?:\.\d+)?"

RE_NUMBER = regex.compile(NUMBER)
RE_CHINESE_CARDINAL = regex.compile(CHINESE_CARDINAL)
_RE_ARABIC_FULL = regex.compile(rf"[-+]?{ARABIC}")


def parse_number(text: str) -> Decimal:
    """Parse an Arabic, Chinese or mixed numeral into an exact Decimal.

    Args:
        text: ``"71.26"``, ``"1,200"``, ``"3.5万"``, ``"1.2万亿"``, ``"千亿"``,
            ``"两万"``, ``"十五"``, ``"七点五"``, ``"负0.2"``, ``"二〇二二"``
            (digit-by-digit numerals read as one integer).

    Raises:
        ValueError: when ``text`` is not a numeral.
    """
    if text.isascii():  # the common case, 12 or 71.26: what the general path below gives
        head, dot, tail = text.partition(".")
        if head.isdigit() and (not dot or tail.isdigit()):
            return 1 * Decimal(text)
    s = text.strip().replace(" ", "")
    if not s:
        raise ValueError("empty numeral")
    sign = 1
    if s[0] in "-−－负負+":
        sign = -1 if s[0] != "+" else 1
        s = s[1:]
    s = s.replace("，", ",").replace("點", "点")
    if _RE_ARABIC_FULL.fullmatch(s):
        return sign * Decimal(s.replace(",", ""))
    return sign * _parse_mixed(s)


def parse_digits(text: str) -> int:
    """Read digit-by-digit numerals (years like ``二〇二三``, ``2O23``) as one integer.

    Raises:
        ValueError: when a character is not a digit.
    """
    out = 0
    if not text:
        raise ValueError("empty numeral")
    for ch in text:
        if ch.isdigit() and ch.isascii():
            out = out * 10 + int(ch)
        elif ch in DIGITS:
            out = out * 10 + DIGITS[ch]
        else:
            raise ValueError(f"not a digit: {ch!r}")
    return out


def parse_int(text: str) -> int:
    """Parse a small integer written either way (``11``, ``十一``, ``三十``)."""
    value = parse_number(text)
    if value != value.to_integral_value():
        raise ValueError(f"not an integer: {text!r}")
    return int(value)


def format_decimal(value: Decimal | None) -> str:
    """Plain decimal notation without exponent or trailing zeros: ``7126000000``, ``6.89``."""
    if value is None:
        return ""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _parse_mixed(s: str) -> Decimal:
    """Chinese numerals, possibly with Arabic parts (``3.5万``, ``1万2千``, ``1.2万亿``).

    A big unit (万, 亿, 兆) larger than everything read so far multiplies it
    all (``三千万亿``); a smaller one multiplies only the section before it
    (``一亿两千万``, ``四十九兆九千五百九十二億``).
    """
    if all(ch in DIGITS for ch in s) and len(s) > 1 and not any(ch in "两兩" for ch in s):
        return Decimal(parse_digits(s))  # 二〇二二: digit by digit
    total = Decimal(0)  # everything already scaled by a big unit
    section = Decimal(0)  # below the next big unit
    current: Decimal | None = None  # a number waiting for its unit
    last_unit = 0  # value of the unit just read, for 一万二 (= 12000)
    i, n = 0, len(s)
    while i < n:
        ch = s[i]
        arabic = _RE_ARABIC_FULL.match(s, i)
        if arabic and arabic.end() > i and ch not in "+-":
            current = Decimal(arabic.group().replace(",", ""))
            i = arabic.end()
            last_unit = 0
            continue
        if ch in _NUMBER_DIGITS:
            current = Decimal(_NUMBER_DIGITS[ch])
        elif ch == "点" and i + 1 < n:
            j = i + 1
            frac = ""
            while j < n and s[j] in _NUMBER_DIGITS:
                frac += str(_NUMBER_DIGITS[s[j]])
                j += 1
            if not frac:
                raise ValueError(f"not a numeral: {s!r}")
            current = (current or Decimal(0)) + Decimal("0." + frac)
            i = j
            last_unit = 0
            continue
        elif ch in SMALL_UNITS:
            unit = SMALL_UNITS[ch]
            section += (current if current is not None else Decimal(1)) * unit
            current = None
            last_unit = unit
        elif ch in BIG_UNITS:
            unit = BIG_UNITS[ch]
            group = section + (current or Decimal(0))
            if total == 0 and group == 0:
                total = Decimal(unit)  # 万 alone is ten thousand, 千亿 an implied one
            elif total < unit:
                total = (total + group) * unit
            else:
                total += group * unit
            section = Decimal(0)
            current = None
            last_unit = unit
        else:
            raise ValueError(f"not a numeral: {s!r}")
        i += 1
    if current is not None and last_unit >= 100 and s[-1] in _NUMBER_DIGITS and s[-2] not in "零〇○":
        current *= last_unit // 10  # 一万二 = 12000, 三百五 = 350
    return total + section + (current or Decimal(0))
