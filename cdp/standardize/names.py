"""Chinese person and company names: width, script, spacing, titles, pinyin in both orders, company suffixes.

A name gives a comparison form, a toneless pinyin key and the same key in the other order
(given name first), so 万娜, "Wan Na", "Na Wan", "NA  WAN" and "N a Wan" all meet: Latin names
are read as pinyin syllables whatever their spacing, case or tone marks.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc
from pypinyin import Style, lazy_pinyin
from pypinyin.constants import PHRASES_DICT
from pypinyin.pinyin_dict import pinyin_dict

from cdp.standardize import VALUE_CACHE_SIZE

_T2S = opencc.OpenCC("t2s")
_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9 .'\-]*$")
_SPACE = re.compile(r"\s+")
_VOWEL = re.compile(r"[aeiouv]")
PERSON_NAME_MAX_CHARS = 4  # compound surname + two-character given name (欧阳娜娜)

# pypinyin reads characters, not surnames: these surnames have their own reading.
SURNAME_READINGS = {
    "单": "shan", "曾": "zeng", "解": "xie", "查": "zha", "仇": "qiu", "朴": "piao",
    "区": "ou", "盖": "ge", "乐": "yue", "覃": "qin", "翟": "zhai", "尉": "yu",
    "秘": "bi", "繁": "po", "召": "shao", "缪": "miao", "员": "yun", "种": "chong",
}
COMPOUND_SURNAMES = frozenset("欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 令狐 长孙 宇文 司徒 夏侯 端木 轩辕".split())
# Common surnames in pinyin, most frequent first, to put a Latin "Given Surname" name back
# in Chinese order ("Wei Zhang" → zhang wei: both are surnames, zhang is the commoner one).
SURNAME_RANK = {
    surname: rank
    for rank, surname in enumerate(
        "wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he gao lin luo "
        "zheng liang xie song tang han feng deng cao peng zeng xiao tian dong yuan pan yu jiang "
        "cai jia ding wei xue ye yan lu du dai xia zhong fu fan fang shi kong jin qin".split()
    )
}
# Forms of address written after a person's name (赵玉娟女士, 王先生) or before a Latin one (Mr Wang):
# stripped, they are not part of the name.
CJK_TITLES = ("女士", "先生", "小姐", "太太", "夫人", "老师", "师傅", "同志", "阿姨", "大姐", "大哥")
LATIN_TITLES = ("mr", "mrs", "ms", "miss", "mdm", "madam", "dr", "prof")
_LATIN_TITLE = re.compile(r"^(?:" + "|".join(LATIN_TITLES) + r")\b\.?\s*", re.IGNORECASE)
COMPANY_MARKERS = ("公司", "集团", "有限", "企业", "中心", "工厂", "银行", "事务所", "合作社", "门店", "车行")
# Stripped for comparison only: legal-form and branch suffixes, and a leading city/province.
# Everything from the first legal-form word on is dropped: it also removes "…天河分公司" branches.
_LEGAL_FORM = re.compile(r"股份有限公司|有限责任公司|有限公司|股份公司|集团|公司|股份")
_PLACES = (
    "北京 上海 天津 重庆 广东 广州 深圳 佛山 东莞 珠海 浙江 杭州 宁波 温州 江苏 南京 苏州 无锡 "
    "山东 济南 青岛 福建 福州 厦门 湖北 武汉 湖南 长沙 四川 成都 河南 郑州 河北 石家庄 陕西 西安"
).split()
_PLACE_PREFIX = re.compile(r"^((" + "|".join(_PLACES) + r")(省|市)?)+")
PLACE_WITH_LEVEL = r"^(" + "|".join(_PLACES) + r")(省|市)"  # a place and its level opening a name: a company
_PLACE_WITH_LEVEL = re.compile(PLACE_WITH_LEVEL)


def clean_text(value: str | None) -> str | None:
    """NFKC (full-width → half-width, ideographic space → space), traditional → simplified, trimmed."""
    if value is None:
        return None
    text = unicodedata.normalize("NFKC", value).strip()
    if not text:
        return None
    return _T2S.convert(text) if _CJK.search(text) else text


def simplified(texts: list[str]) -> list[str] | None:
    """clean_text's traditional → simplified of many texts in one call to OpenCC (their lines joined:
    no dictionary entry holds a line break); None if the lines did not come back one for one."""
    lines = _T2S.convert("\n".join(texts)).split("\n")
    return lines if len(lines) == len(texts) else None


def is_company_name(name: str | None) -> bool:
    """A company name: a legal-form or organisation word, or a place prefix with its level (广州市…).

    Length alone says nothing (minority names are long, 赵玉娟女士 is a person with a title), and
    neither does a credit code on the record: a mistyped resident ID can pass its check.
    """
    if not name:
        return False
    return any(marker in name for marker in COMPANY_MARKERS) or bool(_PLACE_WITH_LEVEL.match(name))


def company_key(name: str) -> str:
    """Company name without place prefix, legal form and branch suffix: 广州市恒通物流有限公司 → 恒通物流."""
    key = _PLACE_PREFIX.sub("", _SPACE.sub("", name))
    legal_form = _LEGAL_FORM.search(key)
    if legal_form and legal_form.start() > 0:
        key = key[: legal_form.start()]
    return key or name


def strip_title(name: str) -> str:
    """赵玉娟女士 → 赵玉娟, 王先生 → 王, "Mr. Wang Wei" → "Wang Wei" (never down to nothing)."""
    for title in CJK_TITLES:
        if name.endswith(title) and len(name) > len(title):
            return name[: -len(title)]
    stripped = _LATIN_TITLE.sub("", name)
    return stripped if stripped.strip() else name


@lru_cache(maxsize=1)
def pinyin_syllables() -> frozenset[str]:
    """Every toneless pinyin syllable pypinyin knows (ü written v, as lazy_pinyin does)."""
    characters = "".join(chr(code) for code in pinyin_dict)
    readings = lazy_pinyin(characters, style=Style.NORMAL, errors="ignore")
    return frozenset(r for r in readings if _VOWEL.search(r))  # not the interjections n, ng, m, hm


@lru_cache(maxsize=VALUE_CACHE_SIZE)
def segment_pinyin(text: str) -> tuple[str, ...] | None:
    """Split letters into pinyin syllables, fewest syllables first ("liuwei" → liu, wei); None if they are not pinyin."""
    syllables = pinyin_syllables()
    best: list[tuple[str, ...] | None] = [()] + [None] * len(text)
    for end in range(1, len(text) + 1):
        for start in range(max(0, end - 6), end):
            head = best[start]
            if head is not None and text[start:end] in syllables and (
                    best[end] is None or len(head) + 1 < len(best[end])):
                best[end] = (*head, text[start:end])
    return best[len(text)]


def _folded(text: str) -> str:
    """Tone marks and other diacritics dropped: Zhāng Wěi → Zhang Wei, Lǚ → Lu."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _latin_tokens(name: str) -> list[str]:
    """Lower-case words of a Latin name, tone numbers dropped."""
    return [t for t in re.split(r"[\s.\-'0-9]+", name.lower()) if t]


def _key(syllables: list[str]) -> str:
    """Pinyin key: ü (v) read as u, as Latin spellings write it (吕 lv → lu)."""
    return "".join(syllables).replace("v", "u")


def _latin_orders(tokens: list[str]) -> tuple[list[str], list[str]]:
    """(likely surname-first order, the other order) of a Latin name's words.

    Words spaced by mistake ("L iu Wei") are re-cut into pinyin syllables. The surname is the
    first or the last word; the commoner Chinese surname wins ("Wei Zhang" → zhang wei).
    """
    if not all(segment_pinyin(t) for t in tokens):
        syllables = segment_pinyin("".join(tokens))
        if syllables and len(syllables) < len(tokens):
            tokens = list(syllables)
    if len(tokens) < 2:
        return tokens, tokens
    rotated = [tokens[-1], *tokens[:-1]]
    first = SURNAME_RANK.get(tokens[0], len(SURNAME_RANK))
    last = SURNAME_RANK.get(tokens[-1], len(SURNAME_RANK))
    return (rotated, tokens) if last < first else (tokens, rotated)


def _surname_length(name: str) -> int:
    return 2 if len(name) > 2 and name[:2] in COMPOUND_SURNAMES else 1


def surname(name: str | None) -> str | None:
    """The family name of a standardized Chinese-script name (王伟 → 王, 欧阳娜娜 → 欧阳, a bare 王 → 王);
    None for Latin-script names, companies and nicknames that are not a name."""
    if not name or not _CJK.fullmatch(name[0]) or not all(_CJK.fullmatch(ch) for ch in name) or len(name) > 4:
        return None
    if name in COMPOUND_SURNAMES:
        return name
    return name[: _surname_length(name)]


# Longest text read character by character; longer (company) names go through pypinyin whole.
PER_CHARACTER_MAX = 12


@lru_cache(maxsize=VALUE_CACHE_SIZE)  # bounded by the characters names use: a few thousand
def character_reading(character: str) -> str | None:
    """pypinyin's toneless reading of one character (None for a character it does not read)."""
    readings = lazy_pinyin(character, style=Style.NORMAL, errors="ignore")
    return readings[0] if readings else None


def _has_phrase(text: str) -> bool:
    """Does any run of two or more characters of `text` form a word of pypinyin's phrase dictionary
    (read as a word: 长孙 changsun, not zhangsun)?"""
    n = len(text)
    return any(text[i:j] in PHRASES_DICT for i in range(n - 1) for j in range(i + 2, n + 1))


def pinyin_syllables_of(text: str) -> list[str]:
    """`lazy_pinyin(text, style=NORMAL, errors="ignore")`, read from a per-character table when no
    phrase of pypinyin's dictionary occurs in the text (then pypinyin itself reads it character by
    character): most names, at a dictionary lookup per character instead of a segmentation. Tests
    check both agree on every name of the demo and on random character strings."""
    if len(text) > PER_CHARACTER_MAX or _has_phrase(text):
        return lazy_pinyin(text, style=Style.NORMAL, errors="ignore")
    return [r for r in map(character_reading, text) if r is not None]


def chinese_syllables(name: str) -> list[str]:
    syllables = pinyin_syllables_of(name)
    if name and name[0] in SURNAME_READINGS and syllables:
        syllables[0] = SURNAME_READINGS[name[0]]
    return syllables


@lru_cache(maxsize=VALUE_CACHE_SIZE)
def chinese_pinyin(name: str) -> str:
    """The pinyin of a company's key: the many spellings of one company (place prefixes, legal forms,
    branches, traditional characters) share it (a million customers' 309,575 distinct company names:
    35,845 keys; 5.2 s read from pypinyin each, a /tmp probe)."""
    return "".join(chinese_syllables(name))


def comparison_name(raw: str | None) -> tuple[str | None, str, list[str]]:
    """The comparison name and its form ("latin", "company", "person"; "" without a name), with the
    Latin name's words in its likely order and the other (empty otherwise): no pinyin is computed,
    for callers that need only the name (a lead's surname)."""
    text = clean_text(raw)
    if text is None:
        return None, "", []
    text = strip_title(text)
    if not _CJK.search(text) and _LATIN_NAME.match(_folded(text)):
        tokens = _latin_tokens(_folded(text))
        if not tokens:
            return None, "", []
        canonical, other = _latin_orders(tokens)
        return " ".join(canonical), "latin", [_key(canonical), _key(other)]
    compact = _SPACE.sub("", text).replace("·", "").replace("•", "")
    if is_company_name(compact):
        return company_key(compact), "company", []
    return compact, "person", []


@lru_cache(maxsize=VALUE_CACHE_SIZE)
def standardize_name(raw: str | None) -> tuple[str | None, str | None, str | None, bool]:
    """Return (comparison name, toneless pinyin key, the key in the other order, is_company).

    The other order is given name first for Chinese names (万娜 → nawan) and the other reading
    of a Latin name ("Na Wan" → wanna), so a name written either way meets its Chinese form.
    """
    name, form, latin_keys = comparison_name(raw)
    if name is None:
        return None, None, None, False
    if form == "latin":
        return name, latin_keys[0], latin_keys[1], False
    if form == "company":
        pinyin = chinese_pinyin(name)
        return name, pinyin, pinyin, True
    syllables = chinese_syllables(name)
    k = _surname_length(name)
    return name, _key(syllables), _key(syllables[k:] + syllables[:k]), False
