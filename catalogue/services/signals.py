"""Catalogue events other domains react to (the RGPD registers create or archive inherited fiches).

Blinker signals keep the catalogue independent of its listeners: ``subscribe`` does not import the
registers. Receivers run inside the caller's transaction and only flush.
"""

from blinker import Namespace

_signals = Namespace()

# sender: the Subscription; keyword argument ``actor`` (User or None)
subscription_started = _signals.signal("subscription-started")
subscription_ended = _signals.signal("subscription-ended")
