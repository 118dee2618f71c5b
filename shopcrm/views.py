from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from customers import access as customer_access
from visits import access as visit_access


@login_required
def home(request):
    """Each role lands where its day starts: the desk on the board, others on search."""
    if request.user.has_perm(visit_access.CHECK_IN):
        return redirect("visits:board")
    if request.user.has_perm(customer_access.VIEW):
        return redirect("customers:search")
    return render(request, "home.html")
