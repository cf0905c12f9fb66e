"""The member-care console at `/console`: server-rendered pages over the customer services.

Store and call-centre staff (an org's `consoleUsers`) sign in, find a customer, read their
profiles, loyalty and history, and (editors) change them through the same resolve/plan/apply
path as the API. See docs/console.md. `static/htmx.min.js` is htmx 2.0.11 (0BSD licence,
`static/htmx.LICENSE.txt`), vendored unchanged so that nothing is loaded from elsewhere.
"""
