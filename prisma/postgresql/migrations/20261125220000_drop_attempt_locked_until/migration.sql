-- AttemptCounter.lockedUntil left the schema without a migration (the schema guard in
-- test/storage/migrations-match-schema.test.ts found it). Nothing reads it. A plain
-- DROP COLUMN (SQLite >= 3.35), not a table redefinition, so columns other branches add survive.
ALTER TABLE "AttemptCounter" DROP COLUMN "lockedUntil";
