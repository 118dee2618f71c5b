"""What the agent says, by kind of call. The post-service questions become the default CSI
template's short form when the surveys app lands; until then they are text."""

from django.utils.translation import gettext_lazy as _

from .models import FollowUpTask

Kind = FollowUpTask.Kind

OPENING = _("您好，我是%(shop)s的客服专员，打扰您一两分钟。")

SCRIPTS = {
    Kind.POST_SERVICE: [
        _("您的车辆问题这次是否一次修好？"),
        _("是否按承诺的时间交车？"),
        _("服务顾问对维修项目和费用解释得清楚吗？"),
        _("交车时车辆是否干净？"),
        _("您愿意向亲友推荐本店吗（0–10 分）？"),
        _("还有其他意见或建议吗？"),
    ],
    Kind.SERVICE_RECOVERY: [
        _("看到您对上次服务不太满意，能具体说说哪里没做好吗？"),
        _("我们怎样处理您会满意？"),
    ],
    Kind.MAINTENANCE_REMINDER: [
        _("您的爱车快到保养时间了，需要帮您预约吗？"),
        _("您方便哪一天、上午还是下午到店？"),
    ],
    Kind.WIN_BACK: [
        _("好久没见到您和爱车了，车辆最近使用情况怎么样？"),
        _("本月有保养优惠，需要帮您预约吗？"),
    ],
    Kind.COMPLAINT_CALLBACK: [
        _("关于您反映的问题，我们已经处理，您对处理结果满意吗？"),
    ],
    Kind.RECOMMENDED_WORK: [
        _("上次到店时师傅建议的项目（见下方）您还没有做，车辆现在情况怎么样？"),
        _("需要帮您预约时间过来处理吗？"),
    ],
    Kind.MISSED_APPOINTMENT: [
        _("您预约的时间没能到店，是临时有事吗？"),
        _("需要帮您重新预约一个时间吗？"),
    ],
    Kind.CAMPAIGN: [
        _("本店正在举办活动（见下方回访原因），想为您和爱车介绍一下，方便吗？"),
        _("需要帮您预约时间到店吗？"),
    ],
    Kind.RECALL: [
        _("厂家对您的车辆发布了召回，需要到店免费检修（见下方回访原因）。"),
        _("您方便哪一天到店？我帮您预约。"),
    ],
}


def script_for(kind: str) -> list:
    return SCRIPTS.get(kind, [])
