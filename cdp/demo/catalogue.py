"""The static world of the demo: stores, cities, vehicle catalogue, name pools, reference lists.

Everything here is fixed data (no randomness); the simulation draws from it with a seeded
numpy Generator. Weights are relative frequencies, normalised where they are used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np

HISTORY_START = date(2019, 1, 1)

# --------------------------------------------------------------------------- cities and stores


@dataclass(frozen=True)
class City:
    name: str
    weight: float  # share of customers living there
    plate_prefixes: tuple[str, ...]  # province character + issuing-office letter
    id_prefix: str  # first 4 digits of the resident-ID region code of locals
    local_id_share: float  # the rest were born elsewhere (ID region of their birthplace)
    migrant_id_prefixes: tuple[str, ...]
    districts: tuple[str, ...]
    uscc_region: str  # 6-digit registration region of companies


CITIES: tuple[City, ...] = (
    City("广州", 0.28, ("粤A",), "4401", 0.65, ("4301", "4201", "5101", "3601", "4501", "4406"),
         ("天河区", "越秀区", "海珠区", "荔湾区", "白云区", "番禺区", "黄埔区"), "440106"),
    City("深圳", 0.27, ("粤B",), "4403", 0.40, ("4301", "4201", "5101", "3601", "4501", "4101", "4401"),
         ("福田区", "罗湖区", "南山区", "宝安区", "龙岗区", "龙华区"), "440304"),
    City("上海", 0.25, ("沪A", "沪B"), "3101", 0.70, ("3201", "3401", "4101", "3301", "5101"),
         ("浦东新区", "徐汇区", "静安区", "长宁区", "闵行区", "杨浦区", "普陀区"), "310115"),
    City("杭州", 0.20, ("浙A",), "3301", 0.75, ("3201", "3401", "3101", "4101"),
         ("西湖区", "上城区", "拱墅区", "滨江区", "萧山区", "余杭区"), "330106"),
)
CITY_NAMES = tuple(c.name for c in CITIES)
# Common-name persons (hard negatives) cluster in this city: many 张伟 in one place.
COMMON_NAME_HOTSPOT_CITY = 0


@dataclass(frozen=True)
class Series:
    name: str
    base_price: int  # CNY, entry trim
    nev: bool  # new-energy vehicle: green 6-character plate
    variants: tuple[str, str]


@dataclass(frozen=True)
class Maker:
    brand: str
    wmis: tuple[str, ...]  # world manufacturer identifiers used by this joint venture
    premium: bool
    finance_company: str
    series: tuple[Series, ...]


def _s(name: str, price: int, nev: bool, *variants: str) -> Series:
    return Series(name, price, nev, (variants[0], variants[1]))


MAKERS: tuple[Maker, ...] = (
    Maker("丰田", ("LVG",), False, "丰田汽车金融", (
        _s("凯美瑞", 179800, False, "2.0L 豪华", "2.5HEV 双擎"), _s("雷凌", 113800, False, "1.5L CVT", "1.8HEV 双擎"),
        _s("汉兰达", 269800, False, "2.0T 四驱", "2.5HEV 七座"), _s("威兰达", 179800, False, "2.0L 两驱", "2.5HEV 四驱"),
        _s("bZ4X", 199800, True, "长续航 两驱", "长续航 四驱"))),
    Maker("本田", ("LHG",), False, "本田汽车金融", (
        _s("雅阁", 179800, False, "260TURBO", "锐·混动"), _s("飞度", 89800, False, "1.5L CVT", "1.5L 运动"),
        _s("皓影", 189800, False, "240TURBO", "锐·混动"), _s("冠道", 229800, False, "240TURBO", "370TURBO 四驱"),
        _s("e:NP1", 175000, True, "长续航", "标准续航"))),
    Maker("比亚迪", ("LGX", "LC0"), False, "比亚迪汽车金融", (
        _s("秦PLUS DM-i", 99800, True, "55KM", "120KM"), _s("宋PLUS DM-i", 159800, True, "110KM", "150KM"),
        _s("汉EV", 209800, True, "506KM", "610KM"), _s("唐DM-i", 219800, True, "112KM", "215KM"),
        _s("海豚", 99800, True, "420KM", "520KM"), _s("元PLUS", 139800, True, "430KM", "510KM"))),
    Maker("宝马", ("LBV",), True, "宝马汽车金融", (
        _s("3系", 299900, False, "325Li", "330Li"), _s("5系", 439900, False, "525Li", "530Li"),
        _s("X1", 289900, False, "sDrive20Li", "xDrive25Li"), _s("X3", 399900, False, "xDrive25i", "xDrive30i"),
        _s("iX3", 399900, True, "领先型", "创领型"))),
    Maker("大众", ("LSV",), False, "大众汽车金融", (
        _s("朗逸", 119900, False, "1.5L 自动", "280TSI DSG"), _s("帕萨特", 199900, False, "330TSI", "380TSI"),
        _s("途观L", 219900, False, "330TSI 两驱", "380TSI 四驱"), _s("途岳", 159900, False, "280TSI", "300TSI"),
        _s("ID.4 X", 199900, True, "Lite Pro", "Pro"))),
    Maker("奔驰", ("LE4",), True, "梅赛德斯-奔驰汽车金融", (
        _s("C级", 329800, False, "C 200 L", "C 260 L"), _s("E级", 449800, False, "E 260 L", "E 300 L"),
        _s("GLC", 429800, False, "GLC 260 L", "GLC 300 L"), _s("GLA", 279800, False, "GLA 200", "GLA 220"),
        _s("EQE", 489800, True, "350 先锋版", "350 豪华版"))),
    Maker("大众", ("LFV",), False, "大众汽车金融", (
        _s("速腾", 129900, False, "200TSI", "300TSI"), _s("迈腾", 189900, False, "330TSI", "380TSI"),
        _s("探岳", 199900, False, "280TSI", "330TSI 四驱"), _s("宝来", 99900, False, "1.5L 自动", "200TSI"),
        _s("ID.4 CROZZ", 209900, True, "PURE+", "PRO"))),
    Maker("丰田", ("LFM",), False, "丰田汽车金融", (
        _s("卡罗拉", 119800, False, "1.2T CVT", "1.8HEV 双擎"), _s("亚洲龙", 199800, False, "2.0L 豪华", "2.5HEV 旗舰"),
        _s("RAV4荣放", 179800, False, "2.0L 两驱", "2.5HEV 四驱"), _s("皇冠陆放", 269800, False, "2.5HEV 两驱", "2.5HEV 四驱"),
        _s("bZ3", 169800, True, "长续航", "标准续航"))),
)


@dataclass(frozen=True)
class Store:
    code: str
    city: int  # index into CITIES
    maker: int  # index into MAKERS


STORES: tuple[Store, ...] = (
    Store("S01", 0, 0), Store("S02", 0, 1), Store("S03", 1, 2), Store("S04", 1, 3),
    Store("S05", 2, 4), Store("S06", 2, 5), Store("S07", 3, 6), Store("S08", 3, 7),
)
STORE_CODES = tuple(s.code for s in STORES)
SALES_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d")
AFTER_SALES_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d")

TRIMS = ("标准版", "舒适版", "豪华版", "旗舰版")
TRIM_WEIGHTS = (0.30, 0.35, 0.25, 0.10)
TRIM_PRICE_FACTOR = (1.00, 1.08, 1.18, 1.32)
COLOURS = ("珍珠白", "曜石黑", "星空灰", "冰川银", "宝石蓝", "火山红", "琥珀棕", "极光绿")
COLOUR_WEIGHTS = (0.32, 0.24, 0.16, 0.12, 0.07, 0.04, 0.03, 0.02)

LEAD_CHANNELS = ("展厅到店", "官网", "汽车之家", "懂车帝", "抖音直播", "老客户推荐", "车展", "电话营销")
LEAD_WEIGHTS_PERSON = (0.28, 0.06, 0.18, 0.14, 0.13, 0.11, 0.05, 0.05)
LEAD_WEIGHTS_COMPANY = (0.35, 0.10, 0.05, 0.03, 0.02, 0.25, 0.05, 0.15)

SERVICE_TYPES = ("保养", "维修", "钣喷", "保修", "召回", "美容")
SERVICE_WEIGHTS = (0.55, 0.20, 0.10, 0.07, 0.03, 0.05)
# (labour median, labour log-sigma, parts median, parts log-sigma) in CNY; 保修/召回 are paid by the maker.
SERVICE_AMOUNTS = {
    "保养": (220, 0.30, 650, 0.40),
    "维修": (600, 0.80, 1500, 1.00),
    "钣喷": (1200, 0.60, 1500, 0.90),
    "保修": (0, 0.0, 0, 0.0),
    "召回": (0, 0.0, 0, 0.0),
    "美容": (300, 0.50, 120, 0.80),
}
# Days between open and close by service type: (min, max) inclusive.
SERVICE_DAYS = {"保养": (0, 1), "维修": (0, 4), "钣喷": (2, 14), "保修": (0, 5), "召回": (0, 1), "美容": (0, 1)}
PREMIUM_SERVICE_FACTOR = 1.8
WARRANTY_YEARS = 3

COMPLAINT_CATEGORIES = ("服务态度", "维修质量", "配件等待", "价格争议", "车辆质量")
COMPLAINT_WEIGHTS = (0.25, 0.30, 0.20, 0.15, 0.10)
COMPLAINT_TEMPLATES = {
    "服务态度": ("接待顾问态度冷淡，等候{n}小时无人跟进", "电话回访时语气不耐烦，客户不满意", "预约后到店仍需排队{n}小时"),
    "维修质量": ("{t}后异响仍未消除，要求返修", "{t}后{n}天故障灯再次亮起", "返修{n}次问题仍未解决"),
    "配件等待": ("配件缺货，已等待{n}周", "约定到货日期多次推迟，客户要求代步车", "订购配件{n}周未到店"),
    "价格争议": ("结算金额比报价高出{n}百元", "工时费收费不透明，要求出具明细", "质保期内被收取材料费"),
    "车辆质量": ("车机系统频繁死机", "新车{n}个月出现漏水", "变速箱顿挫明显，要求检测"),
}

INSURERS = ("人保财险", "平安产险", "太平洋产险", "国寿财险", "大地保险", "阳光保险")
INSURER_WEIGHTS = (0.32, 0.28, 0.18, 0.10, 0.07, 0.05)
BANKS = ("工商银行", "建设银行", "招商银行", "平安银行", "中国银行")
LOAN_TERMS = (12, 24, 36, 48, 60)
LOAN_TERM_WEIGHTS = (0.15, 0.30, 0.35, 0.08, 0.12)

# --------------------------------------------------------------------------- people

# Surname frequencies (per cent, mainland census order); 单 解 查 曾 have surname readings.
SURNAMES = (
    "王 7.1 李 7.0 张 6.7 刘 5.4 陈 4.6 杨 3.1 黄 2.3 赵 2.2 吴 2.0 周 1.9 徐 1.3 孙 1.3 马 1.1 朱 1.1 胡 1.1 "
    "郭 1.0 何 0.9 林 0.9 高 0.9 罗 0.8 郑 0.8 梁 0.7 谢 0.6 宋 0.5 唐 0.5 许 0.5 韩 0.5 冯 0.5 邓 0.5 曹 0.4 "
    "彭 0.4 曾 0.4 肖 0.4 田 0.4 董 0.3 袁 0.3 潘 0.3 于 0.3 蒋 0.3 蔡 0.3 余 0.3 杜 0.3 叶 0.3 程 0.3 苏 0.3 "
    "魏 0.3 吕 0.3 丁 0.3 任 0.3 沈 0.3 姚 0.2 卢 0.2 姜 0.2 崔 0.2 钟 0.2 谭 0.2 陆 0.2 汪 0.2 范 0.2 金 0.2 "
    "石 0.2 廖 0.2 贾 0.2 夏 0.2 韦 0.2 付 0.2 方 0.2 白 0.2 邹 0.2 孟 0.2 熊 0.2 秦 0.2 邱 0.2 江 0.2 尹 0.2 "
    "薛 0.1 段 0.1 雷 0.1 侯 0.1 龙 0.1 史 0.1 陶 0.1 黎 0.1 贺 0.1 顾 0.1 毛 0.1 郝 0.1 龚 0.1 邵 0.1 万 0.1 "
    "钱 0.1 严 0.1 覃 0.1 武 0.1 戴 0.1 莫 0.1 孔 0.1 向 0.1 汤 0.1 单 0.05 解 0.03 查 0.03 欧阳 0.03"
).split()
SURNAME_LIST = tuple(SURNAMES[0::2])
SURNAME_WEIGHTS = tuple(float(w) for w in SURNAMES[1::2])
# pypinyin reads characters, not surnames.
SURNAME_READINGS = {"单": "shan", "曾": "zeng", "解": "xie", "查": "zha", "覃": "qin", "欧阳": "ouyang"}

# Given-name characters: a first (generation-style) character and a last character by gender.
GIVEN_FIRST = {
    "男": "志建国海文晓子浩俊宇家明永振嘉伟思天立德春金一",
    "女": "秀晓佳思雨子欣梓丽美雅慧玉春海文嘉诗怡若紫梦",
}
GIVEN_LAST = {
    "男": "伟强军磊洋勇杰涛明超刚辉峰斌鹏飞宇浩凯波亮俊龙晨鑫林东华平成翔宁健昊轩睿泽航博远庆",
    "女": "芳娜静敏丽艳英霞玲燕萍洁红梅琳婷雪倩颖慧佳欣怡悦琪晶莉娟丹蕾璐薇妍月兰凤桂萱涵",
}
SINGLE_GIVEN_SHARE = 0.18  # one-character given names (张伟); the rest have two (张志强)

# Very common full names: hard negatives (different people, same name). Gender of each.
COMMON_NAMES = (
    ("张伟", "男"), ("王伟", "男"), ("王芳", "女"), ("李伟", "男"), ("李娜", "女"), ("张敏", "女"),
    ("李静", "女"), ("王静", "女"), ("刘伟", "男"), ("王秀英", "女"), ("张丽", "女"), ("李秀英", "女"),
    ("王丽", "女"), ("张静", "女"), ("张秀英", "女"), ("李强", "男"), ("王敏", "女"), ("李敏", "女"),
    ("王磊", "男"), ("刘洋", "男"), ("王艳", "女"), ("王勇", "男"), ("李军", "男"), ("张勇", "男"),
    ("李杰", "男"), ("张杰", "男"), ("张磊", "男"), ("王强", "男"), ("李娟", "女"), ("王军", "男"),
)

# Characters a pinyin input method offers for the same toneless syllable: typing slips.
HOMOPHONES = {
    "伟": "玮炜维", "玮": "伟", "芳": "方坊", "娜": "纳", "静": "晶靖婧", "敏": "民闽", "丽": "莉俐利",
    "强": "墙蔷", "军": "君钧", "磊": "垒蕾", "洋": "阳杨扬", "勇": "永咏", "艳": "燕雁", "杰": "洁捷",
    "涛": "滔韬", "明": "鸣铭", "秀": "绣琇", "英": "莹瑛", "华": "桦骅", "平": "萍苹", "刚": "钢罡",
    "辉": "晖徽", "建": "健剑", "峰": "锋枫", "霞": "侠", "玲": "铃翎", "婷": "亭庭", "红": "虹宏",
    "梅": "玫媚", "琳": "林霖", "倩": "茜", "颖": "影盈", "慧": "惠蕙", "佳": "嘉家", "欣": "馨昕",
    "怡": "宜仪", "悦": "越玥", "琪": "琦祺", "晶": "静菁", "娟": "鹃", "亮": "靓", "俊": "峻骏",
    "龙": "隆", "晨": "辰宸", "鑫": "新欣", "文": "雯", "林": "琳霖", "东": "冬栋", "国": "帼",
    "志": "智", "远": "源", "成": "诚承", "翔": "祥", "健": "建", "昊": "浩皓", "浩": "昊皓",
    "宇": "雨羽禹", "飞": "菲", "斌": "彬滨", "鹏": "朋", "超": "潮", "凯": "恺铠", "睿": "瑞锐",
    "泽": "则", "航": "杭", "轩": "萱宣", "子": "梓紫", "思": "丝斯", "雨": "宇羽", "晓": "小筱",
    "玉": "钰", "春": "椿", "兰": "岚澜", "燕": "艳雁", "萍": "平苹", "洁": "杰婕", "蕾": "磊",
    "璐": "露路", "薇": "微维", "妍": "彦", "月": "悦越", "海": "凯", "嘉": "佳家", "梓": "子紫",
    "雅": "亚", "美": "媚", "诗": "师", "梦": "孟", "若": "偌", "紫": "子梓", "振": "震", "家": "佳嘉",
    "永": "勇咏", "德": "得", "立": "力丽", "天": "添", "金": "今锦", "一": "依", "庆": "青", "博": "波",
    "凤": "峰", "桂": "贵", "涵": "寒", "丹": "单", "莉": "丽俐", "宁": "凝",
}

# Road and compound words for addresses.
ROADS = ("中山", "人民", "解放", "建设", "和平", "新华", "文化", "胜利", "青年", "长江", "黄河", "延安",
         "南京", "北京", "东风", "花园", "沿江", "环城", "体育", "科技", "学府", "滨江", "工业", "迎宾")
ROAD_KINDS = ("路", "路", "路", "大道", "街")
COMPOUNDS = ("阳光花园", "锦绣家园", "翠湖苑", "金色港湾", "碧桂园", "万科城", "华润城", "保利花园",
             "绿地新都会", "世纪新城", "幸福里", "东方名苑", "君临天下", "海景湾", "丽江花园", "恒大名都")

# Companies: 广州市 + trade name + industry + legal form.
TRADE_NAME_CHARS = "".join(dict.fromkeys(
    "恒通华信鑫源宏达金盛瑞丰东方新宇永安嘉禾顺泰隆昌富康宝利正和天成汇远中诚明德广润祥云星辰合众博雅卓越万邦兴业立凯旋"))
INDUSTRIES = ("物流", "贸易", "科技", "建设", "汽车租赁", "实业", "汽车服务", "电子", "食品", "医药",
              "传媒", "餐饮管理", "物业管理", "工程", "商贸", "供应链管理", "信息技术", "环保科技")
LEGAL_FORMS = ("有限公司", "有限公司", "有限公司", "股份有限公司", "有限责任公司")

# Mainland mobile prefixes (carrier number segments).
MOBILE_PREFIXES = (
    130, 131, 132, 133, 135, 136, 137, 138, 139, 147, 150, 151, 152, 153, 155, 156, 157, 158, 159,
    166, 173, 175, 176, 177, 178, 180, 181, 182, 183, 185, 186, 187, 188, 189, 191, 198, 199,
)


BIRTH_YEARS = (1950, 2003)  # inclusive range of buyers' birth years


@lru_cache(maxsize=None)
def resident_id_regions(prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """County codes under a 4-digit prefix and, per birth year, whether each code was in use.

    Reads python-stdnum's region table with the same rule as `stdnum.cn.ric.validate`
    (a code must have existed in the birth year), so generated IDs pass `is_valid`.
    Returns (codes, valid) with valid[i, year - BIRTH_YEARS[0]].
    """
    from stdnum import numdb

    db = numdb.get("cn/loc")
    years = np.arange(BIRTH_YEARS[0], BIRTH_YEARS[1] + 1)
    codes, valid = [], []
    for suffix in range(1, 100):
        code = f"{prefix}{suffix:02d}"
        county = {k: v for _part, props in db.info(code) for k, v in props.items()}.get("county")
        if not county:
            continue
        in_use = np.zeros(len(years), bool)
        for period in county.split(","):
            if not period.startswith("["):
                in_use[:] = True
                break
            start, end = period[1:].split("]")[0].split("-")
            in_use |= (years >= (int(start) if start else 0)) & (years <= (int(end) if end else 9999))
        codes.append(int(code))
        valid.append(in_use)
    return np.array(codes, np.int64), np.array(valid, bool)
