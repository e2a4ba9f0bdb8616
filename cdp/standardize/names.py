"""Chinese person and company names: width, script, spacing, pinyin, company suffixes."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import opencc
from pypinyin import Style, lazy_pinyin

_T2S = opencc.OpenCC("t2s")
_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN_NAME = re.compile(r"^[A-Za-z][A-Za-z .'\-]*$")
_SPACE = re.compile(r"\s+")
PERSON_NAME_MAX_CHARS = 4  # compound surname + two-character given name (欧阳娜娜)

# pypinyin reads characters, not surnames: these surnames have their own reading.
SURNAME_READINGS = {
    "单": "shan", "曾": "zeng", "解": "xie", "查": "zha", "仇": "qiu", "朴": "piao",
    "区": "ou", "盖": "ge", "乐": "yue", "覃": "qin", "翟": "zhai", "尉": "yu",
    "秘": "bi", "繁": "po", "召": "shao", "缪": "miao", "员": "yun", "种": "chong",
}
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
COMPANY_MARKERS = ("公司", "集团", "有限", "企业", "中心", "工厂", "银行", "事务所", "合作社", "门店", "车行")
# Stripped for comparison only: legal-form and branch suffixes, and a leading city/province.
# Everything from the first legal-form word on is dropped: it also removes "…天河分公司" branches.
_LEGAL_FORM = re.compile(r"股份有限公司|有限责任公司|有限公司|股份公司|集团|公司|股份")
_PLACES = (
    "北京 上海 天津 重庆 广东 广州 深圳 佛山 东莞 珠海 浙江 杭州 宁波 温州 江苏 南京 苏州 无锡 "
    "山东 济南 青岛 福建 福州 厦门 湖北 武汉 湖南 长沙 四川 成都 河南 郑州 河北 石家庄 陕西 西安"
).split()
_PLACE_PREFIX = re.compile(r"^((" + "|".join(_PLACES) + r")(省|市)?)+")
_PLACE_WITH_LEVEL = re.compile(r"^(" + "|".join(_PLACES) + r")(省|市)")


def clean_text(value: str | None) -> str | None:
    """NFKC (full-width → half-width, ideographic space → space), traditional → simplified, trimmed."""
    if value is None:
        return None
    text = unicodedata.normalize("NFKC", value).strip()
    if not text:
        return None
    return _T2S.convert(text) if _CJK.search(text) else text


def is_company_name(name: str | None) -> bool:
    """Legal-form words, a place prefix (广州市…), or more CJK characters than a person's name has."""
    if not name:
        return False
    return (
        any(marker in name for marker in COMPANY_MARKERS)
        or bool(_PLACE_WITH_LEVEL.match(name))
        or len(_CJK.findall(name)) > PERSON_NAME_MAX_CHARS
    )


def company_key(name: str) -> str:
    """Company name without place prefix, legal form and branch suffix: 广州市恒通物流有限公司 → 恒通物流."""
    key = _PLACE_PREFIX.sub("", _SPACE.sub("", name))
    legal_form = _LEGAL_FORM.search(key)
    if legal_form and legal_form.start() > 0:
        key = key[: legal_form.start()]
    return key or name


def _latin_tokens(name: str) -> list[str]:
    tokens = [t for t in re.split(r"[\s.\-']+", name.lower()) if t]
    if len(tokens) >= 2:
        first = SURNAME_RANK.get(tokens[0], len(SURNAME_RANK))
        last = SURNAME_RANK.get(tokens[-1], len(SURNAME_RANK))
        if last < first:  # the trailing token is the likelier surname
            tokens = [tokens[-1], *tokens[:-1]]
    return tokens


def chinese_pinyin(name: str) -> str:
    syllables = lazy_pinyin(name, style=Style.NORMAL, errors="ignore")
    if name and name[0] in SURNAME_READINGS and syllables:
        syllables[0] = SURNAME_READINGS[name[0]]
    return "".join(syllables)


@lru_cache(maxsize=None)
def standardize_name(raw: str | None) -> tuple[str | None, str | None, bool]:
    """Return (comparison name, toneless pinyin key, is_company) for one raw name."""
    text = clean_text(raw)
    if text is None:
        return None, None, False
    if _LATIN_NAME.match(text):
        tokens = _latin_tokens(text)
        return " ".join(tokens), "".join(tokens), False
    compact = _SPACE.sub("", text)
    if is_company_name(compact):
        key = company_key(compact)
        return key, chinese_pinyin(key), True
    return compact, chinese_pinyin(compact), False
