"""The lifecycle at work: registering a collection and performing an action on a unit
(``units.perform_action``), each action's effect (processing, QC, release, storage, bedside)
returning a typed ``transition.Outcome``, the transition the lifecycle table applies, and the
scheduled checks (expiry warnings, expiring, transit overdue). A new action is a row in
``lims.domain.lifecycle`` plus, when it does more than change status, an effect here.
"""
