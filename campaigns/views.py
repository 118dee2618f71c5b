from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from shopcrm.access import PermissionRequired
from shopcrm.refusals import REFUSED, RefusalMixin

from . import access, selectors, services
from .forms import CampaignForm, VinImportForm
from .models import Campaign

CONTACTS_PER_PAGE = 50


class CampaignListView(PermissionRequired, View):
    permission_required = access.MANAGE

    def get(self, request):
        page = Paginator(selectors.campaign_list(), 50).get_page(request.GET.get("page"))
        return render(request, "campaigns/list.html", {"page": page})


class CampaignCreateView(PermissionRequired, RefusalMixin, View):
    """The form; "preview" counts the audience (and reads the VIN file) without saving."""

    permission_required = access.MANAGE
    template_name = "campaigns/create.html"

    def get(self, request):
        return render(request, self.template_name, {"form": CampaignForm()})

    def post(self, request):
        form = CampaignForm(request.POST, request.FILES)
        context = {"form": form}
        if form.is_valid():
            campaign = form.instance
            if form.cleaned_data["save_as_draft"]:
                campaign.status = Campaign.Status.DRAFT
            upload = form.cleaned_data.get("vin_file")
            content = upload.read() if upload else None
            if "preview" in request.POST:
                context["preview"] = self.attempt(
                    services.campaign_preview, form=form, campaign=campaign, vin_file=content
                )
            else:
                created = self.attempt(
                    services.campaign_create,
                    form=form,
                    campaign=campaign,
                    by=request.user,
                    vin_file=content,
                )
                if created is not REFUSED:
                    campaign, report = created
                    _report_import(request, report)
                    messages.success(request, _("活动已创建。"))
                    return redirect("campaigns:detail", pk=campaign.pk)
        status = 200 if context.get("preview") not in (None, REFUSED) and form.is_valid() else 400
        return render(request, self.template_name, context, status=status)


def _report_import(request, report) -> None:
    if report is None:
        return
    messages.info(
        request,
        _("已导入 %(added)s 辆车；%(bad)s 行有误，见下方列表。")
        % {"added": report.added, "bad": len(report.bad)},
    )


class CampaignDetailView(PermissionRequired, View):
    """Progress and results, the contacts behind each figure (?state=), the VIN import's
    bad lines, and the buttons to close it."""

    permission_required = access.MANAGE

    def get(self, request, pk):
        campaign = access.campaign_for(request.user, pk)
        return render(request, "campaigns/detail.html", _detail_context(request, campaign))


def _detail_context(request, campaign, **extra) -> dict:
    state = request.GET.get("state", "")
    state = state if state in selectors.CONTACT_STATES else ""
    page = Paginator(selectors.contacts(campaign, state), CONTACTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return {
        "campaign": campaign,
        "figures": selectors.figures(campaign),
        "page": page,
        "state": state,
        "states": selectors.CONTACT_STATES,
        "grace_days": selectors.GRACE_DAYS,
        "vin_form": VinImportForm() if _importable(campaign) else None,
        "today": timezone.localdate(),
        **extra,
    }


def _importable(campaign) -> bool:
    return campaign.kind == Campaign.Kind.RECALL and campaign.status in (
        Campaign.Status.DRAFT,
        Campaign.Status.SCHEDULED,
    )


class CampaignVinsView(PermissionRequired, RefusalMixin, View):
    """More VINs for a recall not yet started."""

    permission_required = access.MANAGE

    def post(self, request, pk):
        campaign = access.campaign_for(request.user, pk)
        form = VinImportForm(request.POST, request.FILES)
        if form.is_valid():
            report = self.attempt(
                services.vins_import_atomic,
                form=form,
                campaign=campaign,
                content=form.cleaned_data["vin_file"].read(),
            )
            if report is not REFUSED:
                _report_import(request, report)
                return redirect("campaigns:detail", pk=campaign.pk)
        context = _detail_context(request, campaign)
        context["vin_form"] = form
        return render(request, "campaigns/detail.html", context, status=400)


class CampaignScheduleView(PermissionRequired, RefusalMixin, View):
    permission_required = access.MANAGE

    def post(self, request, pk):
        campaign = access.campaign_for(request.user, pk)
        if (
            self.attempt(services.campaign_schedule, campaign=campaign, by=request.user)
            is not REFUSED
        ):
            messages.success(request, _("活动已排期，到开始时间后自动联系。"))
        return redirect("campaigns:detail", pk=campaign.pk)


class CampaignCloseView(PermissionRequired, RefusalMixin, View):
    """End it now (its results keep counting) or cancel it."""

    permission_required = access.MANAGE

    def post(self, request, pk):
        campaign = access.campaign_for(request.user, pk)
        cancel = request.POST.get("action") == "cancel"
        cancelled = self.attempt(
            services.campaign_close, campaign=campaign, by=request.user, cancel=cancel
        )
        if cancelled is not REFUSED:
            messages.success(
                request,
                (_("活动已取消") if cancel else _("活动已结束"))
                + _("；%(count)s 个未拨电话和未发消息已取消。") % {"count": cancelled},
            )
        return redirect("campaigns:detail", pk=campaign.pk)
