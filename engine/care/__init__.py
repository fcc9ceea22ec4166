"""Care: what the engine remembers of a customer and does for them beyond words (docs/care.md).

`history` reads a batch's customers' recent problems in one query; `remedies` claims a code from the
pool staff load; `tasks` opens and closes care tasks; `desk` is the planner's one step that puts them
together for a batch.
"""
