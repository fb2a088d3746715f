"""The customer portal: a project's Credentials page, for a site's own customers.

Mount it with ``path("portal/", include("oauth_cc.portal.urls"))``. Server-rendered pages
(``views``) and the same operations as JSON for single-page portals (``api``) both call
``operations``, which call the model methods the admin and the commands use. Who may manage
which project is ``access``'s question (``Project.members`` or ``PORTAL_PROJECTS``). The fields
that register a ``private_key_jwt`` client's public keys are ``keysets``' (the admin uses them
too).
"""
