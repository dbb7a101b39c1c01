// Matching's reasons (matching/explain.py: a code and its data, with an English message) in
// the words county staff use; a code this table does not know keeps its English message.
import { label } from "./ui.js";

const n = (x, digits = 0) => (typeof x === "number" ? x.toFixed(digits) : x);
const kindOf = (enumName, value) => (value ? label(enumName, String(value).toUpperCase()) : "");

const PHRASES = {
  skills_matched: (d) => (d.skills && d.skills.length ? "具备技能：" + d.skills.join("、") : "无特殊技能要求"),
  travel: (d) => "距离 " + n(d.km, 1) + " 公里，" + kindOf("TravelMode", d.mode) + "约 " + n(d.minutes) + " 分钟",
  deadline_met: (d) => "可在 " + n(d.limit_minutes) + " 分钟时限内到场（余 " + n(d.spare_minutes) + " 分钟）",
  available: () => "时间可用",
  home_community: () => "本社区登记",
  continuity: () => "延续已承办的诉求",
  commando: () => "党员突击队队员",
  load: (d) => "本周已服务 " + n(d.used_minutes) + " 分钟，尚余 " + n(d.free_minutes) + " 分钟",
  pinned: () => "已锁定",
  twinned_resource: () => "结对共建单位的资源",
  resource_distance: (d) => "资源距离 " + n(d.km, 1) + " 公里",
  helper_expertise: (d) => "擅长" + kindOf("EnterpriseRequestKind", d.kind),
  helper_load: (d) => "接单后在办 " + d.open_after + "/" + d.max_open + " 件",
  no_one_in_reach: (d) => n(d.limit_minutes) + " 分钟内无人能到场",
  skill_missing_in_reach: (d) => "能到场的人中无人具备「" + d.skill + "」",
  no_skilled_combination: () => "能到场的人凑不齐所需技能",
  not_available: () => "具备技能的人此时都不空闲",
  no_hours_left: () => "候选人本周服务时长已用完",
  all_rejected: () => "候选人均已被否决",
  too_few_candidates: (d) => "候选人不足（" + d.candidates + " 人，需要 " + d.headcount + " 人）",
  candidates_at_capacity: () => "候选人均已满负荷",
  not_worth_cost: () => "安排的代价高于收益",
  resource_none_in_reach: (d) => "附近没有可用的" + kindOf("ResourceKind", d.kind),
  resource_exhausted: (d) => kindOf("ResourceKind", d.kind) + "已用尽",
  no_helper_with_expertise: (d) => "没有擅长" + kindOf("EnterpriseRequestKind", d.kind) + "的小赣事",
  helpers_at_load: () => "小赣事均已满负荷",
};

/** One reason in Chinese. */
export function reasonText(reason) {
  const phrase = PHRASES[reason.code];
  try {
    return phrase ? phrase(reason.data || {}) : reason.message;
  } catch (e) {
    return reason.message;
  }
}

/** A proposal's or unmatched item's reasons, joined as a coordinator reads them. */
export function reasonsText(reasons, fallback = "") {
  return Array.isArray(reasons) && reasons.length ? reasons.map(reasonText).join("；") : fallback;
}
