"""CSI scoring exactly as METRICS.md defines it: pure functions, no database."""

from dataclasses import dataclass, field

WEIGHTS = {
    "reliability": 0.32,
    "responsiveness": 0.22,
    "assurance": 0.19,
    "empathy": 0.16,
    "tangibles": 0.11,
}
DEFAULT_POINTS = {1: 0, 2: 20, 3: 40, 4: 60, 5: 100}
ALERT_CSI_BELOW = 60
FIXED_RIGHT_CODE = "rel_fixed_right"
# A low score: 2 or below on a 5-point scale (dissatisfied or very dissatisfied). "Not fixed
# right" this low raises an alert; low answers are what the agent and the complaint see.
LOW_SCORE = 2


@dataclass(frozen=True)
class ScoredQuestion:
    code: str
    kind: str  # "scale", "nps", "yes_no", "choice", "text"
    dimension: str = ""


@dataclass
class Score:
    csi: float | None
    dimensions: dict = field(default_factory=dict)
    nps_score: int | None = None
    nps_class: str = ""
    is_alert: bool = False
    all_top_marks: bool = False
    points: dict = field(default_factory=dict)  # question code → points of a scale answer


def points_map(template_map: dict | None) -> dict[int, float]:
    """The template's mapping (JSON keys are strings) or the default 0/20/40/60/100."""
    if not template_map:
        return dict(DEFAULT_POINTS)
    return {int(key): float(value) for key, value in template_map.items()}


def is_low(kind: str, value) -> bool:
    """A 5-point scale answer of LOW_SCORE or below."""
    return kind == "scale" and value is not None and int(value) <= LOW_SCORE


def nps_class(value: int | None) -> str:
    if value is None:
        return ""
    if value >= 9:
        return "promoter"
    if value >= 7:
        return "passive"
    return "detractor"


def score(answers: list[tuple[ScoredQuestion, object]], mapping: dict | None = None) -> Score:
    """Score one response. ``answers`` pairs each answered question with its value
    (unanswered questions are simply absent, or paired with None)."""
    mapping = points_map(mapping)
    by_dimension: dict[str, list[float]] = {}
    points: dict[str, float] = {}
    nps_value = None
    fixed_right = None
    scale_values = []
    for question, value in answers:
        if value is None or value == "":
            continue
        if question.kind == "scale":
            earned = mapping[int(value)]
            points[question.code] = earned
            scale_values.append(int(value))
            if question.dimension:
                by_dimension.setdefault(question.dimension, []).append(earned)
            if question.code == FIXED_RIGHT_CODE:
                fixed_right = int(value)
        elif question.kind == "nps":
            nps_value = int(value)
    dimensions = {name: sum(values) / len(values) for name, values in by_dimension.items()}
    weighted = [(WEIGHTS[name], mean) for name, mean in dimensions.items() if name in WEIGHTS]
    csi = (
        sum(weight * mean for weight, mean in weighted) / sum(weight for weight, _ in weighted)
        if weighted
        else None
    )
    klass = nps_class(nps_value)
    alert = (
        (csi is not None and csi < ALERT_CSI_BELOW)
        or klass == "detractor"
        or is_low("scale", fixed_right)
    )
    return Score(
        csi=csi,
        dimensions=dimensions,
        nps_score=nps_value,
        nps_class=klass,
        is_alert=alert,
        all_top_marks=bool(scale_values) and all(v == 5 for v in scale_values),
        points=points,
    )


def nps_of(promoters: int, detractors: int, answered: int) -> float | None:
    """NPS = 100 × (promoters − detractors) / responses with an nps answer; null when none."""
    if not answered:
        return None
    return 100 * (promoters - detractors) / answered
