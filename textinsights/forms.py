from reports.forms import PeriodForm


class CommentsPeriodForm(PeriodForm):
    """The dashboard's period (presets or custom dates), without its advisor and service
    filters: comments are not tied to one advisor's visits."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["advisor"]
        del self.fields["service_type"]
