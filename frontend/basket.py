"""The basket lives in the session: item types with quantities and the chosen dates."""

import datetime

SESSION_KEY = "basket"


class Basket:
    def __init__(self, session):
        self.session = session
        self.data = session.get(SESSION_KEY) or {"lines": {}, "pickup_day": None, "return_day": None}

    def save(self):
        self.session[SESSION_KEY] = self.data
        self.session.modified = True

    @property
    def lines(self):
        """{item_type_id: quantity}"""
        return {int(key): value for key, value in self.data["lines"].items()}

    def set_line(self, item_type_id, quantity):
        if quantity > 0:
            self.data["lines"][str(item_type_id)] = quantity
        else:
            self.data["lines"].pop(str(item_type_id), None)
        self.save()

    def count(self):
        return sum(self.data["lines"].values())

    def _day(self, key):
        value = self.data.get(key)
        return datetime.date.fromisoformat(value) if value else None

    @property
    def pickup_day(self):
        return self._day("pickup_day")

    @property
    def return_day(self):
        return self._day("return_day")

    def set_days(self, pickup_day, return_day):
        self.data["pickup_day"] = pickup_day.isoformat() if pickup_day else None
        self.data["return_day"] = return_day.isoformat() if return_day else None
        self.save()

    def clear(self):
        self.data = {"lines": {}, "pickup_day": None, "return_day": None}
        self.save()
