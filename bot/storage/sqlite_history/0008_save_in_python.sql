-- Submissions are saved by ReadingRepository.save (bot/storage/readings.py): the checks, the
-- replaced mark, the new row and its receipt in one write transaction, in Python. The view
-- and its INSTEAD OF trigger of migration 0003 did the same and go; readings keeps its ids
-- (INTEGER PRIMARY KEY, given by SQLite) and its constraints.
DROP TRIGGER IF EXISTS submissions_insert;
DROP VIEW IF EXISTS submissions;
