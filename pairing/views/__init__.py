"""Pairing's pages, one module per page group: tabs (Unpaired, Active, Health), monitor (a
pairing's page, End Pairing, sessions, exports, health rules), requests, waitlist, autopair,
and links (the pages opened from emailed links, no login)."""
