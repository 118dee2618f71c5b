"""The default CSI template: the question codes of API.md, in zh-Hans and English."""

# code, dimension, kind, zh-Hans, English, required, in the phone short form
QUESTIONS = [
    (
        "rel_fixed_right",
        "reliability",
        "scale",
        "车辆问题是否一次修好",
        "Was the problem fixed right the first time?",
        True,
        True,
    ),
    (
        "rel_on_time",
        "reliability",
        "scale",
        "是否按承诺时间交车",
        "Was the car ready at the promised time?",
        True,
        True,
    ),
    (
        "res_prompt_reception",
        "responsiveness",
        "scale",
        "到店后是否及时接待",
        "Were you received promptly when you arrived?",
        True,
        False,
    ),
    (
        "res_progress_updates",
        "responsiveness",
        "scale",
        "维修进度和变更是否及时告知",
        "Were you kept informed of progress and changes?",
        True,
        False,
    ),
    (
        "asr_explanation",
        "assurance",
        "scale",
        "维修项目和费用解释是否清楚",
        "Were the work and the charges explained clearly?",
        True,
        True,
    ),
    (
        "asr_estimate_accuracy",
        "assurance",
        "scale",
        "预估费用和时间是否准确",
        "Were the estimated cost and time accurate?",
        True,
        False,
    ),
    (
        "emp_needs_understood",
        "empathy",
        "scale",
        "服务顾问是否理解您的需求",
        "Did the service advisor understand your needs?",
        True,
        False,
    ),
    (
        "emp_care",
        "empathy",
        "scale",
        "是否感受到关心和尊重",
        "Did you feel cared for and respected?",
        True,
        False,
    ),
    (
        "tan_facility",
        "tangibles",
        "scale",
        "休息区环境是否舒适",
        "Was the waiting area comfortable?",
        True,
        False,
    ),
    (
        "tan_vehicle_clean",
        "tangibles",
        "scale",
        "交车时车辆是否干净",
        "Was the car clean when you collected it?",
        True,
        True,
    ),
    (
        "nps",
        "",
        "nps",
        "您向亲友推荐本店的可能性",
        "How likely are you to recommend us to friends and family?",
        True,
        True,
    ),
    ("comment", "", "text", "其他意见和建议", "Any other comments or suggestions?", False, True),
]


def after_migrate(sender, **kwargs) -> None:
    """post_migrate: put the default template back after a database flush (which empties
    what the data migration wrote); an existing "csi" template is left alone."""
    from .models import Question, SurveyTemplate

    ensure_default_template(SurveyTemplate, Question)


def ensure_default_template(SurveyTemplate, Question) -> None:
    """Create the default CSI template unless a "csi" template exists."""
    if SurveyTemplate.objects.filter(code="csi").exists():
        return
    template = SurveyTemplate.objects.create(
        code="csi",
        version=1,
        name="售后服务满意度（CSI）",
        name_en="After-sales satisfaction (CSI)",
        is_default=True,
        point_map={"1": 0, "2": 20, "3": 40, "4": 60, "5": 100},
    )
    Question.objects.bulk_create(
        Question(
            template=template,
            code=code,
            dimension=dimension,
            kind=kind,
            text=zh,
            text_en=en,
            required=required,
            in_short_form=short,
            order=(n + 1) * 10,
        )
        for n, (code, dimension, kind, zh, en, required, short) in enumerate(QUESTIONS)
    )
