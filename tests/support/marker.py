"""A name no page shows unless it is showing the marker organization's data.

The tenancy tests (the URL walk, the lists) look for it in what an outsider sees.
"""

MARKER = "Zanzibar-Marker-Org"
