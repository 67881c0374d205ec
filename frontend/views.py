from django.http import Http404


def catalogue(request, **kwargs):
    raise Http404

def item_detail(request, **kwargs):
    raise Http404

def basket_page(request, **kwargs):
    raise Http404

def basket_add(request, **kwargs):
    raise Http404

def booking_create(request, **kwargs):
    raise Http404

def my_bookings(request, **kwargs):
    raise Http404

def booking_detail(request, **kwargs):
    raise Http404

def booking_qr(request, **kwargs):
    raise Http404

def booking_change(request, **kwargs):
    raise Http404

def booking_cancel(request, **kwargs):
    raise Http404

def booking_scan(request, **kwargs):
    raise Http404

def media(request, **kwargs):
    raise Http404
