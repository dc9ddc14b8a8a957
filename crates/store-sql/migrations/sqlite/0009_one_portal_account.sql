-- One portal account per subject (issue 13, finding 1): any number of patient accounts could
-- be made per subject, so whoever held an invitation could become the patient beside them. A
-- subject that has more than one account today cannot tell which is the patient's, so all of
-- them are removed (the privacy officer invites the patient again); then a unique index keeps
-- one. Staff accounts have no subject (NULLs are distinct in SQLite's unique indexes).
-- `invited_by` is the inviting account's login name, shown to the patient when they log in.
ALTER TABLE accounts ADD COLUMN invited_by TEXT;

DELETE FROM accounts WHERE subject_id IN (
    SELECT subject_id FROM accounts WHERE subject_id IS NOT NULL GROUP BY subject_id HAVING COUNT(*) > 1
);

CREATE UNIQUE INDEX accounts_one_per_subject ON accounts (subject_id);
