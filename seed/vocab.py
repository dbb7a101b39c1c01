"""Words of the reference county: place names, unit names, skills, and the texts of needs."""

from __future__ import annotations

from schema.enums import EnterpriseRequestKind, NeedCategory, ResourceKind

# 吉安县's 19 townships; the county seat first.
TOWNSHIPS: tuple[str, ...] = (
    "敦厚镇", "永和镇", "桐坪镇", "凤凰镇", "油田镇", "敖城镇", "北源乡", "大冲乡", "梅塘镇",
    "固江镇", "万福镇", "永阳镇", "天河镇", "横江镇", "安塘乡", "官田乡", "登龙乡", "指阳乡",
    "浬田镇",
)  # fmt: skip

# A dozen urban communities (城市社区) with their township and relative size; 泉塘社区 first.
URBAN_COMMUNITIES: tuple[tuple[str, str, int], ...] = (
    ("泉塘社区", "敦厚镇", 14),
    ("城南社区", "敦厚镇", 10),
    ("城北社区", "敦厚镇", 10),
    ("庐陵社区", "敦厚镇", 9),
    ("君山社区", "敦厚镇", 9),
    ("文昌社区", "敦厚镇", 9),
    ("白鹭社区", "敦厚镇", 8),
    ("阳光社区", "敦厚镇", 8),
    ("井冈社区", "敦厚镇", 8),
    ("凤凰社区", "凤凰镇", 8),
    ("工业园社区", "凤凰镇", 7),
    ("永和社区", "永和镇", 6),
)

VILLAGE_FIRST = (
    "枫竹柏梅桃杨石沙青龙凤鹤鹭金银长高新老东西南北上下前后大小中黄白罗江洋塘田坪岭源桥洲陂湖"
)
VILLAGE_SECOND = "头下背塘田坑源洲岭山口陂江湖桥冲垄溪坪里园庄坊岗湾洞"

# 37 residential compounds (小区); 燕京府小区 first.
COMPOUNDS: tuple[str, ...] = (
    "燕京府小区", "凤凰城小区", "庐陵花园", "君山华府", "泉塘新村", "文昌苑", "白鹭湾小区",
    "阳光丽景", "锦绣江南", "滨江一号", "恒大名都", "金色家园", "书香门第", "翰林苑",
    "盛世华庭", "御景园", "碧桂园", "鑫苑名家", "城南佳苑", "城北雅居", "井冈明珠",
    "桂花园小区", "和谐家园", "幸福里小区", "紫荆花园", "梧桐苑", "香樟园", "东方明珠",
    "星河湾小区", "世纪新城", "安居小区", "康居苑", "永和新村", "凤凰新苑", "工业园公寓",
    "金域蓝湾", "天骄名城",
)  # fmt: skip

ROADS: tuple[str, ...] = (
    "庐陵大道", "君山路", "泉塘路", "文昌路", "井冈路", "城南大道", "城北路", "永和路",
    "凤凰大道", "工业大道", "白鹭路", "阳明路", "敦厚路", "吉州大道",
)  # fmt: skip

GOVERNMENT_UNITS: tuple[str, ...] = (
    "县委组织部", "县委宣传部", "县委统战部", "县委政法委", "县委办公室", "县政府办公室",
    "县人大常委会办公室", "县政协办公室", "县纪委监委", "县委编办", "县委党校", "县委网信办",
    "县发展和改革委员会", "县财政局", "县教育体育局", "县公安局", "县民政局",
    "县人力资源和社会保障局", "县自然资源局", "县住房和城乡建设局", "县交通运输局", "县水利局",
    "县农业农村局", "县商务局", "县文化广电新闻出版旅游局", "县卫生健康委员会", "县应急管理局",
    "县市场监督管理局", "县医疗保障局", "县城市管理局", "县司法局", "县税务局", "县统计局",
    "县审计局", "县生态环境局", "县林业局", "县退役军人事务局", "县行政审批局", "县信访局",
    "县工业和信息化局", "县科学技术局", "县乡村振兴局", "县数据管理局", "县机关事务管理中心",
    "县总工会", "团县委", "县妇联", "县科协", "县残联", "县工商联", "县人民法院",
    "县人民检察院", "县消防救援大队", "县公安局交通警察大队", "县融媒体中心", "县档案馆",
    "县供销合作社", "县红十字会", "县气象局", "县工业园区管委会",
)  # fmt: skip

INSTITUTIONS: tuple[str, ...] = (
    "县人民医院", "县中医院", "县妇幼保健院", "县疾病预防控制中心", "县第二人民医院",
    "县精神病医院", "县中学", "县二中", "县三中", "县城北中学", "县城南中学", "县实验中学",
    "县城关小学", "县城北小学", "县城南小学", "县泉塘小学", "县实验小学", "县职业中专",
    "县特殊教育学校", "县第一幼儿园", "县第二幼儿园", "县图书馆", "县文化馆", "县博物馆",
    "县体育中心", "县社会福利院", "县救助管理站", "县公证处", "县法律援助中心",
    "县不动产登记中心", "县住房公积金管理中心", "县城乡规划设计院", "县农业技术推广中心",
    "县畜牧兽医局", "县水文站", "县林业科学研究所", "县广播电视台", "县殡仪馆",
    "县城市社区服务中心", "县就业服务中心", "县社会保险中心", "县医疗保险中心",
    "县退役军人服务中心", "县未成年人保护中心", "县老年大学", "县青少年活动中心",
    "县公共资源交易中心", "县政务服务中心", "县12345热线中心", "县数字庐陵指挥中心",
)  # fmt: skip

ENTERPRISE_UNITS: tuple[str, ...] = (
    "国网吉安县供电公司", "中国移动吉安县分公司", "中国电信吉安县分公司",
    "中国联通吉安县分公司", "中国邮政吉安县分公司", "吉安县农村商业银行", "工商银行吉安县支行",
    "建设银行吉安县支行", "农业银行吉安县支行", "中国银行吉安县支行", "邮储银行吉安县支行",
    "九江银行吉安县支行", "赣州银行吉安县支行", "吉安县自来水有限公司", "吉安县燃气有限公司",
    "吉安县城市建设投资集团", "吉安县交通投资集团", "吉安县农业发展集团",
    "吉安县文化旅游发展集团", "吉安县公共交通有限公司", "中国石化吉安县分公司",
    "中国人寿吉安县支公司", "中国人保吉安县支公司", "吉安县烟草专卖局（分公司）",
    "吉安县粮食储备库", "吉安县电子信息产业园运营公司", "庐陵新材料有限公司",
    "吉安县井冈蜜柚产业公司", "吉安县盐业有限公司", "吉安县水务集团", "吉安县华联超市",
    "吉安县人民大药房", "吉安县广电网络公司", "吉安县建筑工程公司", "吉安县物流园有限公司",
    "吉安县工业园区投资公司", "吉安县绿色食品有限公司", "吉安县生态农业开发公司",
    "吉安县农机服务公司", "吉安县新华书店", "吉安县保安服务公司",
)  # fmt: skip

# 8 property companies (物业公司), all with party organisations; the first is state-owned.
PROPERTY_COMPANIES: tuple[str, ...] = (
    "吉安县国有物业服务有限公司",
    "庐陵物业服务有限公司",
    "泉塘物业管理有限公司",
    "君华物业服务有限公司",
    "凤凰城物业管理有限公司",
    "恒信物业服务有限公司",
    "万家物业管理有限公司",
    "安居物业服务有限公司",
)

# (code, name): skills a need may require.
SKILLS: tuple[tuple[str, str], ...] = (
    ("electrician", "电工维修"),
    ("plumbing", "水管维修"),
    ("legal_advice", "法律咨询"),
    ("counselling", "心理疏导"),
    ("nursing", "医疗护理"),
    ("first_aid", "应急救护"),
    ("mediation", "矛盾调解"),
    ("policy_advice", "政策宣讲"),
    ("driving", "驾驶"),
    ("moving", "搬运"),
    ("elder_care", "助老服务"),
    ("housekeeping", "家政服务"),
    ("it_support", "电脑手机维修"),
    ("cleaning", "环境清洁"),
    ("fire_safety", "消防安全"),
    ("food_safety", "食品安全"),
    ("ecommerce", "电商直播"),
    ("agri_tech", "农技指导"),
    ("tutoring", "课业辅导"),
    ("sign_language", "手语"),
    ("flood_rescue", "防汛抢险"),
    ("performance", "文艺演出"),
    ("accounting", "财会"),
    ("photography", "摄影宣传"),
)

# What each need category usually calls for.
CATEGORY_SKILLS: dict[NeedCategory, tuple[str, ...]] = {
    NeedCategory.INFRASTRUCTURE: ("electrician", "plumbing", "moving"),
    NeedCategory.ENVIRONMENT: ("cleaning", "moving", "driving"),
    NeedCategory.SAFETY: ("fire_safety", "electrician", "first_aid"),
    NeedCategory.DISPUTE: ("mediation", "legal_advice", "counselling"),
    NeedCategory.ELDER_CARE: ("elder_care", "nursing", "housekeeping", "driving"),
    NeedCategory.PROPERTY: ("plumbing", "electrician", "mediation"),
    NeedCategory.FOOD_SAFETY: ("food_safety", "policy_advice"),
    NeedCategory.POLICY: ("policy_advice", "legal_advice", "accounting", "it_support"),
    NeedCategory.EMERGENCY: ("flood_rescue", "first_aid", "driving", "moving"),
    NeedCategory.OTHER: ("cleaning", "it_support", "tutoring", "counselling"),
}

NEED_ISSUES: dict[NeedCategory, tuple[str, ...]] = {
    NeedCategory.INFRASTRUCTURE: (
        "路灯不亮", "井盖破损", "道路坑洼积水", "水管爆裂", "楼道灯损坏", "下水道堵塞",
        "健身器材损坏", "人行道地砖松动",
    ),
    NeedCategory.ENVIRONMENT: (
        "垃圾堆积未清运", "建筑废料堆积", "污水外溢", "绿化带杂草丛生", "河道漂浮物",
        "焚烧秸秆冒烟", "公厕卫生差",
    ),
    NeedCategory.SAFETY: (
        "电动车楼道充电", "消防通道被占用", "高空坠物隐患", "电线私拉乱接", "危房存在隐患",
        "窨井无盖", "池塘边缺少护栏",
    ),
    NeedCategory.DISPUTE: (
        "邻里噪音纠纷", "停车位纠纷", "漏水引发邻里矛盾", "宅基地边界纠纷", "农资款纠纷",
        "租房押金纠纷", "养狗扰民纠纷",
    ),
    NeedCategory.ELDER_CARE: (
        "独居老人需要助餐", "老人就医需要陪护", "残疾人出行需要帮扶", "失能老人需要上门护理",
        "留守老人需要代购药品",
    ),
    NeedCategory.PROPERTY: (
        "小区电梯故障", "小区屋面漏水", "物业费收支不透明", "小区门禁损坏", "地下车库积水",
        "小区监控失灵",
    ),
    NeedCategory.FOOD_SAFETY: (
        "餐馆后厨卫生差", "外卖餐品变质", "无证流动摊贩", "过期食品在售", "校园周边三无零食",
    ),
    NeedCategory.POLICY: (
        "医保缴费咨询", "低保申请咨询", "就业政策咨询", "养老保险转移咨询", "老旧小区改造政策咨询",
        "退役军人优待咨询",
    ),
    NeedCategory.EMERGENCY: (
        "暴雨内涝", "道路塌方", "树木倒伏拦路", "燃气泄漏", "山体滑坡隐患", "停水停电",
    ),
    NeedCategory.OTHER: (
        "流浪犬扰民", "广场舞噪音", "共享单车乱停", "小广告乱贴", "快递无处存放",
    ),
}  # fmt: skip

SUGGESTIONS: tuple[str, ...] = (
    "建议增设老年助餐点", "建议小区增设充电桩", "建议开设四点半课堂", "建议增加公交班次",
    "建议增设口袋公园", "建议设置快递集中存放点", "建议增加篮球场开放时间", "建议建设共享菜园",
    "建议增设无障碍坡道", "建议增设垃圾分类督导员",
)  # fmt: skip

ENTERPRISE_INDUSTRIES: tuple[str, ...] = (
    "电子信息", "农产品加工", "新材料", "机械制造", "食品", "纺织服装", "商贸物流", "文化旅游",
    "建筑建材", "生物医药", "现代农业", "餐饮住宿",
)  # fmt: skip

ENTERPRISE_BRANDS = "庐陵吉盛鑫泰华信恒达丰源宏远永顺祥瑞嘉禾金凯博创联科润德兴隆汇通安和"

ENTERPRISE_ISSUES: dict[EnterpriseRequestKind, tuple[str, ...]] = {
    EnterpriseRequestKind.POLICY: ("申报技改补贴", "咨询税收优惠政策", "申请稳岗返还"),
    EnterpriseRequestKind.APPROVAL: ("办理施工许可", "办理环评审批", "变更营业执照"),
    EnterpriseRequestKind.FINANCING: ("申请创业担保贷款", "对接银行授信", "办理应收账款融资"),
    EnterpriseRequestKind.LAND: ("新增用地指标", "厂房规划调整", "办理不动产登记"),
    EnterpriseRequestKind.LABOUR: ("招聘普工一百名", "技能工人培训", "高校毕业生对接"),
    EnterpriseRequestKind.UTILITIES: ("增容用电报装", "天然气接入", "宽带专线开通"),
    EnterpriseRequestKind.LEGAL: ("合同纠纷咨询", "知识产权保护", "劳动争议调解"),
    EnterpriseRequestKind.OTHER: ("厂区周边道路维修", "员工子女入学", "物流通道协调"),
}

STATION_SERVICES: tuple[str, ...] = (
    "政策咨询", "纠纷调解", "法律援助", "就业指导", "社保代办", "医保代办", "老年助餐", "爱心理发",
    "健康义诊", "代收快递", "家电维修", "四点半课堂", "心理咨询", "图书借阅", "文体活动",
    "志愿服务", "党员活动", "便民缴费", "证明开具", "残疾人帮扶", "低保申请", "退役军人服务",
    "反诈宣传", "消防宣传", "垃圾分类指导", "物业协调", "邻里互助", "儿童托管", "共享工具箱",
    "应急避险", "爱心雨伞", "血压测量", "孕产妇关爱", "青年之家",
)  # fmt: skip

ACTIVITY_THEMES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("健康义诊进社区", ("nursing", "first_aid")),
    ("政策宣讲进万家", ("policy_advice",)),
    ("垃圾分类志愿宣传", ("cleaning",)),
    ("防溺水安全教育", ("first_aid",)),
    ("四点半课堂", ("tutoring",)),
    ("爱心助老理发", ("elder_care",)),
    ("防汛应急演练", ("flood_rescue", "first_aid")),
    ("反诈宣传进小区", ("policy_advice",)),
    ("文明创建志愿服务", ("cleaning",)),
    ("植树护绿", ()),
    ("义善庐陵·爱心助农直播", ("ecommerce",)),
    ("法律服务进乡村", ("legal_advice",)),
    ("消防安全检查", ("fire_safety",)),
    ("邻里文艺汇演", ("performance",)),
    ("入户听诉", ("mediation",)),
    ("关爱留守儿童", ("tutoring", "counselling")),
    ("农技下乡服务", ("agri_tech",)),
    ("家电义务维修", ("electrician", "it_support")),
)

CONSULTATION_TOPICS: tuple[str, ...] = (
    "城区建筑废料堆积清理", "老旧小区加装电梯", "小区停车位划分", "农村人居环境整治",
    "宅基地边界协商", "小区物业费调整", "广场舞噪音协调", "农田灌溉用水分配",
    "集体经济收益分配", "背街小巷改造", "菜市场周边秩序", "红白理事简办",
)  # fmt: skip

RESOURCE_OFFERS: dict[str, tuple[tuple[ResourceKind, str, str, int, int], ...]] = {
    # unit kind -> (resource kind, name, unit label, min qty, max qty)
    "government": (
        (ResourceKind.VENUE, "会议室", "座", 30, 120),
        (ResourceKind.VEHICLE, "公务用车", "辆", 1, 3),
        (ResourceKind.FUNDS, "共建经费", "元", 10_000, 100_000),
        (ResourceKind.EXPERTISE, "专业服务", "小时", 20, 200),
    ),
    "institution": (
        (ResourceKind.VENUE, "活动场地", "座", 50, 300),
        (ResourceKind.EQUIPMENT, "专业设备", "件", 2, 20),
        (ResourceKind.EXPERTISE, "义诊与辅导", "小时", 20, 300),
    ),
    "enterprise": (
        (ResourceKind.FUNDS, "共建资金", "元", 20_000, 200_000),
        (ResourceKind.VEHICLE, "工程车辆", "辆", 1, 5),
        (ResourceKind.EQUIPMENT, "发电机与抽水泵", "台", 1, 10),
        (ResourceKind.SUPPLIES, "防汛物资", "件", 50, 500),
    ),
    "property_company": (
        (ResourceKind.EQUIPMENT, "维修工具", "套", 2, 10),
        (ResourceKind.SUPPLIES, "应急物资", "件", 20, 200),
    ),
}

NEW_BUSINESS_TEAMS: tuple[tuple[str, str, int, int], ...] = (
    # (name, team kind, members, problems solved)
    ("“蚂蚁行动”志愿者服务队", "ant_action", 32, 80),
    ("外卖骑手食品质量监督队", "food_safety", 167, 62),
    ("“吉先锋”网络主播助农服务队", "live_streaming", 8, 12),
    ("“吉先锋”快递小哥服务队", "new_business", 26, 34),
    ("“吉先锋”网约车司机服务队", "new_business", 18, 22),
    ("“吉先锋”货车司机服务队", "new_business", 15, 15),
    ("“吉先锋”家政服务队", "new_business", 22, 20),
)

HELP_SQUAD = "“小赣事”帮办专班"
