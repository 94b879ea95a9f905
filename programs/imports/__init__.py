"""CSV import of participants: decode, parse, validate, preview, apply.

An upload is checked in two stages. File-level problems (not UTF-8, binary,
empty, too big, wrong header) refuse the upload outright: nothing is stored.
`parse` reads and validates (no database); `services` stores, previews,
applies and discards; `apply_pg` is PostgreSQL's fast upsert. Import each
name from the module that holds it.
"""
