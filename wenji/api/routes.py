"""Path parts of the API's routes.

A slug or id part matches any text (even empty, even with a slash or a line break) so that a
malformed one reaches the view and gets the API's JSON 404, rather than Django's HTML page
for a URL that routes nowhere.
"""


def any_text(name: str) -> str:
    """A named route part that matches any text."""
    return rf"(?P<{name}>(?s:.*))"


SLUG = any_text("slug")
