from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        # Teachers come from their school's single sign-on (or are created by staff); an open
        # sign-up form would let anyone claim to be a teacher.
        return False
