-- 8: nothing for SQLite.  On PostgreSQL this version adds the triggers that announce revocations to
-- the other instances' caches; one process on one SQLite file has no such cache, so the numbers stay
-- aligned with an empty step.
SELECT 1;
