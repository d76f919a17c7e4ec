"""Warranty-claim anti-fraud (三包索赔风控, issue 18 §1): an explainable, tunable risk score.

Each rule is one small function over a ``ClaimEvidence`` value (the facts the application
gathered about one claim) and the ``RiskConfig``; it returns a ``RiskReason`` — a stable English
code, a Chinese text, the facts it saw and its weight — or ``None`` when the claim passes it. The
score is the sum of the weights of the reasons found, capped at 100; a claim scoring at or above
``RiskConfig.threshold`` gets an extra review step. A rule that cannot judge because its data is
missing (the per-model parts quantities) says so in ``RiskAssessment.skipped`` instead of
passing silently.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from dealercrm.domain.errors import InvalidValue

# ---------------------------------------------------------------------------------------------
# Configuration


RULE_CODES = ("repeat_part", "odometer_backwards", "outside_warranty_dates", "phone_many_vins",
              "parts_over_fitment", "labour_over_standard", "photo_reused", "station_outlier")

RULE_LABELS = {
    "repeat_part": "同车同配件短期重复索赔",
    "odometer_backwards": "里程倒退",
    "outside_warranty_dates": "维修日期不在保修期内",
    "phone_many_vins": "同一手机号关联多台车辆",
    "parts_over_fitment": "更换数量超过整车装配数量",
    "labour_over_standard": "工时超过标准工时",
    "photo_reused": "照片已用于其他索赔",
    "station_outlier": "服务站索赔率或单均金额异常",
}

DEFAULT_WEIGHTS = {"repeat_part": 40, "odometer_backwards": 50, "outside_warranty_dates": 60, "phone_many_vins": 20,
                   "parts_over_fitment": 40, "labour_over_standard": 25, "photo_reused": 60, "station_outlier": 15}


def _int_in(field: str, value: object, low: int, high: int, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidValue(field, f"{label}须为{low}到{high}的整数", code="claim_risk.config_invalid")
    return value


@attrs.frozen
class RiskConfig:
    """The rules' weights and thresholds. ``weights`` maps each rule code to 0–100 (0 turns the
    rule off); every rule code must be present."""

    threshold: int = 50
    repeat_part_days: int = 90
    phone_max_vins: int = 3
    labour_tolerance_percent: int = 20  # hours above standard × (1 + this %) are flagged
    outlier_z: float = 3.5  # robust z-score (0.6745 × (x − median) / MAD) above which a station is an outlier
    outlier_min_peers: int = 5  # fewer stations with claims than this: no peer comparison
    outlier_window_days: int = 180
    weights: Mapping[str, int] = attrs.field(factory=lambda: dict(DEFAULT_WEIGHTS))

    def __attrs_post_init__(self) -> None:
        _int_in("threshold", self.threshold, 1, 100, "风险阈值")
        _int_in("repeat_part_days", self.repeat_part_days, 1, 3650, "重复索赔天数")
        _int_in("phone_max_vins", self.phone_max_vins, 1, 1000, "同一手机号车辆数上限")
        _int_in("labour_tolerance_percent", self.labour_tolerance_percent, 0, 1000, "工时容差百分比")
        _int_in("outlier_min_peers", self.outlier_min_peers, 3, 10_000, "同行比较最少服务站数")
        _int_in("outlier_window_days", self.outlier_window_days, 7, 3650, "同行比较天数")
        if isinstance(self.outlier_z, bool) or not isinstance(self.outlier_z, int | float) or not 1 <= self.outlier_z <= 20:
            raise InvalidValue("outlier_z", "异常阈值（稳健Z分数）须为1到20", code="claim_risk.config_invalid")
        unknown = sorted(set(self.weights) - set(RULE_CODES))
        if unknown:
            raise InvalidValue("weights", f"未知的规则：{'、'.join(unknown)}", code="claim_risk.rule_unknown")
        missing = [c for c in RULE_CODES if c not in self.weights]
        if missing:
            raise InvalidValue("weights", f"缺少规则权重：{'、'.join(missing)}", code="claim_risk.weight_missing")
        for code in RULE_CODES:
            _int_in(f"weights.{code}", self.weights[code], 0, 100, f"规则“{RULE_LABELS[code]}”的权重")

    def as_dict(self) -> dict[str, Any]:
        d = attrs.asdict(self)
        d["weights"] = dict(self.weights)
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RiskConfig:
        """Defaults for what ``data`` leaves out; weights given are merged over the defaults."""
        known = {f.name for f in attrs.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidValue(unknown[0], f"未知的配置项：{unknown[0]}", code="claim_risk.config_unknown")
        kw = dict(data)
        if "weights" in kw:
            if not isinstance(kw["weights"], Mapping):
                raise InvalidValue("weights", "权重须为规则编码到整数的映射", code="claim_risk.config_invalid")
            kw["weights"] = {**DEFAULT_WEIGHTS, **kw["weights"]}
        return cls(**kw)


# ---------------------------------------------------------------------------------------------
# Evidence


@attrs.frozen
class PriorClaimPart:
    """A part on an earlier live (in review or approved) claim of the same VIN."""

    claim_number: str
    part_no: str
    repaired_on: dt.date  # Beijing day the earlier repair finished


@attrs.frozen
class OdometerReading:
    source: str  # the request's number
    on: dt.date  # Beijing day
    km: int


@attrs.frozen
class ClaimedPart:
    part_no: str
    part_name: str
    quantity: int


@attrs.frozen
class ReusedPhoto:
    sha256: str
    other_owner: str  # the number of the other claim or record that holds the same content


@attrs.frozen
class StationStat:
    """A station's claims in the peer window: how many repairs, how many claims, their total."""

    station_id: int
    records: int
    claims: int
    claimed_fen: int

    @property
    def claim_rate(self) -> float:
        return self.claims / self.records if self.records else 0.0

    @property
    def average_fen(self) -> float:
        return self.claimed_fen / self.claims if self.claims else 0.0


@attrs.frozen
class ClaimEvidence:
    """Everything the rules look at for one claim, gathered by the application layer."""

    vin: str
    station_id: int
    repaired_on: dt.date  # Beijing day the repair finished
    parts: tuple[ClaimedPart, ...]
    labour_centihours: int
    prior_claim_parts: tuple[PriorClaimPart, ...] = ()
    odometer_readings: tuple[OdometerReading, ...] = ()
    warranty_starts_on: dt.date | None = None
    warranty_ends_on: dt.date | None = None
    customer_phone: str | None = None
    phone_vins: tuple[str, ...] = ()  # distinct VINs on service requests with that phone (this one included)
    fitment: Mapping[str, int] | None = None  # part_no → quantity on the model; None: not known
    operation_code: str | None = None
    standard_centihours: int | None = None
    reused_photos: tuple[ReusedPhoto, ...] = ()
    station_stats: tuple[StationStat, ...] = ()


@attrs.frozen
class RiskReason:
    code: str
    text: str
    weight: int
    facts: Mapping[str, Any] = attrs.field(factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "label": RULE_LABELS[self.code], "text": self.text, "weight": self.weight,
                "facts": dict(self.facts)}


@attrs.frozen
class SkippedRule:
    code: str
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "label": RULE_LABELS[self.code], "text": self.text}


@attrs.frozen
class RiskAssessment:
    score: int
    threshold: int
    reasons: tuple[RiskReason, ...]
    skipped: tuple[SkippedRule, ...]

    @property
    def flagged(self) -> bool:
        return self.score >= self.threshold

    def summary(self) -> str:
        return "；".join(r.text for r in self.reasons)


class Skip(Exception):
    """Raised by a rule that cannot judge for lack of data (reported, not counted)."""


# ---------------------------------------------------------------------------------------------
# The rules


Rule = Callable[[ClaimEvidence, RiskConfig], "RiskReason | None"]


def _reason(code: str, cfg: RiskConfig, text: str, **facts: Any) -> RiskReason:
    return RiskReason(code, text, cfg.weights[code], facts)


def repeat_part(ev: ClaimEvidence, cfg: RiskConfig) -> RiskReason | None:
    """The same VIN and part claimed again within ``repeat_part_days`` days."""
    mine = {p.part_no for p in ev.parts}
    hits = sorted((p for p in ev.prior_claim_parts if p.part_no in mine
                   and abs((ev.repaired_on - p.repaired_on).days) <= cfg.repeat_part_days),
                  key=lambda p: (p.part_no, p.repaired_on))
    if not hits:
        return None
    h = hits[-1]
    days = abs((ev.repaired_on - h.repaired_on).days)
    return _reason("repeat_part", cfg, f"配件{h.part_no}已在{days}天前的索赔{h.claim_number}中更换（{cfg.repeat_part_days}天内重复）",
                   part_nos=sorted({x.part_no for x in hits}), claims=sorted({x.claim_number for x in hits}),
                   days=days, window_days=cfg.repeat_part_days)


def odometer_backwards(ev: ClaimEvidence, cfg: RiskConfig) -> RiskReason | None:
    """A later reading lower than an earlier one across the vehicle's records."""
    readings = sorted(ev.odometer_readings, key=lambda r: (r.on, r.source))
    highest: OdometerReading | None = None
    for r in readings:
        if highest is not None and r.km < highest.km and r.on > highest.on:
            return _reason("odometer_backwards", cfg,
                           f"里程倒退：{highest.on.isoformat()}（{highest.source}）为{highest.km}公里，"
                           f"{r.on.isoformat()}（{r.source}）仅{r.km}公里",
                           earlier=highest.source, earlier_km=highest.km, later=r.source, later_km=r.km)
        if highest is None or r.km >= highest.km:
            highest = r
    return None


def outside_warranty_dates(ev: ClaimEvidence, cfg: RiskConfig) -> RiskReason | None:
    """A repair dated before the sale (warranty start) or after the warranty end."""
    if ev.warranty_starts_on is not None and ev.repaired_on < ev.warranty_starts_on:
        return _reason("outside_warranty_dates", cfg,
                       f"维修日期{ev.repaired_on.isoformat()}早于车辆交付日期{ev.warranty_starts_on.isoformat()}",
                       repaired_on=ev.repaired_on.isoformat(), starts_on=ev.warranty_starts_on.isoformat())
    if ev.warranty_ends_on is not None and ev.repaired_on > ev.warranty_ends_on:
        return _reason("outside_warranty_dates", cfg,
                       f"维修日期{ev.repaired_on.isoformat()}晚于保修截止日{ev.warranty_ends_on.isoformat()}",
                       repaired_on=ev.repaired_on.isoformat(), ends_on=ev.warranty_ends_on.isoformat())
    return None


def phone_many_vins(ev: ClaimEvidence, cfg: RiskConfig) -> RiskReason | None:
    """One customer phone number on more than ``phone_max_vins`` VINs."""
    vins = sorted(set(ev.phone_vins) | {ev.vin})
    if ev.customer_phone is None or len(vins) <= cfg.phone_max_vins:
        return None
    return _reason("phone_many_vins", cfg, f"客户手机号关联{len(vins)}台车辆（上限{cfg.phone_max_vins}台）",
                   vins=len(vins), limit=cfg.phone_max_vins)


def parts_over_fitment(ev: ClaimEvidence, cfg: RiskConfig) -> RiskReason | None:
    """More of a part replaced than the vehicle's model carries."""
    if ev.fitment is None:
        raise Skip("该车型的配件装配数量未维护，未检查")
    over = [(p.part_no, p.quantity, ev.fitment[p.part_no]) for p in ev.parts
            if p.part_no in ev.fitment and p.quantity > ev.fitment[p.part_no]]
    if not over:
        return None
    no, qty, fit = over[0]
    return _reason("parts_over_fitment", cfg, f"配件{no}更换{qty}件，整车仅装配{fit}件",
                   parts=[{"part_no": a, "quantity": b, "fitted": c} for a, b, c in over])


def labour_over_standard(ev: ClaimEvidence, cfg: RiskConfig) -> RiskReason | None:
    """Labour hours above the operation's standard hours plus the tolerance."""
    if ev.operation_code is None or ev.standard_centihours is None:
        return None
    limit = ev.standard_centihours * (100 + cfg.labour_tolerance_percent) // 100
    if ev.labour_centihours <= limit:
        return None
    return _reason("labour_over_standard", cfg,
                   f"工时{ev.labour_centihours / 100:g}小时超过作业{ev.operation_code}标准工时"
                   f"{ev.standard_centihours / 100:g}小时（容差{cfg.labour_tolerance_percent}%）",
                   operation_code=ev.operation_code, labour_centihours=ev.labour_centihours,
                   standard_centihours=ev.standard_centihours)


def photo_reused(ev: ClaimEvidence, cfg: RiskConfig) -> RiskReason | None:
    """A photo whose content (sha256) is already on another claim or repair record."""
    if not ev.reused_photos:
        return None
    others = sorted({p.other_owner for p in ev.reused_photos})
    return _reason("photo_reused", cfg, f"{len({p.sha256 for p in ev.reused_photos})}张照片与{'、'.join(others)}中的照片相同",
                   sha256=sorted({p.sha256 for p in ev.reused_photos}), others=others)


def robust_z(value: float, values: list[float]) -> float | None:
    """0.6745 × (value − median) / MAD (Iglewicz–Hoaglin); ``None`` when the MAD is 0."""
    med = statistics.median(values)
    mad = statistics.median([abs(v - med) for v in values])
    if mad == 0:
        return None
    return 0.6745 * (value - med) / mad


def station_outlier(ev: ClaimEvidence, cfg: RiskConfig) -> RiskReason | None:
    """The claiming station's claim rate or average claim amount is a high outlier among the
    stations that claimed in the window (robust z-score with the median absolute deviation)."""
    peers = [s for s in ev.station_stats if s.claims > 0]
    mine = next((s for s in peers if s.station_id == ev.station_id), None)
    if mine is None or len(peers) < cfg.outlier_min_peers:
        return None
    found = []
    measures: tuple[tuple[str, str, Callable[[StationStat], float]], ...] = (
        ("claim_rate", "索赔率", lambda s: s.claim_rate), ("average_fen", "单均索赔金额", lambda s: s.average_fen))
    for name, label, get in measures:
        z = robust_z(get(mine), [get(s) for s in peers])
        if z is not None and z > cfg.outlier_z:
            found.append((name, label, round(z, 2)))
    if not found:
        return None
    text = "、".join(f"{label}稳健Z分数{z}" for _, label, z in found)
    return _reason("station_outlier", cfg, f"服务站{text}，高于同行（阈值{cfg.outlier_z}）",
                   metrics={n: z for n, _, z in found}, peers=len(peers))


RULES: dict[str, Rule] = {
    "repeat_part": repeat_part, "odometer_backwards": odometer_backwards,
    "outside_warranty_dates": outside_warranty_dates, "phone_many_vins": phone_many_vins,
    "parts_over_fitment": parts_over_fitment, "labour_over_standard": labour_over_standard,
    "photo_reused": photo_reused, "station_outlier": station_outlier,
}


def assess(ev: ClaimEvidence, cfg: RiskConfig) -> RiskAssessment:
    """Run every rule with a weight above 0; the score is the weights found, capped at 100."""
    reasons, skipped = [], []
    for code in RULE_CODES:
        if cfg.weights[code] == 0:
            continue
        try:
            r = RULES[code](ev, cfg)
        except Skip as s:
            skipped.append(SkippedRule(code, str(s)))
            continue
        if r is not None:
            reasons.append(r)
    return RiskAssessment(min(100, sum(r.weight for r in reasons)), cfg.threshold, tuple(reasons), tuple(skipped))


# ---------------------------------------------------------------------------------------------
# Operation codes with standard hours (标准工时)


@attrs.define(slots=False, eq=False)
class RepairOperation:
    """A repair operation (维修作业) with its standard labour time in centihours."""

    code: str
    name: str
    standard_centihours: int
    version: int = 1
    id: int | None = None

    def __attrs_post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        code = (self.code or "").strip().upper()
        if not code or len(code) > 20 or not all(ch.isalnum() or ch in "-_." for ch in code):
            raise InvalidValue("code", "作业编码须为1到20位字母、数字或 - _ .", code="claim_risk.operation_code_invalid")
        self.code = code
        name = (self.name or "").strip()
        if not name or len(name) > 100:
            raise InvalidValue("name", "作业名称不能为空且不超过100字", code="claim_risk.operation_name_invalid")
        self.name = name
        _int_in("standard_hours", self.standard_centihours, 1, 99_900, "标准工时（百分之一小时）")
