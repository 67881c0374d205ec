from frontend.basket import Basket


def basket(request):
    return {"basket_count": Basket(request.session).count() if hasattr(request, "session") else 0}
