"""API rate limits as a counter per client and window, one atomic step per request.

DRF's throttles keep, per client, the list of its request times of the last window, read it
and write it back on every request: at the DMS's 1,200 a minute that is a list of up to
1,200 floats pickled both ways per request, and two requests at once both write back their
own copy, so one of them is not counted. Here a request adds one to the counter of the
current fixed window (Redis: SET NX with expiry and INCR in one round trip, atomic per
command), so concurrent requests are all counted. A fixed window lets a client do at most
twice its rate across a window boundary, the usual price of counting; the answer to a
throttled request still says when to retry (Retry-After: the rest of the window). With Redis
down nothing is counted and every request is let through (fail open, logged once per
outage by shopcrm.cache): a DMS must not stop syncing because the counter is away."""

from rest_framework import throttling

from shopcrm.cache import count_request


class CountingThrottleMixin:
    def allow_request(self, request, view):
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        self.now = self.timer()
        window = int(self.now // self.duration)
        self.window_ends = (window + 1) * self.duration
        return count_request(f"{key}:{window}", self.duration + 1) <= self.num_requests

    def wait(self):
        return max(0.0, self.window_ends - self.now)


class UserRateThrottle(CountingThrottleMixin, throttling.UserRateThrottle):
    pass


class AnonRateThrottle(CountingThrottleMixin, throttling.AnonRateThrottle):
    pass
